#include "tidemark/detectors/detector.h"

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>
#include <utility>

#include "tidemark/detectors/freshness.h"
#include "tidemark/detectors/volume.h"
#include "volume_internal.h"

namespace tidemark::detectors {
namespace {

size_t PrefixEnd(const model::Series& series, model::Timestamp now) {
  return static_cast<size_t>(std::upper_bound(series.ts.begin(), series.ts.end(), now) -
                             series.ts.begin());
}

class VolumeDetector final : public Detector {
 public:
  VolumeDetector(VolumeSettings settings, std::string_view name)
      : settings_(std::move(settings)), name_(name) {}

  std::string_view Name() const override { return name_; }

  model::Result<std::vector<model::Anomaly>> Latest(
      const model::Series& series, model::Timestamp now,
      std::span<const model::Timestamp> flagged) const override {
    return internal::DetectVolumePrefix(series, PrefixEnd(series, now), settings_, flagged, name_);
  }

  model::Result<std::vector<model::Anomaly>> Replay(const model::Series& series,
                                                    model::Timestamp until) const override {
    return internal::ReplayVolumePrefix(series, 0, PrefixEnd(series, until), settings_, {},
                                        name_);
  }

  model::Result<std::vector<model::Anomaly>> Backfill(
      const model::Series& series, model::Timestamp since, model::Timestamp until,
      std::span<const model::Timestamp> flagged) const override {
    const size_t begin = static_cast<size_t>(
        std::lower_bound(series.ts.begin(), series.ts.end(), since) - series.ts.begin());
    return internal::ReplayVolumePrefix(series, begin, PrefixEnd(series, until), settings_,
                                        flagged, name_);
  }

 private:
  const VolumeSettings settings_;
  const std::string_view name_;  // a string literal
};

class FreshnessDetector final : public Detector {
 public:
  explicit FreshnessDetector(FreshnessSettings settings) : settings_(std::move(settings)) {}

  std::string_view Name() const override { return "freshness"; }

  model::Result<std::vector<model::Anomaly>> Latest(
      const model::Series& series, model::Timestamp now,
      std::span<const model::Timestamp> /*flagged*/) const override {
    // Freshness fences outage gaps by their size; earlier verdicts do not shape its rule.
    return CheckFreshness(series, now, settings_);
  }

  model::Result<std::vector<model::Anomaly>> Replay(const model::Series& series,
                                                    model::Timestamp until) const override {
    return ReplayFreshness(series, until, settings_);
  }

  model::Result<std::vector<model::Anomaly>> Backfill(
      const model::Series& series, model::Timestamp since, model::Timestamp until,
      std::span<const model::Timestamp> flagged) const override {
    TM_ASSIGN_OR_RETURN(std::vector<model::Anomaly> replayed, Replay(series, until));
    std::vector<model::Anomaly> out;
    for (model::Anomaly& a : replayed) {
      if (a.ts >= since) out.push_back(std::move(a));
    }
    // Replay checks on ticks; the live check at `until` may see a lateness the last tick
    // did not yet.
    TM_ASSIGN_OR_RETURN(std::vector<model::Anomaly> now, Latest(series, until, flagged));
    for (model::Anomaly& a : now) {
      const bool known = std::any_of(out.begin(), out.end(),
                                     [&](const model::Anomaly& b) { return b.id == a.id; });
      if (!known && a.ts >= since) out.push_back(std::move(a));
    }
    return out;
  }

 private:
  const FreshnessSettings settings_;
};

}  // namespace

std::unique_ptr<Detector> NewVolumeDetector(VolumeSettings settings) {
  return std::make_unique<VolumeDetector>(std::move(settings), "volume");
}

std::unique_ptr<Detector> NewColumnMetricDetector(VolumeSettings settings) {
  return std::make_unique<VolumeDetector>(std::move(settings), "column_metric");
}

std::unique_ptr<Detector> NewFreshnessDetector(FreshnessSettings settings) {
  return std::make_unique<FreshnessDetector>(std::move(settings));
}

bool IsColumnMetric(std::string_view metric) {
  static constexpr std::string_view kPrefixes[] = {
      "null_rate:", "null_count:", "distinct_count:", "distinct_rate:",
      "min:",       "max:",        "mean:",           "stddev:"};
  for (std::string_view p : kPrefixes) {
    if (metric.size() > p.size() && metric.substr(0, p.size()) == p) return true;
  }
  return false;
}

std::string AnomalyId(const model::AssetKey& asset, std::string_view metric,
                      std::string_view detector, model::Timestamp ts) {
  // FNV-1a 64 with a separator after each field: stable across builds, platforms and
  // processes (std::hash is none of these). Collisions only matter within one asset's
  // anomalies, where 64 bits are ample.
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;
    h *= 1099511628211ULL;
  };
  mix(asset.ns);
  mix(asset.name);
  mix(metric);
  mix(detector);
  mix(std::to_string(model::ToMicros(ts)));
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::vector<model::Result<std::vector<model::Anomaly>>> DetectAll(std::span<const DetectJob> jobs,
                                                                  DetectMode mode,
                                                                  model::Timestamp now,
                                                                  int threads) {
  std::vector<model::Result<std::vector<model::Anomaly>>> results(
      jobs.size(), model::Result<std::vector<model::Anomaly>>(std::vector<model::Anomaly>{}));
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  threads = static_cast<int>(
      std::min<size_t>(static_cast<size_t>(threads), std::max<size_t>(jobs.size(), 1)));
  // Jobs vary in cost (a replayed hourly series is 24 daily ones), so threads take small
  // chunks from a shared counter instead of fixed slices.
  constexpr size_t kChunk = 64;
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (;;) {
      size_t begin = next.fetch_add(kChunk, std::memory_order_relaxed);
      if (begin >= jobs.size()) return;
      size_t end = std::min(begin + kChunk, jobs.size());
      for (size_t i = begin; i < end; ++i) {
        const DetectJob& job = jobs[i];
        results[i] = mode == DetectMode::kLatest ? job.detector->Latest(*job.series, now, {})
                                                 : job.detector->Replay(*job.series, now);
      }
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& t : pool) t.join();
  return results;
}

}  // namespace tidemark::detectors
