#pragma once

// The detection job: runs the detectors over what the store holds and records what they find.
//
// For each asset (all of them, or those named) it reads every metric series over the last
// `history`, its schema history and its recent tool results, and:
//   - scores volume-like series (row_count, rows_affected, bytes, duration_s, column metrics)
//     with the volume or column-metric detector, at their latest point, keeping points already
//     flagged out of the baseline;
//   - checks freshness from the `update` series, or else from the distinct `last_modified`
//     values (epoch seconds), with dbt's `freshness.warn_after/error_after` from the asset's
//     properties as the SLA when set;
//   - diffs the schema snapshots (schema detector);
//   - turns failed tool results into anomalies too, so that they open incidents like any
//     other finding: a dbt test whose status is "fail"/"error" (detector "dbt_test", severity
//     error; "warn" gives severity warn) and a node that failed to build ("error", "runtime
//     error"; detector "run"). Their metric is the node id, their value the failure count (1
//     when the tool gives none), their `ts` the node's completion time.
//
// Idempotent: anomaly ids are stable digests of (asset, metric, detector, ts), and an anomaly
// already stored is never written again (its incident link is kept), so running the job twice
// over the same data adds nothing. Incremental: a checkpoint per (asset, metric) remembers the
// last point scored; a series with no new point since is not scored again (freshness is
// checked every time: lateness grows while nothing arrives).
//
// Backfill: a series seen for the first time (no checkpoint yet: a new asset, a new metric, or
// the first run over a store) has its recent history scored, not only its latest point: every
// point of the last `backfill` is scored with only earlier data (Detector::Backfill), as the
// service would have scored it had it been running, and freshness replays its checks over the
// same window. Anomalies found so carry their real times, so incidents of the past days show
// up with the time they began. The checkpoint written afterwards makes later runs incremental
// again; an interrupted first run backfills again (same ids: nothing doubles). Schema changes
// and failed tool results are read over `history` on every run anyway.
//
// One bad series (unsorted, non-finite) is a warning in the summary, not a failure of the
// job; a store error stops the job with that error (what was written before stays written).
//
// Thread-safety: RunDetection may run concurrently with other store users; two concurrent
// runs over the same store are safe (same ids, upserts) but waste work.

#include <chrono>
#include <stop_token>
#include <string>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/model/clock.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/status.h"

namespace tidemark::pipeline {

struct DetectionOptions {
  // Assets to run over; empty: every asset in the store (removed ones excluded).
  std::vector<model::AssetKey> assets;
  // How far back series, schema history and tool results are read.
  std::chrono::seconds history = std::chrono::days(90);
  // Tool results per asset looked at (newest first).
  size_t results_per_asset = 50;
  // Assets read, scored and written per transaction: bounds memory on big catalogs.
  size_t chunk_assets = 2000;
  // Threads scoring series (0: one per hardware thread).
  int threads = 2;
  // Score series even when their checkpoint says nothing changed.
  bool full = false;
  // How far back a series seen for the first time is scored (above); zero: its latest point
  // only. Capped by `history`.
  std::chrono::seconds backfill = std::chrono::days(14);
  // Checked between chunks: once stop is requested the run ends with Unavailable (what the
  // chunks before wrote stays: detection is idempotent).
  std::stop_token stop;
};

struct DetectionSummary {
  long long assets = 0;
  long long series_scored = 0;
  long long series_unchanged = 0;   // skipped: no new point since the last run
  long long series_backfilled = 0;  // of those scored, first seen: recent history scored
  long long points_read = 0;
  long long anomalies_found = 0;    // everything the detectors said, stored before or not
  long long anomalies_new = 0;      // of which written now for the first time
  long long triggers_new = 0;       // of the new ones, from failed tests and runs
  long long warnings = 0;           // series that could not be scored
  std::vector<std::string> warning_samples;  // the first few, "asset metric: reason"
  std::vector<model::Anomaly> new_anomalies;
  double elapsed_ms = 0;

  // {"assets":..., "series_scored":..., ..., "warnings":[...]} (without the anomalies).
  std::string ToJson() const;
};

// Runs the job as of clock.Now(). `store` and `clock` are borrowed for the call.
model::Result<DetectionSummary> RunDetection(catalog::Store& store, const model::Clock& clock,
                                             const DetectionOptions& options);

// The assets whose detection input `batch` adds to: metric points, schema snapshots and tool
// results, by asset, sorted and without repeats. What an ingest or a collection wrote and the
// service should score now (Scheduler::ScoreSoon); empty for detection's own writes.
std::vector<model::AssetKey> AssetsToScore(const catalog::WriteBatch& batch);

}  // namespace tidemark::pipeline
