#pragma once

// The labelled benchmark: synthetic series shaped like real warehouse tables, with injected
// anomalies and the ground truth kept alongside. Deterministic for a given seed (each case has
// its own generator seeded from (seed, case index), so adding workloads does not reshuffle
// the others).
//
// Volume cases: daily (120 days) and hourly (42 days) series of `rows_affected` (rows per
// load) or `row_count` (a table's cumulative size). Shapes: level 10^2..10^6.5 rows, growth or
// decline trends, weekly profiles from none to weekend-off (zero loads or no loads at all),
// daily profiles for hourly series, multiplicative noise from calm (2%) to wild (35%) with
// heavy tails on a fifth of the series, missing buckets, holiday dips. Injected: spikes,
// drops, level shifts, zero loads and frozen values, sized to stand out of the series' own
// noise (at least 5 noise deviations and at least ×1.5 / ÷1.5; the noise of a small count
// includes its Poisson noise, so 4 rows becoming 6 is not labelled an anomaly).
//
// Freshness cases: hourly jobs, daily jobs, weekday-only daily jobs, business-hours hourly
// jobs, batch loads committing in bursts, and irregular streams (Poisson with a daily
// rhythm, 20 updates an hour on average). Injected: late loads (0.5 to 1.5 intervals late),
// missed loads, stream outages of 3 to 12 hours (whose "interval" is taken as 2 hours).
//
// Schema cases: daily snapshots of 5 to 30 columns with injected additions, removals, type
// changes (widening and narrowing), nullability changes, renames and reverts.

#include <cstdint>
#include <string>
#include <vector>

#include "tidemark/model/asset.h"
#include "tidemark/model/metric.h"
#include "tidemark/model/schema_snapshot.h"
#include "tidemark/model/time.h"

namespace tidemark::bench {

// A labelled stretch of time, inclusive at both ends.
struct Window {
  model::Timestamp begin{};
  model::Timestamp end{};
  std::string kind;  // "spike", "drop", "level_shift", "zero", "frozen", "holiday"
};

struct VolumeCase {
  model::Series series;
  std::int64_t cadence = 86400;   // seconds
  model::Timestamp eval_start{};  // flags before this are not scored
  std::vector<Window> anomalies;  // each must be flagged at least once
  std::vector<Window> dont_care;  // holidays: flags there are neither right nor wrong
  std::string shape;              // "daily", "hourly" (for the breakdown)
};

struct FreshnessEvent {
  model::Timestamp expected{};  // when the load should have landed
  model::Timestamp arrived{};   // when it (or the next one) did
  model::Timestamp deadline{};  // expected + one interval: flag by then
  std::string kind;             // "late", "missed", "outage"
};

struct FreshnessCase {
  model::Series updates;  // metric "update", one point per update
  model::Timestamp eval_start{};
  model::Timestamp until{};
  std::int64_t interval = 0;  // the nominal interval, seconds
  std::vector<FreshnessEvent> events;
  std::string shape;  // "hourly", "daily", "weekday", "business_hours", "batch", "stream"
};

// One expected change, in the words of detectors::SchemaChange ("added:email").
struct SchemaTruth {
  std::vector<std::string> changes;  // sorted "kind:column"
  bool alert = false;                // false for no change and for reverts
};

struct SchemaCase {
  std::vector<model::SchemaSnapshot> history;
  std::vector<SchemaTruth> truth;  // truth[i] describes history[i-1] → history[i]; truth[0] empty
};

struct BenchmarkSpec {
  std::uint64_t seed = 20260301;
  int daily = 2000;
  int hourly = 300;
  int freshness = 1200;
  int schema = 500;
};

struct Benchmark {
  std::vector<VolumeCase> volume;
  std::vector<FreshnessCase> freshness;
  std::vector<SchemaCase> schema;
};

Benchmark Generate(const BenchmarkSpec& spec);

// 100,000-style speed data: `count` daily series of `points` points, seeded.
std::vector<model::Series> GenerateDailySeries(int count, int points, std::uint64_t seed);

}  // namespace tidemark::bench
