#include "tidemark/pipeline/scheduler.h"

#include <spdlog/spdlog.h>

#include <condition_variable>
#include <mutex>
#include <thread>

namespace tidemark::pipeline {

struct Scheduler::State {
  State(catalog::Store& s, const model::Clock& c, const RoutingConfig& r, SchedulerOptions o)
      : store(s), clock(c), routing(r), options(std::move(o)),
        deliverer(s, c, r, options.delivery) {}

  void Loop() {
    using Steady = std::chrono::steady_clock;
    Steady::time_point next_detect = Steady::now();
    Steady::time_point next_deliver = Steady::now();
    std::unique_lock lock(mu);
    while (!stop) {
      const Steady::time_point now = Steady::now();
      if (options.run_detection && now >= next_detect) {
        lock.unlock();
        Detect();
        lock.lock();
        next_detect = Steady::now() + options.detect_interval;
        continue;
      }
      if (now >= next_deliver) {
        lock.unlock();
        Deliver();
        lock.lock();
        next_deliver = Steady::now() + options.deliver_interval;
        continue;
      }
      Steady::time_point wake = next_deliver;
      if (options.run_detection) wake = std::min(wake, next_detect);
      cv.wait_until(lock, wake, [&] { return stop; });
    }
  }

  void Detect() {
    auto detection = RunDetection(store, clock, options.detection);
    if (!detection.ok()) {
      spdlog::error("detection failed: {}", detection.status().ToString());
      return;
    }
    if (detection->anomalies_new > 0 || detection->warnings > 0) {
      spdlog::info("detection: {}", detection->ToJson());
    }
    auto incidents = UpdateIncidents(store, clock, routing, options.incidents);
    if (!incidents.ok()) {
      spdlog::error("incident update failed: {}", incidents.status().ToString());
      return;
    }
    if (incidents->alerts_enqueued > 0) spdlog::info("incidents: {}", incidents->ToJson());
  }

  void Deliver() {
    auto stats = deliverer.Drain(100);
    if (!stats.ok()) {
      spdlog::error("alert delivery failed: {}", stats.status().ToString());
      return;
    }
    if (options.on_delivery) options.on_delivery(*stats);
    if (stats->claimed > 0) spdlog::info("alerts: {}", stats->ToJson());
  }

  catalog::Store& store;
  const model::Clock& clock;
  const RoutingConfig& routing;
  SchedulerOptions options;
  Deliverer deliverer;
  std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;
};

Scheduler::Scheduler(catalog::Store& store, const model::Clock& clock,
                     const RoutingConfig& routing, SchedulerOptions options)
    : state_(std::make_unique<State>(store, clock, routing, std::move(options))) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  if (state_->thread.joinable()) return;
  state_->stop = false;
  state_->thread = std::thread([s = state_.get()] { s->Loop(); });
}

void Scheduler::Stop() {
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

}  // namespace tidemark::pipeline
