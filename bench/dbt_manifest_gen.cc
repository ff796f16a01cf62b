// dbt_manifest_gen: writes a realistic dbt target/ folder for benchmarks: manifest.json
// (schema v12, as dbt 1.9 writes it), run_results.json (v6) and, on request, catalog.json
// (v1) and sources.json (v3).
//
//   build/bench/dbt_manifest_gen --models 50000 --out /tmp/dbt-50k [--seed 42] [--catalog]
//
// The project has three layers (staging models reading sources, intermediate models, marts),
// about ten columns per model with descriptions and some declared types, generic tests
// (unique, not_null, relationships, accepted_values), groups and owners, exposures on marts,
// ephemeral models in the middle of lineage chains, and the bulk real manifests carry: raw and
// compiled SQL, full config blocks, macros, parent and child maps. Output is deterministic for
// a seed.

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

namespace {

using nlohmann::json;

struct Options {
  int models = 1000;
  int columns = 10;
  unsigned seed = 42;
  bool catalog = false;
  std::filesystem::path out = "dbt-bench";
};

constexpr char kProject[] = "bench_shop";
constexpr char kInvocation[] = "0b3c5d7e-1f2a-4b6c-8d9e-a0b1c2d3e4f5";
constexpr char kGeneratedAt[] = "2026-11-01T06:00:00.000000Z";
const char* const kTypes[] = {"varchar",   "bigint", "integer", "numeric(18,2)",
                              "timestamp", "date",   "boolean", "text"};
const char* const kWords[] = {"customer", "order",  "payment",  "product", "store",   "supply",
                              "invoice",  "refund", "shipment", "account", "session", "event",
                              "campaign", "ledger", "balance",  "vendor"};

// nlohmann's compact dump with the separators Python's json.dumps (and so dbt) writes:
// ", " and ": ". The spacing changes a parser's work per byte, so the benchmark copies it.
std::string DbtStyle(const json& value) {
  std::string compact = value.dump();
  std::string out;
  out.reserve(compact.size() + compact.size() / 8);
  bool in_string = false, escaped = false;
  for (char c : compact) {
    out += c;
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == ',' || c == ':') {
      out += ' ';
    }
  }
  return out;
}

class Writer {
 public:
  explicit Writer(const std::filesystem::path& path) : f_(std::fopen(path.c_str(), "wb")) {
    if (!f_) {
      std::perror(path.c_str());
      std::exit(1);
    }
  }
  ~Writer() { std::fclose(f_); }
  void Raw(std::string_view s) { std::fwrite(s.data(), 1, s.size(), f_); }
  // `"key": value` inside an object being written, with the comma handled.
  void Member(std::string_view key, const json& value) {
    Raw(first_ ? "\n  " : ",\n  ");
    first_ = false;
    Raw(json(std::string(key)).dump());
    Raw(": ");
    Raw(DbtStyle(value));
  }
  void BeginMember(std::string_view key) {
    Raw(first_ ? "\n  " : ",\n  ");
    first_ = false;
    Raw(json(std::string(key)).dump());
    Raw(": {");
    inner_first_ = true;
  }
  void Entry(const std::string& key, const json& value) {
    Raw(inner_first_ ? "\n    " : ",\n    ");
    inner_first_ = false;
    Raw(json(key).dump());
    Raw(": ");
    Raw(DbtStyle(value));
  }
  void EndMember() { Raw("\n  }"); }

 private:
  std::FILE* f_;
  bool first_ = true;
  bool inner_first_ = true;
};

struct Model {
  std::string id;
  std::string name;
  std::string layer;
  std::string materialized;
  std::vector<std::string> parents;
  std::vector<std::string> columns;
  std::string group;
};

class Generator {
 public:
  explicit Generator(const Options& o) : o_(o), rng_(o.seed) {}

  void Run() {
    std::filesystem::create_directories(o_.out);
    Plan();
    WriteManifest();
    WriteRunResults();
    if (o_.catalog) {
      WriteCatalog();
      WriteSources();
    }
    std::printf("models=%d sources=%zu tests=%zu exposures=%zu seed=%u -> %s\n", o_.models,
                sources_.size(), tests_, exposures_, o_.seed, o_.out.c_str());
  }

 private:
  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  const char* Word() { return kWords[Uniform(0, std::size(kWords) - 1)]; }
  std::string Sentence(int words) {
    std::string s;
    for (int i = 0; i < words; ++i) {
      if (i) s += ' ';
      s += Word();
    }
    s[0] = static_cast<char>(std::toupper(s[0]));
    return s + ".";
  }

  void Plan() {
    const int n_sources = std::max(1, o_.models / 10);
    for (int i = 0; i < n_sources; ++i) {
      Model s;
      s.name = std::string("raw_") + Word() + "_" + std::to_string(i);
      s.id = std::string("source.") + kProject + ".raw_" + std::to_string(i % 50) + "." + s.name;
      s.layer = "source";
      s.columns = Columns();
      sources_.push_back(std::move(s));
    }
    for (int i = 0; i < o_.models; ++i) {
      Model m;
      double f = static_cast<double>(i) / o_.models;
      m.layer = f < 0.3 ? "staging" : f < 0.7 ? "intermediate" : "marts";
      std::string prefix = m.layer == "staging"        ? "stg_"
                           : m.layer == "intermediate" ? "int_"
                                                       : "fct_";
      m.name = prefix + Word() + "_" + std::to_string(i);
      m.id = std::string("model.") + kProject + "." + m.name;
      int r = Uniform(0, 99);
      m.materialized = m.layer == "intermediate" && r < 12 ? "ephemeral"
                       : m.layer == "staging" || r < 30    ? "view"
                       : r < 80                            ? "table"
                                                           : "incremental";
      if (m.layer == "staging") {
        m.parents.push_back(sources_[Uniform(0, sources_.size() - 1)].id);
      } else {
        int k = Uniform(2, m.layer == "marts" ? 5 : 3);
        for (int j = 0; j < k; ++j) m.parents.push_back(models_[Uniform(0, i - 1)].id);
      }
      m.columns = Columns();
      if (Uniform(0, 4) == 0) m.group = std::string("team_") + std::to_string(Uniform(0, 9));
      models_.push_back(std::move(m));
    }
  }

  std::vector<std::string> Columns() {
    std::vector<std::string> cols{"id"};
    int n = Uniform(o_.columns - 2, o_.columns + 2);
    for (int c = 1; c < n; ++c)
      cols.push_back(std::string(Word()) + "_" + Word() + "_" + std::to_string(c));
    return cols;
  }

  json ColumnsJson(const Model& m) {
    json cols = json::object();
    for (const std::string& c : m.columns) {
      bool typed = Uniform(0, 1) == 0;
      cols[c] = {{"name", c},
                 {"description", Sentence(Uniform(4, 12))},
                 {"meta", json::object()},
                 {"data_type", typed ? json(kTypes[Uniform(0, 7)]) : json()},
                 {"constraints", json::array()},
                 {"quote", nullptr},
                 {"tags", json::array()},
                 {"granularity", nullptr},
                 {"doc_blocks", json::array()}};
    }
    return cols;
  }

  std::string Sql(const Model& m, bool compiled) {
    std::string s = "with\n";
    for (size_t i = 0; i < m.parents.size(); ++i) {
      s += "source_" + std::to_string(i) + " as (\n    select * from ";
      s += compiled ? "\"analytics\".\"" + m.layer + "\".\"" +
                          m.parents[i].substr(m.parents[i].rfind('.') + 1) + "\""
                    : "{{ ref('" + m.parents[i].substr(m.parents[i].rfind('.') + 1) + "') }}";
      s += "\n),\n";
    }
    s += "final as (\n    select\n";
    for (const std::string& c : m.columns) s += "        " + c + ",\n";
    s += "        current_timestamp as loaded_at\n    from source_0\n)\nselect * from final\n";
    return s;
  }

  json Config(const Model& m) {
    json meta = json::object();
    if (Uniform(0, 2) == 0) meta["owner"] = std::string(Word()) + "@bench.example";
    return {{"enabled", true},
            {"alias", nullptr},
            {"schema", nullptr},
            {"database", nullptr},
            {"tags", m.layer == "marts" ? json{"daily", "marts"} : json::array()},
            {"meta", meta},
            {"group", m.group.empty() ? json() : json(m.group)},
            {"materialized", m.materialized},
            {"incremental_strategy", nullptr},
            {"persist_docs", json::object()},
            {"post-hook", json::array()},
            {"pre-hook", json::array()},
            {"quoting", json::object()},
            {"column_types", json::object()},
            {"full_refresh", nullptr},
            {"unique_key", nullptr},
            {"on_schema_change", "ignore"},
            {"on_configuration_change", "apply"},
            {"grants", json::object()},
            {"packages", json::array()},
            {"docs", {{"show", true}, {"node_color", nullptr}}},
            {"contract", {{"enforced", false}, {"alias_types", true}}},
            {"access", "protected"}};
  }

  json ModelJson(const Model& m) {
    json config = Config(m);
    json meta = config["meta"];
    return {{"database", "analytics"},
            {"schema", m.layer},
            {"name", m.name},
            {"resource_type", "model"},
            {"package_name", kProject},
            {"path", m.layer + "/" + m.name + ".sql"},
            {"original_file_path", "models/" + m.layer + "/" + m.name + ".sql"},
            {"unique_id", m.id},
            {"fqn", {kProject, m.layer, m.name}},
            {"alias", m.name},
            {"checksum", {{"name", "sha256"}, {"checksum", std::string(64, 'a' + Uniform(0, 5))}}},
            {"config", config},
            {"tags", config["tags"]},
            {"description", Sentence(Uniform(8, 30))},
            {"columns", ColumnsJson(m)},
            {"meta", meta},
            {"group", config["group"]},
            {"docs", {{"show", true}, {"node_color", nullptr}}},
            {"patch_path", std::string(kProject) + "://models/" + m.layer + "/schema.yml"},
            {"build_path", nullptr},
            {"unrendered_config", {{"materialized", m.materialized}}},
            {"created_at", 1730000000.5},
            {"relation_name", m.materialized == "ephemeral"
                                  ? json()
                                  : json("\"analytics\".\"" + m.layer + "\".\"" + m.name + "\"")},
            {"raw_code", Sql(m, false)},
            {"language", "sql"},
            {"refs", json::array()},
            {"sources", json::array()},
            {"metrics", json::array()},
            {"depends_on", {{"macros", {"macro.dbt.run_query"}}, {"nodes", m.parents}}},
            {"compiled_path",
             "target/compiled/" + std::string(kProject) + "/models/" + m.name + ".sql"},
            {"compiled", true},
            {"compiled_code", Sql(m, true)},
            {"extra_ctes_injected", true},
            {"extra_ctes", json::array()},
            {"contract", {{"enforced", false}, {"alias_types", true}, {"checksum", nullptr}}},
            {"access", "protected"},
            {"constraints", json::array()},
            {"version", nullptr},
            {"latest_version", nullptr},
            {"deprecation_date", nullptr}};
  }

  json TestJson(const Model& m, const std::string& kind, const std::string& column,
                const std::string& name) {
    json kwargs = {{"column_name", column},
                   {"model", "{{ get_where_subquery(ref('" + m.name + "')) }}"}};
    std::vector<std::string> deps{m.id};
    if (kind == "relationships") {
      kwargs["to"] = "ref('" + m.parents[0].substr(m.parents[0].rfind('.') + 1) + "')";
      kwargs["field"] = "id";
      deps.push_back(m.parents[0]);
    }
    if (kind == "accepted_values") kwargs["values"] = {"a", "b", "c"};
    std::string id = "test." + std::string(kProject) + "." + name + ".0123456789";
    return {{"database", "analytics"},
            {"schema", "dbt_test__audit"},
            {"name", name},
            {"resource_type", "test"},
            {"package_name", kProject},
            {"path", name + ".sql"},
            {"original_file_path", "models/" + m.layer + "/schema.yml"},
            {"unique_id", id},
            {"fqn", {kProject, m.layer, name}},
            {"alias", name},
            {"checksum", {{"name", "none"}, {"checksum", ""}}},
            {"config",
             {{"enabled", true},
              {"alias", nullptr},
              {"schema", "dbt_test__audit"},
              {"database", nullptr},
              {"tags", json::array()},
              {"meta", json::object()},
              {"group", nullptr},
              {"materialized", "test"},
              {"severity", "ERROR"},
              {"store_failures", nullptr},
              {"where", nullptr},
              {"limit", nullptr},
              {"fail_calc", "count(*)"},
              {"warn_if", "!= 0"},
              {"error_if", "!= 0"}}},
            {"tags", json::array()},
            {"description", ""},
            {"columns", json::object()},
            {"meta", json::object()},
            {"raw_code", "{{ test_" + kind + "(**_dbt_generic_test_kwargs) }}"},
            {"language", "sql"},
            {"depends_on", {{"macros", {"macro.dbt.test_" + kind}}, {"nodes", deps}}},
            {"column_name", column},
            {"file_key_name", "models." + m.name},
            {"attached_node", m.id},
            {"test_metadata", {{"name", kind}, {"kwargs", kwargs}, {"namespace", nullptr}}}};
  }

  json SourceJson(const Model& s) {
    std::string source_name = s.id.substr(s.id.find(".raw_") + 1);
    source_name = source_name.substr(0, source_name.find('.'));
    json freshness = {{"warn_after", {{"count", 12}, {"period", "hour"}}},
                      {"error_after", {{"count", 24}, {"period", "hour"}}},
                      {"filter", nullptr}};
    return {{"database", "raw"},
            {"schema", source_name},
            {"name", s.name},
            {"resource_type", "source"},
            {"package_name", kProject},
            {"path", "models/staging/sources.yml"},
            {"original_file_path", "models/staging/sources.yml"},
            {"unique_id", s.id},
            {"fqn", {kProject, "staging", source_name, s.name}},
            {"source_name", source_name},
            {"source_description", "Loaded by the ingestion service"},
            {"loader", "fivetran"},
            {"identifier", s.name},
            {"quoting", {{"database", nullptr}, {"schema", nullptr}, {"identifier", nullptr}}},
            {"loaded_at_field", "_loaded_at"},
            {"freshness", freshness},
            {"external", nullptr},
            {"description", Sentence(Uniform(6, 15))},
            {"columns", ColumnsJson(s)},
            {"meta", {{"owner", "data-platform@bench.example"}}},
            {"source_meta", json::object()},
            {"tags", json::array()},
            {"config", {{"enabled", true}, {"freshness", freshness}}},
            {"relation_name", "\"raw\".\"" + source_name + "\".\"" + s.name + "\""},
            {"created_at", 1730000000.5}};
  }

  // Every node id a test or exposure was written for, with its parents, for the maps.
  void Link(const std::string& child, const std::vector<std::string>& parents) {
    parent_map_[child] = parents;
    for (const std::string& p : parents) child_map_[p].push_back(child);
  }

  void WriteManifest() {
    Writer w(o_.out / "manifest.json");
    w.Raw("{");
    w.Member("metadata",
             {{"dbt_schema_version", "https://schemas.getdbt.com/dbt/manifest/v12.json"},
              {"dbt_version", "1.9.0"},
              {"generated_at", kGeneratedAt},
              {"invocation_id", kInvocation},
              {"env", json::object()},
              {"project_name", kProject},
              {"project_id", "5a1c9e0f8d7b6a5c4e3f2a1b0c9d8e7f"},
              {"user_id", nullptr},
              {"send_anonymous_usage_stats", false},
              {"adapter_type", "postgres"}});
    w.BeginMember("nodes");
    for (size_t i = 0; i < models_.size(); ++i) {
      const Model& m = models_[i];
      w.Entry(m.id, ModelJson(m));
      Link(m.id, m.parents);
      if (m.materialized == "ephemeral") continue;
      std::vector<std::pair<std::string, std::string>> tests = {{"unique", "id"},
                                                                {"not_null", "id"}};
      if (m.layer != "staging" && i % 3 == 0) tests.push_back({"relationships", "id"});
      if (i % 5 == 0) tests.push_back({"accepted_values", m.columns[1]});
      for (const auto& [kind, column] : tests) {
        std::string name = kind + "_" + m.name + "_" + column;
        json t = TestJson(m, kind, column, name);
        std::string id = t["unique_id"];
        Link(id, t["depends_on"]["nodes"].get<std::vector<std::string>>());
        test_ids_.push_back(id);
        w.Entry(id, t);
        ++tests_;
      }
    }
    w.EndMember();
    w.BeginMember("sources");
    for (const Model& s : sources_) {
      w.Entry(s.id, SourceJson(s));
      Link(s.id, {});
    }
    w.EndMember();
    w.BeginMember("macros");
    for (int i = 0; i < 300; ++i) {
      std::string id = "macro.dbt.macro_" + std::to_string(i);
      std::string sql = "{% macro macro_" + std::to_string(i) + "(relation) %}\n";
      for (int l = 0; l < 20; ++l)
        sql += "  {% set x = adapter.get_columns_in_relation(relation) %}\n";
      sql += "{% endmacro %}";
      w.Entry(id, {{"name", "macro_" + std::to_string(i)},
                   {"resource_type", "macro"},
                   {"package_name", "dbt"},
                   {"path", "macros/m.sql"},
                   {"original_file_path", "macros/m.sql"},
                   {"unique_id", id},
                   {"macro_sql", sql},
                   {"depends_on", {{"macros", json::array()}}},
                   {"description", ""},
                   {"meta", json::object()},
                   {"docs", {{"show", true}, {"node_color", nullptr}}},
                   {"patch_path", nullptr},
                   {"arguments", json::array()},
                   {"created_at", 1730000000.5},
                   {"supported_languages", {"sql"}}});
    }
    w.EndMember();
    w.Member("docs", json::object());
    w.BeginMember("exposures");
    for (size_t i = 0; i + 100 <= models_.size(); i += 100) {
      std::string name = std::string("dashboard_") + Word() + "_" + std::to_string(i);
      std::string id = std::string("exposure.") + kProject + "." + name;
      std::vector<std::string> deps;
      for (int k = 0; k < 3; ++k)
        deps.push_back(models_[models_.size() - 1 - Uniform(0, models_.size() * 3 / 10 - 1)].id);
      Link(id, deps);
      w.Entry(id,
              {{"name", name},
               {"resource_type", "exposure"},
               {"package_name", kProject},
               {"path", "exposures.yml"},
               {"original_file_path", "models/exposures.yml"},
               {"unique_id", id},
               {"fqn", {kProject, name}},
               {"type", "dashboard"},
               {"owner", {{"name", "Analytics"}, {"email", "analytics@bench.example"}}},
               {"description", Sentence(8)},
               {"label", "Dashboard " + std::to_string(i)},
               {"maturity", "high"},
               {"meta", json::object()},
               {"tags", json::array()},
               {"config", {{"enabled", true}, {"tags", json::array()}, {"meta", json::object()}}},
               {"url", "https://bi.bench.example/d/" + std::to_string(i)},
               {"depends_on", {{"macros", json::array()}, {"nodes", deps}}},
               {"refs", json::array()},
               {"sources", json::array()},
               {"metrics", json::array()},
               {"created_at", 1730000000.5}});
      ++exposures_;
    }
    w.EndMember();
    w.Member("metrics", json::object());
    w.BeginMember("groups");
    for (int g = 0; g < 10; ++g) {
      std::string name = "team_" + std::to_string(g);
      w.Entry(
          std::string("group.") + kProject + "." + name,
          {{"name", name},
           {"resource_type", "group"},
           {"package_name", kProject},
           {"path", "groups.yml"},
           {"original_file_path", "models/groups.yml"},
           {"unique_id", std::string("group.") + kProject + "." + name},
           {"owner", {{"name", "Team " + std::to_string(g)}, {"email", name + "@bench.example"}}}});
    }
    w.EndMember();
    w.Member("selectors", json::object());
    w.Member("disabled", json::object());
    w.BeginMember("parent_map");
    for (const auto& [id, parents] : parent_map_) w.Entry(id, parents);
    w.EndMember();
    w.BeginMember("child_map");
    for (const auto& [id, children] : parent_map_) {
      auto it = child_map_.find(id);
      w.Entry(id, it == child_map_.end() ? json::array() : json(it->second));
    }
    w.EndMember();
    w.Member("group_map", json::object());
    w.Member("saved_queries", json::object());
    w.Member("semantic_models", json::object());
    w.Member("unit_tests", json::object());
    w.Raw("\n}\n");
  }

  json Timing(int64_t& clock_ms, double seconds) {
    auto at = [](int64_t ms) {
      char buf[40];
      int64_t s = ms / 1000;
      std::snprintf(buf, sizeof buf, "2026-11-01T%02d:%02d:%02d.%03dZ",
                    static_cast<int>(6 + s / 3600), static_cast<int>(s / 60 % 60),
                    static_cast<int>(s % 60), static_cast<int>(ms % 1000));
      return std::string(buf);
    };
    int64_t start = clock_ms;
    clock_ms += 5;
    int64_t exec_start = clock_ms;
    clock_ms += static_cast<int64_t>(seconds * 1000);
    return json::array(
        {{{"name", "compile"}, {"started_at", at(start)}, {"completed_at", at(exec_start)}},
         {{"name", "execute"}, {"started_at", at(exec_start)}, {"completed_at", at(clock_ms)}}});
  }

  void WriteRunResults() {
    Writer w(o_.out / "run_results.json");
    w.Raw("{");
    w.Member("metadata",
             {{"dbt_schema_version", "https://schemas.getdbt.com/dbt/run-results/v6.json"},
              {"dbt_version", "1.9.0"},
              {"generated_at", kGeneratedAt},
              {"invocation_id", kInvocation},
              {"env", json::object()}});
    w.Raw(",\n  \"results\": [");
    int64_t clock_ms = 0;
    bool first = true;
    auto emit = [&](const json& r) {
      w.Raw(first ? "\n    " : ",\n    ");
      first = false;
      w.Raw(DbtStyle(r));
    };
    for (const Model& m : models_) {
      if (m.materialized == "ephemeral") continue;
      double secs = 0.2 + Uniform(0, 5000) / 1000.0;
      bool error = Uniform(0, 49) == 0;
      int rows = Uniform(0, 1000000);
      emit({{"status", error ? "error" : "success"},
            {"timing", Timing(clock_ms, secs)},
            {"thread_id", "Thread-" + std::to_string(Uniform(1, 8)) + " (worker)"},
            {"execution_time", secs},
            {"adapter_response",
             {{"_message", "SELECT " + std::to_string(rows)},
              {"code", "SELECT"},
              {"rows_affected", rows}}},
            {"message",
             error ? "Database Error in model " + m.name : "SELECT " + std::to_string(rows)},
            {"failures", nullptr},
            {"unique_id", m.id},
            {"compiled", true},
            {"compiled_code", Sql(m, true)},
            {"relation_name", "\"analytics\".\"" + m.layer + "\".\"" + m.name + "\""},
            {"batch_results", nullptr}});
    }
    for (const std::string& id : test_ids_) {
      bool fail = Uniform(0, 32) == 0;
      emit({{"status", fail ? "fail" : "pass"},
            {"timing", Timing(clock_ms, 0.05)},
            {"thread_id", "Thread-1 (worker)"},
            {"execution_time", 0.05},
            {"adapter_response",
             {{"_message", "SELECT 1"}, {"code", "SELECT"}, {"rows_affected", 1}}},
            {"message", fail ? json("Got 3 results, configured to fail if != 0") : json()},
            {"failures", fail ? 3 : 0},
            {"unique_id", id},
            {"compiled", true},
            {"relation_name", nullptr}});
    }
    w.Raw("\n  ]");
    w.Member("elapsed_time", static_cast<double>(clock_ms) / 1000 / 8);
    w.Member("args", {{"which", "build"}, {"select", json::array()}, {"target", "prod"}});
    w.Raw("\n}\n");
  }

  json CatalogEntry(const Model& m, const std::string& database, const std::string& schema) {
    json cols = json::object();
    int index = 0;
    for (const std::string& c : m.columns) {
      ++index;
      cols[c] = {
          {"type", kTypes[Uniform(0, 7)]}, {"index", index}, {"name", c}, {"comment", nullptr}};
    }
    return {{"metadata",
             {{"type", "BASE TABLE"},
              {"schema", schema},
              {"name", m.name},
              {"database", database},
              {"comment", nullptr},
              {"owner", "transformer"}}},
            {"columns", cols},
            {"stats",
             {{"row_count",
               {{"id", "row_count"},
                {"label", "Row Count"},
                {"value", Uniform(0, 10000000)},
                {"include", true},
                {"description", "An approximate count of rows"}}},
              {"bytes",
               {{"id", "bytes"},
                {"label", "Approximate Size"},
                {"value", std::to_string(Uniform(1, 1000000) * 1024)},
                {"include", true},
                {"description", "Approximate size"}}},
              {"has_stats",
               {{"id", "has_stats"},
                {"label", "Has Stats?"},
                {"value", true},
                {"include", false},
                {"description", "Has stats"}}}}},
            {"unique_id", m.id}};
  }

  void WriteCatalog() {
    Writer w(o_.out / "catalog.json");
    w.Raw("{");
    w.Member("metadata", {{"dbt_schema_version", "https://schemas.getdbt.com/dbt/catalog/v1.json"},
                          {"dbt_version", "1.9.0"},
                          {"generated_at", kGeneratedAt},
                          {"invocation_id", kInvocation},
                          {"env", json::object()}});
    w.BeginMember("nodes");
    for (const Model& m : models_) {
      if (m.materialized != "ephemeral") w.Entry(m.id, CatalogEntry(m, "analytics", m.layer));
    }
    w.EndMember();
    w.BeginMember("sources");
    for (const Model& s : sources_) w.Entry(s.id, CatalogEntry(s, "raw", "raw"));
    w.EndMember();
    w.Member("errors", nullptr);
    w.Raw("\n}\n");
  }

  void WriteSources() {
    Writer w(o_.out / "sources.json");
    w.Raw("{");
    w.Member("metadata", {{"dbt_schema_version", "https://schemas.getdbt.com/dbt/sources/v3.json"},
                          {"dbt_version", "1.9.0"},
                          {"generated_at", "2026-11-01T05:30:00.000000Z"},
                          {"invocation_id", "5e6f7a8b-0000-4000-8000-000000000001"},
                          {"env", json::object()}});
    json results = json::array();
    int64_t clock_ms = 0;
    for (const Model& s : sources_) {
      int age = Uniform(60, 30 * 3600);
      results.push_back({{"unique_id", s.id},
                         {"max_loaded_at", "2026-11-01T04:00:00+00:00"},
                         {"snapshotted_at", "2026-11-01T05:29:00+00:00"},
                         {"max_loaded_at_time_ago_in_s", age},
                         {"status", age > 12 * 3600 ? "warn" : "pass"},
                         {"criteria",
                          {{"warn_after", {{"count", 12}, {"period", "hour"}}},
                           {"error_after", {{"count", 24}, {"period", "hour"}}},
                           {"filter", nullptr}}},
                         {"adapter_response", json::object()},
                         {"timing", Timing(clock_ms, 0.1)},
                         {"thread_id", "Thread-1"},
                         {"execution_time", 0.1}});
    }
    w.Member("results", results);
    w.Member("elapsed_time", 3.5);
    w.Raw("\n}\n");
  }

  std::map<std::string, std::vector<std::string>> parent_map_;
  std::map<std::string, std::vector<std::string>> child_map_;
  std::vector<std::string> test_ids_;
  Options o_;
  std::mt19937 rng_;
  std::vector<Model> sources_;
  std::vector<Model> models_;
  size_t tests_ = 0;
  size_t exposures_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--models") {
      o.models = std::max(10, std::atoi(next().c_str()));
    } else if (a == "--columns") {
      o.columns = std::max(3, std::atoi(next().c_str()));
    } else if (a == "--seed") {
      o.seed = static_cast<unsigned>(std::strtoul(next().c_str(), nullptr, 10));
    } else if (a == "--out") {
      o.out = next();
    } else if (a == "--catalog") {
      o.catalog = true;
    } else {
      std::fprintf(stderr,
                   "usage: dbt_manifest_gen [--models N] [--columns N] [--seed S] [--catalog] "
                   "--out DIR\n");
      return 2;
    }
  }
  Generator(o).Run();
  return 0;
}
