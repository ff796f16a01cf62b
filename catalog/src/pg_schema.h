#pragma once

// PostgreSQL schema migrations, oldest first. Migration i (1-based) brings the schema from
// version i-1 to i. Append only: a released migration is never edited.
//
// The tables mirror sqlite_schema.h column for column, with PostgreSQL's types: times are
// timestamptz (microsecond precision, like model::Timestamp), JSON is jsonb, and the text keys
// that reads sort by are COLLATE "C" so that ORDER BY matches the byte order SQLite (and
// std::string) use, whatever the database's default collation.
//
// The big append-only tables (metric_points, schema_snapshots, anomalies, node_results' index)
// lead with asset_id and carry no foreign key and no unique constraint that does not include
// asset_id, so they can be distributed by asset_id with Citus without a schema change
// (DESIGN.md, "Storage"). Write guarantees their asset exists.

#include <array>
#include <cstdint>

namespace tidemark::catalog {

// Key of the transaction-scoped advisory lock taken while migrating, so that two instances
// starting at once apply each migration exactly once. Arbitrary but fixed: "tidemark" in ASCII.
inline constexpr std::int64_t kPgMigrationLock = 0x746964656d61726b;
// Held by each append to the OpenLineage event log until it commits, so that ids commit in
// increasing order across instances: a projector that has read through id N never sees a
// smaller id commit later. ("tidemarl": the next key.)
inline constexpr std::int64_t kPgLineageLogLock = 0x746964656d61726c;
// Held by each append to the search change log (migration 5) until it commits, for the same
// reason: a reader that has applied every change through seq N never sees a smaller seq
// commit later. ("tidemarm".)
inline constexpr std::int64_t kPgSearchChangesLock = 0x746964656d61726d;

// Created before any migration runs; records which migrations were applied.
inline constexpr char kPgCreateMigrationsTable[] = R"sql(
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    integer PRIMARY KEY,
  applied_at timestamptz NOT NULL
))sql";

inline constexpr std::array<const char*, 7> kPgMigrations = {
    // 1: the data model of DESIGN.md.
    R"sql(
-- Conversions between model::Timestamp (microseconds since the Unix epoch, as bigint
-- parameters) and timestamptz. Both are exact: no floating point is involved for any time
-- this side of year 287396.
CREATE FUNCTION tm_timestamp(micros bigint) RETURNS timestamptz
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  RETURN 'epoch'::timestamptz + micros * interval '1 microsecond';
CREATE FUNCTION tm_micros(t timestamptz) RETURNS bigint
  LANGUAGE sql STABLE STRICT PARALLEL SAFE
  RETURN (extract(epoch FROM t) * 1000000)::bigint;

CREATE TABLE assets (
  asset_id      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key           text COLLATE "C" NOT NULL UNIQUE,
  namespace     text COLLATE "C" NOT NULL,
  name          text COLLATE "C" NOT NULL,
  kind          text NOT NULL,
  display_name  text NOT NULL DEFAULT '',
  description   text NOT NULL DEFAULT '',
  source        text NOT NULL DEFAULT '',
  database_name text NOT NULL DEFAULT '',
  schema_name   text NOT NULL DEFAULT '',
  status        text NOT NULL DEFAULT 'active',
  properties    jsonb NOT NULL DEFAULT '{}',
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  removed_at    timestamptz
);
CREATE TABLE asset_aliases (
  alias    text COLLATE "C" PRIMARY KEY,
  asset_id bigint NOT NULL REFERENCES assets (asset_id)
);
CREATE INDEX asset_aliases_by_asset ON asset_aliases (asset_id);
CREATE TABLE columns (
  asset_id    bigint NOT NULL REFERENCES assets (asset_id),
  name        text COLLATE "C" NOT NULL,
  position    integer NOT NULL,
  data_type   text NOT NULL DEFAULT '',
  description text NOT NULL DEFAULT '',
  nullable    boolean,
  tags        jsonb NOT NULL DEFAULT '[]',
  properties  jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (asset_id, name)
);
CREATE TABLE asset_tags (
  asset_id bigint NOT NULL REFERENCES assets (asset_id),
  tag      text COLLATE "C" NOT NULL,
  PRIMARY KEY (asset_id, tag)
);
CREATE INDEX asset_tags_by_tag ON asset_tags (tag);
CREATE TABLE owners (
  owner_id   text COLLATE "C" PRIMARY KEY,
  kind       text NOT NULL,
  name       text NOT NULL DEFAULT '',
  email      text NOT NULL DEFAULT '',
  channel    text NOT NULL DEFAULT '',
  properties jsonb NOT NULL DEFAULT '{}'
);
CREATE TABLE ownerships (
  asset_id bigint NOT NULL REFERENCES assets (asset_id),
  owner_id text COLLATE "C" NOT NULL REFERENCES owners (owner_id),
  role     text NOT NULL,
  PRIMARY KEY (asset_id, owner_id)
);
CREATE INDEX ownerships_by_owner ON ownerships (owner_id);
-- Table-level edges store '' as their column names (not NULL) so that the unique constraint
-- identifies them.
CREATE TABLE lineage_edges (
  downstream_id     bigint NOT NULL REFERENCES assets (asset_id),
  upstream_id       bigint NOT NULL REFERENCES assets (asset_id),
  downstream_column text COLLATE "C" NOT NULL DEFAULT '',
  upstream_column   text COLLATE "C" NOT NULL DEFAULT '',
  origin            text COLLATE "C" NOT NULL,
  via_id            bigint REFERENCES assets (asset_id),
  transformation    text NOT NULL DEFAULT '',
  PRIMARY KEY (downstream_id, upstream_id, downstream_column, upstream_column, origin)
);
CREATE INDEX lineage_edges_by_upstream ON lineage_edges (upstream_id);
CREATE TABLE runs (
  run_id        text COLLATE "C" PRIMARY KEY,
  job_id        bigint REFERENCES assets (asset_id),
  source        text NOT NULL DEFAULT '',
  state         text NOT NULL,
  started_at    timestamptz,
  ended_at      timestamptz,
  nominal_time  timestamptz,
  parent_run_id text NOT NULL DEFAULT '',
  error_message text NOT NULL DEFAULT '',
  properties    jsonb NOT NULL DEFAULT '{}',
  event_time    timestamptz NOT NULL
);
CREATE INDEX runs_by_job ON runs (job_id, event_time);
CREATE TABLE node_results (
  run_id           text COLLATE "C" NOT NULL REFERENCES runs (run_id),
  node_id          text COLLATE "C" NOT NULL,
  asset_id         bigint REFERENCES assets (asset_id),
  node_kind        text NOT NULL DEFAULT '',
  status           text NOT NULL DEFAULT '',
  started_at       timestamptz,
  completed_at     timestamptz,
  execution_time_s double precision,
  rows_affected    bigint,
  failures         bigint,
  message          text NOT NULL DEFAULT '',
  thread           text NOT NULL DEFAULT '',
  properties       jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (run_id, node_id)
);
CREATE INDEX node_results_by_asset ON node_results (asset_id, completed_at DESC);
CREATE TABLE metric_points (
  asset_id bigint NOT NULL,
  metric   text COLLATE "C" NOT NULL,
  ts       timestamptz NOT NULL,
  value    double precision NOT NULL,
  PRIMARY KEY (asset_id, metric, ts)
);
CREATE TABLE schema_snapshots (
  asset_id    bigint NOT NULL,
  observed_at timestamptz NOT NULL,
  source      text NOT NULL DEFAULT '',
  fingerprint text NOT NULL,
  columns     jsonb NOT NULL,
  PRIMARY KEY (asset_id, observed_at)
);
-- Unlike SQLite there is no unique index on id alone (it would block distribution by
-- asset_id); Write checks that an anomaly id is not reused for another asset instead.
CREATE TABLE anomalies (
  asset_id      bigint NOT NULL,
  id            text COLLATE "C" NOT NULL,
  metric        text NOT NULL,
  detector      text NOT NULL,
  ts            timestamptz NOT NULL,
  value         double precision NOT NULL,
  expected_low  double precision NOT NULL,
  expected_high double precision NOT NULL,
  score         double precision NOT NULL,
  direction     text NOT NULL DEFAULT '',
  severity      text NOT NULL,
  train_start   timestamptz,
  train_end     timestamptz,
  train_size    integer NOT NULL DEFAULT 0,
  seasonality   text NOT NULL DEFAULT '',
  explanation   text NOT NULL DEFAULT '',
  detected_at   timestamptz NOT NULL,
  incident_id   text NOT NULL DEFAULT '',
  PRIMARY KEY (asset_id, id)
);
CREATE INDEX anomalies_by_id ON anomalies (id);
CREATE INDEX anomalies_by_ts ON anomalies (ts DESC);
CREATE INDEX anomalies_by_incident ON anomalies (incident_id) WHERE incident_id <> '';
CREATE TABLE incidents (
  id              text COLLATE "C" PRIMARY KEY,
  root_id         bigint REFERENCES assets (asset_id),
  state           text NOT NULL,
  severity        text NOT NULL,
  title           text NOT NULL DEFAULT '',
  opened_at       timestamptz NOT NULL,
  updated_at      timestamptz NOT NULL,
  acknowledged_at timestamptz,
  resolved_at     timestamptz,
  properties      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX incidents_by_state ON incidents (state, opened_at);
CREATE TABLE alerts (
  id               text COLLATE "C" PRIMARY KEY,
  incident_id      text NOT NULL,
  channel          text NOT NULL,
  event            text NOT NULL,
  payload          jsonb NOT NULL DEFAULT '{}',
  idempotency_key  text NOT NULL UNIQUE,
  state            text NOT NULL DEFAULT 'pending',
  attempts         integer NOT NULL DEFAULT 0,
  created_at       timestamptz NOT NULL,
  next_attempt_at  timestamptz NOT NULL,
  delivered_at     timestamptz,
  last_error       text NOT NULL DEFAULT '',
  lease_owner      text NOT NULL DEFAULT '',
  lease_expires_at timestamptz
);
CREATE INDEX alerts_due ON alerts (next_attempt_at) WHERE state = 'pending';
CREATE INDEX alerts_by_created ON alerts (created_at, id);
CREATE TABLE checkpoints (
  scope      text COLLATE "C" NOT NULL,
  key        text COLLATE "C" NOT NULL,
  value      text NOT NULL,
  updated_at timestamptz NOT NULL,
  PRIMARY KEY (scope, key)
);
)sql",
    // 2: search index and health lookups (issue 6; search_engine.h describes the index, the
    // same tables as SQLite's so that both rank alike).
    R"sql(
CREATE TABLE search_docs (
  asset_id      bigint PRIMARY KEY REFERENCES assets (asset_id),
  kind          text NOT NULL,
  name          text NOT NULL,
  description   text NOT NULL,
  source        text NOT NULL,
  database_name text NOT NULL,
  schema_name   text NOT NULL,
  status        text NOT NULL,
  columns       text NOT NULL,
  tags          text NOT NULL,
  owners        text NOT NULL,
  downstream    bigint NOT NULL,
  exposures     bigint NOT NULL,
  boost         bigint NOT NULL,
  postings      text NOT NULL
);
CREATE TABLE search_postings (
  term     text COLLATE "C" NOT NULL,
  score    bigint NOT NULL,
  asset_id bigint NOT NULL,
  PRIMARY KEY (term, score, asset_id)
);
CREATE TABLE search_typos (
  variant text COLLATE "C" NOT NULL,
  term    text COLLATE "C" NOT NULL,
  PRIMARY KEY (variant, term)
);
CREATE INDEX incidents_open_by_root ON incidents (root_id) WHERE state <> 'resolved';
CREATE INDEX anomalies_by_asset_detected ON anomalies (asset_id, detected_at);
)sql",
    // 3: the asset key in search_docs, so that reading a search's candidates needs no join
    // with the assets table (issue 6).
    R"sql(
ALTER TABLE search_docs ADD COLUMN namespace text NOT NULL DEFAULT '';
ALTER TABLE search_docs ADD COLUMN key_name text NOT NULL DEFAULT '';
UPDATE search_docs d SET namespace = a.namespace, key_name = a.name
  FROM assets a WHERE a.asset_id = d.asset_id;
)sql",
    // 4: the OpenLineage event log (issue 4): events as accepted, projected into the catalog
    // in the background; the projection checkpoint lives in checkpoints.
    R"sql(
CREATE TABLE lineage_events (
  id          bigserial PRIMARY KEY,
  received_at timestamptz NOT NULL,
  event_time  timestamptz NOT NULL,
  run_id      text NOT NULL,
  body        text NOT NULL
);
)sql",
    // 5: the search change log (issue 6; search_engine.h): each reindex appends the asset ids
    // it rebuilt, so that serve's in-memory copy of the index follows every instance's
    // writes. asset_id 0 means every asset (a rebuild). Appends hold kPgSearchChangesLock
    // until commit, so seq grows in commit order.
    R"sql(
CREATE TABLE search_changes (
  seq        bigserial PRIMARY KEY,
  asset_id   bigint NOT NULL,
  changed_at timestamptz NOT NULL
);
)sql",
    // 6: the write generation (Store::WriteGeneration): one row that every write adds one to as
    // its last statement, so that a caller can tell whether anybody else wrote since it last
    // looked, and keep what it knows of the stored state until then (issue 4: the OpenLineage
    // projector's cache, which SQLite follows through PRAGMA data_version instead).
    R"sql(
CREATE TABLE write_generation (
  id smallint PRIMARY KEY CHECK (id = 1),
  n  bigint NOT NULL
);
INSERT INTO write_generation VALUES (1, 1);
)sql",
    // 7: large values (OpenLineage events of 2-20 KB, facets in properties, schema snapshots)
    // compressed with lz4 instead of pglz, PostgreSQL's default: pglz compressing each event
    // as it is appended held the log at ~5,000 events/s on two cores, lz4 at ~7,000 (issue 4).
    // Only new values; a server before 14, or built without lz4, keeps pglz.
    R"sql(
DO $$
BEGIN
  IF current_setting('server_version_num')::int >= 140000 THEN
    ALTER TABLE lineage_events ALTER COLUMN body SET COMPRESSION lz4;
    ALTER TABLE assets ALTER COLUMN properties SET COMPRESSION lz4;
    ALTER TABLE runs ALTER COLUMN properties SET COMPRESSION lz4;
    ALTER TABLE node_results ALTER COLUMN properties SET COMPRESSION lz4;
    ALTER TABLE schema_snapshots ALTER COLUMN columns SET COMPRESSION lz4;
  END IF;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
  NULL;  -- built without lz4: pglz it stays
END
$$;
)sql",
};

}  // namespace tidemark::catalog
