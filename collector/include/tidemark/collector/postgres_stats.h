#pragma once

// The PostgreSQL warehouse collector: reads what PostgreSQL knows about its own tables and
// records it in the catalog - columns (information_schema, a schema snapshot when they
// change), row counts (exact count(*) below a size threshold, else the planner's estimate,
// and says which), total size, and last change time (max of a configured loaded_at column,
// else derived from pg_stat_user_tables' insert/update/delete counters between collections,
// kept as checkpoints) - all as metric points stamped with the collection time.
//
// Polite and read-only: one connection per source, application_name=tidemark, a read-only
// transaction with statement_timeout and lock_timeout, never a write to the warehouse. A table
// that disappears mid-run or cannot be read is a warning for that table; the run goes on.
// Errors never carry the DSN's password (catalog::RedactUrl).
//
// Tables are keyed (namespace, "database.schema.table") per OpenLineage naming, the namespace
// being "postgres://host:port" of the server, and joined to a dbt asset of the same table.
//
// Thread-safety: reentrant; each call uses its own connection.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/model/clock.h"
#include "tidemark/model/status.h"

namespace tidemark::collector {

struct PostgresSourceOptions {
  std::string name = "postgres";   // names the source in checkpoints and reports
  std::string dsn;                 // libpq URL or keyword string; may hold a password
  std::string ns;                  // dataset namespace; empty: postgres://host:port of the server
  std::vector<std::string> include_schemas;  // empty: every schema but the system ones
  std::vector<std::string> exclude_schemas;
  // Globs ('*', '?') matched against "schema.table" (or "table" when the glob has no dot).
  std::vector<std::string> tables;           // empty: every table
  std::vector<std::string> exclude_tables;
  std::map<std::string, std::string> loaded_at;  // "schema.table" -> timestamp column
  double exact_count_below = 100000;  // estimated rows under which count(*) is run
  std::chrono::milliseconds statement_timeout{30000};
  std::chrono::milliseconds lock_timeout{1000};
  std::string schedule;            // for the scheduler; not used by a single collection
  const model::Clock* clock = nullptr;  // collection time; nullptr: the system clock
};

struct PostgresWarning {
  std::string table;  // "schema.table"
  std::string message;
  friend bool operator==(const PostgresWarning&, const PostgresWarning&) = default;
};

struct PostgresCollectReport {
  std::string source;
  std::string ns;
  std::string database;
  size_t tables = 0;
  size_t columns = 0;
  size_t exact_counts = 0;
  size_t estimated_counts = 0;
  size_t changes_detected = 0;   // tables whose counters moved since the last collection
  size_t metric_points = 0;
  std::vector<PostgresWarning> warnings;
  catalog::WriteSummary write;
  double elapsed_ms = 0;
  std::string ToJson() const;
};

// Collects one source into `store` in one Store::Write. Unavailable when the warehouse cannot
// be reached (the message names the source, never the password); InvalidArgument for bad
// options. Per-table problems are warnings.
model::Result<PostgresCollectReport> CollectPostgres(catalog::Store& store,
                                                     const PostgresSourceOptions& options);

// True when `text` matches `glob` ('*' any run, '?' one character), case-sensitively.
bool GlobMatch(std::string_view glob, std::string_view text);

}  // namespace tidemark::collector
