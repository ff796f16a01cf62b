#include "dataset_join.h"

namespace tidemark::collector {

model::Result<model::AssetKey> JoinDatasetKey(
    catalog::Store& store, const model::AssetKey& key, std::string_view own_source,
    std::vector<std::pair<std::string, model::AssetKey>>& aliases) {
  auto direct = store.Resolve(key.ToString());
  if (direct.ok()) return *direct;
  if (!direct.status().IsNotFound()) return direct.status();
  size_t sep = key.ns.find("://");
  if (sep == std::string::npos) return key;
  model::AssetKey bare{key.ns.substr(0, sep), key.name};
  auto existing = store.GetAsset(bare);
  if (existing.ok() && existing->source != own_source) {
    aliases.emplace_back(key.ToString(), bare);
    return bare;
  }
  if (!existing.ok() && !existing.status().IsNotFound()) return existing.status();
  return key;
}

}  // namespace tidemark::collector
