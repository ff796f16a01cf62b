#include "tidemark/model/status.h"

namespace tidemark::model {

std::string_view StatusCodeName(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return "ok";
    case StatusCode::kNotFound: return "not_found";
    case StatusCode::kInvalidArgument: return "invalid_argument";
    case StatusCode::kCorruption: return "corruption";
    case StatusCode::kUnavailable: return "unavailable";
    case StatusCode::kIoError: return "io_error";
    case StatusCode::kAlreadyExists: return "already_exists";
    case StatusCode::kInternal: return "internal";
  }
  return "internal";
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  Status s = *this;
  s.message_ = std::string(context) + ": " + message_;
  return s;
}

Status Status::WithWhere(std::string_view where) const {
  if (ok()) return *this;
  Status s = *this;
  // The outer location comes first: "target/manifest.json: /nodes/model.x".
  s.where_ = where_.empty() ? std::string(where) : std::string(where) + ": " + where_;
  return s;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  std::string out(StatusCodeName(code_));
  out += ": ";
  out += message_;
  if (!where_.empty()) {
    out += " (at ";
    out += where_;
    out += ")";
  }
  return out;
}

}  // namespace tidemark::model
