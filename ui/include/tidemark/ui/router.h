#pragma once

// Router: the route table and the one place every request passes on its way to a handler.
//
// A route is a method, a path pattern and a handler. Patterns are split on '/'; a segment is a
// literal ("assets"), a parameter ("{key}", one segment, percent-decoded after splitting, so
// "a%2Fb" arrives as "a/b") or, as the last segment only, a catch-all ("{rest...}", one or more
// remaining segments, each decoded, joined with '/'). When several routes match, the more
// specific wins, segment by segment: literal before parameter before catch-all. GET routes
// also answer HEAD (the server then sends the headers only).
//
// Handle() runs the middleware chain in order, then the handler. The first middleware that
// returns a Response short-circuits the rest and the handler; middleware sees the route's
// RouteInfo (name, scope), which is where API tokens and scopes slot in without touching
// handlers. Handle() also records tidemark_http_requests_total and the duration histogram,
// labelled by route pattern (never the raw path, to bound cardinality) or "unmatched".
// A handler or middleware that throws yields a 500 JSON error and a log line; it never
// escapes.
//
// A deferred route (AddDeferred) answers later: its handler starts the work and returns, and
// whatever finishes the work calls the Respond it was given, from any thread. The server runs
// such a handler on the I/O thread that read the request and sends the response when Respond
// is called, so a request that waits for something another thread completes (the event log's
// group commit) holds no thread while it waits.
//
// Thread-safety: Add() and Use() are not thread-safe and must all happen before the router
// serves its first request; after that every method is const and safe from many threads
// (handlers and middleware must then be safe to call concurrently themselves).

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/model/status.h"
#include "tidemark/ui/http.h"

namespace tidemark::ui {

class Metrics;

// How a route is declared, beyond its method and pattern.
// Every member has an initializer so designated initializers may leave any out
// (`{.name = "health"}`) without -Wmissing-field-initializers.
struct RouteOptions {
  std::string name = {};   // stable identifier for logs: "health", "get_asset"
  std::string scope = {};  // scope a caller needs: "read", "ingest", "admin"; empty: open
  // The handler may block (store calls, file I/O): the server runs it on its blocking pool
  // instead of an I/O thread.
  bool blocking = false;
};

// What middleware (and logs) know about the route a request matched.
struct RouteInfo {
  std::string method;
  std::string pattern;  // "/api/v1/assets/{key}": the metrics label
  std::string name;
  std::string scope;
  bool blocking = false;
};

using Handler = std::function<Response(const Request&)>;
// Delivers a deferred route's response. Called at most once, from any thread; must not block
// (the server only queues the response to its connection). A Respond whose every copy is
// destroyed uncalled answers 500, so a dropped request never leaves its client waiting.
using Respond = std::function<void(Response)>;
// Starts a deferred route's work and returns without blocking: it runs on an I/O thread.
// `request` is valid only until it returns (move out the body if the work needs it).
using DeferredHandler = std::function<void(Request& request, Respond respond)>;
// Returns a Response to answer the request itself (401, 403, 429 ...), or nullopt to let the
// request through. May annotate the request for later middleware and the handler.
using Middleware = std::function<std::optional<Response>(Request&, const RouteInfo&)>;

class Router;

// The outcome of Router::Match: a route, or the error response (404, 405, 400) to send.
// Valid as long as the Router it came from.
class RouteMatch {
 public:
  // The matched route, or nullptr when nothing matched.
  const RouteInfo* route() const;
  bool blocking() const { return route() != nullptr && route()->blocking; }
  // The route was added with AddDeferred: answer it with the Respond overload of Handle.
  bool deferred() const;
  // The route label for metrics: the pattern, or "unmatched".
  std::string_view label() const;

 private:
  friend class Router;
  struct Entry;
  const Entry* entry_ = nullptr;
  std::optional<Response> error_;
};

class Router {
 public:
  // `metrics`, when given, must outlive the Router; nullptr records nothing.
  explicit Router(Metrics* metrics = nullptr);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Adds a route. InvalidArgument for a malformed method or pattern (not starting with '/',
  // unbalanced braces, empty or repeated parameter name, a catch-all before the last segment);
  // AlreadyExists when the same method and pattern are already routed.
  model::Status Add(std::string method, std::string pattern, RouteOptions options, Handler handler);
  // Adds a deferred route (see above); the same errors as Add. options.blocking is ignored.
  model::Status AddDeferred(std::string method, std::string pattern, RouteOptions options,
                            DeferredHandler handler);

  // Appends a middleware to the chain; it runs for every matched route, in the order added.
  // Unmatched requests (404/405) do not reach middleware.
  void Use(Middleware middleware);

  // Finds the route for the request's method and path and fills request.path_params. When
  // nothing fits, the match carries the error: 404 for an unknown path, 405 with an Allow
  // header when only the method is wrong, 400 for a malformed %-escape in the path.
  RouteMatch Match(Request& request) const;

  // Runs middleware and the handler for a match from Match(), or returns the match's error,
  // and records the request's metrics. Never throws. A deferred route's response is waited
  // for here.
  Response Handle(Request& request, const RouteMatch& match) const;
  // The same, delivering the response through `respond` (exactly once, maybe before this
  // returns, maybe later from another thread). Only a deferred route answers later.
  void Handle(Request& request, const RouteMatch& match, Respond respond) const;
  // Match() then Handle().
  Response Handle(Request& request) const;

  // Records metrics for a response the server produced without running the route (413 for
  // an oversized body, 400 for a malformed request) and returns it unchanged.
  Response Reject(const Request& request, const RouteMatch& match, Response response) const;

 private:
  model::Status AddEntry(std::string method, std::string pattern, RouteOptions options,
                         RouteMatch::Entry entry);
  // The first middleware's answer, if any; exceptions propagate.
  std::optional<Response> RunMiddleware(Request& request, const RouteInfo& route) const;
  Response Run(Request& request, const RouteMatch::Entry& entry) const;
  void Record(const Request& request, const RouteMatch& match, int status) const;

  Metrics* metrics_;
  std::vector<RouteMatch::Entry> entries_;
  std::vector<Middleware> middleware_;
};

}  // namespace tidemark::ui
