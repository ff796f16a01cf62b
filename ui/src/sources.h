#pragma once

// The `sources:` section of the config file: what `tidemark collect` reads once and what
// `serve` collects on each source's schedule.
//
//   sources:
//     postgres:                           # warehouses read directly (collector/postgres_stats.h)
//       - name: warehouse                 # required, unique among all sources
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
//         schedule: 15m                   # `serve` collects it this often (also 1h, 30s)
//     dbt:                                # a project's target/ folder, as `ingest dbt` reads it
//       - name: analytics                 # required, unique among all sources
//         path: /srv/dbt/analytics/target # required: a folder, or a list of artifact files
//         namespace: postgres://db:5432   # optional; default: the manifest's adapter type
//         project: analytics              # optional; default: the manifest's project
//         schedule: 5m                    # `serve` looks for new artifacts this often
//
// Errors are InvalidArgument naming the key ("sources.postgres[0].dsn: ...") and the file's
// line in `where`. A DSN's password is never part of a message.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/collector/postgres_stats.h"
#include "tidemark/model/status.h"
#include "tidemark/ui/config.h"

namespace tidemark::ui {

struct DbtSource {
  std::string name;
  std::vector<std::string> paths;  // a target/ folder, or artifact files
  std::string ns, project;         // empty: what the manifest says
  std::string schedule;            // empty: only `tidemark collect`
};

struct Sources {
  std::vector<collector::PostgresSourceOptions> postgres;
  std::vector<DbtSource> dbt;

  bool empty() const { return postgres.empty() && dbt.empty(); }
};

// The configured sources, in file order; none when the section is absent. `env` resolves
// dsn_env.
model::Result<Sources> SourcesFrom(const Config& config, const EnvLookup& env);

// A source's `schedule` ("15m", "1h", "30s"): how often `serve` collects it. nullopt when it
// is not such a positive interval.
std::optional<std::chrono::milliseconds> ScheduleInterval(const std::string& schedule);

// One collection of one source: its JSON summary line ({"source": name, ...}), or why it
// failed. Per-table warnings of a warehouse are logged, not failures.
model::Result<std::string> CollectSource(catalog::Store& store,
                                         const collector::PostgresSourceOptions& source);
model::Result<std::string> CollectSource(catalog::Store& store, const DbtSource& source);

// `serve`'s collection of the sources that have a schedule: each is collected once at start,
// then again `schedule` after the end of its previous collection, on one background thread
// (sources in turn, so one warehouse or project at a time). A dbt source whose files have the
// same sizes and modification times as at its last successful collection is not read again.
// A failed collection is logged and retried at the next tick; it never stops the others.
// Destruction stops the thread (after the collection under way, if any). Thread-safe.
class CollectSchedule {
 public:
  // `store` must outlive the schedule. Sources without a schedule are left out.
  CollectSchedule(catalog::Store& store, const Sources& sources);
  ~CollectSchedule();
  CollectSchedule(const CollectSchedule&) = delete;
  CollectSchedule& operator=(const CollectSchedule&) = delete;

  // How many sources are scheduled.
  size_t scheduled() const;
  // What the turns of source `name` came to so far (all zero for an unknown name).
  struct Turns {
    size_t runs = 0;       // every turn, as WaitForRuns counts them
    size_t collected = 0;  // collected and written
    size_t unchanged = 0;  // a dbt source whose files were the same: not read
    size_t failed = 0;     // logged and retried at the next tick
  };
  Turns TurnsOf(const std::string& name) const;
  // Waits until source `name` has had `runs` turns (failed attempts and dbt folders found
  // unchanged count) or `timeout` has passed; returns how many it has had. For tests and
  // shutdown logs.
  size_t WaitForRuns(const std::string& name, size_t runs, std::chrono::milliseconds timeout);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace tidemark::ui
