#pragma once

// Constructed series for detector tests: seeded, with the seed in every failure message
// (SeriesMaker::Trace()), so a failing case can be replayed exactly.

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <functional>
#include <random>
#include <string>

#include "tidemark/model/metric.h"
#include "tidemark/model/time.h"

namespace tidemark::detectors::testing {

inline constexpr std::int64_t kHourS = 3600;
inline constexpr std::int64_t kDayS = 86400;

inline model::Timestamp At(std::int64_t epoch_s) { return model::FromMicros(epoch_s * 1'000'000); }

inline model::Timestamp Parse(const char* iso) { return *model::ParseTimestamp(iso); }

inline std::int64_t Seconds(model::Timestamp t) { return model::ToMicros(t) / 1'000'000; }

// Day of week of an epoch second, Monday = 0.
inline int DayOfWeek(std::int64_t epoch_s) {
  return static_cast<int>(((epoch_s / kDayS + 3) % 7 + 7) % 7);
}

class SeriesMaker {
 public:
  explicit SeriesMaker(std::uint64_t seed) : seed_(seed), rng_(seed) {}

  // "seed 42": pass to SCOPED_TRACE so failures name the seed.
  std::string Trace() const { return "seed " + std::to_string(seed_); }

  // `days` daily points starting at `start` (a midnight), each landing at 02:00 plus up to
  // `jitter_s` seconds, value level · weekday factor · lognormal(noise).
  model::Series Daily(model::Timestamp start, int days, double level, double weekend_factor,
                      double noise, std::int64_t jitter_s = 1800) {
    model::Series s;
    s.asset = {"test://db", "analytics.orders"};
    s.metric = "rows_affected";
    std::normal_distribution<double> normal(0, noise);
    std::uniform_int_distribution<std::int64_t> jitter(0, jitter_s);
    for (int d = 0; d < days; ++d) {
      const std::int64_t day = Seconds(start) + d * kDayS;
      const double factor = DayOfWeek(day) >= 5 ? weekend_factor : 1.0;
      s.ts.push_back(At(day + 2 * kHourS + jitter(rng_)));
      s.values.push_back(std::round(level * factor * std::exp(normal(rng_))));
    }
    return s;
  }

  // Hourly points with a daily profile: peak at 14:00, trough (1 - amplitude) at 02:00.
  model::Series Hourly(model::Timestamp start, int hours, double level, double amplitude,
                       double noise) {
    model::Series s;
    s.asset = {"test://db", "analytics.events"};
    s.metric = "rows_affected";
    std::normal_distribution<double> normal(0, noise);
    for (int h = 0; h < hours; ++h) {
      const std::int64_t t = Seconds(start) + h * kHourS;
      const int hour = static_cast<int>((t % kDayS) / kHourS);
      const double profile = 1 + amplitude * std::cos(2 * 3.14159265358979 * (hour - 14) / 24.0);
      s.ts.push_back(At(t + 300));
      s.values.push_back(std::round(level * profile * std::exp(normal(rng_))));
    }
    return s;
  }

  // Update times of a job scheduled every `every_s` seconds from `start`, landing after
  // `delay_s` plus up to `jitter_s`, skipping slots for which `skip` is true.
  model::Series Updates(model::Timestamp start, model::Timestamp end, std::int64_t every_s,
                        std::int64_t delay_s, std::int64_t jitter_s,
                        const std::function<bool(std::int64_t)>& skip = {}) {
    model::Series s;
    s.asset = {"test://db", "raw.payments"};
    s.metric = "update";
    std::uniform_int_distribution<std::int64_t> jitter(0, jitter_s);
    for (std::int64_t t = Seconds(start); t < Seconds(end); t += every_s) {
      if (skip && skip(t)) continue;
      s.ts.push_back(At(t + delay_s + jitter(rng_)));
      s.values.push_back(1);
    }
    return s;
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::uint64_t seed_;
  std::mt19937_64 rng_;
};

// The first `n` points of `s`.
inline model::Series Prefix(const model::Series& s, size_t n) {
  model::Series p = s;
  p.ts.resize(n);
  p.values.resize(n);
  return p;
}

}  // namespace tidemark::detectors::testing
