#include "tidemark/detectors/volume.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "baseline.h"
#include "explain.h"
#include "robust.h"
#include "series_grid.h"
#include "tidemark/detectors/detector.h"
#include "volume_internal.h"

namespace tidemark::detectors {
namespace {

using internal::BaselineConfig;
using internal::BaselineFit;
using internal::BaselineFitter;
using internal::Grid;
using internal::TrainingSet;

// On the log scale the spread of a perfectly flat table is zero; a floor of 1% keeps the
// z-score meaningful there (the minimum-change gates then decide).
constexpr double kLogSigmaFloor = 0.01;
// On the raw scale: a thousandth of the typical magnitude, or a tiny absolute amount.
constexpr double kRelSigmaFloor = 1e-3;
constexpr double kAbsSigmaFloor = 1e-9;
// Counts of rows vary at least about like a Poisson count; half of that deviation (and at
// least half a row) is the floor of a count's spread. Batch tables loading exactly the same
// number of rows keep room below the Poisson level; tiny hourly counts stop alerting on 5
// rows against an expected 7.
constexpr double kCountNoise = 0.5;
// A zero is news when the same slot was zero in at most this share of the window.
constexpr double kZeroRare = 0.1;
// A frozen value is news when repeats that long would happen by chance at most this often
// (expected chance freezes per day)...
constexpr double kFrozenFalsePerDay = 1e-3;
// ...and only for series that normally move: at least this share of transitions changed.
constexpr double kNormallyChanges = 0.9;
// A level shift needs this many points before it to compare against.
constexpr size_t kMinPreShift = 5;
// Residuals are clipped at this many thresholds while locating a shift, so a single spike
// cannot masquerade as one.
constexpr double kShiftClip = 1.5;
// Share of the points after a shift that must sit on its side of the midpoint.
constexpr double kShiftConsistency = 0.8;
// An abrupt shift's first points are at least this share of the way to the new level.
constexpr double kAbruptShare = 0.75;
// Automatic training window: 28 days, clamped to [56, 2016] buckets.
constexpr std::int64_t kAutoWindowSeconds = 28 * internal::kDay;
constexpr std::int64_t kMinWindowBuckets = 56;
constexpr std::int64_t kMaxWindowBuckets = 2016;

// One observed bucket of the training window (flagged ones too: they matter for shifts).
// `q` is the modelled quantity in the metric's unit: the value itself, or for a cumulative
// metric what the bucket added (per bucket, when buckets are missing in between).
struct WindowPoint {
  std::uint32_t grid = 0;
  double t = 0;
  double q = 0;
  double y = 0;  // q on the modelling scale
  std::uint8_t how = 0;
  bool excluded = false;
};

struct Shift {
  bool found = false;
  size_t first = 0;  // window index of the first point at the new level
  double delta = 0;  // new level minus old, on the modelling scale
};

// For a cumulative metric: the value the scored increment is measured from.
struct Anchor {
  size_t grid = 0;
  bool skipped = false;  // flagged values after it were passed over
  double pred = 0;       // expected step per loading bucket, on the modelling scale
  double per = 1;        // loading buckets from it to the scored one
  double deviation = 0;  // |observed - expected| step in prediction spreads
};

enum class Finding { kNone, kSpike, kDrop, kZero, kFrozen };

// The scored point and its window on the grid.
struct Target {
  const Grid* grid = nullptr;
  size_t g = 0;      // grid index of the scored bucket
  size_t first = 0;  // first grid index of the window
  std::int64_t cadence = 0;
  std::int64_t bucket = 0;
  int how = 0;
  double raw = 0;   // the metric's value
  double q = 0;     // the modelled quantity
  double base = 0;  // metric = base + per · q
  double per = 1;
};

// What the scored point turned out to be, and the numbers behind it.
struct Verdict {
  Finding finding = Finding::kNone;
  double z = 0;         // robust z-score on the modelling scale
  double expected = 0;  // expected quantity, metric units
  double low = 0;       // values in [low, high] are not flagged
  double high = 0;
  std::optional<Anchor> anchor;  // cumulative metrics
  int frozen_run = 0;
  double change_rate = 0;
  int transitions = 0;
};

// Scores points of one series. Holds working space that survives Reset(), so a thread can
// score millions of series without allocating (see ThreadScorer).
class VolumeScorer {
 public:
  // Points the scorer at a series. `series` and `settings` must outlive the following Score
  // calls.
  void Reset(const model::Series& series, const VolumeSettings& settings,
             std::string_view detector) {
    series_ = &series;
    settings_ = &settings;
    detector_ = detector;
    grids_used_ = 0;
  }

  // What the live service says about point `p` as the latest one, given the points flagged
  // so far (by series index). REQUIRES: p < series size; the series was validated.
  std::optional<model::Anomaly> Score(size_t p, std::span<const std::uint8_t> point_flagged);

 private:
  Grid& GridFor(std::int64_t cadence);
  std::int64_t WindowBuckets(std::int64_t cadence) const;
  // Finds point p's bucket, window and threshold.
  void Locate(size_t p, Target& target);
  // The baseline of the training window, re-baselined after a level shift if there is one.
  bool FitBaseline(BaselineFit& fit, Shift& shift);
  // The verdict on the scored point; nullopt when it is normal. Sets target.q (and, for a
  // cumulative metric, the anchor it is measured from).
  std::optional<Verdict> Judge(Target& target, const BaselineFit& fit, const Shift& shift);
  std::string Explain(const Target& target, const BaselineFit& fit, const Shift& shift,
                      const Verdict& v, model::Timestamp ts) const;
  bool Flagged(size_t grid_index) const { return flagged_[grid_->last_point[grid_index]] != 0; }
  // Fills window_ with the modelled quantity and decides the scale; false in cold start.
  bool BuildWindow(const Target& target);
  // Training = non-excluded window points; with a shift, the points before it moved by delta
  // and the points after it all included (they are the new normal).
  void BuildTraining(const Shift& shift);
  // Fits, then drops the points the fit itself would flag and fits again.
  bool FitClean(BaselineFit& fit);
  // `abrupt`: also require the first points after the split to sit at the new level (a step,
  // not the middle of a ramp).
  Shift FindShift(const BaselineFit& fit, bool abrupt);
  Shift CheckShiftAt(size_t j, double sigma_floor, bool abrupt);
  Anchor ChooseAnchor(const Target& target, const BaselineFit& fit, double psig) const;
  double PredictionSpread(const BaselineFit& fit, double pred) const;
  bool IsFrozen(const Target& target, int& run, double& change_rate, int& transitions) const;
  double ZeroShare(Seasonality s, int target_how) const;
  // Buckets in (from, to] expected to load: `to`, and those of slots the series is seen in.
  int LoadingBuckets(std::int64_t from, std::int64_t to, std::int64_t cadence) const;
  double ToScale(double q) const { return use_log_ ? internal::SymLog(q) : q; }
  double FromScale(double y) const { return use_log_ ? internal::SymExp(y) : y; }

  const model::Series* series_ = nullptr;
  const VolumeSettings* settings_ = nullptr;
  std::string_view detector_;
  // Grids of the current series by cadence; entries past grids_used_ are spare capacity.
  std::vector<std::pair<std::int64_t, std::unique_ptr<Grid>>> grids_;
  size_t grids_used_ = 0;
  BaselineFitter fitter_;
  BaselineConfig config_;
  // Per-Score state.
  Grid* grid_ = nullptr;
  std::span<const std::uint8_t> flagged_;
  double threshold_ = 0;  // robust z beyond which a point is flagged, for this cadence
  bool use_log_ = false;
  bool integral_ = false;
  Seasonality occupancy_ = Seasonality::kNone;
  std::array<bool, internal::kMaxSlots> slot_seen_{};
  std::vector<WindowPoint> window_;
  TrainingSet train_;
  std::vector<std::uint32_t> train_window_index_;
  std::vector<std::uint32_t> shift_points_;  // window indices taking part in the shift scan
  std::vector<double> resid_, prefix_, work_, work2_;
};

Grid& VolumeScorer::GridFor(std::int64_t cadence) {
  for (size_t i = 0; i < grids_used_; ++i) {
    if (grids_[i].first == cadence) return *grids_[i].second;
  }
  if (grids_used_ == grids_.size()) grids_.emplace_back(0, std::make_unique<Grid>());
  auto& [c, grid] = grids_[grids_used_++];
  c = cadence;
  internal::BuildGrid(series_->ts, series_->values, cadence, *grid);
  return *grid;
}

std::int64_t VolumeScorer::WindowBuckets(std::int64_t cadence) const {
  if (settings_->training_window.count() > 0) {
    return std::max<std::int64_t>(settings_->training_window.count() / cadence, 1);
  }
  return std::clamp(kAutoWindowSeconds / cadence, kMinWindowBuckets, kMaxWindowBuckets);
}

int VolumeScorer::LoadingBuckets(std::int64_t from, std::int64_t to, std::int64_t cadence) const {
  if (to - from == 1) return 1;
  int loading = 1;  // `to` itself: it was observed
  for (std::int64_t b = from + 1; b < to; ++b) {
    loading += slot_seen_[internal::SlotOf(occupancy_, internal::HourOfWeek(b * cadence))];
  }
  return loading;
}

bool VolumeScorer::BuildWindow(const Target& target) {
  Grid& grid = *grid_;
  const bool cumulative = settings_->cumulative;
  const size_t begin = cumulative ? std::max<size_t>(target.first, 1) : target.first;
  // Which calendar slots the series is observed in at all (a weekday-only table has no
  // Saturday): buckets of unseen slots are not expected to load.
  occupancy_ = target.cadence == internal::kDay ? Seasonality::kDayOfWeek
               : target.cadence < internal::kDay && internal::kDay % target.cadence == 0
                   ? Seasonality::kHourOfWeek
                   : Seasonality::kNone;
  slot_seen_.fill(false);
  for (size_t i = begin; i < target.g; ++i)
    slot_seen_[internal::SlotOf(occupancy_, grid.how[i])] = true;
  auto quantity = [&](size_t i) {
    if (!cumulative) return grid.raw[i];
    return (grid.raw[i] - grid.raw[i - 1]) /
           static_cast<double>(LoadingBuckets(grid.bucket[i - 1], grid.bucket[i], target.cadence));
  };
  // The scale is decided from the training points alone.
  use_log_ = settings_->transform == Transform::kLog;
  if (settings_->transform == Transform::kAuto) {
    use_log_ = true;
    for (size_t i = begin; i < target.g; ++i) {
      if (!Flagged(i) && quantity(i) < 0) use_log_ = false;
    }
  }
  window_.clear();
  size_t usable = 0;
  integral_ = true;
  // Which calendar slots the series is observed in at all (a weekday-only table has no
  // Saturday): buckets of unseen slots are not expected to load.
  occupancy_ = target.cadence == internal::kDay ? Seasonality::kDayOfWeek
               : target.cadence < internal::kDay && internal::kDay % target.cadence == 0
                   ? Seasonality::kHourOfWeek
                   : Seasonality::kNone;
  for (size_t i = begin; i < target.g; ++i) {
    WindowPoint w;
    w.grid = static_cast<std::uint32_t>(i);
    w.t = static_cast<double>(grid.bucket[i] - target.bucket);
    w.q = quantity(i);
    if (use_log_ && !cumulative) {
      // Plain values on the log scale are cached on the grid: replay revisits each point once
      // per later point.
      if (std::isnan(grid.symlog[i])) grid.symlog[i] = internal::SymLog(w.q);
      w.y = grid.symlog[i];
    } else {
      w.y = ToScale(w.q);
    }
    w.how = grid.how[i];
    // An increment touching a flagged value is as suspect as the value.
    w.excluded = Flagged(i) || (cumulative && Flagged(i - 1));
    usable += !w.excluded;
    integral_ &= grid.raw[i] == std::round(grid.raw[i]);
    window_.push_back(w);
  }
  // Exclusions are for incidents. When they would leave out most of the window, what was
  // flagged is the series' new normal (a change the shift rule could not pin down): use all.
  if (2 * usable < window_.size()) {
    for (WindowPoint& w : window_) w.excluded = false;
    usable = window_.size();
  }
  if (usable < static_cast<size_t>(std::max(settings_->min_history, 3))) return false;
  // Cold start also waits until the weekly (or daily) profile could have been seen twice:
  // judging the first Saturday of an hourly series against weekdays would alert, and the
  // alert would keep that Saturday out of the very history that teaches the profile.
  const std::int64_t window_seconds = WindowBuckets(target.cadence) * target.cadence;
  if ((target.bucket - grid.bucket[target.first]) * target.cadence <
      internal::SeasonalWarmup(settings_->seasonality, target.cadence, window_seconds,
                               settings_->min_seasonal_cycles)) {
    return false;
  }
  double magnitude = 0;
  for (const WindowPoint& w : window_) magnitude += w.excluded ? 0 : std::abs(w.q);
  config_.seasonality = settings_->seasonality;
  config_.cadence = target.cadence;
  config_.min_cycles = settings_->min_seasonal_cycles;
  config_.misfit_cap_sigmas = threshold_;
  config_.sigma_floor =
      use_log_ ? kLogSigmaFloor
               : std::max(kRelSigmaFloor * magnitude / static_cast<double>(usable), kAbsSigmaFloor);
  return true;
}

void VolumeScorer::BuildTraining(const Shift& shift) {
  train_.Clear();
  train_window_index_.clear();
  for (size_t i = 0; i < window_.size(); ++i) {
    const WindowPoint& w = window_[i];
    bool after = shift.found && i >= shift.first;
    if (w.excluded && !after) continue;
    train_.Add(w.t, shift.found && !after ? w.y + shift.delta : w.y, w.how);
    train_window_index_.push_back(static_cast<std::uint32_t>(i));
  }
}

bool VolumeScorer::FitClean(BaselineFit& fit) {
  if (!fitter_.Fit(train_, config_, fit)) return false;
  // Points this fit would flag are past incidents the caller did not tell us about; the
  // median already shrugs them off, but the seasonal slots (a handful of points each) and the
  // spread do not. One round of rejection is enough: the second fit is of clean data.
  // The limit leaves the tail factor out: a holiday's 24 hourly points would otherwise widen
  // the tail enough to keep themselves in.
  const double limit = threshold_ * fit.sigma;
  auto keep = [&](size_t i) {
    return std::abs(train_.y[i] - fit.Predict(train_.t[i], train_.how[i])) <= limit;
  };
  size_t kept = 0;
  for (size_t i = 0; i < train_.size(); ++i) kept += keep(i);
  if (kept == train_.size() || kept < static_cast<size_t>(settings_->min_history)) return true;
  size_t out = 0;
  for (size_t i = 0; i < train_.size(); ++i) {
    if (!keep(i)) continue;
    train_.t[out] = train_.t[i];
    train_.y[out] = train_.y[i];
    train_.how[out] = train_.how[i];
    train_window_index_[out] = train_window_index_[i];
    ++out;
  }
  train_.t.resize(out);
  train_.y.resize(out);
  train_.how.resize(out);
  train_window_index_.resize(out);
  BaselineFit refit = fit;
  if (fitter_.Refit(train_, config_, refit)) fit = refit;
  return true;
}

// A level shift is a change point in the residuals after which the series stays at a new
// level. `level_shift_points` flagged points on one side with the points between them on
// that side too are one; otherwise it is located by the split maximising the two-sample statistic
// on clipped residuals (prefix sums: linear time), then confirmed with medians: the new level must
// be `sensitivity` robust deviations away (deviations measured within each side, so the mix of two
// levels does not inflate them), it must have lasted `level_shift_points` points, and nearly all of
// them must sit on its side (a persistent move, not a lone spike).
Shift VolumeScorer::FindShift(const BaselineFit& fit, bool abrupt) {
  const size_t persist = static_cast<size_t>(std::max(settings_->level_shift_points, 0));
  // On the log scale a zero carries no level: a weekend-off table's empty Saturdays stay
  // empty whatever its weekday level does. They sit the scan out.
  shift_points_.clear();
  for (size_t i = 0; i < window_.size(); ++i) {
    if (!(use_log_ && window_[i].q == 0)) shift_points_.push_back(static_cast<std::uint32_t>(i));
  }
  const size_t m = shift_points_.size();
  if (persist == 0 || m < persist + kMinPreShift) return {};
  resid_.resize(m);
  prefix_.assign(m + 1, 0.0);
  const double clip = kShiftClip * threshold_ * fit.sigma * fit.tail;
  for (size_t i = 0; i < m; ++i) {
    const WindowPoint& w = window_[shift_points_[i]];
    resid_[i] = w.y - fit.Predict(w.t, w.how);
    prefix_[i + 1] = prefix_[i] + std::clamp(resid_[i], -clip, clip);
  }
  // The plainest evidence: since some flagged point, `persist` or more points were flagged
  // on one side and nearly all the others sit on that side too (a shift the band only just
  // catches flags most, not all, of its points). Whatever the spread says, that is the new
  // level.
  const double out = threshold_ * fit.sigma * fit.tail;
  const double sign = resid_[m - 1] > 0 ? 1 : -1;
  size_t same = 0, flagged = 0, start = m;
  for (size_t j = m; j-- > 0;) {
    const double r = resid_[j] * sign;
    same += r > out / 2;
    const bool flag = window_[shift_points_[j]].excluded && r >= out;
    flagged += flag;
    const size_t len = m - j;
    if (flag && flagged >= persist &&
        static_cast<double>(same) >= kShiftConsistency * static_cast<double>(len)) {
      start = j;
    }
    if (len >= persist && static_cast<double>(same) < 0.5 * static_cast<double>(len)) break;
  }
  if (start < m && start >= kMinPreShift) {
    const double delta = internal::Median(std::span<const double>(resid_).subspan(start), work_) -
                         internal::Median(std::span<const double>(resid_).subspan(0, start), work_);
    return Shift{true, shift_points_[start], delta};
  }
  double best_stat = 0;
  size_t best = 0;
  for (size_t j = kMinPreShift; j + persist <= m; ++j) {
    double n1 = static_cast<double>(j), n2 = static_cast<double>(m - j);
    double diff = (prefix_[m] - prefix_[j]) / n2 - prefix_[j] / n1;
    double stat = std::abs(diff) / std::sqrt(1 / n1 + 1 / n2);
    if (stat > best_stat) {
      best_stat = stat;
      best = j;
    }
  }
  if (best_stat < threshold_ * fit.sigma) return {};
  // The mean-based split can land a point off the true start; try its neighbours.
  size_t lo = std::max(kMinPreShift, best >= 2 ? best - 2 : 0);
  size_t hi = std::min(m - persist, best + 2);
  for (size_t j = lo; j <= hi; ++j) {
    Shift s = CheckShiftAt(j, config_.sigma_floor, abrupt);
    if (s.found) return s;
  }
  return {};
}

Shift VolumeScorer::CheckShiftAt(size_t j, double sigma_floor, bool abrupt) {
  const size_t m = shift_points_.size();
  std::span<const double> r(resid_);
  double med_pre = internal::Median(r.subspan(0, j), work_);
  double med_post = internal::Median(r.subspan(j), work_);
  double delta = med_post - med_pre;
  // Spread within the two segments, pooled: the mixture of two levels would inflate it.
  work2_.resize(m);
  for (size_t i = 0; i < m; ++i) work2_[i] = std::abs(r[i] - (i < j ? med_pre : med_post));
  double spread = std::max(internal::kMadToSigma * internal::MedianInPlace(work2_), sigma_floor);
  if (std::abs(delta) < threshold_ * spread) return {};
  // Persistent: nearly all points since the split sit on the new side of the midpoint
  // between the two levels. A lone spike or a short incident followed by recovery fails this.
  const double sign = delta > 0 ? 1 : -1;
  size_t beyond = 0;
  for (size_t k = j; k < m; ++k) beyond += (r[k] - med_pre) * sign > std::abs(delta) / 2;
  if (static_cast<double>(beyond) < kShiftConsistency * static_cast<double>(m - j)) return {};
  if (abrupt) {
    const size_t persist = static_cast<size_t>(settings_->level_shift_points);
    for (size_t k = j; k < j + persist && k < m; ++k) {
      if ((r[k] - med_pre) * sign < kAbruptShare * std::abs(delta)) return {};
    }
  }
  return Shift{true, shift_points_[j], delta};
}

// A cumulative metric's increment is measured from the previous value, or from the last value
// not flagged, whichever reads as more normal. The previous value is right after an unusual
// load (the rows did land: a slow holiday load is not a reason to alert the next day) and
// after a truncation or a backfill (the table lives at its new size now); the last value not
// flagged is right after a transient (a table emptied and refilled, a count stuck and then
// catching up). So a truncation is one anomaly, and a freeze is flagged until it thaws.
Anchor VolumeScorer::ChooseAnchor(const Target& target, const BaselineFit& fit, double psig) const {
  const Grid& grid = *grid_;
  auto reading = [&](size_t a, bool skipped) {
    // Over a gap of several buckets the expected step is the average of the expectations of
    // the buckets that load at all: a Tuesday-to-Saturday gap mixes weekday and Saturday
    // loads, and a weekday-only table's Friday-to-Monday gap holds one load, not three.
    double sum = 0;
    int loading = 0;
    for (std::int64_t b = grid.bucket[a] + 1; b <= target.bucket; ++b) {
      const int how = internal::HourOfWeek(b * target.cadence);
      if (b != target.bucket && !slot_seen_[internal::SlotOf(occupancy_, how)]) continue;
      sum += FromScale(fit.Predict(static_cast<double>(b - target.bucket), how));
      ++loading;
    }
    Anchor anchor{a, skipped, ToScale(sum / loading), static_cast<double>(loading), 0};
    const double step = (target.raw - grid.raw[a]) / anchor.per;
    anchor.deviation = std::abs(ToScale(step) - anchor.pred) / psig;
    return anchor;
  };
  const size_t previous = target.g - 1;
  size_t clean = previous;
  while (clean > target.first && Flagged(clean)) --clean;
  Anchor best = reading(previous, false);
  if (clean != previous && !Flagged(clean)) {
    Anchor other = reading(clean, true);
    if (other.deviation < best.deviation) best = other;
  }
  return best;
}

double VolumeScorer::PredictionSpread(const BaselineFit& fit, double pred) const {
  // The fit's spread, widened for heavy tails, and for counts never under the count floor
  // (on the log scale, that floor relative to the expected level).
  double psig = fit.PredictionSigma(0) * fit.tail;
  if (integral_) {
    const double level = std::abs(FromScale(pred));
    const double floor = kCountNoise * std::max(std::sqrt(level), 1.0);
    psig = std::max(psig, use_log_ ? floor / (1 + level) : floor);
  }
  return psig;
}

bool VolumeScorer::IsFrozen(const Target& target, int& run, double& change_rate,
                            int& transitions) const {
  run = 0;
  const Grid& grid = *grid_;
  if (settings_->frozen_after <= 0 || target.raw == 0) return false;
  size_t i = target.g;
  while (i > target.first && grid.raw[i - 1] == target.raw) {
    --i;
    ++run;
  }
  if (run < settings_->frozen_after) return false;
  // How often did the value stay put from one bucket to the next before the freeze?
  // Transitions touching zero are left out: an empty weekend load is not a frozen count. The
  // chance of `run` repeats in a row by luck, (rate of repeats)^run with the rate estimated
  // as (repeats + 1) / (transitions + 2), must be below kFrozenFalsePerDay a day.
  // A freeze no longer than one the window has already lived through is not news either
  // (small counts sit on one value for hours).
  int changed = 0, repeats = 0, longest = 0;
  transitions = 0;
  for (size_t k = target.first + 1; k < i; ++k) {
    if (grid.raw[k] == 0 || grid.raw[k - 1] == 0) continue;
    ++transitions;
    const bool moved = grid.raw[k] != grid.raw[k - 1];
    changed += moved;
    repeats = moved ? 0 : repeats + 1;
    longest = std::max(longest, repeats);
  }
  if (transitions < settings_->min_history || run <= longest) return false;
  change_rate = static_cast<double>(changed) / transitions;
  if (change_rate < kNormallyChanges) return false;
  const double repeat = static_cast<double>(transitions - changed + 1) / (transitions + 2);
  const double per_day = static_cast<double>(internal::kDay) / static_cast<double>(target.cadence);
  return std::pow(repeat, run) * std::max(per_day, 1.0) <= kFrozenFalsePerDay;
}

double VolumeScorer::ZeroShare(Seasonality s, int target_how) const {
  // Over the whole window, flagged points included: zeros that keep coming back in a slot are
  // the table's habit, not news.
  int slot = internal::SlotOf(s, target_how);
  int zeros = 0, total = 0;
  for (const WindowPoint& w : window_) {
    if (internal::SlotOf(s, w.how) != slot) continue;
    ++total;
    zeros += w.q == 0;
  }
  return total > 0 ? static_cast<double>(zeros) / total : 1.0;
}

// Sensitivity is set for daily buckets. A finer cadence scores more buckets a day, so its
// threshold is raised until a normally distributed series would raise as many false alarms
// per day as a daily one: 5.5 for daily buckets is about 6.0 for hourly and 6.4 for 5-minute
// ones.
double BucketThreshold(double sensitivity, std::int64_t cadence) {
  if (cadence >= internal::kDay) return sensitivity;
  const double per_day = static_cast<double>(internal::kDay) / static_cast<double>(cadence);
  return internal::NormalQuantile(1 - internal::NormalUpperTail(sensitivity) / per_day);
}

// "+512", "-40,000", "0".
std::string Signed(double x) { return (x > 0 ? "+" : "") + internal::FormatNumber(x); }

void VolumeScorer::Locate(size_t p, Target& target) {
  target.cadence = settings_->cadence.count() > 0
                       ? settings_->cadence.count()
                       : internal::InferCadence(std::span(series_->ts).subspan(0, p + 1));
  grid_ = &GridFor(target.cadence);
  threshold_ = BucketThreshold(settings_->sensitivity, target.cadence);
  const Grid& grid = *grid_;
  target.grid = grid_;
  target.g = grid.grid_of_point[p];
  target.bucket = grid.bucket[target.g];
  target.how = grid.how[target.g];
  target.raw = series_->values[p];
  target.first =
      static_cast<size_t>(std::lower_bound(grid.bucket.begin(), grid.bucket.begin() + target.g,
                                           target.bucket - WindowBuckets(target.cadence)) -
                          grid.bucket.begin());
}

bool VolumeScorer::FitBaseline(BaselineFit& fit, Shift& shift) {
  BuildTraining(Shift{});
  if (!FitClean(fit)) return false;
  shift = FindShift(fit, /*abrupt=*/false);
  if (!shift.found && fit.trend) {
    // A trend fitted across a step would hide it (the line runs from the old level to the
    // new one). Look for an abrupt step under the profile alone before believing the trend.
    BaselineFit flat = fit;
    flat.trend = false;
    flat.slope = 0;
    work_.clear();
    for (size_t i = 0; i < train_.size(); ++i) {
      work_.push_back(train_.y[i] - fit.season[internal::SlotOf(fit.seasonality, train_.how[i])]);
    }
    flat.level = internal::MedianInPlace(work_);
    shift = FindShift(flat, /*abrupt=*/true);
  }
  if (!shift.found) return true;
  BuildTraining(shift);
  return FitClean(fit);
}

std::optional<Verdict> VolumeScorer::Judge(Target& target, const BaselineFit& fit,
                                           const Shift& shift) {
  Verdict v;
  const double thr = threshold_;
  double pred = fit.Predict(0, target.how);
  const double psig = PredictionSpread(fit, pred);
  if (settings_->cumulative) {
    v.anchor = ChooseAnchor(target, fit, psig);
    pred = v.anchor->pred;
    target.per = v.anchor->per;
    target.base = grid_->raw[v.anchor->grid];
    target.q = (target.raw - target.base) / target.per;
  } else {
    target.q = target.raw;
  }
  // The expected range is exactly the set of values that would not be flagged: the robust
  // band widened, where needed, to the minimum absolute and relative change and, for counts,
  // to the count floor either side of the expected count (a table expecting 6 rows this hour
  // may well get none).
  const double y_target = ToScale(target.q);
  v.z = (y_target - pred) / psig;
  v.expected = FromScale(pred);
  const double count_band =
      integral_ ? thr * kCountNoise * std::max(std::sqrt(std::abs(v.expected)), 1.0) : 0;
  const double min_change = std::max(
      {settings_->min_abs_change, settings_->min_rel_change * std::abs(v.expected), count_band});
  v.low = std::min(FromScale(pred - thr * psig), v.expected - min_change);
  v.high = std::max(FromScale(pred + thr * psig), v.expected + min_change);

  if (shift.found && window_.size() - shift.first < shift.first &&
      std::abs(y_target - (pred - shift.delta)) <= thr * psig) {
    return std::nullopt;  // back at the better-established level before the shift: it is over
  }
  const bool may_spike = settings_->direction != Direction::kDrop;
  const bool may_drop = settings_->direction != Direction::kSpike;
  if (target.q == 0 && may_drop && settings_->flag_zero && v.expected - min_change > 0 &&
      ZeroShare(fit.seasonality, target.how) <= kZeroRare) {
    v.finding = Finding::kZero;
  } else if (target.q > v.high && may_spike) {
    v.finding = Finding::kSpike;
  } else if (target.q < v.low && may_drop) {
    v.finding = Finding::kDrop;
  } else if (IsFrozen(target, v.frozen_run, v.change_rate, v.transitions)) {
    v.finding = Finding::kFrozen;
  } else {
    return std::nullopt;
  }
  return v;
}

std::string VolumeScorer::Explain(const Target& target, const BaselineFit& fit, const Shift& shift,
                                  const Verdict& v, model::Timestamp ts) const {
  const Grid& grid = *grid_;
  const WindowPoint& train_first = window_[train_window_index_.front()];
  const WindowPoint& train_last = window_[train_window_index_.back()];
  const std::int64_t history =
      (grid.bucket[train_last.grid] - grid.bucket[train_first.grid] + 1) * target.cadence;
  std::string context = internal::HistoryPhrase(history) + ", " +
                        std::string(internal::SeasonalityPhrase(fit.seasonality));
  if (fit.trend) context += ", with trend";
  auto when_of = [&](size_t grid_index) {
    return internal::FormatWhen(series_->ts[grid.last_point[grid_index]], target.cadence);
  };
  if (shift.found) {
    context += ", re-baselined after a level shift on " + when_of(window_[shift.first].grid);
  }
  if (v.anchor && v.anchor->skipped) context += ", measured from " + when_of(v.anchor->grid);
  const std::string slot = internal::SlotPhrase(fit.seasonality, target.how);
  const std::string when = internal::FormatWhen(ts, target.cadence);
  const std::string& metric = series_->metric;
  auto range = [&](auto format) {
    return format(v.low * target.per) + "\u2013" + format(v.high * target.per) +
           (slot.empty() ? "" : " " + slot);
  };
  const bool cumulative = settings_->cumulative;
  switch (v.finding) {
    case Finding::kSpike:
    case Finding::kDrop: {
      const bool up = v.finding == Finding::kSpike;
      const std::string how_far =
          v.expected != 0
              ? internal::FormatPercent((target.q - v.expected) / std::abs(v.expected)) +
                    (up ? " above" : " below")
              : (up ? "above" : "below");
      if (cumulative) {
        return metric + " changed by " + Signed(target.q * target.per) + " on " + when + " (to " +
               internal::FormatNumber(target.raw) + "), " + how_far + " the expected " +
               range(Signed) + " (" + context + ")";
      }
      return metric + " " + internal::FormatNumber(target.raw) + " on " + when + " is " + how_far +
             " the expected " + range(internal::FormatNumber) + " (" + context + ")";
    }
    case Finding::kZero:
      if (cumulative) {
        return metric + " did not change on " + when + " (still " +
               internal::FormatNumber(target.raw) + "); it usually changes by " + range(Signed) +
               " and rarely stands still (" + context + ")";
      }
      return metric + " is 0 on " + when + ", expected " + range(internal::FormatNumber) +
             "; it was rarely zero before (" + context + ")";
    case Finding::kFrozen:
      return metric + " has stayed at " + internal::FormatNumber(target.raw) + " for " +
             std::to_string(v.frozen_run + 1) + " buckets up to " + when + "; it changed in " +
             internal::FormatPercent(v.change_rate) + " of " + std::to_string(v.transitions) +
             " earlier buckets (" + context + ")";
    case Finding::kNone:
      break;
  }
  return {};
}

std::optional<model::Anomaly> VolumeScorer::Score(size_t p,
                                                  std::span<const std::uint8_t> point_flagged) {
  flagged_ = point_flagged;
  Target target;
  Locate(p, target);
  if (!BuildWindow(target)) return std::nullopt;
  BaselineFit fit;
  Shift shift;
  if (!FitBaseline(fit, shift)) return std::nullopt;
  // A profile chosen for the window but with too little of the scored point's slot left
  // (its earlier occurrences were flagged) cannot say what is normal there: no verdict.
  if (fit.SlotCount(target.how) < 2) return std::nullopt;
  std::optional<Verdict> v = Judge(target, fit, shift);
  if (!v) return std::nullopt;

  const model::Timestamp ts = series_->ts[p];
  const Grid& grid = *grid_;
  model::Anomaly a;
  a.asset = series_->asset;
  a.metric = series_->metric;
  a.detector = std::string(detector_);
  a.ts = ts;
  a.id = AnomalyId(a.asset, a.metric, a.detector, ts);
  a.value = target.raw;
  a.expected_low = target.base + target.per * v->low;
  a.expected_high = target.base + target.per * v->high;
  a.score = v->z;
  a.direction = v->finding == Finding::kSpike    ? "spike"
                : v->finding == Finding::kFrozen ? "change"
                                                 : "drop";
  a.severity = v->finding == Finding::kZero || std::abs(v->z) >= 2 * threshold_
                   ? model::Severity::kError
                   : model::Severity::kWarn;
  if (v->finding == Finding::kFrozen) a.severity = model::Severity::kWarn;
  a.train_start = series_->ts[grid.last_point[window_[train_window_index_.front()].grid]];
  a.train_end = series_->ts[grid.last_point[window_[train_window_index_.back()].grid]];
  a.train_size = static_cast<int>(train_.size());
  a.seasonality = std::string(SeasonalityName(fit.seasonality));
  a.explanation = Explain(target, fit, shift, *v, ts);
  a.detected_at = ts;
  return a;
}

// One scorer per thread: its working space (grids, windows, fit buffers) is reused from one
// series to the next, which matters at a hundred thousand series a second. Not reentrant,
// and nothing here calls back into the entry points.
VolumeScorer& ThreadScorer() {
  thread_local VolumeScorer scorer;
  return scorer;
}

// Marks the points whose timestamps are in `flagged`.
std::vector<std::uint8_t> FlagPoints(const model::Series& series, size_t end,
                                     std::span<const model::Timestamp> flagged) {
  std::vector<std::uint8_t> marks(end, 0);
  auto begin = series.ts.begin(), stop = series.ts.begin() + static_cast<std::ptrdiff_t>(end);
  for (model::Timestamp t : flagged) {
    auto [lo, hi] = std::equal_range(begin, stop, t);
    for (auto it = lo; it != hi; ++it) marks[static_cast<size_t>(it - series.ts.begin())] = 1;
  }
  return marks;
}

}  // namespace

namespace internal {

model::Result<std::vector<model::Anomaly>> DetectVolumePrefix(
    const model::Series& series, size_t end, const VolumeSettings& settings,
    std::span<const model::Timestamp> flagged, std::string_view detector) {
  TM_RETURN_IF_ERROR(ValidateSeries(series.ts, series.values));
  std::vector<model::Anomaly> out;
  if (end == 0) return out;
  std::vector<std::uint8_t> marks = FlagPoints(series, end, flagged);
  VolumeScorer& scorer = ThreadScorer();
  scorer.Reset(series, settings, detector);
  if (auto a = scorer.Score(end - 1, marks)) out.push_back(std::move(*a));
  return out;
}

model::Result<std::vector<model::Anomaly>> ReplayVolumePrefix(
    const model::Series& series, size_t begin, size_t end, const VolumeSettings& settings,
    std::span<const model::Timestamp> flagged, std::string_view detector) {
  TM_RETURN_IF_ERROR(ValidateSeries(series.ts, series.values));
  std::vector<model::Anomaly> out;
  std::vector<std::uint8_t> marks = FlagPoints(series, end, flagged);
  VolumeScorer& scorer = ThreadScorer();
  scorer.Reset(series, settings, detector);
  for (size_t p = begin; p < end; ++p) {
    if (auto a = scorer.Score(p, marks)) {
      marks[p] = 1;
      out.push_back(std::move(*a));
    }
  }
  return out;
}

}  // namespace internal

model::Result<std::vector<model::Anomaly>> DetectVolume(const model::Series& series,
                                                        const VolumeSettings& settings,
                                                        std::span<const model::Timestamp> flagged,
                                                        std::string_view detector) {
  return internal::DetectVolumePrefix(series, series.ts.size(), settings, flagged, detector);
}

model::Result<std::vector<model::Anomaly>> ReplayVolume(const model::Series& series,
                                                        const VolumeSettings& settings,
                                                        std::string_view detector) {
  return internal::ReplayVolumePrefix(series, 0, series.ts.size(), settings, {}, detector);
}

}  // namespace tidemark::detectors
