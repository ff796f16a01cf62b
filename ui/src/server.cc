// The only translation unit of the library that includes Beast: it costs 15-20 s to compile,
// so everything that can live elsewhere (routing, errors, metrics) does.

#include "tidemark/ui/server.h"

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <condition_variable>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <csignal>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "tidemark/ui/http.h"
#include "tidemark/ui/router.h"
#include "tidemark/ui/version.h"

namespace tidemark::ui {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using model::Result;
using model::Status;

namespace {

// A connection's read buffer: room for a typical request (an OpenLineage event is 2-20 KB) in
// one read, and what it may keep between requests after a larger one.
constexpr size_t kReadBufferBytes = 16 << 10;
constexpr size_t kMaxKeptReadBufferBytes = 256 << 10;

// Boost 1.74 predates asio::as_tuple; redirect_error is its equivalent here: errors become
// values in `ec` instead of exceptions, as every read and write below expects.
auto Capture(beast::error_code& ec) { return asio::redirect_error(asio::use_awaitable, ec); }

// After answering before the whole request was read (a 413), stops sending and reads what the
// client is still sending, for a moment, before the socket closes: closing with unread data
// makes the kernel answer with a reset, which can destroy the response before the client
// reads it (a "lingering close"). Bounded in time and bytes.
asio::awaitable<void> LingerBeforeClose(beast::tcp_stream& stream) {
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
  stream.expires_after(std::chrono::seconds(2));
  std::array<char, 16384> sink;
  size_t total = 0;
  while (!ec && total < (16u << 20)) {
    const size_t n = co_await stream.async_read_some(asio::buffer(sink), Capture(ec));
    total += n;
  }
}

std::string EndpointText(const tcp::endpoint& endpoint) {
  std::string address = endpoint.address().to_string();
  if (endpoint.address().is_v6()) address = "[" + address + "]";
  return address + ":" + std::to_string(endpoint.port());
}

std::string RemoteAddress(const tcp::socket& socket) {
  beast::error_code ec;
  tcp::endpoint endpoint = socket.remote_endpoint(ec);
  return ec ? std::string() : EndpointText(endpoint);
}

Result<Request> MakeRequest(const http::request<http::string_body>& message,
                            const std::string& remote) {
  TM_ASSIGN_OR_RETURN(Request request, ParseRequestTarget(std::string(message.method_string()),
                                                          std::string(message.target())));
  for (const auto& field : message) {
    request.headers.Add(std::string(field.name_string()), std::string(field.value()));
  }
  request.remote_address = remote;
  request.received_at = std::chrono::steady_clock::now();
  return request;
}

// 1xx, 204 and 304 responses carry no body and must not announce one (RFC 9110 §8.6).
bool MayHaveBody(int status) { return status >= 200 && status != 204 && status != 304; }

// The peer went away or the deadline passed: there is nobody left to answer.
bool IsDisconnect(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == asio::error::eof ||
         ec == asio::error::operation_aborted || ec == beast::error::timeout ||
         ec == asio::error::connection_reset || ec == asio::error::bad_descriptor;
}

void LogIfException(std::string_view what, std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    spdlog::error("{} ended by an exception: {}", what, e.what());
  } catch (...) {
    spdlog::error("{} ended by a non-standard exception", what);
  }
}

}  // namespace

struct Server::Impl {
  // One open connection, as the shutdown path sees it. Touched only on the connection's strand
  // (its coroutine, or a handler posted there) with mu_ held for the registry.
  struct Connection {
    beast::tcp_stream& stream;
    bool busy = false;  // between a request's header and its response's last byte
  };

  // Registers a connection for the lifetime of its coroutine.
  class Registration {
   public:
    Registration(Impl& impl, Connection& connection) : impl_(impl) {
      std::lock_guard lock(impl_.mu_);
      admitted_ = !impl_.stopping_;
      if (admitted_) {
        id_ = impl_.next_connection_id_++;
        impl_.connections_.emplace(id_, &connection);
      }
    }
    ~Registration() {
      if (!admitted_) return;
      std::lock_guard lock(impl_.mu_);
      impl_.connections_.erase(id_);
      // The last connection leaving a draining server ends the grace period early. Once the
      // context is stopped (grace over, frames being destroyed) nothing may be posted to it.
      if (impl_.stopping_ && impl_.connections_.empty() && !impl_.ioc_.stopped()) {
        asio::post(impl_.server_strand_, [&impl = impl_] { impl.grace_timer_.cancel(); });
      }
    }
    Registration(const Registration&) = delete;
    Registration& operator=(const Registration&) = delete;
    bool admitted() const { return admitted_; }

   private:
    Impl& impl_;
    uint64_t id_ = 0;
    bool admitted_ = false;
  };

  Impl(const ServerOptions& options, const Router& router)
      : options_(options),
        router_(router),
        blocking_pool_(static_cast<size_t>(options.blocking_threads)),
        ioc_(options.io_threads),
        server_strand_(asio::make_strand(ioc_)),
        acceptor_(server_strand_),
        signals_(server_strand_),
        grace_timer_(server_strand_) {}

  // Running blocking handlers hold references into connection coroutines, and unanswered
  // deferred requests hold their coroutines' completion handlers: both must be done before
  // the io_context destroys those coroutines.
  ~Impl() {
    blocking_pool_.join();
    std::unique_lock lock(mu_);
    deferred_done_.wait(lock, [&] { return deferred_ == 0; });
  }

  Status Listen();
  void Run();
  void Shutdown();

  asio::awaitable<void> Accept();
  asio::awaitable<void> Serve(tcp::socket socket);
  asio::awaitable<bool> ServeOne(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                 Connection& connection, const std::string& remote);
  asio::awaitable<bool> AnswerReadError(beast::tcp_stream& stream, const beast::error_code& ec);
  asio::awaitable<Response> RunBlocking(Request& request, const RouteMatch& match);
  asio::awaitable<Response> RunDeferred(Request& request, const RouteMatch& match);
  asio::awaitable<bool> Write(beast::tcp_stream& stream, Response response, bool head,
                              bool keep_alive, unsigned version);
  asio::awaitable<void> Drain();
  void CloseIfIdle(uint64_t id);

  const ServerOptions options_;
  const Router& router_;

  std::mutex mu_;
  std::map<uint64_t, Connection*> connections_;  // guarded by mu_
  uint64_t next_connection_id_ = 0;              // guarded by mu_
  uint64_t deferred_ = 0;  // deferred requests not answered yet; guarded by mu_
  std::condition_variable deferred_done_;
  std::atomic<bool> stopping_{false};            // written with mu_ held
  std::atomic<bool> shutdown_requested_{false};

  asio::thread_pool blocking_pool_;
  asio::io_context ioc_;  // after the registry: its destruction unregisters connections
  asio::strand<asio::io_context::executor_type> server_strand_;  // acceptor, signals, timer
  tcp::acceptor acceptor_;
  asio::signal_set signals_;
  asio::steady_timer grace_timer_;
  uint16_t port_ = 0;
};

Status Server::Impl::Listen() {
  const std::string where = options_.host + ":" + std::to_string(options_.port);
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  auto results =
      resolver.resolve(options_.host, std::to_string(options_.port), tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return Status::Unavailable("cannot resolve listen address: " + ec.message(), where);
  }
  const tcp::endpoint endpoint = results.begin()->endpoint();
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return Status::Unavailable("cannot listen: " + ec.message(), where);
  port_ = acceptor_.local_endpoint(ec).port();
  // Registered now rather than in Run(): once the caller announces the port, a SIGTERM must
  // already mean a graceful shutdown. Asio queues a signal that arrives before Run() waits.
  if (options_.handle_signals) {
    signals_.add(SIGINT, ec);
    if (!ec) signals_.add(SIGTERM, ec);
    if (ec) return Status::Internal("cannot handle SIGINT/SIGTERM: " + ec.message(), where);
  }
  return Status::Ok();
}

void Server::Impl::Run() {
  asio::co_spawn(server_strand_, Accept(),
                 [](std::exception_ptr e) { LogIfException("accept loop", e); });
  if (options_.handle_signals) {
    signals_.async_wait([this](const beast::error_code& ec, int signal) {
      if (ec) return;
      spdlog::info("received {}; shutting down", signal == SIGINT ? "SIGINT" : "SIGTERM");
      Shutdown();
    });
  }
  std::vector<std::thread> threads;
  for (int i = 1; i < options_.io_threads; ++i) threads.emplace_back([this] { ioc_.run(); });
  ioc_.run();
  for (std::thread& thread : threads) thread.join();
}

void Server::Impl::Shutdown() {
  if (shutdown_requested_.exchange(true)) return;
  asio::co_spawn(server_strand_, Drain(), [](std::exception_ptr e) { LogIfException("drain", e); });
}

asio::awaitable<void> Server::Impl::Accept() {
  for (;;) {
    // Each connection gets its own strand: its coroutine and the shutdown path's posts to it
    // never run at the same time, even with several I/O threads.
    tcp::socket socket(asio::make_strand(ioc_));
    beast::error_code ec;
    co_await acceptor_.async_accept(socket, Capture(ec));
    if (stopping_ || !acceptor_.is_open()) co_return;
    if (ec) {
      // Typically EMFILE: pausing lets connections close instead of spinning on the error.
      spdlog::warn("accept failed: {}", ec.message());
      asio::steady_timer pause(server_strand_, std::chrono::milliseconds(100));
      co_await pause.async_wait(Capture(ec));
      continue;
    }
    auto executor = socket.get_executor();
    asio::co_spawn(executor, Serve(std::move(socket)),
                   [](std::exception_ptr e) { LogIfException("connection", e); });
  }
}

asio::awaitable<void> Server::Impl::Serve(tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  Connection connection{stream};
  Registration registration(*this, connection);
  if (!registration.admitted()) co_return;
  const std::string remote = RemoteAddress(stream.socket());
  // Beast reads into whatever room the buffer has, and never less than 512 bytes: a buffer
  // left at its first 512 took a 9 KB request in 18 reads, each a system call and a trip
  // through the strand. Room for a typical request up front; a body that announces more gets
  // room for all of it (ServeOne).
  beast::flat_buffer buffer;
  buffer.reserve(kReadBufferBytes);
  while (co_await ServeOne(stream, buffer, connection, remote)) {
    // A large batch's room is not kept for the rest of a keep-alive connection.
    if (buffer.capacity() > kMaxKeptReadBufferBytes) {
      buffer.shrink_to_fit();
      buffer.reserve(kReadBufferBytes);
    }
  }
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

// Serves one request; true when the connection should wait for another.
asio::awaitable<bool> Server::Impl::ServeOne(beast::tcp_stream& stream, beast::flat_buffer& buffer,
                                             Connection& connection, const std::string& remote) {
  connection.busy = false;
  if (stopping_) co_return false;

  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<uint32_t>(options_.header_limit_bytes));
  // The body limit is checked by hand once the header is in, so the 413 can name the route;
  // Beast would otherwise fail the header read itself.
  parser.body_limit(std::numeric_limits<uint64_t>::max());
  beast::error_code ec;
  stream.expires_after(options_.read_timeout);  // header and body together
  co_await http::async_read_header(stream, buffer, parser, Capture(ec));
  if (ec) co_return co_await AnswerReadError(stream, ec);
  connection.busy = true;

  const http::request<http::string_body>& message = parser.get();
  const unsigned version = message.version();
  Result<Request> parsed = MakeRequest(message, remote);
  if (!parsed.ok()) {
    Response response = router_.Reject(Request{}, RouteMatch{}, ErrorResponse(parsed.status()));
    co_await Write(stream, std::move(response), /*head=*/false, /*keep_alive=*/false, version);
    co_return false;
  }
  Request& request = *parsed;
  const bool head = request.method == "HEAD";
  RouteMatch match = router_.Match(request);

  auto too_large = [&] {
    return router_.Reject(request, match,
                          ErrorResponse(413, "payload_too_large",
                                        "request body exceeds " +
                                            std::to_string(options_.body_limit_bytes) + " bytes",
                                        request.path));
  };
  if (auto length = parser.content_length(); length && *length > options_.body_limit_bytes) {
    Response response = too_large();
    co_await Write(stream, std::move(response), head, /*keep_alive=*/false, version);
    co_await LingerBeforeClose(stream);
    co_return false;
  }
  if (!parser.is_done()) {
    // curl and others wait for this before sending a large body.
    if (beast::iequals(message[http::field::expect], "100-continue")) {
      http::response<http::empty_body> go_on{http::status::continue_, version};
      co_await http::async_write(stream, go_on, Capture(ec));
      if (ec) co_return false;
    }
    parser.body_limit(options_.body_limit_bytes);  // chunked bodies have no length up front
    if (auto length = parser.content_length(); length && *length > 0) {
      // Room for the whole announced body (already checked against the limit), so that it
      // arrives in as few reads as the socket allows.
      buffer.reserve(buffer.size() + static_cast<size_t>(*length));
    }
    co_await http::async_read(stream, buffer, parser, Capture(ec));
    if (ec == http::error::body_limit) {
      Response response = too_large();
      co_await Write(stream, std::move(response), head, /*keep_alive=*/false, version);
      co_await LingerBeforeClose(stream);
      co_return false;
    }
    if (ec) co_return false;  // the peer left or timed out mid-body: nobody to answer
  }
  request.body = std::move(parser.get().body());

  // Not a conditional expression: GCC 12 mishandles co_await inside ?: (and temporaries
  // inside co_await expressions), so results are named locals throughout this file.
  Response response;
  if (match.deferred()) {
    response = co_await RunDeferred(request, match);
  } else if (match.blocking()) {
    response = co_await RunBlocking(request, match);
  } else {
    response = router_.Handle(request, match);
  }
  if (spdlog::should_log(spdlog::level::debug)) {
    const std::chrono::duration<double, std::milli> took =
        std::chrono::steady_clock::now() - request.received_at;
    spdlog::debug("{} {} {} -> {} in {:.1f} ms", remote, request.method, request.path,
                  response.status, took.count());
  }
  const bool keep_alive = parser.get().keep_alive() && !stopping_;
  const bool written = co_await Write(stream, std::move(response), head, keep_alive, version);
  co_return written&& keep_alive;
}

// A failed header read: answer what deserves an answer, then close.
asio::awaitable<bool> Server::Impl::AnswerReadError(beast::tcp_stream& stream,
                                                    const beast::error_code& ec) {
  if (IsDisconnect(ec)) co_return false;
  Response response =
      ec == http::error::header_limit
          ? ErrorResponse(
                431, "header_too_large",
                "request header exceeds " + std::to_string(options_.header_limit_bytes) + " bytes")
          : ErrorResponse(400, "bad_request", "malformed HTTP request: " + ec.message());
  Response rejected = router_.Reject(Request{}, RouteMatch{}, std::move(response));
  co_await Write(stream, std::move(rejected), /*head=*/false, /*keep_alive=*/false, 11);
  co_return false;
}

// Runs the route on the blocking pool and resumes on this connection's strand when it is done.
asio::awaitable<Response> Server::Impl::RunBlocking(Request& request, const RouteMatch& match) {
  auto handle = [&]() -> asio::awaitable<Response> { co_return router_.Handle(request, match); };
  Response response =
      co_await asio::co_spawn(blocking_pool_, std::move(handle), asio::use_awaitable);
  co_return response;
}

// Starts a deferred route on this I/O thread and resumes on this connection's strand once the
// route responds, from whichever thread that is.
asio::awaitable<Response> Server::Impl::RunDeferred(Request& request, const RouteMatch& match) {
  auto executor = co_await asio::this_coro::executor;
  auto start = [&](auto handler) {
    // Respond must be copyable; the coroutine's handler is move-only and resumed once.
    auto resume = std::make_shared<decltype(handler)>(std::move(handler));
    {
      std::lock_guard lock(mu_);
      ++deferred_;
    }
    router_.Handle(request, match,
                   [this, executor = std::optional(executor), resume](Response response) mutable {
                     // Nothing of the connection's may stay in this callback once the count
                     // drops: the server may then be destroyed, and the last copy of the
                     // coroutine's handler (or of its strand) going after it would touch it.
                     // The queued handler becomes the only owner of both.
                     asio::post(*executor, [resume = std::move(resume),
                                            response = std::move(response)]() mutable {
                       (*resume)(std::move(response));
                     });
                     executor.reset();
                     std::lock_guard lock(mu_);
                     if (--deferred_ == 0) deferred_done_.notify_all();
                   });
  };
  Response response =
      co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Response)>(
          std::move(start), asio::use_awaitable);
  co_return response;
}

// Sends `response`; true when it was written in full.
asio::awaitable<bool> Server::Impl::Write(beast::tcp_stream& stream, Response response, bool head,
                                          bool keep_alive, unsigned version) {
  http::response<http::string_body> message;
  message.version(version);
  message.result(static_cast<unsigned>(response.status));
  message.set(http::field::server, "tidemark/" + std::string(Version()));
  if (!response.content_type.empty()) {
    message.set(http::field::content_type, response.content_type);
  }
  for (const auto& [name, value] : response.headers.fields()) message.insert(name, value);
  message.keep_alive(keep_alive);
  if (MayHaveBody(response.status)) message.content_length(response.body.size());
  // A HEAD answer announces the GET body's length but carries none.
  if (!head) message.body() = std::move(response.body);
  beast::error_code ec;
  stream.expires_after(options_.read_timeout);
  co_await http::async_write(stream, message, Capture(ec));
  co_return !ec;
}

asio::awaitable<void> Server::Impl::Drain() {
  beast::error_code ec;
  acceptor_.close(ec);
  signals_.cancel(ec);
  signals_.clear(ec);  // a second Ctrl-C gets the default action: stop now
  std::vector<uint64_t> open;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    for (const auto& [id, connection] : connections_) open.push_back(id);
  }
  for (uint64_t id : open) CloseIfIdle(id);
  if (open.empty()) co_return;

  // Cancelled early by the last connection's Registration.
  grace_timer_.expires_after(options_.shutdown_grace);
  co_await grace_timer_.async_wait(Capture(ec));
  if (ec) co_return;
  std::lock_guard lock(mu_);
  spdlog::warn("shutdown grace period over; abandoning {} connection(s)", connections_.size());
  ioc_.stop();
}

// Closes an idle connection from its own strand. A busy one finishes its request first and
// then sees stopping_.
void Server::Impl::CloseIfIdle(uint64_t id) {
  std::unique_lock lock(mu_);
  auto it = connections_.find(id);
  if (it == connections_.end()) return;
  auto executor = it->second->stream.get_executor();
  lock.unlock();
  asio::post(executor, [this, id] {
    std::lock_guard lock(mu_);
    auto it = connections_.find(id);  // still registered, so its coroutine is suspended
    if (it == connections_.end() || it->second->busy) return;
    it->second->stream.close();
  });
}

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Server::~Server() = default;

Result<std::unique_ptr<Server>> Server::Create(const ServerOptions& options, const Router& router) {
  if (options.io_threads < 1 || options.blocking_threads < 1) {
    return Status::InvalidArgument("io_threads and blocking_threads must be at least 1");
  }
  auto impl = std::make_unique<Impl>(options, router);
  TM_RETURN_IF_ERROR(impl->Listen());
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

uint16_t Server::port() const { return impl_->port_; }

void Server::Run() { impl_->Run(); }

void Server::Shutdown() { impl_->Shutdown(); }

}  // namespace tidemark::ui
