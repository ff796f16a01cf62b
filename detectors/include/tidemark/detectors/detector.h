#pragma once

// detectors::Detector: one seam over the series detectors, so the scheduler, the backtest and
// the benchmarks can pick a detector per metric and run many series across threads.
//
// A Detector is immutable after construction and thread-safe: Latest() and Replay() may be
// called concurrently on one instance. Implementations are final classes in detector.cc,
// handed out by the factories below; they hold only their settings.

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/detectors/settings.h"
#include "tidemark/model/asset.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/metric.h"
#include "tidemark/model/status.h"
#include "tidemark/model/time.h"

namespace tidemark::detectors {

class Detector {
 public:
  Detector() = default;
  Detector(const Detector&) = delete;
  Detector& operator=(const Detector&) = delete;
  virtual ~Detector() = default;

  // "volume", "column_metric", "freshness": the Anomaly.detector of what it raises.
  virtual std::string_view Name() const = 0;

  // What the detector says at `now` using the points at or before it: volume scores the last
  // such bucket, freshness checks the time since the last update. `flagged`: times of
  // anomalies already stored for this series, kept out of a volume baseline (freshness fences
  // outages by their size and ignores it).
  virtual model::Result<std::vector<model::Anomaly>> Latest(
      const model::Series& series, model::Timestamp now,
      std::span<const model::Timestamp> flagged) const = 0;

  // Everything it would have said, walking forward to `until` with only earlier data.
  virtual model::Result<std::vector<model::Anomaly>> Replay(const model::Series& series,
                                                            model::Timestamp until) const = 0;

  // The first run over a series: what Latest would have said at each moment in
  // [since, until], walking forward with only earlier data. Volume scores every point at or
  // after `since`, keeping `flagged` (stored anomalies) and its own verdicts out of later
  // baselines; earlier points only train. Freshness replays its checks and keeps the
  // lateness that began at or after `since`, plus what Latest says at `until`. Cost: that of
  // Latest times the points in the window.
  virtual model::Result<std::vector<model::Anomaly>> Backfill(
      const model::Series& series, model::Timestamp since, model::Timestamp until,
      std::span<const model::Timestamp> flagged) const = 0;
};

std::unique_ptr<Detector> NewVolumeDetector(VolumeSettings settings);
// Volume machinery, Anomaly.detector "column_metric".
std::unique_ptr<Detector> NewColumnMetricDetector(VolumeSettings settings);
std::unique_ptr<Detector> NewFreshnessDetector(FreshnessSettings settings);

// True for per-column metrics: "null_rate:", "null_count:", "distinct_count:",
// "distinct_rate:", "min:", "max:", "mean:", "stddev:" followed by the column name.
bool IsColumnMetric(std::string_view metric);

// The anomaly id: a stable 16-hex-digit digest of (asset, metric, detector, ts), so the same
// finding made twice (a re-run, another instance) is the same record.
std::string AnomalyId(const model::AssetKey& asset, std::string_view metric,
                      std::string_view detector, model::Timestamp ts);

// One unit of batch work. Both pointers are borrowed and must outlive the DetectAll call.
struct DetectJob {
  const model::Series* series = nullptr;
  const Detector* detector = nullptr;
};

enum class DetectMode { kLatest, kReplay };

// Runs every job on `threads` threads (0: one per hardware thread), each job's Latest(series,
// now, {}) or Replay(series, now). Results are in job order, so output is deterministic
// whatever the thread count. Work is handed out in chunks from a shared counter; memory is the
// results plus one working set per thread.
std::vector<model::Result<std::vector<model::Anomaly>>> DetectAll(std::span<const DetectJob> jobs,
                                                                  DetectMode mode,
                                                                  model::Timestamp now,
                                                                  int threads);

}  // namespace tidemark::detectors
