#include "postgres_sources.h"

#include <yaml-cpp/yaml.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace tidemark::ui {
namespace {

using model::Result;
using model::Status;

// "500ms", "30s" (or "30"), "15m", "1h".
std::optional<std::chrono::milliseconds> ParseDuration(const std::string& s) {
  size_t digits = 0;
  while (digits < s.size() && std::isdigit(static_cast<unsigned char>(s[digits]))) ++digits;
  if (digits == 0 || digits > 9) return std::nullopt;
  long long n = std::stoll(s.substr(0, digits));
  std::string unit = s.substr(digits);
  if (unit == "ms") return std::chrono::milliseconds(n);
  if (unit == "s" || unit.empty()) return std::chrono::milliseconds(n * 1000);
  if (unit == "m") return std::chrono::milliseconds(n * 60000);
  if (unit == "h") return std::chrono::milliseconds(n * 3600000);
  return std::nullopt;
}

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
        if (key == "schedule") {
          if (!PostgresScheduleInterval(s)) {
            return Error(item.first, k + ": expected an interval such as 15m, 1h or 30s");
          }
          o.schedule = s;
        }
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
    return ParseDuration(v.Scalar());
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

std::optional<std::chrono::milliseconds> PostgresScheduleInterval(const std::string& schedule) {
  auto every = ParseDuration(schedule);
  if (!every || every->count() <= 0) return std::nullopt;
  return every;
}

struct PostgresCollectSchedule::State {
  catalog::Store* store = nullptr;
  struct Entry {
    collector::PostgresSourceOptions source;
    std::chrono::milliseconds every{0};
    std::chrono::steady_clock::time_point due;
    size_t runs = 0;
  };
  std::vector<Entry> entries;
  std::mutex mu;
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
      lock.unlock();
      auto report = collector::CollectPostgres(*store, e.source);
      if (!report.ok()) {
        spdlog::error("collect postgres {}: {}", e.source.name, report.status().ToString());
      } else {
        for (const auto& w : report->warnings) {
          spdlog::warn("collect postgres {}: {}: {}", e.source.name, w.table, w.message);
        }
        spdlog::info("collect postgres {}: {}", e.source.name, report->ToJson());
      }
      lock.lock();
      ++e.runs;
      // From the end of this collection: a slow warehouse is not collected back to back.
      e.due = std::chrono::steady_clock::now() + e.every;
      cv.notify_all();
    }
  }
};

PostgresCollectSchedule::PostgresCollectSchedule(catalog::Store& store,
                                                 const std::vector<collector::PostgresSourceOptions>& sources)
    : state_(std::make_unique<State>()) {
  state_->store = &store;
  const auto now = std::chrono::steady_clock::now();
  for (const auto& source : sources) {
    if (source.schedule.empty()) continue;
    auto every = PostgresScheduleInterval(source.schedule);
    if (!every) continue;  // PostgresSourcesFrom has rejected it already
    state_->entries.push_back({source, *every, now, 0});
  }
  if (!state_->entries.empty()) state_->thread = std::thread([s = state_.get()] { s->Loop(); });
}

PostgresCollectSchedule::~PostgresCollectSchedule() {
  {
    std::lock_guard lock(state_->mu);
    state_->stop = true;
  }
  state_->cv.notify_all();
  if (state_->thread.joinable()) state_->thread.join();
}

size_t PostgresCollectSchedule::scheduled() const { return state_->entries.size(); }

size_t PostgresCollectSchedule::WaitForRuns(const std::string& name, size_t runs,
                                            std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mu);
  auto it = std::find_if(state_->entries.begin(), state_->entries.end(),
                         [&](const State::Entry& e) { return e.source.name == name; });
  if (it == state_->entries.end()) return 0;
  state_->cv.wait_for(lock, timeout, [&] { return it->runs >= runs; });
  return it->runs;
}

}  // namespace tidemark::ui
