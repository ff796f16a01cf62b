#include "tidemark/catalog/store.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <shared_mutex>

#include "store_url.h"

namespace tidemark::catalog {

Result<std::unique_ptr<Store>> OpenStore(const StoreOptions& options) {
  TM_ASSIGN_OR_RETURN(ParsedStoreUrl parsed, ParseStoreUrl(options.url));
  switch (parsed.backend) {
    case StoreBackend::kSqlite:
      return OpenSqliteStore(options);
    case StoreBackend::kPostgres:
      return OpenPostgresStore(options);
  }
  return Status::Internal("unreachable store backend");
}

Result<MigrationReport> Migrate(const StoreOptions& options) {
  // Opening with migrate=false reads the version as found; opening again with migrate=true
  // applies what is pending. Both backends refuse a schema newer than this binary on open.
  StoreOptions read_only = options;
  read_only.migrate = false;
  MigrationReport report;
  {
    TM_ASSIGN_OR_RETURN(auto store, OpenStore(read_only));
    TM_ASSIGN_OR_RETURN(report.from, store->SchemaVersion());
  }
  StoreOptions migrating = options;
  migrating.migrate = true;
  TM_ASSIGN_OR_RETURN(auto store, OpenStore(migrating));
  TM_ASSIGN_OR_RETURN(report.to, store->SchemaVersion());
  return report;
}

Result<std::vector<std::string>> Store::MarkAlertsDelivered(
    const std::vector<std::string>& alert_ids, std::string_view worker, model::Timestamp now) {
  std::vector<std::string> done;
  for (const std::string& id : alert_ids) {
    Status s = MarkAlertDelivered(id, worker, now);
    if (s.ok()) {
      done.push_back(id);
    } else if (!s.IsInvalidArgument() && !s.IsNotFound()) {
      return s;
    }
  }
  return done;
}

void Store::SetCommitObserver(std::function<void(const WriteBatch&)> observer) {
  std::unique_lock lock(observer_mu_);
  observer_ = std::move(observer);
}

void Store::NotifyCommitted(const WriteBatch& batch) {
  std::shared_lock lock(observer_mu_);
  if (observer_) observer_(batch);
}

Result<std::vector<std::optional<model::Asset>>> Store::GetAssets(
    const std::vector<model::AssetKey>& keys) {
  std::vector<std::optional<model::Asset>> out;
  out.reserve(keys.size());
  for (const model::AssetKey& key : keys) {
    auto asset = GetAsset(key);
    if (asset.status().IsNotFound()) {
      out.emplace_back();
      continue;
    }
    TM_RETURN_IF_ERROR(asset.status());
    out.emplace_back(std::move(*asset));
  }
  return out;
}

Result<std::vector<std::vector<std::pair<model::Owner, std::string>>>> Store::GetOwnersOfMany(
    const std::vector<model::AssetKey>& keys) {
  std::vector<std::vector<std::pair<model::Owner, std::string>>> out;
  out.reserve(keys.size());
  for (const model::AssetKey& key : keys) {
    TM_ASSIGN_OR_RETURN(auto owners, GetOwnersOf(key));
    out.push_back(std::move(owners));
  }
  return out;
}

Result<std::vector<model::Series>> Store::ReadSeriesMany(const std::vector<SeriesRange>& ranges) {
  std::vector<model::Series> out;
  out.reserve(ranges.size());
  for (const SeriesRange& r : ranges) {
    TM_ASSIGN_OR_RETURN(model::Series series, ReadSeries(r.key, r.metric, r.from, r.to));
    out.push_back(std::move(series));
  }
  return out;
}

Result<std::vector<DetectionInputs>> Store::ReadDetectionInputs(
    const std::vector<model::AssetKey>& keys, model::Timestamp since, size_t results_limit) {
  std::vector<DetectionInputs> out(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    DetectionInputs& in = out[i];
    TM_ASSIGN_OR_RETURN(in.anomalies, ListAnomalies({.asset = keys[i], .since = since,
                                                     .incident_id = "", .limit = 1000000}));
    TM_ASSIGN_OR_RETURN(in.metrics, ListMetrics(keys[i]));
    TM_ASSIGN_OR_RETURN(in.schema_history, GetSchemaHistory(keys[i]));
    TM_ASSIGN_OR_RETURN(in.recent_results, GetRecentResults(keys[i], results_limit));
  }
  return out;
}

Result<LineageSubgraph> Store::WalkLineage(const std::vector<model::AssetKey>& starts,
                                           Direction direction, int depth, size_t max_nodes) {
  LineageSubgraph out;
  std::map<model::AssetKey, std::uint32_t> index;
  std::vector<std::uint32_t> frontier;
  auto add = [&](const model::AssetKey& key) -> std::optional<std::uint32_t> {
    auto it = index.find(key);
    if (it != index.end()) return it->second;
    if (out.keys.size() >= max_nodes) {
      out.truncated = true;
      return std::nullopt;
    }
    const auto i = static_cast<std::uint32_t>(out.keys.size());
    index.emplace(key, i);
    out.keys.push_back(key);
    frontier.push_back(i);
    return i;
  };
  for (const model::AssetKey& key : starts) {
    auto asset = GetAsset(key);
    if (asset.status().IsNotFound()) continue;
    TM_RETURN_IF_ERROR(asset.status());
    add(key);
  }
  const bool upstream = direction == Direction::kUpstream;
  for (int hop = 0; hop < depth && !frontier.empty(); ++hop) {
    std::vector<std::uint32_t> level;
    level.swap(frontier);
    for (std::uint32_t from : level) {
      TM_ASSIGN_OR_RETURN(auto edges, GetEdges(model::AssetKey(out.keys[from]), direction));
      for (const model::LineageEdge& e : edges) {
        const model::AssetKey& next = upstream ? e.upstream : e.downstream;
        if (next.empty() || next == out.keys[from]) continue;
        std::optional<std::uint32_t> to = add(next);
        if (to) out.edges.emplace_back(upstream ? *to : from, upstream ? from : *to);
      }
    }
  }
  std::sort(out.edges.begin(), out.edges.end());
  out.edges.erase(std::unique(out.edges.begin(), out.edges.end()), out.edges.end());
  for (const model::AssetKey& key : out.keys) {
    auto asset = GetAsset(key);
    if (!asset.ok() && !asset.status().IsNotFound()) return asset.status();
    out.kinds.emplace_back(asset.ok() ? model::AssetKindName(asset->kind) : "dataset");
    out.names.push_back(asset.ok() && !asset->name.empty() ? asset->name : key.name);
  }
  return out;
}

Result<AlertCounts> Store::CountAlerts() {
  AlertCounts counts;
  for (auto [state, count] : {std::pair{model::AlertState::kPending, &counts.pending},
                              std::pair{model::AlertState::kDelivered, &counts.delivered},
                              std::pair{model::AlertState::kDead, &counts.dead}}) {
    TM_ASSIGN_OR_RETURN(auto alerts, ListAlerts(state, static_cast<size_t>(-1) / 2));
    *count = static_cast<long long>(alerts.size());
  }
  return counts;
}

}  // namespace tidemark::catalog
