#pragma once

// catalog::Store: all of Tidemark's storage behind one interface with two implementations,
// the embedded SQLite default and PostgreSQL for teams that share one database between
// several instances. Both pass the same contract suite (tests/catalog/store_test.cc).
//
// Thread-safety: a Store is safe to use from many threads at once. SQLite serialises writers
// (one connection for writes, a small pool for reads); PostgreSQL uses a connection pool.
//
// Errors: NotFound for an absent thing (never for a down database), Unavailable when the
// database cannot be reached, InvalidArgument for a write that breaks the model's rules
// (the whole batch is then rolled back), Corruption for a schema newer than this binary.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tidemark/catalog/search.h"
#include "tidemark/catalog/write_batch.h"
#include "tidemark/model/clock.h"
#include "tidemark/model/asset.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/metric.h"
#include "tidemark/model/run.h"
#include "tidemark/model/schema_snapshot.h"
#include "tidemark/model/status.h"

namespace tidemark::catalog {

using model::Result;
using model::Status;

// The schema version this binary writes. Migrations bring older stores up to it; a store
// with a newer version is refused (Corruption) rather than misread.
inline constexpr int kSchemaVersion = 7;

struct AssetFilter {
  std::optional<model::AssetKind> kind;
  std::string source;                 // empty: any
  bool include_removed = false;
  size_t limit = 1000;
  size_t offset = 0;
  // Keyset paging: only assets whose key (AssetKey::ToString) sorts after this one. A caller
  // walking every asset passes the last key of each page instead of a growing offset, which
  // the store would have to step over again for every page.
  std::string after;
};

enum class Direction { kUpstream, kDownstream };

// One series read of Store::ReadSeriesMany: the points of (key, metric) with from <= ts < to.
struct SeriesRange {
  model::AssetKey key;
  std::string metric;
  model::Timestamp from{}, to{};
};

// What detection reads of one asset besides its series (Store::ReadDetectionInputs).
struct DetectionInputs {
  std::vector<model::Anomaly> anomalies;             // at or after `since`, newest first
  std::vector<std::string> metrics;                  // as ListMetrics
  std::vector<model::SchemaSnapshot> schema_history; // as GetSchemaHistory
  std::vector<model::NodeResult> recent_results;     // as GetRecentResults(key, limit)
};

struct AnomalyFilter {
  std::optional<model::AssetKey> asset;
  std::optional<model::Timestamp> since;
  std::string incident_id;            // empty: any
  size_t limit = 1000;
};

// A lineage neighbourhood for graph algorithms in memory (incident grouping): the assets
// within `depth` hops of any start, and the edges walked between them (table level; a
// column-level edge counts as one between its tables). Nodes are indexes into `keys`.
struct LineageSubgraph {
  std::vector<model::AssetKey> keys;
  std::vector<std::string> kinds;   // AssetKindName, per key
  std::vector<std::string> names;   // display name, per key
  std::vector<std::pair<std::uint32_t, std::uint32_t>> edges;  // (upstream, downstream), unique
  bool truncated = false;           // max_nodes stopped the walk
};

// The alert outbox by state (for /metrics).
struct AlertCounts {
  long long pending = 0, delivered = 0, dead = 0;
};

struct StoreCounts {
  long long assets = 0, columns = 0, edges = 0, owners = 0, runs = 0, node_results = 0,
            metric_points = 0, schema_snapshots = 0, anomalies = 0, incidents = 0, alerts = 0;
};

// The OpenLineage event log (issue 4, migration 4): events accepted over HTTP are appended
// here durably, then projected into the catalog in the background. Projection records how far
// it got in the checkpoint (kLineageLogScope, kLineageLogProjectedKey) = decimal id, written
// by the same Write as what it projected, so an event is projected exactly once.
struct LineageEvent {
  std::int64_t id = 0;             // assigned by AppendLineageEvents: increasing, never reused
  model::Timestamp received_at{};  // when it was accepted
  std::string run_id;              // "" for a JobEvent or DatasetEvent (diagnostics)
  model::Timestamp event_time{};   // its eventTime (diagnostics)
  std::string body;                // the event's JSON text as received
};
inline constexpr std::string_view kLineageLogScope = "openlineage_log";
inline constexpr std::string_view kLineageLogProjectedKey = "projected_through";

struct LineageLogStatus {
  std::int64_t last_id = 0;            // the highest id appended so far (0: none)
  std::int64_t projected_through = 0;  // the checkpoint: every id <= it is projected
  long long waiting = 0;               // events logged and not projected yet
  std::optional<model::Timestamp> oldest_waiting;  // received_at of the first of them
};

class Store {
 public:
  Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;
  virtual ~Store() = default;

  // "sqlite" or "postgresql".
  virtual std::string_view Kind() const = 0;
  // The database location with any password removed, for logs and /health.
  virtual std::string Describe() const = 0;
  // OK when the database answers a trivial query.
  virtual Status Ping() = 0;
  // The schema version recorded in the database.
  virtual Result<int> SchemaVersion() = 0;

  // Applies every write of `batch` in one transaction: all are stored or none is.
  virtual Result<WriteSummary> Write(const WriteBatch& batch) = 0;

  // Assets ------------------------------------------------------------------------------------
  // The asset with its tags and aliases. NotFound when no asset has that key.
  virtual Result<model::Asset> GetAsset(const model::AssetKey& key) = 0;
  // The key an alias (or a key's string form) points at. NotFound when unknown.
  virtual Result<model::AssetKey> Resolve(std::string_view alias_or_key) = 0;
  // Assets ordered by key.
  virtual Result<std::vector<model::Asset>> ListAssets(const AssetFilter& filter) = 0;
  // Columns ordered by position then name; empty when the asset has none or does not exist.
  virtual Result<std::vector<model::Column>> GetColumns(const model::AssetKey& key) = 0;
  virtual Result<model::Owner> GetOwner(std::string_view owner_id) = 0;
  // The asset's owners with their roles, ordered by owner id.
  virtual Result<std::vector<std::pair<model::Owner, std::string>>> GetOwnersOf(
      const model::AssetKey& key) = 0;
  // Keys of the assets an owner owns (any role), ordered.
  virtual Result<std::vector<model::AssetKey>> GetOwnedBy(std::string_view owner_id) = 0;
  // GetAsset and GetOwnersOf for several keys at once, in the order of `keys`; an unknown key
  // gives nullopt and no owners. Incident routing reads the roots of thousands of incidents
  // together. The defaults call the one-key methods per key, so wrappers need not implement
  // them; PostgreSQL answers each with one statement instead of a round trip per key.
  virtual Result<std::vector<std::optional<model::Asset>>> GetAssets(
      const std::vector<model::AssetKey>& keys);
  virtual Result<std::vector<std::vector<std::pair<model::Owner, std::string>>>> GetOwnersOfMany(
      const std::vector<model::AssetKey>& keys);

  // Lineage: the edges one hop away from `key` in `direction` (table and column level).
  virtual Result<std::vector<model::LineageEdge>> GetEdges(const model::AssetKey& key,
                                                           Direction direction) = 0;

  // Runs --------------------------------------------------------------------------------------
  virtual Result<model::Run> GetRun(std::string_view run_id) = 0;
  // Ordered by node id.
  virtual Result<std::vector<model::NodeResult>> GetNodeResults(std::string_view run_id) = 0;
  // The most recent results for an asset, newest first.
  virtual Result<std::vector<model::NodeResult>> GetRecentResults(const model::AssetKey& key,
                                                                  size_t limit) = 0;

  // Series ------------------------------------------------------------------------------------
  // Points of one series with from <= ts < to, in time order.
  virtual Result<model::Series> ReadSeries(const model::AssetKey& key, std::string_view metric,
                                           model::Timestamp from, model::Timestamp to) = 0;
  // ReadSeries for each range, in the order given (incident recovery checks thousands of
  // series at once). The default calls ReadSeries per range, so wrappers need not implement
  // it; PostgreSQL reads them all in one statement per few thousand ranges.
  virtual Result<std::vector<model::Series>> ReadSeriesMany(
      const std::vector<SeriesRange>& ranges);
  // For each of `keys`, in order (an unknown key gets empty lists): its anomalies since
  // `since`, metric names, schema history and `results_limit` most recent results, the
  // reads detection makes of every asset. The default calls the one-key methods per key;
  // PostgreSQL reads each part for all keys in one statement.
  virtual Result<std::vector<DetectionInputs>> ReadDetectionInputs(
      const std::vector<model::AssetKey>& keys, model::Timestamp since, size_t results_limit);
  // Metric names recorded for an asset, sorted.
  virtual Result<std::vector<std::string>> ListMetrics(const model::AssetKey& key) = 0;
  // Oldest first.
  virtual Result<std::vector<model::SchemaSnapshot>> GetSchemaHistory(
      const model::AssetKey& key) = 0;

  // Detection and incidents -------------------------------------------------------------------
  // Newest first.
  virtual Result<std::vector<model::Anomaly>> ListAnomalies(const AnomalyFilter& filter) = 0;
  virtual Result<model::Incident> GetIncident(std::string_view id) = 0;
  // Newest opened first; all states when `state` is empty.
  virtual Result<std::vector<model::Incident>> ListIncidents(
      std::optional<model::IncidentState> state, size_t limit) = 0;

  // Alert outbox ------------------------------------------------------------------------------
  // Claims up to `limit` pending alerts due at `now` whose lease is free or expired, leasing
  // them to `worker` until now + `lease`. Two workers never hold the same alert's lease.
  virtual Result<std::vector<model::Alert>> ClaimAlerts(std::string_view worker, size_t limit,
                                                        model::Timestamp now,
                                                        std::chrono::seconds lease) = 0;
  // Records a delivery. FailedPrecondition-like InvalidArgument if `worker` no longer holds it.
  virtual Status MarkAlertDelivered(std::string_view alert_id, std::string_view worker,
                                    model::Timestamp now) = 0;
  // Records a failed attempt: back to pending at `retry_at`, or dead when `dead` is true.
  virtual Status MarkAlertFailed(std::string_view alert_id, std::string_view worker,
                                 std::string_view error, model::Timestamp retry_at,
                                 bool dead) = 0;
  virtual Result<std::vector<model::Alert>> ListAlerts(std::optional<model::AlertState> state,
                                                       size_t limit) = 0;
  // Records the delivery of several alerts in one transaction (one commit instead of one per
  // alert: the dispatcher's hot path). Returns the ids that were still leased to `worker` and
  // are now delivered; the others (lease lost, unknown, already done) are left unchanged.
  // The default loops over MarkAlertDelivered (one commit each), so wrappers need not
  // implement it; both stores override it with one transaction.
  virtual Result<std::vector<std::string>> MarkAlertsDelivered(
      const std::vector<std::string>& alert_ids, std::string_view worker, model::Timestamp now);
  // How many alerts are in each state. The default counts ListAlerts' rows, so wrappers need
  // not implement it; both stores override it with one grouped count.
  virtual Result<AlertCounts> CountAlerts();

  // Checkpoints -------------------------------------------------------------------------------
  // NotFound when none is stored under (scope, key).
  virtual Result<Checkpoint> GetCheckpoint(std::string_view scope, std::string_view key) = 0;
  // Every checkpoint of a scope, ordered by key.
  virtual Result<std::vector<Checkpoint>> ListCheckpoints(std::string_view scope) = 0;

  // Walks lineage from every key of `starts` at once in `direction`, at most `depth` hops, and
  // returns what it reached (starts included; unknown keys are skipped), at most `max_nodes`
  // nodes. One round of reads per hop, whatever the number of starts. The default is built on
  // GetEdges and GetAsset (one read per node), so wrappers need not implement it; both stores
  // override it.
  virtual Result<LineageSubgraph> WalkLineage(const std::vector<model::AssetKey>& starts,
                                              Direction direction, int depth, size_t max_nodes);

  // Row counts of each table, for /metrics, the demo and tests.
  virtual Result<StoreCounts> Counts() = 0;

  // Search, lineage graph and ownership (issue 6) ----------------------------------------------
  // Ranked assets matching query.text, with facets; ranking and syntax are search_engine.h's
  // and the same on every store. InvalidArgument (where "q") for a query too long, with too
  // many words or with no word to search for. The index is kept current by Write itself.
  virtual Result<SearchResults> Search(const SearchQuery& query) = 0;
  // Builds the whole search index again from the stored assets, in one transaction: for
  // `tidemark reindex` after a ranking change, and for migration 2. Searches see the old
  // index until it commits (SQLite) or wait for the commit (PostgreSQL).
  virtual Status RebuildSearchIndex() = 0;
  // Assets whose short name has a token starting with the query's last word (type-ahead).
  virtual Result<std::vector<Suggestion>> Suggest(const SuggestQuery& query) = 0;
  // The lineage neighbourhood of query.key, cycle-safe, at most query.max_nodes nodes
  // (truncated is then set). NotFound for an unknown key, InvalidArgument for a bad depth.
  virtual Result<LineageGraph> Lineage(const LineageQuery& query) = 0;
  // Every asset downstream of `key` (any depth, at most `max_nodes`), exposures and owners.
  virtual Result<ImpactReport> Impact(const model::AssetKey& key, size_t max_nodes) = 0;
  // Health of each key, in the order given; unknown keys come back healthy.
  virtual Result<std::vector<AssetHealth>> GetHealth(const std::vector<model::AssetKey>& keys) = 0;
  // The assets `owner_id` owns (any role) with their health, ordered by key. NotFound for an
  // unknown owner.
  virtual Result<std::vector<OwnedAsset>> ListOwnedAssets(std::string_view owner_id) = 0;

  // OpenLineage event log (issue 4) ----------------------------------------------------------
  // Appends `events` (id ignored) in one transaction, all or none, and returns their ids in
  // order. Ids only grow: an append committed later has higher ids than every committed one.
  virtual Result<std::vector<std::int64_t>> AppendLineageEvents(
      const std::vector<LineageEvent>& events) = 0;
  // At most `limit` logged events with id > after_id, in id order.
  virtual Result<std::vector<LineageEvent>> ReadLineageEvents(std::int64_t after_id,
                                                              size_t limit) = 0;
  // The log's size and the projection checkpoint, read together.
  virtual Result<LineageLogStatus> GetLineageLogStatus() = 0;
  // Deletes the events already projected (id <= the checkpoint) received before
  // `received_before`; returns how many. Events not projected are never deleted.
  virtual Result<size_t> PruneLineageEvents(model::Timestamp received_before) = 0;

  // Write generation (issue 4): a number that changes whenever a Write has committed since
  // it was last read, whoever wrote (this process or another). Each committed Write of this
  // process adds exactly one, so a caller that read g before its Write and g + 1 after it
  // knows nobody else wrote in between, and may keep what it knows of the stored state until
  // the number moves again. SQLite counts its own commits and follows PRAGMA data_version for
  // other processes'; PostgreSQL keeps the number in a row that every write adds one to as its
  // last statement (so writes commit one at a time), and reading it is a round trip. 0 means
  // "not tracked" (the default, or the store did not answer): a caller must then read the
  // store every time.
  virtual std::uint64_t WriteGeneration() { return 0; }

  // Runs `fn`, whose reads of this store on the calling thread may share one read transaction
  // (one snapshot): for a job that makes many small reads in a row, such as detection's few
  // reads per asset. `fn` must not write through this store. The default just calls `fn`;
  // SQLite holds one read connection and transaction for the whole call, so each read saves
  // taking a connection and its WAL locks (two fcntl calls and an fstat).
  virtual Status ReadTogether(const std::function<Status()>& fn) { return fn(); }

  // The copy of the search index in memory (StoreOptions::search_in_memory), or nullopt when
  // this store answers searches from its tables.
  virtual std::optional<SearchMemoryStatus> SearchMemory() { return std::nullopt; }

  // Committed-write observer (issue 5: the service scores what each ingest changed). After a
  // Write of this process has committed, the store calls `observer` with its batch on the
  // writing thread, before Write returns. It must be quick and must not write to this store.
  // Writes by other processes are not seen. One observer at a time; nullptr removes it.
  void SetCommitObserver(std::function<void(const WriteBatch&)> observer);

 protected:
  // Implementations call this once a Write has committed.
  void NotifyCommitted(const WriteBatch& batch);

 private:
  std::shared_mutex observer_mu_;
  std::function<void(const WriteBatch&)> observer_;
};

// Where a store lives: "sqlite:PATH" (or a bare path), "sqlite::memory:", or a
// "postgresql://" / "postgres://" URL (libpq keywords also accepted after "postgresql:").
struct StoreOptions {
  std::string url = "sqlite:./tidemark.db";
  // Apply pending migrations on open (the service does; `tidemark migrate` does explicitly).
  bool migrate = true;
  // PostgreSQL connection pool size; SQLite read connections.
  int pool_size = 4;
  std::chrono::milliseconds busy_timeout{5000};
  // Source of created_at/updated_at stamps; nullptr means the system clock. Borrowed: must
  // outlive the store.
  const model::Clock* clock = nullptr;
  // Answer Search and Suggest from a copy of the search index held in memory (serve does;
  // catalog/src/memory_search.h), loaded in the background after open (the tables answer until
  // then) and kept current through the search change log: this process's writes before Write
  // returns, other processes' within `search_poll`.
  bool search_in_memory = false;
  std::chrono::milliseconds search_poll{500};
  // Load that copy before OpenStore returns instead (tests).
  bool search_load_at_open = false;
};

// Opens the store named by options.url. Unavailable when it cannot connect or open the file,
// Corruption when the schema is newer than kSchemaVersion, InvalidArgument for a bad URL.
Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options);
Result<std::unique_ptr<Store>> OpenSqliteStore(const StoreOptions& options);
Result<std::unique_ptr<Store>> OpenPostgresStore(const StoreOptions& options);

// Applies pending migrations; returns {version before, version after}.
struct MigrationReport {
  int from = 0;
  int to = 0;
};
Result<MigrationReport> Migrate(const StoreOptions& options);

// The URL with any password replaced by "***" (postgresql://u:***@h/db, password=*** ...).
std::string RedactUrl(std::string_view url);

}  // namespace tidemark::catalog
