#include "baseline.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <utility>

#include "robust.h"
#include "series_grid.h"

namespace tidemark::detectors::internal {
namespace {

// A seasonal profile is kept only when it cuts the misfit to at most this fraction of the
// simpler model's: a profile that barely helps mostly fits noise, and costs a parameter per
// slot.
constexpr double kSeasonalGain = 0.85;
// A trend is kept only when its slope is this many standard errors from zero. Trends are
// extrapolated to the scored point, so a spurious one costs false alarms; 3 keeps them rare.
constexpr double kTrendT = 3.0;
// The screen lets a possible trend through to the full fit at this many (screen) standard
// errors: well below kTrendT, so the screen only saves work, it does not decide.
constexpr double kTrendScreen = 1.5;
// Fewer points than this cannot support a slope next to a level.
constexpr size_t kMinTrendPoints = 10;
// A profile is judged on the points whose slot holds at least two (one leave-one-out
// residual needs another point); at least this share of the window must qualify.
constexpr double kMinJudgedShare = 0.5;

// Tail calibration: a high quantile of |residual| against the normal's, at a level that
// leaves kTailPoints beyond it, between the 90th and 99th percentiles.
constexpr double kTailPoints = 5;
constexpr double kTailLow = 0.9;
constexpr double kTailHigh = 0.99;
constexpr double kMaxTail = 3;

std::int64_t PeriodSeconds(Seasonality s) { return s == Seasonality::kHourOfDay ? kDay : kWeek; }

// Median of the ascending run `v` without its element at index `skip`.
double MedianWithout(std::span<const std::pair<double, std::uint32_t>> v, size_t skip) {
  const size_t m = v.size() - 1;  // elements left
  auto at = [&](size_t k) { return v[k < skip ? k : k + 1].first; };
  return m % 2 == 1 ? at(m / 2) : 0.5 * (at(m / 2 - 1) + at(m / 2));
}

}  // namespace

std::int64_t SeasonalWarmup(Seasonality s, std::int64_t cadence, std::int64_t window_seconds,
                            int min_cycles) {
  if (s == Seasonality::kNone) return 0;
  std::int64_t period = 0;
  if (s == Seasonality::kAuto) {
    // The longest period the cadence resolves and the window can hold min_cycles of.
    for (std::int64_t p : {kWeek, kDay}) {
      if (cadence < p && min_cycles * p <= window_seconds) {
        period = p;
        break;
      }
    }
  } else {
    period = PeriodSeconds(s);
  }
  return period * min_cycles;
}

double BaselineFit::PredictionSigma(double t) const {
  if (!trend) return sigma;
  double d = slope_se * (t - t_mean);
  return std::sqrt(sigma * sigma + d * d);
}

void BaselineFitter::FitLevel(const TrainingSet& train, bool allow_trend, BaselineFit& fit) {
  fit.trend = false;
  fit.level = Median(deseason_, work_);
  fit.slope = 0;
  fit.slope_se = 0;
  fit.t_mean = 0;
  const size_t n = deseason_.size();
  if (!allow_trend || n < kMinTrendPoints || !(train.t.back() > train.t.front())) return;
  // Screen first: the slope between the halves' medians against its own noise (each median of
  // n/2 points has variance (π/2)·σ²/(n/2)). Most windows have no trend, and this costs three
  // medians where the Huber fit costs two more and three weighted passes.
  const double sigma = MadSigma(deseason_, fit.level, work_);
  const double slope = HalvesSlope(train.t, deseason_, work_);
  const double span = train.t[n - n / 4] - train.t[n / 4];  // distance between halves' centres
  const double screen_se = sigma * std::sqrt(2 * std::numbers::pi / static_cast<double>(n)) / span;
  if (!(sigma > 0) || std::abs(slope) < kTrendScreen * screen_se) return;
  LineFit line = HuberLine(train.t, deseason_, slope, work_, work2_);
  if (std::isfinite(line.slope_se) && std::abs(line.slope) > kTrendT * line.slope_se) {
    fit.trend = true;
    fit.level = line.level;
    fit.slope = line.slope;
    fit.slope_se = line.slope_se;
    fit.t_mean = line.t_mean;
  }
}

void BaselineFitter::FitProfile(const TrainingSet& train, Seasonality s, BaselineFit& fit) {
  // Counting sort by slot, then each slot sorted by value: medians and leave-one-out medians
  // are then index arithmetic.
  const size_t n = train.size();
  slot_start_[0] = 0;
  for (int k = 0; k < kMaxSlots; ++k) slot_start_[k + 1] = slot_start_[k] + fit.slot_count[k];
  std::array<std::uint32_t, kMaxSlots> fill{};
  grouped_.resize(n);
  for (size_t i = 0; i < n; ++i) {
    int k = SlotOf(s, train.how[i]);
    grouped_[slot_start_[k] + fill[k]++] = {train.y[i] - fit.level - fit.slope * train.t[i],
                                            static_cast<std::uint32_t>(i)};
  }
  for (int k = 0; k < kMaxSlots; ++k) {
    const std::uint32_t m = fit.slot_count[k];
    if (m == 0) continue;
    auto first = grouped_.begin() + slot_start_[k];
    std::sort(first, first + m);
    fit.season[k] =
        m % 2 == 1 ? first[m / 2].first : 0.5 * (first[m / 2 - 1].first + first[m / 2].first);
  }
}

void BaselineFitter::LeaveOneOutResiduals(const BaselineFit& fit) {
  resid_.clear();
  for (int k = 0; k < kMaxSlots; ++k) {
    const std::uint32_t m = fit.slot_count[k];
    if (m < 2) continue;
    std::span<const std::pair<double, std::uint32_t>> run(grouped_.data() + slot_start_[k], m);
    for (size_t r = 0; r < m; ++r) resid_.push_back(run[r].first - MedianWithout(run, r));
  }
}

bool BaselineFitter::FitOne(const TrainingSet& train, Seasonality s, const BaselineConfig& config,
                            BaselineFit& out, double screen_cap, double screen_limit) {
  const size_t n = train.size();
  out.seasonality = s;
  out.n = static_cast<int>(n);
  out.season.fill(0);
  out.slot_count.fill(0);
  if (s != Seasonality::kNone) {
    // Enough whole cycles, and most points in slots seen at least twice.
    double span_s = (train.t.back() - train.t.front() + 1) * static_cast<double>(config.cadence);
    if (span_s < config.min_cycles * static_cast<double>(PeriodSeconds(s))) return false;
    for (size_t i = 0; i < n; ++i) ++out.slot_count[SlotOf(s, train.how[i])];
    size_t judged = 0;
    for (int k = 0; k < kMaxSlots; ++k) judged += out.slot_count[k] >= 2 ? out.slot_count[k] : 0;
    if (static_cast<double>(judged) < kMinJudgedShare * static_cast<double>(n)) return false;
  }

  // Level and profile in turn. A first profile around the plain median, then the level (and
  // trend) of what that profile leaves, then the final profile: a trend is judged on
  // deseasonalised values (a weekly swing would drown it), and without one the second round
  // would not move any prediction.
  deseason_.assign(train.y.begin(), train.y.end());
  if (s != Seasonality::kNone) {
    // Round 0 around the line of the model without seasonality (flat when it has no trend).
    for (size_t i = 0; i < n; ++i) deseason_[i] = train.y[i] - start_slope_ * train.t[i];
    FitLevel(train, /*allow_trend=*/false, out);
    out.slope = start_slope_;
    FitProfile(train, s, out);
    out.slope = 0;
    if (std::isfinite(screen_limit)) {
      // Screen: a profile that does not help around that line will not be chosen once the
      // trend is refitted under it either; skip the costly half.
      LeaveOneOutResiduals(out);
      resid_center_ = 0;
      if (resid_.empty() || Misfit(screen_cap) >= screen_limit) return false;
    }
    for (size_t i = 0; i < n; ++i) deseason_[i] = train.y[i] - out.season[SlotOf(s, train.how[i])];
  }
  FitLevel(train, /*allow_trend=*/true, out);
  if (s != Seasonality::kNone) FitProfile(train, s, out);

  if (s == Seasonality::kNone) {
    // The level is a median of n points: a new point deviates by the noise plus the level's
    // own error, about (π/2)·σ²/n.
    resid_.resize(n);
    for (size_t i = 0; i < n; ++i) resid_[i] = train.y[i] - out.Predict(train.t[i], train.how[i]);
  } else {
    LeaveOneOutResiduals(out);
  }
  // Residuals of a median fit (and leave-one-out ones) are centred on zero by construction.
  resid_center_ = 0;
  double sigma = MadSigma(resid_, resid_center_, work_);
  if (s == Seasonality::kNone)
    sigma *= std::sqrt(1 + (std::numbers::pi / 2) / static_cast<double>(n));
  out.sigma = std::max(sigma, config.sigma_floor);
  // Tail: the highest quantile of |residual| the window supports (five points beyond it),
  // against what a normal distribution would put there. MadSigma left work_ partitioned
  // around its median, so the upper half is all that needs selecting in.
  const size_t m = resid_.size();
  const double level = std::clamp(1 - kTailPoints / static_cast<double>(m), kTailLow, kTailHigh);
  const size_t q = static_cast<size_t>(level * static_cast<double>(m - 1));
  std::nth_element(work_.begin() + static_cast<std::ptrdiff_t>(m / 2),
                   work_.begin() + static_cast<std::ptrdiff_t>(q), work_.end());
  const double normal = NormalQuantile(0.5 + level / 2) * out.sigma;
  out.tail = std::clamp(work_[q] / normal, 1.0, kMaxTail);
  return true;
}

double BaselineFitter::Misfit(double cap) {
  double sum = 0;
  for (double r : resid_) sum += std::min(std::abs(r - resid_center_), cap);
  return sum / static_cast<double>(resid_.size());
}

bool BaselineFitter::Refit(const TrainingSet& train, const BaselineConfig& config,
                           BaselineFit& fit) {
  if (train.size() < 3) return false;
  start_slope_ = fit.slope;
  const Seasonality s = fit.seasonality;
  if (FitOne(train, s, config, fit)) return true;
  return s != Seasonality::kNone && FitOne(train, Seasonality::kNone, config, fit);
}

bool BaselineFitter::Fit(const TrainingSet& train, const BaselineConfig& config, BaselineFit& out) {
  if (train.size() < 3) return false;
  if (!FitOne(train, Seasonality::kNone, config, out)) return false;
  const double cap = config.misfit_cap_sigmas * out.sigma;
  out.misfit = Misfit(cap);

  Seasonality candidates[3];
  int count = 0;
  if (config.seasonality != Seasonality::kAuto) {
    if (config.seasonality != Seasonality::kNone) candidates[count++] = config.seasonality;
  } else if (config.cadence == kDay) {
    candidates[count++] = Seasonality::kDayOfWeek;
  } else if (config.cadence < kDay && kDay % config.cadence == 0) {
    candidates[count++] = Seasonality::kHourOfDay;
    candidates[count++] = Seasonality::kDayOfWeek;  // weekends, without a daily rhythm
    candidates[count++] = Seasonality::kHourOfWeek;
  }
  const bool forced = config.seasonality != Seasonality::kAuto;
  // Each profile is first fitted around the line of the model without seasonality and
  // screened against that model's misfit.
  start_slope_ = out.slope;
  const double screen_limit = forced ? INFINITY : kSeasonalGain * out.misfit;
  BaselineFit candidate;
  for (int c = 0; c < count; ++c) {
    if (!FitOne(train, candidates[c], config, candidate, cap, screen_limit)) continue;
    candidate.misfit = Misfit(cap);
    if (forced || candidate.misfit < kSeasonalGain * out.misfit) out = candidate;
  }
  return true;
}

}  // namespace tidemark::detectors::internal
