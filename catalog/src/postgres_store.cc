// PostgresStore: the Store for teams that share one PostgreSQL between several instances.
//
// Every call borrows one pooled connection and runs in one transaction on it (Transact).
// Instances coordinate through the database only: an advisory lock while migrating, row locks
// when merging runs, FOR UPDATE SKIP LOCKED when claiming alerts.
//
// The rules of the model (placeholders, run merging, JSON normalisation, what is rejected)
// are the ones SqliteStore applies, statement for statement where the two SQL dialects allow;
// the contract suite (tests/catalog/store_test.cc) holds both to them. Differences are in how:
// metric points go in as arrays, 10k rows per statement; reads resolve an asset key in SQL;
// an anomaly id reused for another asset is found by a query, not a unique index (which would
// stop metric-sized tables being distributed by asset, see pg_schema.h). One is stricter: an
// alert's payload must be a JSON object, because it is stored as jsonb.
//
// libpqxx throws; nothing is thrown past this file. Transact catches every exception and
// PgError converts it: the one place SQLSTATEs become Status codes.

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <span>
#include <shared_mutex>
#include <unordered_set>
#include <tuple>
#include <type_traits>
#include <unordered_map>

#include "columns_json.h"
#include "pg_pool.h"
#include "pg_schema.h"
#include "search_engine.h"
#include "lineage_walk.h"
#include "memory_search.h"
#include "store_rules.h"
#include "store_url.h"
#include "tidemark/catalog/store.h"

namespace tidemark::catalog {
namespace {

using model::AssetKey;
using model::Timestamp;

// ---- SQL ------------------------------------------------------------------------------------
//
// Times cross the wire as bigint microseconds: tm_timestamp($n) on the way in, tm_micros(col)
// on the way out (both defined by migration 1, both exact).

#define TM_ASSET_COLS                                                                         \
  "a.namespace, a.name, a.kind, a.display_name, a.description, a.source, a.database_name,"    \
  " a.schema_name, a.status, a.properties, tm_micros(a.created_at), tm_micros(a.updated_at)," \
  " (SELECT coalesce(json_agg(t.tag ORDER BY t.tag), '[]') FROM asset_tags t"                 \
  "   WHERE t.asset_id = a.asset_id),"                                                        \
  " (SELECT coalesce(json_agg(x.alias ORDER BY x.alias), '[]') FROM asset_aliases x"          \
  "   WHERE x.asset_id = a.asset_id)"

constexpr PgStatement kSelectAssetByKey{
    .name = "select_asset_by_key",
    .sql = "SELECT " TM_ASSET_COLS " FROM assets a WHERE a.key = $1"};
// kSelectAssetByKey for several keys: k.ord (column 14) numbers them from 1.
constexpr PgStatement kSelectAssetsByKey{
    .name = "select_assets_by_key",
    .sql = "SELECT " TM_ASSET_COLS
           ", k.ord FROM unnest($1::text[]) WITH ORDINALITY AS k(key, ord)"
           " JOIN assets a ON a.key = k.key"};
#define TM_ASSETS_PAGE_WHERE                                                   \
  " WHERE ($1::text IS NULL OR a.kind = $1) AND ($2 = '' OR a.source = $2)"    \
  "   AND ($3 OR a.status <> 'removed')"
constexpr PgStatement kSelectAssetsPage{
    .name = "select_assets_page",
    .sql = "SELECT " TM_ASSET_COLS " FROM assets a" TM_ASSETS_PAGE_WHERE
           " ORDER BY a.key LIMIT $4 OFFSET $5"};
// Keyset paging (AssetFilter::after): its own statement, so the plan starts at that key.
constexpr PgStatement kSelectAssetsPageAfter{
    .name = "select_assets_page_after",
    .sql = "SELECT " TM_ASSET_COLS " FROM assets a" TM_ASSETS_PAGE_WHERE
           " AND a.key > $6 ORDER BY a.key LIMIT $4 OFFSET $5"};
#undef TM_ASSETS_PAGE_WHERE
// Migration 6's one row: every write adds one as its last statement (Store::WriteGeneration).
constexpr PgStatement kBumpWriteGeneration{
    .name = "bump_write_generation", .sql = "UPDATE write_generation SET n = n + 1 WHERE id = 1"};
constexpr PgStatement kSelectWriteGeneration{
    .name = "select_write_generation", .sql = "SELECT n FROM write_generation WHERE id = 1"};
constexpr PgStatement kSelectAssetIds{
    .name = "select_asset_ids",
    .sql = "SELECT key, asset_id FROM assets WHERE key = ANY($1::text[])"};
constexpr PgStatement kSelectAssetId{.name = "select_asset_id",
                                     .sql = "SELECT asset_id FROM assets WHERE key = $1"};
// Sorted so that concurrent writers creating the same placeholders lock them in one order.
constexpr PgStatement kInsertPlaceholders{
    .name = "insert_placeholders",
    .sql =
        "INSERT INTO assets (key, namespace, name, kind, display_name, source, created_at,"
        " updated_at)"
        " SELECT k, n, m, $5, d, $6, tm_timestamp($7), tm_timestamp($7)"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS u(k, n, m, d) ORDER BY k"
        " ON CONFLICT (key) DO NOTHING RETURNING key, asset_id"};
// Assets in arrays, one row each (no key twice). Only rows inserted or changed come back.
constexpr PgStatement kUpsertAssets{
    .name = "upsert_assets",
    .sql =
        "INSERT INTO assets AS a (key, namespace, name, kind, display_name, description, source,"
        " database_name, schema_name, status, properties, created_at, updated_at, removed_at)"
        " SELECT k, n, m, kind, d, descr, src, db, sch, st, p::jsonb, tm_timestamp($12),"
        "        tm_timestamp($12), CASE WHEN st = 'removed' THEN tm_timestamp($12) END"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
        "             $7::text[], $8::text[], $9::text[], $10::text[], $11::text[])"
        "      AS u(k, n, m, kind, d, descr, src, db, sch, st, p)"
        " ON CONFLICT (key) DO UPDATE SET kind = excluded.kind,"
        "   display_name = excluded.display_name,"
        "   description = excluded.description, source = excluded.source,"
        "   database_name = excluded.database_name, schema_name = excluded.schema_name,"
        "   status = excluded.status, properties = excluded.properties,"
        "   updated_at = excluded.updated_at, removed_at = excluded.removed_at"
        " WHERE (a.kind, a.display_name, a.description, a.source, a.database_name, a.schema_name,"
        "        a.status, a.properties) IS DISTINCT FROM"
        "       (excluded.kind, excluded.display_name, excluded.description, excluded.source,"
        "        excluded.database_name, excluded.schema_name, excluded.status,"
        "        excluded.properties)"
        " RETURNING key, asset_id"};
constexpr PgStatement kUpsertAliases{
    .name = "upsert_aliases",
    .sql =
        "INSERT INTO asset_aliases AS x (alias, asset_id)"
        " SELECT * FROM unnest($1::text[], $2::bigint[])"
        " ON CONFLICT (alias) DO UPDATE SET asset_id = excluded.asset_id"
        " WHERE x.asset_id <> excluded.asset_id"};
// An exact key wins over an alias spelled the same.
constexpr PgStatement kResolve{
    .name = "resolve",
    .sql =
        "(SELECT namespace, name, 0 AS rank FROM assets WHERE key = $1)"
        " UNION ALL"
        " (SELECT a.namespace, a.name, 1 FROM asset_aliases x JOIN assets a USING (asset_id)"
        "  WHERE x.alias = $1)"
        " ORDER BY rank LIMIT 1"};
constexpr PgStatement kDeleteColumns{.name = "delete_columns",
                                     .sql = "DELETE FROM columns WHERE asset_id = ANY($1::bigint[])"};
// Column rows in arrays, tags and properties as JSON text.
constexpr PgStatement kInsertColumns{
    .name = "insert_columns",
    .sql =
        "INSERT INTO columns (asset_id, name, position, data_type, description, nullable, tags,"
        " properties)"
        " SELECT id, n, pos, dt, d, nl, t::jsonb, p::jsonb"
        " FROM unnest($1::bigint[], $2::text[], $3::integer[], $4::text[], $5::text[],"
        "             $6::boolean[], $7::text[], $8::text[]) AS u(id, n, pos, dt, d, nl, t, p)"};
// Of the assets $1, those that store columns.
constexpr PgStatement kHaveColumns{
    .name = "have_columns",
    .sql = "SELECT DISTINCT asset_id FROM columns WHERE asset_id = ANY($1::bigint[])"};
// Of the assets $1, those whose stored columns are not exactly the rows of $2 (JSON arrays of
// objects with the columns' fields).
constexpr PgStatement kChangedColumns{
    .name = "changed_columns",
    .sql =
        "SELECT u.id FROM unnest($1::bigint[], $2::text[]) AS u(id, cols)"
        " WHERE coalesce((SELECT jsonb_agg(jsonb_build_object('name', name, 'position', position,"
        "   'data_type', data_type, 'description', description, 'nullable', nullable,"
        "   'tags', tags, 'properties', properties) ORDER BY position, name)"
        "   FROM columns WHERE asset_id = u.id), '[]')"
        " IS DISTINCT FROM coalesce((SELECT jsonb_agg(x ORDER BY (x->>'position')::int,"
        "   x->>'name' COLLATE \"C\") FROM jsonb_array_elements(u.cols::jsonb) x), '[]')"};
constexpr PgStatement kSelectColumns{
    .name = "select_columns",
    .sql =
        "SELECT c.name, c.position, c.data_type, c.description, c.nullable, c.tags, c.properties"
        " FROM columns c JOIN assets a USING (asset_id) WHERE a.key = $1"
        " ORDER BY c.position, c.name"};
constexpr PgStatement kDeleteTags{.name = "delete_tags",
                                  .sql = "DELETE FROM asset_tags WHERE asset_id = ANY($1::bigint[])"};
constexpr PgStatement kInsertTags{
    .name = "insert_tags",
    .sql =
        "INSERT INTO asset_tags (asset_id, tag) SELECT * FROM unnest($1::bigint[], $2::text[])"
        " ON CONFLICT DO NOTHING"};
constexpr PgStatement kUpsertOwner{
    .name = "upsert_owner",
    .sql =
        "INSERT INTO owners (owner_id, kind, name, email, channel, properties)"
        " VALUES ($1, $2, $3, $4, $5, $6::jsonb)"
        " ON CONFLICT (owner_id) DO UPDATE SET kind = excluded.kind, name = excluded.name,"
        "   email = excluded.email, channel = excluded.channel, properties = excluded.properties"};
constexpr PgStatement kKnownOwners{
    .name = "known_owners", .sql = "SELECT owner_id FROM owners WHERE owner_id = ANY($1::text[])"};
constexpr PgStatement kDeleteOwnerships{
    .name = "delete_ownerships", .sql = "DELETE FROM ownerships WHERE asset_id = ANY($1::bigint[])"};
constexpr PgStatement kInsertOwnerships{
    .name = "insert_ownerships",
    .sql =
        "INSERT INTO ownerships (asset_id, owner_id, role)"
        " SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])"};
#define TM_OWNER_COLS "o.owner_id, o.kind, o.name, o.email, o.channel, o.properties"
constexpr PgStatement kSelectOwner{
    .name = "select_owner", .sql = "SELECT " TM_OWNER_COLS " FROM owners o WHERE o.owner_id = $1"};
constexpr PgStatement kSelectOwnersOf{
    .name = "select_owners_of",
    .sql = "SELECT " TM_OWNER_COLS
           ", w.role FROM ownerships w JOIN owners o USING (owner_id)"
           " JOIN assets a USING (asset_id) WHERE a.key = $1 ORDER BY o.owner_id"};
// kSelectOwnersOf for several keys: k.ord (column 7) numbers them from 1.
constexpr PgStatement kSelectOwnersOfMany{
    .name = "select_owners_of_many",
    .sql = "SELECT " TM_OWNER_COLS
           ", w.role, k.ord FROM unnest($1::text[]) WITH ORDINALITY AS k(key, ord)"
           " JOIN assets a ON a.key = k.key JOIN ownerships w USING (asset_id)"
           " JOIN owners o USING (owner_id) ORDER BY k.ord, o.owner_id"};
constexpr PgStatement kSelectOwnedBy{
    .name = "select_owned_by",
    .sql =
        "SELECT a.namespace, a.name FROM ownerships w JOIN assets a USING (asset_id)"
        " WHERE w.owner_id = $1 ORDER BY a.key"};
constexpr PgStatement kMarkRemoved{
    .name = "mark_removed",
    .sql =
        "UPDATE assets SET status = 'removed', removed_at = tm_timestamp($2),"
        " updated_at = tm_timestamp($2) WHERE key = $1 AND status <> 'removed'"};
// The edges stored for the (downstream, origin) pairs ($1, $2).
constexpr PgStatement kSelectEdgesOf{
    .name = "select_edges_of",
    .sql =
        "SELECT e.downstream_id, e.origin, e.upstream_id, e.downstream_column, e.upstream_column"
        " FROM unnest($1::bigint[], $2::text[]) AS s(d, o)"
        " JOIN lineage_edges e ON e.downstream_id = s.d AND e.origin = s.o"};
// Deletes the edges named by their primary key, in arrays; returns their upstreams.
constexpr PgStatement kDeleteEdges{
    .name = "delete_edges",
    .sql =
        "DELETE FROM lineage_edges e"
        " USING unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[])"
        "       AS k(d, u, dc, uc, o)"
        " WHERE e.downstream_id = k.d AND e.upstream_id = k.u AND e.downstream_column = k.dc"
        "   AND e.upstream_column = k.uc AND e.origin = k.o"
        " RETURNING e.upstream_id"};
// Edges in arrays (no primary key twice); returns the upstreams of those new or changed.
constexpr PgStatement kUpsertEdges{
    .name = "upsert_edges",
    .sql =
        "INSERT INTO lineage_edges AS e (downstream_id, upstream_id, downstream_column,"
        " upstream_column, origin, via_id, transformation)"
        " SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[],"
        "                      $6::bigint[], $7::text[])"
        " ON CONFLICT (downstream_id, upstream_id, downstream_column, upstream_column, origin)"
        " DO UPDATE SET via_id = excluded.via_id, transformation = excluded.transformation"
        " WHERE (e.via_id, e.transformation) IS DISTINCT FROM"
        "       (excluded.via_id, excluded.transformation)"
        " RETURNING e.upstream_id"};
#define TM_EDGE_SELECT                                                    \
  "SELECT u.namespace, u.name, d.namespace, d.name, e.upstream_column,"   \
  " e.downstream_column, v.namespace, v.name, e.origin, e.transformation" \
  " FROM lineage_edges e JOIN assets u ON u.asset_id = e.upstream_id"     \
  " JOIN assets d ON d.asset_id = e.downstream_id LEFT JOIN assets v ON v.asset_id = e.via_id"
constexpr PgStatement kSelectEdgesUp{
    .name = "select_edges_up",
    .sql = TM_EDGE_SELECT
    " WHERE d.key = $1 ORDER BY u.key, e.upstream_column, e.downstream_column, e.origin"};
constexpr PgStatement kSelectEdgesDown{
    .name = "select_edges_down",
    .sql = TM_EDGE_SELECT
    " WHERE u.key = $1 ORDER BY d.key, e.downstream_column, e.upstream_column, e.origin"};
#define TM_RUN_COLS                                                                      \
  "SELECT r.run_id, j.namespace, j.name, r.source, r.state, tm_micros(r.started_at),"    \
  " tm_micros(r.ended_at), tm_micros(r.nominal_time), r.parent_run_id, r.error_message," \
  " r.properties, tm_micros(r.event_time)"                                               \
  " FROM runs r LEFT JOIN assets j ON j.asset_id = r.job_id"
#define TM_RUN_SELECT TM_RUN_COLS " WHERE r.run_id = $1"
constexpr PgStatement kSelectRun{.name = "select_run", .sql = TM_RUN_SELECT};
// Locks the run so that concurrent reports of it merge one after the other.
constexpr PgStatement kSelectRunForUpdate{.name = "select_run_for_update",
                                          .sql = TM_RUN_SELECT " FOR UPDATE OF r"};
// kSelectRunForUpdate for the runs $1, locked in run id order.
constexpr PgStatement kSelectRunsForUpdate{
    .name = "select_runs_for_update",
    .sql = TM_RUN_COLS " WHERE r.run_id = ANY($1::text[]) ORDER BY r.run_id FOR UPDATE OF r"};
// kInsertRun and kUpdateRun over arrays; the insert returns the runs it created.
#define TM_RUN_ARRAYS                                                                         \
  " FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]," \
  "             $7::bigint[], $8::text[], $9::text[], $10::text[], $11::bigint[])"             \
  "      AS u(id, job, src, st, sa, ea, nt, parent, err, p, et)"
constexpr PgStatement kInsertRuns{
    .name = "insert_runs",
    .sql =
        "INSERT INTO runs (run_id, job_id, source, state, started_at, ended_at, nominal_time,"
        " parent_run_id, error_message, properties, event_time)"
        " SELECT id, job, src, st, tm_timestamp(sa), tm_timestamp(ea), tm_timestamp(nt), parent,"
        "        err, p::jsonb, tm_timestamp(et)" TM_RUN_ARRAYS
        " ON CONFLICT (run_id) DO NOTHING RETURNING run_id"};
constexpr PgStatement kUpdateRuns{
    .name = "update_runs",
    .sql =
        "UPDATE runs r SET job_id = u.job, source = u.src, state = u.st,"
        " started_at = tm_timestamp(u.sa), ended_at = tm_timestamp(u.ea),"
        " nominal_time = tm_timestamp(u.nt), parent_run_id = u.parent, error_message = u.err,"
        " properties = u.p::jsonb, event_time = tm_timestamp(u.et)" TM_RUN_ARRAYS
        " WHERE r.run_id = u.id"};
// kInsertRun and kUpdateRun take the same parameters, in the order of the runs table.
constexpr PgStatement kInsertRun{
    .name = "insert_run",
    .sql =
        "INSERT INTO runs (run_id, job_id, source, state, started_at, ended_at, nominal_time,"
        " parent_run_id, error_message, properties, event_time)"
        " VALUES ($1, $2, $3, $4, tm_timestamp($5), tm_timestamp($6), tm_timestamp($7), $8, $9,"
        "         $10::jsonb, tm_timestamp($11))"
        " ON CONFLICT (run_id) DO NOTHING"};
constexpr PgStatement kUpdateRun{
    .name = "update_run",
    .sql =
        "UPDATE runs SET job_id = $2, source = $3, state = $4, started_at = tm_timestamp($5),"
        " ended_at = tm_timestamp($6), nominal_time = tm_timestamp($7), parent_run_id = $8,"
        " error_message = $9, properties = $10::jsonb, event_time = tm_timestamp($11)"
        " WHERE run_id = $1"};
constexpr PgStatement kRunsExisting{
    .name = "runs_existing", .sql = "SELECT run_id FROM runs WHERE run_id = ANY($1::text[])"};
// Node results in arrays (no (run, node) twice).
constexpr PgStatement kUpsertNodeResults{
    .name = "upsert_node_results",
    .sql =
        "INSERT INTO node_results (run_id, node_id, asset_id, node_kind, status, started_at,"
        " completed_at, execution_time_s, rows_affected, failures, message, thread, properties)"
        " SELECT r, n, a, k, st, tm_timestamp(sa), tm_timestamp(ca), x, ra, f, m, th, p::jsonb"
        " FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::bigint[],"
        "             $7::bigint[], $8::float8[], $9::bigint[], $10::bigint[], $11::text[],"
        "             $12::text[], $13::text[]) AS u(r, n, a, k, st, sa, ca, x, ra, f, m, th, p)"
        " ON CONFLICT (run_id, node_id) DO UPDATE SET asset_id = excluded.asset_id,"
        "   node_kind = excluded.node_kind, status = excluded.status,"
        "   started_at = excluded.started_at, completed_at = excluded.completed_at,"
        "   execution_time_s = excluded.execution_time_s, rows_affected = excluded.rows_affected,"
        "   failures = excluded.failures, message = excluded.message, thread = excluded.thread,"
        "   properties = excluded.properties"};
#define TM_RESULT_COLS                                                                        \
  "n.run_id, n.node_id, a.namespace, a.name, n.node_kind, n.status, tm_micros(n.started_at)," \
  " tm_micros(n.completed_at), n.execution_time_s, n.rows_affected, n.failures, n.message,"   \
  " n.thread, n.properties"
constexpr PgStatement kSelectNodeResults{
    .name = "select_node_results",
    .sql = "SELECT " TM_RESULT_COLS
           " FROM node_results n LEFT JOIN assets a USING (asset_id)"
           " WHERE n.run_id = $1 ORDER BY n.node_id"};
// The *OfMany reads of ReadDetectionInputs: one asset key per element of $1, k.ord numbering
// them from 1; rows in key order.
#define TM_KEYS_OF_MANY \
  " FROM unnest($1::text[]) WITH ORDINALITY AS k(key, ord) JOIN assets a ON a.key = k.key"
constexpr PgStatement kSelectRecentResultsOfMany{
    .name = "select_recent_results_of_many",
    .sql =
        "SELECT " TM_RESULT_COLS ", k.ord" TM_KEYS_OF_MANY
        " CROSS JOIN LATERAL (SELECT * FROM node_results r WHERE r.asset_id = a.asset_id"
        "  ORDER BY r.completed_at DESC NULLS LAST, r.run_id DESC LIMIT $2) n"
        " ORDER BY k.ord, n.completed_at DESC NULLS LAST, n.run_id DESC"};
constexpr PgStatement kSelectRecentResults{
    .name = "select_recent_results",
    .sql =
        "SELECT " TM_RESULT_COLS
        " FROM node_results n JOIN assets a USING (asset_id)"
        " WHERE n.asset_id = $1 ORDER BY n.completed_at DESC NULLS LAST, n.run_id DESC LIMIT $2"};
// Set-based: one statement per kPointsPerStatement points, as arrays. Measured with 1M points
// on a 2-vCPU VM, three ways took the same ~7 s: this; COPY into a temporary table, then
// INSERT ... SELECT ... ON CONFLICT; and a plain INSERT anti-joined against the table under
// per-asset advisory locks. PostgreSQL's per-row heap and index work dominates (the same INSERT
// fed by generate_series inside the server takes 6-8 s), so the simplest of the three stays.
constexpr PgStatement kInsertPoints{
    .name = "insert_points",
    .sql =
        "INSERT INTO metric_points (asset_id, metric, ts, value)"
        " SELECT a, m, tm_timestamp(t), v"
        " FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::float8[]) AS u(a, m, t, v)"
        " ON CONFLICT DO NOTHING"};
constexpr PgStatement kSelectSeries{
    .name = "select_series",
    .sql =
        "SELECT tm_micros(ts), value FROM metric_points WHERE asset_id = $1 AND metric = $2"
        " AND ts >= tm_timestamp($3) AND ts < tm_timestamp($4) ORDER BY ts"};
// kSelectSeries for several ranges (asset id, metric, from, to): r.ord numbers them from 1.
constexpr PgStatement kSelectSeriesMany{
    .name = "select_series_many",
    .sql =
        "SELECT r.ord, tm_micros(p.ts), p.value"
        " FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[])"
        "      WITH ORDINALITY AS r(asset_id, metric, t0, t1, ord)"
        " JOIN metric_points p ON p.asset_id = r.asset_id AND p.metric = r.metric"
        "  AND p.ts >= tm_timestamp(r.t0) AND p.ts < tm_timestamp(r.t1)"
        " ORDER BY r.ord, p.ts"};
// How many ranges one kSelectSeriesMany reads.
constexpr size_t kSeriesPerStatement = 2000;
// DISTINCT would read every point of the asset; this loose index scan reads one index entry
// per metric name.
constexpr PgStatement kSelectMetrics{
    .name = "select_metrics",
    .sql =
        "WITH RECURSIVE m(metric) AS ("
        "  (SELECT metric FROM metric_points WHERE asset_id = $1 ORDER BY metric LIMIT 1)"
        "  UNION ALL"
        "  SELECT (SELECT p.metric FROM metric_points p WHERE p.asset_id = $1"
        "          AND p.metric > m.metric ORDER BY p.metric LIMIT 1)"
        "  FROM m WHERE m.metric IS NOT NULL)"
        " SELECT metric FROM m WHERE metric IS NOT NULL"};
// kSelectMetrics' loose index scan, once per key.
constexpr PgStatement kSelectMetricsOfMany{
    .name = "select_metrics_of_many",
    .sql =
        "SELECT k.ord, m.metric" TM_KEYS_OF_MANY
        " CROSS JOIN LATERAL ("
        "  WITH RECURSIVE m(metric) AS ("
        "   (SELECT metric FROM metric_points WHERE asset_id = a.asset_id ORDER BY metric LIMIT 1)"
        "   UNION ALL"
        "   SELECT (SELECT p.metric FROM metric_points p WHERE p.asset_id = a.asset_id"
        "           AND p.metric > m.metric ORDER BY p.metric LIMIT 1)"
        "   FROM m WHERE m.metric IS NOT NULL)"
        "  SELECT metric FROM m WHERE metric IS NOT NULL) m"
        " ORDER BY k.ord, m.metric"};
constexpr PgStatement kSelectSnapshotsOfMany{
    .name = "select_snapshots_of_many",
    .sql =
        "SELECT k.ord, tm_micros(s.observed_at), s.source, s.columns" TM_KEYS_OF_MANY
        " JOIN schema_snapshots s ON s.asset_id = a.asset_id ORDER BY k.ord, s.observed_at"};
// For each (asset $1, time $2): the fingerprint of the asset's latest snapshot at or before that
// time, with the ordinality (from 1) of the pair; pairs without one are left out.
constexpr PgStatement kLatestSnapshots{
    .name = "latest_snapshots",
    .sql =
        "SELECT u.ord, s.fingerprint"
        " FROM unnest($1::bigint[], $2::bigint[]) WITH ORDINALITY AS u(id, obs, ord)"
        " CROSS JOIN LATERAL (SELECT fingerprint FROM schema_snapshots"
        "   WHERE asset_id = u.id AND observed_at <= tm_timestamp(u.obs)"
        "   ORDER BY observed_at DESC LIMIT 1) s"};
constexpr PgStatement kInsertSnapshots{
    .name = "insert_snapshots",
    .sql =
        "INSERT INTO schema_snapshots (asset_id, observed_at, source, fingerprint, columns)"
        " SELECT id, tm_timestamp(obs), src, f, c::jsonb"
        " FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[])"
        "      AS u(id, obs, src, f, c)"
        " ON CONFLICT DO NOTHING"};
constexpr PgStatement kSelectSnapshots{
    .name = "select_snapshots",
    .sql =
        "SELECT tm_micros(observed_at), source, columns FROM schema_snapshots WHERE asset_id = $1"
        " ORDER BY observed_at"};
// The incident, anomaly and alert writes are set-based like kInsertPoints: one statement per
// kRowsPerStatement rows, as arrays (grouping writes thousands at once).
// The roots incidents have before an upsert moves them (their health changes too).
constexpr PgStatement kSelectIncidentRoots{
    .name = "select_incident_roots",
    .sql = "SELECT root_id FROM incidents WHERE id = ANY($1::text[]) AND root_id IS NOT NULL"};
constexpr PgStatement kUpsertIncidents{
    .name = "upsert_incidents",
    .sql =
        "INSERT INTO incidents (id, root_id, state, severity, title, opened_at, updated_at,"
        " acknowledged_at, resolved_at, properties)"
        " SELECT id, root_id, state, severity, title, tm_timestamp(opened), tm_timestamp(updated),"
        "        tm_timestamp(acked), tm_timestamp(resolved), props::jsonb"
        " FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::bigint[],"
        "             $7::bigint[], $8::bigint[], $9::bigint[], $10::text[])"
        "      AS x(id, root_id, state, severity, title, opened, updated, acked, resolved, props)"
        " ON CONFLICT (id) DO UPDATE SET root_id = excluded.root_id, state = excluded.state,"
        "   severity = excluded.severity, title = excluded.title, opened_at = excluded.opened_at,"
        "   updated_at = excluded.updated_at, acknowledged_at = excluded.acknowledged_at,"
        "   resolved_at = excluded.resolved_at, properties = excluded.properties"};
constexpr size_t kRowsPerStatement = 5000;
#define TM_INCIDENT_SELECT                                                                  \
  "SELECT i.id, r.namespace, r.name, i.state, i.severity, i.title, tm_micros(i.opened_at)," \
  " tm_micros(i.updated_at), tm_micros(i.acknowledged_at), tm_micros(i.resolved_at),"       \
  " i.properties FROM incidents i LEFT JOIN assets r ON r.asset_id = i.root_id"
constexpr PgStatement kSelectIncident{.name = "select_incident",
                                      .sql = TM_INCIDENT_SELECT " WHERE i.id = $1"};
constexpr PgStatement kSelectIncidents{
    .name = "select_incidents",
    .sql = TM_INCIDENT_SELECT
    " WHERE ($1::text IS NULL OR i.state = $1) ORDER BY i.opened_at DESC, i.id LIMIT $2"};
// The first of the (id, asset_id) pairs whose id another asset's anomaly has.
constexpr PgStatement kAnomalyIdsTaken{
    .name = "anomaly_ids_taken",
    .sql =
        "SELECT n.id FROM unnest($1::text[], $2::bigint[]) AS n(id, asset_id)"
        " JOIN anomalies x ON x.id = n.id AND x.asset_id <> n.asset_id LIMIT 1"};
constexpr PgStatement kUpsertAnomalies{
    .name = "upsert_anomalies",
    .sql =
        "INSERT INTO anomalies (asset_id, id, metric, detector, ts, value, expected_low,"
        " expected_high, score, direction, severity, train_start, train_end, train_size,"
        " seasonality, explanation, detected_at, incident_id)"
        " SELECT asset_id, id, metric, detector, tm_timestamp(ts), value, low, high, score,"
        "        direction, severity, tm_timestamp(t0), tm_timestamp(t1), size, seasonality,"
        "        explanation, tm_timestamp(detected), incident"
        " FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[],"
        "             $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::text[],"
        "             $11::text[], $12::bigint[], $13::bigint[], $14::bigint[], $15::text[],"
        "             $16::text[], $17::bigint[], $18::text[])"
        "      AS x(asset_id, id, metric, detector, ts, value, low, high, score, direction,"
        "           severity, t0, t1, size, seasonality, explanation, detected, incident)"
        " ON CONFLICT (asset_id, id) DO UPDATE SET metric = excluded.metric,"
        "   detector = excluded.detector, ts = excluded.ts, value = excluded.value,"
        "   expected_low = excluded.expected_low, expected_high = excluded.expected_high,"
        "   score = excluded.score, direction = excluded.direction, severity = excluded.severity,"
        "   train_start = excluded.train_start, train_end = excluded.train_end,"
        "   train_size = excluded.train_size, seasonality = excluded.seasonality,"
        "   explanation = excluded.explanation, detected_at = excluded.detected_at,"
        "   incident_id = excluded.incident_id"};
#define TM_ANOMALY_COLS                                                               \
  "a.namespace, a.name, x.id, x.metric, x.detector, tm_micros(x.ts), x.value,"          \
  " x.expected_low, x.expected_high, x.score, x.direction, x.severity,"                 \
  " tm_micros(x.train_start), tm_micros(x.train_end), x.train_size, x.seasonality,"     \
  " x.explanation, tm_micros(x.detected_at), x.incident_id"
#define TM_SELECT_ANOMALIES \
  "SELECT " TM_ANOMALY_COLS " FROM anomalies x JOIN assets a USING (asset_id)"
#define TM_ANOMALY_FILTERS                                                                \
  " AND ($2::bigint IS NULL OR x.ts >= tm_timestamp($2)) AND ($3 = '' OR x.incident_id = $3)" \
  " ORDER BY x.ts DESC, x.id LIMIT $4"
constexpr PgStatement kSelectAnomalies{
    .name = "select_anomalies",
    .sql = TM_SELECT_ANOMALIES " WHERE $1::bigint IS NULL" TM_ANOMALY_FILTERS};
// One asset's: a statement of its own, so that its generic plan uses the asset's index (a
// plan for "$1 IS NULL OR x.asset_id = $1" scans every anomaly; detection asks per asset).
constexpr PgStatement kSelectAssetAnomalies{
    .name = "select_asset_anomalies",
    .sql = TM_SELECT_ANOMALIES " WHERE x.asset_id = $1::bigint" TM_ANOMALY_FILTERS};
// The anomalies of many assets since $2 (ReadDetectionInputs), k.ord last.
constexpr PgStatement kSelectAnomaliesOfMany{
    .name = "select_anomalies_of_many",
    .sql = "SELECT " TM_ANOMALY_COLS ", k.ord" TM_KEYS_OF_MANY
           " JOIN anomalies x ON x.asset_id = a.asset_id AND x.ts >= tm_timestamp($2)"
           " ORDER BY k.ord, x.ts DESC, x.id"};
#undef TM_ANOMALY_FILTERS
#undef TM_SELECT_ANOMALIES
#undef TM_ANOMALY_COLS
#undef TM_KEYS_OF_MANY
// Skipped on any conflict: a stored idempotency key (or alert id) means "already queued".
constexpr PgStatement kInsertAlerts{
    .name = "insert_alerts",
    .sql =
        "INSERT INTO alerts (id, incident_id, channel, event, payload, idempotency_key, state,"
        " attempts, created_at, next_attempt_at)"
        " SELECT id, incident, channel, event, payload::jsonb, idempotency_key, 'pending', 0,"
        "        tm_timestamp(created), tm_timestamp(due)"
        " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
        "             $7::bigint[], $8::bigint[])"
        "      AS x(id, incident, channel, event, payload, idempotency_key, created, due)"
        " ON CONFLICT DO NOTHING"};
#define TM_ALERT_COLS                                                               \
  "a.id, a.incident_id, a.channel, a.event, a.payload, a.idempotency_key, a.state," \
  " a.attempts, tm_micros(a.created_at), tm_micros(a.next_attempt_at),"             \
  " tm_micros(a.delivered_at), a.last_error, a.lease_owner, tm_micros(a.lease_expires_at)"
// SKIP LOCKED: concurrent claimers each take different due rows instead of queueing behind
// one another; FOR UPDATE re-checks the lease on the row's newest version, so a row leased by
// a transaction that committed meanwhile is not taken again.
constexpr PgStatement kClaimAlerts{
    .name = "claim_alerts",
    .sql =
        "WITH due AS ("
        "  SELECT id FROM alerts WHERE state = 'pending' AND next_attempt_at <= tm_timestamp($2)"
        "    AND (lease_owner = '' OR lease_expires_at <= tm_timestamp($2))"
        "  ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED)"
        " UPDATE alerts a SET lease_owner = $1, lease_expires_at = tm_timestamp($3)"
        " FROM due WHERE a.id = due.id RETURNING " TM_ALERT_COLS};
constexpr PgStatement kAlertDelivered{
    .name = "alert_delivered",
    .sql =
        "UPDATE alerts SET state = 'delivered', delivered_at = tm_timestamp($3),"
        " attempts = attempts + 1, lease_owner = '', lease_expires_at = NULL, last_error = ''"
        " WHERE id = $1 AND lease_owner = $2 AND state = 'pending'"};
constexpr PgStatement kAlertFailed{
    .name = "alert_failed",
    .sql =
        "UPDATE alerts SET state = CASE WHEN $5 THEN 'dead' ELSE 'pending' END,"
        " attempts = attempts + 1, last_error = $3, next_attempt_at = tm_timestamp($4),"
        " lease_owner = '', lease_expires_at = NULL"
        " WHERE id = $1 AND lease_owner = $2 AND state = 'pending'"};
constexpr PgStatement kAlertExists{.name = "alert_exists",
                                   .sql = "SELECT 1 FROM alerts WHERE id = $1"};
constexpr PgStatement kSelectAlerts{.name = "select_alerts",
                                    .sql = "SELECT " TM_ALERT_COLS
                                           " FROM alerts a WHERE ($1::text IS NULL OR a.state = $1)"
                                           " ORDER BY a.created_at, a.id LIMIT $2"};
constexpr PgStatement kUpsertCheckpoint{
    .name = "upsert_checkpoint",
    .sql =
        "INSERT INTO checkpoints (scope, key, value, updated_at)"
        " VALUES ($1, $2, $3, tm_timestamp($4))"
        " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value,"
        "   updated_at = excluded.updated_at"};
constexpr PgStatement kCreateCheckpoint{
    .name = "create_checkpoint",
    .sql = "INSERT INTO checkpoints (scope, key, value, updated_at)"
           " VALUES ($1, $2, '', tm_timestamp($3)) ON CONFLICT (scope, key) DO NOTHING"};
constexpr PgStatement kLockCheckpoint{
    .name = "lock_checkpoint",
    .sql = "SELECT value FROM checkpoints WHERE scope = $1 AND key = $2 FOR UPDATE"};
#define TM_CHECKPOINT_SELECT "SELECT scope, key, value, tm_micros(updated_at) FROM checkpoints"
constexpr PgStatement kSelectCheckpoint{
    .name = "select_checkpoint", .sql = TM_CHECKPOINT_SELECT " WHERE scope = $1 AND key = $2"};
constexpr PgStatement kSelectCheckpoints{
    .name = "select_checkpoints", .sql = TM_CHECKPOINT_SELECT " WHERE scope = $1 ORDER BY key"};
// The OpenLineage event log (migration 4). The checkpoint's value is the last projected id.
#define TM_PROJECTED_THROUGH                                                          \
  "coalesce((SELECT value::bigint FROM checkpoints WHERE scope = $1 AND key = $2"       \
  " AND value <> ''), 0)"
constexpr PgStatement kAppendLineageEvents{
    .name = "append_lineage_events",
    .sql = "INSERT INTO lineage_events (received_at, event_time, run_id, body)"
           " SELECT tm_timestamp(r), tm_timestamp(t), id, b"
           " FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[])"
           "   WITH ORDINALITY AS u(r, t, id, b, ord) ORDER BY ord"
           " RETURNING id"};
constexpr PgStatement kReadLineageEvents{
    .name = "read_lineage_events",
    .sql = "SELECT id, tm_micros(received_at), run_id, tm_micros(event_time), body"
           " FROM lineage_events WHERE id > $1 ORDER BY id LIMIT $2"};
constexpr PgStatement kLineageLogStatus{
    .name = "lineage_log_status",
    .sql = "WITH p AS (SELECT " TM_PROJECTED_THROUGH " AS through)"
           " SELECT p.through, (SELECT coalesce(max(id), 0) FROM lineage_events),"
           "   (SELECT count(*) FROM lineage_events WHERE id > p.through),"
           "   (SELECT tm_micros(min(received_at)) FROM lineage_events WHERE id > p.through)"
           " FROM p"};
constexpr PgStatement kPruneLineageEvents{
    .name = "prune_lineage_events",
    .sql = "DELETE FROM lineage_events WHERE id <= " TM_PROJECTED_THROUGH
           " AND received_at < tm_timestamp($3)"};
constexpr PgStatement kCountAlerts{
    .name = "count_alerts", .sql = "SELECT state, count(*) FROM alerts GROUP BY state"};
constexpr PgStatement kCounts{
    .name = "counts",
    .sql =
        "SELECT (SELECT count(*) FROM assets), (SELECT count(*) FROM columns),"
        " (SELECT count(*) FROM lineage_edges), (SELECT count(*) FROM owners),"
        " (SELECT count(*) FROM runs), (SELECT count(*) FROM node_results),"
        " (SELECT count(*) FROM metric_points), (SELECT count(*) FROM schema_snapshots),"
        " (SELECT count(*) FROM anomalies), (SELECT count(*) FROM incidents),"
        " (SELECT count(*) FROM alerts)"};

// Not prepared: they run before (or while) the tables they name exist.
constexpr char kMigrationsTableExists[] = "SELECT to_regclass('schema_migrations') IS NOT NULL";
constexpr char kMaxVersion[] = "SELECT coalesce(max(version), 0) FROM schema_migrations";
constexpr char kRecordMigration[] =
    "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, tm_timestamp($2))";

// Rows per INSERT of metric points: big enough to amortise the round trip, small enough to
// keep each statement's parameters a few hundred kilobytes.
constexpr size_t kPointsPerStatement = 10000;

#undef TM_ASSET_COLS
#undef TM_OWNER_COLS
#undef TM_EDGE_SELECT
#undef TM_RUN_SELECT
#undef TM_RESULT_COLS
#undef TM_INCIDENT_SELECT
#undef TM_ALERT_COLS
#undef TM_CHECKPOINT_SELECT

// ---- errors ---------------------------------------------------------------------------------

// The first line of a libpqxx message ("ERROR:  relation ... does not exist"), without the
// query excerpt that follows it.
std::string FirstLine(std::string_view what) {
  std::string_view line = what.substr(0, what.find('\n'));
  while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
    line.remove_suffix(1);
  }
  return std::string(line);
}

// Converts an exception thrown by libpqxx (or anything under it) into a Status naming
// `context`, the operation that failed. libpq's messages never contain the password.
Status PgError(std::string_view context, const std::exception& e) {
  const std::string what = FirstLine(e.what());
  auto msg = [&](std::string_view detail) { return std::string(detail) + ": " + what; };
  if (dynamic_cast<const pqxx::in_doubt_error*>(&e)) {
    return Status::Unavailable(msg("connection lost during commit; the outcome is unknown"),
                               std::string(context));
  }
  if (dynamic_cast<const pqxx::broken_connection*>(&e)) {
    return Status::Unavailable(msg("database connection failed"), std::string(context));
  }
  // In libpqxx 6.4 these (SQLSTATE class 40) are not sql_errors.
  if (dynamic_cast<const pqxx::statement_completion_unknown*>(&e)) {
    return Status::Unavailable(msg("statement outcome unknown"), std::string(context));
  }
  if (dynamic_cast<const pqxx::transaction_rollback*>(&e)) {
    return Status::Unavailable(msg("transaction aborted by the database (deadlock or"
                                   " serialization failure); retrying may succeed"),
                               std::string(context));
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string state = sql->sqlstate();
    const std::string_view cls = std::string_view(state).substr(0, 2);
    auto with_state = [&](std::string_view detail) {
      return std::string(detail) + " (SQLSTATE " + state + "): " + what;
    };
    // 08: connection exception; 57P0x: server shutting down or starting; 53: out of
    // resources (connections, memory, disk); 40: serialization failure or deadlock. All are
    // transient: the same call may succeed later.
    if (cls == "08" || cls == "53" || cls == "40" || state.rfind("57P0", 0) == 0) {
      return Status::Unavailable(with_state("database unavailable"), std::string(context));
    }
    // 22: data exception (a value out of range, malformed JSON); 23: integrity constraint.
    if (cls == "22" || cls == "23") {
      return Status::InvalidArgument(with_state("rejected by the database"), std::string(context));
    }
    return Status::Internal(with_state("database error"), std::string(context));
  }
  return Status::Internal(msg("unexpected error"), std::string(context));
}

// ---- parameters -----------------------------------------------------------------------------

// libpqxx 6.4 has no std::optional parameters, but sends a null `const char*` as NULL. Holds
// an optional value's text for the duration of one exec_prepared call:
// `tx.Exec(stmt, Nullable(x).get())`.
class Nullable {
 public:
  template <typename T>
  explicit Nullable(const std::optional<T>& v) {
    if (v) text_ = pqxx::to_string(*v);
  }
  const char* get() const { return text_ ? text_->c_str() : nullptr; }

 private:
  std::optional<std::string> text_;
};

std::optional<std::int64_t> OptMicros(const std::optional<Timestamp>& t) {
  if (!t) return std::nullopt;
  return model::ToMicros(*t);
}

std::int64_t Limit(size_t n) {
  return static_cast<std::int64_t>(
      std::min<size_t>(n, static_cast<size_t>(std::numeric_limits<std::int64_t>::max())));
}

// Array literals for `$n::text[]`, `$n::bigint[]`, `$n::float8[]` parameters ("{...}").
void AppendArrayElement(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
}
void AppendArrayElement(std::string& out, std::int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}
void AppendArrayElement(std::string& out, std::optional<std::int64_t> v) {
  if (v) {
    AppendArrayElement(out, *v);
  } else {
    out += "NULL";
  }
}
// Shortest text that reads back as the same double. REQUIRES: finite (Write checks).
void AppendArrayElement(std::string& out, double v) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}
void AppendArrayElement(std::string& out, std::optional<double> v) {
  if (v) {
    AppendArrayElement(out, *v);
  } else {
    out += "NULL";
  }
}
void AppendArrayElement(std::string& out, std::optional<bool> v) { out += !v ? "NULL" : *v ? "t" : "f"; }

template <typename Range, typename Project>
std::string ArrayLiteral(const Range& range, Project project) {
  std::string out = "{";
  for (const auto& item : range) {
    if (out.size() > 1) out += ',';
    AppendArrayElement(out, project(item));
  }
  out += '}';
  return out;
}

template <typename Range>
std::string ArrayLiteral(const Range& range) {
  return ArrayLiteral(range, [](const auto& v) -> decltype(auto) { return v; });
}

// ---- row readers ----------------------------------------------------------------------------

// A text[] of the keys' string forms.
std::string KeyArray(const std::vector<AssetKey>& keys) {
  return ArrayLiteral(keys, [](const AssetKey& k) { return k.ToString(); });
}

// The 0-based index of a WITH ORDINALITY column (which counts from 1) into `size` inputs.
size_t Ordinal(const pqxx::field& f, size_t size) {
  const std::int64_t ord = f.as<std::int64_t>();
  if (ord < 1 || static_cast<std::uint64_t>(ord) > size) {
    throw std::out_of_range("ordinality " + std::to_string(ord) + " outside 1.." +
                            std::to_string(size));
  }
  return static_cast<size_t>(ord - 1);
}

std::string Text(const pqxx::field& f) {
  return f.is_null() ? std::string() : std::string(f.c_str(), f.size());
}
// Valid while the row's result lives.
std::string_view TextView(const pqxx::field& f) {
  return f.is_null() ? std::string_view() : std::string_view(f.c_str(), f.size());
}
std::int64_t Int(const pqxx::field& f) { return f.as<std::int64_t>(); }
double Real(const pqxx::field& f) { return f.as<double>(); }
Timestamp Time(const pqxx::field& f) { return model::FromMicros(Int(f)); }
std::optional<Timestamp> OptTime(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return Time(f);
}
std::optional<std::int64_t> OptInt(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return Int(f);
}
std::optional<double> OptReal(const pqxx::field& f) {
  if (f.is_null()) return std::nullopt;
  return Real(f);
}
// The key in columns `col` (namespace) and `col + 1` (name); empty when NULL (no asset).
AssetKey KeyAt(const pqxx::row& r, int col) {
  if (r[col].is_null()) return {};
  return AssetKey{Text(r[col]), Text(r[col + 1])};
}

// jsonb comes back reformatted ({"a": 1}); SqliteStore returns what NormalizeJsonObject
// produced ({"a":1}). Re-serialising compactly makes both stores return the same text.
std::string CompactJson(const pqxx::field& f) {
  auto j = nlohmann::json::parse(f.c_str(), nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? Text(f) : j.dump();
}

std::vector<std::string> StringsFromJson(const pqxx::field& f) {
  auto j = nlohmann::json::parse(f.c_str(), nullptr, /*allow_exceptions=*/false);
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& s : j) {
    if (s.is_string()) out.push_back(s.get<std::string>());
  }
  return out;
}

// Enum columns hold names this binary wrote (a new name would come with a new schema
// version), so an unknown one falls back to the model's default instead of failing a read.
model::Asset ReadAsset(const pqxx::row& r) {
  model::Asset a;
  a.key = KeyAt(r, 0);
  a.kind = model::ParseAssetKind(r[2].c_str()).value_or(model::AssetKind::kDataset);
  a.name = Text(r[3]);
  a.description = Text(r[4]);
  a.source = Text(r[5]);
  a.database = Text(r[6]);
  a.schema = Text(r[7]);
  a.status = model::ParseAssetStatus(r[8].c_str()).value_or(model::AssetStatus::kActive);
  a.properties = CompactJson(r[9]);
  a.created_at = Time(r[10]);
  a.updated_at = Time(r[11]);
  a.tags = StringsFromJson(r[12]);
  a.aliases = StringsFromJson(r[13]);
  return a;
}

model::Column ReadColumn(const pqxx::row& r) {
  model::Column c;
  c.name = Text(r[0]);
  c.position = r[1].as<int>();
  c.data_type = Text(r[2]);
  c.description = Text(r[3]);
  if (!r[4].is_null()) c.nullable = r[4].as<bool>();
  c.tags = StringsFromJson(r[5]);
  c.properties = CompactJson(r[6]);
  return c;
}

model::Owner ReadOwner(const pqxx::row& r) {
  model::Owner o;
  o.id = Text(r[0]);
  o.kind = model::ParseOwnerKind(r[1].c_str()).value_or(model::OwnerKind::kUser);
  o.name = Text(r[2]);
  o.email = Text(r[3]);
  o.channel = Text(r[4]);
  o.properties = CompactJson(r[5]);
  return o;
}

model::LineageEdge ReadEdge(const pqxx::row& r) {
  model::LineageEdge e;
  e.upstream = KeyAt(r, 0);
  e.downstream = KeyAt(r, 2);
  e.upstream_column = Text(r[4]);
  e.downstream_column = Text(r[5]);
  e.via = KeyAt(r, 6);
  e.origin = Text(r[8]);
  e.transformation = Text(r[9]);
  return e;
}

model::Run ReadRun(const pqxx::row& r) {
  model::Run run;
  run.id = Text(r[0]);
  run.job = KeyAt(r, 1);
  run.source = Text(r[3]);
  run.state = model::ParseRunState(r[4].c_str()).value_or(model::RunState::kOther);
  run.started_at = OptTime(r[5]);
  run.ended_at = OptTime(r[6]);
  run.nominal_time = OptTime(r[7]);
  run.parent_run_id = Text(r[8]);
  run.error_message = Text(r[9]);
  run.properties = CompactJson(r[10]);
  run.event_time = Time(r[11]);
  return run;
}

model::NodeResult ReadNodeResult(const pqxx::row& r) {
  model::NodeResult n;
  n.run_id = Text(r[0]);
  n.node_id = Text(r[1]);
  n.asset = KeyAt(r, 2);
  n.node_kind = Text(r[4]);
  n.status = Text(r[5]);
  n.started_at = OptTime(r[6]);
  n.completed_at = OptTime(r[7]);
  n.execution_time_s = OptReal(r[8]);
  if (auto v = OptInt(r[9])) n.rows_affected = *v;
  if (auto v = OptInt(r[10])) n.failures = *v;
  n.message = Text(r[11]);
  n.thread = Text(r[12]);
  n.properties = CompactJson(r[13]);
  return n;
}

model::Incident ReadIncident(const pqxx::row& r) {
  model::Incident i;
  i.id = Text(r[0]);
  i.root = KeyAt(r, 1);
  i.state = model::ParseIncidentState(r[3].c_str()).value_or(model::IncidentState::kOpen);
  i.severity = model::ParseSeverity(r[4].c_str()).value_or(model::Severity::kWarn);
  i.title = Text(r[5]);
  i.opened_at = Time(r[6]);
  i.updated_at = Time(r[7]);
  i.acknowledged_at = OptTime(r[8]);
  i.resolved_at = OptTime(r[9]);
  i.properties = CompactJson(r[10]);
  return i;
}

model::Anomaly ReadAnomaly(const pqxx::row& r) {
  model::Anomaly a;
  a.asset = KeyAt(r, 0);
  a.id = Text(r[2]);
  a.metric = Text(r[3]);
  a.detector = Text(r[4]);
  a.ts = Time(r[5]);
  a.value = Real(r[6]);
  a.expected_low = Real(r[7]);
  a.expected_high = Real(r[8]);
  a.score = Real(r[9]);
  a.direction = Text(r[10]);
  a.severity = model::ParseSeverity(r[11].c_str()).value_or(model::Severity::kWarn);
  a.train_start = OptTime(r[12]);
  a.train_end = OptTime(r[13]);
  a.train_size = r[14].as<int>();
  a.seasonality = Text(r[15]);
  a.explanation = Text(r[16]);
  a.detected_at = Time(r[17]);
  a.incident_id = Text(r[18]);
  return a;
}

model::Alert ReadAlert(const pqxx::row& r) {
  model::Alert a;
  a.id = Text(r[0]);
  a.incident_id = Text(r[1]);
  a.channel = Text(r[2]);
  a.event = Text(r[3]);
  a.payload = CompactJson(r[4]);
  a.idempotency_key = Text(r[5]);
  a.state = model::ParseAlertState(r[6].c_str()).value_or(model::AlertState::kPending);
  a.attempts = r[7].as<int>();
  a.created_at = Time(r[8]);
  a.next_attempt_at = Time(r[9]);
  a.delivered_at = OptTime(r[10]);
  a.last_error = Text(r[11]);
  a.lease_owner = Text(r[12]);
  a.lease_expires_at = OptTime(r[13]);
  return a;
}

Checkpoint ReadCheckpoint(const pqxx::row& r) {
  return Checkpoint{Text(r[0]), Text(r[1]), Text(r[2]), Time(r[3])};
}

template <typename T, typename Reader>
std::vector<T> ReadAll(const pqxx::result& rows, Reader&& read) {
  std::vector<T> out;
  out.reserve(rows.size());
  for (const pqxx::row& r : rows) out.push_back(read(r));
  return out;
}

// ---- transactions ---------------------------------------------------------------------------

// One transaction on one leased connection: runs prepared statements, preparing them on the
// connection on first use.
class PgTx {
 public:
  PgTx(PgConnection& conn, pqxx::transaction_base& txn) : conn_(conn), txn_(txn) {}

  template <typename... Args>
  pqxx::result Exec(const PgStatement& s, Args&&... args) {
    conn_.Prepare(s);
    return txn_.exec_prepared(s.name, std::forward<Args>(args)...);
  }
  // Runs `s` under a savepoint: false when it broke a unique constraint, which rolled back
  // the statement (and only it); the transaction goes on. (Plain SQL: libpqxx 6.4's
  // subtransaction leaves the transaction aborted after a failed prepared statement.)
  template <typename... Args>
  bool ExecUnlessDuplicate(const PgStatement& s, Args&&... args) {
    conn_.Prepare(s);
    txn_.exec("SAVEPOINT tm_unless_duplicate");
    try {
      txn_.exec_prepared(s.name, std::forward<Args>(args)...);
    } catch (const pqxx::unique_violation&) {
      txn_.exec("ROLLBACK TO SAVEPOINT tm_unless_duplicate");
      return false;
    }
    txn_.exec("RELEASE SAVEPOINT tm_unless_duplicate");
    return true;
  }
  // Asset ids found in this transaction, by key text. An asset keeps its id for good (rows
  // are marked removed, never deleted), so one found stays valid to the end of the
  // transaction: a ReadTogether that reads an asset five ways looks its id up once.
  std::optional<std::int64_t> KnownAssetId(const std::string& key) const {
    auto it = asset_ids_.find(key);
    return it == asset_ids_.end() ? std::nullopt : std::optional(it->second);
  }
  void RememberAssetId(std::string key, std::int64_t id) { asset_ids_.emplace(std::move(key), id); }

  // For statements that must not be prepared (see kMigrationsTableExists).
  pqxx::result ExecUnprepared(const std::string& sql) { return txn_.exec(sql); }
  template <typename... Args>
  pqxx::result ExecParams(const std::string& sql, Args&&... args) {
    return txn_.exec_params(sql, std::forward<Args>(args)...);
  }

 private:
  PgConnection& conn_;
  pqxx::transaction_base& txn_;
  std::unordered_map<std::string, std::int64_t> asset_ids_;
};

std::string Where(std::string_view kind, const AssetKey& key) {
  return std::string(kind) + "/" + key.ToString();
}

std::string ShortName(std::string_view name) {
  size_t dot = name.find_last_of("./");
  return std::string(dot == std::string_view::npos ? name : name.substr(dot + 1));
}

// ---- the batch writer -----------------------------------------------------------------------

// The writes of one kind in lock order: sorted by `key` (stably, so that of two writes to one
// row the later still wins). Two concurrent Writes touching the same rows then lock them in the
// same order instead of deadlocking, which PostgreSQL only resolves after deadlock_timeout (1 s)
// by aborting one of them. Points are left in batch order (sorting 1M of them costs more than
// the rare deadlock, which Transact retries).
template <typename T, typename Key>
std::vector<const T*> InLockOrder(const std::vector<T>& writes, Key key) {
  std::vector<const T*> out;
  out.reserve(writes.size());
  for (const T& w : writes) out.push_back(&w);
  std::stable_sort(out.begin(), out.end(),
                   [&](const T* a, const T* b) { return key(*a) < key(*b); });
  return out;
}

// Applies one WriteBatch inside an open transaction, in the order write_batch.h documents.
// Owns nothing; lives for one attempt at one Write.
class BatchWriter {
 public:
  BatchWriter(PgTx& tx, Timestamp now) : tx_(tx), now_(model::ToMicros(now)) {}

  // The store's deletion-index cache, read under the store's shared lock, and the terms this
  // batch added (merged by the store after commit).
  void SetTypoCache(const std::unordered_set<std::string>* known) { known_typos_ = known; }
  std::vector<std::string>& new_typos() { return new_typos_; }

  Result<WriteSummary> Apply(const WriteBatch& b) {
    for (auto* c : InLockOrder(b.expected_checkpoints(),
                               [](auto& c) { return std::tie(c.scope, c.key); })) {
      TM_RETURN_IF_ERROR(CheckExpected(*c));
    }
    for (auto* o : InLockOrder(b.owners(), [](auto& o) { return std::tie(o.id); })) {
      TM_RETURN_IF_ERROR(PutOwner(*o));
    }
    // Row sets, not rows: a statement per kind and chunk, whatever the batch's size.
    TM_RETURN_IF_ERROR(PutAssets(InLockOrder(b.assets(), [](auto& a) { return std::tie(a.key); })));
    TM_RETURN_IF_ERROR(
        PutAliases(InLockOrder(b.aliases(), [](auto& x) { return std::tie(x.first); })));
    TM_RETURN_IF_ERROR(
        SetColumns(InLockOrder(b.columns(), [](auto& c) { return std::tie(c.first); })));
    TM_RETURN_IF_ERROR(SetTags(InLockOrder(b.tags(), [](auto& t) { return std::tie(t.first); })));
    TM_RETURN_IF_ERROR(
        SetOwnerships(InLockOrder(b.ownerships(), [](auto& o) { return std::tie(o.first); })));
    for (auto* k : InLockOrder(b.removals(), [](auto& k) { return std::tie(k); })) {
      TM_RETURN_IF_ERROR(MarkRemoved(*k));
    }
    TM_RETURN_IF_ERROR(PutEdges(
        InLockOrder(b.edge_sets(), [](auto& s) { return std::tie(s.downstream, s.origin); }),
        b.edges()));
    TM_RETURN_IF_ERROR(PutRuns(InLockOrder(b.runs(), [](auto& r) { return std::tie(r.id); })));
    TM_RETURN_IF_ERROR(PutNodeResults(
        InLockOrder(b.node_results(), [](auto& n) { return std::tie(n.run_id, n.node_id); })));
    TM_RETURN_IF_ERROR(AppendPoints(b.points()));
    TM_RETURN_IF_ERROR(
        PutSnapshots(InLockOrder(b.snapshots(), [](auto& s) { return std::tie(s.asset); })));
    TM_RETURN_IF_ERROR(
        PutIncidents(InLockOrder(b.incidents(), [](auto& i) { return std::tie(i.id); })));
    TM_RETURN_IF_ERROR(PutAnomalies(
        InLockOrder(b.anomalies(), [](auto& a) { return std::tie(a.asset, a.id); })));
    TM_RETURN_IF_ERROR(EnqueueAlerts(
        InLockOrder(b.alerts(), [](auto& a) { return std::tie(a.idempotency_key); })));
    for (auto* c : InLockOrder(b.checkpoints(), [](auto& c) { return std::tie(c.scope, c.key); })) {
      TM_RETURN_IF_ERROR(PutCheckpoint(*c));
    }
    TM_RETURN_IF_ERROR(ReindexDirty());
    // Last, after the search log's lock: the row lock it takes is held only for the commit,
    // and is always taken after that lock, never before it.
    tx_.Exec(kBumpWriteGeneration);
    return summary_;
  }

 private:
  // Makes sure every key in `keys` has an id in ids_, creating placeholders of `kind` for the
  // ones not stored. Three statements at most, whatever the number of keys.
  Status EnsureAssets(const std::vector<const AssetKey*>& keys, std::string_view where,
                      model::AssetKind kind = model::AssetKind::kDataset,
                      std::string_view source = "") {
    std::vector<const AssetKey*> missing;
    std::set<std::string> seen;
    for (const AssetKey* key : keys) {
      if (key->name.empty()) {
        return Status::InvalidArgument("asset key has an empty name", std::string(where));
      }
      std::string text = key->ToString();
      if (ids_.count(text) || !seen.insert(text).second) continue;
      missing.push_back(key);
    }
    if (missing.empty()) return Status::Ok();
    auto key_text = [](const AssetKey* k) { return k->ToString(); };
    const std::string key_array = ArrayLiteral(missing, key_text);
    RememberIds(tx_.Exec(kSelectAssetIds, key_array));

    std::erase_if(missing, [&](const AssetKey* k) { return ids_.count(k->ToString()) > 0; });
    if (missing.empty()) return Status::Ok();
    pqxx::result created = tx_.Exec(
        kInsertPlaceholders, ArrayLiteral(missing, key_text),
        ArrayLiteral(missing, [](const AssetKey* k) -> std::string_view { return k->ns; }),
        ArrayLiteral(missing, [](const AssetKey* k) -> std::string_view { return k->name; }),
        ArrayLiteral(missing, [](const AssetKey* k) { return ShortName(k->name); }),
        std::string(model::AssetKindName(kind)), std::string(source), now_);
    summary_.assets_written += created.size();
    RememberIds(created);
    for (const pqxx::row& r : created) dirty_.insert(Int(r[1]));

    // A concurrent Write created some of them first: ON CONFLICT waited for it to commit, so
    // this statement (with a newer snapshot) sees them.
    if (static_cast<size_t>(created.size()) < missing.size()) {
      RememberIds(tx_.Exec(kSelectAssetIds, key_array));
    }
    for (const AssetKey* k : missing) {
      if (!ids_.count(k->ToString())) {
        return Status::Internal("asset '" + k->ToString() + "' vanished while being created",
                                std::string(where));
      }
    }
    return Status::Ok();
  }

  void RememberIds(const pqxx::result& rows) {
    for (const pqxx::row& r : rows) ids_[Text(r[0])] = Int(r[1]);
  }

  // The asset's id, creating a placeholder of `kind` when it is not stored yet.
  Result<std::int64_t> IdOf(const AssetKey& key, std::string_view where,
                            model::AssetKind kind = model::AssetKind::kDataset,
                            std::string_view source = "") {
    TM_RETURN_IF_ERROR(EnsureAssets({&key}, where, kind, source));
    return ids_.at(key.ToString());
  }

  Status PutOwner(const model::Owner& o) {
    std::string where = "owners/" + o.id;
    if (o.id.empty()) return Status::InvalidArgument("owner id is empty", "owners");
    TM_ASSIGN_OR_RETURN(std::string props, NormalizeJsonObject(o.properties, where));
    tx_.Exec(kUpsertOwner, o.id, std::string(model::OwnerKindName(o.kind)), o.name, o.email,
             o.channel, props);
    return Status::Ok();
  }

  // Of writes in lock order, the last of each run of equal keys: one row may be written only
  // once per set-based statement, and of two writes to it the later wins.
  template <typename T, typename Key>
  static std::vector<const T*> LastOfEach(std::vector<const T*> rows, Key key) {
    std::vector<const T*> out;
    out.reserve(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i + 1 < rows.size() && key(*rows[i]) == key(*rows[i + 1])) continue;
      out.push_back(rows[i]);
    }
    return out;
  }

  // Calls `fn(first, chunk)` for `rows` in chunks of kRowsPerStatement (`first`: the chunk's
  // offset in `rows`), until one returns an error.
  template <typename T, typename Fn>
  static Status ForChunks(const std::vector<const T*>& rows, Fn fn) {
    for (size_t begin = 0; begin < rows.size(); begin += kRowsPerStatement) {
      TM_RETURN_IF_ERROR(
          fn(begin, std::span<const T* const>(rows.data() + begin,
                                              std::min(kRowsPerStatement, rows.size() - begin))));
    }
    return Status::Ok();
  }

  // Runs `stmt` over `rows` in chunks, its parameters built by `arrays(first, chunk)`;
  // returns the rows it affected.
  template <typename T, typename Arrays>
  size_t ExecChunked(const PgStatement& stmt, const std::vector<const T*>& rows, Arrays arrays) {
    size_t affected = 0;
    (void)ForChunks(rows, [&](size_t first, std::span<const T* const> chunk) {
      affected +=
          std::apply([&](auto&&... a) { return tx_.Exec(stmt, a...); }, arrays(first, chunk))
              .affected_rows();
      return Status::Ok();
    });
    return affected;
  }

  // ArrayLiteral's projection of a row to one of its members.
  template <typename T, typename M>
  static auto Member(M T::*member) {
    return [member](const T* row) -> const M& { return row->*member; };
  }

  // The key of each pair-shaped write (key, value).
  static constexpr auto kFirst = [](const auto& pair) { return std::tie(pair.first); };

  // Ids of the assets of pair-shaped writes, created as placeholders when missing.
  template <typename Pair>
  Result<std::vector<std::int64_t>> IdsOf(const std::vector<const Pair*>& rows,
                                          std::string_view where) {
    std::vector<const AssetKey*> keys;
    keys.reserve(rows.size());
    for (const Pair* r : rows) keys.push_back(&r->first);
    TM_RETURN_IF_ERROR(EnsureAssets(keys, where));
    std::vector<std::int64_t> ids;
    ids.reserve(rows.size());
    for (const Pair* r : rows) ids.push_back(ids_.at(r->first.ToString()));
    return ids;
  }

  // Runs `stmt(ids chunk, values chunk...)` over `ids` in chunks of kRowsPerStatement, each
  // parameter an array literal of the chunk of the matching vector; returns the result rows.
  template <typename... Values>
  std::vector<pqxx::result> ExecIdChunks(const PgStatement& stmt,
                                         const std::vector<std::int64_t>& ids,
                                         const Values&... values) {
    std::vector<pqxx::result> out;
    for (size_t begin = 0; begin < ids.size(); begin += kRowsPerStatement) {
      const size_t n = std::min(kRowsPerStatement, ids.size() - begin);
      out.push_back(tx_.Exec(stmt, ArrayLiteral(std::span(ids).subspan(begin, n)),
                             ArrayLiteral(std::span(values).subspan(begin, n))...));
    }
    return out;
  }

  Status PutAssets(std::vector<const model::Asset*> assets) {
    if (assets.empty()) return Status::Ok();
    assets = LastOfEach(std::move(assets), [](auto& a) { return std::tie(a.key); });
    std::vector<std::string> props;
    props.reserve(assets.size());
    for (const model::Asset* a : assets) {
      std::string where = Where("assets", a->key);
      if (a->key.name.empty()) return Status::InvalidArgument("asset key has an empty name", where);
      TM_ASSIGN_OR_RETURN(props.emplace_back(), NormalizeJsonObject(a->properties, where));
    }
    TM_RETURN_IF_ERROR(ForChunks(assets, [&](size_t first, std::span<const model::Asset* const> c) {
      pqxx::result changed = tx_.Exec(
          kUpsertAssets, ArrayLiteral(c, [](auto* a) { return a->key.ToString(); }),
          ArrayLiteral(c, [](auto* a) -> std::string_view { return a->key.ns; }),
          ArrayLiteral(c, [](auto* a) -> std::string_view { return a->key.name; }),
          ArrayLiteral(c, [](auto* a) { return model::AssetKindName(a->kind); }),
          ArrayLiteral(c, [](auto* a) { return a->name.empty() ? ShortName(a->key.name) : a->name; }),
          ArrayLiteral(c, Member(&model::Asset::description)),
          ArrayLiteral(c, Member(&model::Asset::source)),
          ArrayLiteral(c, Member(&model::Asset::database)),
          ArrayLiteral(c, Member(&model::Asset::schema)),
          ArrayLiteral(c, [](auto* a) { return model::AssetStatusName(a->status); }),
          ArrayLiteral(std::span(props).subspan(first, c.size())), now_);
      RememberIds(changed);
      for (const pqxx::row& r : changed) dirty_.insert(Int(r[1]));
      summary_.assets_written += changed.size();
      summary_.assets_unchanged += c.size() - changed.size();
      return Status::Ok();
    }));
    return Status::Ok();
  }

  Status PutAliases(std::vector<const std::pair<std::string, AssetKey>*> aliases) {
    if (aliases.empty()) return Status::Ok();
    aliases = LastOfEach(std::move(aliases), kFirst);
    std::vector<const AssetKey*> keys;
    for (const auto* x : aliases) {
      if (x->first.empty()) return Status::InvalidArgument("alias is empty", "aliases/");
      keys.push_back(&x->second);
    }
    TM_RETURN_IF_ERROR(EnsureAssets(keys, "aliases"));
    ExecChunked(kUpsertAliases, aliases, [&](size_t, std::span<const std::pair<std::string, AssetKey>* const> c) {
      return std::tuple(ArrayLiteral(c, [](auto* x) -> std::string_view { return x->first; }),
                        ArrayLiteral(c, [&](auto* x) { return ids_.at(x->second.ToString()); }));
    });
    return Status::Ok();
  }

  Status SetColumns(
      std::vector<const std::pair<AssetKey, std::vector<model::Column>>*> rows) {
    if (rows.empty()) return Status::Ok();
    rows = LastOfEach(std::move(rows), kFirst);
    std::vector<std::vector<std::string>> props(rows.size());  // normalized, per column
    for (size_t i = 0; i < rows.size(); ++i) {
      std::string where = Where("columns", rows[i]->first);
      std::set<std::string_view> names;
      for (const model::Column& c : rows[i]->second) {
        std::string cwhere = where + "/" + c.name;
        if (c.name.empty()) return Status::InvalidArgument("column name is empty", where);
        if (!names.insert(c.name).second) {
          return Status::InvalidArgument("column '" + c.name + "' appears twice", cwhere);
        }
        TM_ASSIGN_OR_RETURN(props[i].emplace_back(), NormalizeJsonObject(c.properties, cwhere));
      }
    }
    TM_ASSIGN_OR_RETURN(std::vector<std::int64_t> ids, IdsOf(rows, "columns"));
    // Assets storing no columns change when they get some; the others are compared with what
    // they store, on the server. Columns stored as they were: nothing written or reindexed.
    std::set<std::int64_t> stored, differ;
    for (const pqxx::result& r : ExecIdChunks(kHaveColumns, ids)) {
      for (const pqxx::row& row : r) stored.insert(Int(row[0]));
    }
    std::vector<std::int64_t> compared;
    std::vector<std::string> texts;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (!stored.count(ids[i])) continue;
      compared.push_back(ids[i]);
      texts.push_back(ColumnsJson(rows[i]->second, props[i]));
    }
    for (const pqxx::result& r : ExecIdChunks(kChangedColumns, compared, texts)) {
      for (const pqxx::row& row : r) differ.insert(Int(row[0]));
    }
    std::vector<std::int64_t> replaced;  // stored columns to delete first
    std::vector<std::int64_t> ids_of;
    std::vector<std::string_view> names, types, descriptions, properties;
    std::vector<std::int64_t> positions;
    std::vector<std::optional<bool>> nullables;
    std::vector<std::string> tags;
    for (size_t i = 0; i < rows.size(); ++i) {
      const bool had = stored.count(ids[i]) > 0;
      if (had ? !differ.count(ids[i]) : rows[i]->second.empty()) continue;
      if (had) replaced.push_back(ids[i]);
      dirty_.insert(ids[i]);
      summary_.columns_written += rows[i]->second.size();
      for (size_t j = 0; j < rows[i]->second.size(); ++j) {
        const model::Column& c = rows[i]->second[j];
        ids_of.push_back(ids[i]);
        names.push_back(c.name);
        positions.push_back(c.position);
        types.push_back(c.data_type);
        descriptions.push_back(c.description);
        nullables.push_back(c.nullable);
        tags.push_back(nlohmann::json(c.tags).dump());
        properties.push_back(props[i][j]);
      }
    }
    ExecIdChunks(kDeleteColumns, replaced);
    ExecIdChunks(kInsertColumns, ids_of, names, positions, types, descriptions, nullables, tags,
                 properties);
    return Status::Ok();
  }

  // The JSON kChangedColumns compares with what an asset stores: one object per column.
  static std::string ColumnsJson(const std::vector<model::Column>& columns,
                                 const std::vector<std::string>& props) {
    nlohmann::json rows = nlohmann::json::array();
    for (size_t j = 0; j < columns.size(); ++j) {
      const model::Column& c = columns[j];
      nlohmann::json row = {{"name", c.name},
                            {"position", c.position},
                            {"data_type", c.data_type},
                            {"description", c.description},
                            {"nullable", nullptr},
                            {"tags", c.tags},
                            {"properties", nlohmann::json::parse(props[j])}};
      if (c.nullable) row["nullable"] = *c.nullable;
      rows.push_back(std::move(row));
    }
    return rows.dump();
  }

  Status SetTags(std::vector<const std::pair<AssetKey, std::vector<std::string>>*> rows) {
    if (rows.empty()) return Status::Ok();
    rows = LastOfEach(std::move(rows), kFirst);
    TM_ASSIGN_OR_RETURN(std::vector<std::int64_t> ids, IdsOf(rows, "tags"));
    std::vector<std::int64_t> tag_ids;
    std::vector<std::string_view> tags;
    for (size_t i = 0; i < rows.size(); ++i) {
      dirty_.insert(ids[i]);
      for (const std::string& t : rows[i]->second) {
        if (t.empty()) continue;
        tag_ids.push_back(ids[i]);
        tags.push_back(t);
      }
    }
    ExecIdChunks(kDeleteTags, ids);
    ExecIdChunks(kInsertTags, tag_ids, tags);
    return Status::Ok();
  }

  Status SetOwnerships(
      std::vector<const std::pair<AssetKey, std::vector<model::Ownership>>*> rows) {
    if (rows.empty()) return Status::Ok();
    rows = LastOfEach(std::move(rows), kFirst);
    // One row per asset and owner: a later entry for the same owner replaces an earlier one.
    std::vector<std::vector<std::pair<std::string_view, std::string>>> per_asset;
    std::set<std::string_view> owners;
    for (const auto* r : rows) {
      auto& list = per_asset.emplace_back();
      std::unordered_map<std::string_view, size_t> index;
      for (const model::Ownership& o : r->second) {
        std::string role = o.role.empty() ? "owner" : o.role;
        auto [it, inserted] = index.emplace(o.owner_id, list.size());
        if (inserted) {
          list.emplace_back(o.owner_id, std::move(role));
        } else {
          list[it->second].second = std::move(role);
        }
        owners.insert(o.owner_id);
      }
    }
    std::set<std::string, std::less<>> known;
    if (!owners.empty()) {
      for (const pqxx::row& r : tx_.Exec(kKnownOwners, ArrayLiteral(owners))) {
        known.insert(Text(r[0]));
      }
    }
    for (size_t i = 0; i < rows.size(); ++i) {
      for (const auto& [owner, role] : per_asset[i]) {
        if (!known.count(owner)) {
          return Status::InvalidArgument("owner '" + std::string(owner) + "' is not known",
                                         Where("ownerships", rows[i]->first));
        }
      }
    }
    TM_ASSIGN_OR_RETURN(std::vector<std::int64_t> ids, IdsOf(rows, "ownerships"));
    std::vector<std::int64_t> owned;
    std::vector<std::string_view> owner_ids, roles;
    for (size_t i = 0; i < rows.size(); ++i) {
      dirty_.insert(ids[i]);
      for (const auto& [owner, role] : per_asset[i]) {
        owned.push_back(ids[i]);
        owner_ids.push_back(owner);
        roles.push_back(role);
      }
    }
    ExecIdChunks(kDeleteOwnerships, ids);
    ExecIdChunks(kInsertOwnerships, owned, owner_ids, roles);
    return Status::Ok();
  }

  Status MarkRemoved(const AssetKey& key) {
    if (auto id = tx_.Exec(kSelectAssetId, key.ToString()); !id.empty()) {
      dirty_.insert(Int(id[0][0]));
    }
    summary_.assets_removed += tx_.Exec(kMarkRemoved, key.ToString(), now_).affected_rows();
    return Status::Ok();
  }

  // One edge by its stored identity (primary key), plus what an upsert writes.
  struct EdgeRow {
    std::int64_t down = 0, up = 0;
    std::string_view down_column, up_column, origin;
    std::optional<std::int64_t> via;
    std::string_view transformation;
    auto Key() const { return std::tie(down, up, down_column, up_column, origin); }
  };

  static Status CheckEdge(const model::LineageEdge& e) {
    std::string where = Where("edges", e.downstream);
    if (e.origin.empty()) return Status::InvalidArgument("edge origin is empty", where);
    if (e.upstream_column.empty() != e.downstream_column.empty()) {
      return Status::InvalidArgument("a column-level edge needs both column names", where);
    }
    if (e.downstream.name.empty() || e.upstream.name.empty()) {
      return Status::InvalidArgument("asset key has an empty name", where);
    }
    return Status::Ok();
  }

  // Replaces the edges of each set (of one downstream and origin: those not listed go), then
  // upserts `edges`. Only the edges that went away are deleted and only new or changed ones
  // written, so a job reporting the lineage it reported before writes and reindexes nothing.
  Status PutEdges(std::vector<const WriteBatch::EdgeSet*> sets,
                  const std::vector<model::LineageEdge>& edges) {
    if (sets.empty() && edges.empty()) return Status::Ok();
    // Of two sets for one downstream and origin the later replaces the earlier's edges.
    sets = LastOfEach(std::move(sets), [](auto& s) { return std::tie(s.downstream, s.origin); });
    std::vector<const model::LineageEdge*> all;  // in batch order: a later write wins
    for (const WriteBatch::EdgeSet* set : sets) {
      std::string where = Where("edges", set->downstream);
      if (set->origin.empty()) return Status::InvalidArgument("edge origin is empty", where);
      if (set->downstream.name.empty()) {
        return Status::InvalidArgument("asset key has an empty name", where);
      }
      for (const model::LineageEdge& e : set->edges) {
        if (e.downstream != set->downstream || e.origin != set->origin) {
          return Status::InvalidArgument(
              "edge from '" + e.upstream.ToString() + "' does not match its set's downstream '" +
                  set->downstream.ToString() + "' and origin '" + set->origin + "'",
              where);
        }
        all.push_back(&e);
      }
    }
    for (const model::LineageEdge& e : edges) all.push_back(&e);
    std::vector<const AssetKey*> keys, vias;
    for (const WriteBatch::EdgeSet* set : sets) keys.push_back(&set->downstream);
    for (const model::LineageEdge* e : all) {
      TM_RETURN_IF_ERROR(CheckEdge(*e));
      keys.push_back(&e->downstream);
      keys.push_back(&e->upstream);
      if (!e->via.empty()) vias.push_back(&e->via);
    }
    TM_RETURN_IF_ERROR(EnsureAssets(keys, "edges"));
    TM_RETURN_IF_ERROR(EnsureAssets(vias, "edges", model::AssetKind::kJob));
    const auto id = [&](const AssetKey& k) { return ids_.at(k.ToString()); };
    std::vector<EdgeRow> rows;
    rows.reserve(all.size());
    for (const model::LineageEdge* e : all) {
      rows.push_back({id(e->downstream), id(e->upstream), e->downstream_column,
                      e->upstream_column, e->origin,
                      e->via.empty() ? std::nullopt : std::optional(id(e->via)),
                      e->transformation});
    }
    if (!sets.empty()) TM_RETURN_IF_ERROR(DeleteEdgesGone(sets, rows, id));

    std::vector<const EdgeRow*> ordered;
    ordered.reserve(rows.size());
    for (const EdgeRow& r : rows) ordered.push_back(&r);
    std::stable_sort(ordered.begin(), ordered.end(),
                     [](const EdgeRow* a, const EdgeRow* b) { return a->Key() < b->Key(); });
    ordered = LastOfEach(std::move(ordered), [](const EdgeRow& r) { return r.Key(); });
    TM_RETURN_IF_ERROR(ForChunks(ordered, [&](size_t, std::span<const EdgeRow* const> c) {
      // Only a new or changed edge changes the upstream's search boost (its downstream count).
      pqxx::result changed =
          tx_.Exec(kUpsertEdges, ArrayLiteral(c, Member(&EdgeRow::down)),
                   ArrayLiteral(c, Member(&EdgeRow::up)), ArrayLiteral(c, Member(&EdgeRow::down_column)),
                   ArrayLiteral(c, Member(&EdgeRow::up_column)), ArrayLiteral(c, Member(&EdgeRow::origin)),
                   ArrayLiteral(c, Member(&EdgeRow::via)),
                   ArrayLiteral(c, Member(&EdgeRow::transformation)));
      for (const pqxx::row& r : changed) dirty_.insert(Int(r[0]));
      summary_.edges_written += changed.size();
      return Status::Ok();
    }));
    return Status::Ok();
  }

  // Deletes the stored edges of `sets` that none of `rows` names.
  template <typename Id>
  Status DeleteEdgesGone(const std::vector<const WriteBatch::EdgeSet*>& sets,
                         const std::vector<EdgeRow>& rows, const Id& id) {
    std::set<decltype(std::declval<EdgeRow>().Key())> kept;
    for (const EdgeRow& r : rows) kept.insert(r.Key());
    // Stored edges come back as strings that must outlive the set of gone ones.
    std::vector<pqxx::result> stored;
    std::vector<EdgeRow> gone;
    return ForChunks(sets, [&](size_t, std::span<const WriteBatch::EdgeSet* const> c) {
      stored.push_back(tx_.Exec(kSelectEdgesOf, ArrayLiteral(c, [&](auto* s) { return id(s->downstream); }),
                                ArrayLiteral(c, [](auto* s) -> std::string_view { return s->origin; })));
      gone.clear();
      for (const pqxx::row& r : stored.back()) {
        const auto view = [](const pqxx::field& f) { return std::string_view(f.c_str(), f.size()); };
        EdgeRow e{Int(r[0]), Int(r[2]), view(r[3]), view(r[4]), view(r[1]), {}, {}};
        if (!kept.count(e.Key())) gone.push_back(e);
      }
      if (gone.empty()) return Status::Ok();
      // An upstream losing an edge loses downstream count: its boost changes.
      for (const pqxx::row& r :
           tx_.Exec(kDeleteEdges, ArrayLiteral(gone, [](const EdgeRow& e) { return e.down; }),
                    ArrayLiteral(gone, [](const EdgeRow& e) { return e.up; }),
                    ArrayLiteral(gone, [](const EdgeRow& e) { return e.down_column; }),
                    ArrayLiteral(gone, [](const EdgeRow& e) { return e.up_column; }),
                    ArrayLiteral(gone, [](const EdgeRow& e) { return e.origin; }))) {
        dirty_.insert(Int(r[0]));
      }
      return Status::Ok();
    });
  }

  // PutRun for every run of a batch (sorted by id), in a few statements: the stored runs are
  // read and locked at once, each run's reports merged in batch order, then the new runs
  // inserted and the changed ones updated in arrays. A run another writer inserted meanwhile
  // goes through PutRun.
  Status PutRuns(const std::vector<const model::Run*>& runs) {
    if (runs.empty()) return Status::Ok();
    std::vector<model::Run> incoming;  // properties normalized
    incoming.reserve(runs.size());
    std::vector<std::string_view> ids;
    for (const model::Run* r : runs) {
      if (r->id.empty()) return Status::InvalidArgument("run id is empty", "runs");
      TM_ASSIGN_OR_RETURN(std::string props,
                          NormalizeJsonObject(r->properties, "runs/" + r->id));
      incoming.push_back(*r);
      incoming.back().properties = std::move(props);
      if (ids.empty() || ids.back() != r->id) ids.push_back(r->id);
    }
    std::unordered_map<std::string, model::Run> stored;
    for (const pqxx::row& row : tx_.Exec(kSelectRunsForUpdate, ArrayLiteral(ids))) {
      model::Run run = ReadRun(row);
      stored.emplace(run.id, std::move(run));
    }
    std::vector<model::Run> inserts, updates;
    for (size_t i = 0; i < incoming.size();) {
      size_t end = i;
      while (end < incoming.size() && incoming[end].id == incoming[i].id) ++end;
      auto found = stored.find(incoming[i].id);
      const bool existed = found != stored.end();
      model::Run current = existed ? found->second : std::move(incoming[i++]);
      for (; i < end; ++i) current = MergeRun(current, incoming[i]);
      if (!existed) {
        inserts.push_back(std::move(current));
      } else if (!(current == found->second)) {
        updates.push_back(std::move(current));
      }
    }
    std::map<std::string, std::vector<const AssetKey*>> jobs_by_source;
    for (const auto* list : {&inserts, &updates}) {
      for (const model::Run& r : *list) {
        if (!r.job.empty()) jobs_by_source[r.source].push_back(&r.job);
      }
    }
    for (const auto& [source, jobs] : jobs_by_source) {
      TM_RETURN_IF_ERROR(EnsureAssets(jobs, "runs", model::AssetKind::kJob, source));
    }
    std::set<std::string> created;
    for (const pqxx::result& r : ExecRuns(kInsertRuns, inserts)) {
      for (const pqxx::row& row : r) created.insert(Text(row[0]));
    }
    ExecRuns(kUpdateRuns, updates);
    summary_.runs_written += created.size() + updates.size();
    for (const model::Run& r : inserts) {
      if (!created.count(r.id)) TM_RETURN_IF_ERROR(PutRun(r));  // lost to a concurrent insert
    }
    return Status::Ok();
  }

  // kInsertRuns or kUpdateRuns over `runs`, in chunks.
  std::vector<pqxx::result> ExecRuns(const PgStatement& stmt, const std::vector<model::Run>& runs) {
    std::vector<pqxx::result> out;
    using R = model::Run;
    const auto job = [&](const R& r) -> std::optional<std::int64_t> {
      if (r.job.empty()) return std::nullopt;
      return ids_.at(r.job.ToString());
    };
    for (size_t begin = 0; begin < runs.size(); begin += kRowsPerStatement) {
      auto c = std::span(runs).subspan(begin, std::min(kRowsPerStatement, runs.size() - begin));
      out.push_back(tx_.Exec(
          stmt, ArrayLiteral(c, [](const R& r) -> std::string_view { return r.id; }),
          ArrayLiteral(c, job), ArrayLiteral(c, [](const R& r) -> std::string_view { return r.source; }),
          ArrayLiteral(c, [](const R& r) { return model::RunStateName(r.state); }),
          ArrayLiteral(c, [](const R& r) { return OptMicros(r.started_at); }),
          ArrayLiteral(c, [](const R& r) { return OptMicros(r.ended_at); }),
          ArrayLiteral(c, [](const R& r) { return OptMicros(r.nominal_time); }),
          ArrayLiteral(c, [](const R& r) -> std::string_view { return r.parent_run_id; }),
          ArrayLiteral(c, [](const R& r) -> std::string_view { return r.error_message; }),
          ArrayLiteral(c, [](const R& r) -> std::string_view { return r.properties; }),
          ArrayLiteral(c, [](const R& r) { return model::ToMicros(r.event_time); })));
    }
    return out;
  }

  // Merges `incoming` into the stored run under a row lock (MergeRun decides), so reports of
  // one run arriving through several instances at once merge as if they came one by one.
  Status PutRun(const model::Run& incoming) {
    std::string where = "runs/" + incoming.id;
    if (incoming.id.empty()) return Status::InvalidArgument("run id is empty", "runs");
    TM_ASSIGN_OR_RETURN(std::string props, NormalizeJsonObject(incoming.properties, where));
    model::Run run = incoming;
    run.properties = std::move(props);
    // Twice at most: the insert only loses to a concurrent insert, which the retry merges into.
    for (int attempt = 0; attempt < 2; ++attempt) {
      pqxx::result stored_rows = tx_.Exec(kSelectRunForUpdate, run.id);
      if (!stored_rows.empty()) {
        model::Run stored = ReadRun(stored_rows[0]);
        model::Run merged = MergeRun(stored, run);
        if (merged == stored) return Status::Ok();
        TM_RETURN_IF_ERROR(WriteRun(kUpdateRun, merged, where).status());
        return Status::Ok();
      }
      TM_ASSIGN_OR_RETURN(bool inserted, WriteRun(kInsertRun, run, where));
      if (inserted) return Status::Ok();
    }
    return Status::Internal("run could be neither inserted nor updated", where);
  }

  // Runs kInsertRun or kUpdateRun for `run`; true when a row was written.
  Result<bool> WriteRun(const PgStatement& stmt, const model::Run& run, const std::string& where) {
    std::optional<std::int64_t> job;
    if (!run.job.empty()) {
      TM_ASSIGN_OR_RETURN(job, IdOf(run.job, where, model::AssetKind::kJob, run.source));
    }
    pqxx::result r = tx_.Exec(
        stmt, run.id, Nullable(job).get(), run.source, std::string(model::RunStateName(run.state)),
        Nullable(OptMicros(run.started_at)).get(), Nullable(OptMicros(run.ended_at)).get(),
        Nullable(OptMicros(run.nominal_time)).get(), run.parent_run_id, run.error_message,
        run.properties, model::ToMicros(run.event_time));
    if (r.affected_rows() == 0) return false;
    ++summary_.runs_written;
    return true;
  }

  Status PutNodeResults(std::vector<const model::NodeResult*> results) {
    if (results.empty()) return Status::Ok();
    results = LastOfEach(std::move(results), [](auto& n) { return std::tie(n.run_id, n.node_id); });
    std::vector<std::string_view> unknown_runs;
    for (const model::NodeResult* n : results) {
      if (!known_runs_.count(n->run_id) &&
          (unknown_runs.empty() || unknown_runs.back() != n->run_id)) {
        unknown_runs.push_back(n->run_id);  // sorted: results are in (run, node) order
      }
    }
    if (!unknown_runs.empty()) {
      for (const pqxx::row& r : tx_.Exec(kRunsExisting, ArrayLiteral(unknown_runs))) {
        known_runs_.insert(Text(r[0]));
      }
    }
    std::vector<std::string> props;
    std::vector<const AssetKey*> assets;
    for (const model::NodeResult* n : results) {
      std::string where = "node_results/" + n->run_id + "/" + n->node_id;
      if (n->node_id.empty()) return Status::InvalidArgument("node id is empty", where);
      if (!known_runs_.count(n->run_id)) {
        return Status::InvalidArgument("run '" + n->run_id + "' is not known", where);
      }
      TM_ASSIGN_OR_RETURN(props.emplace_back(), NormalizeJsonObject(n->properties, where));
      if (!n->asset.empty()) assets.push_back(&n->asset);
    }
    TM_RETURN_IF_ERROR(EnsureAssets(assets, "node_results"));
    using N = model::NodeResult;
    const auto asset_id = [&](const N* n) -> std::optional<std::int64_t> {
      if (n->asset.empty()) return std::nullopt;
      return ids_.at(n->asset.ToString());
    };
    const auto opt_int = [](const std::optional<long long>& v) -> std::optional<std::int64_t> {
      return v ? std::optional<std::int64_t>(*v) : std::nullopt;
    };
    ExecChunked(kUpsertNodeResults, results, [&](size_t first, std::span<const N* const> c) {
      return std::tuple(
          ArrayLiteral(c, Member(&N::run_id)), ArrayLiteral(c, Member(&N::node_id)),
          ArrayLiteral(c, asset_id), ArrayLiteral(c, Member(&N::node_kind)),
          ArrayLiteral(c, Member(&N::status)),
          ArrayLiteral(c, [](const N* n) { return OptMicros(n->started_at); }),
          ArrayLiteral(c, [](const N* n) { return OptMicros(n->completed_at); }),
          ArrayLiteral(c, Member(&N::execution_time_s)),
          ArrayLiteral(c, [&](const N* n) { return opt_int(n->rows_affected); }),
          ArrayLiteral(c, [&](const N* n) { return opt_int(n->failures); }),
          ArrayLiteral(c, Member(&N::message)), ArrayLiteral(c, Member(&N::thread)),
          ArrayLiteral(std::span(props).subspan(first, c.size())));
    });
    summary_.node_results_written += results.size();
    return Status::Ok();
  }

  // Validates every point, creates the missing assets in one go, then inserts the points as
  // arrays, kPointsPerStatement per statement; points already stored are skipped by the
  // primary key (ON CONFLICT DO NOTHING), duplicates inside the batch too.
  Status AppendPoints(const std::vector<model::MetricPoint>& points) {
    if (points.empty()) return Status::Ok();
    std::vector<const AssetKey*> keys;
    const AssetKey* last = nullptr;
    for (const model::MetricPoint& p : points) {
      if (p.metric.empty() || !std::isfinite(p.value)) {
        return Status::InvalidArgument(
            p.metric.empty() ? "metric name is empty" : "metric value is not a finite number",
            Where("metric_points", p.asset) + "/" + p.metric);
      }
      if (p.asset.name.empty()) {
        return Status::InvalidArgument("asset key has an empty name",
                                       Where("metric_points", p.asset));
      }
      if (!last || *last != p.asset) keys.push_back(last = &p.asset);
    }
    TM_RETURN_IF_ERROR(EnsureAssets(keys, "metric_points"));

    std::string ids, metrics, times, values;
    for (size_t begin = 0; begin < points.size(); begin += kPointsPerStatement) {
      const size_t end = std::min(points.size(), begin + kPointsPerStatement);
      ids = metrics = times = values = "{";
      last = nullptr;
      std::int64_t id = 0;
      for (size_t i = begin; i < end; ++i) {
        const model::MetricPoint& p = points[i];
        if (!last || *last != p.asset) id = ids_.at((last = &p.asset)->ToString());
        if (i > begin) {
          ids += ',';
          metrics += ',';
          times += ',';
          values += ',';
        }
        AppendArrayElement(ids, id);
        AppendArrayElement(metrics, p.metric);
        AppendArrayElement(times, model::ToMicros(p.ts));
        AppendArrayElement(values, p.value);
      }
      for (std::string* s : {&ids, &metrics, &times, &values}) *s += '}';
      const size_t written = tx_.Exec(kInsertPoints, ids, metrics, times, values).affected_rows();
      summary_.points_written += written;
      summary_.points_skipped += (end - begin) - written;
    }
    return Status::Ok();
  }

  // The batch's snapshots (sorted by asset, batch order within an asset), each compared with
  // the asset's latest stored snapshot at or before its time and written when it differs, as
  // one at a time in this order would be. In rounds: round k holds the k-th snapshot of every
  // asset, compared and written in arrays (two statements), so a later round sees what the
  // earlier ones wrote. A batch that saw a table written twice costs four statements, not one
  // round trip per snapshot.
  Status PutSnapshots(const std::vector<const model::SchemaSnapshot*>& snaps) {
    std::vector<std::vector<const model::SchemaSnapshot*>> rounds;
    for (size_t i = 0; i < snaps.size();) {
      size_t end = i;
      while (end < snaps.size() && snaps[end]->asset == snaps[i]->asset) ++end;
      if (rounds.size() < end - i) rounds.resize(end - i);
      for (size_t k = 0; i < end; ++i, ++k) rounds[k].push_back(snaps[i]);
    }
    for (const auto& round : rounds) TM_RETURN_IF_ERROR(PutSnapshotRound(round));
    return Status::Ok();
  }

  // PutSnapshots for snapshots of distinct assets, sorted by asset.
  Status PutSnapshotRound(const std::vector<const model::SchemaSnapshot*>& single) {
    std::vector<const AssetKey*> keys;
    for (const model::SchemaSnapshot* s : single) keys.push_back(&s->asset);
    TM_RETURN_IF_ERROR(EnsureAssets(keys, "schema_snapshots"));
    using S = model::SchemaSnapshot;
    std::vector<std::string> fingerprints;
    for (const S* s : single) fingerprints.push_back(s->Fingerprint());
    std::vector<std::int64_t> ids, observed;
    for (const S* s : single) {
      ids.push_back(ids_.at(s->asset.ToString()));
      observed.push_back(model::ToMicros(s->observed_at));
    }
    std::vector<bool> same(single.size(), false);
    for (const pqxx::row& r : tx_.Exec(kLatestSnapshots, ArrayLiteral(ids), ArrayLiteral(observed))) {
      const size_t i = Ordinal(r[0], single.size());
      same[i] = Text(r[1]) == fingerprints[i];
    }
    std::vector<size_t> written;
    for (size_t i = 0; i < single.size(); ++i) {
      if (same[i]) {
        ++summary_.snapshots_unchanged;
      } else {
        written.push_back(i);
      }
    }
    for (size_t begin = 0; begin < written.size(); begin += kRowsPerStatement) {
      auto c = std::span(written).subspan(begin, std::min(kRowsPerStatement, written.size() - begin));
      const size_t n = tx_.Exec(kInsertSnapshots, ArrayLiteral(c, [&](size_t i) { return ids[i]; }),
                                ArrayLiteral(c, [&](size_t i) { return observed[i]; }),
                                ArrayLiteral(c, [&](size_t i) -> std::string_view { return single[i]->source; }),
                                ArrayLiteral(c, [&](size_t i) -> std::string_view { return fingerprints[i]; }),
                                ArrayLiteral(c, [&](size_t i) { return ColumnsToJson(single[i]->columns); }))
                           .affected_rows();
      summary_.snapshots_written += n;
      summary_.snapshots_unchanged += c.size() - n;
    }
    return Status::Ok();
  }

  Status PutIncidents(std::vector<const model::Incident*> incidents) {
    if (incidents.empty()) return Status::Ok();
    incidents = LastOfEach(std::move(incidents), [](auto& i) { return std::tie(i.id); });
    std::vector<std::string> props;
    std::vector<const AssetKey*> roots;
    for (const model::Incident* i : incidents) {
      std::string where = "incidents/" + i->id;
      if (i->id.empty()) return Status::InvalidArgument("incident id is empty", "incidents");
      TM_ASSIGN_OR_RETURN(props.emplace_back(), NormalizeJsonObject(i->properties, where));
      if (!i->root.empty()) roots.push_back(&i->root);
    }
    TM_RETURN_IF_ERROR(EnsureAssets(roots, "incidents"));
    const auto root_id = [&](const model::Incident* i) -> std::optional<std::int64_t> {
      if (i->root.empty()) return std::nullopt;
      return ids_.at(i->root.ToString());
    };
    for (const model::Incident* i : incidents) {
      if (auto root = root_id(i)) health_changed_.insert(*root);
    }
    TM_RETURN_IF_ERROR(
        ForChunks(incidents, [&](size_t, std::span<const model::Incident* const> c) -> Status {
          for (const pqxx::row& r :
               tx_.Exec(kSelectIncidentRoots, ArrayLiteral(c, Member(&model::Incident::id)))) {
            health_changed_.insert(Int(r[0]));
          }
          return Status::Ok();
        }));
    ExecChunked(kUpsertIncidents, incidents,
                [&](size_t first, std::span<const model::Incident* const> c) {
                  return std::tuple(
                      ArrayLiteral(c, Member(&model::Incident::id)), ArrayLiteral(c, root_id),
                      ArrayLiteral(c, [](auto* i) { return model::IncidentStateName(i->state); }),
                      ArrayLiteral(c, [](auto* i) { return model::SeverityName(i->severity); }),
                      ArrayLiteral(c, Member(&model::Incident::title)),
                      ArrayLiteral(c, [](auto* i) { return model::ToMicros(i->opened_at); }),
                      ArrayLiteral(c, [](auto* i) { return model::ToMicros(i->updated_at); }),
                      ArrayLiteral(c, [](auto* i) { return OptMicros(i->acknowledged_at); }),
                      ArrayLiteral(c, [](auto* i) { return OptMicros(i->resolved_at); }),
                      ArrayLiteral(std::span(props).subspan(first, c.size())));
                });
    summary_.incidents_written += incidents.size();
    return Status::Ok();
  }

  Status PutAnomalies(std::vector<const model::Anomaly*> anomalies) {
    if (anomalies.empty()) return Status::Ok();
    anomalies = LastOfEach(std::move(anomalies), [](auto& a) { return std::tie(a.asset, a.id); });
    std::vector<const AssetKey*> keys;
    for (const model::Anomaly* a : anomalies) {
      const std::string where = "anomalies/" + a->id;
      if (a->id.empty()) return Status::InvalidArgument("anomaly id is empty", "anomalies");
      for (double v : {a->value, a->expected_low, a->expected_high, a->score}) {
        if (!std::isfinite(v)) {
          return Status::InvalidArgument("anomaly carries a non-finite number", where);
        }
      }
      keys.push_back(&a->asset);
    }
    TM_RETURN_IF_ERROR(EnsureAssets(keys, "anomalies"));
    const auto asset_id = [&](const model::Anomaly* a) { return ids_.at(a->asset.ToString()); };
    // An anomaly id names one asset's anomaly: neither another stored one nor another here.
    std::unordered_map<std::string_view, std::int64_t> owner;
    for (const model::Anomaly* a : anomalies) {
      auto [it, added] = owner.emplace(a->id, asset_id(a));
      if (!added && it->second != asset_id(a)) {
        return Status::InvalidArgument("anomaly id is already used for another asset",
                                       "anomalies/" + a->id);
      }
    }
    TM_RETURN_IF_ERROR(
        ForChunks(anomalies, [&](size_t, std::span<const model::Anomaly* const> c) -> Status {
          pqxx::result taken =
              tx_.Exec(kAnomalyIdsTaken, ArrayLiteral(c, Member(&model::Anomaly::id)),
                       ArrayLiteral(c, asset_id));
          if (taken.empty()) return Status::Ok();
          return Status::InvalidArgument("anomaly id is already used for another asset",
                                         "anomalies/" + Text(taken[0][0]));
        }));
    ExecChunked(kUpsertAnomalies, anomalies, [&](size_t, std::span<const model::Anomaly* const> c) {
      return std::tuple(
          ArrayLiteral(c, asset_id), ArrayLiteral(c, Member(&model::Anomaly::id)),
          ArrayLiteral(c, Member(&model::Anomaly::metric)),
          ArrayLiteral(c, Member(&model::Anomaly::detector)),
          ArrayLiteral(c, [](auto* a) { return model::ToMicros(a->ts); }),
          ArrayLiteral(c, Member(&model::Anomaly::value)),
          ArrayLiteral(c, Member(&model::Anomaly::expected_low)),
          ArrayLiteral(c, Member(&model::Anomaly::expected_high)),
          ArrayLiteral(c, Member(&model::Anomaly::score)),
          ArrayLiteral(c, Member(&model::Anomaly::direction)),
          ArrayLiteral(c, [](auto* a) { return model::SeverityName(a->severity); }),
          ArrayLiteral(c, [](auto* a) { return OptMicros(a->train_start); }),
          ArrayLiteral(c, [](auto* a) { return OptMicros(a->train_end); }),
          ArrayLiteral(c, [](auto* a) { return static_cast<std::int64_t>(a->train_size); }),
          ArrayLiteral(c, Member(&model::Anomaly::seasonality)),
          ArrayLiteral(c, Member(&model::Anomaly::explanation)),
          ArrayLiteral(c, [](auto* a) { return model::ToMicros(a->detected_at); }),
          ArrayLiteral(c, Member(&model::Anomaly::incident_id)));
    });
    summary_.anomalies_written += anomalies.size();
    for (const model::Anomaly* a : anomalies) health_changed_.insert(asset_id(a));
    return Status::Ok();
  }

  Status EnqueueAlerts(const std::vector<const model::Alert*>& alerts) {
    if (alerts.empty()) return Status::Ok();
    std::vector<std::string> payloads;
    for (const model::Alert* a : alerts) {
      std::string where = "alerts/" + a->id;
      if (a->id.empty() || a->idempotency_key.empty() || a->channel.empty()) {
        return Status::InvalidArgument("an alert needs an id, a channel and an idempotency key",
                                       where);
      }
      // jsonb only takes JSON; say so here rather than as a database error.
      TM_ASSIGN_OR_RETURN(payloads.emplace_back(), NormalizeJsonObject(a->payload, where));
    }
    const auto created = [&](const model::Alert* a) {
      return a->created_at == Timestamp{} ? now_ : model::ToMicros(a->created_at);
    };
    const size_t inserted = ExecChunked(
        kInsertAlerts, alerts, [&](size_t first, std::span<const model::Alert* const> c) {
          return std::tuple(ArrayLiteral(c, Member(&model::Alert::id)),
                            ArrayLiteral(c, Member(&model::Alert::incident_id)),
                            ArrayLiteral(c, Member(&model::Alert::channel)),
                            ArrayLiteral(c, Member(&model::Alert::event)),
                            ArrayLiteral(std::span(payloads).subspan(first, c.size())),
                            ArrayLiteral(c, Member(&model::Alert::idempotency_key)),
                            ArrayLiteral(c, created), ArrayLiteral(c, [&](auto* a) {
                              return a->next_attempt_at == Timestamp{}
                                         ? created(a)
                                         : model::ToMicros(a->next_attempt_at);
                            }));
        });
    summary_.alerts_enqueued += inserted;
    summary_.alerts_skipped += alerts.size() - inserted;
    return Status::Ok();
  }

  // Creates the row if missing (waiting for a concurrent creator), then locks it until
  // commit: a concurrent writer expecting the same value waits here, and then reads the
  // value this transaction committed (READ COMMITTED re-reads a row it waited for).
  Status CheckExpected(const Checkpoint& c) {
    tx_.Exec(kCreateCheckpoint, c.scope, c.key, now_);
    pqxx::result rows = tx_.Exec(kLockCheckpoint, c.scope, c.key);
    const std::string found = rows.empty() ? std::string() : rows[0][0].c_str();
    return found == c.value ? Status::Ok() : CheckpointConflict(c, found);
  }

  Status PutCheckpoint(const Checkpoint& c) {
    if (c.scope.empty() || c.key.empty()) {
      return Status::InvalidArgument("a checkpoint needs a scope and a key", "checkpoints");
    }
    tx_.Exec(kUpsertCheckpoint, c.scope, c.key, c.value, now_);
    return Status::Ok();
  }

  // Rebuilds the search documents of every asset this batch changed (search_engine.h).
  Status ReindexDirty();

  PgTx& tx_;
  const std::int64_t now_;
  std::unordered_map<std::string, std::int64_t> ids_;  // asset key text -> asset_id
  std::set<std::string> known_runs_;
  WriteSummary summary_;
  std::set<std::int64_t> dirty_;
  std::set<std::int64_t> health_changed_;  // assets whose incidents or anomalies changed
  const std::unordered_set<std::string>* known_typos_ = nullptr;
  std::vector<std::string> new_typos_;
};

// ---- search index and lineage (search_engine.h) --------------------------------------------

#define TM_PG_LINES(sql) "coalesce((SELECT string_agg(v, E'\\n') FROM (" sql ") AS l), '')"

constexpr PgStatement kLoadSearchInputs{
    .name = "load_search_inputs",
    .sql =
        "SELECT a.asset_id, a.namespace, a.name, a.kind, a.display_name, a.description,"
        " a.source, a.database_name, a.schema_name, a.status,"
        " " TM_PG_LINES("SELECT c.name AS v FROM columns c WHERE c.asset_id = a.asset_id"
                        " ORDER BY c.position, c.name") ","
        " " TM_PG_LINES("SELECT t.tag AS v FROM asset_tags t WHERE t.asset_id = a.asset_id"
                        " ORDER BY t.tag") ","
        " " TM_PG_LINES("SELECT o.owner_id AS v FROM ownerships o WHERE o.asset_id = a.asset_id"
                        " ORDER BY o.owner_id") ","
        " (SELECT count(DISTINCT e.downstream_id) FROM lineage_edges e"
        "   WHERE e.upstream_id = a.asset_id),"
        " (SELECT count(DISTINCT e.downstream_id) FROM lineage_edges e"
        "   JOIN assets d ON d.asset_id = e.downstream_id"
        "   WHERE e.upstream_id = a.asset_id AND d.kind = 'exposure'),"
        " coalesce((SELECT s.postings FROM search_docs s WHERE s.asset_id = a.asset_id), '')"
        " FROM assets a WHERE a.asset_id = ANY($1::bigint[]) ORDER BY a.asset_id"};
constexpr PgStatement kDeletePostings{
    .name = "delete_postings",
    .sql =
        "DELETE FROM search_postings p USING unnest($1::text[], $2::bigint[], $3::bigint[])"
        " AS u(t, s, a) WHERE p.term = u.t AND p.score = u.s AND p.asset_id = u.a"};
// Postings new to their document are inserted plainly: ON CONFLICT's speculative insertion
// costs 60% more per row (0.88 s against 1.44 s for the postings of 5k models). A posting can
// only exist already when another transaction reindexed the same asset concurrently; that
// insert breaks the primary key, rolls back to its savepoint and is repeated with the clause.
constexpr PgStatement kInsertNewPostings{
    .name = "insert_new_postings",
    .sql =
        "INSERT INTO search_postings (term, score, asset_id)"
        " SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[])"};
constexpr PgStatement kInsertPostings{
    .name = "insert_postings",
    .sql =
        "INSERT INTO search_postings (term, score, asset_id)"
        " SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[]) ON CONFLICT DO NOTHING"};
constexpr PgStatement kUpsertDocs{
    .name = "upsert_search_docs",
    .sql =
        "INSERT INTO search_docs AS d (asset_id, kind, name, description, source, database_name,"
        " schema_name, status, columns, tags, owners, downstream, exposures, boost, postings,"
        " namespace, key_name)"
        " SELECT r.asset_id, r.kind, r.name, r.description, r.source, r.database_name,"
        "  r.schema_name, r.status, r.columns, r.tags, r.owners, r.downstream, r.exposures,"
        "  r.boost, r.postings, r.namespace, r.key_name"
        " FROM jsonb_to_recordset($1::jsonb) AS r(asset_id bigint, kind text, name text,"
        "  description text, source text, database_name text, schema_name text, status text,"
        "  columns text, tags text, owners text, downstream bigint, exposures bigint,"
        "  boost bigint, postings text, namespace text, key_name text)"
        " ON CONFLICT (asset_id) DO UPDATE SET kind = excluded.kind, name = excluded.name,"
        "  description = excluded.description, source = excluded.source,"
        "  database_name = excluded.database_name, schema_name = excluded.schema_name,"
        "  status = excluded.status, columns = excluded.columns, tags = excluded.tags,"
        "  owners = excluded.owners, downstream = excluded.downstream,"
        "  exposures = excluded.exposures, boost = excluded.boost, postings = excluded.postings,"
        "  namespace = excluded.namespace, key_name = excluded.key_name"};
constexpr PgStatement kInsertTypos{
    .name = "insert_typos",
    .sql =
        "INSERT INTO search_typos (variant, term) SELECT * FROM unnest($1::text[], $2::text[])"
        " ON CONFLICT DO NOTHING"};
// Assets passing the filters ($1 kind, $2 database, $3 schema, $4 source, $5 status, $6 an
// owner, $7 a tag; '' passes anything), most boosted first. Owners and tags are stored one
// per line.
constexpr PgStatement kBrowseDocs{
    .name = "browse_docs",
    .sql =
        "SELECT asset_id FROM search_docs"
        " WHERE ($1 = '' OR kind = $1) AND ($2 = '' OR database_name = $2)"
        "   AND ($3 = '' OR schema_name = $3) AND ($4 = '' OR source = $4)"
        "   AND ($5 = '' OR status = $5)"
        "   AND ($6 = '' OR strpos(E'\\n' || owners || E'\\n', E'\\n' || $6 || E'\\n') > 0)"
        "   AND ($7 = '' OR strpos(E'\\n' || tags || E'\\n', E'\\n' || $7 || E'\\n') > 0)"
        " ORDER BY boost DESC, asset_id LIMIT $8"};
constexpr PgStatement kSelectPostings{
    .name = "select_postings",
    .sql =
        "SELECT asset_id, score FROM search_postings WHERE term = $1"
        " ORDER BY score DESC, asset_id DESC LIMIT $2"};
constexpr PgStatement kSelectTypos{
    .name = "select_typos",
    .sql = "SELECT DISTINCT term FROM search_typos WHERE variant = ANY($1::text[]) ORDER BY term"};
// What the engine reads of a document (PgReader::ReadDocs).
#define TM_DOC_COLS                                                                           \
  "d.asset_id, d.namespace, d.key_name, d.kind, d.name, d.description, d.source,"             \
  " d.database_name, d.schema_name, d.status, d.columns, d.tags, d.owners, d.downstream,"    \
  " d.exposures, d.boost"
constexpr PgStatement kSelectDocs{
    .name = "select_search_docs",
    .sql =
        "SELECT " TM_DOC_COLS
        " FROM search_docs d WHERE d.asset_id = ANY($1::bigint[])"};
// The search change log (migration 5; search_engine.h) and what loading a copy of the index
// reads. The pruning checkpoint's value is the last pruned seq.
constexpr PgStatement kSelectDocsAfter{
    .name = "select_search_docs_after",
    .sql =
        "SELECT " TM_DOC_COLS
        " FROM search_docs d WHERE d.asset_id > $1 ORDER BY d.asset_id LIMIT $2"};
constexpr PgStatement kSelectAllTypos{.name = "select_all_typos",
                                      .sql = "SELECT variant, term FROM search_typos"};
constexpr PgStatement kSelectSearchChanges{
    .name = "select_search_changes",
    .sql = "SELECT seq, asset_id FROM search_changes WHERE seq > $1 ORDER BY seq LIMIT $2"};
constexpr PgStatement kSelectSearchChangeEnds{
    .name = "select_search_change_ends",
    .sql = "SELECT coalesce((SELECT max(seq) FROM search_changes), 0),"
           " coalesce((SELECT value::bigint FROM checkpoints WHERE scope = $1 AND key = $2), 0)"};
constexpr PgStatement kPruneSearchChanges{
    .name = "prune_search_changes",
    .sql = "WITH gone AS (DELETE FROM search_changes WHERE seq <= (SELECT max(seq)"
           "   FROM search_changes WHERE changed_at < tm_timestamp($3)) RETURNING seq)"
           " INSERT INTO checkpoints (scope, key, value, updated_at)"
           " SELECT $1, $2, max(seq)::text, tm_timestamp($4) FROM gone HAVING count(*) > 0"
           " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value,"
           "   updated_at = excluded.updated_at"};
constexpr PgStatement kOldestSearchChange{
    .name = "oldest_search_change",
    .sql = "SELECT tm_micros(changed_at) FROM search_changes ORDER BY seq LIMIT 1"};
constexpr PgStatement kAppendSearchChanges{
    .name = "append_search_changes",
    .sql = "INSERT INTO search_changes (asset_id, changed_at)"
           " SELECT unnest($1::bigint[]), tm_timestamp($2)"};
constexpr PgStatement kSelectHealth{
    .name = "select_health",
    .sql =
        "SELECT j.id,"
        " (SELECT count(*) FROM incidents i WHERE i.root_id = j.id AND i.state <> 'resolved'),"
        " tm_micros(x.detected_at), x.explanation, x.detector, x.metric"
        " FROM unnest($1::bigint[]) AS j(id) LEFT JOIN LATERAL"
        "  (SELECT y.detected_at, y.explanation, y.detector, y.metric FROM anomalies y"
        "   WHERE y.asset_id = j.id ORDER BY y.detected_at DESC, y.id DESC LIMIT 1) x ON true"};
constexpr PgStatement kSelectLineageDown{
    .name = "select_lineage_down",
    .sql =
        "SELECT upstream_id, downstream_id, upstream_column, downstream_column"
        " FROM lineage_edges WHERE upstream_id = ANY($1::bigint[])"};
constexpr PgStatement kSelectLineageUp{
    .name = "select_lineage_up",
    .sql =
        "SELECT downstream_id, upstream_id, downstream_column, upstream_column"
        " FROM lineage_edges WHERE downstream_id = ANY($1::bigint[])"};
constexpr PgStatement kSelectNodes{
    .name = "select_lineage_nodes",
    .sql =
        "SELECT a.asset_id, a.namespace, a.name, a.kind, a.display_name, a.status,"
        " " TM_PG_LINES("SELECT o.owner_id AS v FROM ownerships o WHERE o.asset_id = a.asset_id"
                        " ORDER BY o.owner_id")
        " FROM assets a WHERE a.asset_id = ANY($1::bigint[])"};
constexpr PgStatement kSelectTableEdgesDown{
    .name = "select_table_edges_down",
    .sql =
        "SELECT DISTINCT upstream_id, downstream_id FROM lineage_edges"
        " WHERE upstream_id = ANY($1::bigint[])"};
constexpr PgStatement kSelectTableEdgesUp{
    .name = "select_table_edges_up",
    .sql =
        "SELECT DISTINCT downstream_id, upstream_id FROM lineage_edges"
        " WHERE downstream_id = ANY($1::bigint[])"};
constexpr PgStatement kSelectNodeNames{
    .name = "select_node_names",
    .sql =
        "SELECT a.asset_id, a.namespace, a.name, a.kind, a.display_name FROM assets a"
        " WHERE a.asset_id = ANY($1::bigint[])"};
constexpr PgStatement kSelectAllAssetIds{.name = "select_all_asset_ids",
                                         .sql = "SELECT asset_id FROM assets ORDER BY asset_id"};
constexpr PgStatement kSelectOwnedIds{
    .name = "select_owned_ids",
    .sql =
        "SELECT w.asset_id, w.role FROM ownerships w JOIN assets a USING (asset_id)"
        " WHERE w.owner_id = $1 ORDER BY a.key"};

class PgIndexWriter final : public SearchIndexWriter {
 public:
  explicit PgIndexWriter(PgTx& tx) : tx_(tx) {}

  Status Load(const std::vector<std::int64_t>& ids, std::vector<SearchDocInput>& inputs,
              std::vector<std::string>& old_postings) override {
    for (const pqxx::row& r : tx_.Exec(kLoadSearchInputs, ArrayLiteral(ids))) {
      SearchDocInput in;
      in.id = Int(r[0]);
      in.key = {Text(r[1]), Text(r[2])};
      in.kind = Text(r[3]);
      in.name = Text(r[4]);
      in.description = Text(r[5]);
      in.source = Text(r[6]);
      in.database = Text(r[7]);
      in.schema = Text(r[8]);
      in.status = Text(r[9]);
      in.columns = SplitLines(Text(r[10]));
      in.tags = SplitLines(Text(r[11]));
      in.owners = SplitLines(Text(r[12]));
      in.downstream = Int(r[13]);
      in.exposures = Int(r[14]);
      inputs.push_back(std::move(in));
      old_postings.push_back(Text(r[15]));
    }
    return Status::Ok();
  }

  Status Apply(const std::vector<Change>& changes) override {
    std::vector<std::string_view> del_terms, add_terms;
    std::vector<std::int64_t> del_scores, del_ids, add_scores, add_ids;
    nlohmann::json docs = nlohmann::json::array();
    for (const Change& c : changes) {
      for (const Posting& p : c.removed) {
        del_terms.push_back(p.term);
        del_scores.push_back(p.score);
        del_ids.push_back(c.doc.id);
      }
      for (const Posting& p : c.added) {
        add_terms.push_back(p.term);
        add_scores.push_back(p.score);
        add_ids.push_back(c.doc.id);
      }
      const SearchDoc& d = c.doc;
      // Invalid UTF-8 (cut descriptions, odd input) is replaced rather than thrown on.
      docs.push_back({{"asset_id", d.id}, {"kind", d.kind}, {"name", d.name},
                      {"description", d.description}, {"source", d.source},
                      {"database_name", d.database}, {"schema_name", d.schema},
                      {"status", d.status}, {"columns", d.columns},
                      {"tags", JoinLines(d.tags)}, {"owners", JoinLines(d.owners)},
                      {"downstream", d.downstream}, {"exposures", d.exposures},
                      {"boost", d.boost}, {"postings", c.encoded}, {"namespace", d.key.ns},
                      {"key_name", d.key.name}});
    }
    if (!del_terms.empty()) {
      tx_.Exec(kDeletePostings, ArrayLiteral(del_terms), ArrayLiteral(del_scores),
               ArrayLiteral(del_ids));
    }
    if (!add_terms.empty()) {
      const std::string terms = ArrayLiteral(add_terms), scores = ArrayLiteral(add_scores),
                        ids = ArrayLiteral(add_ids);
      if (!tx_.ExecUnlessDuplicate(kInsertNewPostings, terms, scores, ids)) {
        tx_.Exec(kInsertPostings, terms, scores, ids);
      }
    }
    if (!changes.empty()) {
      tx_.Exec(kUpsertDocs, docs.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    return Status::Ok();
  }

  Status AddTypos(const std::vector<std::pair<std::string, std::string>>& rows) override {
    tx_.Exec(kInsertTypos,
             ArrayLiteral(rows, [](const auto& r) -> std::string_view { return r.first; }),
             ArrayLiteral(rows, [](const auto& r) -> std::string_view { return r.second; }));
    return Status::Ok();
  }

 private:
  PgTx& tx_;
};

// Serves both the search engine and the lineage walk; Health overrides both bases' method.
class PgReader final : public SearchLogReader, public LineageReader {
 public:
  explicit PgReader(PgTx& tx) : tx_(tx) {}

  Result<std::vector<SearchDoc>> DocsAfter(std::int64_t after_id, size_t limit) override {
    return ReadDocs(tx_.Exec(kSelectDocsAfter, after_id, Limit(limit)));
  }

  Result<std::vector<std::pair<std::string, std::string>>> AllTypos() override {
    std::vector<std::pair<std::string, std::string>> out;
    for (const pqxx::row& r : tx_.Exec(kSelectAllTypos)) out.emplace_back(Text(r[0]), Text(r[1]));
    return out;
  }

  Result<std::vector<SearchChange>> ChangesAfter(std::int64_t after, size_t limit) override {
    std::vector<SearchChange> out;
    for (const pqxx::row& r : tx_.Exec(kSelectSearchChanges, after, Limit(limit))) {
      out.push_back({Int(r[0]), Int(r[1])});
    }
    return out;
  }

  Result<std::pair<std::int64_t, std::int64_t>> ChangeLogEnds() override {
    pqxx::result r = tx_.Exec(kSelectSearchChangeEnds, std::string(kSearchChangesScope),
                              std::string(kSearchChangesPrunedKey));
    return std::make_pair(Int(r.at(0)[0]), Int(r.at(0)[1]));
  }

  Result<std::vector<ScoredId>> Postings(const std::string& term, size_t limit) override {
    std::vector<ScoredId> out;
    for (const pqxx::row& r : tx_.Exec(kSelectPostings, term, Limit(limit))) {
      out.push_back({Int(r[0]), Int(r[1])});
    }
    return out;
  }

  Result<std::vector<std::int64_t>> Browse(const SearchQuery& q, size_t limit) override {
    std::vector<std::int64_t> out;
    for (const pqxx::row& r : tx_.Exec(kBrowseDocs, q.kind, q.database, q.schema, q.source,
                                       q.status, q.owner, q.tag, Limit(limit))) {
      out.push_back(Int(r[0]));
    }
    return out;
  }

  Result<std::vector<std::string>> TypoTerms(const std::vector<std::string>& variants) override {
    std::vector<std::string> out;
    for (const pqxx::row& r : tx_.Exec(kSelectTypos, ArrayLiteral(variants))) {
      out.push_back(Text(r[0]));
    }
    return out;
  }

  Result<std::vector<SearchDoc>> Docs(const std::vector<std::int64_t>& ids) override {
    if (ids.empty()) return std::vector<SearchDoc>{};
    return ReadDocs(tx_.Exec(kSelectDocs, ArrayLiteral(ids)));
  }

  // The rows of kSelectDocs or kSelectDocsAfter.
  static std::vector<SearchDoc> ReadDocs(const pqxx::result& rows) {
    std::vector<SearchDoc> out;
    out.reserve(rows.size());
    for (const pqxx::row& r : rows) {
      SearchDoc d;
      d.id = Int(r[0]);
      d.key = {Text(r[1]), Text(r[2])};
      d.kind = Text(r[3]);
      d.name = Text(r[4]);
      d.description = Text(r[5]);
      d.source = Text(r[6]);
      d.database = Text(r[7]);
      d.schema = Text(r[8]);
      d.status = Text(r[9]);
      d.columns = Text(r[10]);
      d.tags = SplitLines(Text(r[11]));
      d.owners = SplitLines(Text(r[12]));
      d.downstream = Int(r[13]);
      d.exposures = Int(r[14]);
      d.boost = Int(r[15]);
      out.push_back(std::move(d));
    }
    return out;
  }

  Result<std::map<std::int64_t, AssetHealth>> Health(
      const std::vector<std::int64_t>& ids) override {
    std::map<std::int64_t, AssetHealth> out;
    if (ids.empty()) return out;
    for (const pqxx::row& r : tx_.Exec(kSelectHealth, ArrayLiteral(ids))) {
      AssetHealth h;
      h.open_incidents = static_cast<int>(Int(r[1]));
      if (!r[2].is_null()) {
        h.last_anomaly_at = Time(r[2]);
        h.last_anomaly = Text(r[3]);
        if (h.last_anomaly.empty()) h.last_anomaly = Text(r[4]) + " " + Text(r[5]);
      }
      out[Int(r[0])] = std::move(h);
    }
    return out;
  }

  Result<std::int64_t> IdOf(const AssetKey& key) override {
    pqxx::result rows = tx_.Exec(kSelectAssetId, key.ToString());
    if (rows.empty()) return Status::NotFound("no asset '" + key.ToString() + "'");
    return Int(rows[0][0]);
  }

  Result<std::vector<std::optional<std::int64_t>>> IdsOf(
      const std::vector<AssetKey>& keys) override {
    std::vector<std::string> texts;
    texts.reserve(keys.size());
    for (const AssetKey& k : keys) texts.push_back(k.ToString());
    std::unordered_map<std::string, std::int64_t> found;
    for (const pqxx::row& r : tx_.Exec(kSelectAssetIds, ArrayLiteral(texts))) {
      found.emplace(Text(r[0]), Int(r[1]));
    }
    std::vector<std::optional<std::int64_t>> out;
    out.reserve(keys.size());
    for (const std::string& t : texts) {
      auto it = found.find(t);
      out.push_back(it == found.end() ? std::nullopt : std::optional(it->second));
    }
    return out;
  }

  Result<std::vector<EdgeRow>> Edges(const std::vector<std::int64_t>& ids,
                                     bool upstream) override {
    std::vector<EdgeRow> out;
    for (const pqxx::row& r :
         tx_.Exec(upstream ? kSelectLineageUp : kSelectLineageDown, ArrayLiteral(ids))) {
      out.push_back({Int(r[0]), Int(r[1]), Text(r[2]), Text(r[3])});
    }
    return out;
  }

  Result<std::vector<std::pair<std::int64_t, std::int64_t>>> TableEdges(
      const std::vector<std::int64_t>& ids, bool upstream) override {
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (const pqxx::row& r :
         tx_.Exec(upstream ? kSelectTableEdgesUp : kSelectTableEdgesDown, ArrayLiteral(ids))) {
      out.emplace_back(Int(r[0]), Int(r[1]));
    }
    return out;
  }

  Result<std::vector<NodeRow>> NodeNames(const std::vector<std::int64_t>& ids) override {
    std::vector<NodeRow> out;
    for (const pqxx::row& r : tx_.Exec(kSelectNodeNames, ArrayLiteral(ids))) {
      out.push_back({Int(r[0]), {Text(r[1]), Text(r[2])}, Text(r[3]), Text(r[4]), {}, {}});
    }
    return out;
  }

  Result<std::vector<NodeRow>> Nodes(const std::vector<std::int64_t>& ids) override {
    std::vector<NodeRow> out;
    for (const pqxx::row& r : tx_.Exec(kSelectNodes, ArrayLiteral(ids))) {
      out.push_back({Int(r[0]), {Text(r[1]), Text(r[2])}, Text(r[3]), Text(r[4]), Text(r[5]),
                     SplitLines(Text(r[6]))});
    }
    return out;
  }

 private:
  PgTx& tx_;
};

// Appends `ids` to the search change log (search_engine.h) under kPgSearchChangesLock, which
// is held until commit: the last statement of a write, so that nothing waits while holding it.
// Rows older than kSearchChangeRetention are pruned first, when there are any.
void LogSearchChanges(PgTx& tx, const std::vector<std::int64_t>& ids, std::int64_t now_micros) {
  if (ids.empty()) return;
  tx.ExecParams("SELECT pg_advisory_xact_lock($1)", kPgSearchChangesLock);
  const std::int64_t cutoff =
      now_micros - std::chrono::duration_cast<std::chrono::microseconds>(kSearchChangeRetention).count();
  pqxx::result oldest = tx.Exec(kOldestSearchChange);
  if (!oldest.empty() && Int(oldest[0][0]) < cutoff) {
    tx.Exec(kPruneSearchChanges, std::string(kSearchChangesScope),
            std::string(kSearchChangesPrunedKey), cutoff, now_micros);
  }
  tx.Exec(kAppendSearchChanges, ArrayLiteral(ids), now_micros);
}

// The change log also names the assets whose health changed: a copy of the index in memory
// keeps their health too (memory_search.h).
Status BatchWriter::ReindexDirty() {
  if (dirty_.empty() && health_changed_.empty()) return Status::Ok();
  static const std::unordered_set<std::string> kNone;
  std::vector<std::int64_t> ids(dirty_.begin(), dirty_.end());
  if (!ids.empty()) {
    PgIndexWriter writer(tx_);
    TM_RETURN_IF_ERROR(
        ReindexAssets(writer, ids, known_typos_ ? *known_typos_ : kNone, new_typos_)
            .WithContext("update search index"));
  }
  std::set<std::int64_t> changed = health_changed_;
  changed.insert(dirty_.begin(), dirty_.end());
  LogSearchChanges(tx_, std::vector<std::int64_t>(changed.begin(), changed.end()), now_);
  return Status::Ok();
}

// ---- connection strings ---------------------------------------------------------------------

bool HasParameter(std::string_view conninfo, std::string_view name) {
  return conninfo.find(std::string(name) + "=") != std::string_view::npos;
}

// `target` (a libpq URL or keyword string) with this store's session defaults added where the
// user set none: application_name=tidemark (shown in pg_stat_activity) and connect_timeout,
// so that an unreachable server fails Open within `timeout` rather than the OS's minutes.
std::string WithSessionDefaults(std::string target, std::chrono::milliseconds timeout) {
  const auto seconds = std::max<long long>(
      2, std::chrono::duration_cast<std::chrono::seconds>(timeout).count());  // libpq's minimum
  const std::pair<std::string, std::string> defaults[] = {
      {"application_name", "tidemark"}, {"connect_timeout", std::to_string(seconds)}};
  const bool is_url = target.find("://") != std::string::npos;
  for (const auto& [name, value] : defaults) {
    if (HasParameter(target, name)) continue;
    if (is_url) {
      target += target.find('?') == std::string::npos ? '?' : '&';
    } else if (!target.empty()) {
      target += ' ';
    }
    target += name + "=" + value;
  }
  return target;
}

// ---- the store ------------------------------------------------------------------------------

// The transaction that PostgresStore::ReadTogether holds on this thread, and its store.
struct PinnedTx {
  const Store* store = nullptr;
  PgTx* tx = nullptr;
};
thread_local PinnedTx pinned_tx;

class PostgresStore final : public Store {
 public:
  PostgresStore(std::string description, std::string conninfo, size_t pool_size,
                const model::Clock& clock)
      : description_(std::move(description)),
        pool_(std::move(conninfo), pool_size),
        clock_(clock) {}

  // Checks the schema version and, when `apply`, brings the schema up to kSchemaVersion.
  Status Migrate(bool apply) {
    return Transact<pqxx::work>("migrate", [&](PgTx& tx) -> Status {
      if (apply) {
        // Held until commit: a second instance starting now waits here, then finds the
        // migrations applied.
        tx.ExecParams("SELECT pg_advisory_xact_lock($1)", kPgMigrationLock);
        tx.ExecUnprepared(kPgCreateMigrationsTable);
      }
      const int version = ReadVersion(tx);
      if (version > kSchemaVersion) {
        return Status::Corruption("database schema version " + std::to_string(version) +
                                      " is newer than this binary's (" +
                                      std::to_string(kSchemaVersion) + "); upgrade tidemark",
                                  description_);
      }
      if (!apply) return Status::Ok();
      for (int v = version + 1; v <= kSchemaVersion; ++v) {
        tx.ExecUnprepared(kPgMigrations[v - 1]);
        tx.ExecParams(kRecordMigration, v, model::ToMicros(clock_.Now()));
      }
      // Migration 2 creates the search index: index the assets already stored, once the
      // later migrations have given search_docs its current columns.
      if (version < 2) TM_RETURN_IF_ERROR(RebuildSearchIndexIn(tx));
      return Status::Ok();
    });
  }

  std::string_view Kind() const override { return "postgresql"; }
  std::string Describe() const override { return description_; }

  Status Ping() override {
    return Transact<pqxx::read_transaction>("ping", [](PgTx& tx) -> Status {
      tx.ExecUnprepared("SELECT 1");
      return Status::Ok();
    });
  }

  Result<int> SchemaVersion() override {
    return Transact<pqxx::read_transaction>(
        "read schema version", [](PgTx& tx) -> Result<int> { return ReadVersion(tx); });
  }

  Result<WriteSummary> Write(const WriteBatch& batch) override {
    // The terms this batch added to the deletion index join the cache only once the write
    // has committed: a cached term is one whose typo rows are stored, and a commit can fail
    // after the batch applied. (A term missing from the cache only costs a few inserts that
    // ON CONFLICT DO NOTHING skips.)
    std::vector<std::string> added;
    Result<WriteSummary> result =
        Transact<pqxx::work>("write batch", [&](PgTx& tx) -> Result<WriteSummary> {
          BatchWriter writer(tx, clock_.Now());
          std::shared_lock typo_lock(typo_mu_);
          writer.SetTypoCache(&known_typos_);
          Result<WriteSummary> applied = writer.Apply(batch);
          added = std::move(writer.new_typos());  // this attempt's, if it is the one that commits
          return applied;
        });
    if (result.ok()) {
      {
        std::unique_lock lock(typo_mu_);
        known_typos_.insert(added.begin(), added.end());
      }
      NotifyCommitted(batch);
      if (memory_search_) memory_search_->CatchUp();
    }
    return result;
  }

  // After Migrate: the copy reads through the pool.
  Status StartMemorySearch(const StoreOptions& options) {
    TM_ASSIGN_OR_RETURN(memory_search_,
                        catalog::StartMemorySearch(options, [this](const auto& fn) -> Status {
                          return Read("search index", [&](PgTx& tx) -> Status {
                            PgReader reader(tx);
                            return fn(reader);
                          });
                        }));
    return Status::Ok();
  }

  std::optional<SearchMemoryStatus> SearchMemory() override {
    if (!memory_search_) return std::nullopt;
    return memory_search_->GetStatus();
  }

  Status RebuildSearchIndex() override {
    Status rebuilt = Transact<pqxx::work>("rebuild search index", [&](PgTx& tx) -> Status {
      // TRUNCATE, not DELETE: fifty million dead postings would outlive the rebuild. It locks
      // the tables, so searches wait for the commit rather than read a half-built index.
      tx.ExecUnprepared("TRUNCATE search_postings, search_typos, search_docs");
      {
        std::unique_lock lock(typo_mu_);
        known_typos_.clear();
      }
      // Postings go into a table without its primary key, which is then built in one sort:
      // cheaper than keeping a B-tree ordered through fifty million random inserts.
      tx.ExecUnprepared("ALTER TABLE search_postings DROP CONSTRAINT search_postings_pkey");
      TM_RETURN_IF_ERROR(RebuildSearchIndexIn(tx));
      tx.ExecUnprepared("SET LOCAL maintenance_work_mem = '256MB'");
      tx.ExecUnprepared("ALTER TABLE search_postings ADD PRIMARY KEY (term, score, asset_id)");
      // Whoever holds a copy of the index loads it again.
      LogSearchChanges(tx, {kSearchChangeAll}, model::ToMicros(clock_.Now()));
      return Status::Ok();
    });
    if (!rebuilt.ok()) {
      std::unique_lock lock(typo_mu_);
      known_typos_.clear();  // it was refilled for rows now rolled back
    } else if (memory_search_) {
      memory_search_->CatchUp();
    }
    return rebuilt;
  }

  Result<SearchResults> Search(const SearchQuery& query) override {
    if (memory_search_) {
      if (auto answered = memory_search_->Search(query)) return std::move(*answered);
    }
    return Read("search", [&](PgTx& tx) -> Result<SearchResults> {
      PgReader reader(tx);
      return RunSearch(query, reader);
    });
  }

  Result<std::vector<Suggestion>> Suggest(const SuggestQuery& query) override {
    if (memory_search_) {
      if (auto answered = memory_search_->Suggest(query)) return std::move(*answered);
    }
    return Read("suggest", [&](PgTx& tx) -> Result<std::vector<Suggestion>> {
      PgReader reader(tx);
      return RunSuggest(query, reader);
    });
  }

  Result<LineageGraph> Lineage(const LineageQuery& query) override {
    return Read("lineage", [&](PgTx& tx) -> Result<LineageGraph> {
      PgReader reader(tx);
      return RunLineage(query, reader);
    });
  }

  Result<LineageSubgraph> WalkLineage(const std::vector<AssetKey>& starts, Direction direction,
                                      int depth, size_t max_nodes) override {
    return Read("walk lineage", [&](PgTx& tx) -> Result<LineageSubgraph> {
      PgReader reader(tx);
      return RunLineageWalk(starts, direction, depth, max_nodes, reader);
    });
  }

  Result<ImpactReport> Impact(const AssetKey& key, size_t max_nodes) override {
    return Read("impact", [&](PgTx& tx) -> Result<ImpactReport> {
      PgReader reader(tx);
      return RunImpact(key, max_nodes, reader);
    });
  }

  Result<std::vector<AssetHealth>> GetHealth(const std::vector<AssetKey>& keys) override {
    return Read("health", [&](PgTx& tx) -> Result<std::vector<AssetHealth>> {
      std::vector<std::int64_t> ids;
      std::vector<std::optional<std::int64_t>> id_of;
      for (const AssetKey& k : keys) {
        id_of.push_back(FindId(tx, k));
        if (id_of.back()) ids.push_back(*id_of.back());
      }
      PgReader reader(tx);
      TM_ASSIGN_OR_RETURN(auto health, static_cast<SearchReader&>(reader).Health(ids));
      std::vector<AssetHealth> out;
      for (size_t i = 0; i < keys.size(); ++i) {
        AssetHealth h;
        if (id_of[i]) {
          if (auto it = health.find(*id_of[i]); it != health.end()) h = it->second;
        }
        h.key = keys[i];
        out.push_back(std::move(h));
      }
      return out;
    });
  }

  Result<std::vector<OwnedAsset>> ListOwnedAssets(std::string_view owner_id) override {
    return Read("owned assets", [&](PgTx& tx) -> Result<std::vector<OwnedAsset>> {
      if (tx.Exec(kSelectOwner, std::string(owner_id)).empty()) {
        return Status::NotFound("no owner '" + std::string(owner_id) + "'");
      }
      std::vector<std::pair<std::int64_t, std::string>> owned;
      for (const pqxx::row& r : tx.Exec(kSelectOwnedIds, std::string(owner_id))) {
        owned.emplace_back(Int(r[0]), Text(r[1]));
      }
      PgReader reader(tx);
      return OwnedAssetsOf(reader, owned);
    });
  }

  Result<model::Asset> GetAsset(const AssetKey& key) override {
    return Read("get asset", [&](PgTx& tx) -> Result<model::Asset> {
      pqxx::result rows = tx.Exec(kSelectAssetByKey, key.ToString());
      if (rows.empty()) return Status::NotFound("no asset '" + key.ToString() + "'");
      return ReadAsset(rows[0]);
    });
  }

  Result<AssetKey> Resolve(std::string_view alias_or_key) override {
    return Read("resolve", [&](PgTx& tx) -> Result<AssetKey> {
      pqxx::result rows = tx.Exec(kResolve, std::string(alias_or_key));
      if (rows.empty()) {
        return Status::NotFound("no asset or alias '" + std::string(alias_or_key) + "'");
      }
      return KeyAt(rows[0], 0);
    });
  }

  Result<std::vector<model::Asset>> ListAssets(const AssetFilter& filter) override {
    return Read("list assets", [&](PgTx& tx) -> Result<std::vector<model::Asset>> {
      std::optional<std::string> kind;
      if (filter.kind) kind = std::string(model::AssetKindName(*filter.kind));
      pqxx::result rows =
          filter.after.empty()
              ? tx.Exec(kSelectAssetsPage, Nullable(kind).get(), filter.source,
                        filter.include_removed, Limit(filter.limit), Limit(filter.offset))
              : tx.Exec(kSelectAssetsPageAfter, Nullable(kind).get(), filter.source,
                        filter.include_removed, Limit(filter.limit), Limit(filter.offset),
                        filter.after);
      return ReadAll<model::Asset>(std::move(rows), ReadAsset);
    });
  }

  Result<std::vector<model::Column>> GetColumns(const AssetKey& key) override {
    return ReadList<model::Column>("get columns", kSelectColumns, key.ToString(), ReadColumn);
  }

  Result<model::Owner> GetOwner(std::string_view owner_id) override {
    return Read("get owner", [&](PgTx& tx) -> Result<model::Owner> {
      pqxx::result rows = tx.Exec(kSelectOwner, std::string(owner_id));
      if (rows.empty()) return Status::NotFound("no owner '" + std::string(owner_id) + "'");
      return ReadOwner(rows[0]);
    });
  }

  Result<std::vector<std::pair<model::Owner, std::string>>> GetOwnersOf(
      const AssetKey& key) override {
    return ReadList<std::pair<model::Owner, std::string>>(
        "get owners", kSelectOwnersOf, key.ToString(),
        [](const pqxx::row& r) { return std::make_pair(ReadOwner(r), Text(r[6])); });
  }

  Result<std::vector<std::optional<model::Asset>>> GetAssets(
      const std::vector<AssetKey>& keys) override {
    return Read("get assets", [&](PgTx& tx) -> Result<std::vector<std::optional<model::Asset>>> {
      std::vector<std::optional<model::Asset>> out(keys.size());
      for (const pqxx::row& r : tx.Exec(kSelectAssetsByKey, KeyArray(keys))) {
        out[Ordinal(r[14], out.size())] = ReadAsset(r);
      }
      return out;
    });
  }

  Result<std::vector<std::vector<std::pair<model::Owner, std::string>>>> GetOwnersOfMany(
      const std::vector<AssetKey>& keys) override {
    using Owners = std::vector<std::pair<model::Owner, std::string>>;
    return Read("get owners", [&](PgTx& tx) -> Result<std::vector<Owners>> {
      std::vector<Owners> out(keys.size());
      for (const pqxx::row& r : tx.Exec(kSelectOwnersOfMany, KeyArray(keys))) {
        out[Ordinal(r[7], out.size())].emplace_back(ReadOwner(r), Text(r[6]));
      }
      return out;
    });
  }

  Result<std::vector<AssetKey>> GetOwnedBy(std::string_view owner_id) override {
    return ReadList<AssetKey>("get owned assets", kSelectOwnedBy, std::string(owner_id),
                              [](const pqxx::row& r) { return KeyAt(r, 0); });
  }

  Result<std::vector<model::LineageEdge>> GetEdges(const AssetKey& key,
                                                   Direction direction) override {
    return ReadList<model::LineageEdge>(
        "get edges", direction == Direction::kUpstream ? kSelectEdgesUp : kSelectEdgesDown,
        key.ToString(), ReadEdge);
  }

  Result<model::Run> GetRun(std::string_view run_id) override {
    return Read("get run", [&](PgTx& tx) -> Result<model::Run> {
      pqxx::result rows = tx.Exec(kSelectRun, std::string(run_id));
      if (rows.empty()) return Status::NotFound("no run '" + std::string(run_id) + "'");
      return ReadRun(rows[0]);
    });
  }

  Result<std::vector<model::NodeResult>> GetNodeResults(std::string_view run_id) override {
    return ReadList<model::NodeResult>("get node results", kSelectNodeResults, std::string(run_id),
                                       ReadNodeResult);
  }

  Result<std::vector<model::NodeResult>> GetRecentResults(const AssetKey& key,
                                                          size_t limit) override {
    return ReadById<model::NodeResult>("get recent results", key, [&](PgTx& tx, std::int64_t id) {
      return ReadAll<model::NodeResult>(tx.Exec(kSelectRecentResults, id, Limit(limit)),
                                        ReadNodeResult);
    });
  }

  Result<model::Series> ReadSeries(const AssetKey& key, std::string_view metric, Timestamp from,
                                   Timestamp to) override {
    return Read("read series", [&](PgTx& tx) -> Result<model::Series> {
      model::Series series{key, std::string(metric), {}, {}};
      std::optional<std::int64_t> id = FindId(tx, key);
      if (!id) return series;
      pqxx::result rows = tx.Exec(kSelectSeries, *id, std::string(metric), model::ToMicros(from),
                                  model::ToMicros(to));
      series.ts.reserve(rows.size());
      series.values.reserve(rows.size());
      for (const pqxx::row& r : rows) {
        series.ts.push_back(Time(r[0]));
        series.values.push_back(Real(r[1]));
      }
      return series;
    });
  }

  Result<std::vector<model::Series>> ReadSeriesMany(
      const std::vector<SeriesRange>& ranges) override {
    return Read("read series", [&](PgTx& tx) -> Result<std::vector<model::Series>> {
      std::vector<model::Series> out;
      out.reserve(ranges.size());
      std::vector<AssetKey> keys;
      keys.reserve(ranges.size());
      for (const SeriesRange& r : ranges) {
        out.push_back({r.key, r.metric, {}, {}});
        keys.push_back(r.key);
      }
      PgReader reader(tx);
      TM_ASSIGN_OR_RETURN(auto ids, reader.IdsOf(keys));
      // Ranges of known assets, by their index in `ranges`.
      std::vector<size_t> known;
      std::vector<std::int64_t> known_ids;
      for (size_t i = 0; i < ranges.size(); ++i) {
        if (!ids[i]) continue;
        known.push_back(i);
        known_ids.push_back(*ids[i]);
      }
      for (size_t begin = 0; begin < known.size(); begin += kSeriesPerStatement) {
        const size_t n = std::min(kSeriesPerStatement, known.size() - begin);
        const std::span<const size_t> chunk(known.data() + begin, n);
        pqxx::result rows = tx.Exec(
            kSelectSeriesMany, ArrayLiteral(std::span(known_ids).subspan(begin, n)),
            ArrayLiteral(chunk, [&](size_t i) -> std::string_view { return ranges[i].metric; }),
            ArrayLiteral(chunk, [&](size_t i) { return model::ToMicros(ranges[i].from); }),
            ArrayLiteral(chunk, [&](size_t i) { return model::ToMicros(ranges[i].to); }));
        for (const pqxx::row& r : rows) {
          model::Series& series = out[chunk[Ordinal(r[0], chunk.size())]];
          series.ts.push_back(Time(r[1]));
          series.values.push_back(Real(r[2]));
        }
      }
      return out;
    });
  }

  Result<std::vector<DetectionInputs>> ReadDetectionInputs(const std::vector<AssetKey>& keys,
                                                           Timestamp since,
                                                           size_t results_limit) override {
    return Read("read detection inputs", [&](PgTx& tx) -> Result<std::vector<DetectionInputs>> {
      std::vector<DetectionInputs> out(keys.size());
      const std::string key_array = KeyArray(keys);
      for (const pqxx::row& r : tx.Exec(kSelectAnomaliesOfMany, key_array, model::ToMicros(since))) {
        out[Ordinal(r[19], out.size())].anomalies.push_back(ReadAnomaly(r));
      }
      for (const pqxx::row& r : tx.Exec(kSelectMetricsOfMany, key_array)) {
        out[Ordinal(r[0], out.size())].metrics.push_back(Text(r[1]));
      }
      for (const pqxx::row& r : tx.Exec(kSelectSnapshotsOfMany, key_array)) {
        const size_t i = Ordinal(r[0], out.size());
        out[i].schema_history.push_back(
            model::SchemaSnapshot{keys[i], Time(r[1]), Text(r[2]), ColumnsFromJson(TextView(r[3]))});
      }
      for (const pqxx::row& r :
           tx.Exec(kSelectRecentResultsOfMany, key_array, Limit(results_limit))) {
        out[Ordinal(r[14], out.size())].recent_results.push_back(ReadNodeResult(r));
      }
      return out;
    });
  }

  Result<std::vector<std::string>> ListMetrics(const AssetKey& key) override {
    return ReadById<std::string>("list metrics", key, [](PgTx& tx, std::int64_t id) {
      return ReadAll<std::string>(tx.Exec(kSelectMetrics, id),
                                  [](const pqxx::row& r) { return Text(r[0]); });
    });
  }

  Result<std::vector<model::SchemaSnapshot>> GetSchemaHistory(const AssetKey& key) override {
    return ReadById<model::SchemaSnapshot>(
        "get schema history", key, [&](PgTx& tx, std::int64_t id) {
          return ReadAll<model::SchemaSnapshot>(
              tx.Exec(kSelectSnapshots, id), [&](const pqxx::row& r) {
                return model::SchemaSnapshot{key, Time(r[0]), Text(r[1]), ColumnsFromJson(TextView(r[2]))};
              });
        });
  }

  Result<std::vector<model::Anomaly>> ListAnomalies(const AnomalyFilter& filter) override {
    return Read("list anomalies", [&](PgTx& tx) -> Result<std::vector<model::Anomaly>> {
      std::optional<std::int64_t> id;
      if (filter.asset) {
        id = FindId(tx, *filter.asset);
        if (!id) return std::vector<model::Anomaly>{};
      }
      return ReadAll<model::Anomaly>(
          tx.Exec(id ? kSelectAssetAnomalies : kSelectAnomalies, Nullable(id).get(),
                  Nullable(OptMicros(filter.since)).get(), filter.incident_id,
                  Limit(filter.limit)),
          ReadAnomaly);
    });
  }

  Result<model::Incident> GetIncident(std::string_view id) override {
    return Read("get incident", [&](PgTx& tx) -> Result<model::Incident> {
      pqxx::result rows = tx.Exec(kSelectIncident, std::string(id));
      if (rows.empty()) return Status::NotFound("no incident '" + std::string(id) + "'");
      return ReadIncident(rows[0]);
    });
  }

  Result<std::vector<model::Incident>> ListIncidents(std::optional<model::IncidentState> state,
                                                     size_t limit) override {
    return Read("list incidents", [&](PgTx& tx) -> Result<std::vector<model::Incident>> {
      std::optional<std::string> name;
      if (state) name = std::string(model::IncidentStateName(*state));
      return ReadAll<model::Incident>(tx.Exec(kSelectIncidents, Nullable(name).get(), Limit(limit)),
                                      ReadIncident);
    });
  }

  Result<std::vector<model::Alert>> ClaimAlerts(std::string_view worker, size_t limit,
                                                Timestamp now,
                                                std::chrono::seconds lease) override {
    if (worker.empty()) return Status::InvalidArgument("worker name is empty", "ClaimAlerts");
    return Transact<pqxx::work>("claim alerts", [&](PgTx& tx) -> Result<std::vector<model::Alert>> {
      auto alerts =
          ReadAll<model::Alert>(tx.Exec(kClaimAlerts, std::string(worker), model::ToMicros(now),
                                        model::ToMicros(now + lease), Limit(limit)),
                                ReadAlert);
      std::sort(alerts.begin(), alerts.end(), [](const model::Alert& a, const model::Alert& b) {
        return std::tie(a.next_attempt_at, a.id) < std::tie(b.next_attempt_at, b.id);
      });
      return alerts;
    });
  }

  Status MarkAlertDelivered(std::string_view alert_id, std::string_view worker,
                            Timestamp now) override {
    return FinishAlert("mark alert delivered", alert_id, [&](PgTx& tx) {
      return tx.Exec(kAlertDelivered, std::string(alert_id), std::string(worker),
                     model::ToMicros(now));
    });
  }

  Result<std::vector<std::string>> MarkAlertsDelivered(const std::vector<std::string>& alert_ids,
                                                       std::string_view worker,
                                                       Timestamp now) override {
    return Transact<pqxx::work>(
        "mark alerts delivered", [&](PgTx& tx) -> Result<std::vector<std::string>> {
          std::vector<std::string> done;
          for (const std::string& id : alert_ids) {
            if (tx.Exec(kAlertDelivered, id, std::string(worker), model::ToMicros(now))
                    .affected_rows() > 0) {
              done.push_back(id);
            }
          }
          return done;
        });
  }

  Status MarkAlertFailed(std::string_view alert_id, std::string_view worker, std::string_view error,
                         Timestamp retry_at, bool dead) override {
    return FinishAlert("mark alert failed", alert_id, [&](PgTx& tx) {
      return tx.Exec(kAlertFailed, std::string(alert_id), std::string(worker), std::string(error),
                     model::ToMicros(retry_at), dead);
    });
  }

  Result<std::vector<model::Alert>> ListAlerts(std::optional<model::AlertState> state,
                                               size_t limit) override {
    return Read("list alerts", [&](PgTx& tx) -> Result<std::vector<model::Alert>> {
      std::optional<std::string> name;
      if (state) name = std::string(model::AlertStateName(*state));
      return ReadAll<model::Alert>(tx.Exec(kSelectAlerts, Nullable(name).get(), Limit(limit)),
                                   ReadAlert);
    });
  }

  Result<Checkpoint> GetCheckpoint(std::string_view scope, std::string_view key) override {
    return Read("get checkpoint", [&](PgTx& tx) -> Result<Checkpoint> {
      pqxx::result rows = tx.Exec(kSelectCheckpoint, std::string(scope), std::string(key));
      if (rows.empty()) {
        return Status::NotFound("no checkpoint '" + std::string(key) + "' in '" +
                                std::string(scope) + "'");
      }
      return ReadCheckpoint(rows[0]);
    });
  }

  Result<std::vector<Checkpoint>> ListCheckpoints(std::string_view scope) override {
    return ReadList<Checkpoint>("list checkpoints", kSelectCheckpoints, std::string(scope),
                                ReadCheckpoint);
  }

  Result<std::vector<std::int64_t>> AppendLineageEvents(
      const std::vector<LineageEvent>& events) override {
    if (events.empty()) return std::vector<std::int64_t>();
    const std::string received =
        ArrayLiteral(events, [](const LineageEvent& e) { return model::ToMicros(e.received_at); });
    const std::string times =
        ArrayLiteral(events, [](const LineageEvent& e) { return model::ToMicros(e.event_time); });
    const std::string runs =
        ArrayLiteral(events, [](const LineageEvent& e) -> std::string_view { return e.run_id; });
    const std::string bodies =
        ArrayLiteral(events, [](const LineageEvent& e) -> std::string_view { return e.body; });
    return Transact<pqxx::work>(
        "append lineage events", [&](PgTx& tx) -> Result<std::vector<std::int64_t>> {
          tx.ExecParams("SELECT pg_advisory_xact_lock($1)", kPgLineageLogLock);
          std::vector<std::int64_t> ids;
          ids.reserve(events.size());
          for (const pqxx::row& r : tx.Exec(kAppendLineageEvents, received, times, runs, bodies)) {
            ids.push_back(Int(r[0]));
          }
          // Ids follow the insertion order (ORDER BY ord); RETURNING's order is not promised.
          std::sort(ids.begin(), ids.end());
          if (ids.size() != events.size()) return Status::Internal("append lost events");
          return ids;
        });
  }

  Result<std::vector<LineageEvent>> ReadLineageEvents(std::int64_t after_id,
                                                      size_t limit) override {
    return Read("read lineage events", [&](PgTx& tx) -> Result<std::vector<LineageEvent>> {
      return ReadAll<LineageEvent>(
          tx.Exec(kReadLineageEvents, after_id, static_cast<std::int64_t>(limit)),
          [](const pqxx::row& r) {
            return LineageEvent{Int(r[0]), Time(r[1]), Text(r[2]), Time(r[3]), Text(r[4])};
          });
    });
  }

  std::uint64_t WriteGeneration() override {
    auto n = Read("write generation", [&](PgTx& tx) -> Result<std::int64_t> {
      pqxx::result r = tx.Exec(kSelectWriteGeneration);
      if (r.empty()) return Status::NotFound("no write generation row");
      return Int(r[0][0]);
    });
    // 0 is "not tracked": a store that did not answer, or a row someone deleted.
    return n.ok() && *n > 0 ? static_cast<std::uint64_t>(*n) : 0;
  }

  Result<LineageLogStatus> GetLineageLogStatus() override {
    return Read("lineage log status", [&](PgTx& tx) -> Result<LineageLogStatus> {
      pqxx::row r = tx.Exec(kLineageLogStatus, std::string(kLineageLogScope),
                            std::string(kLineageLogProjectedKey))
                        .at(0);
      LineageLogStatus out;
      out.projected_through = Int(r[0]);
      out.last_id = std::max(Int(r[1]), out.projected_through);
      out.waiting = Int(r[2]);
      out.oldest_waiting = OptTime(r[3]);
      return out;
    });
  }

  Result<size_t> PruneLineageEvents(Timestamp received_before) override {
    return Transact<pqxx::work>("prune lineage events", [&](PgTx& tx) -> Result<size_t> {
      return static_cast<size_t>(tx.Exec(kPruneLineageEvents, std::string(kLineageLogScope),
                                         std::string(kLineageLogProjectedKey),
                                         model::ToMicros(received_before))
                                     .affected_rows());
    });
  }

  Result<AlertCounts> CountAlerts() override {
    return Read("count alerts", [](PgTx& tx) -> Result<AlertCounts> {
      AlertCounts c;
      for (const pqxx::row& r : tx.Exec(kCountAlerts)) {
        AddAlertCount(c, r[0].c_str(), Int(r[1]));
      }
      return c;
    });
  }

  Result<StoreCounts> Counts() override {
    return Read("count rows", [](PgTx& tx) -> Result<StoreCounts> {
      pqxx::row r = tx.Exec(kCounts).at(0);
      StoreCounts c;
      long long* fields[] = {&c.assets,    &c.columns,      &c.edges,         &c.owners,
                             &c.runs,      &c.node_results, &c.metric_points, &c.schema_snapshots,
                             &c.anomalies, &c.incidents,    &c.alerts};
      for (int i = 0; i < 11; ++i) *fields[i] = Int(r[i]);
      return c;
    });
  }

 private:
  // Attempts per call (see Transact): after a broken connection, after a deadlock.
  static constexpr int kConnectionAttempts = 2;
  static constexpr int kDeadlockAttempts = 3;

  // Runs `body` in a transaction of type Txn on a pooled connection and commits when it
  // returns OK (a non-OK result rolls everything back). `body` returns Status or Result<T>.
  //
  // Every exception ends here and leaves as a Status (PgError). A connection that turns out
  // broken before commit is replaced and the whole call retried once: the server rolled the
  // transaction back, so nothing is applied twice, and a server restart or a killed backend
  // costs callers nothing. A connection lost *during* commit is not retried: the outcome is
  // unknown (pqxx::in_doubt_error, reported as Unavailable). A transaction PostgreSQL aborted
  // to break a deadlock is retried too (up to kDeadlockAttempts): it was rolled back whole.
  template <typename Txn, typename Fn>
  auto Transact(std::string_view context, Fn&& body) -> std::invoke_result_t<Fn&, PgTx&> {
    for (int attempt = 1;; ++attempt) {
      try {
        PgPool::Lease conn = pool_.Acquire();
        try {
          Txn txn(conn->get());
          PgTx tx(*conn, txn);
          auto result = body(tx);
          if (result.ok()) txn.commit();
          return result;
        } catch (const pqxx::broken_connection&) {
          conn.MarkBroken();
          throw;
        } catch (const pqxx::in_doubt_error&) {
          conn.MarkBroken();
          throw;
        }
      } catch (const pqxx::broken_connection& e) {
        if (attempt < kConnectionAttempts) continue;
        return PgError(context, e);
      } catch (const pqxx::deadlock_detected& e) {
        if (attempt < kDeadlockAttempts) continue;
        return PgError(context, e);
      } catch (const std::exception& e) {
        return PgError(context, e);
      }
    }
  }

  template <typename Fn>
  auto Read(std::string_view context, Fn&& body) -> std::invoke_result_t<Fn&, PgTx&> {
    if (pinned_tx.store == this) {  // inside ReadTogether: its transaction, no retry
      try {
        return body(*pinned_tx.tx);
      } catch (const std::exception& e) {
        return PgError(context, e);
      }
    }
    return Transact<pqxx::read_transaction>(context, std::forward<Fn>(body));
  }

 public:
  // One connection and one read-only transaction for every read `fn` makes on this thread:
  // detection's handful of reads per asset then cost a statement each instead of a BEGIN, the
  // statement and a COMMIT, each a round trip. A read that fails leaves the transaction
  // aborted, so the reads after it fail too; `fn` returns the first error anyway. A connection
  // lost during `fn` is not retried (fn may have kept what it read): Unavailable.
  Status ReadTogether(const std::function<Status()>& fn) override {
    if (pinned_tx.store == this) return fn();  // nested
    try {
      PgPool::Lease conn = pool_.Acquire();
      try {
        pqxx::read_transaction txn(conn->get());
        PgTx tx(*conn, txn);
        pinned_tx = {this, &tx};
        Status status = fn();
        pinned_tx = {};
        if (status.ok()) txn.commit();
        return status;
      } catch (const pqxx::broken_connection&) {
        pinned_tx = {};
        conn.MarkBroken();
        throw;
      } catch (...) {
        pinned_tx = {};
        throw;
      }
    } catch (const std::exception& e) {
      return PgError("read together", e);
    }
  }

 private:

  // The rows of a statement taking one text parameter, each converted by `read`.
  template <typename T, typename Reader>
  Result<std::vector<T>> ReadList(std::string_view context, const PgStatement& stmt,
                                  const std::string& param, Reader read) {
    return Read(context, [&](PgTx& tx) -> Result<std::vector<T>> {
      return ReadAll<T>(tx.Exec(stmt, param), read);
    });
  }

  // `query(tx, asset_id)` for the asset named `key`; empty when the asset is unknown. The
  // append-only tables are queried by asset_id, never joined to assets (Citus-friendly).
  template <typename T, typename Query>
  Result<std::vector<T>> ReadById(std::string_view context, const AssetKey& key, Query query) {
    return Read(context, [&](PgTx& tx) -> Result<std::vector<T>> {
      std::optional<std::int64_t> id = FindId(tx, key);
      if (!id) return std::vector<T>{};
      return query(tx, *id);
    });
  }

  static std::optional<std::int64_t> FindId(PgTx& tx, const AssetKey& key) {
    std::string text = key.ToString();
    if (auto known = tx.KnownAssetId(text)) return known;
    pqxx::result rows = tx.Exec(kSelectAssetId, text);
    if (rows.empty()) return std::nullopt;
    const std::int64_t id = Int(rows[0][0]);
    tx.RememberAssetId(std::move(text), id);
    return id;
  }

  static int ReadVersion(PgTx& tx) {
    if (!tx.ExecUnprepared(kMigrationsTableExists).at(0)[0].as<bool>()) return 0;
    return tx.ExecUnprepared(kMaxVersion).at(0)[0].as<int>();
  }

  // Applies a lease-checked alert update; explains a no-op as NotFound or a lost lease.
  template <typename Update>
  Status FinishAlert(std::string_view context, std::string_view alert_id, Update update) {
    return Transact<pqxx::work>(context, [&](PgTx& tx) -> Status {
      if (update(tx).affected_rows() > 0) return Status::Ok();
      if (tx.Exec(kAlertExists, std::string(alert_id)).empty()) {
        return Status::NotFound("no alert '" + std::string(alert_id) + "'");
      }
      return Status::InvalidArgument("alert '" + std::string(alert_id) +
                                     "' is not leased to this worker (lease expired or taken)");
    });
  }

  Status RebuildSearchIndexIn(PgTx& tx) {
    std::vector<std::int64_t> ids;
    for (const pqxx::row& r : tx.Exec(kSelectAllAssetIds)) ids.push_back(Int(r[0]));
    PgIndexWriter writer(tx);
    std::vector<std::string> added;
    std::unique_lock lock(typo_mu_);
    TM_RETURN_IF_ERROR(ReindexAssets(writer, ids, known_typos_, added));
    known_typos_.insert(added.begin(), added.end());
    return Status::Ok();
  }

  const std::string description_;
  PgPool pool_;
  const model::Clock& clock_;
  // Terms known to be in search_typos (a cache: a missing term only costs re-inserts).
  std::shared_mutex typo_mu_;
  std::unordered_set<std::string> known_typos_;
  // Last: stopped before the pool it reads through closes.
  std::unique_ptr<MemorySearch> memory_search_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenPostgresStore(const StoreOptions& options) {
  TM_ASSIGN_OR_RETURN(ParsedStoreUrl parsed, ParseStoreUrl(options.url));
  if (parsed.backend != StoreBackend::kPostgres) {
    return Status::InvalidArgument("not a PostgreSQL URL: " + RedactUrl(options.url), "db");
  }
  const model::Clock& clock = options.clock ? *options.clock : model::SystemClock();
  auto store = std::make_unique<PostgresStore>(
      RedactUrl(options.url), WithSessionDefaults(parsed.target, options.busy_timeout),
      static_cast<size_t>(std::max(1, options.pool_size)), clock);
  // Connects (Unavailable when the server cannot be reached), then checks or applies the
  // migrations (Corruption when the schema is newer than this binary).
  TM_RETURN_IF_ERROR(store->Migrate(options.migrate));
  TM_RETURN_IF_ERROR(store->StartMemorySearch(options));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace tidemark::catalog
