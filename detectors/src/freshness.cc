#include "tidemark/detectors/freshness.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>

#include "explain.h"
#include "robust.h"
#include "series_grid.h"
#include "tidemark/detectors/detector.h"

namespace tidemark::detectors {
namespace {

using internal::kDay;
using internal::kHour;

// The most recent gaps considered: days of a busy stream, every gap of a daily job.
constexpr size_t kMaxGaps = 5000;
// A gap is an outage, not cadence, when it lies further above its slot's median than this
// many robust spreads; the spread is at least 5% of the median (a clockwork job has none),
// of the slot's or of all gaps, whichever is smaller: a job's jitter does not grow with the
// weekend, so a Monday load 20 hours late must not hide inside the 72-hour Friday gap.
constexpr double kFenceSpreads = 6;
constexpr double kMinSpreadShare = 0.05;
// A slotting is believable when no two late gaps began in the same hour of the week (a
// weekend that recurs is not an outage) and, outages aside, at most one and this share of its
// own training gaps would have been late under it.
constexpr double kMaxTrainingLate = 0.02;

// A finer slotting must shorten the typical allowed wait by at least this much to be used,
// unless its slots' typical gaps differ by this factor: a stream's quiet nights and busy
// afternoons pooled together would make the nights' rule too tight.
constexpr double kSlotGain = 0.9;
constexpr double kSlotsDiffer = 2;
// No learned verdict before the history spans a week, or two when some day of the week never
// saw an update: a weekly schedule (no loads on weekends) must have been seen twice before
// its gaps can be told from outages.
constexpr std::int64_t kWarmup = 7 * kDay;
constexpr std::int64_t kWeeklyWarmup = 14 * kDay;
// A slot with this many gaps above its median measures its own tail; smaller ones scale the
// pooled relative tail by their median (a daily job has four Tuesdays a month, a stream
// hundreds of 03:00 gaps).
constexpr size_t kOwnTailSamples = 20;
constexpr double kIrregular = 0.25;
// An irregular series' slot knows its own rate of updates from this many gaps above its
// median (pooled with the neighbouring hours when slots are hours: a stream's rate changes
// smoothly with the hour). The rate sets how long a silence may last, so a rate read from
// twenty gaps, a fifth off either way, would make or miss alarms by chance; a slot short of
// this takes the coarser slotting's rule, or, with none, the pooled relative tail.
constexpr size_t kOwnRateSamples = 60;
// A slot keeps its rule with this many gaps left inside its fence (one outage among three
// Fridays leaves two).
constexpr size_t kMinKept = 2;
// A weekly slot (a day or an hour of the week) sees one gap a week, four in a 28-day window:
// one missed and one late load among them would leave it half outages, its median and spread
// theirs. Such a slot reaches back up to this many training windows, newest first, until it
// holds kWeeklySamples gaps.
constexpr std::int64_t kWeeklyLookback = 3;
constexpr size_t kWeeklySamples = 8;

struct Gap {
  double length = 0;     // seconds
  std::int32_t day = 0;  // epoch day of the update that opened it
  std::uint8_t how = 0;  // hour-of-week of the update that opened it
};

// The rule in force after one update: late after `allowed` seconds, error after `error_after`.
struct Rule {
  bool sla = false;
  std::int64_t allowed = 0;
  std::int64_t error_after = 0;
  std::int64_t typical = 0;  // median gap of the slot
  Seasonality seasonality = Seasonality::kNone;
  int gaps = 0;
  std::optional<model::Timestamp> train_start;
  std::optional<model::Timestamp> train_end;
};

int FreshSlot(Seasonality s, int how) {
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

// Whether a slotting tells the days of the week apart.
bool Weekly(Seasonality s) { return s == Seasonality::kDayOfWeek || s == Seasonality::kHourOfWeek; }

int SlotCount(Seasonality s) {
  switch (s) {
    case Seasonality::kDayOfWeek:
      return 7;
    case Seasonality::kHourOfDay:
      return 24;
    case Seasonality::kHourOfWeek:
      return 168;
    default:
      return 1;
  }
}

// Seconds from `start` (epoch seconds) until `expected` updates were due at the hourly rates
// `rate` (per second, by hour of the week; a zero rate counts as `fallback`): the silence
// after which, for a Poisson stream, the chance of no update is e^-expected.
// REQUIRES: fallback > 0.
double HazardWait(const std::array<double, 168>& rate, double fallback, std::int64_t start,
                  double expected) {
  int how = internal::HourOfWeek(start);
  double left = static_cast<double>(kHour - (start - internal::FloorDiv(start, kHour) * kHour));
  double waited = 0;
  for (int i = 0; i < 2 * 168; ++i) {
    const double r = rate[how] > 0 ? rate[how] : fallback;
    if (r * left >= expected) return waited + expected / r;
    expected -= r * left;
    waited += left;
    left = kHour;
    how = (how + 1) % 168;
  }
  return waited + expected / fallback;
}

// Quantile `q` (type 7) of `v`, reordering it. REQUIRES: !v.empty().
double Quantile(std::span<double> v, double q) {
  const double h = q * static_cast<double>(v.size() - 1);
  const size_t lo = static_cast<size_t>(h);
  std::nth_element(v.begin(), v.begin() + lo, v.end());
  const double a = v[lo];
  if (lo + 1 >= v.size()) return a;
  const double b = *std::min_element(v.begin() + lo + 1, v.end());
  return a + (h - static_cast<double>(lo)) * (b - a);
}

// Learns the cadence of one asset's updates. The model is refit once per hour of the clock:
// the rule in force at an update uses the gaps that ended before the start of its hour, so the
// live service (refitting on its hourly tick) and a replay (caching one fit per hour) agree
// exactly, and a stream updating every few seconds costs one fit an hour, not one per update.
class RuleLearner {
 public:
  RuleLearner(std::span<const model::Timestamp> ts, const FreshnessSettings& settings)
      : ts_(ts), settings_(settings) {}

  // The rule after update `j` (its slot is that of update j; the fit uses updates [0, j] that
  // ended before j's hour began). nullopt in cold start.
  std::optional<Rule> RuleAfter(size_t j) {
    return RuleAt(j, internal::FloorDiv(internal::EpochSeconds(ts_[j]), kHour));
  }
  // The same with the fit of a later clock hour `hour` (epoch hours), before update j + 1.
  std::optional<Rule> RuleAt(size_t j, std::int64_t hour);

 private:
  struct Fit {
    bool ok = false;
    std::int64_t hour = INT64_MIN;  // the refit hour it belongs to
    int gaps = 0;
    size_t oldest = 0;   // first update of the training window
    size_t newest = 0;   // last update of the training window
    double typical = 0;  // median gap, all slots
    Seasonality seasonality = Seasonality::kNone;
    // By hour of the week of the update that opens a gap: its slot's rule under
    // `seasonality` or, where that slot saw too few gaps, under the coarser slotting chosen
    // before it (`source`), so a finer slotting never leaves the weekend without a rule.
    std::array<double, 168> allowed{};
    std::array<double, 168> median{};
    std::array<double, 168> fence{};
    std::array<bool, 168> usable{};
    std::array<Seasonality, 168> source{};
    // Irregular series: updates per second expected in each hour of the week, and the part
    // of the rule that does not depend on them (the slot's high quantile plus margin).
    std::array<bool, 168> hazard{};
    std::array<double, 168> rate{};
    std::array<double, 168> floor{};
  };
  struct Candidate {
    bool ok = false;
    double typical_allowed = 0;
    double median_ratio = 1;  // largest slot median over the smallest
  };
  bool Refit(std::int64_t hour, size_t newest);
  Candidate Evaluate(Seasonality s, Fit& fit, const Fit* fallback);

  std::span<const model::Timestamp> ts_;
  const FreshnessSettings& settings_;
  Fit fit_;
  std::vector<Gap> gaps_;
  std::vector<Gap> older_gaps_;  // before the training window, newest first
  double all_median_ = 0;        // median of all training gaps
  std::vector<double> work_, work2_;
  std::array<std::vector<double>, 168> slots_;
};

std::optional<Rule> RuleLearner::RuleAt(size_t j, std::int64_t hour) {
  const std::int64_t last = internal::EpochSeconds(ts_[j]);
  if (fit_.hour != hour) {
    // The training data: updates up to j that happened before this hour began.
    size_t newest = j;
    while (newest > 0 && internal::EpochSeconds(ts_[newest]) >= hour * kHour) --newest;
    if (internal::EpochSeconds(ts_[newest]) >= hour * kHour) {
      fit_ = Fit{};
      fit_.hour = hour;
    } else if (!(fit_.ok && fit_.newest == newest)) {
      Refit(hour, newest);
    }
    fit_.hour = hour;
  }
  if (!fit_.ok) return std::nullopt;
  // An update in a slot the fit has no rule for (a job run by hand at an odd hour, a Friday
  // whose history is mostly outages) gets none from this fit; see LateRule.
  const int how = internal::HourOfWeek(last);
  if (!fit_.usable[how]) return std::nullopt;
  Rule rule;
  rule.seasonality = fit_.source[how];
  const double allowed = fit_.hazard[how]
                             ? std::max(fit_.floor[how], HazardWait(fit_.rate, fit_.rate[how], last,
                                                                    settings_.expected_updates))
                             : fit_.allowed[how];
  const double typical = fit_.median[how];
  rule.allowed = static_cast<std::int64_t>(std::ceil(allowed));
  rule.typical = static_cast<std::int64_t>(typical);
  rule.error_after = rule.allowed + static_cast<std::int64_t>(fit_.typical);
  rule.gaps = fit_.gaps;
  rule.train_start = ts_[fit_.oldest];
  rule.train_end = ts_[fit_.newest];
  return rule;
}

bool RuleLearner::Refit(std::int64_t hour, size_t newest) {
  fit_ = Fit{};
  fit_.hour = hour;
  fit_.newest = newest;
  const std::int64_t end = internal::EpochSeconds(ts_[newest]);
  const std::int64_t since = end - settings_.training_window.count();
  if (end - internal::EpochSeconds(ts_[0]) < kWarmup) return false;
  gaps_.clear();
  older_gaps_.clear();
  fit_.oldest = newest;
  const std::int64_t since_older = end - kWeeklyLookback * settings_.training_window.count();
  for (size_t k = newest; k >= 1 && gaps_.size() + older_gaps_.size() < kMaxGaps; --k) {
    const std::int64_t start = internal::EpochSeconds(ts_[k - 1]);
    if (start < since_older) break;
    const Gap gap{static_cast<double>(internal::EpochSeconds(ts_[k]) - start),
                  static_cast<std::int32_t>(internal::FloorDiv(start, kDay)),
                  static_cast<std::uint8_t>(internal::HourOfWeek(start))};
    if (start < since) {
      older_gaps_.push_back(gap);
      continue;
    }
    fit_.oldest = k - 1;
    gaps_.push_back(gap);
  }
  if (gaps_.empty()) return false;
  // Steps of one load (a batch committing in several transactions) are not gaps: drop the
  // ones shorter than max(burst_gap, 1% of the 90th percentile gap).
  work_.clear();
  for (const Gap& g : gaps_) work_.push_back(g.length);
  const double burst =
      std::max(static_cast<double>(settings_.burst_gap.count()), 0.01 * Quantile(work_, 0.9));
  std::erase_if(gaps_, [burst](const Gap& g) { return g.length < burst; });
  std::erase_if(older_gaps_, [burst](const Gap& g) { return g.length < burst; });
  if (gaps_.size() < static_cast<size_t>(std::max(settings_.min_history, 2))) return false;
  work_.clear();
  for (const Gap& g : gaps_) work_.push_back(g.length);
  all_median_ = Quantile(work_, 0.5);
  std::array<bool, 7> day_seen{};
  for (const Gap& g : gaps_) day_seen[g.how / 24] = true;
  const bool every_day = std::all_of(day_seen.begin(), day_seen.end(), [](bool b) { return b; });
  if (end - internal::EpochSeconds(ts_[0]) < (every_day ? kWarmup : kWeeklyWarmup)) return false;
  fit_.gaps = static_cast<int>(gaps_.size());

  // Coarse to fine; each candidate falls back on the best one before it where its own slots
  // are too small. A forced slotting falls back on none.
  Seasonality order[4] = {Seasonality::kNone, Seasonality::kDayOfWeek, Seasonality::kHourOfDay,
                          Seasonality::kHourOfWeek};
  int count = 4;
  if (settings_.seasonality != Seasonality::kAuto) {
    order[1] = settings_.seasonality;
    count = settings_.seasonality == Seasonality::kNone ? 1 : 2;
  }
  Fit best = fit_;
  Candidate best_score;
  for (int c = 0; c < count; ++c) {
    Fit candidate = fit_;
    Candidate score = Evaluate(order[c], candidate, best_score.ok ? &best : nullptr);
    if (!score.ok) continue;
    const bool forced = settings_.seasonality != Seasonality::kAuto;
    const bool shapes_differ =
        best.seasonality == Seasonality::kNone && score.median_ratio >= kSlotsDiffer;
    if (!best_score.ok || forced || shapes_differ ||
        score.typical_allowed < kSlotGain * best_score.typical_allowed) {
      best = candidate;
      best_score = score;
    }
  }
  fit_ = best;
  fit_.ok = best_score.ok;
  return fit_.ok;
}

// Per slot of `s`: drop outage gaps beyond the fence; allowed = the larger of the slot's high
// quantile plus `relative_margin` typical gaps (what rules a scheduled job: its latest
// observed arrival, and some slack), and the slot's median plus `spread_margin` tails, the
// tail being the mean excess of gaps over their median (what rules an irregular stream, whose
// gaps are about exponential: a high quantile of a few dozen gaps says little about the
// one-in-a-million gap, their mean does). Slots with too few gaps take `fallback`'s rule.
// The slotting is scored by the average allowed wait over the training gaps (those of
// fallback slots included, so that leaving the weekend to the fallback earns nothing), and
// disqualified when, beyond one outage, more than a few of the training gaps would have been
// late under it.
RuleLearner::Candidate RuleLearner::Evaluate(Seasonality s, Fit& fit, const Fit* fallback) {
  Candidate out;
  const int nslots = SlotCount(s);
  fit.seasonality = s;
  for (int k = 0; k < nslots; ++k) slots_[k].clear();
  // Days a slot's gaps began on: a late load's catch-up splits one day's gap in two, and
  // two days' gaps are not yet a pattern (see `borrow` below).
  std::array<std::int32_t, 168> last_day{};
  std::array<size_t, 168> days{};
  auto add = [&](const Gap& g) {
    const int k = FreshSlot(s, g.how);
    slots_[k].push_back(g.length);
    if (days[k] == 0 || last_day[k] != g.day) ++days[k];
    last_day[k] = g.day;
  };
  for (const Gap& g : gaps_) add(g);
  if (Weekly(s)) {
    for (const Gap& g : older_gaps_) {
      if (slots_[FreshSlot(s, g.how)].size() < kWeeklySamples) add(g);
    }
  }
  std::array<bool, 168> usable{};
  std::array<double, 168> median{}, fence{}, allowed{};
  std::array<size_t, 168> kept{};
  std::array<double, 168> excess{};  // mean excess over the median, per slot
  std::array<double, 168> excess_sum{};
  std::array<size_t, 168> excess_count{};
  double pooled_relative = 0;  // excess over the slot median, as a multiple of that median
  size_t pooled_count = 0;
  work_.clear();  // kept gaps of usable slots
  for (int k = 0; k < nslots; ++k) {
    std::vector<double>& v = slots_[k];
    if (v.size() < static_cast<size_t>(settings_.min_slot_samples)) continue;
    median[k] = Quantile(v, 0.5);
    const double spread = std::max(internal::MadSigma(v, median[k], work2_),
                                   kMinSpreadShare * std::min(median[k], all_median_));
    fence[k] = median[k] + kFenceSpreads * spread;
    const double f = fence[k];
    auto middle = std::partition(v.begin(), v.end(), [f](double g) { return g <= f; });
    kept[k] = static_cast<size_t>(middle - v.begin());
    if (kept[k] < kMinKept) continue;
    usable[k] = true;
    for (size_t i = 0; i < kept[k]; ++i) {
      work_.push_back(v[i]);
      if (v[i] <= median[k]) continue;
      excess[k] += v[i] - median[k];
      ++excess_count[k];
    }
    excess_sum[k] = excess[k];
    if (median[k] > 0) pooled_relative += excess[k] / median[k];
    pooled_count += excess_count[k];
    if (excess_count[k] > 0) excess[k] /= static_cast<double>(excess_count[k]);
  }
  if (work_.empty()) return out;
  double lowest = INFINITY, highest = 0;
  for (int k = 0; k < nslots; ++k) {
    if (!usable[k]) continue;
    lowest = std::min(lowest, median[k]);
    highest = std::max(highest, median[k]);
  }
  out.median_ratio = lowest > 0 ? highest / lowest : 1;
  fit.typical = Quantile(work_, 0.5);
  // A slot too small for its own tail borrows one: for an irregular series the pooled one
  // scaled to the slot's median (slots of a stream differ in rate but not in shape), for a
  // scheduled one the median slot's, in seconds (a job's jitter does not grow with the
  // weekend, and two late Mondays inside the Friday slot's fence must not loosen Wednesday's
  // rule). Irregular: gaps exceed their median by a sizeable share of it (an exponential's
  // mean excess is 1.4 medians).
  const double relative_tail =
      pooled_count > 0 ? pooled_relative / static_cast<double>(pooled_count) : 0;
  work2_.clear();
  for (int k = 0; k < nslots; ++k) {
    if (usable[k] && excess_count[k] > 0) work2_.push_back(excess[k]);
  }
  const double absolute_tail = work2_.empty() ? 0 : Quantile(work2_, 0.5);
  const bool irregular = relative_tail >= kIrregular;
  // Irregular: each slot's rate of updates, one over its mean gap (a memoryless gap's mean
  // excess over its median is its mean), pooled with the neighbouring hours when slots are
  // hours; the rule is then how long a silence lasts before `expected_updates` were due.
  std::array<double, 168> rate{};
  std::array<bool, 168> own_rate{};
  if (irregular) {
    const int reach = s == Seasonality::kHourOfDay || s == Seasonality::kHourOfWeek ? 1 : 0;
    for (int k = 0; k < nslots; ++k) {
      if (!usable[k]) continue;
      double sum = 0;
      size_t n = 0;
      for (int d = -reach; d <= reach; ++d) {
        const int near = (k + d + nslots) % nslots;
        if (!usable[near]) continue;
        sum += excess_sum[near];
        n += excess_count[near];
      }
      own_rate[k] = n >= kOwnRateSamples && sum > 0;
      const double mean = own_rate[k] ? sum / static_cast<double>(n) : relative_tail * median[k];
      rate[k] = mean > 0 ? 1 / mean : 0;
    }
  }
  std::array<double, 168> floor{};
  for (int k = 0; k < nslots; ++k) {
    if (!usable[k]) continue;
    std::span<double> v(slots_[k].data(), kept[k]);
    floor[k] = Quantile(v, settings_.quantile) + settings_.relative_margin * fit.typical;
    const double tail = excess_count[k] >= kOwnTailSamples ? excess[k] : absolute_tail;
    allowed[k] = std::max(floor[k], median[k] + settings_.spread_margin * tail);
  }
  for (int how = 0; how < 168; ++how) {
    const int k = FreshSlot(s, how);
    // A slot seen on fewer than min_slot_samples days (a weekly slot in its first weeks: one
    // late load and its catch-up made two of its three gaps), or an irregular slot without
    // its own rate, leaves its hours to the coarser slotting when there is one.
    const bool thin =
        days[k] < static_cast<size_t>(settings_.min_slot_samples) || (irregular && !own_rate[k]);
    const bool borrow = thin && fallback != nullptr && fallback->usable[how];
    if (usable[k] && !borrow) {
      fit.usable[how] = true;
      fit.allowed[how] = allowed[k];
      fit.median[how] = median[k];
      fit.fence[how] = fence[k];
      fit.source[how] = s;
      fit.hazard[how] = irregular && rate[k] > 0;
      fit.rate[how] = rate[k];
      fit.floor[how] = floor[k];
    } else if (fallback != nullptr && fallback->usable[how]) {
      fit.usable[how] = true;
      fit.allowed[how] = fallback->allowed[how];
      fit.median[how] = fallback->median[how];
      fit.fence[how] = fallback->fence[how];
      fit.source[how] = fallback->source[how];
      fit.hazard[how] = fallback->hazard[how];
      fit.rate[how] = fallback->rate[how];
      fit.floor[how] = fallback->floor[how];
    }
  }
  // For judging and scoring, an irregular slot's rule is that of a silence starting half an
  // hour into it (the live rule walks from the update itself).
  constexpr std::int64_t kMonday = 4 * kDay;  // 1970-01-05, hour of the week 0
  for (int how = 0; how < 168; ++how) {
    if (!fit.hazard[how] || fit.source[how] != s) continue;
    const double wait = HazardWait(fit.rate, fit.rate[how], kMonday + how * kHour + kHour / 2,
                                   settings_.expected_updates);
    fit.allowed[how] = std::max(fit.floor[how], wait);
  }
  // Judge every gap. Late gaps inside the fence mean the rule is too tight; fenced ones are
  // outages, unless they recur: at least two, and at least half of the gaps that began in
  // the same hour of the week, the gaps before the training window included (a weekend that
  // comes every week is a pattern; two missed Monday loads in two months are outages).
  size_t late = 0, judged = 0;
  double sum = 0;
  std::array<std::uint16_t, 168> late_at{}, seen_at{};
  for (const std::vector<Gap>* gaps : {&gaps_, &older_gaps_}) {
    for (const Gap& g : *gaps) {
      if (!fit.usable[g.how]) continue;
      ++seen_at[g.how];
      const bool recent = gaps == &gaps_;
      if (recent) {
        ++judged;
        sum += fit.allowed[g.how];
      }
      if (g.length <= fit.allowed[g.how]) continue;
      ++late_at[g.how];
      if (recent) late += g.length <= fit.fence[g.how];
    }
  }
  for (int how = 0; how < 168; ++how) {
    if (late_at[how] >= 2 && 2 * late_at[how] >= seen_at[how]) return out;
  }
  if (judged == 0) return out;
  if (static_cast<double>(late) > 1 + kMaxTrainingLate * static_cast<double>(judged)) return out;
  out.ok = true;
  out.typical_allowed = sum / static_cast<double>(judged);
  return out;
}

// The learned rule for the silence after update `j` as seen at `now` (epoch seconds): the fit
// of j's own hour or, when that gives none (cold start; a slot without a rule), the fit of
// the next hour, which has seen update j itself: the model's first warm hour must not leave
// a silence that began just before it unwatched. `from` receives when the rule applies.
std::optional<Rule> LateRule(RuleLearner& learner, size_t j, std::int64_t last, std::int64_t now,
                             std::int64_t& from) {
  from = last;
  if (std::optional<Rule> rule = learner.RuleAfter(j)) return rule;
  const std::int64_t next_hour = internal::FloorDiv(last, kHour) + 1;
  if (now < next_hour * kHour) return std::nullopt;
  from = next_hour * kHour;
  return learner.RuleAt(j, next_hour);
}

std::optional<Rule> SlaRule(const FreshnessSettings& settings) {
  if (!settings.warn_after && !settings.error_after) return std::nullopt;
  Rule rule;
  rule.sla = true;
  rule.error_after = settings.error_after ? settings.error_after->count() : INT64_MAX;
  rule.allowed = settings.warn_after ? settings.warn_after->count() : rule.error_after;
  return rule;
}

std::string SlotAfter(Seasonality s, std::int64_t last) {
  static constexpr const char* kDays[] = {"Monday", "Tuesday",  "Wednesday", "Thursday",
                                          "Friday", "Saturday", "Sunday"};
  int how = internal::HourOfWeek(last);
  char hour[16];
  std::snprintf(hour, sizeof hour, "%02d:00", how % 24);
  switch (s) {
    case Seasonality::kDayOfWeek:
      return std::string(" after a ") + kDays[how / 24] + " update";
    case Seasonality::kHourOfDay:
      return std::string(" after a ") + hour + " update";
    case Seasonality::kHourOfWeek:
      return std::string(" after a ") + kDays[how / 24] + " " + hour + " update";
    default:
      return "";
  }
}

model::Anomaly MakeLate(const model::Series& series, const Rule& rule, model::Timestamp last_ts,
                        model::Timestamp check, bool error) {
  const std::int64_t last = internal::EpochSeconds(last_ts);
  const std::int64_t elapsed = internal::EpochSeconds(check) - last;
  const std::int64_t threshold = error ? rule.error_after : rule.allowed;
  model::Anomaly a;
  a.asset = series.asset;
  a.metric = series.metric;
  a.detector = "freshness";
  a.ts = internal::FromEpochSeconds(last + threshold);
  a.id = AnomalyId(a.asset, a.metric, a.detector, a.ts);
  a.value = static_cast<double>(elapsed);
  a.expected_low = 0;
  a.expected_high = static_cast<double>(rule.allowed);
  a.score =
      static_cast<double>(elapsed) / static_cast<double>(std::max<std::int64_t>(rule.allowed, 1));
  a.direction = "late";
  a.severity = error ? model::Severity::kError : model::Severity::kWarn;
  a.train_start = rule.train_start;
  a.train_end = rule.train_end;
  a.train_size = rule.gaps;
  a.seasonality = std::string(SeasonalityName(rule.seasonality));
  a.detected_at = check;
  std::string head =
      series.metric == model::kMetricUpdate ? std::string("no update") : "no new " + series.metric;
  head += " for " + internal::FormatDuration(elapsed) + " since " +
          internal::FormatWhen(last_ts, kHour);
  if (rule.sla) {
    std::string sla = "the freshness SLA";
    const bool two_levels = rule.allowed < rule.error_after;
    if (two_levels) sla += " warns after " + internal::FormatDuration(rule.allowed);
    if (rule.error_after != INT64_MAX) {
      sla += (two_levels ? " and" : "") + std::string(" errors after ") +
             internal::FormatDuration(rule.error_after);
    }
    a.explanation = head + "; " + sla;
  } else {
    const std::int64_t history =
        internal::EpochSeconds(*rule.train_end) - internal::EpochSeconds(*rule.train_start);
    a.explanation = head + "; expected within " + internal::FormatDuration(rule.allowed) +
                    " (usual gap " + internal::FormatDuration(rule.typical) +
                    SlotAfter(rule.seasonality, last) + "; " + std::to_string(rule.gaps) +
                    " gaps over " + internal::HistoryPhrase(history) + ", " +
                    std::string(internal::SeasonalityPhrase(rule.seasonality)) + ")";
    if (error) a.explanation += "; error after " + internal::FormatDuration(rule.error_after);
  }
  return a;
}

model::Status ValidateUpdates(const model::Series& updates) {
  for (size_t i = 1; i < updates.ts.size(); ++i) {
    if (updates.ts[i] < updates.ts[i - 1]) {
      return model::Status::InvalidArgument("update times are not in time order",
                                            "point " + std::to_string(i));
    }
  }
  return model::Status::Ok();
}

// First multiple of `step` at or after `t` (epoch seconds).
std::int64_t CeilTo(std::int64_t t, std::int64_t step) {
  return -internal::FloorDiv(-t, step) * step;
}

size_t UpdatesUpTo(const model::Series& updates, model::Timestamp t) {
  return static_cast<size_t>(std::upper_bound(updates.ts.begin(), updates.ts.end(), t) -
                             updates.ts.begin());
}

}  // namespace

model::Result<std::optional<FreshnessRule>> FreshnessRuleAfter(const model::Series& updates,
                                                               size_t index,
                                                               const FreshnessSettings& settings) {
  TM_RETURN_IF_ERROR(ValidateUpdates(updates));
  if (index >= updates.ts.size()) {
    return model::Status::InvalidArgument("no such update", "index " + std::to_string(index));
  }
  std::optional<Rule> rule = SlaRule(settings);
  if (!rule) {
    RuleLearner learner(std::span<const model::Timestamp>(updates.ts).subspan(0, index + 1),
                        settings);
    rule = learner.RuleAfter(index);
  }
  if (!rule) return std::optional<FreshnessRule>();
  FreshnessRule out;
  out.sla = rule->sla;
  out.allowed_s = rule->allowed;
  out.error_after_s = rule->error_after;
  out.typical_s = rule->typical;
  out.seasonality = rule->seasonality;
  out.gaps = rule->gaps;
  return std::optional<FreshnessRule>(out);
}

model::Result<std::vector<model::Anomaly>> CheckFreshness(const model::Series& updates,
                                                          model::Timestamp now,
                                                          const FreshnessSettings& settings) {
  TM_RETURN_IF_ERROR(ValidateUpdates(updates));
  std::vector<model::Anomaly> out;
  const size_t end = UpdatesUpTo(updates, now);
  if (end == 0) return out;
  const size_t j = end - 1;
  const std::int64_t last = internal::EpochSeconds(updates.ts[j]);
  std::optional<Rule> rule = SlaRule(settings);
  if (!rule) {
    RuleLearner learner(std::span<const model::Timestamp>(updates.ts).subspan(0, end), settings);
    std::int64_t from = 0;
    rule = LateRule(learner, j, last, internal::EpochSeconds(now), from);
  }
  if (!rule) return out;
  const std::int64_t elapsed = internal::EpochSeconds(now) - last;
  if (elapsed <= rule->allowed) return out;
  // An SLA with only error_after has one level, and it is an error.
  const bool error = elapsed > rule->error_after || rule->allowed >= rule->error_after;
  out.push_back(MakeLate(updates, *rule, updates.ts[j], now, error));
  return out;
}

model::Result<std::vector<model::Anomaly>> ReplayFreshness(const model::Series& updates,
                                                           model::Timestamp until,
                                                           const FreshnessSettings& settings) {
  TM_RETURN_IF_ERROR(ValidateUpdates(updates));
  std::vector<model::Anomaly> out;
  const auto& ts = updates.ts;
  const size_t end = UpdatesUpTo(updates, until);
  const std::int64_t step = std::max<std::int64_t>(settings.check_interval.count(), 1);
  const std::int64_t until_s = internal::EpochSeconds(until);
  const std::optional<Rule> sla = SlaRule(settings);
  RuleLearner learner(std::span<const model::Timestamp>(ts).subspan(0, end), settings);
  for (size_t j = 0; j < end; ++j) {
    const std::int64_t last = internal::EpochSeconds(ts[j]);
    // Checks strictly after update j and strictly before update j+1 (an update landing on
    // the tick counts as arrived); up to and including `until` after the last one.
    const std::int64_t stop = j + 1 < end ? internal::EpochSeconds(ts[j + 1]) - 1 : until_s;
    // Nothing can be late in a gap shorter than one tick past the update: skip the rule.
    if (CeilTo(last + 1, step) > stop) continue;
    std::int64_t from = last;
    std::optional<Rule> rule = sla ? sla : LateRule(learner, j, last, stop, from);
    if (!rule) continue;
    for (bool error : {false, true}) {
      if (!error && rule->allowed >= rule->error_after) continue;  // one level: error
      const std::int64_t threshold = error ? rule->error_after : rule->allowed;
      if (threshold == INT64_MAX) continue;
      const std::int64_t check = CeilTo(std::max(last + threshold + 1, from), step);
      if (check > stop) break;
      out.push_back(MakeLate(updates, *rule, ts[j], internal::FromEpochSeconds(check), error));
    }
  }
  return out;
}

}  // namespace tidemark::detectors
