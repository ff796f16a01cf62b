#pragma once

// SQLite schema migrations, oldest first. Migration i (1-based) brings the schema from version
// i-1 to i. Append only: a released migration is never edited.
//
// Times are INTEGER microseconds since the Unix epoch (UTC). The append-only tables
// (metric_points, schema_snapshots, anomalies) lead with asset_id and carry no foreign key, so
// bulk appends stay cheap; Write guarantees the asset exists.

#include <array>

namespace tidemark::catalog {

inline constexpr std::array<const char*, 7> kSqliteMigrations = {
    // 1: the data model of DESIGN.md.
    R"sql(
CREATE TABLE assets (
  asset_id      INTEGER PRIMARY KEY,
  key           TEXT NOT NULL UNIQUE,
  namespace     TEXT NOT NULL,
  name          TEXT NOT NULL,
  kind          TEXT NOT NULL,
  display_name  TEXT NOT NULL DEFAULT '',
  description   TEXT NOT NULL DEFAULT '',
  source        TEXT NOT NULL DEFAULT '',
  database_name TEXT NOT NULL DEFAULT '',
  schema_name   TEXT NOT NULL DEFAULT '',
  status        TEXT NOT NULL DEFAULT 'active',
  properties    TEXT NOT NULL DEFAULT '{}',
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  removed_at    INTEGER
);
CREATE TABLE asset_aliases (
  alias    TEXT PRIMARY KEY,
  asset_id INTEGER NOT NULL REFERENCES assets(asset_id)
) WITHOUT ROWID;
CREATE INDEX asset_aliases_by_asset ON asset_aliases(asset_id);
CREATE TABLE columns (
  asset_id    INTEGER NOT NULL REFERENCES assets(asset_id),
  name        TEXT NOT NULL,
  position    INTEGER NOT NULL,
  data_type   TEXT NOT NULL DEFAULT '',
  description TEXT NOT NULL DEFAULT '',
  nullable    INTEGER,
  tags        TEXT NOT NULL DEFAULT '[]',
  properties  TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (asset_id, name)
) WITHOUT ROWID;
CREATE TABLE asset_tags (
  asset_id INTEGER NOT NULL REFERENCES assets(asset_id),
  tag      TEXT NOT NULL,
  PRIMARY KEY (asset_id, tag)
) WITHOUT ROWID;
CREATE INDEX asset_tags_by_tag ON asset_tags(tag);
CREATE TABLE owners (
  owner_id   TEXT PRIMARY KEY,
  kind       TEXT NOT NULL,
  name       TEXT NOT NULL DEFAULT '',
  email      TEXT NOT NULL DEFAULT '',
  channel    TEXT NOT NULL DEFAULT '',
  properties TEXT NOT NULL DEFAULT '{}'
) WITHOUT ROWID;
CREATE TABLE ownerships (
  asset_id INTEGER NOT NULL REFERENCES assets(asset_id),
  owner_id TEXT NOT NULL REFERENCES owners(owner_id),
  role     TEXT NOT NULL,
  PRIMARY KEY (asset_id, owner_id)
) WITHOUT ROWID;
CREATE INDEX ownerships_by_owner ON ownerships(owner_id);
CREATE TABLE lineage_edges (
  downstream_id     INTEGER NOT NULL REFERENCES assets(asset_id),
  upstream_id       INTEGER NOT NULL REFERENCES assets(asset_id),
  downstream_column TEXT NOT NULL DEFAULT '',
  upstream_column   TEXT NOT NULL DEFAULT '',
  origin            TEXT NOT NULL,
  via_id            INTEGER REFERENCES assets(asset_id),
  transformation    TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (downstream_id, upstream_id, downstream_column, upstream_column, origin)
) WITHOUT ROWID;
CREATE INDEX lineage_edges_by_upstream ON lineage_edges(upstream_id);
CREATE TABLE runs (
  run_id        TEXT PRIMARY KEY,
  job_id        INTEGER REFERENCES assets(asset_id),
  source        TEXT NOT NULL DEFAULT '',
  state         TEXT NOT NULL,
  started_at    INTEGER,
  ended_at      INTEGER,
  nominal_time  INTEGER,
  parent_run_id TEXT NOT NULL DEFAULT '',
  error_message TEXT NOT NULL DEFAULT '',
  properties    TEXT NOT NULL DEFAULT '{}',
  event_time    INTEGER NOT NULL
);
CREATE INDEX runs_by_job ON runs(job_id, event_time);
CREATE TABLE node_results (
  run_id           TEXT NOT NULL REFERENCES runs(run_id),
  node_id          TEXT NOT NULL,
  asset_id         INTEGER REFERENCES assets(asset_id),
  node_kind        TEXT NOT NULL DEFAULT '',
  status           TEXT NOT NULL DEFAULT '',
  started_at       INTEGER,
  completed_at     INTEGER,
  execution_time_s REAL,
  rows_affected    INTEGER,
  failures         INTEGER,
  message          TEXT NOT NULL DEFAULT '',
  thread           TEXT NOT NULL DEFAULT '',
  properties       TEXT NOT NULL DEFAULT '{}',
  PRIMARY KEY (run_id, node_id)
) WITHOUT ROWID;
CREATE INDEX node_results_by_asset ON node_results(asset_id, completed_at);
CREATE TABLE metric_points (
  asset_id INTEGER NOT NULL,
  metric   TEXT NOT NULL,
  ts       INTEGER NOT NULL,
  value    REAL NOT NULL,
  PRIMARY KEY (asset_id, metric, ts)
) WITHOUT ROWID;
CREATE TABLE schema_snapshots (
  asset_id    INTEGER NOT NULL,
  observed_at INTEGER NOT NULL,
  source      TEXT NOT NULL DEFAULT '',
  fingerprint TEXT NOT NULL,
  columns     TEXT NOT NULL,
  PRIMARY KEY (asset_id, observed_at)
) WITHOUT ROWID;
CREATE TABLE anomalies (
  asset_id      INTEGER NOT NULL,
  id            TEXT NOT NULL,
  metric        TEXT NOT NULL,
  detector      TEXT NOT NULL,
  ts            INTEGER NOT NULL,
  value         REAL NOT NULL,
  expected_low  REAL NOT NULL,
  expected_high REAL NOT NULL,
  score         REAL NOT NULL,
  direction     TEXT NOT NULL DEFAULT '',
  severity      TEXT NOT NULL,
  train_start   INTEGER,
  train_end     INTEGER,
  train_size    INTEGER NOT NULL DEFAULT 0,
  seasonality   TEXT NOT NULL DEFAULT '',
  explanation   TEXT NOT NULL DEFAULT '',
  detected_at   INTEGER NOT NULL,
  incident_id   TEXT NOT NULL DEFAULT '',
  PRIMARY KEY (asset_id, id)
);
CREATE UNIQUE INDEX anomalies_by_id ON anomalies(id);
CREATE INDEX anomalies_by_detected ON anomalies(detected_at);
CREATE INDEX anomalies_by_incident ON anomalies(incident_id) WHERE incident_id <> '';
CREATE TABLE incidents (
  id              TEXT PRIMARY KEY,
  root_id         INTEGER REFERENCES assets(asset_id),
  state           TEXT NOT NULL,
  severity        TEXT NOT NULL,
  title           TEXT NOT NULL DEFAULT '',
  opened_at       INTEGER NOT NULL,
  updated_at      INTEGER NOT NULL,
  acknowledged_at INTEGER,
  resolved_at     INTEGER,
  properties      TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX incidents_by_state ON incidents(state, opened_at);
CREATE TABLE alerts (
  id               TEXT PRIMARY KEY,
  incident_id      TEXT NOT NULL,
  channel          TEXT NOT NULL,
  event            TEXT NOT NULL,
  payload          TEXT NOT NULL DEFAULT '{}',
  idempotency_key  TEXT NOT NULL UNIQUE,
  state            TEXT NOT NULL DEFAULT 'pending',
  attempts         INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  next_attempt_at  INTEGER NOT NULL,
  delivered_at     INTEGER,
  last_error       TEXT NOT NULL DEFAULT '',
  lease_owner      TEXT NOT NULL DEFAULT '',
  lease_expires_at INTEGER
);
CREATE INDEX alerts_due ON alerts(next_attempt_at) WHERE state = 'pending';
CREATE TABLE checkpoints (
  scope      TEXT NOT NULL,
  key        TEXT NOT NULL,
  value      TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (scope, key)
) WITHOUT ROWID;
)sql",
    // 2: search index and health lookups (issue 6; search_engine.h describes the index).
    R"sql(
CREATE TABLE search_docs (
  asset_id      INTEGER PRIMARY KEY REFERENCES assets(asset_id),
  kind          TEXT NOT NULL,
  name          TEXT NOT NULL,
  description   TEXT NOT NULL,
  source        TEXT NOT NULL,
  database_name TEXT NOT NULL,
  schema_name   TEXT NOT NULL,
  status        TEXT NOT NULL,
  columns       TEXT NOT NULL,
  tags          TEXT NOT NULL,
  owners        TEXT NOT NULL,
  downstream    INTEGER NOT NULL,
  exposures     INTEGER NOT NULL,
  boost         INTEGER NOT NULL,
  postings      TEXT NOT NULL
);
CREATE TABLE search_postings (
  term     TEXT NOT NULL,
  score    INTEGER NOT NULL,
  asset_id INTEGER NOT NULL,
  PRIMARY KEY (term, score, asset_id)
) WITHOUT ROWID;
CREATE TABLE search_typos (
  variant TEXT NOT NULL,
  term    TEXT NOT NULL,
  PRIMARY KEY (variant, term)
) WITHOUT ROWID;
CREATE INDEX incidents_open_by_root ON incidents(root_id) WHERE state <> 'resolved';
CREATE INDEX anomalies_by_asset_detected ON anomalies(asset_id, detected_at);
)sql",
    // 3: the asset key in search_docs, so that reading a search's candidates needs no join
    // with the assets table (a second random row per candidate; issue 6).
    R"sql(
ALTER TABLE search_docs ADD COLUMN namespace TEXT NOT NULL DEFAULT '';
ALTER TABLE search_docs ADD COLUMN key_name TEXT NOT NULL DEFAULT '';
UPDATE search_docs SET namespace = a.namespace, key_name = a.name
  FROM assets a WHERE a.asset_id = search_docs.asset_id;
)sql",
    // 4: the OpenLineage event log (issue 4): events as accepted, projected into the catalog
    // in the background; the projection checkpoint lives in checkpoints. AUTOINCREMENT: an id
    // is never reused, even after pruning deleted the highest.
    R"sql(
CREATE TABLE lineage_events (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  received_at INTEGER NOT NULL,
  event_time  INTEGER NOT NULL,
  run_id      TEXT NOT NULL,
  body        TEXT NOT NULL
);
)sql",
    // 5: the search change log (issue 6; search_engine.h): each reindex appends the asset ids
    // it rebuilt, so that serve's in-memory copy of the index follows every process's writes.
    // asset_id 0 means every asset (a rebuild). AUTOINCREMENT: a seq is never reused, even
    // after pruning deleted the highest.
    R"sql(
CREATE TABLE search_changes (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  asset_id   INTEGER NOT NULL,
  changed_at INTEGER NOT NULL
);
)sql",
    // 6: PostgreSQL's write generation table. SQLite needs none (PRAGMA data_version tells a
    // connection whether another one committed): the version moves so that both stores keep
    // one schema version.
    "",
    // 7: PostgreSQL's lz4 compression of large values. SQLite compresses nothing: the same.
    "",
};

// Sets checkpoint (?1 scope, ?2 key) to ?3 at ?4 (microseconds): the store's checkpoint writes
// and the search change log's pruning mark.
inline constexpr char kSqliteUpsertCheckpoint[] =
    "INSERT INTO checkpoints (scope, key, value, updated_at) VALUES (?1, ?2, ?3, ?4)"
    " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value,"
    "   updated_at = excluded.updated_at";

}  // namespace tidemark::catalog
