#include "tidemark/ui/http.h"

#include <cctype>

#include <nlohmann/json.hpp>

#include "ascii.h"

namespace tidemark::ui {

using model::Result;
using model::Status;

void Headers::Add(std::string name, std::string value) {
  fields_.emplace_back(std::move(name), std::move(value));
}

void Headers::Set(std::string name, std::string value) {
  std::erase_if(fields_, [&](const auto& field) { return EqualsIgnoreCase(field.first, name); });
  Add(std::move(name), std::move(value));
}

std::optional<std::string_view> Headers::Get(std::string_view name) const {
  for (const auto& [field_name, value] : fields_) {
    if (EqualsIgnoreCase(field_name, name)) return value;
  }
  return std::nullopt;
}

std::string_view Request::PathParam(std::string_view name) const {
  auto it = path_params.find(name);
  return it == path_params.end() ? std::string_view() : std::string_view(it->second);
}

std::optional<std::string_view> Request::QueryParam(std::string_view name) const {
  auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return it->second;
}

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Splits "a=1&b=&c" into decoded pairs; a name without '=' gets an empty value.
Status ParseQuery(std::string_view text,
                  std::multimap<std::string, std::string, std::less<>>& out) {
  while (!text.empty()) {
    size_t amp = text.find('&');
    std::string_view pair = text.substr(0, amp);
    text = amp == std::string_view::npos ? std::string_view() : text.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    auto name = PercentDecode(pair.substr(0, eq), /*plus_is_space=*/true);
    auto value = PercentDecode(
        eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1), true);
    if (!name || !value) {
      return Status::InvalidArgument("malformed %-escape in query parameter", std::string(pair));
    }
    out.emplace(std::move(*name), std::move(*value));
  }
  return Status::Ok();
}

}  // namespace

std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return out;
}

void AppendPercentEncoded(std::string& out, std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
}

Result<Request> ParseRequestTarget(std::string method, std::string target) {
  // Only origin-form targets reach handlers: absolute-form is for proxies and "*" for
  // server-wide OPTIONS, neither of which Tidemark serves.
  if (target.empty() || target.front() != '/') {
    return Status::InvalidArgument("request target must start with '/'", target);
  }
  Request request;
  request.method = std::move(method);
  size_t question = target.find('?');
  request.path = target.substr(0, question);
  if (question != std::string::npos) {
    std::string_view query = std::string_view(target).substr(question + 1);
    query = query.substr(0, query.find('#'));
    TM_RETURN_IF_ERROR(ParseQuery(query, request.query));
  }
  request.target = std::move(target);
  return request;
}

Response Response::Json(int status, std::string body) {
  Response response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

Response Response::Text(int status, std::string body) {
  Response response;
  response.status = status;
  response.content_type = "text/plain; charset=utf-8";
  response.body = std::move(body);
  return response;
}

int HttpStatusFor(model::StatusCode code) {
  switch (code) {
    case model::StatusCode::kOk:
      return 200;
    case model::StatusCode::kInvalidArgument:
      return 400;
    case model::StatusCode::kNotFound:
      return 404;
    case model::StatusCode::kAlreadyExists:
      return 409;
    case model::StatusCode::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

Response ErrorResponse(const Status& status) {
  return ErrorResponse(HttpStatusFor(status.code()), model::StatusCodeName(status.code()),
                       status.message(), status.where());
}

Response ErrorResponse(int http_status, std::string_view code, std::string_view message,
                       std::string_view where) {
  nlohmann::json error = {{"code", code}, {"message", message}};
  if (!where.empty()) error["where"] = where;
  // `replace` keeps a response possible when a message echoes invalid UTF-8 from the client.
  return Response::Json(http_status, nlohmann::json{{"error", std::move(error)}}.dump(
                                         -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace tidemark::ui
