#include "tidemark/pipeline/asset_settings.h"

#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

namespace tidemark::pipeline {
namespace {

using model::Result;
using model::Status;
using json = nlohmann::json;

constexpr std::string_view kRoot = "meta.tidemark";

Status Bad(std::string_view key, const std::string& expected, const json& got) {
  std::string path = std::string(kRoot) + (key.empty() ? "" : ".") + std::string(key);
  return Status::InvalidArgument(path + " must be " + expected + ", not " + got.dump().substr(0, 80),
                                 path);
}

// dbt's {"count": 12, "period": "hour"}.
Result<std::chrono::seconds> Duration(std::string_view key, const json& rule) {
  const std::string expected = "{\"count\": N > 0, \"period\": \"minute|hour|day\"}";
  if (!rule.is_object()) return Bad(key, expected, rule);
  auto count = rule.find("count");
  auto period = rule.find("period");
  if (count == rule.end() || !count->is_number() || period == rule.end() || !period->is_string()) {
    return Bad(key, expected, rule);
  }
  const std::string p = period->get<std::string>();
  const long long unit = p == "minute" ? 60 : p == "hour" ? 3600 : p == "day" ? 86400 : 0;
  const double n = count->get<double>();
  if (unit == 0 || !(n > 0) || n > 1e6) return Bad(key, expected, rule);
  return std::chrono::seconds(static_cast<long long>(n * static_cast<double>(unit)));
}

// dbt's own freshness block: lenient, as before (dbt validated it; null means unset).
void DbtFreshness(const json& props, detectors::FreshnessSettings& out) {
  auto rule = props.find("freshness");
  if (rule == props.end() || !rule->is_object()) return;
  for (auto [name, field] : {std::pair{"warn_after", &out.warn_after},
                             std::pair{"error_after", &out.error_after}}) {
    auto r = rule->find(name);
    if (r == rule->end()) continue;
    auto d = Duration(name, *r);
    if (d.ok()) *field = *d;
  }
}

Result<double> Number(const json& t, std::string_view key, double min, bool strict) {
  const json& v = t.at(std::string(key));
  const std::string expected = std::string("a number ") + (strict ? "> " : ">= ") +
                               std::to_string(static_cast<int>(min));
  if (!v.is_number()) return Bad(key, expected, v);
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < min || (strict && x == min) || x > 1e12) {
    return Bad(key, expected, v);
  }
  return x;
}

Status ParseTidemark(const json& t, AssetDetectorSettings& s) {
  if (!t.is_object()) return Bad("", "an object", t);
  for (const auto& [key, value] : t.items()) {
    if (key == "enabled") {
      if (!value.is_boolean()) return Bad(key, "true or false", value);
      if (!value.get<bool>()) {
        s.volume = s.column_metrics = s.freshness = s.schema = s.tests = false;
      }
    } else if (key == "disabled") {
      if (!value.is_array()) return Bad(key, "a list of detector names", value);
      for (const json& d : value) {
        const std::string name = d.is_string() ? d.get<std::string>() : "";
        bool* flag = name == "volume"           ? &s.volume
                     : name == "column_metrics" ? &s.column_metrics
                     : name == "freshness"      ? &s.freshness
                     : name == "schema"         ? &s.schema
                     : name == "tests"          ? &s.tests
                                                : nullptr;
        if (!flag) {
          return Bad(key, "a list of volume, column_metrics, freshness, schema, tests", d);
        }
        *flag = false;
      }
    } else if (key == "sensitivity") {
      TM_ASSIGN_OR_RETURN(double x, Number(t, key, 0, true));
      s.sensitivity = x;
    } else if (key == "direction") {
      auto d = value.is_string() ? detectors::ParseDirection(value.get<std::string>())
                                 : std::nullopt;
      if (!d) return Bad(key, "\"both\", \"spike\" or \"drop\"", value);
      s.direction = *d;
    } else if (key == "seasonality") {
      auto d = value.is_string() ? detectors::ParseSeasonality(value.get<std::string>())
                                 : std::nullopt;
      if (!d) {
        return Bad(key, "\"auto\", \"none\", \"day_of_week\", \"hour_of_day\" or \"hour_of_week\"",
                   value);
      }
      s.seasonality = *d;
    } else if (key == "training_days") {
      TM_ASSIGN_OR_RETURN(double days, Number(t, key, 0, true));
      if (days > 3650) return Bad(key, "a number of days up to 3650", value);
      s.training_window = std::chrono::seconds(std::llround(days * 86400));
    } else if (key == "min_history") {
      if (!value.is_number_integer() || value.get<long long>() < 1 ||
          value.get<long long>() > 100000) {
        return Bad(key, "an integer from 1 to 100000", value);
      }
      s.min_history = static_cast<int>(value.get<long long>());
    } else if (key == "min_abs_change") {
      TM_ASSIGN_OR_RETURN(double x, Number(t, key, 0, false));
      s.min_abs_change = x;
    } else if (key == "min_rel_change") {
      TM_ASSIGN_OR_RETURN(double x, Number(t, key, 0, false));
      s.min_rel_change = x;
    } else if (key == "freshness") {
      if (!value.is_object()) return Bad(key, "an object with warn_after and/or error_after", value);
      detectors::FreshnessSettings& f = s.freshness_settings;
      f.warn_after.reset();
      f.error_after.reset();
      for (const auto& [name, rule] : value.items()) {
        const std::string path = "freshness." + name;
        if (name != "warn_after" && name != "error_after") {
          return Bad(path, "absent (known: warn_after, error_after)", rule);
        }
        TM_ASSIGN_OR_RETURN(std::chrono::seconds d, Duration(path, rule));
        (name == "warn_after" ? f.warn_after : f.error_after) = d;
      }
    } else {
      return Bad(key, "absent (unknown setting; known: enabled, disabled, sensitivity, direction,"
                      " seasonality, training_days, min_history, min_abs_change, min_rel_change,"
                      " freshness)",
                 value);
    }
  }
  detectors::FreshnessSettings& f = s.freshness_settings;
  if (s.seasonality) f.seasonality = *s.seasonality;
  if (s.training_window) f.training_window = *s.training_window;
  if (s.min_history) f.min_history = *s.min_history;
  return Status::Ok();
}

}  // namespace

detectors::VolumeSettings AssetDetectorSettings::VolumeFor(std::string_view metric) const {
  detectors::VolumeSettings v = detectors::DefaultVolumeSettings(metric);
  if (sensitivity) v.sensitivity = *sensitivity;
  if (direction) v.direction = *direction;
  if (seasonality) v.seasonality = *seasonality;
  if (training_window) v.training_window = *training_window;
  if (min_history) v.min_history = *min_history;
  if (min_abs_change) v.min_abs_change = *min_abs_change;
  if (min_rel_change) v.min_rel_change = *min_rel_change;
  return v;
}

Result<AssetDetectorSettings> ParseAssetDetectorSettings(std::string_view properties) {
  AssetDetectorSettings s;
  if (properties.empty()) return s;
  const json props = json::parse(properties, nullptr, false);
  if (!props.is_object()) return s;
  DbtFreshness(props, s.freshness_settings);
  auto meta = props.find("meta");
  if (meta == props.end() || !meta->is_object()) return s;
  auto t = meta->find("tidemark");
  if (t == meta->end()) return s;
  TM_RETURN_IF_ERROR(ParseTidemark(*t, s));
  return s;
}

}  // namespace tidemark::pipeline
