#pragma once

// Pure rules turning what dbt says into catalog vocabulary: dataset names, asset kinds,
// owners, merged column lists, metric names. No I/O; each rule is tested on its own.

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dbt_artifacts.h"
#include "tidemark/model/asset.h"

namespace tidemark::collector::dbt {

// `"analytics"."marts"."orders"` -> analytics.marts.orders; `my-proj`.`ds`.`t` ->
// my-proj.ds.t; [db].[dbo].[t] -> db.dbo.t. Doubled quotes inside a quoted part become one.
std::string StripRelationName(std::string_view relation);

// The dataset name of a model, seed, snapshot or source: relation_name unquoted, else
// database.schema.(alias | identifier | name) with empty parts left out.
std::string DatasetName(const Node& node);

// What a node becomes: nullopt for nodes that are not assets (tests, operations, ephemeral
// models, unknown resource types).
std::optional<model::AssetKind> AssetKindOf(const Node& node);

// True for the kinds whose key lives in the warehouse namespace.
bool IsDataset(const Node& node);

// One owner named by a node, with the role it holds.
struct OwnerClaim {
  model::Owner owner;
  std::string role;
};

// Owners from `meta.owner`: a string (a name or an email), a list of them, an object
// {name, email} or a list of such objects. Anything else names no one.
std::vector<OwnerClaim> OwnersFromMeta(const nlohmann::json& meta);
// Owners of an exposure ({name, email} with email a string or a list).
std::vector<OwnerClaim> OwnersFromPeople(const std::vector<PersonRef>& people);
// The team owner of a dbt group (its details from manifest `groups` when known).
OwnerClaim GroupOwner(std::string_view group, const Group* details);

// A column as the manifest declares it or as a catalog observed it, for merging.
struct DeclaredColumn {
  std::string name;
  std::string description;
  std::string data_type;
  std::vector<std::string> tags;
  nlohmann::json properties;  // null, or an object: meta, constraints, tests
  // `properties` as written when already written (by the ingest's record digest), reused
  // by MergeColumns while they stay unchanged; empty otherwise.
  std::string properties_text;
};
struct ObservedColumn {
  std::string name;
  std::string data_type;
  std::string comment;
  int position = 0;
};

// The column list of an asset: observed columns in warehouse order, described by the matching
// declared ones (names match case-insensitively, as warehouses fold case); then declared
// columns the warehouse did not report, in declaration order. Observed columns carry
// properties.observed = true so a later ingest can tell them apart. Names appearing twice
// are kept once (the first); `duplicates` receives the others.
std::vector<model::Column> MergeColumns(std::vector<DeclaredColumn> declared,
                                        std::vector<ObservedColumn> observed,
                                        std::vector<std::string>* duplicates);

// Splits columns read back from the store into their declared and observed parts (the
// inverse of MergeColumns, as far as the catalog can tell).
void SplitStoredColumns(const std::vector<model::Column>& stored,
                        std::vector<DeclaredColumn>* declared,
                        std::vector<ObservedColumn>* observed);

// The metric a catalog stat is recorded as: row_count, bytes, last_modified or "stat:<id>";
// nullopt for stats that are not measurements (has_stats, excluded ones, text).
struct StatPoint {
  std::string metric;
  double value = 0;
};
std::optional<StatPoint> StatMetric(const CatalogStat& stat);

// Lower-case hex MD5 (dbt's project_id is the MD5 of the project name).
std::string Md5Hex(std::string_view text);

// A 64-bit digest of `bytes` as 16 hex digits: decides whether an artifact or an asset
// changed since the last ingest. Not cryptographic; see dbt_ingest.cc for why it need not be.
std::string DigestHex(std::string_view bytes);

}  // namespace tidemark::collector::dbt
