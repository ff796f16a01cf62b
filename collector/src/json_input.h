#pragma once

// JsonInput: one JSON document read with simdjson's On-Demand parser, and the one place where
// simdjson's (and nlohmann's) failures become Status values that name the document, the JSON
// path and the line.
//
// On-Demand only checks what is read, so skipping a value here walks it and checks it
// (SkipValue): a document with a syntax error anywhere is rejected, not half-read. Keys are
// compared in their raw form (KeyOf), so walking a document does not copy its keys; strings
// are copied out only when a caller asks for them.
//
// Not thread-safe; one JsonInput per document and thread.

#include <simdjson.h>

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/model/status.h"

namespace tidemark::collector {

namespace od = simdjson::ondemand;
using model::Result;
using model::Status;

// A JSON Pointer (RFC 6901) under construction: a chain of segments living on the stack of
// the functions walking the document, rendered only when an error needs it.
class JsonPath {
 public:
  JsonPath() = default;  // the root
  // `parent` (and the text of `segment`) must outlive this path.
  JsonPath(const JsonPath& parent, std::string_view segment) : parent_(&parent), seg_(segment) {}
  JsonPath(const JsonPath& parent, size_t index)
      : parent_(&parent), index_(index), is_index_(true) {}
  // A temporary parent would dangle.
  JsonPath(const JsonPath&& parent, std::string_view segment) = delete;
  JsonPath(const JsonPath&& parent, size_t index) = delete;

  // "/nodes/model.shop.orders/columns"; "" for the root.
  std::string ToPointer() const;

 private:
  const JsonPath* parent_ = nullptr;
  std::string_view seg_;
  size_t index_ = 0;
  bool is_index_ = false;
};

class JsonInput {
 public:
  // `text` must outlive this object. `capacity` is the bytes allocated at text.data(); when
  // it leaves less than SIMDJSON_PADDING past the end the text is copied once.
  JsonInput(std::string name, std::string_view text, size_t capacity);
  JsonInput(const JsonInput&) = delete;
  JsonInput& operator=(const JsonInput&) = delete;

  // A JsonInput reading `slice`, one complete JSON value inside this input's text() (as
  // raw_json() returns it), with `parser`'s buffers. REQUIRES: `slice` lies within text(). Errors
  // name this input's file and are located in its whole text. This input and `parser` must outlive
  // the result.
  std::unique_ptr<JsonInput> Slice(std::string_view slice, od::parser& parser) const;

  const std::string& name() const { return name_; }
  // The text being read (padded; a slice's own text for a slice).
  std::string_view text() const { return text_; }

  // Starts (or restarts) reading; the root must be an object.
  Result<od::object> Root();
  // Starts reading a slice whose root may be any value.
  Result<od::value> RootValue();

  // Checks that nothing but whitespace follows the root value just read.
  Status ExpectEnd();

  // Frees the parser's buffers (the document can no longer be read; views of its text
  // stay valid).
  void Release();

  // ---- errors ------------------------------------------------------------------------------
  // A syntax error found by simdjson: locates it (line, column) and explains it.
  Status SyntaxError(simdjson::error_code error);
  // A value of the wrong type or meaning at `path`; `at` points into the text when known.
  Status Invalid(const JsonPath& path, std::string_view message, const char* at = nullptr) const;
  // "file, line L, column C, at /path".
  std::string Where(const JsonPath& path, const char* at = nullptr) const;

  // ---- reading -----------------------------------------------------------------------------
  // Walks and checks a value without keeping it.
  Status SkipValue(od::value value);
  // The type of `value`; a bad token is a syntax error.
  Result<od::json_type> TypeOf(od::value& value);
  // A string, or "" for null. Other types are an error at `path` (meaning depends on it).
  Result<std::string_view> String(od::value value, const JsonPath& path);
  // A string; null and any other type give "" (a descriptive field read leniently).
  Result<std::string_view> LenientString(od::value value);
  // A number, a numeric string, or nullopt for null, a boolean or a non-numeric string.
  Result<std::optional<double>> Number(od::value value);
  // true/false; null and other types give nullopt.
  Result<std::optional<bool>> Bool(od::value value);
  // A list of strings; a single string counts as a list of one; null gives {}. Other shapes
  // are an error at `path`.
  Status StringList(od::value value, const JsonPath& path, std::vector<std::string>* out);
  // The value as a small DOM (meta, freshness rules, ...). Arrays and objects nest up to
  // simdjson's depth limit.
  Result<nlohmann::json> ToDom(od::value value);
  // An object as a DOM; null and {} give a null DOM (nothing to keep). Other types are an
  // error at `path`.
  Result<nlohmann::json> ObjectDom(od::value value, const JsonPath& path);

  // The contents of a string value (REQUIRES: its type is string).
  Result<std::string_view> StringContents(od::value& value);
  // True for {} and [] (checked without reading the value).
  static bool IsEmptyContainer(od::value& value);

  // The key of `field` as written in the text (no unescaping: keys compared with known names
  // never contain escapes).
  static std::string_view KeyOf(od::field& field);
  // A key unescaped (ids used as keys may contain escapes).
  Result<std::string_view> UnescapedKey(od::field& field);

  // Position of `value` inside the text (its first byte).
  static const char* PositionOf(od::value& value);

  // Calls fn(od::field&) -> Status for each field of an object; null is an empty object and
  // any other type an error at `path`.
  template <typename Fn>
  Status ForEachField(od::value value, const JsonPath& path, Fn&& fn);
  // Calls fn(od::value, size_t index) -> Status for each element of an array; null is an
  // empty array and any other type an error at `path`.
  template <typename Fn>
  Status ForEachElement(od::value value, const JsonPath& path, Fn&& fn);

 private:
  JsonInput(std::string name, std::string_view whole, std::string_view slice, size_t capacity,
            od::parser* parser);
  Status Start();
  // Byte offset of `p` in the whole text (for line numbers).
  size_t OffsetOf(const char* p) const { return static_cast<size_t>(p - whole_.data()); }
  bool InText(const char* p) const {
    return p && p >= text_.data() && p <= text_.data() + text_.size();
  }

  std::string name_;
  std::string_view whole_;        // the whole document, for locating errors
  std::string_view text_;         // what this input reads: the whole document or a slice of it
  size_t capacity_ = 0;           // readable bytes from text_.data()
  simdjson::padded_string copy_;  // only when the caller's text had no padding
  simdjson::padded_string_view input_;
  std::unique_ptr<od::parser> own_parser_;
  od::parser* parser_ = nullptr;
  bool started_ = false;
  od::document doc_;
};

template <typename Fn>
Status JsonInput::ForEachField(od::value value, const JsonPath& path, Fn&& fn) {
  TM_ASSIGN_OR_RETURN(od::json_type type, TypeOf(value));
  if (type == od::json_type::null) return SkipValue(value);
  if (type != od::json_type::object) {
    return Invalid(path, "expected an object", PositionOf(value));
  }
  od::object obj;
  if (auto error = value.get_object().get(obj)) return SyntaxError(error);
  for (auto item : obj) {
    od::field field;
    if (auto error = std::move(item).get(field)) return SyntaxError(error);
    TM_RETURN_IF_ERROR(fn(field));
  }
  return Status::Ok();
}

template <typename Fn>
Status JsonInput::ForEachElement(od::value value, const JsonPath& path, Fn&& fn) {
  TM_ASSIGN_OR_RETURN(od::json_type type, TypeOf(value));
  if (type == od::json_type::null) return SkipValue(value);
  if (type != od::json_type::array) {
    return Invalid(path, "expected an array", PositionOf(value));
  }
  od::array arr;
  if (auto error = value.get_array().get(arr)) return SyntaxError(error);
  size_t index = 0;
  for (auto item : arr) {
    od::value element;
    if (auto error = std::move(item).get(element)) return SyntaxError(error);
    TM_RETURN_IF_ERROR(fn(element, index++));
  }
  return Status::Ok();
}

// 1-based line and column of byte `offset` in `text`.
struct LineColumn {
  size_t line = 1;
  size_t column = 1;
};
LineColumn LocateOffset(std::string_view text, size_t offset);

// Converts a simdjson error into a Status for `what` (no location).
Status SimdjsonError(std::string_view what, simdjson::error_code error);

}  // namespace tidemark::collector
