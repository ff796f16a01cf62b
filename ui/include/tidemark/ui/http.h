#pragma once

// Plain HTTP value types shared by the router, the server and every handler: the Request a
// handler reads and the Response it returns. Beast stays inside server.cc; handlers and their
// tests see only these. All are value types: thread-compatible, no shared state.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tidemark/model/status.h"

namespace tidemark::ui {

// Header fields in arrival order, looked up by name case-insensitively (RFC 9110 §5.1).
class Headers {
 public:
  // Appends a field; earlier fields of the same name stay (repeated fields are legal).
  void Add(std::string name, std::string value);
  // Replaces every field named `name` with one field holding `value`.
  void Set(std::string name, std::string value);
  // The value of the first field named `name`, or nullopt. The view is valid until this
  // Headers is next modified or destroyed.
  std::optional<std::string_view> Get(std::string_view name) const;

  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct Request {
  std::string method;  // as sent: "GET"
  std::string target;  // request-target as sent: "/api/v1/assets/a%2Fb?limit=5"
  std::string path;    // the target before '?', still percent-encoded: "/api/v1/assets/a%2Fb"
  // Filled by the Router from the matched route's {name} segments, percent-decoded.
  std::map<std::string, std::string, std::less<>> path_params;
  // Percent-decoded, '+' read as a space; a repeated name keeps every value in order.
  std::multimap<std::string, std::string, std::less<>> query;
  Headers headers;
  std::string body;
  std::string remote_address;  // "127.0.0.1:53422"; empty when not from a socket
  // When the server finished reading the request header; the request's duration starts here.
  std::chrono::steady_clock::time_point received_at{};

  // The decoded path parameter `name`, or "" when the route declares none by that name.
  std::string_view PathParam(std::string_view name) const;
  // The first value of query parameter `name`, or nullopt.
  std::optional<std::string_view> QueryParam(std::string_view name) const;
};

// A request for `method` and `target` with `path` and `query` filled in.
// InvalidArgument when the target is not origin-form ("/path?query") or holds a bad %-escape.
model::Result<Request> ParseRequestTarget(std::string method, std::string target);

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in query strings).
// nullopt when an escape is malformed ("%4", "%zz").
std::optional<std::string> PercentDecode(std::string_view text, bool plus_is_space);
// Appends `text` with every byte but RFC 3986's unreserved ones (A-Z a-z 0-9 - . _ ~) as %XX.
void AppendPercentEncoded(std::string& out, std::string_view text);

struct Response {
  int status = 200;
  // Sent as Content-Type unless empty. Content-Length and Connection are the server's job.
  std::string content_type = "application/json";
  std::string body;
  Headers headers;  // extra fields (Allow, Cache-Control, ...)

  static Response Json(int status, std::string body);
  static Response Text(int status, std::string body);
};

// The HTTP status for a model status code: InvalidArgument 400, NotFound 404,
// AlreadyExists 409, Unavailable 503, every other failure 500 (OK is 200).
int HttpStatusFor(model::StatusCode code);

// {"error": {"code": "not_found", "message": "...", "where": "..."}} with the status's code
// name (model::StatusCodeName) and HttpStatusFor(status.code()).
// REQUIRES: !status.ok().
Response ErrorResponse(const model::Status& status);

// The same body for protocol errors that have no model code, e.g.
// (405, "method_not_allowed", ...) or (413, "payload_too_large", ...).
Response ErrorResponse(int http_status, std::string_view code, std::string_view message,
                       std::string_view where = {});

}  // namespace tidemark::ui
