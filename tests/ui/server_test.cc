#include "tidemark/ui/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tidemark/ui/metrics.h"
#include "tidemark/ui/router.h"
#include "ui/http_client.h"

namespace tidemark::ui {
namespace {

using namespace std::chrono_literals;
using test::Fetch;
using test::HttpClient;
using Clock = std::chrono::steady_clock;

// A raw POST /deferred request with `body`.
std::string DeferredPost(const std::string& body) {
  return "POST /deferred HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\n\r\n" + body;
}

RouteOptions Named(std::string name, bool blocking = false) {
  return {.name = std::move(name), .scope = {}, .blocking = blocking};
}

// A real server on 127.0.0.1:0 with a few routes, run on its own thread.
class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Add("GET", "/hello", Named("hello"),
        [](const Request&) { return Response::Text(200, "hello"); });
    Add("POST", "/echo", Named("echo"),
        [](const Request& request) { return Response::Text(200, request.body); });
    Add("GET", "/items/{id}", Named("item"), [](const Request& request) {
      return Response::Text(200, std::string(request.PathParam("id")));
    });
    Add("GET", "/boom", Named("boom"),
        [](const Request&) -> Response { throw std::runtime_error("handler bug"); });
    Add("GET", "/slow", Named("slow", /*blocking=*/true), [this](const Request&) {
      slow_started_ = true;
      std::this_thread::sleep_for(slow_for_);
      return Response::Text(200, "done");
    });
    // Answered by the test (AnswerDeferred), from its own thread.
    ASSERT_TRUE(router_
                    .AddDeferred("POST", "/deferred", Named("deferred"),
                                 [this](Request& request, Respond respond) {
                                   std::lock_guard lock(deferred_mu_);
                                   deferred_.emplace_back(std::move(request.body),
                                                          std::move(respond));
                                   deferred_arrived_.notify_all();
                                 })
                    .ok());
  }

  // Waits until `n` deferred requests wait for their answer.
  bool WaitForDeferred(size_t n) {
    std::unique_lock lock(deferred_mu_);
    return deferred_arrived_.wait_for(lock, 5s, [&] { return deferred_.size() >= n; });
  }

  // Answers every waiting deferred request with its own body, from a new thread.
  void AnswerDeferred() {
    std::vector<std::pair<std::string, Respond>> waiting;
    {
      std::lock_guard lock(deferred_mu_);
      waiting.swap(deferred_);
    }
    std::thread([waiting = std::move(waiting)] {
      for (auto& [body, respond] : waiting) respond(Response::Text(201, "got " + body));
    }).join();
  }

  void TearDown() override { Stop(); }

  void Add(std::string method, std::string pattern, RouteOptions options, Handler handler) {
    ASSERT_TRUE(
        router_.Add(std::move(method), std::move(pattern), std::move(options), std::move(handler))
            .ok());
  }

  void Start(ServerOptions options = {}) {
    options.host = "127.0.0.1";
    options.port = 0;
    options.handle_signals = false;
    auto server = Server::Create(options, router_);
    ASSERT_TRUE(server.ok()) << server.status().ToString();
    server_ = std::move(*server);
    ASSERT_NE(server_->port(), 0);
    run_ = std::thread([this] { server_->Run(); });
  }

  // Shuts down and waits for Run() to return; the elapsed time.
  Clock::duration Stop() {
    auto start = Clock::now();
    if (server_) server_->Shutdown();
    if (run_.joinable()) run_.join();
    return Clock::now() - start;
  }

  // Waits until the slow handler has started, so a test can act while it runs.
  void WaitForSlowHandler() {
    auto deadline = Clock::now() + 5s;
    while (!slow_started_ && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
    ASSERT_TRUE(slow_started_);
  }

  uint16_t port() const { return server_->port(); }

  Metrics metrics_{"test"};
  Router router_{&metrics_};
  std::chrono::milliseconds slow_for_{400};
  std::atomic<bool> slow_started_{false};
  std::mutex deferred_mu_;
  std::condition_variable deferred_arrived_;
  std::vector<std::pair<std::string, Respond>> deferred_;  // guarded by deferred_mu_
  std::unique_ptr<Server> server_;
  std::thread run_;
};

TEST_F(ServerTest, KeepAliveServesManyRequestsOnOneConnection) {
  Start();
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  for (int i = 0; i < 5; ++i) {
    auto reply = client->Request("GET", "/items/" + std::to_string(i));
    ASSERT_TRUE(reply) << "request " << i;
    EXPECT_EQ(reply->status, 200);
    EXPECT_EQ(reply->body, std::to_string(i));
    EXPECT_NE(reply->Header("connection"), "close");
    reply = client->Request("POST", "/echo", "payload " + std::to_string(i));
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, "payload " + std::to_string(i));
  }
}

TEST_F(ServerTest, PipelinedRequestsAreAnsweredInOrder) {
  Start();
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->Send(
      "GET /items/1 HTTP/1.1\r\nHost: x\r\n\r\nGET /items/2 HTTP/1.1\r\nHost: x\r\n\r\n"));
  auto first = client->Read();
  auto second = client->Read();
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->body, "1");
  EXPECT_EQ(second->body, "2");
}

// Bodies around the read buffer's sizes (512, 16 KiB, the 256 KiB it may keep), each
// followed on the same connection by a small request, some sent in one piece with it.
TEST_F(ServerTest, BodiesOfEverySizeArriveWholeOnOneKeepAliveConnection) {
  Start();
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  for (size_t size : {0, 1, 511, 512, 513, 9000, 16383, 16384, 16385, 300000, 5, 1 << 20, 7}) {
    std::string body(size, 'x');
    for (size_t i = 0; i < size; i += 997) body[i] = static_cast<char>('a' + i % 26);
    auto reply = client->Request("POST", "/echo", body);
    ASSERT_TRUE(reply) << size;
    EXPECT_EQ(reply->status, 200) << size;
    EXPECT_EQ(reply->body, body) << size;
    // The large body and the next request in one send: the bytes after the body stay
    // buffered while the buffer shrinks back.
    ASSERT_TRUE(client->Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                             std::to_string(size) + "\r\n\r\n" + body +
                             "GET /items/" + std::to_string(size) + " HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto echoed = client->Read();
    auto next = client->Read();
    ASSERT_TRUE(echoed && next) << size;
    EXPECT_EQ(echoed->body, body) << size;
    EXPECT_EQ(next->body, std::to_string(size));
  }
}

TEST_F(ServerTest, HeadSendsHeadersOnly) {
  Start();
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  auto head = client->Request("HEAD", "/hello");
  ASSERT_TRUE(head);
  EXPECT_EQ(head->status, 200);
  EXPECT_EQ(head->Header("content-length"), "5");
  EXPECT_EQ(head->body, "");
  // Had a body been sent, it would be read as the next response.
  auto get = client->Request("GET", "/hello");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->body, "hello");
}

TEST_F(ServerTest, OversizedBodyGets413AndClose) {
  Start({.body_limit_bytes = 1024});
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  auto ok = client->Request("POST", "/echo", std::string(1024, 'a'));
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);

  auto too_large = client->Request("POST", "/echo", std::string(1025, 'a'));
  ASSERT_TRUE(too_large);
  EXPECT_EQ(too_large->status, 413);
  EXPECT_EQ(too_large->Header("content-type"), "application/json");
  EXPECT_NE(too_large->body.find(R"("code":"payload_too_large")"), std::string::npos);
  EXPECT_EQ(too_large->Header("connection"), "close");
  EXPECT_TRUE(client->WaitForClose(2s));
}

TEST_F(ServerTest, OversizedChunkedBodyGets413) {
  Start({.body_limit_bytes = 1024});
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  std::string chunk(800, 'b');
  ASSERT_TRUE(client->Send("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" +
                           std::string("320\r\n") + chunk + "\r\n320\r\n" + chunk +
                           "\r\n0\r\n\r\n"));
  auto reply = client->Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 413);
}

TEST_F(ServerTest, ExpectContinueGets100BeforeTheBody) {
  Start();
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->Send(
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n"));
  auto go_on = client->Read();
  ASSERT_TRUE(go_on);
  EXPECT_EQ(go_on->status, 100);
  ASSERT_TRUE(client->Send("data"));
  auto reply = client->Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "data");
}

TEST_F(ServerTest, ReadTimeoutClosesIdleConnection) {
  Start({.read_timeout = 300ms});
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  auto start = Clock::now();
  EXPECT_TRUE(client->WaitForClose(5s));
  EXPECT_GE(Clock::now() - start, 250ms);
}

TEST_F(ServerTest, ReadTimeoutClosesSlowRequest) {
  Start({.read_timeout = 300ms});
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->Send("GET /hello HTTP/1.1\r\nHost: x\r\n"));  // the header never ends
  EXPECT_TRUE(client->WaitForClose(5s));
}

TEST_F(ServerTest, HandlerExceptionIs500AndServerSurvives) {
  Start();
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  auto boom = client->Request("GET", "/boom");
  ASSERT_TRUE(boom);
  EXPECT_EQ(boom->status, 500);
  EXPECT_NE(boom->body.find(R"("code":"internal")"), std::string::npos);
  EXPECT_EQ(boom->body.find("handler bug"), std::string::npos);
  auto after = client->Request("GET", "/hello");
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
  auto other = Fetch(port(), "GET", "/hello");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
}

TEST_F(ServerTest, ProtocolErrorsGetJsonAnswers) {
  Start({.header_limit_bytes = 1024});
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  auto not_allowed = client->Request("DELETE", "/hello");
  ASSERT_TRUE(not_allowed);
  EXPECT_EQ(not_allowed->status, 405);
  EXPECT_EQ(not_allowed->Header("allow"), "GET, HEAD");

  auto big_header = client->Request("GET", "/hello", {}, {{"X-Big", std::string(2000, 'x')}});
  ASSERT_TRUE(big_header);
  EXPECT_EQ(big_header->status, 431);

  auto garbage = HttpClient::Connect(port());
  ASSERT_TRUE(garbage);
  ASSERT_TRUE(garbage->Send("NOT HTTP AT ALL\r\n\r\n"));
  auto bad = garbage->Read();
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_TRUE(garbage->WaitForClose(2s));
}

TEST_F(ServerTest, BlockingHandlersDoNotHoldTheIoThread) {
  Start({.io_threads = 1});
  std::thread slow([this] { EXPECT_TRUE(Fetch(port(), "GET", "/slow")); });
  WaitForSlowHandler();
  auto start = Clock::now();
  auto quick = Fetch(port(), "GET", "/hello");
  auto elapsed = Clock::now() - start;
  slow.join();
  ASSERT_TRUE(quick);
  EXPECT_EQ(quick->status, 200);
  EXPECT_LT(elapsed, 200ms) << "the one I/O thread was blocked by the slow handler";
}

// Deferred requests wait for their answer without holding a thread: with one I/O thread and
// one blocking thread, 16 of them are all in at once, and a plain request still gets through.
TEST_F(ServerTest, DeferredRequestsWaitWithoutHoldingAThread) {
  Start({.io_threads = 1, .blocking_threads = 1});
  constexpr int kClients = 16;
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(HttpClient::Connect(port()));
    ASSERT_TRUE(clients.back());
    ASSERT_TRUE(clients.back()->Send(DeferredPost("event " + std::to_string(i))));
  }
  ASSERT_TRUE(WaitForDeferred(kClients));
  auto hello = Fetch(port(), "GET", "/hello");
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->status, 200);
  AnswerDeferred();
  for (int i = 0; i < kClients; ++i) {
    auto reply = clients[i]->Read();
    ASSERT_TRUE(reply) << i;
    EXPECT_EQ(reply->status, 201);
    EXPECT_EQ(reply->body, "got event " + std::to_string(i));
    // The connection stays usable for the next request.
    ASSERT_TRUE(clients[i]->Send(DeferredPost("x")));
  }
  ASSERT_TRUE(WaitForDeferred(kClients));
  AnswerDeferred();
  for (auto& client : clients) {
    auto reply = client->Read();
    ASSERT_TRUE(reply);
    EXPECT_EQ(reply->body, "got x");
  }
  EXPECT_NE(metrics_.Render().find("route=\"/deferred\",method=\"POST\",status=\"201\"} 32"),
            std::string::npos);
}

// A shutdown lets a deferred request in flight get its answer before the connection closes.
TEST_F(ServerTest, ShutdownWaitsForDeferredAnswers) {
  Start({.shutdown_grace = 2s});
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->Send(DeferredPost("a")));
  ASSERT_TRUE(WaitForDeferred(1));
  server_->Shutdown();
  std::this_thread::sleep_for(50ms);
  AnswerDeferred();
  auto reply = client->Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->body, "got a");
  EXPECT_EQ(reply->Header("connection"), "close");
  EXPECT_LT(Stop(), 2s);
  server_.reset();
}

// Past the grace period, destroying the server waits for the answer of a deferred request
// still unanswered: its Respond holds the connection's coroutine.
TEST_F(ServerTest, DestroyingTheServerWaitsForAnAbandonedDeferredRequest) {
  Start({.shutdown_grace = 100ms});
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->Send(DeferredPost("b")));
  ASSERT_TRUE(WaitForDeferred(1));
  Stop();  // the grace period ends with the request unanswered
  std::thread late([this] {
    std::this_thread::sleep_for(200ms);
    AnswerDeferred();
  });
  auto start = Clock::now();
  server_.reset();
  EXPECT_GE(Clock::now() - start, 100ms) << "the server went before the answer came";
  late.join();
}

TEST_F(ServerTest, GracefulShutdownLetsInFlightRequestFinish) {
  Start();
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  WaitForSlowHandler();
  server_->Shutdown();
  auto reply = client->Read();
  ASSERT_TRUE(reply);
  EXPECT_EQ(reply->status, 200);
  EXPECT_EQ(reply->body, "done");
  EXPECT_EQ(reply->Header("connection"), "close");
  EXPECT_LT(Stop(), 2s);
  EXPECT_FALSE(HttpClient::Connect(port(), 500ms)) << "still accepting after shutdown";
}

TEST_F(ServerTest, ShutdownClosesIdleConnectionsAtOnce) {
  Start();  // read_timeout 30 s: only the shutdown can close the idle connection quickly
  auto idle = HttpClient::Connect(port());
  ASSERT_TRUE(idle);
  ASSERT_TRUE(idle->Request("GET", "/hello"));
  auto start = Clock::now();
  server_->Shutdown();
  EXPECT_TRUE(idle->WaitForClose(2s));
  EXPECT_LT(Stop(), 1s);
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST_F(ServerTest, GracePeriodBoundsShutdown) {
  slow_for_ = 1500ms;
  Start({.shutdown_grace = 200ms});
  auto client = HttpClient::Connect(port());
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->Send("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  WaitForSlowHandler();
  auto stopped_after = Stop();
  EXPECT_LT(stopped_after, 1200ms) << "Run() waited for the stuck handler";
  server_.reset();  // waits for the abandoned handler to return
}

TEST_F(ServerTest, RequestsAreCountedByRoutePattern) {
  Start();
  ASSERT_TRUE(Fetch(port(), "GET", "/items/7"));
  ASSERT_TRUE(Fetch(port(), "GET", "/nowhere"));
  std::string text = metrics_.Render();
  EXPECT_NE(text.find("tidemark_http_requests_total{route=\"/items/{id}\",method=\"GET\","
                      "status=\"200\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("route=\"unmatched\",method=\"GET\",status=\"404\"} 1"), std::string::npos);
}

TEST(ServerCreateTest, BindFailureIsUnavailable) {
  Router router;
  auto first = Server::Create({.host = "127.0.0.1", .port = 0, .handle_signals = false}, router);
  ASSERT_TRUE(first.ok());
  auto second = Server::Create(
      {.host = "127.0.0.1", .port = (*first)->port(), .handle_signals = false}, router);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsUnavailable()) << second.status().ToString();
}

}  // namespace
}  // namespace tidemark::ui
