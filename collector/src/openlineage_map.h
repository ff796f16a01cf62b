#pragma once

// Internals of the OpenLineage collector: the rules that need no store (openlineage_naming.cc)
// and the mapping of one parsed event into a pending set of catalog writes
// (openlineage_map.cc), tested on their own.

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "tidemark/catalog/store.h"
#include "tidemark/collector/openlineage.h"

namespace tidemark::collector::openlineage {

inline constexpr std::string_view kSource = "openlineage";
inline constexpr std::string_view kHistoryPrefix = "history/";
inline constexpr std::string_view kFacetPrefix = "facet/";

// kFile for object stores and file systems, kTopic for streams, kTable otherwise.
model::AssetKind DatasetKind(std::string_view ns);
// 8-4-4-4-12 hexadecimal digits.
bool IsUuid(std::string_view s);

// Writes gathered from several events before they go into one WriteBatch, so two events of
// one batch touching the same asset merge instead of the later overwriting the earlier.
// Reads the store (when given) to join existing assets and keep what other sources said.
class Mapper {
 public:
  // `store` may be nullptr (no joins, nothing merged with stored state); borrowed.
  explicit Mapper(catalog::Store* store) : store_(store) {}

  // Validates one event and adds its writes. On error nothing of this event is kept in the
  // mapper (the caller discards the whole mapper anyway, so a batch is all or nothing).
  model::Status Add(const OpenLineageDocument& doc, OpenLineageReport& report);

  // Moves everything gathered into `batch`.
  void Flush(catalog::WriteBatch& batch);

 private:
  friend class EventMapper;
  struct PendingAsset {
    model::Asset asset;
    nlohmann::json facets;       // this collector's facets, merged into properties on flush
    bool has_columns = false;
    std::vector<model::Column> columns;
  };
  // The key a dataset is stored under (joined to an existing asset when one matches).
  model::Result<model::AssetKey> ResolveDataset(const model::AssetKey& key);
  // The pending asset for `key`, created from the stored one (or `fresh`) on first use.
  model::Result<PendingAsset*> Pending(const model::AssetKey& key, const model::Asset& fresh);

  catalog::Store* store_;
  std::map<model::AssetKey, model::AssetKey> resolved_;
  std::map<model::AssetKey, PendingAsset> assets_;
  std::vector<std::pair<std::string, model::AssetKey>> aliases_;
  std::map<std::string, model::Owner> owners_;
  std::map<model::AssetKey, std::vector<model::Ownership>> ownerships_;
  catalog::WriteBatch rest_;  // writes that need no merging: runs, edges, points, ...
};

}  // namespace tidemark::collector::openlineage
