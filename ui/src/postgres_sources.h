#pragma once

// The `sources.postgres` section of the config file: the warehouses `tidemark collect postgres`
// reads.
//
//   sources:
//     postgres:
//       - name: warehouse                 # required, unique
//         dsn: postgresql://tidemark@db:5432/analytics   # or dsn_env: WAREHOUSE_DSN
//         namespace: postgres://db:5432   # optional; default: the server's host:port
//         include_schemas: [marts, staging]
//         exclude_schemas: [scratch]
//         tables: ["marts.*"]             # globs on schema.table (or table)
//         exclude_tables: ["*_tmp"]
//         loaded_at: {marts.orders: loaded_at}
//         exact_count_below: 100000       # estimated rows under which count(*) runs
//         statement_timeout: 30s
//         lock_timeout: 1s
//         schedule: 15m                 # `serve` collects it this often (also 1h, 30s)
//
// Errors are InvalidArgument naming the key ("sources.postgres[0].dsn: ...") and the file's
// line in `where`. A DSN's password is never part of a message.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tidemark/collector/postgres_stats.h"
#include "tidemark/model/status.h"
#include "tidemark/ui/config.h"

namespace tidemark::ui {

// The configured sources, in file order; empty when the section is absent. `env` resolves
// dsn_env.
model::Result<std::vector<collector::PostgresSourceOptions>> PostgresSourcesFrom(
    const Config& config, const EnvLookup& env);

// A source's `schedule` ("15m", "1h", "30s"): how often `serve` collects it. nullopt when it
// is not such an interval.
std::optional<std::chrono::milliseconds> PostgresScheduleInterval(const std::string& schedule);

// `serve`'s collection of the sources that have a schedule: each is collected once at start,
// then again `schedule` after the end of its previous collection, on one background thread
// (sources in turn, so one warehouse at a time). A failed collection is logged and retried at
// the next tick; it never stops the others. Destruction stops the thread (after the
// collection under way, if any). Thread-safe.
class PostgresCollectSchedule {
 public:
  // `store` must outlive the schedule. Sources without a schedule are left out.
  PostgresCollectSchedule(catalog::Store& store,
                          const std::vector<collector::PostgresSourceOptions>& sources);
  ~PostgresCollectSchedule();
  PostgresCollectSchedule(const PostgresCollectSchedule&) = delete;
  PostgresCollectSchedule& operator=(const PostgresCollectSchedule&) = delete;

  // How many sources are scheduled.
  size_t scheduled() const;
  // Waits until source `name` has been collected `runs` times (failed attempts count) or
  // `timeout` has passed; returns how many times it has been. For tests and shutdown logs.
  size_t WaitForRuns(const std::string& name, size_t runs, std::chrono::milliseconds timeout);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tidemark::ui
