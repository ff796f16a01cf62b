#pragma once

// Scoring detections against the ground truth, the same way for every detector.
//
// Volume, point-adjusted: an anomaly window counts once, detected when at least one flag falls
// inside it; every flag on a normal bucket is a false alarm; flags on holidays count for
// nothing. False alarms are reported per 1,000 normal series-days (an hourly bucket is 1/24 of
// a series-day).
//
// Freshness: an event (a late or missed load, a stream outage) is detected when a flag is
// raised while the asset is late and no later than one interval after the load was due. Flags
// in one gap between updates are one episode; an episode outside every event is one false
// alarm.
//
// Schema: a transition is exact when the reported change list equals the truth and the
// alert decision matches (alert on changes, not on reverts or re-spellings).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "generator.h"

namespace tidemark::bench {

struct DetectionCounts {
  long long detected = 0;  // windows or events found (in time)
  long long missed = 0;
  long long false_alarms = 0;
  double normal_days = 0;                                          // series-days without an anomaly
  std::map<std::string, std::pair<long long, long long>> by_kind;  // kind → (detected, total)

  double Precision() const;
  double Recall() const;
  double F1() const;
  double FalseAlarmsPer1000Days() const;
  void Add(const DetectionCounts& other);
};

void ScoreVolume(const VolumeCase& c, const std::vector<model::Timestamp>& flags,
                 DetectionCounts& counts);

// What ScoreFreshness found wrong with one case, for explaining it (--explain-misses).
struct FreshnessMistakes {
  std::vector<size_t> missed;                  // indices into FreshnessCase::events
  std::vector<model::Timestamp> false_alarms;  // the update opening each falsely flagged gap
};

// `detections`: the times a detector raised lateness. `mistakes`, when given, receives the
// missed events and false alarms.
void ScoreFreshness(const FreshnessCase& c, const std::vector<model::Timestamp>& detections,
                    DetectionCounts& counts, FreshnessMistakes* mistakes = nullptr);

struct SchemaCounts {
  long long transitions = 0;
  long long changed = 0;        // transitions with a real change (reverts included)
  long long exact = 0;          // right change list and right alert decision
  long long exact_changed = 0;  // the same, among transitions with a real change
  long long alerts_expected = 0;
  long long alerts_raised_right = 0;
  long long false_alerts = 0;  // on reverts, re-spellings or no change

  void Add(const SchemaCounts& other);
};

// `reported[i]`: sorted change list for transition i; `alerted[i]`: whether it alerted.
void ScoreSchema(const SchemaCase& c, const std::vector<std::vector<std::string>>& reported,
                 const std::vector<bool>& alerted, SchemaCounts& counts);

}  // namespace tidemark::bench
