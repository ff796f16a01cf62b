#pragma once

// The robust baseline behind the volume and column-metric detectors: level, optional trend,
// optional seasonal profile and residual spread, fitted to one training window.

#include <array>
#include <cmath>
#include <cstdint>
#include <span>
#include <vector>

#include "tidemark/detectors/settings.h"

namespace tidemark::detectors::internal {

// One training window, in time order. t is in buckets relative to the scored point (so
// negative); y is on the modelling scale.
struct TrainingSet {
  std::vector<double> t;
  std::vector<double> y;
  std::vector<std::uint8_t> how;  // hour-of-week slot

  size_t size() const { return t.size(); }
  void Clear() {
    t.clear();
    y.clear();
    how.clear();
  }
  void Add(double ti, double yi, std::uint8_t hi) {
    t.push_back(ti);
    y.push_back(yi);
    how.push_back(hi);
  }
};

inline constexpr int kMaxSlots = 168;

// Slot of an hour-of-week under a seasonality (0 for none).
inline int SlotOf(Seasonality s, int how) {
  switch (s) {
    case Seasonality::kDayOfWeek:
      return how / 24;
    case Seasonality::kHourOfDay:
      return how % 24;
    case Seasonality::kHourOfWeek:
      return how;
    default:
      return 0;
  }
}

struct BaselineFit {
  Seasonality seasonality = Seasonality::kNone;
  bool trend = false;
  double level = 0;  // at t = 0, without the seasonal term
  double slope = 0;  // per bucket
  double slope_se = 0;
  double t_mean = 0;
  // Robust standard deviation of a new point around Predict, from leave-one-out residuals
  // (each point against the profile fitted without it), so a slot estimated from three points
  // carries its own uncertainty.
  double sigma = 0;
  // Mean absolute leave-one-out residual, each clipped at a common cap: how well the model
  // explains the window, used to choose between candidates. Unlike sigma it sees a
  // systematic misfit (every Saturday off) that a robust scale would shrug off.
  double misfit = 0;
  // How much heavier than normal the residuals' tail is: a high quantile of |residual| (the
  // 90th to 99th percentile, as far out as the window supports) over its normal value,
  // clamped to [1, 3]. Bands are widened by it, so a table whose loads swing wildly now and
  // then does not alert on every swing.
  double tail = 1;
  int n = 0;
  std::array<double, kMaxSlots> season{};
  std::array<std::uint16_t, kMaxSlots> slot_count{};

  double Predict(double t, int how) const {
    return level + slope * t + season[SlotOf(seasonality, how)];
  }
  // Standard deviation of a new point's deviation from Predict: sigma plus the uncertainty of
  // the extrapolated trend.
  double PredictionSigma(double t) const;
  // Training points in the slot of `how` (all of them without seasonality).
  int SlotCount(int how) const {
    return seasonality == Seasonality::kNone ? n : slot_count[SlotOf(seasonality, how)];
  }
};

struct BaselineConfig {
  Seasonality seasonality = Seasonality::kAuto;
  std::int64_t cadence = 86400;  // seconds
  int min_cycles = 2;
  double sigma_floor = 0;  // lower bound on sigma (flat series)
  // For `misfit`, residuals are clipped at this many sigmas of the model without seasonality
  // (a common cap, so one incident weighs the same under every candidate).
  double misfit_cap_sigmas = 4;
};

// Seconds of history a verdict needs so that the seasonal profiles the cadence allows can be
// seen at least `min_cycles` times within a window of `window_seconds`: two weeks for daily
// and hourly series, two days for 5-minute ones (whose window is too short for weeks), zero
// when no profile applies or seasonality is fixed to none.
std::int64_t SeasonalWarmup(Seasonality s, std::int64_t cadence, std::int64_t window_seconds,
                            int min_cycles);

// Fits the allowed candidates and keeps the simplest one that explains the data; reuses its
// working space across calls (one per thread).
class BaselineFitter {
 public:
  // False when `train` is too small for even a level (fewer than 3 points).
  bool Fit(const TrainingSet& train, const BaselineConfig& config, BaselineFit& out);
  // Fits `train` again with the seasonality already chosen in `fit` (none if it no longer
  // fits), replacing `fit`. False when `train` is too small.
  bool Refit(const TrainingSet& train, const BaselineConfig& config, BaselineFit& fit);

 private:
  // Fits one candidate; leaves its residuals (leave-one-out for profiles) in resid_. With a
  // finite `screen_limit`, gives up (false) as soon as the profile around the starting line
  // shows a misfit (clipped at `screen_cap`) of at least `screen_limit`.
  bool FitOne(const TrainingSet& train, Seasonality s, const BaselineConfig& config,
              BaselineFit& out, double screen_cap = 0, double screen_limit = INFINITY);
  // Mean absolute deviation of resid_ from their median, each clipped at `cap`.
  double Misfit(double cap);
  void FitLevel(const TrainingSet& train, bool allow_trend, BaselineFit& fit);
  // Groups detrended values by slot, each slot sorted; sets the profile to slot medians.
  void FitProfile(const TrainingSet& train, Seasonality s, BaselineFit& fit);
  // Leave-one-out residuals of the profile fitted by FitProfile, into resid_.
  void LeaveOneOutResiduals(const BaselineFit& fit);

  std::vector<double> work_, work2_, deseason_, resid_;
  double resid_center_ = 0;
  double start_slope_ = 0;  // slope the first round of a profile starts from
  std::vector<std::pair<double, std::uint32_t>> grouped_;  // (detrended value, point) by slot
  std::array<std::uint32_t, kMaxSlots + 1> slot_start_{};
};

}  // namespace tidemark::detectors::internal
