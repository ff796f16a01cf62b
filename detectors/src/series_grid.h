#pragma once

// Series on a bucket grid: cadence inference, bucketing of irregular timestamps, calendar
// slots. Times are UTC epoch seconds; slots are UTC (a per-asset time zone is later wiring).

#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "tidemark/model/status.h"
#include "tidemark/model/time.h"

namespace tidemark::detectors::internal {

inline constexpr std::int64_t kHour = 3600;
inline constexpr std::int64_t kDay = 86400;
inline constexpr std::int64_t kWeek = 7 * kDay;

inline std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

inline std::int64_t EpochSeconds(model::Timestamp t) {
  return FloorDiv(model::ToMicros(t), 1'000'000);
}

inline model::Timestamp FromEpochSeconds(std::int64_t s) {
  return model::FromMicros(s * 1'000'000);
}

// Hour of the week, Monday 00:00 UTC = 0 ... Sunday 23:00 = 167.
inline int HourOfWeek(std::int64_t epoch_s) {
  std::int64_t days = FloorDiv(epoch_s, kDay);
  int dow = static_cast<int>(((days + 3) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
  int hour = static_cast<int>(FloorDiv(epoch_s - days * kDay, kHour));
  return dow * 24 + hour;
}

// The standard cadence nearest (in ratio) to `seconds`.
std::int64_t SnapCadence(double seconds);

// Cadence of a series from the median gap between its last (up to 64) distinct timestamps;
// one day when there are fewer than two.
std::int64_t InferCadence(std::span<const model::Timestamp> ts);

// InvalidArgument (naming the index) unless ts is non-decreasing, sizes match and values are
// finite.
model::Status ValidateSeries(std::span<const model::Timestamp> ts, std::span<const double> values);

// The points of a series on a grid of `cadence` seconds aligned to the epoch (so daily
// buckets are UTC days). The last point of a bucket stands for it.
struct Grid {
  std::int64_t cadence = 0;
  std::vector<std::int64_t> bucket;       // floor(ts / cadence), increasing
  std::vector<double> raw;                // the value as observed
  std::vector<double> symlog;             // sign(x) · log(1 + |x|), NaN until computed
  std::vector<std::uint8_t> how;          // HourOfWeek of the bucket's start
  std::vector<std::uint32_t> last_point;  // index in the series of the standing point
  // Grid index of the bucket holding series point p.
  std::vector<std::uint32_t> grid_of_point;

  size_t size() const { return bucket.size(); }
};

// REQUIRES: ValidateSeries passed; cadence > 0.
void BuildGrid(std::span<const model::Timestamp> ts, std::span<const double> values,
               std::int64_t cadence, Grid& out);

inline double SymLog(double x) { return x < 0 ? -std::log1p(-x) : std::log1p(x); }
inline double SymExp(double y) { return y < 0 ? -std::expm1(-y) : std::expm1(y); }

}  // namespace tidemark::detectors::internal
