// SqliteStore: the embedded default Store.
//
// One connection writes, under a mutex (SQLite allows one writer at a time anyway); a small
// pool of read-only connections serves reads concurrently thanks to WAL. An in-memory database
// cannot be shared between connections, so there every call uses the writer.
//
// A Write runs in one BEGIN IMMEDIATE transaction: a failure anywhere rolls back all of it.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <condition_variable>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "columns_json.h"
#include "lineage_walk.h"
#include "memory_search.h"
#include "sqlite_db.h"
#include "sqlite_lineage_log.h"
#include "sqlite_schema.h"
#include "sqlite_search.h"
#include "store_rules.h"
#include "store_url.h"
#include "tidemark/catalog/store.h"

namespace tidemark::catalog {
namespace {

using model::AssetKey;
using model::Timestamp;

// ---- SQL ------------------------------------------------------------------------------------

#define TM_ASSET_COLS                                                                        \
  "a.namespace, a.name, a.kind, a.display_name, a.description, a.source, a.database_name, " \
  "a.schema_name, a.status, a.properties, a.created_at, a.updated_at, a.asset_id"

constexpr char kSelectAssetByKey[] = "SELECT " TM_ASSET_COLS " FROM assets a WHERE a.key = ?1";
#define TM_ASSETS_PAGE_WHERE                                          \
  " WHERE (?1 IS NULL OR a.kind = ?1) AND (?2 = '' OR a.source = ?2)" \
  "   AND (?3 OR a.status <> 'removed')"
constexpr char kSelectAssetsPage[] = "SELECT " TM_ASSET_COLS " FROM assets a" TM_ASSETS_PAGE_WHERE
                                     " ORDER BY a.key LIMIT ?4 OFFSET ?5";
// Its own statement, so that "a.key > ?6" starts the scan of the key index there.
constexpr char kSelectAssetsPageAfter[] = "SELECT " TM_ASSET_COLS " FROM assets a"
    TM_ASSETS_PAGE_WHERE " AND a.key > ?6 ORDER BY a.key LIMIT ?4 OFFSET ?5";
#undef TM_ASSETS_PAGE_WHERE
constexpr char kSelectTags[] = "SELECT tag FROM asset_tags WHERE asset_id = ?1 ORDER BY tag";
constexpr char kSelectAliases[] =
    "SELECT alias FROM asset_aliases WHERE asset_id = ?1 ORDER BY alias";
constexpr char kSelectAssetId[] = "SELECT asset_id FROM assets WHERE key = ?1";
constexpr char kInsertPlaceholder[] =
    "INSERT INTO assets (key, namespace, name, kind, display_name, source, created_at,"
    " updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING asset_id";
constexpr char kUpsertAsset[] =
    "INSERT INTO assets (key, namespace, name, kind, display_name, description, source,"
    " database_name, schema_name, status, properties, created_at, updated_at, removed_at)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12,"
    "         CASE WHEN ?10 = 'removed' THEN ?12 END)"
    " ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, display_name = excluded.display_name,"
    "   description = excluded.description, source = excluded.source,"
    "   database_name = excluded.database_name, schema_name = excluded.schema_name,"
    "   status = excluded.status, properties = excluded.properties,"
    "   updated_at = excluded.updated_at, removed_at = excluded.removed_at"
    " WHERE (kind, display_name, description, source, database_name, schema_name, status,"
    "        properties) IS NOT"
    "       (excluded.kind, excluded.display_name, excluded.description, excluded.source,"
    "        excluded.database_name, excluded.schema_name, excluded.status,"
    "        excluded.properties)"
    " RETURNING asset_id";
constexpr char kUpsertAlias[] =
    "INSERT INTO asset_aliases (alias, asset_id) VALUES (?1, ?2)"
    " ON CONFLICT (alias) DO UPDATE SET asset_id = excluded.asset_id"
    " WHERE asset_id IS NOT excluded.asset_id";
constexpr char kResolveKey[] = "SELECT namespace, name FROM assets WHERE key = ?1";
constexpr char kResolveAlias[] =
    "SELECT a.namespace, a.name FROM asset_aliases x JOIN assets a USING (asset_id)"
    " WHERE x.alias = ?1";
constexpr char kDeleteColumns[] = "DELETE FROM columns WHERE asset_id = ?1";
constexpr char kInsertColumn[] =
    "INSERT INTO columns (asset_id, name, position, data_type, description, nullable, tags,"
    " properties) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
constexpr char kSelectColumns[] =
    "SELECT name, position, data_type, description, nullable, tags, properties FROM columns"
    " WHERE asset_id = ?1 ORDER BY position, name";
constexpr char kDeleteTags[] = "DELETE FROM asset_tags WHERE asset_id = ?1";
constexpr char kInsertTag[] =
    "INSERT INTO asset_tags (asset_id, tag) VALUES (?1, ?2) ON CONFLICT DO NOTHING";
constexpr char kUpsertOwner[] =
    "INSERT INTO owners (owner_id, kind, name, email, channel, properties)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    " ON CONFLICT (owner_id) DO UPDATE SET kind = excluded.kind, name = excluded.name,"
    "   email = excluded.email, channel = excluded.channel, properties = excluded.properties";
constexpr char kOwnerExists[] = "SELECT 1 FROM owners WHERE owner_id = ?1";
constexpr char kDeleteOwnerships[] = "DELETE FROM ownerships WHERE asset_id = ?1";
constexpr char kInsertOwnership[] =
    "INSERT INTO ownerships (asset_id, owner_id, role) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (asset_id, owner_id) DO UPDATE SET role = excluded.role";
#define TM_OWNER_COLS "o.owner_id, o.kind, o.name, o.email, o.channel, o.properties"
constexpr char kSelectOwner[] = "SELECT " TM_OWNER_COLS " FROM owners o WHERE o.owner_id = ?1";
constexpr char kSelectOwnersOf[] =
    "SELECT " TM_OWNER_COLS ", w.role FROM ownerships w JOIN owners o USING (owner_id)"
    " WHERE w.asset_id = ?1 ORDER BY o.owner_id";
constexpr char kSelectOwnedBy[] =
    "SELECT a.namespace, a.name FROM ownerships w JOIN assets a USING (asset_id)"
    " WHERE w.owner_id = ?1 ORDER BY a.key";
constexpr char kMarkRemoved[] =
    "UPDATE assets SET status = 'removed', removed_at = ?2, updated_at = ?2"
    " WHERE key = ?1 AND status <> 'removed'";
constexpr char kSelectEdgeKeysInto[] =
    "SELECT upstream_id, downstream_column, upstream_column FROM lineage_edges"
    " WHERE downstream_id = ?1 AND origin = ?2";
constexpr char kDeleteEdge[] =
    "DELETE FROM lineage_edges WHERE downstream_id = ?1 AND upstream_id = ?2"
    " AND downstream_column = ?3 AND upstream_column = ?4 AND origin = ?5";
constexpr char kUpsertEdge[] =
    "INSERT INTO lineage_edges (downstream_id, upstream_id, downstream_column, upstream_column,"
    " origin, via_id, transformation) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
    " ON CONFLICT DO UPDATE SET via_id = excluded.via_id,"
    "   transformation = excluded.transformation"
    " WHERE (via_id, transformation) IS NOT (excluded.via_id, excluded.transformation)";
#define TM_EDGE_SELECT                                                                     \
  "SELECT u.namespace, u.name, d.namespace, d.name, e.upstream_column,"                    \
  " e.downstream_column, v.namespace, v.name, e.origin, e.transformation"                  \
  " FROM lineage_edges e JOIN assets u ON u.asset_id = e.upstream_id"                       \
  " JOIN assets d ON d.asset_id = e.downstream_id LEFT JOIN assets v ON v.asset_id = e.via_id"
constexpr char kSelectEdgesUp[] = TM_EDGE_SELECT
    " WHERE e.downstream_id = ?1 ORDER BY u.key, e.upstream_column, e.downstream_column, e.origin";
constexpr char kSelectEdgesDown[] = TM_EDGE_SELECT
    " WHERE e.upstream_id = ?1 ORDER BY d.key, e.downstream_column, e.upstream_column, e.origin";
#define TM_RUN_COLS                                                                          \
  "r.run_id, j.namespace, j.name, r.source, r.state, r.started_at, r.ended_at,"            \
  " r.nominal_time, r.parent_run_id, r.error_message, r.properties, r.event_time"
constexpr char kSelectRun[] =
    "SELECT " TM_RUN_COLS " FROM runs r LEFT JOIN assets j ON j.asset_id = r.job_id"
    " WHERE r.run_id = ?1";
constexpr char kUpsertRun[] =
    "INSERT INTO runs (run_id, job_id, source, state, started_at, ended_at, nominal_time,"
    " parent_run_id, error_message, properties, event_time)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
    " ON CONFLICT (run_id) DO UPDATE SET job_id = excluded.job_id, source = excluded.source,"
    "   state = excluded.state, started_at = excluded.started_at, ended_at = excluded.ended_at,"
    "   nominal_time = excluded.nominal_time, parent_run_id = excluded.parent_run_id,"
    "   error_message = excluded.error_message, properties = excluded.properties,"
    "   event_time = excluded.event_time";
constexpr char kRunExists[] = "SELECT 1 FROM runs WHERE run_id = ?1";
constexpr char kUpsertNodeResult[] =
    "INSERT INTO node_results (run_id, node_id, asset_id, node_kind, status, started_at,"
    " completed_at, execution_time_s, rows_affected, failures, message, thread, properties)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
    " ON CONFLICT (run_id, node_id) DO UPDATE SET asset_id = excluded.asset_id,"
    "   node_kind = excluded.node_kind, status = excluded.status,"
    "   started_at = excluded.started_at, completed_at = excluded.completed_at,"
    "   execution_time_s = excluded.execution_time_s, rows_affected = excluded.rows_affected,"
    "   failures = excluded.failures, message = excluded.message, thread = excluded.thread,"
    "   properties = excluded.properties";
#define TM_RESULT_COLS                                                                       \
  "n.run_id, n.node_id, a.namespace, a.name, n.node_kind, n.status, n.started_at,"          \
  " n.completed_at, n.execution_time_s, n.rows_affected, n.failures, n.message, n.thread,"  \
  " n.properties"
constexpr char kSelectNodeResults[] =
    "SELECT " TM_RESULT_COLS " FROM node_results n LEFT JOIN assets a USING (asset_id)"
    " WHERE n.run_id = ?1 ORDER BY n.node_id";
constexpr char kSelectRecentResults[] =
    "SELECT " TM_RESULT_COLS " FROM node_results n JOIN assets a USING (asset_id)"
    " WHERE n.asset_id = ?1 ORDER BY n.completed_at DESC NULLS LAST, n.run_id DESC LIMIT ?2";
constexpr char kInsertPoint[] =
    "INSERT INTO metric_points (asset_id, metric, ts, value) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT DO NOTHING";
constexpr char kSelectSeries[] =
    "SELECT ts, value FROM metric_points WHERE asset_id = ?1 AND metric = ?2"
    " AND ts >= ?3 AND ts < ?4 ORDER BY ts";
constexpr char kSelectMetrics[] =
    "SELECT DISTINCT metric FROM metric_points WHERE asset_id = ?1 ORDER BY metric";
constexpr char kLatestSnapshot[] =
    "SELECT fingerprint FROM schema_snapshots WHERE asset_id = ?1 AND observed_at <= ?2"
    " ORDER BY observed_at DESC LIMIT 1";
constexpr char kInsertSnapshot[] =
    "INSERT INTO schema_snapshots (asset_id, observed_at, source, fingerprint, columns)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING";
constexpr char kSelectSnapshots[] =
    "SELECT observed_at, source, columns FROM schema_snapshots WHERE asset_id = ?1"
    " ORDER BY observed_at";
constexpr char kSelectIncidentRoot[] = "SELECT root_id FROM incidents WHERE id = ?1";
constexpr char kUpsertIncident[] =
    "INSERT INTO incidents (id, root_id, state, severity, title, opened_at, updated_at,"
    " acknowledged_at, resolved_at, properties) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    " ON CONFLICT (id) DO UPDATE SET root_id = excluded.root_id, state = excluded.state,"
    "   severity = excluded.severity, title = excluded.title, opened_at = excluded.opened_at,"
    "   updated_at = excluded.updated_at, acknowledged_at = excluded.acknowledged_at,"
    "   resolved_at = excluded.resolved_at, properties = excluded.properties";
#define TM_INCIDENT_SELECT                                                                   \
  "SELECT i.id, r.namespace, r.name, i.state, i.severity, i.title, i.opened_at,"            \
  " i.updated_at, i.acknowledged_at, i.resolved_at, i.properties"                          \
  " FROM incidents i LEFT JOIN assets r ON r.asset_id = i.root_id"
constexpr char kSelectIncident[] = TM_INCIDENT_SELECT " WHERE i.id = ?1";
constexpr char kSelectIncidents[] = TM_INCIDENT_SELECT
    " WHERE (?1 IS NULL OR i.state = ?1) ORDER BY i.opened_at DESC, i.id LIMIT ?2";
constexpr char kUpsertAnomaly[] =
    "INSERT INTO anomalies (asset_id, id, metric, detector, ts, value, expected_low,"
    " expected_high, score, direction, severity, train_start, train_end, train_size,"
    " seasonality, explanation, detected_at, incident_id)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)"
    " ON CONFLICT (asset_id, id) DO UPDATE SET metric = excluded.metric,"
    "   detector = excluded.detector, ts = excluded.ts, value = excluded.value,"
    "   expected_low = excluded.expected_low, expected_high = excluded.expected_high,"
    "   score = excluded.score, direction = excluded.direction, severity = excluded.severity,"
    "   train_start = excluded.train_start, train_end = excluded.train_end,"
    "   train_size = excluded.train_size, seasonality = excluded.seasonality,"
    "   explanation = excluded.explanation, detected_at = excluded.detected_at,"
    "   incident_id = excluded.incident_id";
#define TM_SELECT_ANOMALIES                                                                  \
  "SELECT a.namespace, a.name, x.id, x.metric, x.detector, x.ts, x.value, x.expected_low,"   \
  " x.expected_high, x.score, x.direction, x.severity, x.train_start, x.train_end,"          \
  " x.train_size, x.seasonality, x.explanation, x.detected_at, x.incident_id"                \
  " FROM anomalies x JOIN assets a USING (asset_id)"
#define TM_ANOMALY_FILTERS                                                                   \
  " AND (?2 IS NULL OR x.ts >= ?2) AND (?3 = '' OR x.incident_id = ?3)"                      \
  " ORDER BY x.ts DESC, x.id LIMIT ?4"
constexpr char kSelectAnomalies[] = TM_SELECT_ANOMALIES " WHERE ?1 IS NULL" TM_ANOMALY_FILTERS;
// One asset's: a separate statement, because "?1 IS NULL OR x.asset_id = ?1" cannot use the
// primary key and scans every anomaly (detection asks this once per asset).
constexpr char kSelectAssetAnomalies[] =
    TM_SELECT_ANOMALIES " WHERE x.asset_id = ?1" TM_ANOMALY_FILTERS;
#undef TM_ANOMALY_FILTERS
#undef TM_SELECT_ANOMALIES
constexpr char kInsertAlert[] =
    "INSERT INTO alerts (id, incident_id, channel, event, payload, idempotency_key, state,"
    " attempts, created_at, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'pending', 0, ?7, ?8)"
    " ON CONFLICT DO NOTHING";
#define TM_ALERT_COLS                                                                        \
  "id, incident_id, channel, event, payload, idempotency_key, state, attempts, created_at,"  \
  " next_attempt_at, delivered_at, last_error, lease_owner, lease_expires_at"
constexpr char kClaimAlerts[] =
    "UPDATE alerts SET lease_owner = ?1, lease_expires_at = ?3"
    " WHERE id IN (SELECT id FROM alerts WHERE state = 'pending' AND next_attempt_at <= ?2"
    "              AND (lease_owner = '' OR lease_expires_at <= ?2)"
    "              ORDER BY next_attempt_at, id LIMIT ?4)"
    " RETURNING " TM_ALERT_COLS;
constexpr char kAlertDelivered[] =
    "UPDATE alerts SET state = 'delivered', delivered_at = ?3, attempts = attempts + 1,"
    " lease_owner = '', lease_expires_at = NULL, last_error = ''"
    " WHERE id = ?1 AND lease_owner = ?2 AND state = 'pending'";
constexpr char kAlertFailed[] =
    "UPDATE alerts SET state = CASE WHEN ?5 THEN 'dead' ELSE 'pending' END,"
    " attempts = attempts + 1, last_error = ?3, next_attempt_at = ?4,"
    " lease_owner = '', lease_expires_at = NULL"
    " WHERE id = ?1 AND lease_owner = ?2 AND state = 'pending'";
constexpr char kAlertExists[] = "SELECT 1 FROM alerts WHERE id = ?1";
constexpr char kSelectAlerts[] =
    "SELECT " TM_ALERT_COLS " FROM alerts WHERE (?1 IS NULL OR state = ?1)"
    " ORDER BY created_at, id LIMIT ?2";
constexpr char kAnySearchDoc[] = "SELECT 1 FROM search_docs LIMIT 1";
constexpr char kMaxAssetId[] = "SELECT coalesce(max(asset_id), 0) FROM assets";
constexpr char kSelectCheckpoint[] =
    "SELECT scope, key, value, updated_at FROM checkpoints WHERE scope = ?1 AND key = ?2";
constexpr char kSelectCheckpoints[] =
    "SELECT scope, key, value, updated_at FROM checkpoints WHERE scope = ?1 ORDER BY key";
// The OpenLineage event log (migration 4). The checkpoint's value is the last projected id.
#define TM_PROJECTED_THROUGH                                                           \
  "coalesce((SELECT CAST(value AS INTEGER) FROM checkpoints WHERE scope = ?1 AND key = ?2" \
  " AND value <> ''), 0)"
constexpr char kAppendLineageEvent[] =
    "INSERT INTO lineage_events (received_at, event_time, run_id, body) VALUES (?1, ?2, ?3, ?4)";
constexpr char kReadLineageEvents[] =
    "SELECT id, received_at, run_id, event_time, body FROM lineage_events WHERE id > ?1"
    " ORDER BY id LIMIT ?2";
constexpr char kLineageLogStatus[] =
    "SELECT " TM_PROJECTED_THROUGH ", (SELECT coalesce(max(id), 0) FROM lineage_events)";
constexpr char kLineageLogWaiting[] =
    "SELECT count(*), min(received_at) FROM lineage_events WHERE id > ?1";
constexpr char kPruneLineageEvents[] =
    "DELETE FROM lineage_events WHERE id <= " TM_PROJECTED_THROUGH " AND received_at < ?3";
constexpr char kHasMigrationsTable[] =
    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'";
constexpr char kSchemaVersionSql[] = "SELECT coalesce(max(version), 0) FROM schema_migrations";
constexpr char kCountAlertsSql[] = "SELECT state, count(*) FROM alerts GROUP BY state";
constexpr char kCountsSql[] =
    "SELECT (SELECT count(*) FROM assets), (SELECT count(*) FROM columns),"
    " (SELECT count(*) FROM lineage_edges), (SELECT count(*) FROM owners),"
    " (SELECT count(*) FROM runs), (SELECT count(*) FROM node_results),"
    " (SELECT count(*) FROM metric_points), (SELECT count(*) FROM schema_snapshots),"
    " (SELECT count(*) FROM anomalies), (SELECT count(*) FROM incidents),"
    " (SELECT count(*) FROM alerts)";

// ---- row readers ----------------------------------------------------------------------------

std::string ShortName(std::string_view name) {
  size_t dot = name.find_last_of("./");
  return std::string(dot == std::string_view::npos ? name : name.substr(dot + 1));
}

AssetKey KeyAt(const SqliteStmt& s, int col) {
  if (s.IsNull(col)) return {};
  return AssetKey{s.Text(col), s.Text(col + 1)};
}

model::Asset ReadAsset(const SqliteStmt& s) {
  model::Asset a;
  a.key = KeyAt(s, 0);
  a.kind = model::ParseAssetKind(s.TextView(2)).value_or(model::AssetKind::kDataset);
  a.name = s.Text(3);
  a.description = s.Text(4);
  a.source = s.Text(5);
  a.database = s.Text(6);
  a.schema = s.Text(7);
  a.status = model::ParseAssetStatus(s.TextView(8)).value_or(model::AssetStatus::kActive);
  a.properties = s.Text(9);
  a.created_at = s.Time(10);
  a.updated_at = s.Time(11);
  return a;
}

model::Owner ReadOwner(const SqliteStmt& s) {
  model::Owner o;
  o.id = s.Text(0);
  o.kind = model::ParseOwnerKind(s.TextView(1)).value_or(model::OwnerKind::kUser);
  o.name = s.Text(2);
  o.email = s.Text(3);
  o.channel = s.Text(4);
  o.properties = s.Text(5);
  return o;
}

model::Run ReadRun(const SqliteStmt& s) {
  model::Run r;
  r.id = s.Text(0);
  r.job = KeyAt(s, 1);
  r.source = s.Text(3);
  r.state = model::ParseRunState(s.TextView(4)).value_or(model::RunState::kOther);
  r.started_at = s.OptTime(5);
  r.ended_at = s.OptTime(6);
  r.nominal_time = s.OptTime(7);
  r.parent_run_id = s.Text(8);
  r.error_message = s.Text(9);
  r.properties = s.Text(10);
  r.event_time = s.Time(11);
  return r;
}

model::NodeResult ReadNodeResult(const SqliteStmt& s) {
  model::NodeResult n;
  n.run_id = s.Text(0);
  n.node_id = s.Text(1);
  n.asset = KeyAt(s, 2);
  n.node_kind = s.Text(4);
  n.status = s.Text(5);
  n.started_at = s.OptTime(6);
  n.completed_at = s.OptTime(7);
  n.execution_time_s = s.OptReal(8);
  if (!s.IsNull(9)) n.rows_affected = s.Int(9);
  if (!s.IsNull(10)) n.failures = s.Int(10);
  n.message = s.Text(11);
  n.thread = s.Text(12);
  n.properties = s.Text(13);
  return n;
}

model::LineageEdge ReadEdge(const SqliteStmt& s) {
  model::LineageEdge e;
  e.upstream = KeyAt(s, 0);
  e.downstream = KeyAt(s, 2);
  e.upstream_column = s.Text(4);
  e.downstream_column = s.Text(5);
  e.via = KeyAt(s, 6);
  e.origin = s.Text(8);
  e.transformation = s.Text(9);
  return e;
}

model::Incident ReadIncident(const SqliteStmt& s) {
  model::Incident i;
  i.id = s.Text(0);
  i.root = KeyAt(s, 1);
  i.state = model::ParseIncidentState(s.TextView(3)).value_or(model::IncidentState::kOpen);
  i.severity = model::ParseSeverity(s.TextView(4)).value_or(model::Severity::kWarn);
  i.title = s.Text(5);
  i.opened_at = s.Time(6);
  i.updated_at = s.Time(7);
  i.acknowledged_at = s.OptTime(8);
  i.resolved_at = s.OptTime(9);
  i.properties = s.Text(10);
  return i;
}

model::Anomaly ReadAnomaly(const SqliteStmt& s) {
  model::Anomaly a;
  a.asset = KeyAt(s, 0);
  a.id = s.Text(2);
  a.metric = s.Text(3);
  a.detector = s.Text(4);
  a.ts = s.Time(5);
  a.value = s.Real(6);
  a.expected_low = s.Real(7);
  a.expected_high = s.Real(8);
  a.score = s.Real(9);
  a.direction = s.Text(10);
  a.severity = model::ParseSeverity(s.TextView(11)).value_or(model::Severity::kWarn);
  a.train_start = s.OptTime(12);
  a.train_end = s.OptTime(13);
  a.train_size = static_cast<int>(s.Int(14));
  a.seasonality = s.Text(15);
  a.explanation = s.Text(16);
  a.detected_at = s.Time(17);
  a.incident_id = s.Text(18);
  return a;
}

model::Alert ReadAlert(const SqliteStmt& s) {
  model::Alert a;
  a.id = s.Text(0);
  a.incident_id = s.Text(1);
  a.channel = s.Text(2);
  a.event = s.Text(3);
  a.payload = s.Text(4);
  a.idempotency_key = s.Text(5);
  a.state = model::ParseAlertState(s.TextView(6)).value_or(model::AlertState::kPending);
  a.attempts = static_cast<int>(s.Int(7));
  a.created_at = s.Time(8);
  a.next_attempt_at = s.Time(9);
  a.delivered_at = s.OptTime(10);
  a.last_error = s.Text(11);
  a.lease_owner = s.Text(12);
  a.lease_expires_at = s.OptTime(13);
  return a;
}

Checkpoint ReadCheckpoint(const SqliteStmt& s) {
  return Checkpoint{s.Text(0), s.Text(1), s.Text(2), s.Time(3)};
}

std::string TagsToJson(const std::vector<std::string>& tags) {
  return tags.empty() ? "[]" : nlohmann::json(tags).dump();
}

std::vector<std::string> TagsFromJson(std::string_view text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& t : j) {
    if (t.is_string()) out.push_back(t.get<std::string>());
  }
  return out;
}

std::string Where(std::string_view kind, const AssetKey& key) {
  return std::string(kind) + "/" + key.ToString();
}

// ---- the batch writer -----------------------------------------------------------------------

// Applies one WriteBatch inside an open transaction. Owns nothing; lives for one Write.
class BatchApplier {
 public:
  BatchApplier(SqliteDb& db, Timestamp now) : db_(db), now_(now) {}

  // The search index's deletion-index cache (store-owned, read here) and the terms this
  // batch added to it (merged by the store after commit).
  void SetTypoCache(const std::unordered_set<std::string>* known) { known_typos_ = known; }
  std::vector<std::string>& new_typos() { return new_typos_; }

  Result<WriteSummary> Apply(const WriteBatch& b) {
    ids_.reserve(b.assets().size() + b.aliases().size());  // asset keys, mostly
    dirty_.reserve(b.assets().size());
    {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kMaxAssetId));
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      const std::int64_t max = row ? s.Int(0) : 0;
      first_new_id_ = max < INT64_MAX ? max + 1 : INT64_MAX;
    }
    for (const auto& c : b.expected_checkpoints()) TM_RETURN_IF_ERROR(CheckExpected(c));
    for (const auto& o : b.owners()) TM_RETURN_IF_ERROR(PutOwner(o));
    for (const auto& a : b.assets()) TM_RETURN_IF_ERROR(PutAsset(a));
    for (const auto& [alias, key] : b.aliases()) TM_RETURN_IF_ERROR(PutAlias(alias, key));
    for (const auto& [key, cols] : b.columns()) TM_RETURN_IF_ERROR(SetColumns(key, cols));
    for (const auto& [key, tags] : b.tags()) TM_RETURN_IF_ERROR(SetTags(key, tags));
    for (const auto& [key, own] : b.ownerships()) TM_RETURN_IF_ERROR(SetOwnerships(key, own));
    for (const auto& key : b.removals()) TM_RETURN_IF_ERROR(MarkRemoved(key));
    for (const auto& set : b.edge_sets()) TM_RETURN_IF_ERROR(ReplaceEdges(set));
    for (const auto& e : b.edges()) TM_RETURN_IF_ERROR(PutEdge(e));
    for (const auto& r : b.runs()) TM_RETURN_IF_ERROR(PutRun(r));
    for (const auto& n : b.node_results()) TM_RETURN_IF_ERROR(PutNodeResult(n));
    TM_RETURN_IF_ERROR(AppendPoints(b.points()));
    for (const auto& s : b.snapshots()) TM_RETURN_IF_ERROR(PutSnapshot(s));
    for (const auto& i : b.incidents()) TM_RETURN_IF_ERROR(PutIncident(i));
    for (const auto& a : b.anomalies()) TM_RETURN_IF_ERROR(PutAnomaly(a));
    for (const auto& a : b.alerts()) TM_RETURN_IF_ERROR(EnqueueAlert(a));
    for (const auto& c : b.checkpoints()) TM_RETURN_IF_ERROR(PutCheckpoint(c));
    TM_RETURN_IF_ERROR(ReindexDirty());
    return summary_;
  }

 private:
  // The asset's id, creating a placeholder of `kind` when it is not stored yet.
  Result<std::int64_t> IdOf(const AssetKey& key, std::string_view where,
                            model::AssetKind kind = model::AssetKind::kDataset,
                            std::string_view source = "") {
    if (key.name.empty()) {
      return Status::InvalidArgument("asset key has an empty name", std::string(where));
    }
    std::string text = key.ToString();
    if (auto it = ids_.find(text); it != ids_.end()) return it->second;
    std::int64_t id;
    {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectAssetId));
      s.Bind(1, text);
      TM_ASSIGN_OR_RETURN(bool found, s.Step());
      if (found) {
        id = s.Int(0);
        ids_.emplace(std::move(text), id);
        return id;
      }
    }
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kInsertPlaceholder));
    s.Bind(1, text).Bind(2, key.ns).Bind(3, key.name).Bind(4, model::AssetKindName(kind));
    s.Bind(5, ShortName(key.name)).Bind(6, source).Bind(7, now_);
    TM_ASSIGN_OR_RETURN(bool row, s.Step());
    if (!row) return Status::Internal("placeholder insert returned no id", std::string(where));
    id = s.Int(0);
    ++summary_.assets_written;
    dirty_.push_back(id);
    ids_.emplace(std::move(text), id);
    return id;
  }

  Status PutOwner(const model::Owner& o) {
    std::string where = "owners/" + o.id;
    if (o.id.empty()) return Status::InvalidArgument("owner id is empty", "owners");
    TM_ASSIGN_OR_RETURN(std::string props, NormalizeJsonObject(o.properties, where));
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kUpsertOwner));
    s.Bind(1, o.id).Bind(2, model::OwnerKindName(o.kind)).Bind(3, o.name).Bind(4, o.email);
    s.Bind(5, o.channel).Bind(6, props);
    TM_RETURN_IF_ERROR(s.Run().WithWhere(where));
    known_owners_.insert(o.id);
    return Status::Ok();
  }

  Status PutAsset(const model::Asset& a) {
    std::string where = Where("assets", a.key);
    if (a.key.name.empty()) return Status::InvalidArgument("asset key has an empty name", where);
    TM_RETURN_IF_ERROR(CheckJsonObject(a.properties, where));
    std::string text = a.key.ToString();
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kUpsertAsset));
    // The batch outlives the statement's step: its strings are bound without a copy.
    s.BindStatic(1, text).BindStatic(2, a.key.ns).BindStatic(3, a.key.name);
    s.BindStatic(4, model::AssetKindName(a.kind));
    s.Bind(5, a.name.empty() ? ShortName(a.key.name) : a.name).BindStatic(6, a.description);
    s.BindStatic(7, a.source).BindStatic(8, a.database).BindStatic(9, a.schema);
    s.BindStatic(10, model::AssetStatusName(a.status));
    s.BindStatic(11, JsonObjectText(a.properties)).Bind(12, now_);
    TM_ASSIGN_OR_RETURN(bool row, s.Step());
    if (row) {
      ids_[text] = s.Int(0);
      dirty_.push_back(s.Int(0));
      ++summary_.assets_written;
    } else {
      ++summary_.assets_unchanged;
    }
    return Status::Ok();
  }

  Status PutAlias(const std::string& alias, const AssetKey& key) {
    std::string where = "aliases/" + alias;
    if (alias.empty()) return Status::InvalidArgument("alias is empty", where);
    TM_ASSIGN_OR_RETURN(std::int64_t id, IdOf(key, where));
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kUpsertAlias));
    s.BindStatic(1, alias).Bind(2, id);
    return s.Run().WithWhere(where);
  }

  Status SetColumns(const AssetKey& key, const std::vector<model::Column>& columns) {
    std::string where = Where("columns", key);
    TM_ASSIGN_OR_RETURN(std::int64_t id, IdOf(key, where));
    if (FirstWriteToNew(id, kColumnsSet)) {
      if (columns.empty()) return Status::Ok();  // none stored, none to store
    } else {
      TM_ASSIGN_OR_RETURN(bool same, SameColumns(id, columns));
      if (same) return Status::Ok();  // nothing to write, nothing to reindex
      TM_ASSIGN_OR_RETURN(SqliteStmt del, db_.Prepare(kDeleteColumns));
      del.Bind(1, id);
      TM_RETURN_IF_ERROR(del.Run());
    }
    dirty_.push_back(id);
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kInsertColumn));
    std::string tags;
    for (const model::Column& c : columns) {
      if (c.name.empty()) return Status::InvalidArgument("column name is empty", where);
      if (Status st = CheckJsonObject(c.properties, {}); !st.ok()) {
        return st.WithWhere(where + "/" + c.name);
      }
      tags = TagsToJson(c.tags);
      // The batch (and `tags`) outlive the step: strings are bound without a copy.
      s.Bind(1, id).BindStatic(2, c.name).Bind(3, c.position).BindStatic(4, c.data_type);
      s.BindStatic(5, c.description);
      if (c.nullable) {
        s.Bind(6, *c.nullable ? 1 : 0);
      } else {
        s.BindNull(6);
      }
      s.BindStatic(7, tags).BindStatic(8, JsonObjectText(c.properties));
      Status st = s.Run();
      if (!st.ok()) {
        return Status::InvalidArgument("column '" + c.name + "' appears twice", where);
      }
      ++summary_.columns_written;
    }
    return Status::Ok();
  }

  // True when asset `id` stores exactly `columns` (in any order): every field as SetColumns
  // would write it. Invalid input is never the same (SetColumns then says what is wrong).
  Result<bool> SameColumns(std::int64_t id, const std::vector<model::Column>& columns) {
    std::vector<const model::Column*> sorted;
    sorted.reserve(columns.size());
    for (const model::Column& c : columns) sorted.push_back(&c);
    std::sort(sorted.begin(), sorted.end(), [](const model::Column* a, const model::Column* b) {
      return std::tie(a->position, a->name) < std::tie(b->position, b->name);
    });
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectColumns));
    s.Bind(1, id);
    size_t i = 0;
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) break;
      if (i == sorted.size()) return false;
      const model::Column& c = *sorted[i++];
      const bool same_nullable = s.IsNull(4) ? !c.nullable.has_value()
                                             : c.nullable.has_value() && *c.nullable == (s.Int(4) != 0);
      if (s.TextView(0) != c.name || s.Int(1) != c.position || s.TextView(2) != c.data_type ||
          s.TextView(3) != c.description || !same_nullable ||
          s.TextView(5) != TagsToJson(c.tags) || s.TextView(6) != JsonObjectText(c.properties)) {
        return false;
      }
    }
    return i == sorted.size();
  }

  Status SetTags(const AssetKey& key, const std::vector<std::string>& tags) {
    std::string where = Where("tags", key);
    TM_ASSIGN_OR_RETURN(std::int64_t id, IdOf(key, where));
    dirty_.push_back(id);
    if (!FirstWriteToNew(id, kTagsSet)) {
      TM_ASSIGN_OR_RETURN(SqliteStmt del, db_.Prepare(kDeleteTags));
      del.Bind(1, id);
      TM_RETURN_IF_ERROR(del.Run());
    }
    for (const std::string& tag : tags) {
      if (tag.empty()) continue;
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kInsertTag));
      s.Bind(1, id).BindStatic(2, tag);
      TM_RETURN_IF_ERROR(s.Run().WithWhere(where));
    }
    return Status::Ok();
  }

  Status SetOwnerships(const AssetKey& key, const std::vector<model::Ownership>& ownerships) {
    std::string where = Where("ownerships", key);
    TM_ASSIGN_OR_RETURN(std::int64_t id, IdOf(key, where));
    dirty_.push_back(id);
    if (!FirstWriteToNew(id, kOwnershipsSet)) {
      TM_ASSIGN_OR_RETURN(SqliteStmt del, db_.Prepare(kDeleteOwnerships));
      del.Bind(1, id);
      TM_RETURN_IF_ERROR(del.Run());
    }
    for (const model::Ownership& o : ownerships) {
      if (!known_owners_.count(o.owner_id)) {
        TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kOwnerExists));
        s.Bind(1, o.owner_id);
        TM_ASSIGN_OR_RETURN(bool known, s.Step());
        if (!known) {
          return Status::InvalidArgument("owner '" + o.owner_id + "' is not known", where);
        }
        known_owners_.insert(o.owner_id);
      }
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kInsertOwnership));
      s.Bind(1, id).Bind(2, o.owner_id).Bind(3, o.role.empty() ? "owner" : o.role);
      TM_RETURN_IF_ERROR(s.Run().WithWhere(where));
    }
    return Status::Ok();
  }

  Status MarkRemoved(const AssetKey& key) {
    {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectAssetId));
      s.Bind(1, key.ToString());
      TM_ASSIGN_OR_RETURN(bool found, s.Step());
      if (found) dirty_.push_back(s.Int(0));
    }
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kMarkRemoved));
    s.Bind(1, key.ToString()).Bind(2, now_);
    TM_RETURN_IF_ERROR(s.Run().WithWhere(Where("removals", key)));
    summary_.assets_removed += static_cast<size_t>(db_.Changes());
    return Status::Ok();
  }

  Status ReplaceEdges(const WriteBatch::EdgeSet& set) {
    std::string where = Where("edges", set.downstream);
    if (set.origin.empty()) return Status::InvalidArgument("edge origin is empty", where);
    for (const model::LineageEdge& e : set.edges) {
      if (e.downstream != set.downstream || e.origin != set.origin) {
        return Status::InvalidArgument(
            "edge from '" + e.upstream.ToString() + "' does not match its set's downstream '" +
                set.downstream.ToString() + "' and origin '" + set.origin + "'",
            where);
      }
    }
    TM_ASSIGN_OR_RETURN(std::int64_t id, IdOf(set.downstream, where));
    if (FirstWriteToNew(id, kEdgesSet)) {  // nothing stored to compare with
      for (const model::LineageEdge& e : set.edges) TM_RETURN_IF_ERROR(PutEdge(e));
      return Status::Ok();
    }
    // Only the edges that went away are deleted and only new or changed ones written, so a
    // job reporting the lineage it reported before writes and reindexes nothing.
    std::set<std::tuple<std::int64_t, std::string_view, std::string_view>> incoming;
    for (const model::LineageEdge& e : set.edges) {
      if (e.upstream.name.empty()) continue;  // PutEdge says what is wrong with it
      TM_ASSIGN_OR_RETURN(std::int64_t up, IdOf(e.upstream, "edges"));
      incoming.emplace(up, e.downstream_column, e.upstream_column);
    }
    std::vector<std::tuple<std::int64_t, std::string, std::string>> gone;
    {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectEdgeKeysInto));
      s.Bind(1, id).Bind(2, set.origin);
      while (true) {
        TM_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        std::tuple<std::int64_t, std::string, std::string> key{s.Int(0), s.Text(1), s.Text(2)};
        const auto& [up, down_column, up_column] = key;
        if (!incoming.count({up, down_column, up_column})) gone.push_back(std::move(key));
      }
    }
    for (const auto& [up, down_column, up_column] : gone) {
      TM_ASSIGN_OR_RETURN(SqliteStmt del, db_.Prepare(kDeleteEdge));
      del.Bind(1, id).Bind(2, up).BindStatic(3, down_column).BindStatic(4, up_column);
      del.BindStatic(5, set.origin);
      TM_RETURN_IF_ERROR(del.Run().WithWhere(where));
      dirty_.push_back(up);  // an upstream losing an edge loses downstream count: its boost
    }
    for (const model::LineageEdge& e : set.edges) TM_RETURN_IF_ERROR(PutEdge(e));
    return Status::Ok();
  }

  Status PutEdge(const model::LineageEdge& e) {
    // The location is built only when something fails: ingest puts edges by the hundred
    // thousand.
    auto where = [&e] { return Where("edges", e.downstream); };
    if (e.origin.empty()) return Status::InvalidArgument("edge origin is empty", where());
    if (e.upstream.name.empty() || e.downstream.name.empty()) {
      return Status::InvalidArgument("edge endpoint has an empty name", where());
    }
    if (e.upstream_column.empty() != e.downstream_column.empty()) {
      return Status::InvalidArgument("a column-level edge needs both column names", where());
    }
    TM_ASSIGN_OR_RETURN(std::int64_t down, IdOf(e.downstream, "edges"));
    TM_ASSIGN_OR_RETURN(std::int64_t up, IdOf(e.upstream, "edges"));
    std::optional<std::int64_t> via;
    if (!e.via.empty()) {
      TM_ASSIGN_OR_RETURN(via, IdOf(e.via, "edges", model::AssetKind::kJob));
    }
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kUpsertEdge));
    s.Bind(1, down).Bind(2, up).BindStatic(3, e.downstream_column);
    s.BindStatic(4, e.upstream_column).BindStatic(5, e.origin).Bind(6, via);
    s.BindStatic(7, e.transformation);
    if (Status st = s.Run(); !st.ok()) return st.WithWhere(where());
    // A new edge changes the upstream's downstream count (its search boost); an edge stored
    // as it was (the same job reporting again) changes nothing to reindex.
    if (db_.Changes() > 0) {
      dirty_.push_back(up);
      ++summary_.edges_written;
    }
    return Status::Ok();
  }

  Status PutRun(const model::Run& incoming) {
    std::string where = "runs/" + incoming.id;
    if (incoming.id.empty()) return Status::InvalidArgument("run id is empty", "runs");
    TM_ASSIGN_OR_RETURN(std::string props, NormalizeJsonObject(incoming.properties, where));
    model::Run run = incoming;
    run.properties = std::move(props);
    {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectRun));
      s.Bind(1, run.id);
      TM_ASSIGN_OR_RETURN(bool found, s.Step());
      if (found) {
        model::Run stored = ReadRun(s);
        run = MergeRun(stored, run);
        if (run == stored) return Status::Ok();
      }
    }
    std::optional<std::int64_t> job;
    if (!run.job.empty()) {
      TM_ASSIGN_OR_RETURN(job, IdOf(run.job, where, model::AssetKind::kJob, run.source));
    }
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kUpsertRun));
    s.Bind(1, run.id).Bind(2, job).Bind(3, run.source).Bind(4, model::RunStateName(run.state));
    s.Bind(5, run.started_at).Bind(6, run.ended_at).Bind(7, run.nominal_time);
    s.Bind(8, run.parent_run_id).Bind(9, run.error_message).Bind(10, run.properties);
    s.Bind(11, run.event_time);
    TM_RETURN_IF_ERROR(s.Run().WithWhere(where));
    ++summary_.runs_written;
    return Status::Ok();
  }

  Status PutNodeResult(const model::NodeResult& n) {
    std::string where = "node_results/" + n.run_id + "/" + n.node_id;
    if (n.node_id.empty()) return Status::InvalidArgument("node id is empty", where);
    {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kRunExists));
      s.Bind(1, n.run_id);
      TM_ASSIGN_OR_RETURN(bool known, s.Step());
      if (!known) return Status::InvalidArgument("run '" + n.run_id + "' is not known", where);
    }
    TM_ASSIGN_OR_RETURN(std::string props, NormalizeJsonObject(n.properties, where));
    std::optional<std::int64_t> asset;
    if (!n.asset.empty()) {
      TM_ASSIGN_OR_RETURN(asset, IdOf(n.asset, where));
    }
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kUpsertNodeResult));
    s.Bind(1, n.run_id).Bind(2, n.node_id).Bind(3, asset).Bind(4, n.node_kind);
    s.Bind(5, n.status).Bind(6, n.started_at).Bind(7, n.completed_at);
    s.Bind(8, n.execution_time_s);
    s.Bind(9, n.rows_affected ? std::optional<std::int64_t>(*n.rows_affected) : std::nullopt);
    s.Bind(10, n.failures ? std::optional<std::int64_t>(*n.failures) : std::nullopt);
    s.Bind(11, n.message).Bind(12, n.thread).Bind(13, props);
    TM_RETURN_IF_ERROR(s.Run().WithWhere(where));
    ++summary_.node_results_written;
    return Status::Ok();
  }

  Status AppendPoints(const std::vector<model::MetricPoint>& points) {
    if (points.empty()) return Status::Ok();
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kInsertPoint));
    // Consecutive points usually share an asset: skip the key lookup when it repeats.
    const AssetKey* last_key = nullptr;
    std::int64_t last_id = 0;
    for (const model::MetricPoint& p : points) {
      if (!last_key || *last_key != p.asset) {
        TM_ASSIGN_OR_RETURN(last_id, IdOf(p.asset, Where("metric_points", p.asset)));
        last_key = &p.asset;
      }
      if (p.metric.empty() || !std::isfinite(p.value)) {
        return Status::InvalidArgument(
            p.metric.empty() ? "metric name is empty" : "metric value is not a finite number",
            Where("metric_points", p.asset) + "/" + p.metric);
      }
      s.Bind(1, last_id).BindStatic(2, p.metric).Bind(3, p.ts).Bind(4, p.value);
      TM_RETURN_IF_ERROR(s.Run().WithWhere(Where("metric_points", p.asset)));
      if (db_.Changes() > 0) {
        ++summary_.points_written;
      } else {
        ++summary_.points_skipped;
      }
    }
    return Status::Ok();
  }

  Status PutSnapshot(const model::SchemaSnapshot& snap) {
    std::string where = Where("schema_snapshots", snap.asset);
    TM_ASSIGN_OR_RETURN(std::int64_t id, IdOf(snap.asset, where));
    std::string fingerprint = snap.Fingerprint();
    {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kLatestSnapshot));
      s.Bind(1, id).Bind(2, snap.observed_at);
      TM_ASSIGN_OR_RETURN(bool found, s.Step());
      if (found && s.TextView(0) == fingerprint) {
        ++summary_.snapshots_unchanged;
        return Status::Ok();
      }
    }
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kInsertSnapshot));
    s.Bind(1, id).Bind(2, snap.observed_at).Bind(3, snap.source).Bind(4, fingerprint);
    s.Bind(5, ColumnsToJson(snap.columns));
    TM_RETURN_IF_ERROR(s.Run().WithWhere(where));
    if (db_.Changes() > 0) {
      ++summary_.snapshots_written;
    } else {
      ++summary_.snapshots_unchanged;
    }
    return Status::Ok();
  }

  Status PutIncident(const model::Incident& i) {
    std::string where = "incidents/" + i.id;
    if (i.id.empty()) return Status::InvalidArgument("incident id is empty", "incidents");
    TM_ASSIGN_OR_RETURN(std::string props, NormalizeJsonObject(i.properties, where));
    std::optional<std::int64_t> root;
    if (!i.root.empty()) {
      TM_ASSIGN_OR_RETURN(root, IdOf(i.root, where));
      health_changed_.push_back(*root);
    }
    {
      // The root it had, whose health changes too when the incident moves.
      TM_ASSIGN_OR_RETURN(SqliteStmt old, db_.Prepare(kSelectIncidentRoot));
      old.Bind(1, i.id);
      TM_ASSIGN_OR_RETURN(bool found, old.Step());
      if (found && !old.IsNull(0)) health_changed_.push_back(old.Int(0));
    }
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kUpsertIncident));
    s.Bind(1, i.id).Bind(2, root).Bind(3, model::IncidentStateName(i.state));
    s.Bind(4, model::SeverityName(i.severity)).Bind(5, i.title).Bind(6, i.opened_at);
    s.Bind(7, i.updated_at).Bind(8, i.acknowledged_at).Bind(9, i.resolved_at).Bind(10, props);
    TM_RETURN_IF_ERROR(s.Run().WithWhere(where));
    ++summary_.incidents_written;
    return Status::Ok();
  }

  Status PutAnomaly(const model::Anomaly& a) {
    std::string where = "anomalies/" + a.id;
    if (a.id.empty()) return Status::InvalidArgument("anomaly id is empty", "anomalies");
    for (double v : {a.value, a.expected_low, a.expected_high, a.score}) {
      if (!std::isfinite(v)) {
        return Status::InvalidArgument("anomaly carries a non-finite number", where);
      }
    }
    TM_ASSIGN_OR_RETURN(std::int64_t asset, IdOf(a.asset, where));
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kUpsertAnomaly));
    s.Bind(1, asset).Bind(2, a.id).Bind(3, a.metric).Bind(4, a.detector).Bind(5, a.ts);
    s.Bind(6, a.value).Bind(7, a.expected_low).Bind(8, a.expected_high).Bind(9, a.score);
    s.Bind(10, a.direction).Bind(11, model::SeverityName(a.severity)).Bind(12, a.train_start);
    s.Bind(13, a.train_end).Bind(14, a.train_size).Bind(15, a.seasonality);
    s.Bind(16, a.explanation).Bind(17, a.detected_at).Bind(18, a.incident_id);
    Status st = s.Run();
    if (!st.ok()) {
      return Status::InvalidArgument("anomaly id is already used for another asset", where);
    }
    ++summary_.anomalies_written;
    health_changed_.push_back(asset);
    return Status::Ok();
  }

  Status EnqueueAlert(const model::Alert& a) {
    std::string where = "alerts/" + a.id;
    if (a.id.empty() || a.idempotency_key.empty() || a.channel.empty()) {
      return Status::InvalidArgument("an alert needs an id, a channel and an idempotency key",
                                     where);
    }
    TM_ASSIGN_OR_RETURN(std::string payload, NormalizeJsonObject(a.payload, where));
    Timestamp created = a.created_at == Timestamp{} ? now_ : a.created_at;
    Timestamp due = a.next_attempt_at == Timestamp{} ? created : a.next_attempt_at;
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kInsertAlert));
    s.Bind(1, a.id).Bind(2, a.incident_id).Bind(3, a.channel).Bind(4, a.event);
    s.Bind(5, payload).Bind(6, a.idempotency_key).Bind(7, created).Bind(8, due);
    TM_RETURN_IF_ERROR(s.Run().WithWhere(where));
    if (db_.Changes() > 0) {
      ++summary_.alerts_enqueued;
    } else {
      ++summary_.alerts_skipped;
    }
    return Status::Ok();
  }

  // The writer holds the database (BEGIN IMMEDIATE) until commit: nobody changes it meanwhile.
  Status CheckExpected(const Checkpoint& c) {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSelectCheckpoint));
    s.Bind(1, c.scope).Bind(2, c.key);
    TM_ASSIGN_OR_RETURN(bool row, s.Step());
    const std::string found = row ? s.Text(2) : std::string();
    return found == c.value ? Status::Ok() : CheckpointConflict(c, found);
  }

  Status PutCheckpoint(const Checkpoint& c) {
    if (c.scope.empty() || c.key.empty()) {
      return Status::InvalidArgument("a checkpoint needs a scope and a key", "checkpoints");
    }
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db_.Prepare(kSqliteUpsertCheckpoint));
    s.Bind(1, c.scope).Bind(2, c.key).Bind(3, c.value).Bind(4, now_);
    return s.Run().WithWhere("checkpoints/" + c.scope + "/" + c.key);
  }

  // Rebuilds the search documents of every asset this batch changed (search_engine.h), then
  // logs them, with the assets whose health (incidents, anomalies) changed, in the search
  // change log: a copy of the index in memory keeps their health too (memory_search.h).
  Status ReindexDirty() {
    if (dirty_.empty() && health_changed_.empty()) return Status::Ok();
    std::vector<std::int64_t>& ids = dirty_;
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    if (!ids.empty()) TM_RETURN_IF_ERROR(ReindexSorted(ids));
    std::vector<std::int64_t> changed = health_changed_;
    changed.insert(changed.end(), ids.begin(), ids.end());
    std::sort(changed.begin(), changed.end());
    changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
    return SqliteLogSearchChanges(db_, changed, now_);
  }

  // A store's first write (no document yet: no asset was ever indexed, so every asset is in
  // this batch) takes the rebuild's bulk path: table scans instead of a lookup per asset, and
  // one sorted run of postings. A first ingest of a large dbt project is most of them.
  Status ReindexSorted(const std::vector<std::int64_t>& ids) {
    static const std::unordered_set<std::string> kNone;
    bool indexed;
    {
      TM_ASSIGN_OR_RETURN(SqliteStmt any, db_.Prepare(kAnySearchDoc));
      TM_ASSIGN_OR_RETURN(indexed, any.Step());
    }
    auto writer = NewSqliteSearchIndexWriter(db_, /*bulk=*/!indexed);
    return ReindexAssets(*writer, ids, known_typos_ ? *known_typos_ : kNone, new_typos_)
        .WithContext("update search index");
  }

  // What this batch replaced of an asset's records, for FirstWriteToNew.
  enum RecordSet : std::uint8_t {
    kColumnsSet = 1,
    kTagsSet = 2,
    kOwnershipsSet = 4,
    kEdgesSet = 8,
  };

  // True when asset `id` was created by this batch and `set` is written to it for the first
  // time: nothing of it is stored, so there is nothing to compare with or delete. A first
  // ingest is mostly such writes. New assets take ids above the largest stored before
  // (SQLite's rowid rule), so they are counted from first_new_id_.
  bool FirstWriteToNew(std::int64_t id, RecordSet set) {
    if (id < first_new_id_ || first_new_id_ == INT64_MAX) return false;
    const std::uint64_t i = static_cast<std::uint64_t>(id - first_new_id_);
    if (i >= (std::uint64_t{1} << 32)) return false;  // far off: a rowid SQLite picked at random
    if (i >= written_to_new_.size()) written_to_new_.resize(i + 1 + i / 2);
    const bool first = !(written_to_new_[i] & set);
    written_to_new_[i] |= set;
    return first;
  }

  SqliteDb& db_;
  Timestamp now_;
  std::unordered_map<std::string, std::int64_t> ids_;
  WriteSummary summary_;
  std::vector<std::int64_t> dirty_;  // sorted and deduplicated when reindexed
  std::vector<std::int64_t> health_changed_;  // assets whose incidents or anomalies changed
  std::int64_t first_new_id_ = 0;
  std::vector<std::uint8_t> written_to_new_;  // RecordSet bits, by id - first_new_id_
  std::unordered_set<std::string> known_owners_;  // put by this batch or found stored
  const std::unordered_set<std::string>* known_typos_ = nullptr;
  std::vector<std::string> new_typos_;
};

// ---- the store ------------------------------------------------------------------------------

// The read connection that SqliteStore::ReadTogether holds on this thread, and its store.
struct PinnedReader {
  const Store* store = nullptr;
  SqliteDb* db = nullptr;
};
thread_local PinnedReader pinned_reader;

class SqliteStore final : public Store {
 public:
  SqliteStore(std::string path, std::unique_ptr<SqliteDb> writer, const model::Clock& clock)
      : path_(std::move(path)), writer_(std::move(writer)), clock_(clock) {}

  // Opens `pool` read-only connections (none for an in-memory database).
  Status OpenReaders(int pool, int busy_ms) {
    if (IsMemory()) return Status::Ok();
    for (int i = 0; i < pool; ++i) {
      TM_ASSIGN_OR_RETURN(auto db, SqliteDb::Open(path_, busy_ms, /*read_only=*/true));
      readers_idle_.push_back(db.get());
      readers_.push_back(std::move(db));
    }
    return Status::Ok();
  }

  // The OpenLineage event log in a file of its own (sqlite_lineage_log.h), opened once the
  // schema has migration 4; null for an in-memory database, whose log stays in its
  // lineage_events table.
  Status OpenLineageLog(int busy_ms) {
    std::optional<std::string> path = SqliteLineageLog::PathFor(path_);
    if (!path) return Status::Ok();
    std::lock_guard lock(write_mu_);
    TM_ASSIGN_OR_RETURN(int version, ReadVersion(*writer_));
    if (version < 4) return Status::Ok();
    TM_ASSIGN_OR_RETURN(SqliteStmt s, writer_->Prepare(kLineageLogStatus));
    s.Bind(1, kLineageLogScope).Bind(2, kLineageLogProjectedKey);
    TM_ASSIGN_OR_RETURN(bool row, s.Step());
    const std::int64_t projected_through = row ? s.Int(0) : 0;
    TM_ASSIGN_OR_RETURN(log_, SqliteLineageLog::Open(*path, path_, *writer_, busy_ms,
                                                     projected_through));
    return Status::Ok();
  }

  bool IsMemory() const {
    return path_ == ":memory:" || path_.find("mode=memory") != std::string::npos;
  }

  Status Migrate(bool apply) {
    std::lock_guard lock(write_mu_);
    TM_RETURN_IF_ERROR(writer_->Exec("BEGIN IMMEDIATE"));
    Status st = MigrateLocked(apply);
    if (!st.ok()) known_typos_.clear();  // a rolled-back migration 2 may have filled it
    TM_RETURN_IF_ERROR(writer_->Exec(st.ok() ? "COMMIT" : "ROLLBACK"));
    return st;
  }

  std::string_view Kind() const override { return "sqlite"; }
  std::string Describe() const override { return "sqlite:" + path_; }

  Status Ping() override {
    return WithReader([](SqliteDb& db) -> Status { return db.Exec("SELECT 1"); });
  }

  Result<int> SchemaVersion() override {
    return WithReader([](SqliteDb& db) -> Result<int> { return ReadVersion(db); });
  }

  Result<WriteSummary> Write(const WriteBatch& batch) override {
    Result<WriteSummary> result = Commit(batch);
    if (result.ok()) {
      NotifyCommitted(batch);  // no lock held: the observer may read
      if (memory_search_) memory_search_->CatchUp();
    }
    return result;
  }

  // After Migrate and OpenReaders: the copy reads through the read connections.
  Status StartMemorySearch(const StoreOptions& options) {
    TM_ASSIGN_OR_RETURN(memory_search_,
                        catalog::StartMemorySearch(options, [this](const auto& fn) -> Status {
                          return WithReader([&](SqliteDb& db) -> Status {
                            return fn(*NewSqliteSearchReader(db));
                          });
                        }));
    return Status::Ok();
  }

  std::optional<SearchMemoryStatus> SearchMemory() override {
    if (!memory_search_) return std::nullopt;
    return memory_search_->GetStatus();
  }

  Result<WriteSummary> Commit(const WriteBatch& batch) {
    std::lock_guard lock(write_mu_);
    TM_RETURN_IF_ERROR(writer_->Exec("BEGIN IMMEDIATE"));
    BatchApplier applier(*writer_, clock_.Now());
    applier.SetTypoCache(&known_typos_);
    Result<WriteSummary> result = applier.Apply(batch);
    if (!result.ok()) {
      (void)writer_->Exec("ROLLBACK");  // the batch's error is the one worth reporting
      return result;
    }
    Status commit = writer_->Exec("COMMIT");
    if (!commit.ok()) {
      (void)writer_->Exec("ROLLBACK");
      return commit.WithContext("commit");
    }
    known_typos_.insert(applier.new_typos().begin(), applier.new_typos().end());
    ++generation_;
    return result;
  }

  std::uint64_t WriteGeneration() override {
    std::lock_guard lock(write_mu_);
    // data_version moves when another connection (another process's store) has committed.
    auto s = writer_->Prepare("PRAGMA data_version");
    if (!s.ok() || !s->Step().value_or(false)) return 0;
    const std::int64_t version = s->Int(0);
    if (version != data_version_) {
      data_version_ = version;
      ++generation_;
    }
    return generation_;
  }

  Result<model::Asset> GetAsset(const AssetKey& key) override {
    return WithReader([&](SqliteDb& db) -> Result<model::Asset> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectAssetByKey));
      s.Bind(1, key.ToString());
      TM_ASSIGN_OR_RETURN(bool found, s.Step());
      if (!found) return Status::NotFound("no asset '" + key.ToString() + "'");
      model::Asset a = ReadAsset(s);
      std::int64_t id = s.Int(12);
      TM_RETURN_IF_ERROR(FillTagsAndAliases(db, id, a));
      return a;
    });
  }

  Result<AssetKey> Resolve(std::string_view alias_or_key) override {
    return WithReader([&](SqliteDb& db) -> Result<AssetKey> {
      for (const char* sql : {kResolveKey, kResolveAlias}) {
        TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(sql));
        s.Bind(1, alias_or_key);
        TM_ASSIGN_OR_RETURN(bool found, s.Step());
        if (found) return KeyAt(s, 0);
      }
      return Status::NotFound("no asset or alias '" + std::string(alias_or_key) + "'");
    });
  }

  Result<std::vector<model::Asset>> ListAssets(const AssetFilter& filter) override {
    return WithReader([&](SqliteDb& db) -> Result<std::vector<model::Asset>> {
      std::vector<std::pair<model::Asset, std::int64_t>> rows;
      {
        TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(filter.after.empty() ? kSelectAssetsPage
                                                                         : kSelectAssetsPageAfter));
        if (!filter.after.empty()) s.Bind(6, filter.after);
        if (filter.kind) {
          s.Bind(1, model::AssetKindName(*filter.kind));
        } else {
          s.BindNull(1);
        }
        s.Bind(2, filter.source).Bind(3, filter.include_removed ? 1 : 0);
        s.Bind(4, static_cast<std::int64_t>(filter.limit));
        s.Bind(5, static_cast<std::int64_t>(filter.offset));
        while (true) {
          TM_ASSIGN_OR_RETURN(bool row, s.Step());
          if (!row) break;
          rows.emplace_back(ReadAsset(s), s.Int(12));
        }
      }
      std::vector<model::Asset> out;
      out.reserve(rows.size());
      for (auto& [asset, id] : rows) {
        TM_RETURN_IF_ERROR(FillTagsAndAliases(db, id, asset));
        out.push_back(std::move(asset));
      }
      return out;
    });
  }

  Result<std::vector<model::Column>> GetColumns(const AssetKey& key) override {
    return ReadById<model::Column>(key, kSelectColumns, [](const SqliteStmt& s) {
      model::Column c;
      c.name = s.Text(0);
      c.position = static_cast<int>(s.Int(1));
      c.data_type = s.Text(2);
      c.description = s.Text(3);
      if (!s.IsNull(4)) c.nullable = s.Int(4) != 0;
      c.tags = TagsFromJson(s.TextView(5));
      c.properties = s.Text(6);
      return c;
    });
  }

  Result<model::Owner> GetOwner(std::string_view owner_id) override {
    return WithReader([&](SqliteDb& db) -> Result<model::Owner> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectOwner));
      s.Bind(1, owner_id);
      TM_ASSIGN_OR_RETURN(bool found, s.Step());
      if (!found) return Status::NotFound("no owner '" + std::string(owner_id) + "'");
      return ReadOwner(s);
    });
  }

  Result<std::vector<std::pair<model::Owner, std::string>>> GetOwnersOf(
      const AssetKey& key) override {
    return ReadById<std::pair<model::Owner, std::string>>(
        key, kSelectOwnersOf,
        [](const SqliteStmt& s) { return std::make_pair(ReadOwner(s), s.Text(6)); });
  }

  Result<std::vector<AssetKey>> GetOwnedBy(std::string_view owner_id) override {
    return WithReader([&](SqliteDb& db) -> Result<std::vector<AssetKey>> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectOwnedBy));
      s.Bind(1, owner_id);
      return Collect<AssetKey>(s, [](const SqliteStmt& r) { return KeyAt(r, 0); });
    });
  }

  Result<std::vector<model::LineageEdge>> GetEdges(const AssetKey& key,
                                                   Direction direction) override {
    return ReadById<model::LineageEdge>(
        key, direction == Direction::kUpstream ? kSelectEdgesUp : kSelectEdgesDown, ReadEdge);
  }

  Result<model::Run> GetRun(std::string_view run_id) override {
    return WithReader([&](SqliteDb& db) -> Result<model::Run> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectRun));
      s.Bind(1, run_id);
      TM_ASSIGN_OR_RETURN(bool found, s.Step());
      if (!found) return Status::NotFound("no run '" + std::string(run_id) + "'");
      return ReadRun(s);
    });
  }

  Result<std::vector<model::NodeResult>> GetNodeResults(std::string_view run_id) override {
    return WithReader([&](SqliteDb& db) -> Result<std::vector<model::NodeResult>> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectNodeResults));
      s.Bind(1, run_id);
      return Collect<model::NodeResult>(s, ReadNodeResult);
    });
  }

  Result<std::vector<model::NodeResult>> GetRecentResults(const AssetKey& key,
                                                          size_t limit) override {
    return ReadById<model::NodeResult>(key, kSelectRecentResults, ReadNodeResult,
                                       static_cast<std::int64_t>(limit));
  }

  Result<model::Series> ReadSeries(const AssetKey& key, std::string_view metric, Timestamp from,
                                   Timestamp to) override {
    return WithReader([&](SqliteDb& db) -> Result<model::Series> {
      model::Series series{key, std::string(metric), {}, {}};
      TM_ASSIGN_OR_RETURN(std::optional<std::int64_t> id, FindId(db, key));
      if (!id) return series;
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectSeries));
      s.Bind(1, *id).Bind(2, metric).Bind(3, from).Bind(4, to);
      while (true) {
        TM_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        series.ts.push_back(s.Time(0));
        series.values.push_back(s.Real(1));
      }
      return series;
    });
  }

  Result<std::vector<std::string>> ListMetrics(const AssetKey& key) override {
    return ReadById<std::string>(key, kSelectMetrics,
                                 [](const SqliteStmt& s) { return s.Text(0); });
  }

  Result<std::vector<model::SchemaSnapshot>> GetSchemaHistory(const AssetKey& key) override {
    return ReadById<model::SchemaSnapshot>(key, kSelectSnapshots, [&key](const SqliteStmt& s) {
      model::SchemaSnapshot snap;
      snap.asset = key;
      snap.observed_at = s.Time(0);
      snap.source = s.Text(1);
      snap.columns = ColumnsFromJson(s.TextView(2));
      return snap;
    });
  }

  Result<std::vector<model::Anomaly>> ListAnomalies(const AnomalyFilter& filter) override {
    return WithReader([&](SqliteDb& db) -> Result<std::vector<model::Anomaly>> {
      std::optional<std::int64_t> id;
      if (filter.asset) {
        TM_ASSIGN_OR_RETURN(id, FindId(db, *filter.asset));
        if (!id) return std::vector<model::Anomaly>{};
      }
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(id ? kSelectAssetAnomalies : kSelectAnomalies));
      s.Bind(1, id).Bind(2, filter.since).Bind(3, filter.incident_id);
      s.Bind(4, static_cast<std::int64_t>(filter.limit));
      return Collect<model::Anomaly>(s, ReadAnomaly);
    });
  }

  Result<model::Incident> GetIncident(std::string_view id) override {
    return WithReader([&](SqliteDb& db) -> Result<model::Incident> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectIncident));
      s.Bind(1, id);
      TM_ASSIGN_OR_RETURN(bool found, s.Step());
      if (!found) return Status::NotFound("no incident '" + std::string(id) + "'");
      return ReadIncident(s);
    });
  }

  Result<std::vector<model::Incident>> ListIncidents(std::optional<model::IncidentState> state,
                                                     size_t limit) override {
    return WithReader([&](SqliteDb& db) -> Result<std::vector<model::Incident>> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectIncidents));
      if (state) {
        s.Bind(1, model::IncidentStateName(*state));
      } else {
        s.BindNull(1);
      }
      s.Bind(2, static_cast<std::int64_t>(limit));
      return Collect<model::Incident>(s, ReadIncident);
    });
  }

  Result<std::vector<model::Alert>> ClaimAlerts(std::string_view worker, size_t limit,
                                                Timestamp now,
                                                std::chrono::seconds lease) override {
    if (worker.empty()) return Status::InvalidArgument("worker name is empty", "ClaimAlerts");
    return WithWriterTxn([&](SqliteDb& db) -> Result<std::vector<model::Alert>> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kClaimAlerts));
      s.Bind(1, worker).Bind(2, now).Bind(3, now + lease);
      s.Bind(4, static_cast<std::int64_t>(limit));
      TM_ASSIGN_OR_RETURN(auto alerts, Collect<model::Alert>(s, ReadAlert));
      std::sort(alerts.begin(), alerts.end(), [](const model::Alert& a, const model::Alert& b) {
        return std::tie(a.next_attempt_at, a.id) < std::tie(b.next_attempt_at, b.id);
      });
      return alerts;
    });
  }

  Status MarkAlertDelivered(std::string_view alert_id, std::string_view worker,
                            Timestamp now) override {
    return FinishAlert(alert_id, [&](SqliteDb& db) -> Status {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kAlertDelivered));
      s.Bind(1, alert_id).Bind(2, worker).Bind(3, now);
      return s.Run();
    });
  }

  Result<std::vector<std::string>> MarkAlertsDelivered(const std::vector<std::string>& alert_ids,
                                                       std::string_view worker,
                                                       Timestamp now) override {
    return WithWriterTxn([&](SqliteDb& db) -> Result<std::vector<std::string>> {
      std::vector<std::string> done;
      for (const std::string& id : alert_ids) {
        TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kAlertDelivered));
        s.Bind(1, id).Bind(2, worker).Bind(3, now);
        TM_RETURN_IF_ERROR(s.Run());
        if (db.Changes() > 0) done.push_back(id);
      }
      return done;
    });
  }

  Status MarkAlertFailed(std::string_view alert_id, std::string_view worker,
                         std::string_view error, Timestamp retry_at, bool dead) override {
    return FinishAlert(alert_id, [&](SqliteDb& db) -> Status {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kAlertFailed));
      s.Bind(1, alert_id).Bind(2, worker).Bind(3, error).Bind(4, retry_at);
      s.Bind(5, dead ? 1 : 0);
      return s.Run();
    });
  }

  Result<std::vector<model::Alert>> ListAlerts(std::optional<model::AlertState> state,
                                               size_t limit) override {
    return WithReader([&](SqliteDb& db) -> Result<std::vector<model::Alert>> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectAlerts));
      if (state) {
        s.Bind(1, model::AlertStateName(*state));
      } else {
        s.BindNull(1);
      }
      s.Bind(2, static_cast<std::int64_t>(limit));
      return Collect<model::Alert>(s, ReadAlert);
    });
  }

  Result<Checkpoint> GetCheckpoint(std::string_view scope, std::string_view key) override {
    return WithReader([&](SqliteDb& db) -> Result<Checkpoint> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectCheckpoint));
      s.Bind(1, scope).Bind(2, key);
      TM_ASSIGN_OR_RETURN(bool found, s.Step());
      if (!found) {
        return Status::NotFound("no checkpoint '" + std::string(key) + "' in '" +
                                std::string(scope) + "'");
      }
      return ReadCheckpoint(s);
    });
  }

  Result<std::vector<Checkpoint>> ListCheckpoints(std::string_view scope) override {
    return WithReader([&](SqliteDb& db) -> Result<std::vector<Checkpoint>> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectCheckpoints));
      s.Bind(1, scope);
      return Collect<Checkpoint>(s, ReadCheckpoint);
    });
  }

  // One read transaction per search: its statements see one snapshot and share one lock.
  Result<SearchResults> Search(const SearchQuery& query) override {
    if (memory_search_) {
      if (auto answered = memory_search_->Search(query)) return std::move(*answered);
    }
    return WithReadTxn([&](SqliteDb& db) -> Result<SearchResults> {
      auto reader = NewSqliteSearchReader(db);
      return RunSearch(query, *reader);
    });
  }

  Result<std::vector<Suggestion>> Suggest(const SuggestQuery& query) override {
    if (memory_search_) {
      if (auto answered = memory_search_->Suggest(query)) return std::move(*answered);
    }
    return WithReadTxn([&](SqliteDb& db) -> Result<std::vector<Suggestion>> {
      auto reader = NewSqliteSearchReader(db);
      return RunSuggest(query, *reader);
    });
  }

  Result<LineageGraph> Lineage(const LineageQuery& query) override {
    return WithReadTxn([&](SqliteDb& db) -> Result<LineageGraph> {
      auto reader = NewSqliteLineageReader(db);
      return RunLineage(query, *reader);
    });
  }

  Result<LineageSubgraph> WalkLineage(const std::vector<AssetKey>& starts, Direction direction,
                                      int depth, size_t max_nodes) override {
    return WithReadTxn([&](SqliteDb& db) -> Result<LineageSubgraph> {
      auto reader = NewSqliteLineageReader(db);
      return RunLineageWalk(starts, direction, depth, max_nodes, *reader);
    });
  }

  Result<ImpactReport> Impact(const AssetKey& key, size_t max_nodes) override {
    return WithReadTxn([&](SqliteDb& db) -> Result<ImpactReport> {
      auto reader = NewSqliteLineageReader(db);
      return RunImpact(key, max_nodes, *reader);
    });
  }

  Result<std::vector<AssetHealth>> GetHealth(const std::vector<AssetKey>& keys) override {
    return WithReadTxn([&](SqliteDb& db) -> Result<std::vector<AssetHealth>> {
      std::vector<std::int64_t> ids;
      std::vector<std::optional<std::int64_t>> id_of;
      for (const AssetKey& k : keys) {
        TM_ASSIGN_OR_RETURN(std::optional<std::int64_t> id, FindId(db, k));
        id_of.push_back(id);
        if (id) ids.push_back(*id);
      }
      auto reader = NewSqliteLineageReader(db);
      TM_ASSIGN_OR_RETURN(auto health, reader->Health(ids));
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
    return WithReadTxn([&](SqliteDb& db) -> Result<std::vector<OwnedAsset>> {
      {
        TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectOwner));
        s.Bind(1, owner_id);
        TM_ASSIGN_OR_RETURN(bool found, s.Step());
        if (!found) return Status::NotFound("no owner '" + std::string(owner_id) + "'");
      }
      TM_ASSIGN_OR_RETURN(auto owned, SqliteOwnedIds(db, owner_id));
      return OwnedAssetsOf(*NewSqliteLineageReader(db), owned);
    });
  }

  Status RebuildSearchIndex() override {
    std::unique_lock lock(write_mu_);
    TM_RETURN_IF_ERROR(writer_->Exec("BEGIN IMMEDIATE"));
    Status st = RebuildSearchIndexLocked(/*read_from_reader=*/true);
    // Whoever holds a copy of the index loads it again.
    if (st.ok()) st = SqliteLogSearchChanges(*writer_, {kSearchChangeAll}, clock_.Now());
    if (!st.ok()) {
      (void)writer_->Exec("ROLLBACK");
      known_typos_.clear();  // it was refilled for rows now rolled back
      return st.WithContext("rebuild search index");
    }
    Status commit = writer_->Exec("COMMIT");
    if (!commit.ok()) {
      (void)writer_->Exec("ROLLBACK");
      known_typos_.clear();
      return commit.WithContext("commit");
    }
    ++generation_;
    lock.unlock();
    if (memory_search_) memory_search_->CatchUp();
    return Status::Ok();
  }

  Result<std::vector<std::int64_t>> AppendLineageEvents(
      const std::vector<LineageEvent>& events) override {
    if (log_) return log_->Append(events);
    std::lock_guard lock(write_mu_);
    TM_RETURN_IF_ERROR(writer_->Exec("BEGIN IMMEDIATE"));
    std::vector<std::int64_t> ids;
    ids.reserve(events.size());
    Status st = [&]() -> Status {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, writer_->Prepare(kAppendLineageEvent));
      for (const LineageEvent& e : events) {
        s.Bind(1, e.received_at).Bind(2, e.event_time).Bind(3, e.run_id).BindStatic(4, e.body);
        TM_RETURN_IF_ERROR(s.Run());
        ids.push_back(sqlite3_last_insert_rowid(writer_->handle()));
      }
      return writer_->Exec("COMMIT");
    }();
    if (!st.ok()) {
      (void)writer_->Exec("ROLLBACK");
      return st.WithContext("append lineage events");
    }
    return ids;
  }

  Result<std::vector<LineageEvent>> ReadLineageEvents(std::int64_t after_id,
                                                      size_t limit) override {
    if (log_) return log_->Read(after_id, limit);
    return WithReader([&](SqliteDb& db) -> Result<std::vector<LineageEvent>> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kReadLineageEvents));
      s.Bind(1, after_id).Bind(2, static_cast<std::int64_t>(limit));
      return Collect<LineageEvent>(s, [](SqliteStmt& r) {
        return LineageEvent{r.Int(0), r.Time(1), r.Text(2), r.Time(3), r.Text(4)};
      });
    });
  }

  Result<LineageLogStatus> GetLineageLogStatus() override {
    return WithReadTxn([&](SqliteDb& db) -> Result<LineageLogStatus> {
      LineageLogStatus out;
      {
        TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kLineageLogStatus));
        s.Bind(1, kLineageLogScope).Bind(2, kLineageLogProjectedKey);
        TM_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) return Status::Internal("lineage log status returned no row");
        out.projected_through = s.Int(0);
        out.last_id = std::max(s.Int(1), out.projected_through);
      }
      // The checkpoint first: it only grows, so the log read after it never shows an event
      // as waiting that was projected before the checkpoint was read.
      if (log_) return log_->GetStatus(out.projected_through);
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kLineageLogWaiting));
      s.Bind(1, out.projected_through);
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return Status::Internal("lineage log status returned no row");
      out.waiting = s.Int(0);
      out.oldest_waiting = s.OptTime(1);
      return out;
    });
  }

  Result<size_t> PruneLineageEvents(model::Timestamp received_before) override {
    if (log_) {
      TM_ASSIGN_OR_RETURN(LineageLogStatus status, GetLineageLogStatus());
      return log_->Prune(status.projected_through, received_before);
    }
    std::lock_guard lock(write_mu_);
    TM_ASSIGN_OR_RETURN(SqliteStmt s, writer_->Prepare(kPruneLineageEvents));
    s.Bind(1, kLineageLogScope).Bind(2, kLineageLogProjectedKey).Bind(3, received_before);
    TM_RETURN_IF_ERROR(s.Run().WithContext("prune lineage events"));
    return static_cast<size_t>(writer_->Changes());
  }

  Result<AlertCounts> CountAlerts() override {
    return WithReader([](SqliteDb& db) -> Result<AlertCounts> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kCountAlertsSql));
      AlertCounts c;
      for (;;) {
        TM_ASSIGN_OR_RETURN(bool row, s.Step());
        if (!row) break;
        AddAlertCount(c, s.Text(0), s.Int(1));
      }
      return c;
    });
  }

  Result<StoreCounts> Counts() override {
    return WithReader([](SqliteDb& db) -> Result<StoreCounts> {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kCountsSql));
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return Status::Internal("count query returned no row");
      StoreCounts c;
      long long* fields[] = {&c.assets,           &c.columns,   &c.edges,     &c.owners,
                             &c.runs,             &c.node_results, &c.metric_points,
                             &c.schema_snapshots, &c.anomalies, &c.incidents, &c.alerts};
      for (int i = 0; i < 11; ++i) *fields[i] = s.Int(i);
      return c;
    });
  }

 private:
  static Result<int> ReadVersion(SqliteDb& db) {
    {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kHasMigrationsTable));
      TM_ASSIGN_OR_RETURN(bool exists, s.Step());
      if (!exists) return 0;  // a new, empty database
    }
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSchemaVersionSql));
    TM_ASSIGN_OR_RETURN(bool row, s.Step());
    return row ? static_cast<int>(s.Int(0)) : 0;
  }

  Status MigrateLocked(bool apply) {
    TM_ASSIGN_OR_RETURN(int version, ReadVersion(*writer_));
    if (version > kSchemaVersion) {
      return Status::Corruption("database schema version " + std::to_string(version) +
                                    " is newer than this binary's (" +
                                    std::to_string(kSchemaVersion) + "); upgrade tidemark",
                                Describe());
    }
    if (!apply || version == kSchemaVersion) return Status::Ok();
    TM_RETURN_IF_ERROR(writer_->Exec(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
        " applied_at INTEGER NOT NULL)"));
    for (int v = version + 1; v <= kSchemaVersion; ++v) {
      TM_RETURN_IF_ERROR(
          writer_->Exec(kSqliteMigrations[v - 1]).WithContext("migration " + std::to_string(v)));
      TM_RETURN_IF_ERROR(writer_->Exec("INSERT INTO schema_migrations VALUES (" +
                                       std::to_string(v) + ", " +
                                       std::to_string(model::ToMicros(clock_.Now())) + ")"));
    }
    // Migration 2 creates the search index: index the assets already stored, once the later
    // migrations have given search_docs its current columns. (From the writer: a reader's
    // snapshot has none of this transaction's tables.)
    if (version < 2) TM_RETURN_IF_ERROR(RebuildSearchIndexLocked(/*read_from_reader=*/false));
    return Status::Ok();
  }

  // Empties the index and indexes every asset in bulk (sqlite_search.h); the caller commits,
  // or rolls back and clears known_typos_.
  Status RebuildSearchIndexLocked(bool read_from_reader) {
    TM_RETURN_IF_ERROR(writer_->Exec(
        "DELETE FROM search_postings; DELETE FROM search_typos; DELETE FROM search_docs"));
    known_typos_.clear();
    TM_ASSIGN_OR_RETURN(std::vector<std::int64_t> ids, SqliteAllAssetIds(*writer_));
    // The assets, columns, tags, owners and edges are read through a read connection when
    // there is one: its snapshot (from before this transaction, which changes none of them)
    // never looks into the gigabytes of WAL the rebuild writes. Without its memory map for
    // the scan: a million assets' tables would otherwise count in the process's resident set.
    std::optional<ReaderLease> lease;
    if (read_from_reader && !readers_.empty()) lease.emplace(*this);
    SqliteDb& source = lease ? lease->db() : *writer_;
    if (lease) TM_RETURN_IF_ERROR(source.Exec("PRAGMA mmap_size=0; BEGIN"));
    auto writer = NewSqliteSearchIndexWriter(*writer_, /*bulk=*/true, &source);
    std::vector<std::string> added;
    Status st = ReindexAssets(*writer, ids, known_typos_, added);
    writer.reset();  // its statements on `source` are reset before the read ends
    if (lease) (void)source.Exec("COMMIT; PRAGMA mmap_size=" + std::to_string(kReaderMmapBytes));
    TM_RETURN_IF_ERROR(st);
    known_typos_.insert(added.begin(), added.end());
    return Status::Ok();
  }

  // WithReader inside one read transaction, so that several statements see one snapshot.
  template <typename Fn>
  auto WithReadTxn(Fn&& fn) -> decltype(fn(std::declval<SqliteDb&>())) {
    if (pinned_reader.store == this) return fn(*pinned_reader.db);  // ReadTogether's transaction
    return WithReader([&](SqliteDb& db) -> decltype(fn(std::declval<SqliteDb&>())) {
      TM_RETURN_IF_ERROR(db.Exec("BEGIN"));
      auto result = fn(db);
      (void)db.Exec("COMMIT");
      return result;
    });
  }

  Status ReadTogether(const std::function<Status()>& fn) override {
    if (readers_.empty() || pinned_reader.store == this) return fn();  // :memory:, or nested
    ReaderLease lease(*this);
    TM_RETURN_IF_ERROR(lease.db().Exec("BEGIN"));
    struct Unpin {
      SqliteDb& db;
      ~Unpin() {
        pinned_reader = {};
        (void)db.Exec("COMMIT");
      }
    } unpin{lease.db()};
    pinned_reader = {this, &lease.db()};
    return fn();
  }

  // Runs `fn` on an idle read connection (waiting for one), or on the writer for :memory:;
  // inside ReadTogether, on its connection.
  template <typename Fn>
  auto WithReader(Fn&& fn) -> decltype(fn(std::declval<SqliteDb&>())) {
    if (pinned_reader.store == this) return fn(*pinned_reader.db);
    if (readers_.empty()) {
      std::lock_guard lock(write_mu_);
      return fn(*writer_);
    }
    ReaderLease lease(*this);
    return fn(lease.db());
  }

  // An idle read connection (waiting for one) until the lease goes out of scope. Only for
  // a store with readers (not :memory:).
  class ReaderLease {
   public:
    explicit ReaderLease(SqliteStore& store) : store_(store) {
      std::unique_lock lock(store_.read_mu_);
      store_.read_cv_.wait(lock, [&] { return !store_.readers_idle_.empty(); });
      db_ = store_.readers_idle_.back();
      store_.readers_idle_.pop_back();
    }
    ~ReaderLease() {
      {
        std::lock_guard lock(store_.read_mu_);
        store_.readers_idle_.push_back(db_);
      }
      store_.read_cv_.notify_one();
    }
    ReaderLease(const ReaderLease&) = delete;
    ReaderLease& operator=(const ReaderLease&) = delete;
    SqliteDb& db() { return *db_; }

   private:
    SqliteStore& store_;
    SqliteDb* db_;
  };

  // Runs `fn` on the writer inside one IMMEDIATE transaction, committing if it succeeds.
  template <typename Fn>
  auto WithWriterTxn(Fn&& fn) -> decltype(fn(std::declval<SqliteDb&>())) {
    std::lock_guard lock(write_mu_);
    TM_RETURN_IF_ERROR(writer_->Exec("BEGIN IMMEDIATE"));
    auto result = fn(*writer_);
    if (!result.ok()) {
      (void)writer_->Exec("ROLLBACK");
      return result;
    }
    Status commit = writer_->Exec("COMMIT");
    if (!commit.ok()) {
      (void)writer_->Exec("ROLLBACK");
      return commit;
    }
    return result;
  }

  // Applies a lease-checked alert update; explains a no-op as NotFound or a lost lease.
  template <typename Fn>
  Status FinishAlert(std::string_view alert_id, Fn&& update) {
    std::lock_guard lock(write_mu_);
    TM_RETURN_IF_ERROR(update(*writer_));
    if (writer_->Changes() > 0) return Status::Ok();
    TM_ASSIGN_OR_RETURN(SqliteStmt s, writer_->Prepare(kAlertExists));
    s.Bind(1, alert_id);
    TM_ASSIGN_OR_RETURN(bool found, s.Step());
    if (!found) return Status::NotFound("no alert '" + std::string(alert_id) + "'");
    return Status::InvalidArgument("alert '" + std::string(alert_id) +
                                   "' is not leased to this worker (lease expired or taken)");
  }

  static Result<std::optional<std::int64_t>> FindId(SqliteDb& db, const AssetKey& key) {
    TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(kSelectAssetId));
    s.Bind(1, key.ToString());
    TM_ASSIGN_OR_RETURN(bool found, s.Step());
    if (!found) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(s.Int(0));
  }

  template <typename T, typename Reader>
  static Result<std::vector<T>> Collect(SqliteStmt& s, Reader&& read) {
    std::vector<T> out;
    while (true) {
      TM_ASSIGN_OR_RETURN(bool row, s.Step());
      if (!row) return out;
      out.push_back(read(s));
    }
  }

  // Rows of `sql` whose ?1 is the asset's id (empty when the asset is unknown); an optional
  // ?2 is bound from `extra`.
  template <typename T, typename Reader>
  Result<std::vector<T>> ReadById(const AssetKey& key, const char* sql, Reader&& read,
                                  std::optional<std::int64_t> extra = std::nullopt) {
    return WithReader([&](SqliteDb& db) -> Result<std::vector<T>> {
      TM_ASSIGN_OR_RETURN(std::optional<std::int64_t> id, FindId(db, key));
      if (!id) return std::vector<T>{};
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(sql));
      s.Bind(1, *id);
      if (extra) s.Bind(2, *extra);
      return Collect<T>(s, read);
    });
  }

  static Status FillTagsAndAliases(SqliteDb& db, std::int64_t id, model::Asset& a) {
    for (auto [sql, out] : {std::pair{kSelectTags, &a.tags}, std::pair{kSelectAliases, &a.aliases}}) {
      TM_ASSIGN_OR_RETURN(SqliteStmt s, db.Prepare(sql));
      s.Bind(1, id);
      TM_ASSIGN_OR_RETURN(*out, Collect<std::string>(s, [](const SqliteStmt& r) {
                            return r.Text(0);
                          }));
    }
    return Status::Ok();
  }

  const std::string path_;
  std::unique_ptr<SqliteLineageLog> log_;
  std::mutex write_mu_;
  std::unique_ptr<SqliteDb> writer_;
  std::mutex read_mu_;
  std::condition_variable read_cv_;
  std::vector<std::unique_ptr<SqliteDb>> readers_;
  std::vector<SqliteDb*> readers_idle_;
  const model::Clock& clock_;
  // Terms known to be in search_typos; guarded by write_mu_.
  std::unordered_set<std::string> known_typos_;
  // WriteGeneration(): commits of this store, plus one per change of the writer connection's
  // data_version (commits by others) seen; guarded by write_mu_.
  std::uint64_t generation_ = 1;
  std::int64_t data_version_ = -1;
  // Last: stopped before the connections it reads through close.
  std::unique_ptr<MemorySearch> memory_search_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options) {
  TM_ASSIGN_OR_RETURN(ParsedStoreUrl parsed, ParseStoreUrl(options.url));
  if (parsed.backend != StoreBackend::kSqlite) {
    return Status::InvalidArgument("not a SQLite URL: " + RedactUrl(options.url), "db");
  }
  const int busy_ms = static_cast<int>(options.busy_timeout.count());
  TM_ASSIGN_OR_RETURN(auto writer, SqliteDb::Open(parsed.target, busy_ms, /*read_only=*/false));
  const model::Clock& clock = options.clock ? *options.clock : model::SystemClock();
  auto store = std::make_unique<SqliteStore>(parsed.target, std::move(writer), clock);
  // Migrate before opening readers: a read-only connection cannot create the WAL files.
  TM_RETURN_IF_ERROR(store->Migrate(options.migrate));
  TM_RETURN_IF_ERROR(store->OpenReaders(std::max(1, options.pool_size), busy_ms));
  TM_RETURN_IF_ERROR(store->OpenLineageLog(busy_ms));
  TM_RETURN_IF_ERROR(store->StartMemorySearch(options));
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace tidemark::catalog
