#include "elementary.h"

#include <algorithm>
#include <cctype>
#include <cmath>

namespace tidemark::bench {
namespace {

constexpr std::int64_t kDay = 86400;

std::int64_t Seconds(model::Timestamp t) { return model::ToMicros(t) / 1'000'000; }

std::int64_t FloorDiv(std::int64_t a, std::int64_t b) {
  std::int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

// Scores bucket values (bucket index, value) as Elementary does; returns flagged positions.
std::vector<size_t> ZScoreFlags(const std::vector<std::int64_t>& bucket,
                                const std::vector<double>& value, std::int64_t window_buckets,
                                const ElementarySettings& settings, bool spikes_only) {
  std::vector<size_t> flagged;
  const size_t min_size = static_cast<size_t>(settings.days_back - 1);
  size_t lo = 0;
  for (size_t i = 0; i < bucket.size(); ++i) {
    while (bucket[lo] <= bucket[i] - window_buckets) ++lo;
    const size_t n = i - lo + 1;  // the training set includes the scored bucket
    if (n < min_size || n < 2) continue;
    double mean = 0;
    for (size_t k = lo; k <= i; ++k) mean += value[k];
    mean /= static_cast<double>(n);
    double ss = 0;
    for (size_t k = lo; k <= i; ++k) ss += (value[k] - mean) * (value[k] - mean);
    const double sd = std::sqrt(ss / static_cast<double>(n - 1));
    const double score = sd == 0 ? 0 : (value[i] - mean) / sd;
    if (spikes_only ? score > settings.sensitivity : std::abs(score) > settings.sensitivity) {
      flagged.push_back(i);
    }
  }
  return flagged;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::vector<model::Timestamp> ElementaryVolume(const model::Series& series, std::int64_t cadence,
                                               const ElementarySettings& settings) {
  std::vector<std::int64_t> bucket;
  std::vector<double> value;
  std::vector<model::Timestamp> ts;
  for (size_t i = 0; i < series.ts.size(); ++i) {
    std::int64_t b = FloorDiv(Seconds(series.ts[i]), cadence);
    if (!bucket.empty() && bucket.back() == b) {
      value.back() = series.values[i];
      ts.back() = series.ts[i];
      continue;
    }
    bucket.push_back(b);
    value.push_back(series.values[i]);
    ts.push_back(series.ts[i]);
  }
  std::vector<model::Timestamp> out;
  for (size_t i :
       ZScoreFlags(bucket, value, settings.days_back * kDay / cadence, settings, false)) {
    out.push_back(ts[i]);
  }
  return out;
}

std::vector<model::Timestamp> ElementaryFreshness(const model::Series& updates,
                                                  model::Timestamp until, std::int64_t bucket,
                                                  const ElementarySettings& settings) {
  std::vector<model::Timestamp> out;
  if (updates.ts.empty()) return out;
  const std::int64_t first = FloorDiv(Seconds(updates.ts.front()), bucket) + 1;
  const std::int64_t last = FloorDiv(Seconds(until), bucket);  // buckets closed by `until`
  std::vector<std::int64_t> index;
  std::vector<double> freshness;
  size_t u = 0;  // first update at or after the bucket's start
  for (std::int64_t b = first; b < last; ++b) {
    const std::int64_t start = b * bucket, end = start + bucket;
    while (u < updates.ts.size() && Seconds(updates.ts[u]) < start) ++u;
    std::int64_t prev = Seconds(updates.ts[u - 1]);  // u >= 1: the first bucket follows an update
    std::int64_t longest = 0;
    size_t k = u;
    for (; k < updates.ts.size() && Seconds(updates.ts[k]) < end; ++k) {
      longest = std::max(longest, Seconds(updates.ts[k]) - prev);
      prev = Seconds(updates.ts[k]);
    }
    longest = std::max(longest, end - prev);
    index.push_back(b);
    freshness.push_back(static_cast<double>(longest));
  }
  for (size_t i :
       ZScoreFlags(index, freshness, settings.days_back * kDay / bucket, settings, true)) {
    out.push_back(model::FromMicros((index[i] + 1) * bucket * 1'000'000));
  }
  return out;
}

std::vector<std::string> ElementarySchemaChanges(const std::vector<model::Column>& before,
                                                 const std::vector<model::Column>& after) {
  std::vector<std::string> out;
  auto find = [](const std::vector<model::Column>& cols,
                 const std::string& name) -> const model::Column* {
    for (const model::Column& c : cols) {
      if (Lower(c.name) == Lower(name)) return &c;
    }
    return nullptr;
  };
  for (const model::Column& c : before) {
    if (!find(after, c.name)) out.push_back("removed:" + c.name);
  }
  for (const model::Column& c : after) {
    const model::Column* old = find(before, c.name);
    if (!old) {
      out.push_back("added:" + c.name);
    } else if (Lower(old->data_type) != Lower(c.data_type)) {
      out.push_back("type_changed:" + c.name);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace tidemark::bench
