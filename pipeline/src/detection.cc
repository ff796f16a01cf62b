#include "tidemark/pipeline/detection.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "tidemark/detectors/detector.h"
#include "tidemark/detectors/schema.h"
#include "tidemark/model/metric.h"
#include "tidemark/pipeline/asset_settings.h"

namespace tidemark::pipeline {
namespace {

using model::Result;
using model::Status;
using model::Timestamp;

constexpr std::string_view kCheckpointScope = "detect:series";
constexpr size_t kWarningSamples = 10;

// Metrics that are not series of quantities: they feed freshness or are derived from it.
bool NotVolumeLike(std::string_view metric) {
  return metric == model::kMetricUpdate || metric == model::kMetricLastModified ||
         metric == "freshness_lag_s";
}

std::string CheckpointKey(const model::AssetKey& asset, std::string_view metric) {
  return asset.ToString() + "#" + std::string(metric);
}

// The update times recorded as last_modified values (epoch seconds), distinct, in order.
model::Series UpdatesFromLastModified(const model::Series& last_modified) {
  model::Series updates;
  updates.asset = last_modified.asset;
  updates.metric = last_modified.metric;
  std::set<long long> seen;
  for (double v : last_modified.values) {
    if (std::isfinite(v) && v > 0 && v < 1e11) seen.insert(static_cast<long long>(v * 1e6));
  }
  for (long long us : seen) {
    updates.ts.push_back(model::FromMicros(us));
    updates.values.push_back(1);
  }
  return updates;
}

bool IsFailure(std::string_view status) {
  return status == "fail" || status == "error" || status == "runtime error";
}

// A failed test or build as an anomaly (see the header), or nullopt when the result is fine.
std::optional<model::Anomaly> TriggerFrom(const model::NodeResult& r, Timestamp at) {
  const bool test = r.node_kind == "test";
  const bool failed = IsFailure(r.status);
  const bool warned = test && r.status == "warn";
  if (!failed && !warned) return std::nullopt;
  model::Anomaly a;
  a.asset = r.asset;
  a.metric = r.node_id;
  a.detector = test ? "dbt_test" : "run";
  a.ts = at;
  a.value = r.failures ? static_cast<double>(*r.failures) : 1.0;
  a.expected_low = 0;
  a.expected_high = 0;
  a.score = a.value;
  a.direction = "fail";
  a.severity = warned ? model::Severity::kWarn : model::Severity::kError;
  a.seasonality = "none";
  std::string what = test ? "test " + r.node_id : r.node_kind + " " + r.node_id;
  a.explanation = what + (test ? " failed" : " did not build") + " (status " + r.status;
  if (r.failures) a.explanation += ", " + std::to_string(*r.failures) + " failing rows";
  a.explanation += ", run " + r.run_id + ")";
  if (!r.message.empty()) a.explanation += ": " + r.message.substr(0, 200);
  a.detected_at = at;
  a.id = detectors::AnomalyId(a.asset, a.metric, a.detector, a.ts);
  return a;
}

// What one asset contributes to a chunk: series to score and findings made while reading.
struct SeriesJob {
  model::Series series;
  std::unique_ptr<detectors::Detector> detector;
  std::vector<Timestamp> flagged;
  std::string checkpoint;       // key
  std::string checkpoint_value; // the last point's time
  bool checkpoint_stored = false;           // the checkpoint already holds checkpoint_value
  std::optional<Timestamp> backfill_since;  // first seen: score from here on
  Result<std::vector<model::Anomaly>> result = std::vector<model::Anomaly>{};
};

struct AssetWork {
  model::AssetKey key;
  std::unordered_set<std::string> stored_ids;
  std::vector<SeriesJob> jobs;
  std::vector<model::Anomaly> direct;  // schema and triggers
  size_t triggers = 0;
};

class Job {
 public:
  Job(catalog::Store& store, Timestamp now, const DetectionOptions& options)
      : store_(store), now_(now), options_(options) {}

  Result<DetectionSummary> Run();

 private:
  Status LoadCheckpoints();
  // The assets to run over, with their properties (read with them, listed or named).
  struct Target {
    model::AssetKey key;
    std::string properties;
  };
  Result<std::vector<Target>> AssetsToScan();
  // Reads what a chunk of assets needs: their anomalies, metrics, schema history and recent
  // results for all of them in one call, then the series their settings score in another.
  Status ReadChunk(std::span<const Target> targets, std::vector<AssetWork>& chunk);
  // When a result without times happened: its run's end (or event time), read once per run;
  // nullopt when the run cannot be read.
  std::optional<Timestamp> RunTime(const std::string& run_id);
  void Score(std::vector<AssetWork>& chunk);
  Status WriteChunk(std::vector<AssetWork>& chunk);
  void Warn(std::string text) {
    ++summary_.warnings;
    if (summary_.warning_samples.size() < kWarningSamples) {
      summary_.warning_samples.push_back(std::move(text));
    }
  }

  catalog::Store& store_;
  const Timestamp now_;
  const DetectionOptions& options_;
  std::unordered_map<std::string, std::string> checkpoints_;
  // A dbt run's results name one run thousands of times.
  std::unordered_map<std::string, std::optional<Timestamp>> run_times_;
  DetectionSummary summary_;
};

Status Job::LoadCheckpoints() {
  TM_ASSIGN_OR_RETURN(auto all, store_.ListCheckpoints(kCheckpointScope));
  for (catalog::Checkpoint& c : all) checkpoints_[std::move(c.key)] = std::move(c.value);
  return Status::Ok();
}

Result<std::vector<Job::Target>> Job::AssetsToScan() {
  std::vector<Target> targets;
  if (!options_.assets.empty()) {
    // Named assets are read in one call; unknown and removed ones are skipped, as a listing
    // would (an ingest may name an asset that a later write removed).
    TM_ASSIGN_OR_RETURN(auto assets, store_.GetAssets(options_.assets));
    for (std::optional<model::Asset>& a : assets) {
      if (!a || a->status == model::AssetStatus::kRemoved) continue;
      targets.push_back({std::move(a->key), std::move(a->properties)});
    }
    return targets;
  }
  catalog::AssetFilter filter;
  filter.limit = 5000;
  for (;;) {
    TM_ASSIGN_OR_RETURN(auto page, store_.ListAssets(filter));
    for (model::Asset& a : page) {
      targets.push_back({std::move(a.key), std::move(a.properties)});
    }
    if (page.size() < filter.limit) break;
    filter.after = targets.back().key.ToString();
  }
  return targets;
}

std::optional<Timestamp> Job::RunTime(const std::string& run_id) {
  auto it = run_times_.find(run_id);
  if (it != run_times_.end()) return it->second;
  std::optional<Timestamp> at;
  auto run = store_.GetRun(run_id);
  if (run.ok()) at = run->ended_at.value_or(run->event_time);  // else: the result is skipped
  run_times_.emplace(run_id, at);
  return at;
}

Status Job::ReadChunk(std::span<const Target> targets, std::vector<AssetWork>& chunk) {
  const Timestamp from = now_ - options_.history;
  const Timestamp to = now_ + std::chrono::microseconds(1);
  std::vector<model::AssetKey> keys;
  keys.reserve(targets.size());
  for (const Target& t : targets) keys.push_back(t.key);
  TM_ASSIGN_OR_RETURN(auto inputs,
                      store_.ReadDetectionInputs(keys, from, options_.results_per_asset));

  // The series to read: those each asset's settings score, read together afterwards.
  struct Wanted {
    size_t asset;
    bool freshness, column;
  };
  std::vector<catalog::SeriesRange> ranges;
  std::vector<Wanted> wanted;
  std::vector<AssetDetectorSettings> settings;
  settings.reserve(targets.size());
  std::vector<std::map<std::string, std::vector<Timestamp>>> flagged(targets.size());
  for (size_t i = 0; i < targets.size(); ++i) {
    const model::AssetKey& key = targets[i].key;
    AssetWork& work = chunk[i];
    work.key = key;
    for (const model::Anomaly& a : inputs[i].anomalies) {
      work.stored_ids.insert(a.id);
      flagged[i][a.metric].push_back(a.ts);
    }
    // Per-asset settings (dbt meta.tidemark); a bad one is reported and the defaults are used.
    auto parsed = ParseAssetDetectorSettings(targets[i].properties);
    if (!parsed.ok()) Warn(key.ToString() + ": " + parsed.status().message() + "; defaults used");
    settings.push_back(parsed.ok() ? *std::move(parsed) : *ParseAssetDetectorSettings(""));
    const AssetDetectorSettings& s = settings.back();

    const std::vector<std::string>& metrics = inputs[i].metrics;
    const bool has_update =
        std::find(metrics.begin(), metrics.end(), model::kMetricUpdate) != metrics.end();
    for (const std::string& metric : metrics) {
      const bool freshness = metric == model::kMetricUpdate ||
                             (!has_update && metric == model::kMetricLastModified);
      if (!freshness && NotVolumeLike(metric)) continue;
      const bool column = detectors::IsColumnMetric(metric);
      if (freshness ? !s.freshness : column ? !s.column_metrics : !s.volume) continue;
      ranges.push_back({key, metric, from, to});
      wanted.push_back({i, freshness, column});
    }

    const auto& history = inputs[i].schema_history;
    if (s.schema && history.size() >= 2) {
      auto schema = detectors::DetectSchemaChanges(history, detectors::SchemaSettings{});
      if (!schema.ok()) {
        Warn(key.ToString() + " schema: " + schema.status().message());
      } else {
        for (model::Anomaly& a : *schema) {
          if (a.ts >= from) work.direct.push_back(std::move(a));
        }
      }
    }

    if (!s.tests) continue;
    for (const model::NodeResult& r : inputs[i].recent_results) {
      std::optional<Timestamp> at = r.completed_at ? r.completed_at : r.started_at;
      if (!at) at = RunTime(r.run_id);
      if (!at || *at < from) continue;
      model::NodeResult with_asset = r;
      if (with_asset.asset.empty()) with_asset.asset = key;
      if (auto trigger = TriggerFrom(with_asset, *at)) {
        work.direct.push_back(std::move(*trigger));
        ++work.triggers;
      }
    }
  }

  TM_ASSIGN_OR_RETURN(auto all_series, store_.ReadSeriesMany(ranges));
  for (size_t j = 0; j < ranges.size(); ++j) {
    const Wanted& w = wanted[j];
    model::Series& series = all_series[j];
    const std::string& metric = ranges[j].metric;
    summary_.points_read += static_cast<long long>(series.ts.size());
    if (series.ts.empty()) continue;
    SeriesJob job;
    job.checkpoint = CheckpointKey(ranges[j].key, metric);
    job.checkpoint_value = model::FormatTimestamp(series.ts.back());
    auto cp = checkpoints_.find(job.checkpoint);
    job.checkpoint_stored = cp != checkpoints_.end() && cp->second == job.checkpoint_value;
    if (cp == checkpoints_.end() && options_.backfill.count() > 0) {
      job.backfill_since = now_ - std::min(options_.backfill, options_.history);
    }
    const AssetDetectorSettings& s = settings[w.asset];
    if (w.freshness) {
      if (metric == model::kMetricLastModified) series = UpdatesFromLastModified(series);
      job.detector = detectors::NewFreshnessDetector(s.freshness_settings);
    } else {
      if (!options_.full && job.checkpoint_stored) {
        ++summary_.series_unchanged;
        continue;
      }
      const detectors::VolumeSettings volume = s.VolumeFor(metric);
      job.detector = w.column ? detectors::NewColumnMetricDetector(volume)
                              : detectors::NewVolumeDetector(volume);
    }
    job.flagged = std::move(flagged[w.asset][metric]);
    job.series = std::move(series);
    chunk[w.asset].jobs.push_back(std::move(job));
  }
  return Status::Ok();
}

void Job::Score(std::vector<AssetWork>& chunk) {
  std::vector<SeriesJob*> jobs;
  for (AssetWork& w : chunk) {
    for (SeriesJob& j : w.jobs) jobs.push_back(&j);
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < jobs.size(); i = next++) {
      SeriesJob& j = *jobs[i];
      j.result = j.backfill_since
                     ? j.detector->Backfill(j.series, *j.backfill_since, now_, j.flagged)
                     : j.detector->Latest(j.series, now_, j.flagged);
    }
  };
  int threads = options_.threads > 0 ? options_.threads
                                     : static_cast<int>(std::thread::hardware_concurrency());
  threads = std::clamp(threads, 1, 64);
  std::vector<std::thread> pool;
  for (int t = 1; t < threads && static_cast<size_t>(t) < jobs.size(); ++t) {
    pool.emplace_back(worker);
  }
  worker();
  for (std::thread& t : pool) t.join();
}

Status Job::WriteChunk(std::vector<AssetWork>& chunk) {
  catalog::WriteBatch batch;
  std::vector<model::Anomaly> fresh;
  for (AssetWork& w : chunk) {
    auto take = [&](model::Anomaly& a, bool trigger) {
      ++summary_.anomalies_found;
      if (!w.stored_ids.insert(a.id).second) return;
      ++summary_.anomalies_new;
      if (trigger) ++summary_.triggers_new;
      batch.PutAnomaly(a);
      fresh.push_back(a);
    };
    for (SeriesJob& j : w.jobs) {
      if (!j.result.ok()) {
        Warn(w.key.ToString() + " " + j.series.metric + ": " + j.result.status().message());
        continue;
      }
      ++summary_.series_scored;
      if (j.backfill_since) ++summary_.series_backfilled;
      for (model::Anomaly& a : *j.result) take(a, false);
      if (!j.checkpoint_stored) {
        batch.PutCheckpoint({std::string(kCheckpointScope), j.checkpoint, j.checkpoint_value, {}});
      }
    }
    for (size_t i = 0; i < w.direct.size(); ++i) {
      const model::Anomaly& a = w.direct[i];
      take(w.direct[i], a.detector == "dbt_test" || a.detector == "run");
    }
  }
  if (batch.empty()) return Status::Ok();
  TM_ASSIGN_OR_RETURN(auto written, store_.Write(batch));
  (void)written;
  for (model::Anomaly& a : fresh) summary_.new_anomalies.push_back(std::move(a));
  return Status::Ok();
}

Result<DetectionSummary> Job::Run() {
  const auto started = std::chrono::steady_clock::now();
  TM_RETURN_IF_ERROR(LoadCheckpoints());
  TM_ASSIGN_OR_RETURN(auto targets, AssetsToScan());
  const size_t chunk_size = std::max<size_t>(1, options_.chunk_assets);
  for (size_t begin = 0; begin < targets.size(); begin += chunk_size) {
    if (options_.stop.stop_requested()) {
      return Status::Unavailable("detection stopped after " + std::to_string(begin) + " of " +
                                 std::to_string(targets.size()) + " assets");
    }
    const size_t end = std::min(targets.size(), begin + chunk_size);
    std::vector<AssetWork> chunk(end - begin);
    // A chunk's reads in one read transaction where the store can.
    TM_RETURN_IF_ERROR(store_.ReadTogether([&]() -> Status {
      Status s = ReadChunk(std::span(targets).subspan(begin, end - begin), chunk);
      return s.ok() ? s : s.WithContext("detect assets " + std::to_string(begin) + ".." +
                                        std::to_string(end - 1) + " of " +
                                        std::to_string(targets.size()));
    }));
    Score(chunk);
    TM_RETURN_IF_ERROR(WriteChunk(chunk));
    summary_.assets += static_cast<long long>(end - begin);
  }
  summary_.elapsed_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
          .count();
  return std::move(summary_);
}

}  // namespace

std::string DetectionSummary::ToJson() const {
  nlohmann::ordered_json j;
  j["assets"] = assets;
  j["series_scored"] = series_scored;
  j["series_unchanged"] = series_unchanged;
  j["series_backfilled"] = series_backfilled;
  j["points_read"] = points_read;
  j["anomalies_found"] = anomalies_found;
  j["anomalies_new"] = anomalies_new;
  j["triggers_new"] = triggers_new;
  j["warnings"] = warnings;
  j["warning_samples"] = warning_samples;
  j["elapsed_ms"] = std::round(elapsed_ms * 10) / 10;
  return j.dump();
}

Result<DetectionSummary> RunDetection(catalog::Store& store, const model::Clock& clock,
                                      const DetectionOptions& options) {
  Job job(store, clock.Now(), options);
  return job.Run();
}

std::vector<model::AssetKey> AssetsToScore(const catalog::WriteBatch& batch) {
  std::vector<model::AssetKey> keys;
  for (const model::MetricPoint& p : batch.points()) keys.push_back(p.asset);
  for (const model::SchemaSnapshot& s : batch.snapshots()) keys.push_back(s.asset);
  for (const model::NodeResult& r : batch.node_results()) {
    if (!r.asset.empty()) keys.push_back(r.asset);
  }
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  return keys;
}

}  // namespace tidemark::pipeline
