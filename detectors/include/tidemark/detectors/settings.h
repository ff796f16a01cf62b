#pragma once

// Settings of the detectors, with the defaults every asset gets unless its config (or dbt's
// `meta.tidemark`) says otherwise. Plain structs: copyable, no behaviour beyond naming.
//
// Units: a "bucket" is one step of the series' cadence (a day for daily loads, an hour for
// hourly ones). Counts of buckets are used where the statistics need a number of observations
// (minimum history, persistence); durations where people think in time (training window, SLA).

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tidemark::detectors {

// Which side of the expected range may raise an anomaly.
enum class Direction { kBoth, kSpike, kDrop };
std::string_view DirectionName(Direction d);  // "both", "spike", "drop"
std::optional<Direction> ParseDirection(std::string_view name);

// The seasonal profile a baseline may use. kAuto tries the ones the cadence and the history
// allow and keeps one only when it explains the data clearly better than none.
enum class Seasonality { kAuto, kNone, kDayOfWeek, kHourOfDay, kHourOfWeek };
// "auto", "none", "day_of_week", "hour_of_day", "hour_of_week" (the Anomaly.seasonality words).
std::string_view SeasonalityName(Seasonality s);
std::optional<Seasonality> ParseSeasonality(std::string_view name);

// The scale on which values are modelled. kLog is sign(x)·log(1+|x|): changes are relative
// (right for row counts and bytes, whose noise and weekly swings are proportional); kNone keeps
// differences absolute (right for rates, means, and anything that goes negative). kAuto picks
// kLog when the training values are all non-negative, kNone otherwise.
enum class Transform { kAuto, kNone, kLog };

// Volume-like series: row_count, rows_affected, bytes, and column metrics (null rate,
// distinct count, min, max, mean).
struct VolumeSettings {
  // A point is anomalous when its robust z-score (distance from the baseline in robust
  // standard deviations) exceeds this, for daily buckets; finer cadences raise it so that
  // chance alarms per day stay the same (about 6.0 for hourly buckets). Higher is quieter.
  // Severity is error at twice it.
  double sensitivity = 5.5;
  Direction direction = Direction::kBoth;
  // History used for the baseline. Zero: automatic, 28 days but at least 56 and at most
  // 2,016 buckets (8 weeks of daily points, 4 weeks of hourly ones, a week of 5-minute ones).
  std::chrono::seconds training_window{0};
  Seasonality seasonality = Seasonality::kAuto;
  Transform transform = Transform::kAuto;
  // The metric is a running total (a table's row count): what is modelled is what each bucket
  // adds, anchored on the last value not flagged. A truncation is then one drop (re-based
  // after `level_shift_points` points at the new level), a table that stops growing is a zero
  // increment, and the random walk of a total does not read as drift.
  bool cumulative = false;
  // Bucket width. Zero: inferred from the spacing of the points (snapped to 1, 5, 10, 15, 30
  // minutes, 1, 2, 3, 4, 6, 12 hours, 1 or 7 days).
  std::chrono::seconds cadence{0};
  // No verdict before this many training points (cold start).
  int min_history = 14;
  // A seasonal profile needs at least this many full cycles in the training window.
  int min_seasonal_cycles = 2;
  // Changes smaller than either of these are never anomalies, whatever the z-score:
  // absolute in the metric's unit, relative to the expected value (0.05 = 5%).
  double min_abs_change = 0;
  double min_rel_change = 0.05;
  // A move to a new level that persists this many consecutive points is a level shift: the
  // baseline moves to the new level instead of alerting on every later point.
  int level_shift_points = 3;
  // Flag a value of exactly zero when the same slot was rarely zero in training.
  bool flag_zero = true;
  // Flag a value unchanged for this many consecutive transitions when the series normally
  // changes from one bucket to the next (0 turns the rule off).
  int frozen_after = 2;
};

// Settings suited to a metric by name: `row_count` cumulative; counts and bytes on a log
// scale; rates, means and
// extremes ("null_rate:email", "mean:amount", "min:ts", "max:ts") on their own scale with a
// minimum absolute change of one percentage point for rates; frozen detection only for
// metrics that normally move (counts and bytes).
VolumeSettings DefaultVolumeSettings(std::string_view metric);

// Freshness of one asset, learned from the times it was updated.
struct FreshnessSettings {
  // Explicit SLA (dbt `freshness.warn_after` / `error_after`, or config). When either is set
  // it replaces the learned rule: late (warn) after `warn_after`, error after `error_after`.
  // With only `error_after` set, lateness is an error straight away.
  std::optional<std::chrono::seconds> warn_after;
  std::optional<std::chrono::seconds> error_after;
  // Learned rule, per seasonal slot of the last update (when slots fit the data better than
  // none): the expected wait is the larger of the `quantile` of past gaps plus
  // `relative_margin` × the typical (median) gap, and the median gap plus `spread_margin` ×
  // the tail, the mean excess of gaps over their median (a scheduled job's jitter, an
  // irregular stream's mean gap). For a Poisson stream of 20 updates an hour the defaults put
  // chance false alarms about a thousand days apart.
  double quantile = 0.99;
  double relative_margin = 0.25;
  double spread_margin = 15.0;
  // An irregular series (a stream) is late instead once, at the rates learned for the hours
  // its silence spans, this many updates were due: for a Poisson stream the chance of such a
  // silence is e^-expected_updates a gap, e^-14 ≈ 8·10^-7, so a stream of 20 updates an hour
  // (about 480 gaps a day) sees a chance false alarm about once in 2,500 days, and at night
  // (8 an hour) an outage is flagged within two hours (14 / 8 h ≈ 1h45m).
  double expected_updates = 14.0;
  std::chrono::seconds training_window = std::chrono::days(28);
  Seasonality seasonality = Seasonality::kAuto;
  // No learned verdict before this many inter-update gaps (and a week of history, two when
  // some day of the week saw no update).
  int min_history = 7;
  // A seasonal slot needs this many gaps of its own (two of them short of an outage) to get
  // its own rule.
  int min_slot_samples = 3;
  // Updates closer together than max(this, 1% of the typical gap) count as one update (a
  // batch load that commits in several steps).
  std::chrono::seconds burst_gap{60};
  // Replay only: lateness is checked at every multiple of this (the scheduler's tick).
  std::chrono::seconds check_interval = std::chrono::minutes(5);
};

// A pinned column list (dbt `contract: enforced`, or a baseline someone approved).
struct ContractColumn {
  std::string name;
  std::string data_type;         // empty: any type
  std::optional<bool> nullable;  // unset: either
};

struct SchemaSettings {
  // Empty: no contract. Otherwise each listed column must exist with the listed type and
  // nullability, and (unless `allow_extra_columns`) no other column may exist.
  std::vector<ContractColumn> contract;
  bool allow_extra_columns = false;
};

}  // namespace tidemark::detectors
