// The detection job and the alert path end to end, on a real SQLite store:
//
//   BM_DetectionJob/10000      10k assets x 90 daily rows_affected points (900k points): the
//                              first run (every series scored, anomalies stored), target < 10 s
//                              on 2 cores; BM_DetectionJobUnchanged: the next run with no new
//                              point (checkpoints), target < 3 s.
//   BM_IncidentGrouping/1000   1,000 new anomalies spread over a 10,000-asset lineage forest
//                              (chains of 10), grouped into incidents with their alerts,
//                              target < 2 s.
//   BM_IncidentGroupingBigLineage/N
//                              N new anomalies (1,000 and 10,000) on a 1M-edge lineage graph
//                              (21 layers of 10,000 tables, each fed by 5 tables of the layer
//                              above), grouped into incidents with their impact and alerts;
//                              the issue's target: 10,000 in under 2 s. SQLite, median of 3
//                              runs of --benchmark_filter=BM_IncidentGroupingBigLineage/10000,
//                              quiet (load 1.1-1.2): 1.49 s wall / 1.45 s CPU (was 2.8 s).
//   BM_IncidentGroupingBigLineagePostgres/10000
//                              The same on PostgreSQL (needs TIDEMARK_BENCH_PG_URL), quiet:
//                              4.17 and 4.26 s wall, 1.3 s CPU in two runs (was 10.3 s
//                              contended), target not met. Recovery series, routing facts
//                              and the write now go in bulk; what is left is mostly the
//                              server walking 1.27M edge rows up and down.
//   BM_AlertFanout/2000        2,000 outbox rows delivered to a local HTTP receiver (signed
//                              webhook, new connection each), target >= 1,000 alerts/s.
//   BM_AlertDrain/100000       100,000 pending alerts drained to the receiver (counting
//                              only), target: no memory growth. Resident memory is read after
//                              the first 10,000 and at the end (rss_growth_mb), and the outbox
//                              must be empty afterwards.
//
//   build/bench/alerts_bench --benchmark_repetitions=1   (run 3 times, take the median)
//
// Each case builds its store once (outside the timing) and runs its workload once.

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <string>

#include "pipeline/receiver.h"
#include "scratch_pg.h"
#include "tidemark/catalog/store.h"
#include "tidemark/pipeline/deliverer.h"
#include "tidemark/pipeline/detection.h"
#include "tidemark/pipeline/incidents.h"

namespace {

using namespace tidemark;
using namespace std::chrono_literals;

const model::Timestamp kT0 = *model::ParseTimestamp("2026-01-01T06:00:00Z");

model::AssetKey Key(int i) { return {"postgres://bench:5432", "analytics.t_" + std::to_string(i)}; }

// A fresh store: a SQLite file, or with `pg_url` a scratch database next to the one named
// there. Dropped afterwards.
struct ScratchStore {
  explicit ScratchStore(const char* pg_url = nullptr) {
    std::string url;
    if (pg_url) {
      pg.emplace(pg_url, "tm_bench_alerts_" + std::to_string(::getpid()));
      url = pg->url();
    } else {
      path = std::filesystem::temp_directory_path() /
             ("tidemark-alerts-bench-" + std::to_string(::getpid()) + ".db");
      Remove();
      url = "sqlite:" + path.string();
    }
    store = std::move(*catalog::OpenStore({.url = url}));
  }
  ~ScratchStore() {
    store.reset();
    if (!pg) Remove();
  }
  void Remove() {
    for (const char* s : {"", "-wal", "-shm"}) std::filesystem::remove(path.string() + s);
  }
  std::filesystem::path path;
  std::optional<bench::ScratchPgDatabase> pg;  // dropped after the store has closed
  std::unique_ptr<catalog::Store> store;
};

void Write(benchmark::State& state, catalog::Store& store, catalog::WriteBatch& b) {
  if (auto w = store.Write(b); !w.ok()) state.SkipWithError(w.status().ToString().c_str());
  b.Clear();
}

// Puts tables t_0 .. t_{assets-1}, each fed by the tables feeds(a) lists (an edge from each);
// more(b, a) adds anything else about table a. Writes every 50,000 rows and returns the edges.
template <typename Feeds, typename More>
long long PutTables(benchmark::State& state, catalog::Store& store, int assets, Feeds feeds,
                    More more) {
  long long edges = 0;
  catalog::WriteBatch b;
  for (int a = 0; a < assets; ++a) {
    model::Asset asset;
    asset.key = Key(a);
    asset.kind = model::AssetKind::kTable;
    asset.name = "t_" + std::to_string(a);
    b.PutAsset(asset);
    std::vector<model::LineageEdge> in;
    for (int up : feeds(a)) in.push_back({Key(up), Key(a), "", "", {}, "bench", ""});
    if (!in.empty()) {
      edges += static_cast<long long>(in.size());
      b.ReplaceEdgesInto(Key(a), "bench", std::move(in));
    }
    more(b, a);
    if (b.size() >= 50000) Write(state, store, b);
  }
  Write(state, store, b);
  return edges;
}

std::vector<int> NoFeeds(int) { return {}; }
void Nothing(catalog::WriteBatch&, int) {}

// `assets` tables with `days` daily rows_affected points each; 1% of them drop on the last day.
void Fill(benchmark::State& state, catalog::Store& store, int assets, int days) {
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise(0, 20);
  PutTables(state, store, assets, NoFeeds, [&](catalog::WriteBatch& b, int a) {
    for (int d = 0; d < days; ++d) {
      double v = 1000 + noise(rng);
      if (a % 100 == 0 && d == days - 1) v = 50;  // 1% of tables drop today
      b.AppendMetricPoint({Key(a), "rows_affected", kT0 + std::chrono::days(d), std::round(v)});
    }
  });
}

void BM_DetectionJob(benchmark::State& state) {
  const int assets = static_cast<int>(state.range(0));
  ScratchStore s;
  Fill(state, *s.store, assets, 90);
  model::ManualClock clock(kT0 + std::chrono::days(89) + 1h);
  for (auto _ : state) {
    auto r = pipeline::RunDetection(*s.store, clock, {});
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    state.counters["anomalies"] = static_cast<double>(r->anomalies_new);
    state.counters["series"] = static_cast<double>(r->series_scored);
  }
  state.counters["assets"] = assets;
}
BENCHMARK(BM_DetectionJob)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_DetectionJobUnchanged(benchmark::State& state) {
  const int assets = static_cast<int>(state.range(0));
  ScratchStore s;
  Fill(state, *s.store, assets, 90);
  model::ManualClock clock(kT0 + std::chrono::days(89) + 1h);
  (void)pipeline::RunDetection(*s.store, clock, {});
  for (auto _ : state) {
    auto r = pipeline::RunDetection(*s.store, clock, {});
    if (!r.ok()) state.SkipWithError(r.status().ToString().c_str());
    state.counters["unchanged"] = static_cast<double>(r->series_unchanged);
  }
}
BENCHMARK(BM_DetectionJobUnchanged)->Arg(10000)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// `n` volume drops within the last hour on assets spread over [0, assets).
void PutAnomalies(catalog::WriteBatch& b, int n, int assets, model::Timestamp now) {
  for (int i = 0; i < n; ++i) {
    model::Anomaly x;
    x.asset = Key(static_cast<int>((static_cast<long long>(i) * 7919) % assets));
    x.id = "a" + std::to_string(i);
    x.metric = "rows_affected";
    x.detector = "volume";
    x.ts = now - std::chrono::minutes(i % 60);
    x.severity = model::Severity::kError;
    x.explanation = "dropped";
    b.PutAnomaly(x);
  }
}

// Puts `anomalies` new anomalies over the first `assets` tables and times UpdateIncidents
// grouping them (with a Slack route, so alerts are built too).
void TimeGrouping(benchmark::State& state, catalog::Store& store, int assets, int anomalies) {
  const model::Timestamp now = kT0 + std::chrono::days(60);
  catalog::WriteBatch b;
  PutAnomalies(b, anomalies, assets, now);
  Write(state, store, b);
  pipeline::RoutingConfig routing;
  routing.channels = {{"ops", pipeline::ChannelKind::kSlack, "https://hooks.example/x", "", 1s, ""}};
  routing.default_channel = "ops";
  model::ManualClock clock(now);
  for (auto _ : state) {
    auto r = pipeline::UpdateIncidents(store, clock, routing, {});
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      break;
    }
    state.counters["incidents"] = static_cast<double>(r->opened);
    state.counters["grouped"] = static_cast<double>(r->anomalies_grouped);
    state.counters["alerts"] = static_cast<double>(r->alerts_enqueued);
  }
}

void BM_IncidentGrouping(benchmark::State& state) {
  constexpr int kAssets = 10000, kChain = 10;
  ScratchStore s;
  const auto chain = [](int a) {
    return a % kChain == 0 ? std::vector<int>{} : std::vector<int>{a - 1};
  };
  PutTables(state, *s.store, kAssets, chain, Nothing);
  TimeGrouping(state, *s.store, kAssets, static_cast<int>(state.range(0)));
}
BENCHMARK(BM_IncidentGrouping)->Arg(1000)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

void IncidentGroupingBigLineage(benchmark::State& state, const char* pg_url) {
  constexpr int kLayers = 21, kWidth = 10000, kFanIn = 5;
  constexpr int kAssets = kLayers * kWidth;
  ScratchStore s(pg_url);
  const auto layered = [](int a) {
    std::vector<int> feeds;
    const int layer = a / kWidth, pos = a % kWidth;
    for (int k = 0; layer > 0 && k < kFanIn; ++k) {
      feeds.push_back((layer - 1) * kWidth + (pos + k - kFanIn / 2 + kWidth) % kWidth);
    }
    return feeds;
  };
  const long long edges = PutTables(state, *s.store, kAssets, layered, Nothing);
  TimeGrouping(state, *s.store, kAssets, static_cast<int>(state.range(0)));
  state.counters["edges"] = static_cast<double>(edges);
  state.counters["assets"] = kAssets;
}
void BM_IncidentGroupingBigLineage(benchmark::State& state) {
  IncidentGroupingBigLineage(state, nullptr);
}
BENCHMARK(BM_IncidentGroupingBigLineage)->Arg(1000)->Arg(10000)->Iterations(1)
    ->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_IncidentGroupingBigLineagePostgres(benchmark::State& state) {
  const char* url = std::getenv("TIDEMARK_BENCH_PG_URL");
  if (!url || !*url) {
    state.SkipWithError("set TIDEMARK_BENCH_PG_URL (scripts/pg.sh start prints one)");
    return;
  }
  IncidentGroupingBigLineage(state, url);
}
BENCHMARK(BM_IncidentGroupingBigLineagePostgres)->Arg(10000)->Iterations(1)
    ->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_AlertFanout(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  ScratchStore s;
  tidemark::pipeline::testing::Receiver receiver;
  catalog::WriteBatch b;
  for (int i = 0; i < n; ++i) {
    model::Alert a;
    a.id = "alr-" + std::to_string(i);
    a.incident_id = "inc-" + std::to_string(i);
    a.channel = "hook";
    a.event = "opened";
    a.idempotency_key = a.incident_id + ":opened:1:hook";
    a.payload = R"({"incident_id":")" + a.incident_id + R"(","title":"t_1: rows dropped"})";
    b.EnqueueAlert(a);
  }
  (void)s.store->Write(b);
  pipeline::RoutingConfig routing;
  routing.channels = {{"hook", pipeline::ChannelKind::kWebhook, receiver.Url(), "secret", 2s, ""}};
  pipeline::DelivererOptions options;
  options.batch = 256;
  pipeline::Deliverer deliverer(*s.store, model::SystemClock(), routing, options);
  for (auto _ : state) {
    auto r = deliverer.Drain(100000);
    if (!r.ok() || r->delivered != n) state.SkipWithError("not all delivered");
  }
  state.counters["alerts_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_AlertFanout)->Arg(2000)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// Resident memory of this process in MB (VmRSS).
double RssMb() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  }
  return 0;
}

void BM_AlertDrain(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  ScratchStore s;
  tidemark::pipeline::testing::Receiver receiver(/*keep=*/false);
  for (int at = 0; at < n; at += 10000) {
    catalog::WriteBatch b;
    for (int i = at; i < std::min(n, at + 10000); ++i) {
      model::Alert a;
      a.id = "alr-" + std::to_string(i);
      a.incident_id = "inc-" + std::to_string(i % 997);
      a.channel = "hook";
      a.event = "opened";
      a.idempotency_key = a.id + ":opened:1:hook";
      a.payload = R"({"incident_id":")" + a.incident_id +
                  R"(","title":"t_1: rows dropped","symptoms":[{"metric":"row_count"}]})";
      b.EnqueueAlert(a);
    }
    Write(state, *s.store, b);
  }
  pipeline::RoutingConfig routing;
  routing.channels = {{"hook", pipeline::ChannelKind::kWebhook, receiver.Url(), "secret", 2s, ""}};
  pipeline::DelivererOptions options;
  options.batch = 256;
  pipeline::Deliverer deliverer(*s.store, model::SystemClock(), routing, options);
  double rss_warm = 0, rss_end = 0;
  long long delivered = 0;
  for (auto _ : state) {
    while (delivered < n) {
      auto r = deliverer.DeliverOnce();
      if (!r.ok() || r->claimed == 0) break;
      delivered += r->delivered;
      if (rss_warm == 0 && delivered >= 10000) rss_warm = RssMb();
    }
    rss_end = RssMb();
  }
  auto left = s.store->CountAlerts();
  if (delivered != n || !left.ok() || left->pending != 0) {
    state.SkipWithError("not all delivered");
  }
  state.counters["alerts_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
  state.counters["rss_after_10k_mb"] = rss_warm;
  state.counters["rss_end_mb"] = rss_end;
  state.counters["rss_growth_mb"] = rss_end - rss_warm;
  state.counters["received"] = static_cast<double>(receiver.Count());
}
BENCHMARK(BM_AlertDrain)->Arg(100000)->Iterations(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
