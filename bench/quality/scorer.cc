#include "scorer.h"

#include <algorithm>

namespace tidemark::bench {
namespace {

bool Inside(model::Timestamp t, const Window& w) { return t >= w.begin && t <= w.end; }

double Ratio(double a, double b) { return b > 0 ? a / b : 0; }

}  // namespace

double DetectionCounts::Precision() const {
  return Ratio(static_cast<double>(detected), static_cast<double>(detected + false_alarms));
}
double DetectionCounts::Recall() const {
  return Ratio(static_cast<double>(detected), static_cast<double>(detected + missed));
}
double DetectionCounts::F1() const {
  double p = Precision(), r = Recall();
  return p + r > 0 ? 2 * p * r / (p + r) : 0;
}
double DetectionCounts::FalseAlarmsPer1000Days() const {
  return Ratio(1000.0 * static_cast<double>(false_alarms), normal_days);
}
void DetectionCounts::Add(const DetectionCounts& o) {
  detected += o.detected;
  missed += o.missed;
  false_alarms += o.false_alarms;
  normal_days += o.normal_days;
  for (const auto& [k, v] : o.by_kind) {
    by_kind[k].first += v.first;
    by_kind[k].second += v.second;
  }
}

void ScoreVolume(const VolumeCase& c, const std::vector<model::Timestamp>& flags,
                 DetectionCounts& counts) {
  std::vector<bool> hit(c.anomalies.size(), false);
  for (model::Timestamp t : flags) {
    if (t < c.eval_start) continue;
    bool counted = false;
    for (size_t w = 0; w < c.anomalies.size(); ++w) {
      if (Inside(t, c.anomalies[w])) hit[w] = counted = true;
    }
    for (const Window& w : c.dont_care) counted |= Inside(t, w);
    if (!counted) ++counts.false_alarms;
  }
  for (size_t w = 0; w < c.anomalies.size(); ++w) {
    (hit[w] ? counts.detected : counts.missed) += 1;
    auto& kind = counts.by_kind[c.anomalies[w].kind];
    kind.first += hit[w];
    kind.second += 1;
  }
  long long normal = 0;
  for (model::Timestamp t : c.series.ts) {
    if (t < c.eval_start) continue;
    bool labelled = false;
    for (const Window& w : c.anomalies) labelled |= Inside(t, w);
    for (const Window& w : c.dont_care) labelled |= Inside(t, w);
    normal += !labelled;
  }
  counts.normal_days += static_cast<double>(normal) * static_cast<double>(c.cadence) / 86400.0;
}

void ScoreFreshness(const FreshnessCase& c, const std::vector<model::Timestamp>& detections,
                    DetectionCounts& counts, FreshnessMistakes* mistakes) {
  const auto& ts = c.updates.ts;
  // The gap a time falls in, named by the update that opened it.
  auto gap_of = [&ts](model::Timestamp t) -> model::Timestamp {
    auto it = std::upper_bound(ts.begin(), ts.end(), t);
    return it == ts.begin() ? model::Timestamp{} : *(it - 1);
  };
  std::vector<model::Timestamp> event_gaps;
  for (const FreshnessEvent& e : c.events) {
    model::Timestamp gap = gap_of(e.expected);
    event_gaps.push_back(gap);
    bool in_time = false;
    for (model::Timestamp d : detections) {
      in_time |= d >= gap && d < e.arrived && d <= e.deadline;
    }
    (in_time ? counts.detected : counts.missed) += 1;
    if (!in_time && mistakes != nullptr) {
      mistakes->missed.push_back(static_cast<size_t>(&e - c.events.data()));
    }
    auto& kind = counts.by_kind[e.kind];
    kind.first += in_time;
    kind.second += 1;
  }
  std::vector<model::Timestamp> false_gaps;
  for (model::Timestamp d : detections) {
    if (d < c.eval_start) continue;
    model::Timestamp gap = gap_of(d);
    if (std::find(event_gaps.begin(), event_gaps.end(), gap) != event_gaps.end()) continue;
    if (std::find(false_gaps.begin(), false_gaps.end(), gap) == false_gaps.end()) {
      false_gaps.push_back(gap);
    }
  }
  counts.false_alarms += static_cast<long long>(false_gaps.size());
  if (mistakes != nullptr) mistakes->false_alarms = false_gaps;
  counts.normal_days +=
      static_cast<double>(model::ToMicros(c.until) - model::ToMicros(c.eval_start)) / 86400e6;
}

void SchemaCounts::Add(const SchemaCounts& o) {
  transitions += o.transitions;
  changed += o.changed;
  exact += o.exact;
  exact_changed += o.exact_changed;
  alerts_expected += o.alerts_expected;
  alerts_raised_right += o.alerts_raised_right;
  false_alerts += o.false_alerts;
}

void ScoreSchema(const SchemaCase& c, const std::vector<std::vector<std::string>>& reported,
                 const std::vector<bool>& alerted, SchemaCounts& counts) {
  for (size_t i = 1; i < c.history.size(); ++i) {
    const SchemaTruth& truth = c.truth[i];
    ++counts.transitions;
    counts.changed += !truth.changes.empty();
    const bool exact = reported[i] == truth.changes && alerted[i] == truth.alert;
    counts.exact += exact;
    counts.exact_changed += exact && !truth.changes.empty();
    counts.alerts_expected += truth.alert;
    counts.alerts_raised_right += truth.alert && alerted[i];
    counts.false_alerts += !truth.alert && alerted[i];
  }
}

}  // namespace tidemark::bench
