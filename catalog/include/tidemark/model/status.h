#pragma once

// Status and Result<T>: expected failures as values (STYLE.md §4).
//
// A Status is either OK or carries a code, a message and a "where" (file, JSON path, line,
// config key: whatever locates the problem for the person reading it). Result<T> holds a T or
// a non-OK Status, shaped like std::expected so it can be swapped for it under C++23.
// Both are cheap to move and thread-compatible (no shared state).

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tidemark::model {

enum class StatusCode {
  kOk = 0,
  kNotFound,
  kInvalidArgument,
  kCorruption,
  kUnavailable,
  kIoError,
  kAlreadyExists,
  kInternal,
};

// "not_found", "invalid_argument", ...: the spelling used in API error bodies and logs.
std::string_view StatusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;  // OK

  static Status Ok() { return Status(); }
  static Status NotFound(std::string msg, std::string where = {}) {
    return Status(StatusCode::kNotFound, std::move(msg), std::move(where));
  }
  static Status InvalidArgument(std::string msg, std::string where = {}) {
    return Status(StatusCode::kInvalidArgument, std::move(msg), std::move(where));
  }
  static Status Corruption(std::string msg, std::string where = {}) {
    return Status(StatusCode::kCorruption, std::move(msg), std::move(where));
  }
  static Status Unavailable(std::string msg, std::string where = {}) {
    return Status(StatusCode::kUnavailable, std::move(msg), std::move(where));
  }
  static Status IoError(std::string msg, std::string where = {}) {
    return Status(StatusCode::kIoError, std::move(msg), std::move(where));
  }
  static Status AlreadyExists(std::string msg, std::string where = {}) {
    return Status(StatusCode::kAlreadyExists, std::move(msg), std::move(where));
  }
  static Status Internal(std::string msg, std::string where = {}) {
    return Status(StatusCode::kInternal, std::move(msg), std::move(where));
  }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  const std::string& where() const { return where_; }

  bool IsNotFound() const { return code_ == StatusCode::kNotFound; }
  bool IsInvalidArgument() const { return code_ == StatusCode::kInvalidArgument; }
  bool IsUnavailable() const { return code_ == StatusCode::kUnavailable; }

  // Returns a copy whose message is prefixed with `context: ` (where is kept).
  Status WithContext(std::string_view context) const;
  // Returns a copy with `where` set (or prefixed, when one is already set: "file.json: /nodes").
  Status WithWhere(std::string_view where) const;

  // "invalid_argument: message (at where)", for logs and CLI output.
  std::string ToString() const;

  friend bool operator==(const Status&, const Status&) = default;

 private:
  Status(StatusCode code, std::string msg, std::string where)
      : code_(code), message_(std::move(msg)), where_(std::move(where)) {}

  StatusCode code_ = StatusCode::kOk;
  std::string message_;
  std::string where_;
};

// Holds either a value or a non-OK Status.
// REQUIRES (programmer error, asserted): value() only when ok(); constructing from an OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {  // NOLINT
    assert(!status_.ok() && "Result constructed from an OK status");
    if (status_.ok()) status_ = Status::Internal("Result constructed from an OK status");
  }

  bool ok() const { return value_.has_value(); }
  const Status& status() const { return status_; }

  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <typename U>
  T value_or(U&& fallback) const& {
    return ok() ? *value_ : static_cast<T>(std::forward<U>(fallback));
  }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace tidemark::model

// Propagates a non-OK Status from an expression returning Status.
#define TM_RETURN_IF_ERROR(expr)                      \
  do {                                                \
    ::tidemark::model::Status tm_status__ = (expr);   \
    if (!tm_status__.ok()) return tm_status__;        \
  } while (0)

#define TM_CONCAT_INNER_(a, b) a##b
#define TM_CONCAT_(a, b) TM_CONCAT_INNER_(a, b)
// `TM_ASSIGN_OR_RETURN(auto x, Foo());` declares x from a Result or returns its Status.
#define TM_ASSIGN_OR_RETURN(lhs, expr) \
  TM_ASSIGN_OR_RETURN_IMPL_(TM_CONCAT_(tm_result_, __LINE__), lhs, expr)
#define TM_ASSIGN_OR_RETURN_IMPL_(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(tmp).value()
