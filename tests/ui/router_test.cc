#include "tidemark/ui/router.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "tidemark/ui/metrics.h"

namespace tidemark::ui {
namespace {

Request MakeRequest(std::string method, std::string target) {
  auto request = ParseRequestTarget(std::move(method), std::move(target));
  EXPECT_TRUE(request.ok()) << request.status().ToString();
  return request.ok() ? *request : Request{};
}

Response Call(const Router& router, std::string method, std::string target) {
  Request request = MakeRequest(std::move(method), std::move(target));
  return router.Handle(request);
}

// A handler answering with its route name and the request's path parameters.
Handler Echo(std::string name) {
  return [name](const Request& request) {
    nlohmann::json body = {{"route", name}, {"params", request.path_params}};
    return Response::Json(200, body.dump());
  };
}

RouteOptions Named(std::string name, std::string scope = {}) {
  return {.name = std::move(name), .scope = std::move(scope), .blocking = false};
}

nlohmann::json Body(const Response& response) { return nlohmann::json::parse(response.body); }

TEST(RouterTest, MatchesLiteralRoutes) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/health", Named("health"), Echo("health")).ok());
  ASSERT_TRUE(router.Add("GET", "/", Named("root"), Echo("root")).ok());
  EXPECT_EQ(Body(Call(router, "GET", "/health"))["route"], "health");
  EXPECT_EQ(Body(Call(router, "GET", "/"))["route"], "root");
  EXPECT_EQ(Call(router, "GET", "/health/").status, 404);  // a trailing slash is another path
}

TEST(RouterTest, PathParamsAreDecodedPerSegment) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/api/v1/assets/{key}", Named("asset"), Echo("asset")).ok());
  ASSERT_TRUE(
      router.Add("GET", "/api/v1/assets/{key}/columns/{column}", Named("col"), Echo("col")).ok());

  Response response = Call(router, "GET", "/api/v1/assets/postgres%3A%2F%2Fdb%2Fshop.orders");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(Body(response)["params"]["key"], "postgres://db/shop.orders");

  response = Call(router, "GET", "/api/v1/assets/a%20b/columns/id");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(Body(response)["params"]["key"], "a b");
  EXPECT_EQ(Body(response)["params"]["column"], "id");

  // An unencoded '/' is a segment boundary, so this is not the one-segment {key} route.
  EXPECT_EQ(Call(router, "GET", "/api/v1/assets/a/b").status, 404);
}

TEST(RouterTest, CatchAllTakesTheRemainingSegments) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/static/{rest...}", Named("static"), Echo("static")).ok());
  Response response = Call(router, "GET", "/static/css/app%20v2.css");
  ASSERT_EQ(response.status, 200);
  EXPECT_EQ(Body(response)["params"]["rest"], "css/app v2.css");
  EXPECT_EQ(Call(router, "GET", "/static").status, 404);
}

TEST(RouterTest, MoreSpecificRouteWinsWhateverTheOrder) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/assets/{rest...}", Named("any"), Echo("any")).ok());
  ASSERT_TRUE(router.Add("GET", "/assets/{key}", Named("one"), Echo("one")).ok());
  ASSERT_TRUE(router.Add("GET", "/assets/search", Named("search"), Echo("search")).ok());
  EXPECT_EQ(Body(Call(router, "GET", "/assets/search"))["route"], "search");
  EXPECT_EQ(Body(Call(router, "GET", "/assets/orders"))["route"], "one");
  EXPECT_EQ(Body(Call(router, "GET", "/assets/a/b"))["route"], "any");
}

TEST(RouterTest, UnknownPathIs404WithJsonError) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/health", Named("health"), Echo("health")).ok());
  Response response = Call(router, "GET", "/nope?x=1");
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(response.content_type, "application/json");
  nlohmann::json body = Body(response);
  EXPECT_EQ(body["error"]["code"], "not_found");
  EXPECT_EQ(body["error"]["message"], "no route for GET /nope");
  EXPECT_EQ(body["error"]["where"], "/nope");
}

TEST(RouterTest, WrongMethodIs405WithAllowHeader) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/things", Named("list"), Echo("list")).ok());
  ASSERT_TRUE(router.Add("POST", "/things", Named("create"), Echo("create")).ok());
  Response response = Call(router, "DELETE", "/things");
  EXPECT_EQ(response.status, 405);
  EXPECT_EQ(response.headers.Get("allow"), "GET, HEAD, POST");
  EXPECT_EQ(Body(response)["error"]["code"], "method_not_allowed");
}

TEST(RouterTest, HeadRunsTheGetRoute) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/health", Named("health"), Echo("health")).ok());
  Response response = Call(router, "HEAD", "/health");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(Body(response)["route"], "health");  // the server drops the body on the wire
}

TEST(RouterTest, MalformedEscapeInPathIs400) {
  Router router;
  ASSERT_TRUE(router.Add("GET", "/a/{x}", Named("a"), Echo("a")).ok());
  Response response = Call(router, "GET", "/a/%zz");
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(Body(response)["error"]["code"], "invalid_argument");
}

TEST(RouterTest, QueryParametersAreDecoded) {
  Request request = MakeRequest("GET", "/search?q=fct+purchases&tag=a&tag=b&path=%2Fx&flag");
  EXPECT_EQ(request.path, "/search");
  EXPECT_EQ(request.QueryParam("q"), "fct purchases");
  EXPECT_EQ(request.QueryParam("path"), "/x");
  EXPECT_EQ(request.QueryParam("flag"), "");
  EXPECT_EQ(request.QueryParam("missing"), std::nullopt);
  EXPECT_EQ(request.query.count("tag"), 2u);
  EXPECT_FALSE(ParseRequestTarget("GET", "/s?q=%4").ok());
  EXPECT_FALSE(ParseRequestTarget("GET", "http://example.com/").ok());
}

TEST(RouterTest, HeadersAreCaseInsensitive) {
  Headers headers;
  headers.Add("Content-Type", "application/json");
  headers.Add("X-Seen", "1");
  headers.Add("x-seen", "2");
  EXPECT_EQ(headers.Get("content-type"), "application/json");
  EXPECT_EQ(headers.Get("X-SEEN"), "1");
  headers.Set("X-Seen", "3");
  EXPECT_EQ(headers.Get("x-seen"), "3");
  EXPECT_EQ(headers.fields().size(), 2u);
}

TEST(RouterTest, MiddlewareShortCircuitsBeforeTheHandler) {
  Router router;
  int handler_calls = 0;
  ASSERT_TRUE(router
                  .Add("POST", "/admin/reset", Named("reset", "admin"),
                       [&](const Request& request) {
                         ++handler_calls;
                         return Response::Text(
                             200, std::string(request.headers.Get("x-user").value_or("?")));
                       })
                  .ok());
  std::vector<std::string> seen;
  router.Use([&](Request& request, const RouteInfo& route) -> std::optional<Response> {
    seen.push_back(route.name + ":" + route.scope);
    if (route.scope == "admin" && !request.headers.Get("authorization")) {
      return ErrorResponse(401, "unauthenticated", "a token with scope admin is required");
    }
    request.headers.Set("X-User", "alice");  // what an auth middleware would attach
    return std::nullopt;
  });
  router.Use([&](Request&, const RouteInfo&) -> std::optional<Response> {
    seen.push_back("second");
    return std::nullopt;
  });

  Response denied = Call(router, "POST", "/admin/reset");
  EXPECT_EQ(denied.status, 401);
  EXPECT_EQ(handler_calls, 0);
  EXPECT_EQ(seen, (std::vector<std::string>{"reset:admin"}));  // the chain stopped

  Request request = MakeRequest("POST", "/admin/reset");
  request.headers.Add("Authorization", "Bearer t");
  Response allowed = router.Handle(request);
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(allowed.body, "alice");
  EXPECT_EQ(handler_calls, 1);
}

TEST(RouterTest, HandlerExceptionBecomes500) {
  Router router;
  ASSERT_TRUE(
      router
          .Add("GET", "/boom", Named("boom"),
               [](const Request&) -> Response { throw std::runtime_error("secret detail"); })
          .ok());
  Response response = Call(router, "GET", "/boom");
  EXPECT_EQ(response.status, 500);
  EXPECT_EQ(Body(response)["error"]["code"], "internal");
  EXPECT_EQ(response.body.find("secret detail"), std::string::npos);
}

// A deferred route answers from another thread, after its handler has returned; the
// Respond overload of Handle delivers that answer once, and the plain Handle waits for it.
TEST(RouterTest, DeferredRouteAnswersLaterFromAnotherThread) {
  Metrics metrics("test");
  Router router(&metrics);
  std::vector<std::thread> workers;
  ASSERT_TRUE(router
                  .AddDeferred("POST", "/later/{id}", Named("later"),
                               [&](Request& request, Respond respond) {
                                 std::string body = std::move(request.body);
                                 std::string id(request.PathParam("id"));
                                 workers.emplace_back([=] {
                                   std::this_thread::sleep_for(std::chrono::milliseconds(20));
                                   respond(Response::Text(202, id + ":" + body));
                                 });
                               })
                  .ok());
  Request request = MakeRequest("POST", "/later/7");
  request.body = "payload";
  RouteMatch match = router.Match(request);
  ASSERT_TRUE(match.deferred());
  std::promise<Response> answered;
  router.Handle(request, match, [&](Response r) { answered.set_value(std::move(r)); });
  std::future<Response> answer = answered.get_future();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(5)), std::future_status::ready);
  EXPECT_EQ(answer.get().body, "7:payload");

  Request again = MakeRequest("POST", "/later/8");
  again.body = "waited";
  Response waited = router.Handle(again);  // the blocking form, as tests and tools use it
  EXPECT_EQ(waited.status, 202);
  EXPECT_EQ(waited.body, "8:waited");
  for (auto& worker : workers) worker.join();
  EXPECT_NE(metrics.Render().find("tidemark_http_requests_total{route=\"/later/{id}\","
                                  "method=\"POST\",status=\"202\"} 2\n"),
            std::string::npos)
      << metrics.Render();
}

// Whatever a deferred handler does wrong, the client gets exactly one answer: a middleware's
// refusal without running it, a 500 when it throws or drops its Respond, and only the first
// of two answers.
TEST(RouterTest, DeferredRouteAnswersExactlyOnce) {
  Router router;
  std::atomic<int> runs{0};
  auto add = [&](std::string path, DeferredHandler handler) {
    ASSERT_TRUE(router.AddDeferred("GET", path, Named(path, "write"), std::move(handler)).ok());
  };
  add("/throws", [&](Request&, Respond) { ++runs; throw std::runtime_error("secret detail"); });
  add("/drops", [&](Request&, Respond) { ++runs; });
  add("/twice", [&](Request&, Respond respond) {
    ++runs;
    respond(Response::Text(200, "first"));
    respond(Response::Text(200, "second"));
  });
  add("/answers-then-throws", [&](Request&, Respond respond) {
    ++runs;
    respond(Response::Text(200, "answered"));
    throw std::runtime_error("after the answer");
  });
  router.Use([](Request& request, const RouteInfo&) -> std::optional<Response> {
    if (request.headers.Get("authorization")) return std::nullopt;
    return ErrorResponse(401, "unauthenticated", "a token is required");
  });

  auto call = [&](const std::string& path, bool authorized) {
    Request request = MakeRequest("GET", path);
    if (authorized) request.headers.Add("Authorization", "Bearer t");
    std::vector<Response> answers;
    router.Handle(request, router.Match(request),
                  [&](Response r) { answers.push_back(std::move(r)); });
    return answers;
  };
  auto refused = call("/twice", false);
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].status, 401);
  EXPECT_EQ(runs, 0);

  auto thrown = call("/throws", true);
  ASSERT_EQ(thrown.size(), 1u);
  EXPECT_EQ(thrown[0].status, 500);
  EXPECT_EQ(thrown[0].body.find("secret detail"), std::string::npos);
  auto dropped = call("/drops", true);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].status, 500);
  auto twice = call("/twice", true);
  ASSERT_EQ(twice.size(), 1u);
  EXPECT_EQ(twice[0].body, "first");
  auto late_throw = call("/answers-then-throws", true);
  ASSERT_EQ(late_throw.size(), 1u);
  EXPECT_EQ(late_throw[0].body, "answered");
  EXPECT_EQ(runs, 4);

  // A plain route through the Respond overload answers at once.
  ASSERT_TRUE(router.Add("GET", "/now", Named("now"), Echo("now")).ok());
  auto now = call("/now", true);
  ASSERT_EQ(now.size(), 1u);
  EXPECT_EQ(Body(now[0])["route"], "now");
}

TEST(RouterTest, MalformedPatternsAreRejected) {
  Router router;
  for (const char* pattern :
       {"no-slash", "/a/{}", "/a/{x}/{x}", "/a/{rest...}/b", "/a/b}", "/a/{x-y}", "/a/x{y}"}) {
    EXPECT_TRUE(router.Add("GET", pattern, Named("bad"), Echo("bad")).IsInvalidArgument())
        << pattern;
  }
  EXPECT_TRUE(router.Add("get", "/a", Named("bad"), Echo("bad")).IsInvalidArgument());
  ASSERT_TRUE(router.Add("GET", "/a/{x}", Named("a"), Echo("a")).ok());
  EXPECT_EQ(router.Add("GET", "/a/{x}", Named("again"), Echo("a")).code(),
            model::StatusCode::kAlreadyExists);
}

TEST(RouterTest, MetricsAreLabelledByPatternNotPath) {
  Metrics metrics("test");
  Router router(&metrics);
  ASSERT_TRUE(router.Add("GET", "/assets/{key}", Named("asset"), Echo("asset")).ok());
  Call(router, "GET", "/assets/a");
  Call(router, "GET", "/assets/b");
  Call(router, "GET", "/nope/1");
  Call(router, "GET", "/nope/2");
  std::string text = metrics.Render();
  EXPECT_NE(text.find("tidemark_http_requests_total{route=\"/assets/{key}\",method=\"GET\","
                      "status=\"200\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("tidemark_http_requests_total{route=\"unmatched\",method=\"GET\","
                      "status=\"404\"} 2\n"),
            std::string::npos)
      << text;
  EXPECT_EQ(text.find("/assets/a"), std::string::npos);
}

TEST(RouterTest, ErrorResponsesMapStatusCodes) {
  EXPECT_EQ(HttpStatusFor(model::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFor(model::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFor(model::StatusCode::kAlreadyExists), 409);
  EXPECT_EQ(HttpStatusFor(model::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFor(model::StatusCode::kCorruption), 500);
  EXPECT_EQ(HttpStatusFor(model::StatusCode::kInternal), 500);

  Response response = ErrorResponse(model::Status::NotFound("no asset x", "/api/v1/assets/x"));
  EXPECT_EQ(response.status, 404);
  EXPECT_EQ(
      Body(response),
      nlohmann::json::parse(
          R"({"error":{"code":"not_found","message":"no asset x","where":"/api/v1/assets/x"}})"));
}

}  // namespace
}  // namespace tidemark::ui
