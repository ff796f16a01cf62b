#pragma once

// Scheduler: the service's periodic work on two background threads. Every `detect_interval`
// one runs the detection job and then incident grouping (RunDetection, UpdateIncidents), at a
// lower CPU priority; every `deliver_interval` the other drains the due alerts of the outbox
// (Deliverer), so alerts do not wait for a long detection run. A failure is logged and
// retried at the next tick; it never stops a thread. Stop() interrupts a detection run
// between two chunks of assets.
//
// Several instances may run schedulers on one PostgreSQL store: delivery is coordinated by
// the outbox's leases; detection is idempotent (duplicate work, same records); incident
// grouping is guarded by a version (incidents.h), so concurrent groupers open no duplicates.
//
// Thread-safety: Start/Stop from one thread. `store`, `clock` and `routing` are borrowed and
// must outlive the Scheduler (its destructor stops it).

#include <chrono>
#include <functional>
#include <memory>

#include "tidemark/catalog/store.h"
#include "tidemark/model/clock.h"
#include "tidemark/pipeline/deliverer.h"
#include "tidemark/pipeline/detection.h"
#include "tidemark/pipeline/incidents.h"
#include "tidemark/pipeline/routing.h"

namespace tidemark::pipeline {

struct SchedulerOptions {
  bool run_detection = true;
  std::chrono::milliseconds detect_interval = std::chrono::minutes(5);
  std::chrono::milliseconds deliver_interval = std::chrono::seconds(2);
  DetectionOptions detection;
  IncidentOptions incidents;
  DelivererOptions delivery;
  // Nice value of the detection thread and its scoring threads (0: the service's own).
  int detection_nice = 10;
  // Called on the delivery thread with each delivery round's stats (e.g. for /metrics).
  std::function<void(const DeliveryStats&)> on_delivery;
  // Called on the detection thread after each detection run, failed or not.
  std::function<void(const model::Result<DetectionSummary>&)> on_detection;
};

class Scheduler {
 public:
  Scheduler(catalog::Store& store, const model::Clock& clock, const RoutingConfig& routing,
            SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  // Starts the threads; the first detection and delivery run at once.
  void Start();
  // Asks the threads to stop (a detection run stops after its current chunk) and waits.
  void Stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tidemark::pipeline
