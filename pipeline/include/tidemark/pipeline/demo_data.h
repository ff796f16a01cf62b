#pragma once

// The demo's data: the sales analytics stack of the modern data stack guides, watched for 90
// days, with five real incidents in its history. `tidemark demo` loads it before serving.
//
// The stack (dbt project "acme_sales" on Snowflake, namespace kDemoNamespace):
//   sources   streaming.purchases (Kafka Connect sink), dlt.products (dlt, from PostgreSQL),
//             dlt.exchange_rates (dlt, REST API), snowpipe.exchange_rate_files (S3 files),
//             airbyte.hubspot_contacts (Airbyte, HubSpot CRM)
//   staging   stg_streaming__purchases, stg_dlt__products, stg_dlt__exchange_rates,
//             stg_airbyte__contacts
//   marts     fct_purchases, dim_products, fct_exchange_rates, dim_customers
//   reporting sales (customer totals in GBP and USD)
//   exposures three Lightdash dashboards
// with owners (meta.owner, groups), tags, descriptions, tests and source freshness rules.
//
// What is loaded, all of it relative to an anchor (now, floored to the hour) so the demo
// always looks current:
//  - the dbt artifacts (manifest v12, run_results v6 per daily `dbt build`, sources v3 per
//    `dbt source freshness`, catalog v1 at the start and the end of the history), generated
//    here and ingested through collector::IngestDbt exactly as files from target/ would be;
//  - 90 days of warehouse table stats written as metric points: hourly row counts and
//    updates of the two streaming sources, daily ones of the rest.
// Noise is seeded (a fixed seed per series), so the same anchor always yields the same data.
//
// Thread-safety: the functions are reentrant.

#include <string>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/model/asset.h"
#include "tidemark/model/status.h"
#include "tidemark/model/time.h"

namespace tidemark::pipeline {

// The namespace of the demo's dataset keys (OpenLineage's Snowflake naming).
inline constexpr std::string_view kDemoNamespace = "snowflake://acme-analytics";
inline constexpr int kDemoHistoryDays = 90;

// `now` floored to the hour: the demo's "now". Loading twice within one hour writes nothing
// the second time.
model::Timestamp DemoAnchor(model::Timestamp now);

// The dataset key of a demo table by its short name ("fct_purchases", "purchases").
// Unknown names get a key in the raw database, as a source would.
model::AssetKey DemoKey(std::string_view short_name);

// One incident injected into the history, where a detector run over the stored series should
// find it: anomalies of `detector` on `asset` (metric `metric`, empty for any) with
// from <= ts < to.
struct DemoIncident {
  std::string name;        // "hubspot_stall", "purchases_halved", ...
  std::string summary;     // one line for people
  model::AssetKey asset;
  std::string metric;      // "update", "row_count", "rows_affected", "schema", "dbt_test"
  std::string detector;    // "freshness", "volume", "schema", "dbt"
  model::Timestamp from{};
  model::Timestamp to{};
};

// The incidents of the history anchored at DemoAnchor(now).
std::vector<DemoIncident> DemoIncidents(model::Timestamp now);

struct DemoLoadReport {
  model::Timestamp anchor{};
  // True when the store already held the demo anchored at another hour (`anchor` is then
  // that one): nothing was loaded, since two histories shifted in time would read as
  // anomalies of their own. A new store shows the demo current again.
  bool stale = false;
  size_t dbt_ingests = 0;        // IngestDbt calls
  size_t dbt_unchanged = 0;      // of which every artifact was already ingested
  size_t points_written = 0;     // metric points stored (by the collector and directly)
  size_t points_skipped = 0;     // already stored
  size_t snapshots_written = 0;
  size_t node_results_written = 0;
  size_t runs_written = 0;
  double elapsed_ms = 0;
};

// Generates the demo history anchored at DemoAnchor(now) and loads it into `store`.
// Idempotent: loading the same anchor again stores nothing new. The anchor is recorded first
// (checkpoint "demo"/"anchor"), so an interrupted load completes when re-run within the hour;
// a store holding another anchor is left as it is (DemoLoadReport::stale). An error of the collector or
// the store is returned as it was reported (what was written by earlier steps stays: each
// step is one transaction, and re-running completes the load).
model::Result<DemoLoadReport> LoadDemoData(catalog::Store& store, model::Timestamp now);

// The dbt target/ files of the latest state (manifest.json, run_results.json, sources.json,
// catalog.json) as text, for `tidemark ingest dbt` users and tests: {file name, text}.
std::vector<std::pair<std::string, std::string>> DemoDbtTarget(model::Timestamp now);

// The orchestrator's side of the same history as OpenLineage RunEvents (spec 2-0-2), one
// JSON object per line, oldest first: the Airflow DAG `acme_sales_daily` and its tasks
// (Snowpipe and dlt loads, dbt build) with parent, nominal-time, schema, output-statistics
// and error-message facets, as the Airflow OpenLineage provider sends them. Not loaded by
// LoadDemoData; for the OpenLineage endpoint (POST /api/v1/lineage) and its tests.
std::string DemoOpenLineageEvents(model::Timestamp now);

}  // namespace tidemark::pipeline
