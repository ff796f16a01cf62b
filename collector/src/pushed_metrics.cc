#include "tidemark/collector/pushed_metrics.h"

#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "dataset_join.h"
#include "tidemark/collector/openlineage.h"

namespace tidemark::collector {
namespace {

using model::Result;
using model::Status;

constexpr std::string_view kSource = "metrics";

struct Row {
  std::string where;  // "stats.csv line 4"
  std::string dataset, ns, name, metric, ts, value;
};

Status Bad(const Row& r, std::string_view field, std::string message) {
  return Status::InvalidArgument(std::string(field) + ": " + message, r.where);
}

// CSV fields of one line (RFC 4180 quotes; no newlines inside fields).
std::vector<std::string> CsvFields(std::string_view line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  for (auto& f : out) {
    while (!f.empty() && (f.back() == ' ' || f.back() == '\t')) f.pop_back();
    while (!f.empty() && (f.front() == ' ' || f.front() == '\t')) f.erase(0, 1);
  }
  return out;
}

std::vector<std::pair<size_t, std::string_view>> Lines(std::string_view text) {
  std::vector<std::pair<size_t, std::string_view>> out;
  size_t no = 0;
  for (size_t pos = 0; pos <= text.size();) {
    size_t nl = text.find('\n', pos);
    std::string_view line = text.substr(pos, nl == std::string_view::npos ? text.npos : nl - pos);
    ++no;
    pos = nl == std::string_view::npos ? text.size() + 1 : nl + 1;
    if (line.find_first_not_of(" \t\r") != std::string_view::npos) out.emplace_back(no, line);
  }
  return out;
}

Result<std::vector<Row>> ParseCsv(std::string_view text, std::string_view name) {
  auto lines = Lines(text);
  std::vector<Row> rows;
  if (lines.empty()) return Status::InvalidArgument("no rows", std::string(name));
  auto header = CsvFields(lines[0].second);
  std::map<std::string, size_t> col;
  for (size_t i = 0; i < header.size(); ++i) {
    std::string h = header[i];
    for (char& c : h) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (h == "ts") h = "timestamp";
    if (h == "asset" || h == "key") h = "dataset";
    col[h] = i;
  }
  for (const char* need : {"metric", "timestamp", "value"}) {
    if (!col.count(need)) {
      return Status::InvalidArgument(std::string("header: missing column '") + need + "'",
                                     std::string(name) + " line 1");
    }
  }
  if (!col.count("dataset") && !(col.count("namespace") && col.count("name"))) {
    return Status::InvalidArgument("header: missing column 'dataset' (or 'namespace' and 'name')",
                                   std::string(name) + " line 1");
  }
  for (size_t i = 1; i < lines.size(); ++i) {
    auto f = CsvFields(lines[i].second);
    auto get = [&](const char* k) {
      auto it = col.find(k);
      return it != col.end() && it->second < f.size() ? f[it->second] : std::string();
    };
    rows.push_back({std::string(name) + " line " + std::to_string(lines[i].first), get("dataset"),
                    get("namespace"), get("name"), get("metric"), get("timestamp"), get("value")});
  }
  return rows;
}

Result<std::vector<Row>> ParseJson(std::string_view text, std::string_view name) {
  std::vector<std::pair<std::string, nlohmann::json>> docs;
  auto whole = nlohmann::json::parse(text, nullptr, false);
  if (!whole.is_discarded() && whole.is_array()) {
    for (size_t i = 0; i < whole.size(); ++i) {
      docs.emplace_back(std::string(name) + ": /" + std::to_string(i), whole[i]);
    }
  } else {
    for (auto& [no, line] : Lines(text)) {
      std::string where = std::string(name) + " line " + std::to_string(no);
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) return Status::InvalidArgument("not valid JSON", where);
      docs.emplace_back(where, std::move(j));
    }
  }
  std::vector<Row> rows;
  for (auto& [where, j] : docs) {
    if (!j.is_object()) return Status::InvalidArgument("expected an object", where);
    auto str = [&](std::initializer_list<const char*> keys) -> std::string {
      for (const char* k : keys) {
        auto it = j.find(k);
        if (it == j.end() || it->is_null()) continue;
        if (it->is_string()) return it->get<std::string>();
        return it->dump();
      }
      return {};
    };
    rows.push_back({where, str({"dataset", "asset", "key"}), str({"namespace"}), str({"name"}),
                    str({"metric"}), str({"timestamp", "ts"}), str({"value"})});
  }
  return rows;
}

}  // namespace

Result<PushedMetricsReport> IngestPushedMetrics(catalog::Store& store, std::string_view text,
                                                std::string_view name) {
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return Status::InvalidArgument("no rows", std::string(name));
  TM_ASSIGN_OR_RETURN(auto rows, text[first] == '{' || text[first] == '['
                                     ? ParseJson(text, name)
                                     : ParseCsv(text, name));
  if (rows.empty()) return Status::InvalidArgument("no rows", std::string(name));
  catalog::WriteBatch batch;
  std::vector<std::pair<std::string, model::AssetKey>> aliases;
  std::map<model::AssetKey, model::AssetKey> joined;
  PushedMetricsReport report;
  for (const Row& r : rows) {
    model::AssetKey key;
    if (!r.dataset.empty()) {
      auto parsed = model::AssetKey::Parse(r.dataset);
      if (!parsed) return Bad(r, "dataset", "expected namespace/name, got '" + r.dataset + "'");
      key = *parsed;
    } else if (!r.ns.empty() && !r.name.empty()) {
      key = {r.ns, r.name};
    } else {
      return Bad(r, "dataset", "missing");
    }
    key.ns = CanonicalDatasetNamespace(key.ns);
    if (r.metric.empty()) return Bad(r, "metric", "missing");
    auto ts = model::ParseTimestamp(r.ts);
    if (!ts) return Bad(r, "timestamp", "not an ISO-8601 date-time: '" + r.ts + "'");
    double value = 0;
    char* end = nullptr;
    value = std::strtod(r.value.c_str(), &end);
    if (r.value.empty() || end != r.value.c_str() + r.value.size() || !std::isfinite(value)) {
      // last_modified may be given as a time.
      auto as_time = r.metric == model::kMetricLastModified ? model::ParseTimestamp(r.value)
                                                              : std::nullopt;
      if (!as_time) return Bad(r, "value", "not a number: '" + r.value + "'");
      value = static_cast<double>(model::ToMicros(*as_time)) / 1e6;
    }
    auto it = joined.find(key);
    if (it == joined.end()) {
      TM_ASSIGN_OR_RETURN(model::AssetKey target, JoinDatasetKey(store, key, kSource, aliases));
      it = joined.emplace(key, target).first;
    }
    batch.AppendMetricPoint({it->second, r.metric, *ts, value});
    ++report.points;
  }
  report.datasets = joined.size();
  for (auto& [alias, key] : aliases) batch.PutAlias(alias, key);
  TM_ASSIGN_OR_RETURN(report.write, store.Write(batch));
  return report;
}

std::string PushedMetricsReport::ToJson() const {
  return nlohmann::json{{"points", points},
                        {"datasets", datasets},
                        {"written", {{"points", write.points_written}, {"points_skipped", write.points_skipped}}}}
      .dump();
}

}  // namespace tidemark::collector
