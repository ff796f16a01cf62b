#pragma once

// Prometheus metrics: a small registry of counters, gauges and fixed-bucket histograms with
// labels, rendered in the text exposition format 0.0.4, and Metrics, the set Tidemark exports.
//
// Thread-safety: everything here is safe to use from many threads. Updating a metric you hold
// is lock-free (relaxed atomics); finding a labelled child takes its family's mutex briefly,
// so hot paths that update the same child repeatedly may keep the reference. Registration
// (Registry::Add*) should happen at start-up; it is locked too, but a family added while
// another thread renders may or may not appear in that rendering.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/model/status.h"

namespace tidemark::ui {

// A count that only goes up.
class Counter {
 public:
  void Increment(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

// A value that goes up and down.
class Gauge {
 public:
  void Set(double value) { value_.store(value, std::memory_order_relaxed); }
  void Add(double delta) { value_.fetch_add(delta, std::memory_order_relaxed); }
  double value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// Observations counted into fixed buckets (upper bounds, ascending) plus +Inf, with their sum.
class Histogram {
 public:
  // REQUIRES: `bounds` ascending, finite; it must outlive the Histogram (its family owns it).
  explicit Histogram(const std::vector<double>& bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf
    double sum = 0;
    uint64_t count = 0;  // == cumulative.back()
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

 private:
  const std::vector<double>& bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;  // bounds_.size() + 1, not cumulative
  std::atomic<double> sum_{0};
};

// What a Registry holds: any family, rendered by name.
class MetricFamily {
 public:
  virtual ~MetricFamily() = default;
  // Appends this family in the text exposition format.
  virtual void Render(std::string& out) const = 0;
};

// One metric name with its label names, and a child metric per combination of label values.
// T is Counter, Gauge or Histogram.
template <typename T>
class Family final : public MetricFamily {
 public:
  Family(std::string name, std::string help, std::vector<std::string> label_names,
         std::vector<double> bounds = {});
  Family(const Family&) = delete;
  Family& operator=(const Family&) = delete;

  // The child for `label_values` (one per label name, in order), created at zero on first
  // use. The reference stays valid as long as the family. Label values may be any UTF-8 text;
  // they are escaped when rendered.
  // REQUIRES: label_values.size() == label_names().size().
  T& WithLabels(std::initializer_list<std::string_view> label_values);
  // The child of a family declared without labels.
  T& Get() { return WithLabels({}); }

  const std::string& name() const { return name_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  void Render(std::string& out) const override;

 private:
  struct Child {
    template <typename... Args>
    explicit Child(std::vector<std::string> values, Args&&... args)
        : label_values(std::move(values)), metric(std::forward<Args>(args)...) {}
    std::vector<std::string> label_values;
    T metric;
  };

  const std::string name_;
  const std::string help_;
  const std::vector<std::string> label_names_;
  const std::vector<double> bounds_;  // histograms only
  mutable std::mutex mu_;
  // Keyed by the label values joined with '\xff' (never valid inside UTF-8 text); a std::map
  // keeps nodes in place and renders children in a stable order.
  std::map<std::string, Child, std::less<>> children_;
};

// Families in registration order, rendered together.
class Registry {
 public:
  // Each Add returns a family owned by the registry, valid as long as it.
  // REQUIRES: `name` is a valid, unused metric name; label names are valid and not "le".
  Family<Counter>& AddCounter(std::string name, std::string help,
                              std::vector<std::string> label_names = {});
  Family<Gauge>& AddGauge(std::string name, std::string help,
                          std::vector<std::string> label_names = {});
  Family<Histogram>& AddHistogram(std::string name, std::string help,
                                  std::vector<std::string> label_names, std::vector<double> bounds);

  // Every family in text exposition format 0.0.4 ("# HELP", "# TYPE", samples).
  std::string Render() const;

 private:
  template <typename T>
  Family<T>& Adopt(std::unique_ptr<Family<T>> family);

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<MetricFamily>> families_;
};

// The metrics Tidemark exports at /metrics:
//   tidemark_http_requests_total{route,method,status}
//   tidemark_http_request_duration_seconds{route} (histogram)
//   tidemark_store_operations_total{op,result}
//   tidemark_ingest_records_total{source,outcome}
//   tidemark_build_info{version} 1
//   tidemark_up 1
// Later modules add their own families through registry(). Thread-safe.
class Metrics {
 public:
  explicit Metrics(std::string_view version);

  // `route` is the route pattern or "unmatched"; an unusual method is counted as "other".
  void RecordHttpRequest(std::string_view route, std::string_view method, int status,
                         std::chrono::duration<double> elapsed);
  // `op` names the Store call ("write", "get_asset", "ping"); result is "ok" or the failed
  // status's code name ("unavailable", "not_found", ...).
  void RecordStoreOperation(std::string_view op, const model::Status& status);
  // `outcome`: "written", "unchanged", "rejected", ...
  void RecordIngestRecords(std::string_view source, std::string_view outcome, uint64_t count);

  // The alert dispatcher's outcomes in this process: `delivered` and `retried` add to
  // tidemark_alert_deliveries_total{outcome}, `dead` to tidemark_alert_dead_letters_total
  // (alerts given up on: visible in GET /api/v1/alerts?state=dead).
  void RecordAlertDeliveries(uint64_t delivered, uint64_t retried, uint64_t dead);
  // The outbox as the store holds it (all instances): tidemark_alerts{state}.
  void SetAlertOutbox(long long pending, long long delivered, long long dead);
  // One finished run of the scheduled detection job: tidemark_detection_runs_total{result};
  // a successful one also sets tidemark_detection_last_success_timestamp_seconds (the wall
  // clock at `finished`) and tidemark_detection_last_run_seconds, and adds its new anomalies
  // to tidemark_detection_anomalies_total.
  void RecordDetectionRun(bool ok, std::chrono::system_clock::time_point finished,
                          double elapsed_seconds, long long new_anomalies);

  Registry& registry() { return registry_; }
  std::string Render() const { return registry_.Render(); }

 private:
  Registry registry_;
  Family<Counter>& http_requests_;
  Family<Histogram>& http_duration_;
  Family<Counter>& store_operations_;
  Family<Counter>& ingest_records_;
  Family<Counter>& alert_deliveries_;
  Family<Counter>& alert_dead_letters_;
  Family<Gauge>& alerts_;
  Family<Counter>& detection_runs_;
  Family<Counter>& detection_anomalies_;
  Family<Gauge>& detection_last_success_;
  Family<Gauge>& detection_last_seconds_;
};

}  // namespace tidemark::ui
