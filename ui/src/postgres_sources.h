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
//         schedule: 15m
//
// Errors are InvalidArgument naming the key ("sources.postgres[0].dsn: ...") and the file's
// line in `where`. A DSN's password is never part of a message.

#include <vector>

#include "tidemark/collector/postgres_stats.h"
#include "tidemark/model/status.h"
#include "tidemark/ui/config.h"

namespace tidemark::ui {

// The configured sources, in file order; empty when the section is absent. `env` resolves
// dsn_env.
model::Result<std::vector<collector::PostgresSourceOptions>> PostgresSourcesFrom(
    const Config& config, const EnvLookup& env);

}  // namespace tidemark::ui
