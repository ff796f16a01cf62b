#pragma once

// What the collector keeps of each dbt artifact: plain structs filled by one pass over the
// JSON (dbt_*_parse.cc), independent of the schema version the file was written in. Fields
// that moved between versions (meta vs config.meta, tags vs config.tags, freshness on the
// node or in its config, an exposure owner's email as a string or a list) are merged here,
// so the mapping to catalog records (dbt_mapping.cc) sees one shape.

#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "json_input.h"
#include "tidemark/model/time.h"

namespace tidemark::collector::dbt {

// The artifact's metadata block (every version has one; fields appear over time).
struct Metadata {
  std::string schema_version_url;  // "https://schemas.getdbt.com/dbt/manifest/v12.json"
  std::string artifact;            // "manifest", "run-results", "sources", "catalog"; "" unknown
  int version = 0;                 // 12; 0 when unknown
  std::string dbt_version;
  std::string generated_at_text;
  std::optional<model::Timestamp> generated_at;
  std::string invocation_id;
  std::string adapter_type;
  std::string project_name;
  std::string project_id;  // md5 of the project name

  // "manifest/v12", or the raw URL when it does not follow dbt's pattern.
  std::string VersionLabel() const;
};

// Reads the top-level "metadata" wherever it is (dbt writes it first; dbt Fusion sorts keys)
// without checking the rest of the document. NotFound-free: a missing block gives {}.
Result<Metadata> ReadMetadata(JsonInput& in);

// The metadata of a large document read from its first KB, when it is there (dbt-core puts
// it first); nullopt when it is not found whole in that prefix: read the document then.
std::optional<Metadata> ReadLeadingMetadata(std::string_view name, std::string_view text);

// A person named by meta.owner or an exposure's owner: a name, emails, or both.
struct PersonRef {
  std::string name;
  std::vector<std::string> emails;
};

struct ColumnDecl {
  std::string name;
  std::string description;
  std::string data_type;  // declared; "" when not
  std::vector<std::string> tags;
  nlohmann::json meta;         // null when empty
  nlohmann::json constraints;  // null when empty
};

// A model, seed, snapshot, analysis, source, exposure, metric, semantic model or saved query.
struct Node {
  std::string unique_id;
  std::string resource_type;
  std::string name;
  std::string label;
  std::string package_name;
  std::string original_file_path;
  std::string description;
  std::string database;
  std::string schema;
  std::string alias;       // models, seeds, snapshots
  std::string identifier;  // sources
  std::string relation_name;
  std::string materialized;
  std::string access;
  std::string group;
  std::string language;
  std::optional<bool> contract_enforced;
  std::vector<std::string> tags;  // tags then config.tags, duplicates kept until mapping
  nlohmann::json meta;            // meta with config.meta on top; null when both empty
  std::vector<std::string> depends_on;
  // The "columns" object as text, read when the node is mapped (ParseColumns): a large
  // manifest's columns are most of what is kept of it, and this way they go from the text
  // straight into the write batch, one node at a time. Empty when there are none.
  std::string_view columns_json;
  // sources
  std::string source_name;
  std::string loader;
  std::string loaded_at_field;
  nlohmann::json freshness;  // {warn_after, error_after, filter}; null when no rule
  // exposures
  std::string exposure_type;
  std::string url;
  std::string maturity;
  std::vector<PersonRef> owners;

  bool ephemeral() const { return materialized == "ephemeral"; }
};

// A data test or unit test, attached to the node it tests.
struct TestInfo {
  std::string unique_id;
  std::string kind;       // unique, not_null, relationships, accepted_values, custom, unit
  std::string test_name;  // test_metadata "namespace.name", or "" for singular tests
  std::string column;
  std::string severity;       // "error" / "warn", lower case
  std::string attached_node;  // dbt >= 1.5; else resolved from the candidates below
  std::string tested_name;    // "orders" from kwargs.model "{{ ref('orders') }}"
  std::vector<std::string> depends_on;
};

struct Group {
  std::string name;
  std::string description;
  PersonRef owner;
};

struct Manifest {
  Metadata metadata;
  std::deque<Node> nodes;  // enabled nodes in file order (ephemeral models included)
  std::deque<TestInfo> tests;
  std::map<std::string, Group> groups;  // by group name
  std::vector<std::string> packages;    // distinct package names of the nodes
};

// InvalidArgument naming file, JSON path and line when the manifest is malformed. Node
// columns are checked but left as text (Node::columns_json) pointing into `in`'s text.
Result<Manifest> ParseManifest(JsonInput& in);

// Reads a node's columns_json (a slice of `in`'s text) with `parser`. `path` locates the
// columns object for messages.
Status ParseColumns(const JsonInput& in, std::string_view columns_json, od::parser& parser,
                    const JsonPath& path, std::vector<ColumnDecl>* out);

// The manifest.json section holding nodes of `resource_type` ("nodes", "sources", ...).
std::string_view SectionOf(std::string_view resource_type);

struct NodeRun {
  std::string unique_id;
  std::string status;
  std::string thread;
  std::string message;
  std::optional<model::Timestamp> started_at;  // the execute phase when timed
  std::optional<model::Timestamp> completed_at;
  std::optional<model::Timestamp> first_started_at;  // the span of all phases
  std::optional<model::Timestamp> last_completed_at;
  std::optional<double> execution_time;
  std::optional<long long> rows_affected;
  std::optional<long long> failures;
  std::string relation_name;
  nlohmann::json adapter_response;  // null when empty
};

struct RunResults {
  Metadata metadata;
  std::vector<NodeRun> results;
  std::optional<double> elapsed_time;
  nlohmann::json args;  // null when absent
};

Result<RunResults> ParseRunResults(JsonInput& in);

struct FreshnessResult {
  std::string unique_id;
  std::string status;
  std::string error;
  std::optional<model::Timestamp> max_loaded_at;
  std::optional<model::Timestamp> snapshotted_at;
  std::optional<double> age_s;  // max_loaded_at_time_ago_in_s
  std::optional<double> execution_time;
  std::optional<model::Timestamp> started_at;
  std::optional<model::Timestamp> completed_at;
  std::string thread;
  nlohmann::json criteria;  // null when absent
};

struct SourceFreshness {
  Metadata metadata;
  std::vector<FreshnessResult> results;
  std::optional<double> elapsed_time;
};

Result<SourceFreshness> ParseSources(JsonInput& in);

struct CatalogColumn {
  std::string name;
  std::string type;
  std::string comment;
  int index = 0;
};

struct CatalogStat {
  std::string id;
  std::optional<double> number;  // numeric value (numbers and numeric strings)
  std::string text;              // string value, e.g. a last-modified time
  bool include = true;
};

struct CatalogEntry {
  std::string unique_id;
  std::string table_type;
  std::string comment;
  std::vector<CatalogColumn> columns;  // by index
  std::vector<CatalogStat> stats;
};

struct Catalog {
  Metadata metadata;
  std::vector<CatalogEntry> entries;  // nodes then sources
};

Result<Catalog> ParseCatalog(JsonInput& in);

// Shared by the parsers: reads a timing list ([{name, started_at, completed_at}]) preferring
// the "execute" phase, else the span of all phases.
struct TimingSpan {
  std::optional<model::Timestamp> started_at;  // execute phase, else all phases
  std::optional<model::Timestamp> completed_at;
  std::optional<model::Timestamp> first_started_at;  // all phases
  std::optional<model::Timestamp> last_completed_at;
};
Result<TimingSpan> ReadTiming(JsonInput& in, od::value value, const JsonPath& path);

// Parses an optional timestamp field leniently: null, "" or unparseable text give nullopt.
Result<std::optional<model::Timestamp>> ReadTime(JsonInput& in, od::value value);

}  // namespace tidemark::collector::dbt
