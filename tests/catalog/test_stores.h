#pragma once

// Store factories for the typed contract suite and other storage tests: a SQLite file in a
// fresh temporary directory, an in-memory SQLite, and a fresh PostgreSQL database per test
// created on the server named by TIDEMARK_TEST_PG_URL (and dropped afterwards).

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <string>
#include <unistd.h>

#include "tidemark/catalog/store.h"

namespace tidemark::catalog::testing {

// A fresh, empty temporary directory removed on destruction.
class TempDir {
 public:
  TempDir() {
    std::random_device rd;
    path_ = std::filesystem::temp_directory_path() /
            ("tidemark-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline bool EnvIs(const char* name, std::string_view value) {
  const char* v = std::getenv(name);
  return v && value == v;
}

// The PostgreSQL server for tests, or why there is none. Read at run time, never at
// discovery (gtest_discover_tests runs binaries at build time).
inline std::optional<std::string> PgBaseUrl() {
  const char* url = std::getenv("TIDEMARK_TEST_PG_URL");
  if (url && *url) return std::string(url);
  return std::nullopt;
}

// Skips (outside CI, with TIDEMARK_SKIP_PG=1) or fails when no PostgreSQL is configured.
#define TM_REQUIRE_PG()                                                                     \
  do {                                                                                      \
    if (!::tidemark::catalog::testing::PgBaseUrl()) {                                       \
      if (!::tidemark::catalog::testing::EnvIs("CI", "true") &&                             \
          ::tidemark::catalog::testing::EnvIs("TIDEMARK_SKIP_PG", "1")) {                   \
        GTEST_SKIP() << "TIDEMARK_SKIP_PG=1: PostgreSQL tests skipped";                     \
      }                                                                                     \
      FAIL() << "TIDEMARK_TEST_PG_URL is not set: run ./scripts/test.sh, or start one with " \
                "scripts/pg.sh start and export its URL (TIDEMARK_SKIP_PG=1 skips, never in CI)"; \
    }                                                                                       \
  } while (0)

// `base` with its database name replaced by `db`.
inline std::string WithDatabase(const std::string& base, const std::string& db) {
  size_t q = base.find('?');
  std::string head = base.substr(0, q), tail = q == std::string::npos ? "" : base.substr(q);
  size_t slash = head.rfind('/');
  if (slash == std::string::npos || slash < head.find("://") + 3) return head + "/" + db + tail;
  return head.substr(0, slash + 1) + db + tail;
}

// A PostgreSQL database created for one test and dropped with the object.
class ScratchPgDatabase {
 public:
  ScratchPgDatabase() {
    static std::atomic<int> counter{0};
    std::random_device rd;
    name_ = "tm_test_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
            std::to_string(rd() % 100000);
    pqxx::connection admin(*PgBaseUrl());
    pqxx::nontransaction tx(admin);
    tx.exec("CREATE DATABASE " + name_);
    url_ = WithDatabase(*PgBaseUrl(), name_);
  }
  ~ScratchPgDatabase() {
    try {
      pqxx::connection admin(*PgBaseUrl());
      pqxx::nontransaction tx(admin);
      tx.exec("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (const std::exception&) {
      // A leftover scratch database is harmless; the cluster is thrown away after the run.
    }
  }
  const std::string& url() const { return url_; }

 private:
  std::string name_;
  std::string url_;
};

struct SqliteFileFactory {
  static std::string Name() { return "SqliteFile"; }
  static std::string_view Kind() { return "sqlite"; }
  model::Result<std::unique_ptr<Store>> Open(const model::Clock* clock) {
    dir = std::make_unique<TempDir>();
    url = "sqlite:" + (dir->path() / "tidemark.db").string();
    StoreOptions opts = options;
    opts.url = url;
    opts.clock = clock;
    return OpenStore(opts);
  }
  void Cleanup() { dir.reset(); }
  StoreOptions options;  // what Open starts from
  std::unique_ptr<TempDir> dir;
  std::string url;  // of the store Open made: another process's view of it
};

struct SqliteMemoryFactory {
  static std::string Name() { return "SqliteMemory"; }
  static std::string_view Kind() { return "sqlite"; }
  model::Result<std::unique_ptr<Store>> Open(const model::Clock* clock) {
    StoreOptions opts;
    opts.url = "sqlite::memory:";
    opts.clock = clock;
    return OpenStore(opts);
  }
  void Cleanup() {}
};

struct PostgresFactory {
  static std::string Name() { return "Postgres"; }
  static std::string_view Kind() { return "postgresql"; }
  model::Result<std::unique_ptr<Store>> Open(const model::Clock* clock) {
    if (!PgBaseUrl()) {
      return model::Status::Unavailable("TIDEMARK_TEST_PG_URL is not set");
    }
    try {
      db = std::make_unique<ScratchPgDatabase>();
    } catch (const std::exception& e) {
      return model::Status::Unavailable(std::string("create scratch database: ") + e.what());
    }
    url = db->url();
    StoreOptions opts = options;
    opts.url = url;
    opts.clock = clock;
    return OpenStore(opts);
  }
  void Cleanup() { db.reset(); }
  StoreOptions options;  // what Open starts from
  std::unique_ptr<ScratchPgDatabase> db;
  std::string url;  // of the store Open made: another process's view of it
};

// SqliteFileFactory or PostgresFactory with the search index copied into memory, as serve
// opens stores: loaded before Open returns, and looking for other stores' writes every 20 ms.
template <typename Base>
struct MemorySearchFactory : Base {
  static std::string Name() { return Base::Name() + "MemorySearch"; }
  MemorySearchFactory() {
    this->options.search_in_memory = true;
    this->options.search_load_at_open = true;
    this->options.search_poll = std::chrono::milliseconds(20);
  }
};

// Names the instances of a typed suite over the factories above: "SqliteFile", "Postgres"...
struct FactoryNames {
  template <typename Factory>
  static std::string GetName(int) {
    return Factory::Name();
  }
};

}  // namespace tidemark::catalog::testing
