#include "json_input.h"

#include <charconv>
#include <cstring>

namespace tidemark::collector {
namespace {

// Deeper nesting than this is refused rather than recursed into: no input may exhaust the
// stack. dbt's artifacts nest a dozen levels at most.
constexpr int kMaxDepth = 512;

void AppendEscapedSegment(std::string& out, std::string_view seg) {
  for (char c : seg) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
}

// Where nlohmann's parser, run over a document simdjson rejected, found the first error.
// nlohmann is slow but exact about positions and clear in its messages; it only ever runs on
// input already known to be bad.
class ErrorLocator final : public nlohmann::json_sax<nlohmann::json> {
 public:
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception& ex) override {
    found = true;
    offset = position == 0 ? 0 : position - 1;
    message = ex.what();
    // "[json.exception.parse_error.101] parse error at line 3, column 7: syntax error ..."
    if (size_t colon = message.find(": "); colon != std::string::npos) {
      message = message.substr(colon + 2);
    }
    return false;
  }

  bool found = false;
  size_t offset = 0;
  std::string message;
};

}  // namespace

std::string JsonPath::ToPointer() const {
  std::vector<const JsonPath*> chain;
  for (const JsonPath* p = this; p && p->parent_; p = p->parent_) chain.push_back(p);
  std::string out;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    out += '/';
    if ((*it)->is_index_) {
      out += std::to_string((*it)->index_);
    } else {
      AppendEscapedSegment(out, (*it)->seg_);
    }
  }
  return out;
}

LineColumn LocateOffset(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  LineColumn lc;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++lc.line;
      line_start = i + 1;
    }
  }
  lc.column = offset - line_start + 1;
  return lc;
}

Status SimdjsonError(std::string_view what, simdjson::error_code error) {
  return Status::InvalidArgument(std::string(what) + ": " + simdjson::error_message(error));
}

JsonInput::JsonInput(std::string name, std::string_view text, size_t capacity)
    : name_(std::move(name)) {
  if (capacity >= text.size() + simdjson::SIMDJSON_PADDING) {
    text_ = text;
    capacity_ = capacity;
  } else {
    copy_ = simdjson::padded_string(text.data(), text.size());
    text_ = std::string_view(copy_.data(), copy_.size());
    capacity_ = copy_.size() + simdjson::SIMDJSON_PADDING;
  }
  whole_ = text_;
  input_ = simdjson::padded_string_view(text_.data(), text_.size(), capacity_);
}

JsonInput::JsonInput(std::string name, std::string_view whole, std::string_view slice,
                     size_t capacity, od::parser* parser)
    : name_(std::move(name)),
      whole_(whole),
      text_(slice),
      capacity_(capacity),
      input_(slice.data(), slice.size(), capacity),
      parser_(parser) {}

std::unique_ptr<JsonInput> JsonInput::Slice(std::string_view slice, od::parser& parser) const {
  // The slice lies inside this input's padded buffer, so the bytes after it (the rest of the
  // document, then the padding) are readable: no copy is needed.
  size_t capacity = static_cast<size_t>(text_.data() + capacity_ - slice.data());
  return std::unique_ptr<JsonInput>(new JsonInput(name_, whole_, slice, capacity, &parser));
}

Status JsonInput::Start() {
  if (started_) {
    doc_.rewind();
    return Status::Ok();
  }
  if (!parser_) {
    own_parser_ = std::make_unique<od::parser>();
    parser_ = own_parser_.get();
  }
  if (text_.find_first_not_of(" \t\r\n") == std::string_view::npos) {
    return Status::InvalidArgument("the document is empty", name_);
  }
  if (auto error = parser_->iterate(input_).get(doc_)) return SyntaxError(error);
  started_ = true;
  return Status::Ok();
}

Result<od::object> JsonInput::Root() {
  TM_RETURN_IF_ERROR(Start());
  od::object root;
  if (auto error = doc_.get_object().get(root)) {
    // Text that is not JSON at all can look like a scalar to simdjson ("this..." starts like
    // true): only valid JSON is "not an object".
    Status syntax = SyntaxError(error);
    if (error == simdjson::INCORRECT_TYPE && nlohmann::json::accept(text_)) {
      return Invalid(JsonPath(), "the document is not a JSON object", text_.data());
    }
    return syntax;
  }
  return root;
}

Result<od::value> JsonInput::RootValue() {
  TM_RETURN_IF_ERROR(Start());
  od::value root;
  if (auto error = doc_.get_value().get(root)) return SyntaxError(error);
  return root;
}

Status JsonInput::ExpectEnd() {
  const char* at = nullptr;
  if (doc_.current_location().get(at)) return Status::Ok();  // out of bounds: at the end
  for (const char* p = at; p < text_.data() + text_.size(); ++p) {
    if (!std::strchr(" \t\r\n", *p)) {
      return Invalid(JsonPath(), "unexpected text after the end of the JSON document", p);
    }
  }
  return Status::Ok();
}

void JsonInput::Release() {
  doc_ = od::document();
  own_parser_.reset();
  parser_ = nullptr;
  started_ = false;
}

Status JsonInput::SyntaxError(simdjson::error_code error) {
  ErrorLocator locator;
  try {
    nlohmann::json::sax_parse(text_, &locator);
  } catch (const nlohmann::json::exception& e) {
    locator.found = false;  // unreachable in practice: errors reach parse_error first
  }
  if (locator.found) {
    LineColumn lc = LocateOffset(whole_, OffsetOf(text_.data()) + locator.offset);
    // An error at the very end (an unclosed string or object) means the text was cut short.
    const bool truncated = locator.message.find("end of input") != std::string::npos ||
                           locator.offset + 1 >= text_.size();
    std::string what = truncated ? "truncated JSON: " : "not valid JSON: ";
    return Status::InvalidArgument(
        what + locator.message,
        name_ + ", line " + std::to_string(lc.line) + ", column " + std::to_string(lc.column));
  }
  // nlohmann accepted what simdjson refused (a number beyond 64 bits, a depth limit, invalid
  // UTF-8 nlohmann lets through): report simdjson's reason where it stopped.
  const char* at = nullptr;
  std::string where = name_;
  if (!doc_.current_location().get(at) && InText(at)) {
    LineColumn lc = LocateOffset(whole_, OffsetOf(at));
    where += ", line " + std::to_string(lc.line) + ", column " + std::to_string(lc.column);
  }
  return Status::InvalidArgument(std::string("not valid JSON: ") + simdjson::error_message(error),
                                 where);
}

std::string JsonInput::Where(const JsonPath& path, const char* at) const {
  std::string where = name_;
  if (InText(at)) {
    LineColumn lc = LocateOffset(whole_, OffsetOf(at));
    where += ", line " + std::to_string(lc.line) + ", column " + std::to_string(lc.column);
  }
  std::string pointer = path.ToPointer();
  if (!pointer.empty()) where += ", at " + pointer;
  return where;
}

Status JsonInput::Invalid(const JsonPath& path, std::string_view message, const char* at) const {
  return Status::InvalidArgument(std::string(message), Where(path, at));
}

const char* JsonInput::PositionOf(od::value& value) { return value.raw_json_token().data(); }

std::string_view JsonInput::KeyOf(od::field& field) {
  // Stage 1 has checked that every string is closed, so the scan ends inside the text.
  const char* begin = field.key().raw();
  const char* p = begin;
  while (*p != '"') p += (*p == '\\') ? 2 : 1;
  return std::string_view(begin, static_cast<size_t>(p - begin));
}

Result<std::string_view> JsonInput::UnescapedKey(od::field& field) {
  std::string_view key;
  if (auto error = field.unescaped_key().get(key)) return SyntaxError(error);
  return key;
}

Result<od::json_type> JsonInput::TypeOf(od::value& value) {
  od::json_type type;
  if (auto error = value.type().get(type)) return SyntaxError(error);
  return type;
}

namespace {

// The recursive walk behind SkipValue, with a depth guard.
Status SkipAt(JsonInput& in, od::value value, int depth) {
  if (depth > kMaxDepth) {
    return Status::InvalidArgument("JSON nested deeper than " + std::to_string(kMaxDepth),
                                   in.name());
  }
  TM_ASSIGN_OR_RETURN(od::json_type type, in.TypeOf(value));
  switch (type) {
    case od::json_type::object: {
      od::object obj;
      if (auto error = value.get_object().get(obj)) return in.SyntaxError(error);
      for (auto item : obj) {
        od::field field;
        if (auto error = std::move(item).get(field)) return in.SyntaxError(error);
        TM_RETURN_IF_ERROR(SkipAt(in, field.value(), depth + 1));
      }
      return Status::Ok();
    }
    case od::json_type::array: {
      od::array arr;
      if (auto error = value.get_array().get(arr)) return in.SyntaxError(error);
      for (auto item : arr) {
        od::value element;
        if (auto error = std::move(item).get(element)) return in.SyntaxError(error);
        TM_RETURN_IF_ERROR(SkipAt(in, element, depth + 1));
      }
      return Status::Ok();
    }
    case od::json_type::string: {
      od::raw_json_string raw;  // stage 1 checked quoting and UTF-8; no copy needed
      if (auto error = value.get_raw_json_string().get(raw)) return in.SyntaxError(error);
      return Status::Ok();
    }
    case od::json_type::number: {
      od::number number;
      if (auto error = value.get_number().get(number)) return in.SyntaxError(error);
      return Status::Ok();
    }
    case od::json_type::boolean: {
      bool b;
      if (auto error = value.get_bool().get(b)) return in.SyntaxError(error);
      return Status::Ok();
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto error = value.is_null().get(is_null)) return in.SyntaxError(error);
      if (!is_null) return in.SyntaxError(simdjson::N_ATOM_ERROR);
      return Status::Ok();
    }
  }
  return in.SyntaxError(simdjson::TAPE_ERROR);
}

Result<nlohmann::json> DomAt(JsonInput& in, od::value value, int depth) {
  if (depth > kMaxDepth) {
    return Status::InvalidArgument("JSON nested deeper than " + std::to_string(kMaxDepth),
                                   in.name());
  }
  TM_ASSIGN_OR_RETURN(od::json_type type, in.TypeOf(value));
  switch (type) {
    case od::json_type::object: {
      nlohmann::json out = nlohmann::json::object();
      od::object obj;
      if (auto error = value.get_object().get(obj)) return in.SyntaxError(error);
      for (auto item : obj) {
        od::field field;
        if (auto error = std::move(item).get(field)) return in.SyntaxError(error);
        TM_ASSIGN_OR_RETURN(std::string_view key, in.UnescapedKey(field));
        std::string k(key);
        TM_ASSIGN_OR_RETURN(out[std::move(k)], DomAt(in, field.value(), depth + 1));
      }
      return out;
    }
    case od::json_type::array: {
      nlohmann::json out = nlohmann::json::array();
      od::array arr;
      if (auto error = value.get_array().get(arr)) return in.SyntaxError(error);
      for (auto item : arr) {
        od::value element;
        if (auto error = std::move(item).get(element)) return in.SyntaxError(error);
        TM_ASSIGN_OR_RETURN(nlohmann::json v, DomAt(in, element, depth + 1));
        out.push_back(std::move(v));
      }
      return out;
    }
    case od::json_type::string: {
      TM_ASSIGN_OR_RETURN(std::string_view s, in.StringContents(value));
      return nlohmann::json(std::string(s));
    }
    case od::json_type::number: {
      od::number n;
      if (auto error = value.get_number().get(n)) return in.SyntaxError(error);
      switch (n.get_number_type()) {
        case od::number_type::signed_integer:
          return nlohmann::json(n.get_int64());
        case od::number_type::unsigned_integer:
          return nlohmann::json(n.get_uint64());
        default:
          return nlohmann::json(n.get_double());
      }
    }
    case od::json_type::boolean: {
      bool b;
      if (auto error = value.get_bool().get(b)) return in.SyntaxError(error);
      return nlohmann::json(b);
    }
    case od::json_type::null: {
      bool is_null = false;
      if (auto error = value.is_null().get(is_null)) return in.SyntaxError(error);
      if (!is_null) return in.SyntaxError(simdjson::N_ATOM_ERROR);
      return nlohmann::json();
    }
  }
  return in.SyntaxError(simdjson::TAPE_ERROR);
}

}  // namespace

Status JsonInput::SkipValue(od::value value) { return SkipAt(*this, value, 0); }

Result<nlohmann::json> JsonInput::ToDom(od::value value) { return DomAt(*this, value, 0); }

Result<nlohmann::json> JsonInput::ObjectDom(od::value value, const JsonPath& path) {
  TM_ASSIGN_OR_RETURN(od::json_type type, TypeOf(value));
  if (type != od::json_type::null && type != od::json_type::object) {
    return Invalid(path, "expected an object", PositionOf(value));
  }
  if (type == od::json_type::null || IsEmptyContainer(value)) {
    TM_RETURN_IF_ERROR(SkipValue(value));
    return nlohmann::json();
  }
  return ToDom(value);
}

bool JsonInput::IsEmptyContainer(od::value& value) {
  std::string_view token = value.raw_json_token();
  if (token.empty()) return false;
  // The token of a container is its opening bracket (and the spaces after it); the next
  // token starts right behind it.
  char next = token.data()[token.size()];
  return (token[0] == '{' && next == '}') || (token[0] == '[' && next == ']');
}

Result<std::string_view> JsonInput::StringContents(od::value& value) {
  // Most strings have no escapes: return them as a view into the text instead of having
  // simdjson unescape a copy into its string buffer, which would grow by the size of every
  // string read (hundreds of MB for a large manifest).
  std::string_view token = value.raw_json_token();
  size_t close = token.rfind('"');
  if (token.size() >= 2 && token[0] == '"' && close != 0 && close != std::string_view::npos) {
    std::string_view body = token.substr(1, close - 1);
    if (body.find('\\') == std::string_view::npos) {
      od::raw_json_string raw;
      if (auto error = value.get_raw_json_string().get(raw)) return SyntaxError(error);
      return body;
    }
  }
  std::string_view s;
  if (auto error = value.get_string().get(s)) return SyntaxError(error);
  return s;
}

Result<std::string_view> JsonInput::String(od::value value, const JsonPath& path) {
  TM_ASSIGN_OR_RETURN(od::json_type type, TypeOf(value));
  if (type == od::json_type::string) return StringContents(value);
  if (type == od::json_type::null) {
    TM_RETURN_IF_ERROR(SkipValue(value));
    return std::string_view();
  }
  return Invalid(path, "expected a string", PositionOf(value));
}

Result<std::string_view> JsonInput::LenientString(od::value value) {
  TM_ASSIGN_OR_RETURN(od::json_type type, TypeOf(value));
  if (type == od::json_type::string) return StringContents(value);
  TM_RETURN_IF_ERROR(SkipValue(value));
  return std::string_view();
}

Result<std::optional<double>> JsonInput::Number(od::value value) {
  TM_ASSIGN_OR_RETURN(od::json_type type, TypeOf(value));
  if (type == od::json_type::number) {
    double d;
    if (auto error = value.get_double().get(d)) return SyntaxError(error);
    return std::optional<double>(d);
  }
  if (type == od::json_type::string) {
    std::string_view s;
    if (auto error = value.get_string().get(s)) return SyntaxError(error);
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    double d = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
    if (ec == std::errc() && end == s.data() + s.size() && !s.empty()) {
      return std::optional<double>(d);
    }
    return std::optional<double>();
  }
  TM_RETURN_IF_ERROR(SkipValue(value));
  return std::optional<double>();
}

Result<std::optional<bool>> JsonInput::Bool(od::value value) {
  TM_ASSIGN_OR_RETURN(od::json_type type, TypeOf(value));
  if (type == od::json_type::boolean) {
    bool b;
    if (auto error = value.get_bool().get(b)) return SyntaxError(error);
    return std::optional<bool>(b);
  }
  TM_RETURN_IF_ERROR(SkipValue(value));
  return std::optional<bool>();
}

Status JsonInput::StringList(od::value value, const JsonPath& path, std::vector<std::string>* out) {
  TM_ASSIGN_OR_RETURN(od::json_type type, TypeOf(value));
  switch (type) {
    case od::json_type::null:
      return SkipValue(value);
    case od::json_type::string: {
      TM_ASSIGN_OR_RETURN(std::string_view s, String(value, path));
      out->emplace_back(s);
      return Status::Ok();
    }
    case od::json_type::array: {
      if (IsEmptyContainer(value)) return SkipValue(value);
      od::array arr;
      if (auto error = value.get_array().get(arr)) return SyntaxError(error);
      size_t i = 0;
      for (auto item : arr) {
        od::value element;
        if (auto error = std::move(item).get(element)) return SyntaxError(error);
        JsonPath at(path, i++);
        TM_ASSIGN_OR_RETURN(od::json_type t, TypeOf(element));
        if (t != od::json_type::string) {
          return Invalid(at, "expected a string", PositionOf(element));
        }
        TM_ASSIGN_OR_RETURN(std::string_view s, String(element, at));
        out->emplace_back(s);
      }
      return Status::Ok();
    }
    default:
      return Invalid(path, "expected a list of strings", PositionOf(value));
  }
}

}  // namespace tidemark::collector
