#include "sources.h"

#include <yaml-cpp/yaml.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>
#include <variant>

#include "tidemark/collector/dbt.h"

namespace tidemark::ui {
namespace {

using model::Result;
using model::Status;

class SourceReader {
 public:
  SourceReader(const Config& config, const EnvLookup& env) : config_(config), env_(env) {}

  Result<Sources> Read() {
    Sources out;
    if (!config_.HasSection("sources")) return out;
    YAML::Node root = YAML::Load(config_.file_text);
    YAML::Node sources = root["sources"];
    if (!sources || sources.IsNull()) return out;
    if (!sources.IsMap()) return Error(sources, "sources: expected a mapping of source kinds");
    for (const auto& kind : sources) {
      const std::string name = kind.first.Scalar();
      if (name != "postgres" && name != "dbt") {
        return Error(kind.first, "unknown key 'sources." + name +
                                     "' (expected one of: postgres, dbt)");
      }
    }
    TM_RETURN_IF_ERROR(ReadList(sources, "postgres", "warehouses", out.postgres));
    TM_RETURN_IF_ERROR(ReadList(sources, "dbt", "projects", out.dbt));
    return out;
  }

 private:
  template <typename Source>
  Status ReadList(const YAML::Node& sources, const std::string& kind, const std::string& what,
                  std::vector<Source>& out) {
    YAML::Node list = sources[kind];
    if (!list || list.IsNull()) return Status::Ok();
    const std::string at = "sources." + kind;
    if (!list.IsSequence()) return Error(list, at + ": expected a list of " + what);
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string item = at + "[" + std::to_string(i) + "]";
      TM_ASSIGN_OR_RETURN(Source source, Entry(list[i], item, static_cast<Source*>(nullptr)));
      if (!names_.insert(source.name).second) {
        return Error(list[i], item + ".name: '" + source.name + "' is used twice");
      }
      out.push_back(std::move(source));
    }
    return Status::Ok();
  }

  Result<collector::PostgresSourceOptions> Entry(const YAML::Node& node, const std::string& at,
                                                 collector::PostgresSourceOptions*) {
    if (!node.IsMap()) return Error(node, at + ": expected a mapping");
    collector::PostgresSourceOptions o;
    o.name.clear();
    for (const auto& item : node) {
      const std::string key = item.first.Scalar();
      const YAML::Node& v = item.second;
      const std::string k = at + "." + key;
      if (key == "name" || key == "dsn" || key == "dsn_env" || key == "namespace" ||
          key == "schedule") {
        TM_ASSIGN_OR_RETURN(std::string s, Scalar(item, k));
        if (key == "name") o.name = s;
        if (key == "dsn") o.dsn = s;
        if (key == "namespace") o.ns = s;
        if (key == "schedule") {
          TM_ASSIGN_OR_RETURN(o.schedule, Schedule(item, k));
        }
        if (key == "dsn_env") {
          auto value = env_(s);
          if (!value) return Error(item.first, k + ": environment variable " + s + " is not set");
          o.dsn = *value;
        }
      } else if (key == "include_schemas" || key == "exclude_schemas" || key == "tables" ||
                 key == "exclude_tables") {
        TM_ASSIGN_OR_RETURN(std::vector<std::string> names, Names(item, k));
        std::vector<std::string>& list = key == "include_schemas"   ? o.include_schemas
                                         : key == "exclude_schemas" ? o.exclude_schemas
                                         : key == "tables"          ? o.tables
                                                                    : o.exclude_tables;
        list.insert(list.end(), names.begin(), names.end());
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

  Result<DbtSource> Entry(const YAML::Node& node, const std::string& at, DbtSource*) {
    if (!node.IsMap()) return Error(node, at + ": expected a mapping");
    DbtSource o;
    for (const auto& item : node) {
      const std::string key = item.first.Scalar();
      const std::string k = at + "." + key;
      if (key == "name") {
        TM_ASSIGN_OR_RETURN(o.name, Scalar(item, k));
      } else if (key == "path") {
        TM_ASSIGN_OR_RETURN(o.paths, Names(item, k));
      } else if (key == "namespace") {
        TM_ASSIGN_OR_RETURN(o.ns, Scalar(item, k));
      } else if (key == "project") {
        TM_ASSIGN_OR_RETURN(o.project, Scalar(item, k));
      } else if (key == "schedule") {
        TM_ASSIGN_OR_RETURN(o.schedule, Schedule(item, k));
      } else {
        return Error(item.first, "unknown key '" + k +
                                     "' (expected one of: name, path, namespace, project, "
                                     "schedule)");
      }
    }
    if (o.name.empty()) return Error(node, at + ".name: required");
    if (o.paths.empty()) return Error(node, at + ".path: required (a target/ folder or files)");
    // Relative paths are relative to the config file, which is where their writer put them.
    const std::filesystem::path base = std::filesystem::path(config_.file).parent_path();
    for (std::string& path : o.paths) {
      if (std::filesystem::path(path).is_relative()) path = (base / path).lexically_normal();
    }
    return o;
  }

  Result<std::string> Scalar(const std::pair<YAML::Node, YAML::Node>& item,
                             const std::string& k) const {
    if (!item.second.IsScalar()) return Error(item.first, k + ": expected a single value");
    return item.second.Scalar();
  }

  Result<std::string> Schedule(const std::pair<YAML::Node, YAML::Node>& item,
                               const std::string& k) const {
    TM_ASSIGN_OR_RETURN(std::string s, Scalar(item, k));
    if (!ScheduleInterval(s)) {
      return Error(item.first, k + ": expected an interval such as 15m, 1h or 30s");
    }
    return s;
  }

  // One name or a list of them.
  Result<std::vector<std::string>> Names(const std::pair<YAML::Node, YAML::Node>& item,
                                         const std::string& k) const {
    const YAML::Node& v = item.second;
    if (v.IsScalar()) return std::vector<std::string>{v.Scalar()};
    if (!v.IsSequence()) return Error(item.first, k + ": expected a list of names");
    std::vector<std::string> out;
    for (const auto& e : v) {
      if (!e.IsScalar()) return Error(item.first, k + ": expected a list of names");
      out.push_back(e.Scalar());
    }
    return out;
  }

  static std::optional<std::chrono::milliseconds> Duration(const YAML::Node& v) {
    if (!v.IsScalar()) return std::nullopt;
    return ParseDuration(v.Scalar());
  }

  Status Error(const YAML::Node& node, std::string message) const {
    std::string where = config_.file;
    if (!node.Mark().is_null()) where += ":" + std::to_string(node.Mark().line + 1);
    return Status::InvalidArgument(std::move(message), where);
  }

  const Config& config_;
  const EnvLookup& env_;
  std::set<std::string> names_;  // of every kind: `collect NAME` and the schedule find one
};

}  // namespace

Result<Sources> SourcesFrom(const Config& config, const EnvLookup& env) {
  try {
    return SourceReader(config, env).Read();
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument("invalid YAML: " + e.msg, config.file);
  }
}

std::optional<std::chrono::milliseconds> ScheduleInterval(const std::string& schedule) {
  auto every = ParseDuration(schedule);
  if (!every || every->count() <= 0) return std::nullopt;
  return every;
}

Result<std::string> CollectSource(catalog::Store& store,
                                  const collector::PostgresSourceOptions& source) {
  TM_ASSIGN_OR_RETURN(auto report, collector::CollectPostgres(store, source));
  for (const auto& w : report.warnings) {
    spdlog::warn("collect postgres {}: {}: {}", source.name, w.table, w.message);
  }
  return report.ToJson();
}

Result<std::string> CollectSource(catalog::Store& store, const DbtSource& source) {
  std::vector<std::filesystem::path> paths(source.paths.begin(), source.paths.end());
  TM_ASSIGN_OR_RETURN(auto artifacts, collector::LoadDbtTarget(paths));
  collector::DbtOptions options;
  options.ns = source.ns;
  options.project = source.project;
  TM_ASSIGN_OR_RETURN(auto report, collector::IngestDbt(store, artifacts, options));
  // The ingest's own summary, named like a warehouse's: {"source": ..., "kind": "dbt", ...}.
  auto summary = nlohmann::ordered_json::parse(report.ToJson());
  nlohmann::ordered_json out = {{"source", source.name}, {"kind", "dbt"}};
  for (auto& [key, value] : summary.items()) out[key] = std::move(value);
  return out.dump();
}

namespace {

// What a dbt source's collection would read, as "path size mtime" lines: equal fingerprints
// mean the same files, so the schedule need not read a few hundred MB to find them unchanged.
// Empty when a path cannot be examined (the collection then reads and reports why).
std::string Fingerprint(const DbtSource& source) {
  std::string out;
  std::error_code ec;
  auto add = [&](const std::filesystem::path& file) {
    auto size = std::filesystem::file_size(file, ec);
    if (ec) return false;
    auto mtime = std::filesystem::last_write_time(file, ec);
    if (ec) return false;
    out += file.string() + " " + std::to_string(size) + " " +
           std::to_string(mtime.time_since_epoch().count()) + "\n";
    return true;
  };
  for (const std::string& path : source.paths) {
    if (std::filesystem::is_directory(path, ec)) {
      for (const char* name : {"manifest.json", "run_results.json", "sources.json", "catalog.json"}) {
        const auto file = std::filesystem::path(path) / name;
        if (std::filesystem::exists(file, ec) && !add(file)) return {};
      }
    } else if (!add(path)) {
      return {};
    }
  }
  return out;
}

}  // namespace

struct CollectSchedule::State {
  catalog::Store* store = nullptr;
  struct Entry {
    std::variant<collector::PostgresSourceOptions, DbtSource> source;
    std::string name, kind;
    std::chrono::milliseconds every{0};
    std::chrono::steady_clock::time_point due;
    Turns turns;
    std::string fingerprint;  // of a dbt source's files at its last successful collection
  };
  std::vector<Entry> entries;
  mutable std::mutex mu;
  std::condition_variable cv;
  bool stop = false;
  std::thread thread;

  // Collects every due source, in turn; the lock is released while collecting.
  void Loop() {
    std::unique_lock lock(mu);
    while (!stop) {
      auto next = std::min_element(entries.begin(), entries.end(),
                                   [](const Entry& a, const Entry& b) { return a.due < b.due; });
      if (cv.wait_until(lock, next->due, [&] { return stop; })) return;
      Entry& e = *next;
      std::string fingerprint = e.fingerprint;
      lock.unlock();
      const Outcome outcome = Collect(e.source, fingerprint, e.name, e.kind);
      lock.lock();
      e.fingerprint = std::move(fingerprint);
      ++(outcome == Outcome::kCollected ? e.turns.collected
         : outcome == Outcome::kUnchanged ? e.turns.unchanged
                                          : e.turns.failed);
      ++e.turns.runs;
      // From the end of this collection: a slow source is not collected back to back.
      e.due = std::chrono::steady_clock::now() + e.every;
      cv.notify_all();
    }
  }

  enum class Outcome { kCollected, kUnchanged, kFailed };

  // One turn of one source. `fingerprint` is the dbt files' at the last success, updated.
  Outcome Collect(const std::variant<collector::PostgresSourceOptions, DbtSource>& source,
                  std::string& fingerprint, const std::string& name, const std::string& kind) {
    std::string now;
    if (const auto* dbt = std::get_if<DbtSource>(&source)) {
      now = Fingerprint(*dbt);
      if (!now.empty() && now == fingerprint) return Outcome::kUnchanged;
    }
    auto summary = std::visit([&](const auto& s) { return CollectSource(*store, s); }, source);
    if (!summary.ok()) {
      spdlog::error("collect {} {}: {}", kind, name, summary.status().ToString());
      return Outcome::kFailed;
    }
    spdlog::info("collect {} {}: {}", kind, name, *summary);
    fingerprint = std::move(now);
    return Outcome::kCollected;
  }
};

CollectSchedule::CollectSchedule(catalog::Store& store, const Sources& sources)
    : state_(std::make_unique<State>()) {
  state_->store = &store;
  const auto now = std::chrono::steady_clock::now();
  auto add = [&](const auto& source, const char* kind) {
    auto every = ScheduleInterval(source.schedule);
    if (!every) return;  // none (SourcesFrom has rejected one that is not an interval)
    state_->entries.push_back({source, source.name, kind, *every, now, {}, {}});
  };
  for (const auto& source : sources.postgres) add(source, "postgres");
  for (const auto& source : sources.dbt) add(source, "dbt");
  if (!state_->entries.empty()) state_->thread = std::thread([s = state_.get()] { s->Loop(); });
}

CollectSchedule::~CollectSchedule() {
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

size_t CollectSchedule::scheduled() const { return state_->entries.size(); }

CollectSchedule::Turns CollectSchedule::TurnsOf(const std::string& name) const {
  std::lock_guard lock(state_->mu);
  for (const State::Entry& e : state_->entries) {
    if (e.name == name) return e.turns;
  }
  return {};
}

size_t CollectSchedule::WaitForRuns(const std::string& name, size_t runs,
                                    std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mu);
  auto it = std::find_if(state_->entries.begin(), state_->entries.end(),
                         [&](const State::Entry& e) { return e.name == name; });
  if (it == state_->entries.end()) return 0;
  state_->cv.wait_for(lock, timeout, [&] { return it->turns.runs >= runs; });
  return it->turns.runs;
}

}  // namespace tidemark::ui
