#include "tidemark/pipeline/backtest.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "csv_reader.h"
#include "tidemark/detectors/detector.h"
#include "tidemark/detectors/freshness.h"
#include "tidemark/detectors/volume.h"
#include "tidemark/model/metric.h"

namespace tidemark::pipeline {
namespace {

using model::Status;

constexpr std::array<std::string_view, 4> kColumns = {"key", "metric", "timestamp", "value"};

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// One series being read: its key as written, and its points in file order.
struct Input {
  std::string key;
  model::Series series;
};

class Reader {
 public:
  Reader(std::istream& in, std::string_view name) : csv_(in), name_(name) {}

  Status ReadAll(std::vector<Input>& out, long long& rows, model::Timestamp& latest);

 private:
  Status Error(int line, const std::string& reason) const {
    return Status::InvalidArgument(name_ + ":" + std::to_string(line) + ": " + reason);
  }
  Status ReadHeader();

  CsvReader csv_;
  std::string name_;
  std::array<size_t, 4> column_{};  // index of key, metric, timestamp, value in a record
  size_t width_ = 0;
};

Status Reader::ReadHeader() {
  std::vector<std::string> fields;
  Status error;
  if (!csv_.Next(fields, error)) {
    return error.ok() ? Error(1, "empty file: expected a header key,metric,timestamp,value")
                      : Error(csv_.line(), error.message());
  }
  width_ = fields.size();
  for (size_t c = 0; c < kColumns.size(); ++c) {
    auto it = std::find_if(fields.begin(), fields.end(),
                           [&](const std::string& f) { return Lower(Trim(f)) == kColumns[c]; });
    if (it == fields.end()) {
      return Error(csv_.line(), "header has no '" + std::string(kColumns[c]) +
                                    "' column (expected key,metric,timestamp,value)");
    }
    column_[c] = static_cast<size_t>(it - fields.begin());
  }
  return Status::Ok();
}

Status Reader::ReadAll(std::vector<Input>& out, long long& rows, model::Timestamp& latest) {
  if (Status s = ReadHeader(); !s.ok()) return s;
  std::map<std::pair<std::string, std::string>, size_t> index;
  std::vector<std::string> fields;
  Status error;
  bool any = false;
  while (csv_.Next(fields, error)) {
    const int line = csv_.line();
    if (fields.size() == 1 && Trim(fields[0]).empty()) continue;  // a blank line
    if (fields.size() != width_) {
      return Error(line, "expected " + std::to_string(width_) + " fields, found " +
                             std::to_string(fields.size()));
    }
    std::string key = Trim(fields[column_[0]]);
    std::string metric = Trim(fields[column_[1]]);
    const std::string& when = fields[column_[2]];
    std::string value_text = Trim(fields[column_[3]]);
    if (key.empty()) return Error(line, "empty key");
    if (metric.empty()) return Error(line, "empty metric");
    std::optional<model::Timestamp> ts = model::ParseTimestamp(when);
    if (!ts) return Error(line, "timestamp '" + when + "' is not ISO-8601");
    double value = 1;
    const bool update = metric == model::kMetricUpdate;
    if (!(update && value_text.empty())) {
      char* end = nullptr;
      value = std::strtod(value_text.c_str(), &end);
      if (value_text.empty() || end != value_text.c_str() + value_text.size() ||
          !std::isfinite(value)) {
        return Error(line, "value '" + value_text + "' is not a finite number");
      }
    }
    auto [it, added] = index.try_emplace({key, metric}, out.size());
    if (added) {
      Input input;
      input.key = key;
      std::optional<model::AssetKey> asset = model::AssetKey::Parse(key);
      input.series.asset = asset ? *asset : model::AssetKey{"", key};
      input.series.metric = metric;
      out.push_back(std::move(input));
    }
    model::Series& s = out[it->second].series;
    s.ts.push_back(*ts);
    s.values.push_back(value);
    latest = any ? std::max(latest, *ts) : *ts;
    any = true;
    ++rows;
  }
  if (!error.ok()) return Error(csv_.line(), error.message());
  // Series in key and metric order; points in time order (stable: of two rows at one time,
  // the later row stands for it).
  std::sort(out.begin(), out.end(), [](const Input& a, const Input& b) {
    return std::tie(a.key, a.series.metric) < std::tie(b.key, b.series.metric);
  });
  for (Input& input : out) {
    model::Series& s = input.series;
    if (std::is_sorted(s.ts.begin(), s.ts.end())) continue;
    std::vector<size_t> order(s.ts.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](size_t a, size_t b) { return s.ts[a] < s.ts[b]; });
    model::Series sorted = s;
    for (size_t i = 0; i < order.size(); ++i) {
      sorted.ts[i] = s.ts[order[i]];
      sorted.values[i] = s.values[order[i]];
    }
    s = std::move(sorted);
  }
  return Status::Ok();
}

std::unique_ptr<detectors::Detector> DetectorFor(std::string_view metric,
                                                 const BacktestOptions& options) {
  if (metric == model::kMetricUpdate) {
    detectors::FreshnessSettings settings;
    settings.warn_after = options.warn_after;
    settings.error_after = options.error_after;
    if (options.check_interval.count() > 0) settings.check_interval = options.check_interval;
    return detectors::NewFreshnessDetector(settings);
  }
  detectors::VolumeSettings settings = detectors::DefaultVolumeSettings(metric);
  if (options.sensitivity) settings.sensitivity = *options.sensitivity;
  if (options.direction) settings.direction = *options.direction;
  if (options.seasonality) settings.seasonality = *options.seasonality;
  if (options.min_history) settings.min_history = *options.min_history;
  return detectors::IsColumnMetric(metric) ? detectors::NewColumnMetricDetector(settings)
                                           : detectors::NewVolumeDetector(settings);
}

nlohmann::ordered_json Number(double x) {
  return std::isfinite(x) ? nlohmann::ordered_json(x) : nlohmann::ordered_json(nullptr);
}

}  // namespace

Status RunBacktest(std::istream& csv, std::string_view csv_name, std::ostream& out,
                   const BacktestOptions& options, BacktestSummary* summary) {
  std::vector<Input> inputs;
  long long rows = 0;
  model::Timestamp latest{};
  Reader reader(csv, csv_name);
  if (Status s = reader.ReadAll(inputs, rows, latest); !s.ok()) return s;
  const model::Timestamp now = options.now.value_or(latest);

  std::vector<std::unique_ptr<detectors::Detector>> owned;
  std::vector<detectors::DetectJob> jobs;
  for (const Input& input : inputs) {
    owned.push_back(DetectorFor(input.series.metric, options));
    jobs.push_back({&input.series, owned.back().get()});
  }
  auto results = detectors::DetectAll(
      jobs, options.replay ? detectors::DetectMode::kReplay : detectors::DetectMode::kLatest, now,
      options.threads);

  long long anomalies = 0;
  std::string lines;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!results[i].ok()) {
      return results[i].status().WithContext(std::string(csv_name) + ": series " + inputs[i].key +
                                             " " + inputs[i].series.metric);
    }
    for (const model::Anomaly& a : *results[i]) {
      nlohmann::ordered_json line;
      line["key"] = inputs[i].key;
      line["metric"] = a.metric;
      line["timestamp"] = model::FormatTimestamp(a.ts);
      line["value"] = Number(a.value);
      line["expected_low"] = Number(a.expected_low);
      line["expected_high"] = Number(a.expected_high);
      line["score"] = Number(a.score);
      line["severity"] = std::string(model::SeverityName(a.severity));
      line["detector"] = a.detector;
      line["explanation"] = a.explanation;
      lines += line.dump() + '\n';
      ++anomalies;
    }
  }
  out << lines;
  if (!out) return Status::IoError("could not write the anomalies");
  if (summary) *summary = {rows, static_cast<long long>(inputs.size()), anomalies};
  return Status::Ok();
}

}  // namespace tidemark::pipeline
