// ingest_bench: dbt manifest ingest (issue 3) against its limits, measured in the same run.
//
//   build/bench/dbt_manifest_gen --models 50000 --out /tmp/dbt-50k
//   build/bench/ingest_bench --dir /tmp/dbt-50k --runs 3
//   /usr/bin/time -v build/bench/ingest_bench --dir /tmp/dbt-50k --only-ingest   # peak RSS
//
// Figures (medians over --runs):
//  - ingest: IngestDbt of manifest.json into a fresh SQLite store (parse + map + write);
//  - unchanged: the same manifest again (artifact digest matches: nothing parsed or written),
//    with and without reading the file from disk;
//  - references: simdjson parse of the same bytes (On-Demand walk touching every value, and
//    DOM), and the raw bulk insert of the same rows: every row the ingest stored, read back
//    and inserted into a fresh database of the same schema with prepared statements in one
//    transaction, through the SQLite C API;
//  - ratio = ingest / (simdjson On-Demand walk + raw insert). Target: under 2.
// With TIDEMARK_BENCH_PG_URL (a role that may CREATE DATABASE), the same on PostgreSQL, in
// scratch databases of that server: ingest, unchanged, and as the reference the raw COPY of
// every row the ingest stored into an empty store of the same schema, in one transaction;
// ratio = ingest / (the SQLite run's walk + raw COPY).
//
// Measured 2026-12-06, 50k models (504.4 MB manifest, 53,223 assets, 527,099 columns,
// 121,205 edges, 3,463,278 rows), RelWithDebInfo, 2-vCPU AMD EPYC VM shared with other
// builds and benchmarks (load average 4-6: wall times are contended, CPU times less so):
//                          before     after      target
//   ingest, CPU            15.9 s     12.6 s
//   ingest, wall           22.4 s     19.0 s     < 5 s (contended; not met)
//   ratio (CPU)             2.21       1.90      < 2
//   ratio (wall)            1.91       1.88      < 2 (contended)
//   peak RSS, --only-ingest 1122 MB    1000 MB   < 2x the manifest, 1009 MB (1.98x)
//   unchanged re-ingest     149 ms     104 ms    < 1 s
// References in the "after" run: On-Demand walk 1.1 s CPU, raw insert 5.6 s CPU (8.4 s wall):
// on this machine the raw insert of the same rows alone takes more than the 5 s target.
// Where the time goes (perf, 50k): the write about 45% (search index bulk build ~16%, edges
// ~10%, columns ~9%, assets ~4%), the mapping ~18%, the manifest parse ~14% (on its own
// thread), page faults and malloc most of the rest. Peak RSS is reached in the write: the
// manifest text (504 MB, the caller's), the batch (~320 MB), SQLite's 64 MiB page cache and
// the sorted postings (~50 MB). Instructions (callgrind, 5k models, whole process): 6.36 G
// before, 5.58 G after.
//
// Measured 2026-12-07 00:50-01:00 UTC, quiet machine (load average ~1), 50k models:
//   SQLite (--runs 3, medians): ingest 12.0 s wall / 12.4 s CPU, ratio 1.69 (wall) and 1.90
//   (CPU), unchanged 81 ms; raw insert 6.1 s, walk 1.0 s. The 5 s target stays below the
//   raw insert of the same rows on this machine.
//   PostgreSQL 15 on the same VM (three runs, two invocations): ingest 35.7 / 43.5 s, raw
//   COPY 14.8 / 20.3 s, ratio 2.27 / 2.03, unchanged 78-83 ms. Before the store wrote
//   catalog rows as arrays (one statement per asset, column set, tag set, edge...): ingest
//   84.1 s against a raw COPY of 18.5 s, ratio 4.29 (contended). What is left (5k models,
//   timed per phase): the search index 57% (inserting postings under their primary key
//   with ON CONFLICT DO NOTHING; without it the postings insert took 0.88 s instead of
//   1.44 s, but the clause guards concurrent reindexing), columns 14%, assets 9%, edges 5%.

#include <libpq-fe.h>
#include <simdjson.h>
#include <sqlite3.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "scratch_pg.h"
#include "tidemark/catalog/store.h"
#include "tidemark/collector/dbt.h"

#ifndef TIDEMARK_BUILD_TYPE
#define TIDEMARK_BUILD_TYPE "unknown"
#endif

namespace {

namespace fs = std::filesystem;
using namespace tidemark;
using Clock = std::chrono::steady_clock;

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// CPU time of this process (user + system): the machine is shared, so wall time alone can
// mislead; both are printed.
double CpuMs() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return (u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1e3 +
         (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e3;
}

long PeakRssKb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

std::string Machine() {
  std::ifstream cpu("/proc/cpuinfo");
  std::string line, model = "unknown cpu";
  while (std::getline(cpu, line)) {
    if (line.rfind("model name", 0) == 0) {
      model = line.substr(line.find(':') + 2);
      break;
    }
  }
  utsname u{};
  uname(&u);
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  char buf[512];
  std::snprintf(buf, sizeof buf, "%s, %ld cpus, %.1f GB RAM, %s %s", model.c_str(),
                sysconf(_SC_NPROCESSORS_ONLN), static_cast<double>(pages) * page / 1e9, u.sysname,
                u.release);
  return buf;
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "ingest_bench: %s\n", what.c_str());
  std::exit(1);
}

void Check(const model::Status& s, const char* what) {
  if (!s.ok()) Die(std::string(what) + ": " + s.ToString());
}

struct ScratchDb {
  ScratchDb() {
    path = fs::temp_directory_path() /
           ("tidemark-ingest-bench-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~ScratchDb() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
  static inline int n = 0;
};

std::unique_ptr<catalog::Store> OpenSqlite(const fs::path& file) {
  catalog::StoreOptions o;
  o.url = "sqlite:" + file.string();
  auto store = catalog::OpenStore(o);
  Check(store.status(), "open store");
  return std::move(store).value();
}

// ---- references ---------------------------------------------------------------------------

// Touches every value, as a full parse must (the collector's walk also checks every value).
simdjson::error_code Walk(simdjson::ondemand::value v) {
  using simdjson::ondemand::json_type;
  json_type t;
  if (auto e = v.type().get(t)) return e;
  switch (t) {
    case json_type::object: {
      for (auto field : v.get_object()) {
        simdjson::ondemand::field f;
        if (auto e = std::move(field).get(f)) return e;
        if (auto e = Walk(f.value())) return e;
      }
      return simdjson::SUCCESS;
    }
    case json_type::array:
      for (auto element : v.get_array()) {
        simdjson::ondemand::value x;
        if (auto e = std::move(element).get(x)) return e;
        if (auto e = Walk(x)) return e;
      }
      return simdjson::SUCCESS;
    case json_type::string:
      return v.get_raw_json_string().error();
    case json_type::number:
      return v.get_number().error();
    case json_type::boolean:
      return v.get_bool().error();
    case json_type::null:
      return v.is_null().error();
  }
  return simdjson::TAPE_ERROR;
}

double SimdjsonWalkMs(const std::string& text) {
  simdjson::ondemand::parser parser;
  auto t0 = Clock::now();
  simdjson::padded_string_view view(text.data(), text.size(), text.capacity());
  simdjson::ondemand::document doc;
  if (parser.iterate(view).get(doc)) Die("simdjson iterate");
  simdjson::ondemand::value root;
  if (doc.get_value().get(root) || Walk(root)) Die("simdjson walk");
  return Ms(Clock::now() - t0);
}

double SimdjsonDomMs(const std::string& text) {
  simdjson::dom::parser parser;
  auto t0 = Clock::now();
  simdjson::dom::element root;
  if (parser.parse(text.data(), text.size(), false).get(root)) Die("simdjson dom");
  return Ms(Clock::now() - t0);
}

// One table's rows, as SQLite values, for re-insertion.
struct TableRows {
  std::string name;
  int columns = 0;
  std::vector<std::vector<std::string>> text;  // one string per value
  std::vector<std::vector<int>> types;
};

std::vector<TableRows> ReadAllRows(sqlite3* db, std::vector<std::string>* schema) {
  std::vector<TableRows> out;
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE "
                     "'sqlite_%' ORDER BY type DESC, name",
                     -1, &s, nullptr);
  std::vector<std::string> tables;
  while (sqlite3_step(s) == SQLITE_ROW) {
    std::string sql = reinterpret_cast<const char*>(sqlite3_column_text(s, 1));
    schema->push_back(sql);
    if (sql.rfind("CREATE TABLE", 0) == 0 && sql.find("VIRTUAL") == std::string::npos) {
      tables.push_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
    }
  }
  sqlite3_finalize(s);
  // Referenced tables first: the reference keeps foreign keys on, as the store does.
  std::stable_sort(tables.begin(), tables.end(), [](const std::string& a, const std::string& b) {
    auto rank = [](const std::string& t) {
      return t == "assets" ? 0 : t == "owners" || t == "runs" ? 1 : 2;
    };
    return rank(a) < rank(b);
  });
  for (const std::string& t : tables) {
    TableRows rows;
    rows.name = t;
    sqlite3_prepare_v2(db, ("SELECT * FROM " + t).c_str(), -1, &s, nullptr);
    rows.columns = sqlite3_column_count(s);
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::vector<std::string> values(rows.columns);
      std::vector<int> types(rows.columns);
      for (int c = 0; c < rows.columns; ++c) {
        types[c] = sqlite3_column_type(s, c);
        if (types[c] != SQLITE_NULL) {
          values[c] = std::string(reinterpret_cast<const char*>(sqlite3_column_blob(s, c)),
                                  sqlite3_column_bytes(s, c));
          if (types[c] == SQLITE_INTEGER) values[c] = std::to_string(sqlite3_column_int64(s, c));
          if (types[c] == SQLITE_FLOAT) values[c] = std::to_string(sqlite3_column_double(s, c));
        }
      }
      rows.text.push_back(std::move(values));
      rows.types.push_back(std::move(types));
    }
    sqlite3_finalize(s);
    out.push_back(std::move(rows));
  }
  return out;
}

// Inserts `rows` into a fresh database with `schema`: the ceiling for writing the same data.
// `pragmas` are the store's connection settings (sqlite_db.cc), plus any under study.
double RawInsertMs(const fs::path& file, const std::vector<std::string>& schema,
                   const std::vector<TableRows>& tables, size_t* row_count, const char* pragmas) {
  sqlite3* db = nullptr;
  sqlite3_open(file.c_str(), &db);
  sqlite3_exec(db, pragmas, nullptr, nullptr, nullptr);
  for (const std::string& sql : schema) sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
  *row_count = 0;
  auto t0 = Clock::now();
  sqlite3_exec(db, "BEGIN", nullptr, nullptr, nullptr);
  for (const TableRows& t : tables) {
    std::string sql = "INSERT INTO " + t.name + " VALUES (";
    for (int c = 0; c < t.columns; ++c) sql += c ? ",?" : "?";
    sql += ")";
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) Die(sqlite3_errmsg(db));
    for (size_t r = 0; r < t.text.size(); ++r) {
      for (int c = 0; c < t.columns; ++c) {
        const std::string& v = t.text[r][c];
        switch (t.types[r][c]) {
          case SQLITE_NULL:
            sqlite3_bind_null(s, c + 1);
            break;
          case SQLITE_INTEGER:
            sqlite3_bind_int64(s, c + 1, std::stoll(v));
            break;
          case SQLITE_FLOAT:
            sqlite3_bind_double(s, c + 1, std::stod(v));
            break;
          default:
            sqlite3_bind_text(s, c + 1, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        }
      }
      if (sqlite3_step(s) != SQLITE_DONE) Die(std::string("raw insert: ") + sqlite3_errmsg(db));
      sqlite3_reset(s);
      ++*row_count;
    }
    sqlite3_finalize(s);
  }
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  double ms = Ms(Clock::now() - t0);
  sqlite3_close(db);
  return ms;
}

// The writer's settings in catalog/src/sqlite_db.cc, so the reference writes as the store does.
constexpr char kStorePragmas[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
    "PRAGMA temp_store=MEMORY;";
// The same with a page cache large enough for the whole transaction (SQLite's default is
// 2 MB): printed for information, to size what that setting would give the store.
constexpr char kBigCachePragmas[] =
    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
    "PRAGMA temp_store=MEMORY; PRAGMA cache_size=-262144;";

// ---- the workloads ------------------------------------------------------------------------

collector::DbtIngestReport MustIngest(catalog::Store& store, const collector::DbtArtifacts& a,
                                      bool force = false) {
  collector::DbtOptions options;
  options.force = force;
  auto report = collector::IngestDbt(store, a, options);
  Check(report.status(), "ingest");
  return std::move(report).value();
}

// ---- PostgreSQL ---------------------------------------------------------------------------

// One table's rows in COPY's text format, a line per row.
struct PgTable {
  std::string name;
  std::string data;
};

// Every row of the store at `url`, table by table in creation order (parents before the
// tables whose foreign keys name them); schema_migrations is left out.
std::vector<PgTable> PgCopyOut(const std::string& url, size_t* rows) {
  pqxx::connection c(url);
  pqxx::work tx(c);
  std::vector<PgTable> tables;
  *rows = 0;
  for (const auto& row : tx.exec("SELECT relname FROM pg_class WHERE relkind = 'r' AND "
                                 "relnamespace = 'public'::regnamespace AND relname <> "
                                 "'schema_migrations' ORDER BY oid")) {
    PgTable t{row[0].as<std::string>(), {}};
    pqxx::stream_from out(tx, t.name);
    for (std::string line; out.get_raw_line(line); ++*rows) {
      t.data += line;
      if (line.empty() || line.back() != '\n') t.data += '\n';
    }
    out.complete();
    tables.push_back(std::move(t));
  }
  return tables;
}

// The reference for PostgreSQL: `tables` COPYed into the empty store at `url` (schema and
// indexes as the store made them) in one transaction, through libpq's COPY FROM STDIN (the
// libpqxx of Debian 12 keeps its raw-line writer private). Milliseconds.
double PgRawCopyMs(const std::string& url, const std::vector<PgTable>& tables) {
  std::unique_ptr<PGconn, decltype(&PQfinish)> c(PQconnectdb(url.c_str()), &PQfinish);
  if (PQstatus(c.get()) != CONNECTION_OK) Die(std::string("raw COPY: ") + PQerrorMessage(c.get()));
  auto exec = [&](const std::string& sql, ExecStatusType want) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(c.get(), sql.c_str()), &PQclear);
    if (PQresultStatus(r.get()) != want) Die(sql + ": " + PQerrorMessage(c.get()));
  };
  std::string names;
  for (const PgTable& t : tables) names += (names.empty() ? "" : ", ") + t.name;
  exec("BEGIN", PGRES_COMMAND_OK);
  exec("TRUNCATE " + names, PGRES_COMMAND_OK);
  auto t0 = Clock::now();
  for (const PgTable& t : tables) {
    exec("COPY " + t.name + " FROM STDIN", PGRES_COPY_IN);
    constexpr size_t kChunk = 64 << 20;  // PQputCopyData takes an int length
    for (size_t at = 0; at < t.data.size(); at += kChunk) {
      const size_t n = std::min(kChunk, t.data.size() - at);
      if (PQputCopyData(c.get(), t.data.data() + at, static_cast<int>(n)) != 1) {
        Die("raw COPY " + t.name + ": " + PQerrorMessage(c.get()));
      }
    }
    if (PQputCopyEnd(c.get(), nullptr) != 1) Die("raw COPY " + t.name + ": " + PQerrorMessage(c.get()));
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQgetResult(c.get()), &PQclear);
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      Die("raw COPY " + t.name + ": " + PQerrorMessage(c.get()));
    }
    while (PGresult* more = PQgetResult(c.get())) PQclear(more);
  }
  exec("COMMIT", PGRES_COMMAND_OK);
  return Ms(Clock::now() - t0);
}

// The SQLite figures again on PostgreSQL, each run in scratch databases of the server that
// `admin_url` names: ingest into a fresh store, the unchanged re-ingest, and the raw COPY of
// the same rows into another fresh store. The ratio's parse reference is SQLite's walk.
void PgFigures(const std::string& admin_url, const collector::DbtArtifacts& artifacts, int runs,
               double walk_ms) {
  std::vector<double> ingest, ingest_cpu, unchanged, raw;
  size_t rows = 0;
  for (int r = 0; r < runs; ++r) {
    bench::ScratchPgDatabase db(admin_url, "tm_bench_ingest");
    bench::ScratchPgDatabase raw_db(admin_url, "tm_bench_ingest_raw");
    {
      auto store = catalog::OpenStore({.url = db.url()});
      Check(store.status(), "open PostgreSQL store");
      auto t0 = Clock::now();
      double cpu0 = CpuMs();
      MustIngest(**store, artifacts);
      ingest.push_back(Ms(Clock::now() - t0));
      ingest_cpu.push_back(CpuMs() - cpu0);
      t0 = Clock::now();
      if (!MustIngest(**store, artifacts).manifest.unchanged) Die("PostgreSQL: not unchanged");
      unchanged.push_back(Ms(Clock::now() - t0));
      auto empty = catalog::OpenStore({.url = raw_db.url()});  // its schema, then closed
      Check(empty.status(), "open PostgreSQL raw store");
    }
    std::vector<PgTable> tables = PgCopyOut(db.url(), &rows);
    raw.push_back(PgRawCopyMs(raw_db.url(), tables));
  }
  std::printf("PostgreSQL (scratch databases on the server of TIDEMARK_BENCH_PG_URL):\n");
  std::printf("ingest            %8.0f ms   (%.0f ms CPU in this process; the server's is not "
              "counted)\n",
              Median(ingest), Median(ingest_cpu));
  std::printf("unchanged         %8.0f ms\n", Median(unchanged));
  std::printf("ref: raw COPY     %8.0f ms   %zu rows, one transaction, COPY FROM STDIN\n",
              Median(raw), rows);
  std::printf("ratio             %8.2f     ingest / (walk + raw COPY); target < 2\n",
              Median(ingest) / (walk_ms + Median(raw)));
}

}  // namespace

int main(int argc, char** argv) {
  fs::path dir;
  int runs = 3;
  bool only_ingest = false;
  bool all_artifacts = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--dir" && i + 1 < argc) {
      dir = argv[++i];
    } else if (a == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--only-ingest") {
      only_ingest = true;
    } else if (a == "--all") {
      all_artifacts = true;
    } else {
      std::fprintf(stderr,
                   "usage: ingest_bench --dir TARGET_DIR [--runs N] [--only-ingest] [--all]\n");
      return 2;
    }
  }
  if (dir.empty()) Die("--dir is required (make one with dbt_manifest_gen)");

  std::printf("machine:    %s\n", Machine().c_str());
  std::printf("build:      %s, simdjson %d.%d.%d (%s)\n", TIDEMARK_BUILD_TYPE,
              simdjson::SIMDJSON_VERSION_MAJOR, simdjson::SIMDJSON_VERSION_MINOR,
              simdjson::SIMDJSON_VERSION_REVISION,
              simdjson::get_active_implementation()->name().c_str());

  auto t_load = Clock::now();
  auto loaded = collector::LoadDbtTarget({all_artifacts ? dir : dir / "manifest.json"});
  Check(loaded.status(), "load");
  const double load_ms = Ms(Clock::now() - t_load);
  collector::DbtArtifacts artifacts = std::move(loaded).value();
  const std::string& manifest = artifacts.manifest.json_text;
  std::printf("dataset:    %s: manifest %.1f MB%s (read in %.0f ms)\n", dir.c_str(),
              manifest.size() / 1e6, all_artifacts ? " + run_results, catalog, sources" : "",
              load_ms);

  if (only_ingest) {
    ScratchDb scratch;
    auto store = OpenSqlite(scratch.path / "tidemark.db");
    auto t0 = Clock::now();
    double cpu0 = CpuMs();
    auto report = MustIngest(*store, artifacts);
    std::printf("ingest:     %.0f ms (%.0f ms CPU), %zu assets, %zu columns, %zu edges\n",
                Ms(Clock::now() - t0), CpuMs() - cpu0, report.assets, report.columns,
                report.lineage_edges);
    std::printf("peak RSS:   %.0f MB (%.2fx the manifest)\n", PeakRssKb() / 1e3,
                PeakRssKb() * 1e3 / manifest.size());
    return 0;
  }

  std::vector<double> ingest, ingest_cpu, unchanged, unchanged_with_read, walk, dom, raw,
      raw_big_cache, walk_cpu, raw_cpu;
  collector::DbtIngestReport last;
  size_t raw_rows = 0;
  for (int r = 0; r < runs; ++r) {
    ScratchDb scratch;
    fs::path db_file = scratch.path / "tidemark.db";
    {
      auto store = OpenSqlite(db_file);
      auto t0 = Clock::now();
      double cpu0 = CpuMs();
      last = MustIngest(*store, artifacts);
      ingest.push_back(Ms(Clock::now() - t0));
      ingest_cpu.push_back(CpuMs() - cpu0);

      t0 = Clock::now();
      auto again = MustIngest(*store, artifacts);
      unchanged.push_back(Ms(Clock::now() - t0));
      if (!again.manifest.unchanged) Die("second ingest was not detected as unchanged");

      t0 = Clock::now();
      auto reread = collector::LoadDbtTarget({all_artifacts ? dir : dir / "manifest.json"});
      Check(reread.status(), "reload");
      MustIngest(*store, *reread);
      unchanged_with_read.push_back(Ms(Clock::now() - t0));
    }
    double cpu0 = CpuMs();
    walk.push_back(SimdjsonWalkMs(manifest));
    walk_cpu.push_back(CpuMs() - cpu0);
    dom.push_back(SimdjsonDomMs(manifest));

    sqlite3* db = nullptr;
    sqlite3_open(db_file.c_str(), &db);
    std::vector<std::string> schema;
    std::vector<TableRows> rows = ReadAllRows(db, &schema);
    sqlite3_close(db);
    cpu0 = CpuMs();
    raw.push_back(RawInsertMs(scratch.path / "raw.db", schema, rows, &raw_rows, kStorePragmas));
    raw_cpu.push_back(CpuMs() - cpu0);
    raw_big_cache.push_back(
        RawInsertMs(scratch.path / "raw-cache.db", schema, rows, &raw_rows, kBigCachePragmas));
  }

  std::printf(
      "records:    %zu assets (%zu removed), %zu columns, %zu edges, %zu owners, "
      "%zu tags, %zu runs, %zu node results, %zu points, %zu warnings\n",
      last.assets, last.assets_removed, last.columns, last.lineage_edges, last.owners, last.tags,
      last.runs, last.node_results, last.metric_points, last.warnings_total);
  std::printf("runs:       %d (medians below)\n", runs);
  const double mb = manifest.size() / 1e6;
  std::printf("ingest            %8.0f ms   %6.0f MB/s   (SQLite, fresh store)\n", Median(ingest),
              mb / Median(ingest) * 1e3);
  std::printf("ingest CPU        %8.0f ms   (user + system)\n", Median(ingest_cpu));
  std::printf("unchanged         %8.0f ms   (digest match, text already in memory)\n",
              Median(unchanged));
  std::printf("unchanged + read  %8.0f ms   (LoadDbtTarget + IngestDbt)\n",
              Median(unchanged_with_read));
  std::printf("ref: simdjson walk%8.0f ms   %6.0f MB/s   (On-Demand, every value)\n", Median(walk),
              mb / Median(walk) * 1e3);
  std::printf("ref: simdjson DOM %8.0f ms   %6.0f MB/s\n", Median(dom), mb / Median(dom) * 1e3);
  std::printf("ref: raw insert   %8.0f ms   %zu rows, one transaction, prepared statements\n",
              Median(raw), raw_rows);
  std::printf("(info) raw insert  %8.0f ms   the same with PRAGMA cache_size=-262144 (256 MB)\n",
              Median(raw_big_cache));
  const double limit = Median(walk) + Median(raw);
  std::printf("ratio             %8.2f     ingest / (walk + raw insert); target < 2\n",
              Median(ingest) / limit);
  // On a machine shared with other work, wall times stretch with the load; CPU times much
  // less so. The same ratio over CPU time (the raw insert's includes its schema setup):
  std::printf("ratio (CPU)       %8.2f     ingest CPU %.0f / (walk CPU %.0f + raw insert CPU %.0f)\n",
              Median(ingest_cpu) / (Median(walk_cpu) + Median(raw_cpu)), Median(ingest_cpu),
              Median(walk_cpu), Median(raw_cpu));
  std::printf("peak RSS (whole bench): %.0f MB\n", PeakRssKb() / 1e3);

  if (const char* pg = std::getenv("TIDEMARK_BENCH_PG_URL"); pg && *pg) {
    try {
      PgFigures(pg, artifacts, runs, Median(walk));
    } catch (const std::exception& e) {
      std::printf("postgresql: unavailable: %s\n", e.what());
    }
  }
  return 0;
}
