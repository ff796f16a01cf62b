#pragma once

// The read side of the catalog over HTTP (issue 6): search, suggest, lineage, impact, one
// asset with everything known, an owner's assets. GET only (POST /api/v1/lineage is the
// OpenLineage ingest, registered elsewhere). The JSON builders are shared with the CLI.

#include <string>
#include <thread>

#include "tidemark/catalog/store.h"
#include "tidemark/ui/router.h"

namespace tidemark::ui {

// Registers the routes (scope "read", run on the blocking pool). `store` must outlive the
// router.
model::Status AddSearchRoutes(Router& router, catalog::Store& store);

// Logs once when the store's in-memory search index (StoreOptions::search_in_memory) has
// loaded, with its size and load time, or why it has not. The thread ends then, or when the
// returned object goes (before the store).
std::jthread LogSearchIndexLoad(catalog::Store& store);

std::string SearchResultsJson(const catalog::SearchResults& results);
std::string LineageGraphJson(const catalog::LineageGraph& graph);

}  // namespace tidemark::ui
