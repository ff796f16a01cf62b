#pragma once

// Search, lineage graph and impact queries over the catalog: the value types that
// Store::Search, Store::Suggest, Store::Lineage, Store::Impact and Store::GetHealth take and
// return. Plain structs; the ranking and tokenisation rules they follow are written down in
// catalog/src/search_engine.h and docs/search.md, and are the same for every Store.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tidemark/model/asset.h"
#include "tidemark/model/time.h"

namespace tidemark::catalog {

// Filters are exact, case-sensitive matches on the stored values; empty means "any".
struct SearchQuery {
  std::string text;        // words, "quoted phrases", -excluded, prefix*; see docs/search.md
  std::string kind;        // "table", "source", ... (model::AssetKindName)
  std::string owner;       // owner id, "team:finance"
  std::string tag;
  std::string database;
  std::string schema;
  std::string source;      // integration: "dbt", "openlineage", ...
  std::string status;      // asset status: "active", "deprecated", "removed"
  std::string health;      // "incident", "anomaly", "healthy"
  size_t limit = 20;       // at most kMaxSearchLimit
  size_t offset = 0;
};

inline constexpr size_t kMaxSearchLimit = 200;
inline constexpr size_t kMaxQueryBytes = 1024;
inline constexpr size_t kMaxQueryWords = 12;

// Open incidents rooted at the asset and its most recent anomaly.
struct AssetHealth {
  model::AssetKey key;
  int open_incidents = 0;
  std::optional<model::Timestamp> last_anomaly_at;
  std::string last_anomaly;  // the anomaly's explanation (or detector/metric when it has none)
  // "incident" when an incident is open, else "anomaly" when one was seen, else "healthy".
  std::string Label() const;
};

// Why a hit matched: which field, which stored value, and how.
struct SearchMatch {
  std::string field;   // "name", "full_name", "column", "tag", "owner", "description"
  std::string value;   // the stored value that matched: the column name, the tag, ...
  std::string how;     // "exact", "word", "prefix", "typo", "phrase"
};

struct SearchHit {
  model::AssetKey key;
  std::string kind;
  std::string name;
  std::string full_name;   // database.schema.name as the source names it (the key's name)
  std::string status;
  std::string source;
  std::string snippet;     // part of the description, plain text
  // Byte ranges [begin, end) of `snippet` that matched a query word, in order.
  std::vector<std::pair<size_t, size_t>> highlights;
  std::vector<std::string> owners;
  std::vector<std::string> tags;
  AssetHealth health;
  long long downstream = 0;  // assets reading this one directly
  long long exposures = 0;   // of which dashboards and other exposures
  double score = 0;
  std::vector<SearchMatch> matched;
};

struct FacetCount {
  std::string value;
  long long count = 0;
};

struct Facet {
  std::string name;                 // "kind", "owner", "tag", "database", "schema", "source",
                                    // "health"
  std::vector<FacetCount> counts;   // most frequent first, then by value
};

struct SearchResults {
  std::vector<SearchHit> hits;
  // Matches counted over the candidates examined (see `exact`).
  long long total = 0;
  // False when a frequent word had more matches than the engine examines
  // (kSearchCandidateCap): `total` and the facets then count the best candidates only.
  bool exact = true;
  std::vector<Facet> facets;
  std::vector<std::string> notes;   // e.g. "typo: 'ordres' also matched 'orders'"
};

struct SuggestQuery {
  std::string prefix;
  size_t limit = 10;
};

struct Suggestion {
  model::AssetKey key;
  std::string name;
  std::string kind;
};

// The copy of the search index that `serve` answers from (StoreOptions::search_in_memory).
struct SearchMemoryStatus {
  bool loaded = false;           // searches are answered from memory
  long long loads = 0;           // completed loads: the first, then one per rebuild seen
  double load_seconds = 0;       // of the last load
  long long assets = 0;          // documents held
  long long terms = 0;           // distinct terms
  long long postings = 0;        // postings held (at most kKeptPostings per term)
  std::int64_t seq = 0;          // the change log is applied through this seq
  long long changes_applied = 0; // documents updated from the change log
  long long refills = 0;         // cut posting lists read again from the store
  long long searches = 0;        // searches and suggestions answered from memory
  // Searches that asked the store for health (of assets the copy did not know yet, or whose
  // incidents or anomalies changed since it asked).
  long long health_reads = 0;
  std::string error;             // the last load or catch-up error, "" when none
};

// Lineage -------------------------------------------------------------------------------------

enum class LineageDirection { kUpstream, kDownstream, kBoth };
enum class LineageLevel { kTable, kColumn };

struct LineageQuery {
  model::AssetKey key;
  LineageDirection direction = LineageDirection::kBoth;
  int depth = 3;                // hops, 1..kMaxLineageDepth
  LineageLevel level = LineageLevel::kTable;
  std::string column;           // column level: start from this column only (empty: all)
  size_t max_nodes = 500;       // at most kMaxLineageNodes
};

inline constexpr int kMaxLineageDepth = 50;
inline constexpr size_t kMaxLineageNodes = 20000;

struct LineageNode {
  model::AssetKey key;
  std::string kind;
  std::string name;
  std::string status;
  int distance = 0;             // hops from the start; negative upstream, positive downstream
  std::vector<std::string> owners;
  AssetHealth health;
};

struct LineageGraphEdge {
  model::AssetKey upstream;
  model::AssetKey downstream;
  std::string upstream_column;    // column level only
  std::string downstream_column;
};

struct LineageGraph {
  std::vector<LineageNode> nodes;       // the start first, then by distance, then by key
  std::vector<LineageGraphEdge> edges;  // between returned nodes only, sorted
  // True when the cap stopped the walk: more nodes exist within `depth` than were returned.
  bool truncated = false;
  int depth_reached = 0;
};

// Everything downstream of an asset, at any depth (up to a cap), with who to tell.
struct ImpactedAsset {
  model::AssetKey key;
  std::string kind;
  std::string name;
  int distance = 0;
  std::vector<model::AssetKey> path;  // from the start's direct child to this asset
  std::vector<std::string> owners;
};

struct ImpactReport {
  model::AssetKey key;
  std::vector<ImpactedAsset> downstream;  // by distance, then key
  std::vector<ImpactedAsset> exposures;   // the subset that are exposures (dashboards, ...)
  std::vector<std::string> owners;        // every owner of an impacted asset, sorted
  bool truncated = false;
};

// An owner's assets with their health, for GET /api/v1/owners/{id}.
struct OwnedAsset {
  model::AssetKey key;
  std::string kind;
  std::string name;
  std::string role;
  std::string status;
  AssetHealth health;
};

}  // namespace tidemark::catalog
