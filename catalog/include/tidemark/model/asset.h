#pragma once

// The catalog's value types: what an asset is, its columns, owners and lineage.
// Plain structs, copyable, no behaviour beyond naming and comparison.

#include <compare>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/model/time.h"

namespace tidemark::model {

// The canonical identity of an asset, following OpenLineage's naming: a namespace naming the
// system and instance ("postgres://db:5432", "bigquery", "airflow-prod") and a name inside it
// ("analytics.marts.fct_purchases", "daily_sales.load"). Tool-specific ids (dbt's unique_id,
// a Looker URL) are aliases pointing at a key, never keys of their own.
struct AssetKey {
  std::string ns;
  std::string name;

  // "namespace/name". The namespace ends at the first '/' after its "scheme://authority"
  // part (or at the first '/' when it has no scheme), so names may contain '/'.
  std::string ToString() const;
  // nullopt for an empty name or a string with no '/' separator.
  static std::optional<AssetKey> Parse(std::string_view text);

  bool empty() const { return name.empty(); }
  friend auto operator<=>(const AssetKey&, const AssetKey&) = default;
};

enum class AssetKind {
  kTable,      // a table or view in a warehouse (dbt model, seed, snapshot; OpenLineage dataset)
  kSource,     // a dbt source: a table loaded by something outside dbt
  kView,
  kFile,       // object-store files and folders
  kTopic,      // Kafka and other streams
  kJob,        // an orchestrator task or dbt node run: what moves data between datasets
  kExposure,   // a dashboard, notebook, ML model or application reading the data
  kMetric,     // a dbt metric or semantic model
  kAnalysis,
  kDataset,    // seen only by name so far (pushed stats, lineage input); kind not yet known
};

std::string_view AssetKindName(AssetKind kind);  // "table", "source", ...
std::optional<AssetKind> ParseAssetKind(std::string_view name);

enum class AssetStatus { kActive, kDeprecated, kRemoved };
std::string_view AssetStatusName(AssetStatus status);
std::optional<AssetStatus> ParseAssetStatus(std::string_view name);

struct Asset {
  AssetKey key;
  AssetKind kind = AssetKind::kDataset;
  std::string name;          // short display name: "fct_purchases"
  std::string description;   // Markdown, untrusted
  std::string source;        // which integration told us: "dbt", "openlineage", "postgres", "metrics"
  std::string database;      // facets for search; empty when unknown
  std::string schema;
  AssetStatus status = AssetStatus::kActive;
  std::string properties;    // JSON object text: materialization, meta, freshness rules, ...
  std::vector<std::string> tags;     // read back from the store; written through SetTags
  std::vector<std::string> aliases;  // read back from the store; written through PutAlias
  Timestamp created_at{};            // set by the store
  Timestamp updated_at{};            // set by the store
};

struct Column {
  std::string name;
  int position = 0;          // 1-based ordinal; 0 when unknown
  std::string data_type;     // as declared or observed, unnormalised
  std::string description;
  std::optional<bool> nullable;
  std::vector<std::string> tags;
  std::string properties;    // JSON object text (tests attached, constraints, meta)

  friend bool operator==(const Column&, const Column&) = default;
};

enum class OwnerKind { kUser, kTeam };
std::string_view OwnerKindName(OwnerKind kind);
std::optional<OwnerKind> ParseOwnerKind(std::string_view name);

// A person or a team. `id` is stable and readable: "user:jane@shop.com", "team:finance".
struct Owner {
  std::string id;
  OwnerKind kind = OwnerKind::kUser;
  std::string name;
  std::string email;
  std::string channel;       // preferred alert channel, e.g. a Slack channel name
  std::string properties;    // JSON object text

  friend bool operator==(const Owner&, const Owner&) = default;
};

// An owner's relation to an asset ("owner", "steward", "group").
struct Ownership {
  std::string owner_id;
  std::string role = "owner";

  friend bool operator==(const Ownership&, const Ownership&) = default;
};

// Data flows from `upstream` to `downstream`. Column-level when both column names are set.
// `via` names the job that moves the data, when known. `origin` names who reported the edge
// ("dbt", "openlineage"); an ingest replaces its own edges and leaves other origins' alone.
struct LineageEdge {
  AssetKey upstream;
  AssetKey downstream;
  std::string upstream_column;
  std::string downstream_column;
  AssetKey via;
  std::string origin;
  std::string transformation;  // column lineage: "IDENTITY", "AGGREGATION", ... (free text)

  bool column_level() const { return !upstream_column.empty() && !downstream_column.empty(); }
  friend bool operator==(const LineageEdge&, const LineageEdge&) = default;
};

}  // namespace tidemark::model
