// postgres_collect_bench: `collect postgres` over a warehouse of many tables (issue 4).
//
//   export TIDEMARK_BENCH_PG_URL=postgresql://tidemark:tidemark@127.0.0.1:55999/tidemark
//   build/bench/postgres_collect_bench --tables 10000
//
// Creates a scratch database with --tables tables (4 columns, a few rows each, spread over 10
// schemas), then times CollectPostgres into a fresh SQLite store twice: the first collection
// (every asset, column and snapshot new) and the second (counters compared, snapshots equal).
// Target (issue 4): under 30 s for 10,000 tables.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <pqxx/pqxx>
#include <string>

#include "scratch_pg.h"
#include "tidemark/catalog/store.h"
#include "tidemark/collector/postgres_stats.h"

#ifndef TIDEMARK_BUILD_TYPE
#define TIDEMARK_BUILD_TYPE "unknown"
#endif

int main(int argc, char** argv) {
  using namespace tidemark;
  int tables = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::string(argv[i]) == "--tables") tables = std::atoi(argv[i + 1]);
  }
  const char* base = std::getenv("TIDEMARK_BENCH_PG_URL");
  if (!base || !*base) {
    std::fprintf(stderr, "set TIDEMARK_BENCH_PG_URL to a PostgreSQL server to create a warehouse on\n");
    return 2;
  }
  bench::ScratchPgDatabase warehouse(base, "tm_bench_collect");
  const std::string wurl = warehouse.url();
  auto t0 = std::chrono::steady_clock::now();
  {
    pqxx::connection c(wurl);
    pqxx::nontransaction(c).exec("DO $$ BEGIN FOR s IN 0..9 LOOP EXECUTE format('CREATE SCHEMA s%s', s); END LOOP; END $$");
    // In chunks: one transaction creating 10,000 tables would exhaust the lock table.
    for (int from = 0; from < tables; from += 500) {
      pqxx::work tx(c);
      tx.exec("DO $$ BEGIN FOR i IN " + std::to_string(from) + ".." +
              std::to_string(std::min(tables, from + 500) - 1) + " LOOP "
              "EXECUTE format('CREATE TABLE s%s.t%s (id int PRIMARY KEY, name text, amount numeric, "
              "loaded_at timestamptz)', i % 10, i); "
              "EXECUTE format('INSERT INTO s%s.t%s SELECT g, ''n'' || g, g, now() FROM "
              "generate_series(1, 3) g', i % 10, i); END LOOP; END $$");
      tx.commit();
    }
  }
  double setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  auto dir = std::filesystem::temp_directory_path() / "tidemark-collect-bench";
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto store = catalog::OpenStore({.url = "sqlite:" + (dir / "c.db").string()});
  if (!store.ok()) return 1;
  collector::PostgresSourceOptions o;
  o.name = "bench";
  o.dsn = wurl;
  std::printf("build: %s; warehouse: %d tables (created in %.1f s)\n", TIDEMARK_BUILD_TYPE, tables,
              setup_s);
  for (const char* label : {"first", "second"}) {
    auto start = std::chrono::steady_clock::now();
    auto r = collector::CollectPostgres(**store, o);
    double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (!r.ok()) {
      std::fprintf(stderr, "%s\n", r.status().ToString().c_str());
      return 1;
    }
    std::printf("collect (%s): %.2f s for %zu tables, %zu exact counts, %zu warnings   "
                "(target < 30 s)\n",
                label, s, r->tables, r->exact_counts, r->warnings.size());
  }
  store->reset();
  std::filesystem::remove_all(dir);
  return 0;
}
