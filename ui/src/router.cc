#include "tidemark/ui/router.h"

#include <spdlog/spdlog.h>

#include <atomic>
#include <future>
#include <set>

#include "tidemark/ui/metrics.h"

namespace tidemark::ui {

using model::Status;

namespace {

enum class SegmentKind { kLiteral, kParam, kRest };  // in order of precedence

struct Segment {
  SegmentKind kind;
  std::string text;  // the literal, or the parameter's name
};

// "/a/b/" -> {"a", "b", ""}; "/" -> {""}. REQUIRES: path starts with '/'.
std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> segments;
  path.remove_prefix(1);
  while (true) {
    size_t slash = path.find('/');
    segments.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return segments;
}

bool IsParamName(std::string_view name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
      return false;
    }
  }
  return true;
}

bool IsMethodToken(std::string_view method) {
  if (method.empty()) return false;
  for (char c : method) {
    if (c < 'A' || c > 'Z') return false;
  }
  return true;
}

void RecordRequest(Metrics* metrics, std::string_view label, const std::string& method,
                   std::chrono::steady_clock::time_point received_at, int status) {
  if (metrics == nullptr) return;
  auto now = std::chrono::steady_clock::now();
  auto start = received_at == std::chrono::steady_clock::time_point{} ? now : received_at;
  metrics->RecordHttpRequest(label, method, status, now - start);
}

Response InternalError(const RouteInfo& route) {
  return ErrorResponse(500, "internal", "internal error; the server log has the details",
                       route.name);
}

// The answer of one deferred request: delivers the first response only, records the request's
// metrics then, and answers 500 if every copy of its Respond is dropped uncalled.
class DeferredAnswer {
 public:
  DeferredAnswer(Metrics* metrics, const RouteInfo& route, std::string method,
                 std::chrono::steady_clock::time_point received_at, Respond respond)
      : metrics_(metrics),
        route_(route),
        method_(std::move(method)),
        received_at_(received_at),
        respond_(std::move(respond)) {}
  ~DeferredAnswer() {
    if (delivered_.load()) return;
    spdlog::error("route {} ({}) dropped a request without answering it", route_.name,
                  route_.pattern);
    Deliver(InternalError(route_));
  }
  DeferredAnswer(const DeferredAnswer&) = delete;
  DeferredAnswer& operator=(const DeferredAnswer&) = delete;

  void Deliver(Response response) {
    if (delivered_.exchange(true)) return;
    RecordRequest(metrics_, route_.pattern, method_, received_at_, response.status);
    respond_(std::move(response));
  }

 private:
  Metrics* metrics_;
  const RouteInfo& route_;  // in the router, which outlives its requests
  std::string method_;
  std::chrono::steady_clock::time_point received_at_;
  Respond respond_;
  std::atomic<bool> delivered_{false};
};

}  // namespace

struct RouteMatch::Entry {
  RouteInfo info;
  std::vector<Segment> segments;
  Handler handler;           // one of these two
  DeferredHandler deferred;  //

  bool HasRest() const { return !segments.empty() && segments.back().kind == SegmentKind::kRest; }

  // True when `path` (decoded segments) fits the pattern.
  bool Fits(const std::vector<std::string>& path) const {
    if (HasRest() ? path.size() < segments.size() : path.size() != segments.size()) return false;
    for (size_t i = 0; i < segments.size(); ++i) {
      if (segments[i].kind == SegmentKind::kLiteral && segments[i].text != path[i]) return false;
    }
    return true;
  }

  // True when this route is more specific than `other` (both fitting the same path):
  // the first segment where their kinds differ decides, literal beating parameter beating
  // catch-all.
  bool MoreSpecificThan(const Entry& other) const {
    size_t n = std::min(segments.size(), other.segments.size());
    for (size_t i = 0; i < n; ++i) {
      if (segments[i].kind != other.segments[i].kind) {
        return segments[i].kind < other.segments[i].kind;
      }
    }
    return segments.size() > other.segments.size();
  }

  void FillParams(const std::vector<std::string>& path, Request& request) const {
    for (size_t i = 0; i < segments.size(); ++i) {
      const Segment& segment = segments[i];
      if (segment.kind == SegmentKind::kParam) {
        request.path_params[segment.text] = path[i];
      } else if (segment.kind == SegmentKind::kRest) {
        std::string rest = path[i];
        for (size_t j = i + 1; j < path.size(); ++j) rest += "/" + path[j];
        request.path_params[segment.text] = std::move(rest);
      }
    }
  }
};

const RouteInfo* RouteMatch::route() const { return entry_ ? &entry_->info : nullptr; }

bool RouteMatch::deferred() const { return entry_ != nullptr && entry_->deferred != nullptr; }

std::string_view RouteMatch::label() const {
  return entry_ ? std::string_view(entry_->info.pattern) : std::string_view("unmatched");
}

Router::Router(Metrics* metrics) : metrics_(metrics) {}

Router::~Router() = default;

Status Router::Add(std::string method, std::string pattern, RouteOptions options, Handler handler) {
  RouteMatch::Entry entry;
  entry.handler = std::move(handler);
  return AddEntry(std::move(method), std::move(pattern), std::move(options), std::move(entry));
}

Status Router::AddDeferred(std::string method, std::string pattern, RouteOptions options,
                           DeferredHandler handler) {
  options.blocking = false;
  RouteMatch::Entry entry;
  entry.deferred = std::move(handler);
  return AddEntry(std::move(method), std::move(pattern), std::move(options), std::move(entry));
}

Status Router::AddEntry(std::string method, std::string pattern, RouteOptions options,
                        RouteMatch::Entry entry) {
  if (!IsMethodToken(method)) return Status::InvalidArgument("bad method '" + method + "'");
  if (pattern.empty() || pattern.front() != '/') {
    return Status::InvalidArgument("route pattern must start with '/'", pattern);
  }
  std::set<std::string, std::less<>> names;
  std::vector<std::string_view> parts = SplitPath(pattern);
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string_view part = parts[i];
    bool braced = part.size() >= 2 && part.front() == '{' && part.back() == '}';
    if (!braced) {
      if (part.find_first_of("{}") != std::string_view::npos) {
        return Status::InvalidArgument("unbalanced braces in segment '" + std::string(part) + "'",
                                       pattern);
      }
      entry.segments.push_back({SegmentKind::kLiteral, std::string(part)});
      continue;
    }
    std::string_view name = part.substr(1, part.size() - 2);
    SegmentKind kind = SegmentKind::kParam;
    if (name.ends_with("...")) {
      name.remove_suffix(3);
      kind = SegmentKind::kRest;
      if (i + 1 != parts.size()) {
        return Status::InvalidArgument("a catch-all segment must be the last one", pattern);
      }
    }
    if (!IsParamName(name) || !names.emplace(name).second) {
      return Status::InvalidArgument(
          "parameter name '" + std::string(name) + "' is empty, invalid or repeated", pattern);
    }
    entry.segments.push_back({kind, std::string(name)});
  }
  for (const RouteMatch::Entry& existing : entries_) {
    if (existing.info.method == method && existing.info.pattern == pattern) {
      return Status::AlreadyExists("route already defined: " + method + " " + pattern);
    }
  }
  entry.info = RouteInfo{.method = std::move(method),
                         .pattern = std::move(pattern),
                         .name = std::move(options.name),
                         .scope = std::move(options.scope),
                         .blocking = options.blocking};
  entries_.push_back(std::move(entry));
  return Status::Ok();
}

void Router::Use(Middleware middleware) { middleware_.push_back(std::move(middleware)); }

RouteMatch Router::Match(Request& request) const {
  RouteMatch match;
  if (request.path.empty() || request.path.front() != '/') {
    match.error_ = ErrorResponse(Status::InvalidArgument("path must start with '/'", request.path));
    return match;
  }
  // Decode after splitting, so an encoded '/' ("%2F") stays inside its segment.
  std::vector<std::string> path;
  for (std::string_view raw : SplitPath(request.path)) {
    std::optional<std::string> decoded = PercentDecode(raw, /*plus_is_space=*/false);
    if (!decoded) {
      match.error_ =
          ErrorResponse(Status::InvalidArgument("malformed %-escape in path", request.path));
      return match;
    }
    path.push_back(std::move(*decoded));
  }

  const bool head = request.method == "HEAD";
  std::set<std::string, std::less<>> allowed;
  const RouteMatch::Entry* best = nullptr;
  for (const RouteMatch::Entry& entry : entries_) {
    if (!entry.Fits(path)) continue;
    const std::string& method = entry.info.method;
    allowed.insert(method);
    if (method == "GET") allowed.insert("HEAD");
    bool exact = method == request.method;
    if (!exact && !(head && method == "GET")) continue;
    // Among equally specific routes an exact method beats GET answering a HEAD request.
    if (best == nullptr || entry.MoreSpecificThan(*best) ||
        (!best->MoreSpecificThan(entry) && exact && best->info.method != request.method)) {
      best = &entry;
    }
  }

  if (best != nullptr) {
    best->FillParams(path, request);
    match.entry_ = best;
  } else if (!allowed.empty()) {
    std::string allow;
    for (const std::string& method : allowed) allow += (allow.empty() ? "" : ", ") + method;
    Response response =
        ErrorResponse(405, "method_not_allowed",
                      request.method + " is not allowed here; allowed: " + allow, request.path);
    response.headers.Set("Allow", std::move(allow));
    match.error_ = std::move(response);
  } else {
    match.error_ = ErrorResponse(
        Status::NotFound("no route for " + request.method + " " + request.path, request.path));
  }
  return match;
}

Response Router::Handle(Request& request, const RouteMatch& match) const {
  if (match.deferred()) {
    // Delivered exactly once (DeferredAnswer), so the wait ends.
    std::promise<Response> answer;
    std::future<Response> response = answer.get_future();
    Handle(request, match, [&answer](Response r) { answer.set_value(std::move(r)); });
    return response.get();
  }
  Response response = match.entry_ ? Run(request, *match.entry_) : *match.error_;
  Record(request, match, response.status);
  return response;
}

void Router::Handle(Request& request, const RouteMatch& match, Respond respond) const {
  if (!match.deferred()) {
    respond(Handle(request, match));
    return;
  }
  const RouteMatch::Entry& entry = *match.entry_;
  auto answer = std::make_shared<DeferredAnswer>(metrics_, entry.info, request.method,
                                                 request.received_at, std::move(respond));
  try {
    if (std::optional<Response> response = RunMiddleware(request, entry.info)) {
      answer->Deliver(std::move(*response));
      return;
    }
    entry.deferred(request, [answer](Response response) { answer->Deliver(std::move(response)); });
  } catch (const std::exception& e) {
    spdlog::error("route {} ({} {}) threw: {}", entry.info.name, request.method, request.path,
                  e.what());
    answer->Deliver(InternalError(entry.info));
  } catch (...) {
    spdlog::error("route {} ({} {}) threw a non-standard exception", entry.info.name,
                  request.method, request.path);
    answer->Deliver(InternalError(entry.info));
  }
}

Response Router::Handle(Request& request) const { return Handle(request, Match(request)); }

Response Router::Reject(const Request& request, const RouteMatch& match, Response response) const {
  Record(request, match, response.status);
  return response;
}

std::optional<Response> Router::RunMiddleware(Request& request, const RouteInfo& route) const {
  for (const Middleware& middleware : middleware_) {
    if (std::optional<Response> response = middleware(request, route)) return response;
  }
  return std::nullopt;
}

Response Router::Run(Request& request, const RouteMatch::Entry& entry) const {
  // The exception's text goes to the log only: it may name internals the client has no
  // business seeing.
  try {
    if (std::optional<Response> response = RunMiddleware(request, entry.info)) return *response;
    return entry.handler(request);
  } catch (const std::exception& e) {
    spdlog::error("route {} ({} {}) threw: {}", entry.info.name, request.method, request.path,
                  e.what());
  } catch (...) {
    spdlog::error("route {} ({} {}) threw a non-standard exception", entry.info.name,
                  request.method, request.path);
  }
  return InternalError(entry.info);
}

void Router::Record(const Request& request, const RouteMatch& match, int status) const {
  RecordRequest(metrics_, match.label(), request.method, request.received_at, status);
}

}  // namespace tidemark::ui
