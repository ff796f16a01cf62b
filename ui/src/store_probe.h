#pragma once

// StoreProbe: keeps an in-memory view of the store's health so /health never waits on the
// database. A background thread pings the store every `interval` (and reads the schema version
// until it has one); Latest() returns the most recent reading. Each probe is counted in
// tidemark_store_operations_total{op="ping"}. A probe of a reachable store also refreshes the
// outbox gauges (tidemark_alerts{state}, Store::CountAlerts).
//
// Thread-safe. `store` and `metrics` must outlive the StoreProbe.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>

#include "tidemark/catalog/store.h"
#include "tidemark/ui/metrics.h"

namespace tidemark::ui {

class StoreProbe {
 public:
  struct Reading {
    bool reachable = false;
    std::optional<int> schema_version;
    std::string error;  // why the store is unreachable; empty when reachable
  };

  // Probes once before returning, so Latest() is meaningful at once, then starts the thread.
  StoreProbe(catalog::Store& store, Metrics& metrics, std::chrono::milliseconds interval);
  // Stops the thread, waiting for a probe in progress.
  ~StoreProbe();
  StoreProbe(const StoreProbe&) = delete;
  StoreProbe& operator=(const StoreProbe&) = delete;

  Reading Latest() const;

 private:
  void Probe();
  void Loop(std::stop_token stop);

  catalog::Store& store_;
  Metrics& metrics_;
  const std::chrono::milliseconds interval_;
  mutable std::mutex mu_;
  Reading latest_;  // guarded by mu_
  std::condition_variable_any wake_;
  std::jthread thread_;  // last: started once everything above exists
};

}  // namespace tidemark::ui
