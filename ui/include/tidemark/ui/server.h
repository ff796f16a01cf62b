#pragma once

// Server: Tidemark's HTTP/1.1 server (Boost.Beast, C++20 coroutines), hidden behind this
// interface so no other file pays for Beast.
//
// Each connection is one coroutine that owns its socket and serves requests in turn
// (keep-alive, pipelining in order). Every read has a deadline (read_timeout, for a request's
// header and body together) and limits (header_limit_bytes; body_limit_bytes, answered with a
// 413 JSON error). Requests go to Router::Match and Router::Handle: handlers of routes marked
// `blocking` run on a separate pool of threads, the rest on the I/O threads.
//
// Shutdown (Shutdown(), or SIGINT/SIGTERM when handle_signals) is graceful: the server stops
// accepting, closes connections that are idle between requests, lets in-flight requests
// finish and answers them with "Connection: close"; whatever is still running when
// shutdown_grace has passed is abandoned and Run() returns.
//
// Thread-safety: Shutdown() and port() are safe from any thread; Run() is called once.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "tidemark/model/status.h"

namespace tidemark::ui {

class Router;

struct ServerOptions {
  std::string host = "127.0.0.1";  // an address or a name that resolves to one
  uint16_t port = 8080;            // 0 picks a free port; see Server::port()
  int io_threads = 2;
  // For routes marked `blocking`: they mostly wait on the store, so one thread per request
  // in flight. Idle threads cost only their stacks. (Deferred routes, such as the
  // OpenLineage endpoint's group commit, hold no thread while they wait.)
  int blocking_threads = 64;
  size_t body_limit_bytes = 8 << 20;
  size_t header_limit_bytes = 16 << 10;
  std::chrono::milliseconds read_timeout{30'000};
  std::chrono::milliseconds shutdown_grace{10'000};
  bool handle_signals = true;  // SIGINT and SIGTERM start a graceful shutdown
};

class Server {
 public:
  // Binds and listens (connections queue until Run()). Unavailable when the address cannot be
  // resolved or bound; InvalidArgument for a non-positive thread count. `router` must outlive
  // the Server and must not change once Run() has started.
  static model::Result<std::unique_ptr<Server>> Create(const ServerOptions& options,
                                                       const Router& router);

  // Waits for blocking handlers that are still running (even past the grace period).
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The bound port: the one the system chose when options.port was 0.
  uint16_t port() const;

  // Serves on options.io_threads threads (this one included) until shutdown completes.
  // REQUIRES: called at most once.
  void Run();

  // Starts a graceful shutdown and returns at once. Idempotent; may be called before Run(),
  // which then returns as soon as it has nothing left to do.
  void Shutdown();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace tidemark::ui
