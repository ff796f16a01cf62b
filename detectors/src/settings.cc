#include "tidemark/detectors/settings.h"

#include "tidemark/detectors/detector.h"
#include "tidemark/model/metric.h"

namespace tidemark::detectors {
namespace {

bool StartsWith(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

}  // namespace

std::string_view DirectionName(Direction d) {
  switch (d) {
    case Direction::kSpike:
      return "spike";
    case Direction::kDrop:
      return "drop";
    default:
      return "both";
  }
}

std::optional<Direction> ParseDirection(std::string_view name) {
  if (name == "both") return Direction::kBoth;
  if (name == "spike") return Direction::kSpike;
  if (name == "drop") return Direction::kDrop;
  return std::nullopt;
}

std::string_view SeasonalityName(Seasonality s) {
  switch (s) {
    case Seasonality::kAuto:
      return "auto";
    case Seasonality::kDayOfWeek:
      return "day_of_week";
    case Seasonality::kHourOfDay:
      return "hour_of_day";
    case Seasonality::kHourOfWeek:
      return "hour_of_week";
    default:
      return "none";
  }
}

std::optional<Seasonality> ParseSeasonality(std::string_view name) {
  for (Seasonality s : {Seasonality::kAuto, Seasonality::kNone, Seasonality::kDayOfWeek,
                        Seasonality::kHourOfDay, Seasonality::kHourOfWeek}) {
    if (name == SeasonalityName(s)) return s;
  }
  return std::nullopt;
}

VolumeSettings DefaultVolumeSettings(std::string_view metric) {
  VolumeSettings s;
  if (metric == model::kMetricRowCount) {
    s.cumulative = true;  // a table's size: judge what each load added
    return s;
  }
  if (!IsColumnMetric(metric)) return s;  // rows per load and bytes: the defaults fit them
  if (StartsWith(metric, "null_count:") || StartsWith(metric, "distinct_count:")) {
    s.frozen_after = 0;  // a count of nulls or distinct values may well sit still
    return s;
  }
  // Rates, means and extremes: an absolute scale, no zero or frozen rules (a null rate of 0 is
  // good news; a max that stays put is normal).
  s.transform = Transform::kNone;
  s.flag_zero = false;
  s.frozen_after = 0;
  if (StartsWith(metric, "null_rate:") || StartsWith(metric, "distinct_rate:")) {
    s.min_abs_change = 0.01;  // one percentage point
    s.min_rel_change = 0;
  }
  return s;
}

}  // namespace tidemark::detectors
