#pragma once

// Pushed stats: metric points that other warehouses' own statistics export (Snowflake,
// BigQuery, Redshift INFORMATION_SCHEMA queries a user schedules) or any script sends.
//
// Two formats, told apart by the first character:
//  - JSON lines (or one JSON array) of objects:
//      {"dataset": "snowflake://acct/DB.SCHEMA.TABLE", "metric": "row_count",
//       "timestamp": "2026-11-22T06:00:00Z", "value": 1234}
//    "dataset" may be replaced by "namespace" + "name"; "ts" is accepted for "timestamp".
//  - CSV with a header row naming the same columns (dataset or namespace,name; metric;
//    timestamp or ts; value), quoted fields allowed.
// Metrics: row_count, bytes, last_modified (value: epoch seconds, or an ISO-8601 time),
// null_rate:<column>, or any other name. Datasets join existing assets (dbt, OpenLineage)
// under the same rule as the other collectors.
//
// Everything is validated before anything is written; a problem is InvalidArgument naming
// the input, line and field ("stats.csv line 4: value: not a number"). One Store::Write.

#include <string>
#include <string_view>

#include "tidemark/catalog/store.h"
#include "tidemark/model/status.h"

namespace tidemark::collector {

struct PushedMetricsReport {
  size_t points = 0;
  size_t datasets = 0;
  catalog::WriteSummary write;
  std::string ToJson() const;
};

model::Result<PushedMetricsReport> IngestPushedMetrics(catalog::Store& store,
                                                       std::string_view text,
                                                       std::string_view name);

}  // namespace tidemark::collector
