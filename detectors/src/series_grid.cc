#include "series_grid.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace tidemark::detectors::internal {
namespace {

// The cadences real schedules use. Snapping keeps jittered timestamps (a daily job landing at
// 02:03, 02:11, 01:58) on one grid, and makes calendar slots meaningful.
constexpr std::int64_t kCadences[] = {60,         300,       600,       900,       1800,
                                      kHour,      2 * kHour, 3 * kHour, 4 * kHour, 6 * kHour,
                                      12 * kHour, kDay,      kWeek};
// Enough gaps for a stable median; few enough that the live service and replay compute it in
// well under a microsecond per point.
constexpr size_t kCadenceGaps = 64;

}  // namespace

std::int64_t SnapCadence(double seconds) {
  if (!(seconds > 0)) return kDay;
  std::int64_t best = kCadences[0];
  double best_dist = INFINITY;
  for (std::int64_t c : kCadences) {
    double dist = std::abs(std::log(seconds / static_cast<double>(c)));
    if (dist < best_dist) {
      best_dist = dist;
      best = c;
    }
  }
  return best;
}

std::int64_t InferCadence(std::span<const model::Timestamp> ts) {
  std::int64_t gaps[kCadenceGaps];
  size_t n = 0;
  for (size_t i = ts.size(); i-- > 1 && n < kCadenceGaps;) {
    std::int64_t g = model::ToMicros(ts[i]) - model::ToMicros(ts[i - 1]);
    if (g > 0) gaps[n++] = g;
  }
  if (n == 0) return kDay;
  std::nth_element(gaps, gaps + n / 2, gaps + n);
  return SnapCadence(static_cast<double>(gaps[n / 2]) / 1e6);
}

model::Status ValidateSeries(std::span<const model::Timestamp> ts, std::span<const double> values) {
  if (ts.size() != values.size()) {
    return model::Status::InvalidArgument("series has " + std::to_string(ts.size()) +
                                          " timestamps but " + std::to_string(values.size()) +
                                          " values");
  }
  for (size_t i = 0; i < ts.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return model::Status::InvalidArgument("value is not a finite number",
                                            "point " + std::to_string(i));
    }
    if (i > 0 && ts[i] < ts[i - 1]) {
      return model::Status::InvalidArgument("timestamps are not in time order",
                                            "point " + std::to_string(i));
    }
  }
  return model::Status::Ok();
}

void BuildGrid(std::span<const model::Timestamp> ts, std::span<const double> values,
               std::int64_t cadence, Grid& out) {
  out.cadence = cadence;
  out.bucket.clear();
  out.raw.clear();
  out.symlog.clear();
  out.how.clear();
  out.last_point.clear();
  out.grid_of_point.resize(ts.size());
  for (size_t p = 0; p < ts.size(); ++p) {
    std::int64_t b = FloorDiv(EpochSeconds(ts[p]), cadence);
    if (out.bucket.empty() || out.bucket.back() != b) {
      out.bucket.push_back(b);
      out.raw.push_back(0);
      out.symlog.push_back(std::numeric_limits<double>::quiet_NaN());
      out.how.push_back(static_cast<std::uint8_t>(HourOfWeek(b * cadence)));
      out.last_point.push_back(0);
    }
    out.raw.back() = values[p];
    out.last_point.back() = static_cast<std::uint32_t>(p);
    out.grid_of_point[p] = static_cast<std::uint32_t>(out.bucket.size() - 1);
  }
}

}  // namespace tidemark::detectors::internal
