#include "tidemark/pipeline/scheduler.h"

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <set>
#include <stop_token>
#include <thread>

namespace tidemark::pipeline {
namespace {

// Lowers the calling thread's CPU priority (Linux: a thread's nice value is its own, and the
// threads it starts inherit it). Detection is batch work: on a busy machine it should yield to
// the requests the service answers.
void RunInBackground(int nice) {
  if (nice <= 0) return;
  const auto tid = static_cast<id_t>(::gettid());
  if (::setpriority(PRIO_PROCESS, tid, nice) != 0) {
    spdlog::debug("detection keeps its CPU priority: setpriority: {}", std::strerror(errno));
  }
}

}  // namespace

struct Scheduler::State {
  State(catalog::Store& s, const model::Clock& c, const RoutingConfig& r, SchedulerOptions o)
      : store(s), clock(c), routing(r), options(std::move(o)),
        deliverer(s, c, r, options.delivery) {}

  // Runs `step` now, then again `interval` after each run ends, until `stop`.
  template <typename Step>
  void Every(std::chrono::milliseconds interval, std::stop_token stop, Step step) {
    while (!stop.stop_requested()) {
      step(stop);
      std::unique_lock lock(mu);
      cv.wait_for(lock, stop, interval, [] { return false; });
    }
  }

  // The detection thread: a periodic run over every asset now and `detect_interval` after
  // each, and between them runs over the assets ScoreSoon() named.
  void DetectLoop(std::stop_token stop) {
    using Clock = std::chrono::steady_clock;
    Clock::time_point next_periodic = Clock::now();
    while (!stop.stop_requested()) {
      std::vector<model::AssetKey> assets;  // empty: every asset
      {
        std::unique_lock lock(mu);
        const bool requested = cv.wait_until(lock, stop, next_periodic, [&] {
          return !pending.empty() || pending_overflow;
        });
        if (stop.stop_requested()) return;
        if (requested && !pending_overflow && Clock::now() < next_periodic) {
          // Let the burst that asked go on for a moment, so that it makes one run.
          cv.wait_for(lock, stop, options.score_settle, [] { return false; });
          if (stop.stop_requested()) return;
          if (!pending_overflow) assets.assign(pending.begin(), pending.end());
        }
        pending.clear();
        pending_overflow = false;
      }
      const bool periodic = assets.empty();
      Detect(stop, std::move(assets));
      if (periodic) next_periodic = Clock::now() + options.detect_interval;
    }
  }

  void Detect(std::stop_token stop, std::vector<model::AssetKey> assets) {
    DetectionOptions detection_options = options.detection;
    detection_options.stop = stop;
    if (!assets.empty()) detection_options.assets = std::move(assets);
    auto detection = RunDetection(store, clock, detection_options);
    // A run that Stop() cut short is neither a failure nor a result: it is not reported.
    if (!detection.ok() && stop.stop_requested()) return;
    if (options.on_detection) options.on_detection(detection);
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

  void Request(const std::vector<model::AssetKey>& assets) {
    {
      std::lock_guard lock(mu);
      if (pending_overflow) return;
      pending.insert(assets.begin(), assets.end());
      if (pending.size() > options.score_max_assets) {
        pending.clear();
        pending_overflow = true;
      }
    }
    cv.notify_all();
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
  std::condition_variable_any cv;
  // Guarded by mu: the assets ScoreSoon() asked for since the last run began, or overflow
  // (too many: the next run is over every asset).
  std::set<model::AssetKey> pending;
  bool pending_overflow = false;
  // Two threads: a detection run over a large catalog takes minutes, and alerts must not wait
  // for it.
  std::jthread detect_thread;
  std::jthread deliver_thread;
};

Scheduler::Scheduler(catalog::Store& store, const model::Clock& clock,
                     const RoutingConfig& routing, SchedulerOptions options)
    : state_(std::make_unique<State>(store, clock, routing, std::move(options))) {}

Scheduler::~Scheduler() { Stop(); }

void Scheduler::Start() {
  State& s = *state_;
  if (s.deliver_thread.joinable()) return;
  if (s.options.run_detection) {
    s.detect_thread = std::jthread([&s](std::stop_token stop) {
      RunInBackground(s.options.detection_nice);
      s.DetectLoop(stop);
    });
  }
  s.deliver_thread = std::jthread([&s](std::stop_token stop) {
    s.Every(s.options.deliver_interval, stop, [&s](std::stop_token) { s.Deliver(); });
  });
}

void Scheduler::ScoreSoon(const std::vector<model::AssetKey>& assets) {
  if (!state_->options.run_detection || assets.empty()) return;
  state_->Request(assets);
}

void Scheduler::Stop() {
  State& s = *state_;
  s.detect_thread.request_stop();
  s.deliver_thread.request_stop();
  if (s.detect_thread.joinable()) s.detect_thread.join();
  if (s.deliver_thread.joinable()) s.deliver_thread.join();
}

}  // namespace tidemark::pipeline
