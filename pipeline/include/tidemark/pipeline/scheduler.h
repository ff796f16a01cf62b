#pragma once

// Scheduler: the service's periodic work on two background threads. Every `detect_interval`
// one runs the detection job and then incident grouping (RunDetection, UpdateIncidents), at a
// lower CPU priority; every `deliver_interval` the other drains the due alerts of the outbox
// (Deliverer), so alerts do not wait for a long detection run. A failure is logged and
// retried at the next tick; it never stops a thread. Stop() interrupts a detection run
// between two chunks of assets.
//
// Between periodic runs, ScoreSoon() asks for some assets to be scored now: what an ingest or
// a collection just wrote (the service calls it from the store's commit observer). Requests
// are gathered for `score_settle`, so that a burst of ingest makes one run, and then scored
// together (with incident grouping) in a run over those assets only. Requests made while a
// run goes on wait for the next one; a periodic run takes every request made before it began.
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
#include <vector>

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
  // ScoreSoon: how long requests are gathered before their run, and how many assets may
  // wait (beyond that the next run is a periodic run over every asset).
  std::chrono::milliseconds score_settle = std::chrono::seconds(1);
  size_t score_max_assets = 100000;
  // Called on the delivery thread with each delivery round's stats (e.g. for /metrics).
  std::function<void(const DeliveryStats&)> on_delivery;
  // Called on the detection thread after each detection run, failed or not (a run that
  // Stop() interrupted is not reported).
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
  // Asks for `assets` to be scored soon (see above). Thread-safe and quick; a no-op when
  // detection is off or `assets` is empty.
  void ScoreSoon(const std::vector<model::AssetKey>& assets);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tidemark::pipeline
