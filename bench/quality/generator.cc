#include "generator.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>
#include <set>

namespace tidemark::bench {
namespace {

constexpr std::int64_t kHour = 3600;
constexpr std::int64_t kDay = 86400;

model::Timestamp At(std::int64_t epoch_s) { return model::FromMicros(epoch_s * 1'000'000); }

std::int64_t EpochOf(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}}.time_since_epoch().count() * kDay;
}

// Day of week, Monday = 0.
int DayOfWeek(std::int64_t epoch_s) {
  std::int64_t days = epoch_s >= 0 ? epoch_s / kDay : (epoch_s - kDay + 1) / kDay;
  return static_cast<int>(((days + 3) % 7 + 7) % 7);
}

// SplitMix64: decorrelates (seed, stream, index) into independent generator seeds.
std::uint64_t Mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::mt19937_64 CaseRng(std::uint64_t seed, std::uint64_t stream, std::uint64_t index) {
  return std::mt19937_64(Mix(Mix(seed ^ Mix(stream)) + index));
}

double Uniform(std::mt19937_64& rng, double a, double b) {
  return std::uniform_real_distribution<double>(a, b)(rng);
}
int UniformInt(std::mt19937_64& rng, int a, int b) {
  return std::uniform_int_distribution<int>(a, b)(rng);
}
bool Chance(std::mt19937_64& rng, double p) { return Uniform(rng, 0, 1) < p; }

template <typename T>
T Pick(std::mt19937_64& rng, std::initializer_list<std::pair<double, T>> options) {
  double r = Uniform(rng, 0, 1), acc = 0;
  for (const auto& [p, v] : options) {
    acc += p;
    if (r < acc) return v;
  }
  return std::prev(options.end())->second;
}

// Holidays inside the daily and hourly periods (US calendar: what most warehouses feel).
const std::vector<std::int64_t>& Holidays() {
  static const std::vector<std::int64_t> kDays = {EpochOf(2025, 11, 27), EpochOf(2025, 12, 25),
                                                  EpochOf(2026, 1, 1), EpochOf(2026, 1, 19),
                                                  EpochOf(2026, 2, 16)};
  return kDays;
}

bool IsHoliday(std::int64_t epoch_s) {
  std::int64_t day = epoch_s - (epoch_s % kDay + kDay) % kDay;
  return std::find(Holidays().begin(), Holidays().end(), day) != Holidays().end();
}

// ---------------------------------------------------------------------------------------------
// Volume

enum class Weekly { kNone, kMild, kStrong, kOffZero, kOffMissing };

struct VolumeShape {
  bool hourly = false;
  bool cumulative = false;  // row_count (table size) rather than rows per load
  double level = 0;
  double trend = 0;  // log growth per day
  Weekly weekly = Weekly::kNone;
  double weekend = 1, monday = 1;
  double diurnal = 0;  // hourly: amplitude of the daily profile
  double sigma = 0;    // noise, log scale
  bool heavy = false;
  double missing = 0;
  double holiday = 1;  // load factor on holidays (1: not holiday-sensitive)
};

VolumeShape DrawShape(std::mt19937_64& rng, bool hourly) {
  VolumeShape s;
  s.hourly = hourly;
  s.cumulative = Chance(rng, 0.25);
  s.level = std::pow(10.0, Uniform(rng, 2, 6.5)) / (hourly ? 24 : 1);
  double r = Uniform(rng, 0, 1);
  s.trend = r < 0.4 ? 0 : r < 0.8 ? Uniform(rng, 0.002, 0.01) : -Uniform(rng, 0.001, 0.004);
  s.weekly = Pick<Weekly>(rng, {{0.3, Weekly::kNone},
                                {0.4, Weekly::kMild},
                                {0.2, Weekly::kStrong},
                                {0.05, Weekly::kOffZero},
                                {0.05, Weekly::kOffMissing}});
  if (s.weekly == Weekly::kMild) s.weekend = Uniform(rng, 0.7, 0.9);
  if (s.weekly == Weekly::kStrong) s.weekend = Uniform(rng, 0.3, 0.6);
  if (s.weekly != Weekly::kNone) s.monday = Uniform(rng, 1.0, 1.2);
  if (hourly) {
    s.diurnal = Pick<double>(
        rng, {{0.3, 0.0}, {0.4, Uniform(rng, 0.2, 0.5)}, {0.3, Uniform(rng, 0.6, 0.95)}});
  }
  s.sigma = Pick<double>(rng, {{0.25, 0.02}, {0.25, 0.05}, {0.25, 0.1}, {0.15, 0.2}, {0.1, 0.35}});
  s.heavy = Chance(rng, 0.2);
  s.missing = Chance(rng, 0.5) ? 0.02 : 0;
  s.holiday = Chance(rng, 0.5) ? Uniform(rng, 0.3, 0.7) : 1;
  return s;
}

bool WeekendOff(const VolumeShape& s) {
  return s.weekly == Weekly::kOffZero || s.weekly == Weekly::kOffMissing;
}

struct Injection {
  int at = 0;
  int length = 1;  // buckets touched
  int window = 1;  // buckets labelled
  std::string kind;
  double magnitude = 0;  // log factor (signed)
};

VolumeCase MakeVolumeCase(std::uint64_t seed, int index, bool hourly) {
  std::mt19937_64 rng = CaseRng(seed, hourly ? 2 : 1, static_cast<std::uint64_t>(index));
  VolumeShape s = DrawShape(rng, hourly);
  const std::int64_t cadence = hourly ? kHour : kDay;
  const std::int64_t start = hourly ? EpochOf(2026, 1, 5) : EpochOf(2025, 11, 3);
  const int n = hourly ? 42 * 24 : 120;
  const int per_day = hourly ? 24 : 1;
  const double sigma_eff = s.sigma * (s.heavy ? 1.5 : 1.0);

  auto is_weekend = [&](int i) { return DayOfWeek(start + i * cadence) >= 5; };
  auto is_holiday = [&](int i) { return s.holiday < 1 && IsHoliday(start + i * cadence); };
  // The bucket's expected load before noise: level, trend, weekly and daily profile, holiday.
  auto log_mean_at = [&](int i) {
    const std::int64_t t = start + i * cadence;
    const int dow = DayOfWeek(t);
    double log_mean = std::log(s.level) + s.trend * static_cast<double>(i) / per_day;
    if (dow >= 5) log_mean += std::log(s.weekend);
    if (dow == 0) log_mean += std::log(s.monday);
    if (hourly) {
      int hour = static_cast<int>((t % kDay) / kHour);
      log_mean +=
          std::log(1 + s.diurnal * std::cos(2 * std::numbers::pi * (hour - 14) / 24.0) + 1e-3);
    }
    if (is_holiday(i)) log_mean += std::log(s.holiday);
    return log_mean;
  };
  // Anomalies are sized against all the noise of the bucket: the multiplicative noise, and
  // for small counts the count's own (Poisson) noise, so 4 rows becoming 6 is not a label.
  auto noise_at = [&](int i) {
    const double expected = std::exp(log_mean_at(i));
    return std::sqrt(sigma_eff * sigma_eff + (s.cumulative ? 0.0 : 1.0 / std::max(expected, 1.0)));
  };

  // Anomalies: where, what, how big. They start after the warm-up both detectors need.
  std::vector<Injection> injections;
  int wanted = Pick<int>(rng, {{0.4, 0}, {0.35, 1}, {0.25, 2}});
  const int first_at = hourly ? 16 * 24 : 35;
  const int last_at = n - (hourly ? 30 : 10);
  const int spacing = hourly ? 48 : 10;
  bool shifted = false;
  for (int attempt = 0; attempt < 50 && static_cast<int>(injections.size()) < wanted; ++attempt) {
    Injection inj;
    inj.at = UniformInt(rng, first_at, last_at);
    bool clash = false;
    for (const Injection& o : injections) clash |= std::abs(o.at - inj.at) < spacing;
    if (clash) continue;
    if (s.cumulative) {
      inj.kind = Pick<std::string>(rng, {{0.35, "frozen"}, {0.35, "level_shift"}, {0.3, "zero"}});
    } else {
      inj.kind = Pick<std::string>(rng, {{0.25, "spike"},
                                         {0.25, "drop"},
                                         {0.2, "level_shift"},
                                         {0.15, "zero"},
                                         {0.15, "frozen"}});
    }
    if (inj.kind == "level_shift" && shifted) continue;
    int len = inj.kind == "zero"     ? UniformInt(rng, 1, hourly ? 3 : 2)
              : inj.kind == "frozen" ? UniformInt(rng, 3, hourly ? 8 : 6)
                                     : 1;
    bool bad_day = false;
    for (int k = inj.at - 1; k < inj.at + len + 1; ++k) {
      bad_day |= is_holiday(k) || (WeekendOff(s) && is_weekend(k));
    }
    if (bad_day) continue;
    inj.length = len;
    inj.window = inj.kind == "level_shift" ? 7 : len;
    const double noise = noise_at(inj.at);
    double m = std::max(Uniform(rng, 5, 10) * noise, Uniform(rng, std::log(1.5), std::log(4.0)));
    if (inj.kind == "level_shift") {
      m = std::max(Uniform(rng, 4, 8) * noise, Uniform(rng, std::log(1.4), std::log(3.0)));
      if (Chance(rng, 0.5)) m = -m;
      shifted = true;
    }
    if (inj.kind == "drop") m = -std::min(m, std::log(50.0));
    inj.magnitude = m;
    injections.push_back(inj);
  }

  // Loads.
  std::normal_distribution<double> normal(0, 1);
  std::student_t_distribution<double> student(4);
  std::vector<double> load(n);
  std::vector<bool> present(n, true);
  double shift = 0;
  for (int i = 0; i < n; ++i) {
    const int dow = DayOfWeek(start + i * cadence);
    const double log_mean = log_mean_at(i);
    for (const Injection& inj : injections) {
      if (inj.kind == "level_shift" && i == inj.at) shift = inj.magnitude;
    }
    double eps = s.heavy ? student(rng) * s.sigma / std::sqrt(2.0) : normal(rng) * s.sigma;
    load[i] = std::exp(log_mean + eps + (s.cumulative ? 0 : shift));
    if (WeekendOff(s) && dow >= 5) {
      load[i] = 0;
      if (s.weekly == Weekly::kOffMissing) present[i] = false;
    }
    if (s.missing > 0 && Chance(rng, s.missing)) present[i] = false;
    for (const Injection& inj : injections) {
      if (i == inj.at && inj.kind == "spike") load[i] *= std::exp(inj.magnitude);
      if (i == inj.at && inj.kind == "drop") load[i] *= std::exp(inj.magnitude);
    }
  }
  // Values: rows per load, or the table's running size.
  std::vector<double> value(n);
  double total = s.level * Uniform(rng, 10, 100) * per_day;
  for (int i = 0; i < n; ++i) {
    if (s.cumulative) {
      total += load[i];
      for (const Injection& inj : injections) {
        // Truncation or a duplicated backfill: the table jumps and grows on from there.
        if (inj.kind == "level_shift" && i == inj.at) total *= std::exp(inj.magnitude);
      }
      value[i] = std::round(total);
    } else {
      value[i] = std::round(load[i]);
    }
  }
  for (const Injection& inj : injections) {
    for (int k = inj.at; k < inj.at + inj.length; ++k) {
      present[k] = true;
      if (inj.kind == "zero") value[k] = 0;
      if (inj.kind == "frozen") value[k] = value[inj.at - 1];
    }
    if (inj.kind == "frozen") present[inj.at - 1] = true;
    if (inj.kind == "level_shift") {
      for (int k = inj.at; k < inj.at + inj.window && k < n; ++k)
        present[k] = present[k] || k == inj.at;
    }
  }

  VolumeCase c;
  c.cadence = cadence;
  c.shape = hourly ? "hourly" : "daily";
  c.series.asset = {"bench://volume", (hourly ? "hourly_" : "daily_") + std::to_string(index)};
  c.series.metric = s.cumulative ? "row_count" : "rows_affected";
  c.eval_start = At(start + (hourly ? 14 * kDay : 28 * kDay));
  // Loads land at irregular times inside their bucket (a job's run time varies).
  const std::int64_t land = hourly ? 0 : 2 * kHour;
  for (int i = 0; i < n; ++i) {
    if (!present[i]) continue;
    std::int64_t jitter = static_cast<std::int64_t>(Uniform(rng, 0, hourly ? 600 : 3600));
    c.series.ts.push_back(At(start + i * cadence + land + jitter));
    c.series.values.push_back(value[i]);
  }
  for (const Injection& inj : injections) {
    c.anomalies.push_back(
        {At(start + inj.at * cadence), At(start + (inj.at + inj.window) * cadence - 1), inj.kind});
  }
  for (int i = 0; i < n; ++i) {
    if (is_holiday(i) && (i == 0 || !is_holiday(i - 1))) {
      int j = i;
      while (j + 1 < n && is_holiday(j + 1)) ++j;
      c.dont_care.push_back(
          {At(start + i * cadence), At(start + (j + 1) * cadence - 1), "holiday"});
    }
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Freshness

struct Occurrence {
  std::int64_t scheduled = 0;  // when the job starts
  std::int64_t usual = 0;      // when its update normally lands (schedule + median run time)
};

FreshnessCase MakeFreshnessCase(std::uint64_t seed, int index) {
  std::mt19937_64 rng = CaseRng(seed, 3, static_cast<std::uint64_t>(index));
  FreshnessCase c;
  c.shape = Pick<std::string>(rng, {{0.2, "hourly"},
                                    {0.25, "daily"},
                                    {0.15, "weekday"},
                                    {0.1, "business_hours"},
                                    {0.15, "batch"},
                                    {0.15, "stream"}});
  c.updates.asset = {"bench://freshness", c.shape + "_" + std::to_string(index)};
  c.updates.metric = "update";
  const bool daily_like = c.shape == "daily" || c.shape == "weekday" || c.shape == "batch";
  const std::int64_t start = daily_like ? EpochOf(2025, 12, 1) : EpochOf(2026, 1, 5);
  const int days = daily_like ? 90 : c.shape == "stream" ? 28 : 42;
  const std::int64_t end = start + days * kDay;
  c.until = At(end);
  c.interval = daily_like ? kDay : c.shape == "stream" ? 2 * kHour : kHour;
  const int warmup_days = daily_like                    ? 28
                          : c.shape == "stream"         ? 7
                          : c.shape == "business_hours" ? 22
                                                        : 8;
  c.eval_start = At(start + warmup_days * kDay);

  std::lognormal_distribution<double> run_minutes(std::log(daily_like ? 20.0 : 2.0), 0.4);
  std::vector<std::int64_t> updates;
  if (c.shape == "stream") {
    // Poisson with a daily rhythm (thinning), and outages.
    const double peak = 32.0 / kHour;  // 20 an hour on average, 8 at night
    std::vector<std::pair<std::int64_t, std::int64_t>> outages;
    int wanted = Pick<int>(rng, {{0.3, 0}, {0.4, 1}, {0.3, 2}});
    for (int k = 0; k < wanted; ++k) {
      std::int64_t t0 =
          c.eval_start.time_since_epoch().count() / 1'000'000 +
          static_cast<std::int64_t>(Uniform(rng, 0, (end - kDay) - (start + warmup_days * kDay)));
      std::int64_t len = static_cast<std::int64_t>(Uniform(rng, 3, 12) * kHour);
      bool clash = false;
      for (auto& [a, l] : outages) clash |= std::abs(a - t0) < 2 * kDay;
      if (!clash) outages.push_back({t0, len});
    }
    double t = static_cast<double>(start);
    std::exponential_distribution<double> gap(peak);
    while (t < static_cast<double>(end)) {
      t += gap(rng);
      std::int64_t ti = static_cast<std::int64_t>(t);
      int hour = static_cast<int>((ti % kDay) / kHour);
      double rate = (1 + 0.6 * std::cos(2 * std::numbers::pi * (hour - 14) / 24.0)) / 1.6;
      if (!Chance(rng, rate)) continue;
      bool silent = false;
      for (auto& [a, l] : outages) silent |= ti >= a && ti < a + l;
      if (!silent && ti < end) updates.push_back(ti);
    }
    for (auto& [a, l] : outages) {
      auto next = std::lower_bound(updates.begin(), updates.end(), a + l);
      if (next == updates.end()) continue;
      c.events.push_back({At(a), At(*next), At(a + c.interval), "outage"});
    }
  } else {
    std::vector<Occurrence> occ;
    for (int d = 0; d < days; ++d) {
      const std::int64_t day0 = start + d * kDay;
      const int dow = DayOfWeek(day0);
      if ((c.shape == "weekday" || c.shape == "business_hours") && dow >= 5) continue;
      if (c.shape == "hourly") {
        for (int h = 0; h < 24; ++h)
          occ.push_back({day0 + h * kHour + 5 * 60, day0 + h * kHour + 7 * 60});
      } else if (c.shape == "business_hours") {
        for (int h = 8; h <= 18; ++h) occ.push_back({day0 + h * kHour, day0 + h * kHour + 2 * 60});
      } else {
        std::int64_t at = day0 + (c.shape == "batch" ? 3 : 2) * kHour;
        occ.push_back({at, at + 20 * 60});
      }
    }
    // Late and missed loads after the warm-up, at least three intervals apart.
    std::set<size_t> late, missed;
    std::vector<size_t> chosen;
    int wanted = Pick<int>(rng, {{0.3, 0}, {0.35, 1}, {0.2, 2}, {0.15, 3}});
    const std::int64_t from = start + warmup_days * kDay;
    for (int attempt = 0; attempt < 50 && static_cast<int>(chosen.size()) < wanted; ++attempt) {
      size_t k = static_cast<size_t>(UniformInt(rng, 0, static_cast<int>(occ.size()) - 3));
      if (occ[k].scheduled < from) continue;
      bool clash = false;
      for (size_t o : chosen) clash |= (k > o ? k - o : o - k) < 3;
      if (clash) continue;
      chosen.push_back(k);
      (Chance(rng, 0.5) ? late : missed).insert(k);
    }
    std::vector<std::int64_t> delay_of(occ.size(), 0);
    for (size_t k = 0; k < occ.size(); ++k) {
      if (missed.count(k)) continue;
      double run = run_minutes(rng) * 60;
      if (daily_like && Chance(rng, 0.05)) run += Uniform(rng, 30, 90) * 60;  // a slow night
      std::int64_t t = occ[k].scheduled + static_cast<std::int64_t>(run);
      if (late.count(k)) {
        delay_of[k] =
            static_cast<std::int64_t>(Uniform(rng, 0.5, 1.5) * static_cast<double>(c.interval));
        t = occ[k].usual + delay_of[k];
      }
      updates.push_back(t);
      if (c.shape == "batch") {  // the load commits in several steps
        int steps = UniformInt(rng, 2, 5);
        for (int s = 0; s < steps; ++s) {
          t += static_cast<std::int64_t>(Uniform(rng, 5, 60));
          updates.push_back(t);
        }
      }
    }
    std::sort(updates.begin(), updates.end());
    for (size_t k : chosen) {
      const std::int64_t expected = occ[k].usual;
      auto next = std::upper_bound(updates.begin(), updates.end(),
                                   missed.count(k) ? expected : expected + delay_of[k] - 1);
      std::int64_t arrived = next == updates.end() ? end : *next;
      c.events.push_back({At(expected), At(arrived), At(expected + c.interval),
                          missed.count(k) ? "missed" : "late"});
    }
    std::sort(
        c.events.begin(), c.events.end(),
        [](const FreshnessEvent& a, const FreshnessEvent& b) { return a.expected < b.expected; });
  }
  std::sort(updates.begin(), updates.end());
  for (std::int64_t u : updates) {
    c.updates.ts.push_back(At(u));
    c.updates.values.push_back(1);
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Schema

struct TypeSpelling {
  const char* canonical;
  const char* alternative;  // how another tool spells it
  const char* wider;        // a widening, or nullptr
  const char* narrower;     // an incompatible change
};

constexpr TypeSpelling kTypes[] = {
    {"integer", "INT4", "bigint", "varchar(16)"},
    {"bigint", "INT8", "numeric(38,0)", "integer"},
    {"varchar(64)", "character varying(64)", "varchar(255)", "varchar(16)"},
    {"text", "TEXT", nullptr, "varchar(32)"},
    {"numeric(12,2)", "decimal(12,2)", "numeric(18,2)", "double precision"},
    {"timestamp", "timestamp without time zone", nullptr, "date"},
    {"boolean", "bool", nullptr, "integer"},
    {"double precision", "float8", nullptr, "real"},
    {"date", "DATE", nullptr, "varchar(10)"},
};

constexpr const char* kNames[] = {"id",         "customer_id", "order_id", "email",   "amount",
                                  "created_at", "updated_at",  "status",   "country", "price",
                                  "quantity",   "is_active",   "sku",      "channel", "discount",
                                  "tax",        "currency",    "region",   "score",   "note"};

SchemaCase MakeSchemaCase(std::uint64_t seed, int index) {
  std::mt19937_64 rng = CaseRng(seed, 4, static_cast<std::uint64_t>(index));
  model::AssetKey asset{"bench://schema", "table_" + std::to_string(index)};
  std::vector<model::Column> cols;
  std::set<std::string> used;
  int next_name = 0;
  auto fresh_name = [&]() {
    std::string name;
    do {
      name = std::string(kNames[UniformInt(rng, 0, 19)]) + "_" + std::to_string(next_name++);
    } while (used.count(name));
    used.insert(name);
    return name;
  };
  const int ncols = UniformInt(rng, 5, 30);
  for (int i = 0; i < ncols; ++i) {
    model::Column c;
    c.name = i == 0 ? "id" : fresh_name();
    c.position = i + 1;
    c.data_type = kTypes[i == 0 ? 1 : UniformInt(rng, 0, 8)].canonical;
    c.nullable = i == 0 ? false : Chance(rng, 0.7);
    cols.push_back(c);
  }
  used.insert("id");
  SchemaCase sc;
  std::vector<std::vector<model::Column>> states;  // canonical spelling, for reverts
  const std::int64_t start = EpochOf(2026, 1, 1);
  auto snapshot = [&](int day, const std::vector<model::Column>& columns, bool respell) {
    model::SchemaSnapshot s;
    s.asset = asset;
    s.observed_at = At(start + day * kDay + 6 * kHour);
    s.source = respell ? "postgres" : "dbt-catalog";
    s.columns = columns;
    if (respell) {
      for (model::Column& c : s.columns) {
        for (const TypeSpelling& t : kTypes) {
          if (c.data_type == t.canonical) {
            c.data_type = t.alternative;
            break;
          }
        }
      }
    }
    return s;
  };
  sc.history.push_back(snapshot(0, cols, false));
  sc.truth.push_back({});
  states.push_back(cols);
  auto find_type = [](const std::string& t) -> const TypeSpelling* {
    for (const TypeSpelling& s : kTypes) {
      if (t == s.canonical || (s.wider && t == s.wider) || (s.narrower && t == s.narrower))
        return &s;
    }
    return nullptr;
  };
  // The schemas alerted changes started from, with what undoing each looks like: a change
  // back to the latest of them is a revert (no alert), whether the generator meant one or
  // a removal happened to take out the column just added.
  struct Undo {
    std::vector<model::Column> state;
    std::vector<std::string> inverse;
  };
  std::vector<Undo> undo;
  for (int day = 1; day < 60; ++day) {
    SchemaTruth truth;
    const bool respell = Chance(rng, 0.1);
    if (Chance(rng, 0.08)) {
      std::string kind = Pick<std::string>(rng, {{0.22, "added"},
                                                 {0.13, "removed"},
                                                 {0.15, "type_widen"},
                                                 {0.1, "type_narrow"},
                                                 {0.1, "nullability"},
                                                 {0.15, "renamed"},
                                                 {0.15, "revert"}});
      std::vector<model::Column> next = cols;
      const int pick = UniformInt(rng, 1, static_cast<int>(cols.size()) - 1);
      std::vector<std::string> inverse;  // what undoing this change looks like
      if (kind == "revert" && !undo.empty()) {
        next = undo.back().state;
        truth.changes = undo.back().inverse;
        undo.pop_back();
      } else if (kind == "added" || kind == "revert") {
        model::Column c;
        c.name = fresh_name();
        c.position = static_cast<int>(cols.size()) + 1;
        c.data_type = kTypes[UniformInt(rng, 0, 8)].canonical;
        c.nullable = true;
        next.push_back(c);
        truth.changes = {"added:" + c.name};
        inverse = {"removed:" + c.name};
      } else if (kind == "removed" && cols.size() > 3) {
        truth.changes = {"removed:" + next[pick].name};
        inverse = {"added:" + next[pick].name};
        next.erase(next.begin() + pick);
        for (int i = pick; i < static_cast<int>(next.size()); ++i) next[i].position = i + 1;
      } else if (kind == "type_widen" || kind == "type_narrow") {
        const TypeSpelling* t = find_type(next[pick].data_type);
        const char* to = t ? (kind == "type_widen" ? t->wider : t->narrower) : nullptr;
        if (to && next[pick].data_type == t->canonical) {
          next[pick].data_type = to;
          truth.changes = {"type_changed:" + next[pick].name};
          inverse = truth.changes;
        }
      } else if (kind == "nullability") {
        next[pick].nullable = !next[pick].nullable.value_or(true);
        truth.changes = {"nullability_changed:" + next[pick].name};
        inverse = truth.changes;
      } else if (kind == "renamed") {
        std::string old = next[pick].name;
        next[pick].name = fresh_name();
        truth.changes = {"renamed:" + next[pick].name};
        inverse = {"renamed:" + old};
      }
      if (!inverse.empty()) {
        if (!undo.empty() && next == undo.back().state) {
          undo.pop_back();  // undoes the last change: a revert by another name
        } else {
          undo.push_back({cols, inverse});
          truth.alert = true;
        }
      }
      cols = next;
    }
    std::sort(truth.changes.begin(), truth.changes.end());
    sc.history.push_back(snapshot(day, cols, respell));
    sc.truth.push_back(truth);
  }
  return sc;
}

}  // namespace

Benchmark Generate(const BenchmarkSpec& spec) {
  Benchmark b;
  for (int i = 0; i < spec.daily; ++i) b.volume.push_back(MakeVolumeCase(spec.seed, i, false));
  for (int i = 0; i < spec.hourly; ++i) b.volume.push_back(MakeVolumeCase(spec.seed, i, true));
  for (int i = 0; i < spec.freshness; ++i) b.freshness.push_back(MakeFreshnessCase(spec.seed, i));
  for (int i = 0; i < spec.schema; ++i) b.schema.push_back(MakeSchemaCase(spec.seed, i));
  return b;
}

std::vector<model::Series> GenerateDailySeries(int count, int points, std::uint64_t seed) {
  std::vector<model::Series> out(static_cast<size_t>(count));
  const std::int64_t start = EpochOf(2026, 1, 5);
  for (int i = 0; i < count; ++i) {
    std::mt19937_64 rng = CaseRng(seed, 5, static_cast<std::uint64_t>(i));
    std::normal_distribution<double> normal(0, 1);
    model::Series& s = out[static_cast<size_t>(i)];
    s.asset = {"bench://speed", "table_" + std::to_string(i)};
    s.metric = "rows_affected";
    const double level = std::pow(10.0, Uniform(rng, 2, 6));
    const double weekend = Chance(rng, 0.6) ? Uniform(rng, 0.3, 0.9) : 1.0;
    const double sigma = Uniform(rng, 0.02, 0.3);
    s.ts.reserve(static_cast<size_t>(points));
    s.values.reserve(static_cast<size_t>(points));
    for (int d = 0; d < points; ++d) {
      std::int64_t t = start + d * kDay + 2 * kHour;
      double v = level * std::exp(sigma * normal(rng)) * (DayOfWeek(t) >= 5 ? weekend : 1.0);
      if (Chance(rng, 0.01)) v *= Chance(rng, 0.5) ? 5 : 0.1;
      s.ts.push_back(At(t));
      s.values.push_back(std::round(v));
    }
  }
  return out;
}

}  // namespace tidemark::bench
