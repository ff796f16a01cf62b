#pragma once

// Store::WalkLineage for both stores, over their LineageReader (search_engine.h): a
// breadth-first walk from many starts at once, one Edges read per hop (in chunks), then one
// Nodes read for the keys, kinds and names of what it reached.

#include <vector>

#include "search_engine.h"
#include "tidemark/catalog/store.h"

namespace tidemark::catalog {

model::Result<LineageSubgraph> RunLineageWalk(const std::vector<model::AssetKey>& starts,
                                              Direction direction, int depth, size_t max_nodes,
                                              LineageReader& reader);

}  // namespace tidemark::catalog
