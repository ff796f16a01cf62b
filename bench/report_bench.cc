// The nightly report at scale (issue 8). Target: a report over 10,000 assets with 500
// anomalies (each charted) builds and renders to HTML in under 2 s, and the HTML weighs
// under 5 MB. The store is a SQLite file: 10,000 dbt models with 30 days of daily updates,
// durations and row counts (900,000 points), one schema snapshot each, 500 anomalies on 500
// of them with their 28-day series, 20 open incidents.
// Run: build/bench/report_bench [--benchmark_repetitions=5]

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>

#include "tidemark/catalog/store.h"
#include "tidemark/detectors/detector.h"
#include "tidemark/pipeline/report.h"

namespace {

using namespace tidemark;
using std::chrono::days;
using std::chrono::hours;

const model::Timestamp kNow = *model::ParseTimestamp("2026-11-22T07:00:00Z");
constexpr int kAssets = 10'000;
constexpr int kAnomalies = 500;

std::unique_ptr<catalog::Store> MakeStore(const std::string& path) {
  std::filesystem::remove(path);
  std::filesystem::remove(path + "-wal");
  std::filesystem::remove(path + "-shm");
  auto store = catalog::OpenStore({.url = "sqlite:" + path});
  if (!store.ok()) return nullptr;
  for (int chunk = 0; chunk < kAssets; chunk += 1000) {
    catalog::WriteBatch b;
    for (int i = chunk; i < chunk + 1000; ++i) {
      model::Asset a;
      a.key = {"snowflake://bench", "analytics.marts.model_" + std::to_string(i)};
      a.kind = model::AssetKind::kTable;
      a.name = "model_" + std::to_string(i);
      a.source = "dbt";
      b.PutAsset(a);
      if (i > 0) {
        model::LineageEdge e;
        e.upstream = {"snowflake://bench", "analytics.marts.model_" + std::to_string(i / 2)};
        e.downstream = a.key;
        e.origin = "dbt";
        b.PutEdge(e);
      }
      for (int d = 0; d < 30; ++d) {
        model::Timestamp at = kNow - days(30 - d) + hours(6) + std::chrono::seconds(i % 600);
        b.AppendMetricPoint({a.key, "update", at, 1});
        b.AppendMetricPoint({a.key, "duration_s", at, 10.0 + (i % 50) + d * 0.1});
        b.AppendMetricPoint({a.key, "row_count", at, 1000.0 * (1 + i % 7) + 50.0 * d});
      }
      model::SchemaSnapshot snap;
      snap.asset = a.key;
      snap.observed_at = kNow - days(10);
      snap.source = "bench";
      model::Column id, amount;
      id.name = "id", id.position = 1, id.data_type = "integer";
      amount.name = "amount", amount.position = 2, amount.data_type = "numeric";
      snap.columns = {id, amount};
      b.PutSchemaSnapshot(snap);
      if (i < kAnomalies) {
        model::Anomaly x;
        x.asset = a.key;
        x.metric = "row_count";
        x.detector = "volume";
        x.ts = kNow - days(1) + hours(6) + std::chrono::seconds(i % 600);
        x.id = detectors::AnomalyId(x.asset, x.metric, x.detector, x.ts);
        x.value = 10;
        x.expected_low = 900;
        x.expected_high = 1100;
        x.score = -9;
        x.severity = i % 3 ? model::Severity::kWarn : model::Severity::kError;
        x.train_start = x.ts - days(28);
        x.train_end = x.ts;
        x.explanation = "row_count fell to 10, expected 900-1100";
        x.detected_at = x.ts;
        if (i < 20) x.incident_id = "inc-" + std::to_string(i);
        b.PutAnomaly(x);
        if (i < 20) {
          model::Incident inc;
          inc.id = x.incident_id;
          inc.root = a.key;
          inc.title = a.name + " dropped";
          inc.opened_at = x.ts;
          inc.updated_at = x.ts;
          b.PutIncident(inc);
        }
      }
    }
    if (!store.value()->Write(b).ok()) return nullptr;
  }
  return std::move(store).value();
}

void BM_Report10kAssets500Anomalies(benchmark::State& state) {
  const std::string path =
      (std::filesystem::temp_directory_path() / "tidemark-report-bench.db").string();
  static std::unique_ptr<catalog::Store> store = MakeStore(path);
  if (!store) {
    state.SkipWithError("cannot build the bench store");
    return;
  }
  pipeline::ReportOptions o;
  o.until = kNow;
  o.since = kNow - hours(24);
  size_t bytes = 0, charts = 0;
  for (auto _ : state) {
    auto r = pipeline::BuildReport(*store, o);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    std::string html = pipeline::RenderReportHtml(*r);
    bytes = html.size();
    charts = r->charts.size();
    benchmark::DoNotOptimize(html.data());
  }
  state.counters["html_MB"] = static_cast<double>(bytes) / 1e6;
  state.counters["charts"] = static_cast<double>(charts);
  state.counters["assets"] = kAssets;
}
BENCHMARK(BM_Report10kAssets500Anomalies)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();
