#pragma once

// The freshness detector: has this asset gone without an update for longer than its cadence
// allows?
//
// The cadence is learned from the gaps between past updates (bursts of updates within a
// minute or so count as one): hourly jobs, daily jobs, weekday-only jobs and irregular
// streams. The gap after an update is conditioned on that update's slot (day of week, hour of
// day or hour of week) when that explains the gaps clearly better; a slot with too few gaps of
// its own takes the coarser slotting's rule, and a weekly slot (one gap a week) reaches back
// before the training window until it holds eight weeks, so one missed and one late load
// cannot make up half of it. An asset is late when the time since its last update exceeds a
// high quantile of its slot's gaps plus a margin or, for an irregular stream, once
// `expected_updates` updates were due at the rates learned for the hours its silence spans
// (at night a stream's silence lasts longer than by day); it escalates to error one typical
// gap later. Outage gaps are fenced out of the quantiles by their distance from their slot's
// median, not by earlier verdicts, so a long gap that recurs (a weekend: at the same hour of
// the week, at least twice and in at least half of the weeks) is learned even though the
// first ones were late. The model is refit once per clock hour from the gaps that ended before
// that hour; the check itself is live. A silence the fit of its first hour has no rule for
// (cold start, a slot without a rule) is judged from the next hour on by the fit that has
// seen its opening update.
// An explicit SLA (FreshnessSettings::warn_after / error_after) replaces the learned rule.
// Without an SLA, nothing is said before `min_history` gaps spanning a week, or two weeks
// when some day of the week saw no update (cold start: a weekly schedule must have been seen
// twice before its gaps can be told from outages).
//
// Inputs: `updates.ts` holds one timestamp per observed update, non-decreasing; values are
// ignored. Unsorted input is InvalidArgument.
//
// Outputs: for each lateness, an Anomaly with detector "freshness", direction "late", `ts` the
// moment the asset became late at that severity, `value` the seconds since the last update
// when it was checked, expected range [0, allowed seconds], score = value / allowed, and an
// explanation. The id depends on `ts`, so checking the same late episode again yields the
// same anomaly; escalation to error is a second one.
//
// Thread-safety: the functions are pure; concurrent calls are safe.

#include <optional>
#include <vector>

#include "tidemark/detectors/settings.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/metric.h"
#include "tidemark/model/status.h"
#include "tidemark/model/time.h"

namespace tidemark::detectors {

// The lateness of `updates` as seen at `now`, from updates at or before `now`: empty when
// fresh (or in cold start), else one anomaly at the current severity.
model::Result<std::vector<model::Anomaly>> CheckFreshness(const model::Series& updates,
                                                          model::Timestamp now,
                                                          const FreshnessSettings& settings);

// Walks forward to `until`, checking at every multiple of `settings.check_interval` between
// updates with only the updates seen so far: the anomalies the live service would have raised
// (first warn, then error, per late episode), in time order.
model::Result<std::vector<model::Anomaly>> ReplayFreshness(const model::Series& updates,
                                                           model::Timestamp until,
                                                           const FreshnessSettings& settings);

// The rule in force after one update, for people tuning the detector and for the benchmark's
// explanation of a miss.
struct FreshnessRule {
  bool sla = false;
  std::int64_t allowed_s = 0;                    // late when no update for longer than this
  std::int64_t error_after_s = 0;                // error after this
  std::int64_t typical_s = 0;                    // median gap of the last update's slot
  Seasonality seasonality = Seasonality::kNone;  // the slotting the rule came from
  int gaps = 0;                                  // training gaps
};

// The rule after `updates.ts[index]`, learned exactly as CheckFreshness would at that update
// (from updates at or before it): nullopt in cold start or when the update's slot has no
// rule. InvalidArgument when unsorted or `index` is out of range.
model::Result<std::optional<FreshnessRule>> FreshnessRuleAfter(const model::Series& updates,
                                                               size_t index,
                                                               const FreshnessSettings& settings);

}  // namespace tidemark::detectors
