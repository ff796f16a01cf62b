#pragma once

// Metric series: append-only observations of one number about one asset over time.

#include <string>
#include <vector>

#include "tidemark/model/asset.h"
#include "tidemark/model/time.h"

namespace tidemark::model {

// Well-known metric names; any other name is a valid metric too ("null_rate:email", ...).
inline constexpr std::string_view kMetricRowCount = "row_count";
inline constexpr std::string_view kMetricBytes = "bytes";
inline constexpr std::string_view kMetricLastModified = "last_modified";   // value: epoch seconds
inline constexpr std::string_view kMetricRowsAffected = "rows_affected";
inline constexpr std::string_view kMetricDuration = "duration_s";
inline constexpr std::string_view kMetricUpdate = "update";                // one point per update

struct MetricPoint {
  AssetKey asset;
  std::string metric;
  Timestamp ts{};
  double value = 0;

  friend bool operator==(const MetricPoint&, const MetricPoint&) = default;
};

// One series read back in time order: what detectors consume.
struct Series {
  AssetKey asset;
  std::string metric;
  std::vector<Timestamp> ts;
  std::vector<double> values;
};

}  // namespace tidemark::model
