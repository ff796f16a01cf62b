#include "tidemark/ui/metrics.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <charconv>
#include <cmath>
#include <type_traits>

namespace tidemark::ui {
namespace {

// Request durations from sub-millisecond /health answers to multi-second ingests.
const std::vector<double> kHttpDurationBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                 0.1,    0.25,  0.5,    1,     2.5,  5,     10};

[[maybe_unused]] bool IsValidName(std::string_view name, bool allow_colon) {  // asserts only
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (allow_colon && c == ':') || (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

// Prometheus reads Go float syntax. to_chars without a precision gives the shortest text that
// reads back exactly; plain notation in the usual range keeps "0.0005" and "100" as people
// (and Prometheus' own clients) write them, rather than "5e-04" and "1e+02".
void AppendDouble(std::string& out, double value) {
  if (std::isnan(value)) {
    out += "NaN";
  } else if (std::isinf(value)) {
    out += value > 0 ? "+Inf" : "-Inf";
  } else {
    double magnitude = std::fabs(value);
    bool plain = magnitude == 0 || (magnitude >= 1e-4 && magnitude < 1e15);
    std::array<char, 64> buffer;
    auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value,
                                   plain ? std::chars_format::fixed : std::chars_format::general);
    out.append(buffer.data(), end);
  }
}

// HELP text escapes backslash and newline; label values also escape the double quote.
void AppendEscaped(std::string& out, std::string_view text, bool escape_quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' && escape_quote) {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

// `{a="x",b="y"}`, with an optional extra label (a histogram's `le`); nothing when empty.
void AppendLabels(std::string& out, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, std::string_view extra_name = {},
                  std::string_view extra_value = {}) {
  if (names.empty() && extra_name.empty()) return;
  out += '{';
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ',';
    out += names[i];
    out += "=\"";
    AppendEscaped(out, values[i], /*escape_quote=*/true);
    out += '"';
  }
  if (!extra_name.empty()) {
    if (!names.empty()) out += ',';
    out += extra_name;
    out += "=\"";
    out += extra_value;
    out += '"';
  }
  out += '}';
}

void AppendHeader(std::string& out, std::string_view name, std::string_view help,
                  std::string_view type) {
  out += "# HELP ";
  out += name;
  out += ' ';
  AppendEscaped(out, help, /*escape_quote=*/false);
  out += "\n# TYPE ";
  out += name;
  out += ' ';
  out += type;
  out += '\n';
}

void AppendSample(std::string& out, const std::string& name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, const Counter& counter) {
  out += name;
  AppendLabels(out, names, values);
  out += ' ';
  out += std::to_string(counter.value());
  out += '\n';
}

void AppendSample(std::string& out, const std::string& name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, const Gauge& gauge) {
  out += name;
  AppendLabels(out, names, values);
  out += ' ';
  AppendDouble(out, gauge.value());
  out += '\n';
}

void AppendSample(std::string& out, const std::string& name, const std::vector<std::string>& names,
                  const std::vector<std::string>& values, const Histogram& histogram) {
  Histogram::Snapshot snapshot = histogram.Read();
  const std::vector<double>& bounds = histogram.bounds();
  for (size_t i = 0; i <= bounds.size(); ++i) {
    std::string le;
    if (i < bounds.size()) {
      AppendDouble(le, bounds[i]);
    } else {
      le = "+Inf";
    }
    out += name;
    out += "_bucket";
    AppendLabels(out, names, values, "le", le);
    out += ' ';
    out += std::to_string(snapshot.cumulative[i]);
    out += '\n';
  }
  out += name;
  out += "_sum";
  AppendLabels(out, names, values);
  out += ' ';
  AppendDouble(out, snapshot.sum);
  out += '\n';
  out += name;
  out += "_count";
  AppendLabels(out, names, values);
  out += ' ';
  out += std::to_string(snapshot.count);
  out += '\n';
}

template <typename T>
constexpr std::string_view TypeName() {
  if constexpr (std::is_same_v<T, Counter>) return "counter";
  if constexpr (std::is_same_v<T, Gauge>) return "gauge";
  if constexpr (std::is_same_v<T, Histogram>) return "histogram";
}

// Methods outside this list are counted as "other": a client inventing methods must not be
// able to grow the label set without bound.
std::string_view MethodLabel(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",    "HEAD",    "POST", "PUT",
                                                "DELETE", "OPTIONS", "PATCH"};
  for (std::string_view known : kKnown) {
    if (method == known) return known;
  }
  return "other";
}

}  // namespace

Histogram::Histogram(const std::vector<double>& bounds)
    : bounds_(bounds), counts_(new std::atomic<uint64_t>[bounds.size() + 1]) {
  for (size_t i = 0; i <= bounds_.size(); ++i) counts_[i].store(0, std::memory_order_relaxed);
}

void Histogram::Observe(double value) {
  // Bucket i counts values <= bounds_[i] (Prometheus' "le"); the last one is +Inf.
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  counts_[i].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Read() const {
  // Buckets are read one by one while others may write; deriving the count from the same reads
  // keeps the rendering self-consistent (+Inf bucket == _count), which scrapers check.
  Snapshot snapshot;
  snapshot.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    snapshot.cumulative[i] = running;
  }
  snapshot.count = running;
  snapshot.sum = sum_.load(std::memory_order_relaxed);
  return snapshot;
}

template <typename T>
Family<T>::Family(std::string name, std::string help, std::vector<std::string> label_names,
                  std::vector<double> bounds)
    : name_(std::move(name)),
      help_(std::move(help)),
      label_names_(std::move(label_names)),
      bounds_(std::move(bounds)) {
  // A family without labels has exactly one child; creating it now renders it as 0 from the
  // start instead of leaving the family empty until first use.
  if (label_names_.empty()) WithLabels({});
}

template <typename T>
T& Family<T>::WithLabels(std::initializer_list<std::string_view> label_values) {
  assert(label_values.size() == label_names_.size());
  std::string key;
  for (std::string_view value : label_values) {
    key += value;
    key += '\xff';
  }
  std::lock_guard lock(mu_);
  auto it = children_.find(key);
  if (it == children_.end()) {
    std::vector<std::string> values(label_values.begin(), label_values.end());
    if constexpr (std::is_same_v<T, Histogram>) {
      it = children_.try_emplace(std::move(key), std::move(values), bounds_).first;
    } else {
      it = children_.try_emplace(std::move(key), std::move(values)).first;
    }
  }
  return it->second.metric;
}

template <typename T>
void Family<T>::Render(std::string& out) const {
  AppendHeader(out, name_, help_, TypeName<T>());
  std::lock_guard lock(mu_);
  for (const auto& [key, child] : children_) {
    AppendSample(out, name_, label_names_, child.label_values, child.metric);
  }
}

template class Family<Counter>;
template class Family<Gauge>;
template class Family<Histogram>;

template <typename T>
Family<T>& Registry::Adopt(std::unique_ptr<Family<T>> family) {
  assert(IsValidName(family->name(), /*allow_colon=*/true));
  for ([[maybe_unused]] const std::string& label : family->label_names()) {
    assert(IsValidName(label, /*allow_colon=*/false) && label != "le");
  }
  Family<T>& ref = *family;
  std::lock_guard lock(mu_);
  families_.push_back(std::move(family));
  return ref;
}

Family<Counter>& Registry::AddCounter(std::string name, std::string help,
                                      std::vector<std::string> label_names) {
  return Adopt(
      std::make_unique<Family<Counter>>(std::move(name), std::move(help), std::move(label_names)));
}

Family<Gauge>& Registry::AddGauge(std::string name, std::string help,
                                  std::vector<std::string> label_names) {
  return Adopt(
      std::make_unique<Family<Gauge>>(std::move(name), std::move(help), std::move(label_names)));
}

Family<Histogram>& Registry::AddHistogram(std::string name, std::string help,
                                          std::vector<std::string> label_names,
                                          std::vector<double> bounds) {
  assert(std::is_sorted(bounds.begin(), bounds.end()));
  return Adopt(std::make_unique<Family<Histogram>>(std::move(name), std::move(help),
                                                   std::move(label_names), std::move(bounds)));
}

std::string Registry::Render() const {
  std::string out;
  std::lock_guard lock(mu_);
  for (const auto& family : families_) family->Render(out);
  return out;
}

Metrics::Metrics(std::string_view version)
    : http_requests_(registry_.AddCounter("tidemark_http_requests_total",
                                          "HTTP requests answered, by route pattern, method and "
                                          "status.",
                                          {"route", "method", "status"})),
      http_duration_(registry_.AddHistogram(
          "tidemark_http_request_duration_seconds",
          "Time from reading a request's header to its response being ready, by route pattern.",
          {"route"}, kHttpDurationBounds)),
      store_operations_(registry_.AddCounter("tidemark_store_operations_total",
                                             "Catalog store calls, by operation and result.",
                                             {"op", "result"})),
      ingest_records_(registry_.AddCounter("tidemark_ingest_records_total",
                                           "Records received from sources, by source and outcome.",
                                           {"source", "outcome"})),
      alert_deliveries_(registry_.AddCounter(
          "tidemark_alert_deliveries_total",
          "Alert delivery attempts by this process's dispatcher, by outcome (delivered, retried).",
          {"outcome"})),
      alert_dead_letters_(registry_.AddCounter(
          "tidemark_alert_dead_letters_total",
          "Alerts this process's dispatcher gave up on (dead letters).")),
      alerts_(registry_.AddGauge("tidemark_alerts",
                                 "Alerts in the outbox by state (pending, delivered, dead), as "
                                 "stored; refreshed with the store probe.",
                                 {"state"})),
      detection_runs_(registry_.AddCounter("tidemark_detection_runs_total",
                                           "Scheduled detection runs finished, by result (ok, "
                                           "failed).",
                                           {"result"})),
      detection_anomalies_(registry_.AddCounter(
          "tidemark_detection_anomalies_total",
          "Anomalies the scheduled detection runs recorded for the first time.")),
      detection_last_success_(registry_.AddGauge(
          "tidemark_detection_last_success_timestamp_seconds",
          "Unix time at which the last successful detection run finished.")),
      detection_last_seconds_(registry_.AddGauge(
          "tidemark_detection_last_run_seconds",
          "How long the last successful detection run took.")) {
  for (std::string_view result : {"ok", "failed"}) detection_runs_.WithLabels({result});
  for (std::string_view outcome : {"delivered", "retried"}) {
    alert_deliveries_.WithLabels({outcome});
  }
  for (std::string_view state : {"pending", "delivered", "dead"}) alerts_.WithLabels({state});
  registry_.AddGauge("tidemark_build_info", "Build information; always 1.", {"version"})
      .WithLabels({version})
      .Set(1);
  registry_.AddGauge("tidemark_up", "1 while the service is running.").Get().Set(1);
}

void Metrics::RecordHttpRequest(std::string_view route, std::string_view method, int status,
                                std::chrono::duration<double> elapsed) {
  std::array<char, 8> status_text;
  auto [end, ec] =
      std::to_chars(status_text.data(), status_text.data() + status_text.size(), status);
  http_requests_
      .WithLabels({route, MethodLabel(method),
                   std::string_view(status_text.data(), end - status_text.data())})
      .Increment();
  http_duration_.WithLabels({route}).Observe(elapsed.count());
}

void Metrics::RecordStoreOperation(std::string_view op, const model::Status& status) {
  std::string_view result = status.ok() ? "ok" : model::StatusCodeName(status.code());
  store_operations_.WithLabels({op, result}).Increment();
}

void Metrics::RecordIngestRecords(std::string_view source, std::string_view outcome,
                                  uint64_t count) {
  ingest_records_.WithLabels({source, outcome}).Increment(count);
}

void Metrics::RecordAlertDeliveries(uint64_t delivered, uint64_t retried, uint64_t dead) {
  alert_deliveries_.WithLabels({"delivered"}).Increment(delivered);
  alert_deliveries_.WithLabels({"retried"}).Increment(retried);
  alert_dead_letters_.Get().Increment(dead);
}

void Metrics::SetAlertOutbox(long long pending, long long delivered, long long dead) {
  alerts_.WithLabels({"pending"}).Set(static_cast<double>(pending));
  alerts_.WithLabels({"delivered"}).Set(static_cast<double>(delivered));
  alerts_.WithLabels({"dead"}).Set(static_cast<double>(dead));
}

void Metrics::RecordDetectionRun(bool ok, std::chrono::system_clock::time_point finished,
                                 double elapsed_seconds, long long new_anomalies) {
  detection_runs_.WithLabels({ok ? "ok" : "failed"}).Increment();
  if (!ok) return;
  detection_anomalies_.Get().Increment(static_cast<uint64_t>(std::max(0LL, new_anomalies)));
  detection_last_success_.Get().Set(
      std::chrono::duration<double>(finished.time_since_epoch()).count());
  detection_last_seconds_.Get().Set(elapsed_seconds);
}

}  // namespace tidemark::ui
