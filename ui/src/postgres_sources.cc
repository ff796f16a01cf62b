#include "postgres_sources.h"

#include <yaml-cpp/yaml.h>

#include <set>

namespace tidemark::ui {
namespace {

using model::Result;
using model::Status;

class SourceReader {
 public:
  SourceReader(const Config& config, const EnvLookup& env) : config_(config), env_(env) {}

  Result<std::vector<collector::PostgresSourceOptions>> Read() {
    std::vector<collector::PostgresSourceOptions> out;
    if (!config_.HasSection("sources")) return out;
    YAML::Node root = YAML::Load(config_.file_text);
    YAML::Node sources = root["sources"];
    if (!sources || sources.IsNull()) return out;
    if (!sources.IsMap()) return Error(sources, "sources: expected a mapping of source kinds");
    YAML::Node list = sources["postgres"];
    if (!list || list.IsNull()) return out;
    if (!list.IsSequence()) return Error(list, "sources.postgres: expected a list of warehouses");
    std::set<std::string> names;
    for (size_t i = 0; i < list.size(); ++i) {
      TM_ASSIGN_OR_RETURN(auto source, Entry(list[i], "sources.postgres[" + std::to_string(i) + "]"));
      if (!names.insert(source.name).second) {
        return Error(list[i], "sources.postgres[" + std::to_string(i) + "].name: '" + source.name +
                                  "' is used twice");
      }
      out.push_back(std::move(source));
    }
    return out;
  }

 private:
  Result<collector::PostgresSourceOptions> Entry(const YAML::Node& node, const std::string& at) {
    if (!node.IsMap()) return Error(node, at + ": expected a mapping");
    collector::PostgresSourceOptions o;
    o.name.clear();
    for (const auto& item : node) {
      const std::string key = item.first.Scalar();
      const YAML::Node& v = item.second;
      const std::string k = at + "." + key;
      if (key == "name" || key == "dsn" || key == "dsn_env" || key == "namespace" ||
          key == "schedule") {
        if (!v.IsScalar()) return Error(item.first, k + ": expected a single value");
        std::string s = v.Scalar();
        if (key == "name") o.name = s;
        if (key == "dsn") o.dsn = s;
        if (key == "namespace") o.ns = s;
        if (key == "schedule") o.schedule = s;
        if (key == "dsn_env") {
          auto value = env_(s);
          if (!value) return Error(item.first, k + ": environment variable " + s + " is not set");
          o.dsn = *value;
        }
      } else if (key == "include_schemas" || key == "exclude_schemas" || key == "tables" ||
                 key == "exclude_tables") {
        std::vector<std::string>& list = key == "include_schemas"   ? o.include_schemas
                                         : key == "exclude_schemas" ? o.exclude_schemas
                                         : key == "tables"          ? o.tables
                                                                    : o.exclude_tables;
        if (v.IsScalar()) {
          list.push_back(v.Scalar());
        } else if (v.IsSequence()) {
          for (const auto& e : v) {
            if (!e.IsScalar()) return Error(item.first, k + ": expected a list of names");
            list.push_back(e.Scalar());
          }
        } else {
          return Error(item.first, k + ": expected a list of names");
        }
      } else if (key == "loaded_at") {
        if (!v.IsMap()) return Error(item.first, k + ": expected a mapping of schema.table: column");
        for (const auto& e : v) {
          if (!e.second.IsScalar()) return Error(e.first, k + "." + e.first.Scalar() + ": expected a column name");
          o.loaded_at[e.first.Scalar()] = e.second.Scalar();
        }
      } else if (key == "exact_count_below") {
        try {
          o.exact_count_below = v.as<double>();
        } catch (const YAML::Exception&) {
          return Error(item.first, k + ": expected a number of rows");
        }
      } else if (key == "statement_timeout" || key == "lock_timeout") {
        auto ms = Duration(v);
        if (!ms) return Error(item.first, k + ": expected a duration such as 30s or 500ms");
        (key == "statement_timeout" ? o.statement_timeout : o.lock_timeout) = *ms;
      } else {
        return Error(item.first,
                     "unknown key '" + k + "' (expected one of: name, dsn, dsn_env, namespace, "
                     "include_schemas, exclude_schemas, tables, exclude_tables, loaded_at, "
                     "exact_count_below, statement_timeout, lock_timeout, schedule)");
      }
    }
    if (o.name.empty()) return Error(node, at + ".name: required");
    if (o.dsn.empty()) return Error(node, at + ".dsn: required (or dsn_env)");
    return o;
  }

  static std::optional<std::chrono::milliseconds> Duration(const YAML::Node& v) {
    if (!v.IsScalar()) return std::nullopt;
    const std::string& s = v.Scalar();
    size_t digits = 0;
    while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
    if (digits == 0 || digits > 9) return std::nullopt;
    long long n = std::stoll(s.substr(0, digits));
    std::string unit = s.substr(digits);
    if (unit == "ms") return std::chrono::milliseconds(n);
    if (unit == "s" || unit.empty()) return std::chrono::milliseconds(n * 1000);
    if (unit == "m") return std::chrono::milliseconds(n * 60000);
    return std::nullopt;
  }

  Status Error(const YAML::Node& node, std::string message) const {
    std::string where = config_.file;
    if (!node.Mark().is_null()) where += ":" + std::to_string(node.Mark().line + 1);
    return Status::InvalidArgument(std::move(message), where);
  }

  const Config& config_;
  const EnvLookup& env_;
};

}  // namespace

Result<std::vector<collector::PostgresSourceOptions>> PostgresSourcesFrom(const Config& config,
                                                                          const EnvLookup& env) {
  try {
    return SourceReader(config, env).Read();
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("invalid YAML: " + e.msg, config.file);
  }
}

}  // namespace tidemark::ui
