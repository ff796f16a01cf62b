// Search and lineage at catalog scale (issue 6): generates a catalog of N assets (default 1M)
// with realistic dbt-style names, 10 columns each, descriptions, tags, owners and 2 lineage
// edges per asset, plus a 5-level tree of 11,111 assets under one root; ingests it through
// Store::Write (which keeps the search index current, as real ingest does); then times each
// query type and prints p50/p99.
//
//   build/bench/search_bench --assets 1000000 [--db sqlite:/tmp/x.db | --db postgresql://...]
//                            [--queries 300] [--keep 1]
//
// Targets (issue 6), per query in the store, i.e. without HTTP:
//   search, one or two words including common ones: p50 <= 2 ms, p99 <= 10 ms
//   suggest (prefix): p99 <= 5 ms
//   lineage depth 5 from a node with 10k descendants: p99 <= 20 ms, cap respected
//   building the index for 1M assets: under 60 s, memory under 2 GB (max RSS printed)
//
// Measured (1M assets, SQLite, --queries 300 --reuse 1, medians of 3 runs, contended 2 cores;
// docs/search.md has the table): common and very common words, two words, typos, phrases
// p50 0.5-1.2 ms, p99 0.9-2.7 ms; exact name 0.11 ms; suggest p50 0.14 ms, p99 4.2 ms.
// Ingest with the live index: 51 min for 1M (326 assets/s), max RSS 813 MB (60 min, 277/s,
// 824 MB on 2026-12-07, contended); PostgreSQL 100k: 245 s (407/s). The index built
// from scratch (--rebuild 1, what `tidemark reindex` runs): 50 s for 1M on SQLite (median
// of 3, quiet machine; 72 s contended), max RSS 1.42 GB (docs/search.md). Each line also shows
// the query's CPU time: elapsed p99 on a busy machine is mostly waiting. --dump FILE writes
// every result of a fixed query list, to check that a change to the engine keeps results
// identical (diff the files of two builds); with --memory 1 the store answers from its index
// in memory, as `tidemark serve` does.

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/catalog/store.h"

namespace {

using namespace tidemark;
using Clock = std::chrono::steady_clock;

const char* kPrefixes[] = {"stg", "int", "fct", "dim", "rpt", "raw", "src", "agg", "base", "snap"};
const char* kDomains[] = {"orders",    "customers", "payments",  "products",   "sessions",
                          "events",    "invoices",  "shipments", "refunds",    "accounts",
                          "users",     "subscriptions", "campaigns", "inventory", "suppliers",
                          "employees", "tickets",   "reviews",   "carts",      "coupons",
                          "warehouses", "deliveries", "returns", "leads",      "opportunities",
                          "contracts", "payouts",   "fees",      "taxes",      "currencies"};
const char* kSuffixes[] = {"", "daily", "weekly", "monthly", "items", "history", "snapshot",
                           "by_region", "by_channel", "latest", "v2", "enriched"};
const char* kSchemas[] = {"staging", "marts", "raw", "intermediate", "reporting", "finance",
                          "marketing", "ops"};
const char* kDatabases[] = {"analytics", "warehouse", "lake"};
const char* kColumns[] = {"id",         "created_at", "updated_at", "status",  "amount",
                          "currency",   "customer_id", "order_id",  "product_id", "region",
                          "channel",    "quantity",   "price",      "discount", "email",
                          "country",    "is_deleted", "source",     "batch_id", "loaded_at"};
const char* kWords[] = {"one",     "row",      "per",      "order",    "customer", "daily",
                        "summary", "of",       "the",      "shop",     "revenue",  "events",
                        "cleaned", "deduplicated", "joined", "with",   "latest",   "state",
                        "used",    "by",       "finance",  "team",     "dashboard", "model",
                        "source",  "system",   "records",  "payments", "lifetime", "value",
                        "marketing", "attribution", "stripe", "shopify", "hubspot", "salesforce",
                        "incremental", "snapshot", "history", "slowly", "changing", "dimension"};
const char* kTags[] = {"pii", "finance", "core", "marketing", "deprecated_soon", "gold", "silver",
                       "bronze", "gdpr", "sla_daily"};

template <size_t N>
const char* Pick(const char* const (&arr)[N], std::mt19937_64& rng) {
  return arr[rng() % N];
}

model::AssetKey KeyOf(size_t i, std::mt19937_64& rng, std::string* short_name) {
  std::string name = std::string(Pick(kPrefixes, rng)) + "_" + Pick(kDomains, rng);
  const char* suffix = Pick(kSuffixes, rng);
  if (*suffix) name += std::string("_") + suffix;
  name += "_" + std::to_string(i);
  *short_name = name;
  return {"postgres://wh:5432",
          std::string(Pick(kDatabases, rng)) + "." + Pick(kSchemas, rng) + "." + name};
}

double Pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

double ThreadCpuMs() {
  timespec t{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return static_cast<double>(t.tv_sec) * 1e3 + static_cast<double>(t.tv_nsec) / 1e6;
}

long MaxRssMb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

// Writes everything the searches and suggestions of the timed query types return (one text
// of each kind, plus filters, exclusions and prefixes): two builds that should rank the same
// write the same file.
bool DumpResults(catalog::Store& store, const std::vector<model::AssetKey>& keys,
                 const std::string& path) {
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (!out) return false;
  std::vector<catalog::SearchQuery> queries;
  for (const char* text : {"orders", "id", "orders daily", "customers items", "revenue",
                           "lifetime", "custmers", "ordres", "\"lifetime value\"", "fct orders",
                           "marts.fct", "stg_orders", "pay*", "orders -staging", "team t7",
                           "pii finance", "payments hubspot", "zzzz"}) {
    queries.emplace_back().text = text;
  }
  queries.emplace_back().text = keys[keys.size() / 3].name;
  queries.emplace_back().text = "orders";
  queries.back().kind = "exposure";
  queries.emplace_back().text = "orders";
  queries.back().tag = "gold";
  queries.back().offset = 20;
  queries.emplace_back().schema = "marts";
  for (const catalog::SearchQuery& q : queries) {
    auto r = store.Search(q);
    std::fprintf(out, "== search '%s' kind=%s tag=%s schema=%s offset=%zu\n", q.text.c_str(),
                 q.kind.c_str(), q.tag.c_str(), q.schema.c_str(), q.offset);
    if (!r.ok()) {
      std::fprintf(out, "error %s\n", r.status().ToString().c_str());
      continue;
    }
    std::fprintf(out, "total %lld exact %d\n", r->total, r->exact ? 1 : 0);
    for (const std::string& n : r->notes) std::fprintf(out, "note %s\n", n.c_str());
    for (const catalog::SearchHit& h : r->hits) {
      std::fprintf(out, "hit %s %.0f %s|%s|%s|%s|%s ds=%lld ex=%lld health=%s\n",
                   h.key.ToString().c_str(), h.score, h.kind.c_str(), h.name.c_str(),
                   h.full_name.c_str(), h.status.c_str(), h.source.c_str(), h.downstream,
                   h.exposures, h.health.Label().c_str());
      for (const auto& m : h.matched) {
        std::fprintf(out, "  why %s %s %s\n", m.field.c_str(), m.value.c_str(), m.how.c_str());
      }
      std::fprintf(out, "  snippet %s\n ", h.snippet.c_str());
      for (const auto& [b, e] : h.highlights) std::fprintf(out, " [%zu,%zu)", b, e);
      for (const auto& o : h.owners) std::fprintf(out, " owner:%s", o.c_str());
      for (const auto& t : h.tags) std::fprintf(out, " tag:%s", t.c_str());
      std::fprintf(out, "\n");
    }
    for (const catalog::Facet& f : r->facets) {
      std::fprintf(out, "facet %s", f.name.c_str());
      for (const auto& c : f.counts) std::fprintf(out, " %s=%lld", c.value.c_str(), c.count);
      std::fprintf(out, "\n");
    }
  }
  for (const char* prefix : {"stg_or", "fct", "o", "dim_cust", "orders", "pay"}) {
    auto r = store.Suggest({prefix, 10});
    std::fprintf(out, "== suggest '%s'\n", prefix);
    if (!r.ok()) continue;
    for (const auto& s : *r) std::fprintf(out, "%s %s\n", s.key.ToString().c_str(), s.kind.c_str());
  }
  return std::fclose(out) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);  // each figure as soon as it is measured
  size_t n = 1000000, queries = 300;
  std::string url;
  bool keep = false;  // --keep 1: leave the SQLite file for an HTTP run (tidemark serve + wrk)
  std::string only;  // --only TEXT: time only the query types whose label contains TEXT (perf)
  bool reuse = false;  // --reuse 1 with --db: the catalog is already there (same --assets)
  std::string dump;    // --dump FILE: write every result of the timed queries' texts (diffable)
  bool rebuild = false;  // --rebuild 1: then build the whole index again from scratch, timed
  bool memory = false;   // --memory 1: answer from the index in memory, as serve does
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--keep")) keep = std::strcmp(argv[i + 1], "0") != 0;
    if (!std::strcmp(argv[i], "--assets")) n = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--db")) url = argv[i + 1];
    if (!std::strcmp(argv[i], "--queries")) queries = std::stoul(argv[i + 1]);
    if (!std::strcmp(argv[i], "--only")) only = argv[i + 1];
    if (!std::strcmp(argv[i], "--reuse")) reuse = std::strcmp(argv[i + 1], "0") != 0;
    if (!std::strcmp(argv[i], "--dump")) dump = argv[i + 1];
    if (!std::strcmp(argv[i], "--rebuild")) rebuild = std::strcmp(argv[i + 1], "0") != 0;
    if (!std::strcmp(argv[i], "--memory")) memory = std::strcmp(argv[i + 1], "0") != 0;
  }
  // The lineage figures walk a tree of 11,111 assets and sample the others.
  if (n < 12000) {
    std::fprintf(stderr, "search_bench: --assets must be at least 12000 (the lineage tree alone "
                         "is 11111)\n");
    return 2;
  }
  std::filesystem::path file;
  if (url.empty()) {
    file = std::filesystem::temp_directory_path() /
           ("tidemark-search-bench-" + std::to_string(::getpid()) + ".db");
    url = "sqlite:" + file.string();
  }
  auto opened = catalog::OpenStore(
      {.url = url, .search_in_memory = memory, .search_load_at_open = memory});
  if (!opened.ok()) {
    std::fprintf(stderr, "open: %s\n", opened.status().ToString().c_str());
    return 1;
  }
  auto& store = **opened;
  std::printf("store %s, %zu assets, build %s\n", std::string(store.Kind()).c_str(), n,
#ifdef NDEBUG
              "optimised"
#else
              "debug"
#endif
  );

  // ---- generate and ingest --------------------------------------------------------------------
  std::mt19937_64 rng(42);
  constexpr size_t kTree = 11111;  // 1 + 10 + 100 + 1000 + 10000: a root with 11,110 below it
  std::vector<model::AssetKey> keys;
  keys.reserve(n);
  const auto t0 = Clock::now();
  catalog::WriteBatch b;
  for (int o = 0; o < 50; ++o) {
    b.PutOwner({"team:t" + std::to_string(o), model::OwnerKind::kTeam, "Team " + std::to_string(o),
                "", "", "{}"});
  }
  for (size_t i = 0; i < n; ++i) {
    std::string short_name;
    model::Asset a;
    a.key = KeyOf(i, rng, &short_name);
    a.kind = i % 97 == 0 ? model::AssetKind::kExposure : model::AssetKind::kTable;
    a.name = short_name;
    a.source = i % 3 == 0 ? "openlineage" : "dbt";
    // "database.schema.table", as dbt and OpenLineage name them: both are search facets.
    const size_t first_dot = a.key.name.find('.');
    const size_t second_dot = a.key.name.find('.', first_dot + 1);
    a.database = a.key.name.substr(0, first_dot);
    a.schema = a.key.name.substr(first_dot + 1, second_dot - first_dot - 1);
    int words = 6 + static_cast<int>(rng() % 8);
    for (int w = 0; w < words; ++w) a.description += std::string(w ? " " : "") + Pick(kWords, rng);
    std::vector<model::Column> cols;
    for (int c = 0; c < 10; ++c) {
      cols.push_back({kColumns[(i + static_cast<size_t>(c) * 7) % 20], c + 1, "text", "",
                      std::nullopt, {}, "{}"});
    }
    std::sort(cols.begin(), cols.end(), [](auto& x, auto& y) { return x.name < y.name; });
    cols.erase(std::unique(cols.begin(), cols.end(),
                           [](auto& x, auto& y) { return x.name == y.name; }),
               cols.end());
    b.PutAsset(a);
    b.SetColumns(a.key, std::move(cols));
    b.SetTags(a.key, {Pick(kTags, rng)});
    if (i % 4 != 0) b.SetOwnerships(a.key, {{"team:t" + std::to_string(rng() % 50), "owner"}});
    keys.push_back(a.key);
    if (i > 0 && i < kTree) {
      b.PutEdge({keys[(i - 1) / 10], a.key, "", "", {}, "bench", ""});
    } else if (i >= kTree + 2) {
      for (int e = 0; e < 2; ++e) {
        size_t up = kTree + rng() % (i - kTree);
        b.PutEdge({keys[up], a.key, "", "", {}, "bench", ""});
      }
    }
    if (reuse) {
      b.Clear();
    } else if (b.size() >= 20000 || i + 1 == n) {
      auto w = store.Write(b);
      if (!w.ok()) {
        std::fprintf(stderr, "write: %s\n", w.status().ToString().c_str());
        return 1;
      }
      b.Clear();
    }
  }
  const double ingest_s = std::chrono::duration<double>(Clock::now() - t0).count();
  auto counts = store.Counts();
  std::printf("ingest with incremental index: %.1f s (%.0f assets/s), %lld columns, %lld edges,"
              " max RSS %ld MB\n",
              ingest_s, static_cast<double>(n) / ingest_s, counts.ok() ? counts->columns : -1,
              counts.ok() ? counts->edges : -1, MaxRssMb());

  // ---- the index from scratch (tidemark reindex, migration 2) ---------------------------------
  if (rebuild) {
    const auto r0 = Clock::now();
    auto st = store.RebuildSearchIndex();
    if (!st.ok()) {
      std::fprintf(stderr, "rebuild: %s\n", st.ToString().c_str());
      return 1;
    }
    std::printf("index built from scratch: %.1f s for %zu assets, max RSS %ld MB\n",
                std::chrono::duration<double>(Clock::now() - r0).count(), n, MaxRssMb());
  }

  // ---- queries ----------------------------------------------------------------------------------
  auto time = [&](const char* label, const std::function<bool(size_t)>& run) {
    if (std::string_view(label).find(only) == std::string_view::npos) return;
    std::vector<double> ms, cpu_ms;
    for (size_t q = 0; q < queries; ++q) {
      auto s = Clock::now();
      const double cpu = ThreadCpuMs();
      if (!run(q)) {
        std::printf("%-34s FAILED\n", label);
        return;
      }
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - s).count());
      cpu_ms.push_back(ThreadCpuMs() - cpu);
    }
    // CPU time is what the query costs; on a busy machine the elapsed time adds waiting.
    std::printf("%-34s p50 %7.2f ms   p99 %7.2f ms   (cpu p50 %5.2f p99 %5.2f)\n", label,
                Pct(ms, 0.5), Pct(ms, 0.99), Pct(cpu_ms, 0.5), Pct(cpu_ms, 0.99));
  };
  auto search = [&](std::string text, catalog::SearchResults* out = nullptr) {
    catalog::SearchQuery q;
    q.text = std::move(text);
    auto r = store.Search(q);
    if (r.ok() && out) *out = *r;
    return r.ok();
  };
  catalog::SearchResults probe;
  search("orders", &probe);
  std::printf("'orders': %lld matches%s; top hit %s\n", probe.total,
              probe.exact ? "" : " (capped)",
              probe.hits.empty() ? "-" : probe.hits[0].key.ToString().c_str());
  if (!dump.empty() && !DumpResults(store, keys, dump)) return 1;
  time("search exact full name (rare)", [&](size_t q) {
    return search(keys[(q * 7919) % n].name);
  });
  time("search one common word (orders)", [&](size_t) { return search("orders"); });
  time("search very common word (id)", [&](size_t) { return search("id"); });
  time("search two common words", [&](size_t q) {
    return search(std::string(kDomains[q % 30]) + " " + kSuffixes[1 + q % 11]);
  });
  time("search word in descriptions", [&](size_t q) { return search(kWords[q % 42]); });
  time("search typo (custmers)", [&](size_t) { return search("custmers"); });
  time("search phrase", [&](size_t) { return search("\"lifetime value\""); });
  time("suggest prefix (2-6 chars)", [&](size_t q) {
    std::string p = std::string(kPrefixes[q % 10]) + "_" + std::string(kDomains[q % 30]).substr(0, 1 + q % 4);
    return store.Suggest({p, 10}).ok();
  });
  time("lineage depth 5, 11k below, cap 500", [&](size_t) {
    catalog::LineageQuery q;
    q.key = keys[0];
    q.direction = catalog::LineageDirection::kDownstream;
    q.depth = 5;
    auto g = store.Lineage(q);
    return g.ok() && g->truncated && g->nodes.size() == 500;
  });
  time("lineage depth 5, 11k below, no cap", [&](size_t) {
    catalog::LineageQuery q;
    q.key = keys[0];
    q.direction = catalog::LineageDirection::kDownstream;
    q.depth = 5;
    q.max_nodes = 20000;
    auto g = store.Lineage(q);
    return g.ok() && !g->truncated && g->nodes.size() == kTree;
  });
  time("impact of a random asset (cap 10k)", [&](size_t q) {
    return store.Impact(keys[kTree + (q * 104729) % (n - kTree)], 10000).ok();
  });
  std::printf("max RSS %ld MB\n", MaxRssMb());
  opened->reset();
  if (keep && !file.empty()) std::printf("kept %s\n", file.c_str());
  if (!file.empty() && !keep) {
    for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(file.string() + suffix);
  }
  return 0;
}
