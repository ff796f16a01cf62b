// Detector micro-benchmarks: one series through each detector, so a change in the cost per
// point shows up on its own, next to Elementary's z-score on the same series as the reference.
//
//   build/bench/detectors_bench --benchmark_repetitions=3
//
// The end-to-end figures (100,000 series, both threads) come from
// `tidemark-quality --workload=detect_100k`.

#include <benchmark/benchmark.h>

#include <chrono>
#include <vector>

#include "quality/elementary.h"
#include "quality/generator.h"
#include "tidemark/detectors/freshness.h"
#include "tidemark/detectors/schema.h"
#include "tidemark/detectors/volume.h"

namespace {

using namespace tidemark;

constexpr std::uint64_t kSeed = 20260301;

const std::vector<model::Series>& Daily() {
  static const std::vector<model::Series> series = bench::GenerateDailySeries(256, 90, kSeed);
  return series;
}

void BM_VolumeLatest(benchmark::State& state) {
  const auto& series = Daily();
  const detectors::VolumeSettings settings;
  size_t i = 0;
  for (auto _ : state) {
    auto r = detectors::DetectVolume(series[i++ % series.size()], settings);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_VolumeLatest);

void BM_VolumeReplay(benchmark::State& state) {
  const auto& series = Daily();
  const detectors::VolumeSettings settings;
  size_t i = 0;
  for (auto _ : state) {
    auto r = detectors::ReplayVolume(series[i++ % series.size()], settings);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * 90);  // points scored
}
BENCHMARK(BM_VolumeReplay);

void BM_ElementaryReplay(benchmark::State& state) {
  const auto& series = Daily();
  size_t i = 0;
  for (auto _ : state) {
    auto r = bench::ElementaryVolume(series[i++ % series.size()], 86400, {});
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * 90);
}
BENCHMARK(BM_ElementaryReplay);

void BM_FreshnessReplay(benchmark::State& state) {
  bench::BenchmarkSpec spec;
  spec.daily = spec.hourly = spec.schema = 0;
  spec.freshness = 64;
  spec.seed = kSeed;
  static const bench::Benchmark data = bench::Generate(spec);
  const detectors::FreshnessSettings settings;
  size_t i = 0;
  long long updates = 0;
  for (auto _ : state) {
    const bench::FreshnessCase& c = data.freshness[i++ % data.freshness.size()];
    auto r = detectors::ReplayFreshness(c.updates, c.until, settings);
    benchmark::DoNotOptimize(r);
    updates += static_cast<long long>(c.updates.ts.size());
  }
  state.SetItemsProcessed(updates);
}
BENCHMARK(BM_FreshnessReplay);

void BM_SchemaHistory(benchmark::State& state) {
  bench::BenchmarkSpec spec;
  spec.daily = spec.hourly = spec.freshness = 0;
  spec.schema = 64;
  spec.seed = kSeed;
  static const bench::Benchmark data = bench::Generate(spec);
  size_t i = 0;
  for (auto _ : state) {
    auto r = detectors::DetectSchemaChanges(data.schema[i++ % data.schema.size()].history, {});
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations() * 60);  // snapshots
}
BENCHMARK(BM_SchemaHistory);

}  // namespace

BENCHMARK_MAIN();
