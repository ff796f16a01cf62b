#pragma once

// The backtest behind `tidemark detect --series FILE.csv`: run the detectors over series read
// from CSV and write what they find, one JSON object per line. Users try Tidemark on their own
// history with it; the benchmarks score the detectors with it.
//
// Input: CSV (RFC 4180: quoted fields, "" escapes, CRLF or LF) with a header naming the
// columns key, metric, timestamp, value (any order, case-insensitive). `key` is an asset key
// ("namespace/name", or a bare name); `timestamp` is ISO-8601 (model::ParseTimestamp); `value`
// is a number, ignored (and may be empty) for metric `update`, one row per observed update.
// Rows may come in any order. Metric `update` goes to the freshness detector, column metrics
// ("null_rate:email", ...) to the column-metric detector, every other metric to the volume
// detector, each with the defaults for its metric name (detectors::DefaultVolumeSettings).
//
// "Now" is `options.now`, or else the latest timestamp in the file. Without `replay`, each
// series is judged once as of now: volume and column metrics score their latest point,
// freshness checks the time since the last update. With `replay`, each series is walked
// forward and every point is scored with strictly earlier data only; freshness is checked at
// every multiple of the check interval between updates, up to now.
//
// Output: for each anomaly, in order of key, metric and time, one line
//   {"key":..., "metric":..., "timestamp":..., "value":..., "expected_low":...,
//    "expected_high":..., "score":..., "severity":..., "detector":..., "explanation":...}
// For freshness, `timestamp` is when the asset became late and `value` the delay in seconds.
//
// Errors: a malformed file is InvalidArgument whose message reads "FILE:LINE: reason" (the
// line where the offending record starts), and nothing is written. Thread-safety: RunBacktest
// may run concurrently on different streams; it uses `options.threads` threads of its own.

#include <chrono>
#include <istream>
#include <optional>
#include <ostream>
#include <string_view>

#include "tidemark/detectors/settings.h"
#include "tidemark/model/status.h"
#include "tidemark/model/time.h"

namespace tidemark::pipeline {

struct BacktestOptions {
  bool replay = false;
  // Overrides of the per-metric volume defaults; unset keeps them.
  std::optional<double> sensitivity;
  std::optional<detectors::Direction> direction;
  std::optional<detectors::Seasonality> seasonality;
  std::optional<int> min_history;
  // A freshness SLA applied to every `update` series (dbt's warn_after / error_after).
  std::optional<std::chrono::seconds> warn_after;
  std::optional<std::chrono::seconds> error_after;
  // Replay: how often freshness is checked. Zero keeps the detector's default (5 minutes).
  std::chrono::seconds check_interval{0};
  std::optional<model::Timestamp> now;
  int threads = 2;  // 0: one per hardware thread
};

struct BacktestSummary {
  long long rows = 0;
  long long series = 0;
  long long anomalies = 0;
};

// Reads `csv` (named `csv_name` in errors), writes anomalies to `out`. `summary`, when given,
// receives the counts (borrowed for the call).
model::Status RunBacktest(std::istream& csv, std::string_view csv_name, std::ostream& out,
                          const BacktestOptions& options, BacktestSummary* summary = nullptr);

}  // namespace tidemark::pipeline
