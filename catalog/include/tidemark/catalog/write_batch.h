#pragma once

// WriteBatch: a set of catalog writes applied atomically by Store::Write (all or nothing),
// in the manner of leveldb::WriteBatch. Collectors build one per artifact or request, so a
// rejected input changes nothing stored.
//
// Writes are grouped by kind and applied in a fixed order that respects references:
// owners, assets, aliases, columns, tags, ownerships, removals, edges, runs, node results,
// metric points, schema snapshots, incidents, anomalies, alerts, checkpoints. An asset referenced by a later
// write (a metric point, an edge endpoint) but never put is created as a kDataset placeholder.
//
// Not thread-safe; build it on one thread, then hand it to Write.

#include <string>
#include <utility>
#include <vector>

#include "tidemark/model/asset.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/metric.h"
#include "tidemark/model/run.h"
#include "tidemark/model/schema_snapshot.h"

namespace tidemark::catalog {

// A collector's memory between runs: `scope` names the collector and source ("dbt:manifest",
// "postgres:warehouse-1"), `key` the thing remembered, `value` whatever text it needs.
struct Checkpoint {
  std::string scope;
  std::string key;
  std::string value;
  model::Timestamp updated_at{};  // set by the store on write

  friend bool operator==(const Checkpoint&, const Checkpoint&) = default;
};

class WriteBatch {
 public:
  // Insert or update by key. Tags and aliases inside `asset` are ignored: use SetTags/PutAlias.
  void PutAsset(model::Asset asset) { assets_.push_back(std::move(asset)); }
  // Points `alias` (a tool's own id, e.g. "model.shop.orders") at `key`. Re-pointing is allowed.
  void PutAlias(std::string alias, model::AssetKey key) {
    aliases_.emplace_back(std::move(alias), std::move(key));
  }
  // Replaces the asset's whole column list.
  void SetColumns(model::AssetKey asset, std::vector<model::Column> columns) {
    columns_.emplace_back(std::move(asset), std::move(columns));
  }
  // Replaces the asset's whole tag set.
  void SetTags(model::AssetKey asset, std::vector<std::string> tags) {
    tags_.emplace_back(std::move(asset), std::move(tags));
  }
  void PutOwner(model::Owner owner) { owners_.push_back(std::move(owner)); }
  // Replaces the asset's owners. Every owner_id must be put in this batch or already stored.
  void SetOwnerships(model::AssetKey asset, std::vector<model::Ownership> ownerships) {
    ownerships_.emplace_back(std::move(asset), std::move(ownerships));
  }
  // Marks an asset removed (kept, with its history, but shown as removed). Unknown keys are
  // ignored. Applied after this batch's PutAsset writes.
  void MarkRemoved(model::AssetKey asset) { removals_.push_back(std::move(asset)); }

  // Replaces every edge into `downstream` that `origin` reported before with `edges`
  // (each of which must have that downstream and origin). Other origins' edges stay.
  void ReplaceEdgesInto(model::AssetKey downstream, std::string origin,
                        std::vector<model::LineageEdge> edges) {
    edge_sets_.push_back({std::move(downstream), std::move(origin), std::move(edges)});
  }
  // Adds one edge if it is not there yet (OpenLineage accumulates lineage run by run).
  void PutEdge(model::LineageEdge edge) { edges_.push_back(std::move(edge)); }

  // Insert or update by id. An update never moves a terminal run back to a non-terminal state
  // or to an older event: the newer event_time wins, terminal beats non-terminal.
  void PutRun(model::Run run) { runs_.push_back(std::move(run)); }
  // Insert or replace by (run_id, node_id).
  void PutNodeResult(model::NodeResult result) { node_results_.push_back(std::move(result)); }

  // Append-only: a point whose (asset, metric, ts) is already stored is skipped, not updated.
  void AppendMetricPoint(model::MetricPoint point) { points_.push_back(std::move(point)); }
  // Stored only if it differs from the asset's latest snapshot (see SchemaSnapshot).
  void PutSchemaSnapshot(model::SchemaSnapshot snapshot) {
    snapshots_.push_back(std::move(snapshot));
  }

  // Insert or update by id.
  void PutIncident(model::Incident incident) { incidents_.push_back(std::move(incident)); }
  // Insert or update by id (an anomaly recomputed from the same series keeps its id).
  void PutAnomaly(model::Anomaly anomaly) { anomalies_.push_back(std::move(anomaly)); }
  // Enqueues an alert; an alert whose idempotency_key is already stored is skipped.
  void EnqueueAlert(model::Alert alert) { alerts_.push_back(std::move(alert)); }

  // Insert or replace by (scope, key): small state a collector keeps between runs, written in
  // the same transaction as what it describes (an artifact's digest, a table's counters).
  void PutCheckpoint(Checkpoint checkpoint) { checkpoints_.push_back(std::move(checkpoint)); }

  // Makes the whole Write conditional, for optimistic concurrency between instances: it
  // applies only if the checkpoint (scope, key) holds `value` ("" also matches none), checked
  // first inside the write's transaction; otherwise Write fails with AlreadyExists and
  // changes nothing. The checkpoint stays locked until commit (PostgreSQL: its row; SQLite:
  // the one writer), so of two writes expecting the same value one wins and the other fails.
  // Not counted by size(): a batch of expectations alone is empty.
  void ExpectCheckpoint(std::string scope, std::string key, std::string value) {
    expected_.push_back({std::move(scope), std::move(key), std::move(value), {}});
  }

  bool empty() const;
  size_t size() const;  // number of writes of every kind
  void Clear();

  // Read access for Store implementations.
  struct EdgeSet {
    model::AssetKey downstream;
    std::string origin;
    std::vector<model::LineageEdge> edges;
  };
  const std::vector<model::Asset>& assets() const { return assets_; }
  const std::vector<std::pair<std::string, model::AssetKey>>& aliases() const { return aliases_; }
  const std::vector<std::pair<model::AssetKey, std::vector<model::Column>>>& columns() const {
    return columns_;
  }
  const std::vector<std::pair<model::AssetKey, std::vector<std::string>>>& tags() const {
    return tags_;
  }
  const std::vector<model::Owner>& owners() const { return owners_; }
  const std::vector<std::pair<model::AssetKey, std::vector<model::Ownership>>>& ownerships()
      const {
    return ownerships_;
  }
  const std::vector<model::AssetKey>& removals() const { return removals_; }
  const std::vector<EdgeSet>& edge_sets() const { return edge_sets_; }
  const std::vector<model::LineageEdge>& edges() const { return edges_; }
  const std::vector<model::Run>& runs() const { return runs_; }
  const std::vector<model::NodeResult>& node_results() const { return node_results_; }
  const std::vector<model::MetricPoint>& points() const { return points_; }
  const std::vector<model::SchemaSnapshot>& snapshots() const { return snapshots_; }
  const std::vector<model::Incident>& incidents() const { return incidents_; }
  const std::vector<model::Anomaly>& anomalies() const { return anomalies_; }
  const std::vector<model::Alert>& alerts() const { return alerts_; }
  const std::vector<Checkpoint>& checkpoints() const { return checkpoints_; }
  const std::vector<Checkpoint>& expected_checkpoints() const { return expected_; }

 private:
  std::vector<model::Asset> assets_;
  std::vector<std::pair<std::string, model::AssetKey>> aliases_;
  std::vector<std::pair<model::AssetKey, std::vector<model::Column>>> columns_;
  std::vector<std::pair<model::AssetKey, std::vector<std::string>>> tags_;
  std::vector<model::Owner> owners_;
  std::vector<std::pair<model::AssetKey, std::vector<model::Ownership>>> ownerships_;
  std::vector<model::AssetKey> removals_;
  std::vector<EdgeSet> edge_sets_;
  std::vector<model::LineageEdge> edges_;
  std::vector<model::Run> runs_;
  std::vector<model::NodeResult> node_results_;
  std::vector<model::MetricPoint> points_;
  std::vector<model::SchemaSnapshot> snapshots_;
  std::vector<model::Incident> incidents_;
  std::vector<model::Anomaly> anomalies_;
  std::vector<model::Alert> alerts_;
  std::vector<Checkpoint> checkpoints_;
  std::vector<Checkpoint> expected_;
};

// What a Write changed, by kind: rows inserted or updated, and writes that were no-ops
// (an unchanged asset, a metric point already stored, a snapshot equal to the latest).
struct WriteSummary {
  size_t assets_written = 0;
  size_t assets_unchanged = 0;
  size_t assets_removed = 0;
  size_t columns_written = 0;
  size_t edges_written = 0;
  size_t runs_written = 0;
  size_t node_results_written = 0;
  size_t points_written = 0;
  size_t points_skipped = 0;
  size_t snapshots_written = 0;
  size_t snapshots_unchanged = 0;
  size_t anomalies_written = 0;
  size_t incidents_written = 0;
  size_t alerts_enqueued = 0;
  size_t alerts_skipped = 0;
};

}  // namespace tidemark::catalog
