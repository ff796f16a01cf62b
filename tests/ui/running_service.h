#pragma once

// RunningService: a Service over `store` listening on a free loopback port, run on its own
// thread until the object goes away. For tests that speak real HTTP to the routes they add.

#include <gtest/gtest.h>

#include <memory>
#include <thread>

#include "tidemark/ui/service.h"

namespace tidemark::test {

class RunningService {
 public:
  // `add_routes(router)` registers the routes under test before the server starts.
  template <typename AddRoutes>
  RunningService(catalog::Store& store, AddRoutes add_routes) {
    ui::ServiceOptions options;
    options.server.host = "127.0.0.1";
    options.server.port = 0;
    options.server.handle_signals = false;
    auto service = ui::Service::Create(store, options);
    if (!service.ok()) {
      ADD_FAILURE() << service.status().ToString();
      return;
    }
    service_ = std::move(*service);
    add_routes(service_->router());
    thread_ = std::thread([this] { service_->Run(); });
  }
  explicit RunningService(catalog::Store& store) : RunningService(store, [](ui::Router&) {}) {}
  ~RunningService() {
    if (service_) service_->Shutdown();
    if (thread_.joinable()) thread_.join();
  }
  RunningService(const RunningService&) = delete;
  RunningService& operator=(const RunningService&) = delete;

  uint16_t port() const { return service_ ? service_->port() : 0; }

 private:
  std::unique_ptr<ui::Service> service_;
  std::thread thread_;
};

}  // namespace tidemark::test
