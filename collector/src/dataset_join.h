#pragma once

// The one rule every collector uses to decide which stored asset a dataset it sees is, so an
// OpenLineage event, a warehouse scan and a dbt manifest speaking of one table meet on one
// asset: the key itself, else an alias naming it, else dbt's default key for the same table
// (the namespace's bare scheme, "postgres/db.schema.table", when dbt was not told the
// OpenLineage namespace). In the last case the given key is returned as a new alias.

#include <string>
#include <utility>
#include <vector>

#include "tidemark/catalog/store.h"

namespace tidemark::collector {

// The key to write under. `aliases` receives (alias, key) pairs to store with the writes.
// `own_source` names the caller ("openlineage", "postgres"): a bare-scheme asset it created
// itself is not a dbt asset and is not joined. Store errors other than NotFound are returned.
model::Result<model::AssetKey> JoinDatasetKey(
    catalog::Store& store, const model::AssetKey& key, std::string_view own_source,
    std::vector<std::pair<std::string, model::AssetKey>>& aliases);

}  // namespace tidemark::collector
