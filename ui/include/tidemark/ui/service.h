#pragma once

// Service: the running Tidemark service — the HTTP server, its router and metrics, and the
// operational endpoints every deployment needs:
//
//   GET /health   200 {"status":"ok","version":"0.1.0","store":{"kind":"sqlite",
//                 "url":"sqlite:./tidemark.db","schema_version":1,"reachable":true},
//                 "uptime_s":12}, or 503 with "status":"unavailable" when the store does not
//                 answer. The store URL is redacted.
//   GET /metrics  Prometheus text exposition (text/plain; version=0.0.4).
//
// /health never touches the database on the request path: a background thread pings the
// store every probe_interval and /health reports the latest result from memory, so it stays
// the cheap in-memory path load balancers and benchmarks hammer. A store that goes down is
// therefore reported at most one interval late.
//
// Later modules add their routes through router() before Run().
//
// Thread-safety: Shutdown() and port() are safe from any thread; router() must only be used
// before Run(); Run() is called once.

#include <chrono>
#include <cstdint>
#include <memory>

#include "tidemark/catalog/store.h"
#include "tidemark/model/status.h"
#include "tidemark/ui/config.h"
#include "tidemark/ui/metrics.h"
#include "tidemark/ui/router.h"
#include "tidemark/ui/server.h"

namespace tidemark::ui {

struct ServiceOptions {
  ServerOptions server;
  std::chrono::milliseconds probe_interval{1000};  // how fresh /health's view of the store is
};

// Server settings from a validated Config (listen, body limit, timeouts).
// InvalidArgument when config.listen is not host:port.
model::Result<ServiceOptions> ServiceOptionsFrom(const Config& config);

class Service {
 public:
  // Probes the store once, registers the endpoints and binds the listening socket.
  // Unavailable when the address cannot be bound. `store` must outlive the Service.
  static model::Result<std::unique_ptr<Service>> Create(catalog::Store& store,
                                                        const ServiceOptions& options);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // For adding routes and middleware. REQUIRES: before Run().
  Router& router();
  // Valid as long as the Service; thread-safe.
  Metrics& metrics();
  // The bound port (the system's choice when the options asked for 0).
  uint16_t port() const;

  // Serves until a graceful shutdown (SIGINT/SIGTERM when the options handle signals, or
  // Shutdown()) completes. REQUIRES: called at most once.
  void Run();
  // Starts a graceful shutdown; returns at once. Idempotent.
  void Shutdown();

 private:
  struct State;
  explicit Service(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace tidemark::ui
