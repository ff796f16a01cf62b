#pragma once

// The search index and lineage readers of SqliteStore (search_engine.h holds the logic they
// serve). Each borrows one connection for one call; not thread-safe.

#include <memory>

#include "search_engine.h"
#include "sqlite_db.h"

namespace tidemark::catalog {

// `bulk`: the index was emptied and every asset is being indexed (a rebuild): postings are
// held until Finish and written as one sorted run, and the inputs are read from `source`
// (default `db`) by scanning each table once.
std::unique_ptr<SearchIndexWriter> NewSqliteSearchIndexWriter(SqliteDb& db, bool bulk = false,
                                                              SqliteDb* source = nullptr);
std::unique_ptr<SearchLogReader> NewSqliteSearchReader(SqliteDb& db);
std::unique_ptr<LineageReader> NewSqliteLineageReader(SqliteDb& db);

// Appends `ids` (or kSearchChangeAll) to the search change log inside the caller's write
// transaction, first pruning rows older than kSearchChangeRetention (search_engine.h).
model::Status SqliteLogSearchChanges(SqliteDb& db, const std::vector<std::int64_t>& ids,
                                     model::Timestamp now);

// Ids of every asset, ascending: for building the index from scratch.
model::Result<std::vector<std::int64_t>> SqliteAllAssetIds(SqliteDb& db);
// The asset ids an owner's ownerships point at, with role, ordered by key.
model::Result<std::vector<std::pair<std::int64_t, std::string>>> SqliteOwnedIds(
    SqliteDb& db, std::string_view owner_id);

}  // namespace tidemark::catalog
