// Store write throughput: bulk append of metric points in one batch, on SQLite and (when
// TIDEMARK_BENCH_PG_URL is set) PostgreSQL, against a reference measured in the same run: raw
// prepared inserts of the same rows straight into SQLite through the C API, which is the
// ceiling our layers can approach.
//
//   build/bench/store_bench --benchmark_filter=BulkInsert --benchmark_repetitions=3
//
// Target (issue 2): 1M metric points; SQLite within 1.5x of the raw reference.

#include <benchmark/benchmark.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>

#include "tidemark/catalog/store.h"

namespace {

using namespace tidemark;

constexpr int kAssets = 1000;

std::filesystem::path ScratchPath(const char* tag) {
  return std::filesystem::temp_directory_path() /
         ("tidemark-bench-" + std::string(tag) + "-" + std::to_string(::getpid()) + ".db");
}

void RemoveDb(const std::filesystem::path& p) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(p.string() + suffix);
  }
}

// n points spread over kAssets assets, hourly, as a collector would append them.
catalog::WriteBatch MakePoints(int n) {
  catalog::WriteBatch b;
  const auto t0 = *model::ParseTimestamp("2026-01-01T00:00:00Z");
  std::mt19937_64 rng(42);
  std::normal_distribution<double> noise(0, 50);
  const int per_asset = n / kAssets;
  for (int a = 0; a < kAssets; ++a) {
    model::AssetKey key{"postgres://bench:5432", "analytics.marts.table_" + std::to_string(a)};
    for (int i = 0; i < per_asset; ++i) {
      b.AppendMetricPoint({key, "row_count", t0 + std::chrono::hours(i), 10000 + noise(rng)});
    }
  }
  return b;
}

void ReportRate(benchmark::State& state, int n) {
  state.SetItemsProcessed(state.iterations() * n);
  state.counters["rows_per_s"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_BulkInsertMetricPoints_Sqlite(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  catalog::WriteBatch batch = MakePoints(n);
  for (auto _ : state) {
    state.PauseTiming();
    auto path = ScratchPath("store");
    RemoveDb(path);
    catalog::StoreOptions opts;
    opts.url = "sqlite:" + path.string();
    auto store = catalog::OpenStore(opts);
    if (!store.ok()) {
      state.SkipWithError(store.status().ToString().c_str());
      return;
    }
    state.ResumeTiming();
    auto r = (*store)->Write(batch);
    if (!r.ok() || r->points_written != static_cast<size_t>(n)) {
      state.SkipWithError(r.ok() ? "wrong count" : r.status().ToString().c_str());
      return;
    }
    state.PauseTiming();
    store->reset();
    RemoveDb(path);
    state.ResumeTiming();
  }
  ReportRate(state, n);
}
BENCHMARK(BM_BulkInsertMetricPoints_Sqlite)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

// The reference: the same rows through one prepared statement in one transaction, with the
// same table definition, no key lookups and no checks.
void BM_BulkInsertMetricPoints_RawSqliteReference(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    auto path = ScratchPath("raw");
    RemoveDb(path);
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_exec(db,
                 "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                 "CREATE TABLE metric_points (asset_id INTEGER NOT NULL, metric TEXT NOT NULL,"
                 " ts INTEGER NOT NULL, value REAL NOT NULL, PRIMARY KEY (asset_id, metric, ts))"
                 " WITHOUT ROWID;",
                 nullptr, nullptr, nullptr);
    sqlite3_stmt* stmt = nullptr;
    sqlite3_prepare_v2(db,
                       "INSERT INTO metric_points VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                       -1, &stmt, nullptr);
    state.ResumeTiming();
    sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
    const int per_asset = n / kAssets;
    for (int a = 0; a < kAssets; ++a) {
      for (int i = 0; i < per_asset; ++i) {
        sqlite3_bind_int64(stmt, 1, a + 1);
        sqlite3_bind_text(stmt, 2, "row_count", 9, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, 1767225600000000LL + i * 3600000000LL);
        sqlite3_bind_double(stmt, 4, 10000.0 + i);
        sqlite3_step(stmt);
        sqlite3_reset(stmt);
      }
    }
    sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
    state.PauseTiming();
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    RemoveDb(path);
    state.ResumeTiming();
  }
  ReportRate(state, n);
}
BENCHMARK(BM_BulkInsertMetricPoints_RawSqliteReference)
    ->Arg(1'000'000)
    ->Unit(benchmark::kMillisecond);

void BM_BulkInsertMetricPoints_Postgres(benchmark::State& state) {
  const char* url = std::getenv("TIDEMARK_BENCH_PG_URL");
  if (!url) {
    state.SkipWithError("set TIDEMARK_BENCH_PG_URL (scripts/pg.sh start prints one)");
    return;
  }
  const int n = static_cast<int>(state.range(0));
  catalog::WriteBatch batch = MakePoints(n);
  catalog::StoreOptions opts;
  opts.url = url;
  auto store = catalog::OpenStore(opts);
  if (!store.ok()) {
    state.SkipWithError(store.status().ToString().c_str());
    return;
  }
  int round = 0;
  for (auto _ : state) {
    state.PauseTiming();
    // Fresh series each round (append-only: re-appending the same points would be skipped).
    catalog::WriteBatch shifted;
    for (const auto& p : batch.points()) {
      shifted.AppendMetricPoint({p.asset, "row_count_" + std::to_string(round), p.ts, p.value});
    }
    ++round;
    state.ResumeTiming();
    auto r = (*store)->Write(shifted);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
  }
  ReportRate(state, n);
}
BENCHMARK(BM_BulkInsertMetricPoints_Postgres)->Arg(1'000'000)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
