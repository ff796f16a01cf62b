#pragma once

// Per-asset detector settings from dbt's `meta.tidemark` (issue 5), as stored in an asset's
// properties ({"meta": {"tidemark": {...}}, "freshness": {...}}). Every key is optional:
//
//   enabled            false: no detector runs on the asset
//   disabled           list of "volume", "column_metrics", "freshness", "schema", "tests"
//   sensitivity        number > 0: robust z-score threshold of volume and column metrics
//   direction          "both" | "spike" | "drop"
//   seasonality        "auto" | "none" | "day_of_week" | "hour_of_day" | "hour_of_week"
//                      (volume, column metrics and freshness)
//   training_days      number > 0: history the baseline learns from (volume, freshness)
//   min_history        integer >= 1: training points (volume) or gaps (freshness) before a verdict
//   min_abs_change     number >= 0: smaller absolute changes never alert
//   min_rel_change     number >= 0: smaller relative changes never alert (0.05 = 5%)
//   freshness          {"warn_after": {"count": N, "period": "minute|hour|day"},
//                       "error_after": {...}}: an explicit SLA, replacing dbt's `freshness`
//
// dbt's own `freshness.warn_after/error_after` apply when meta.tidemark has no freshness.

#include <chrono>
#include <optional>
#include <string_view>

#include "tidemark/detectors/settings.h"
#include "tidemark/model/status.h"

namespace tidemark::pipeline {

struct AssetDetectorSettings {
  bool volume = true, column_metrics = true, freshness = true, schema = true, tests = true;
  detectors::FreshnessSettings freshness_settings;
  // Overrides of the per-metric volume defaults.
  std::optional<double> sensitivity;
  std::optional<detectors::Direction> direction;
  std::optional<detectors::Seasonality> seasonality;
  std::optional<std::chrono::seconds> training_window;
  std::optional<int> min_history;
  std::optional<double> min_abs_change, min_rel_change;

  // DefaultVolumeSettings(metric) with this asset's overrides.
  detectors::VolumeSettings VolumeFor(std::string_view metric) const;
};

// Reads an asset's properties JSON. Empty or non-object properties give the defaults; a bad
// value under meta.tidemark is InvalidArgument naming its JSON path ("meta.tidemark.sensitivity")
// and what was expected, so that the caller can report it and keep the defaults.
model::Result<AssetDetectorSettings> ParseAssetDetectorSettings(std::string_view properties);

}  // namespace tidemark::pipeline
