// OpenLineage naming rules that need no store: canonical dataset namespaces, asset kinds by
// scheme, and the run state history kept in a run's properties.

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "openlineage_map.h"
#include "tidemark/collector/openlineage.h"

namespace tidemark::collector {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Default ports of the schemes whose naming puts "{host}:{port}" in the namespace, so that
// "postgres://db" from one producer and "postgres://db:5432" from another are one datasource.
int DefaultPort(std::string_view scheme) {
  if (scheme == "postgres") return 5432;
  if (scheme == "mysql") return 3306;
  if (scheme == "redshift") return 5439;
  if (scheme == "sqlserver") return 1433;
  if (scheme == "trino") return 8080;
  if (scheme == "oracle") return 1521;
  return 0;
}

}  // namespace

std::string CanonicalDatasetNamespace(std::string_view ns) {
  size_t sep = ns.find("://");
  if (sep == std::string_view::npos) return std::string(ns);
  std::string scheme = Lower(ns.substr(0, sep));
  if (scheme == "postgresql") scheme = "postgres";
  std::string_view rest = ns.substr(sep + 3);
  size_t path = rest.find('/');
  std::string_view authority = rest.substr(0, path);
  std::string_view tail = path == std::string_view::npos ? "" : rest.substr(path);
  // Only host-based schemes are lower-cased: an object store's bucket name is case-sensitive.
  const int port = DefaultPort(scheme);
  std::string auth = port ? Lower(authority) : std::string(authority);
  if (port && !auth.empty() && auth.find(':') == std::string::npos && auth.back() != ']') {
    auth += ":" + std::to_string(port);
  }
  return scheme + "://" + auth + std::string(tail);
}

std::vector<RunStateChange> RunStateHistory(const model::Run& run) {
  std::vector<RunStateChange> out;
  auto props = nlohmann::json::parse(run.properties.empty() ? "{}" : run.properties, nullptr,
                                     /*allow_exceptions=*/false);
  if (!props.is_object()) return out;
  constexpr std::string_view kPrefix = openlineage::kHistoryPrefix;
  for (const auto& [key, value] : props.items()) {
    std::string_view k = key;
    if (k.substr(0, kPrefix.size()) != kPrefix) continue;
    k.remove_prefix(kPrefix.size());
    size_t slash = k.rfind('/');
    if (slash == std::string_view::npos) continue;
    auto ts = model::ParseTimestamp(k.substr(0, slash));
    auto state = model::ParseRunState(k.substr(slash + 1));
    if (ts && state) out.push_back({*ts, *state});
  }
  std::sort(out.begin(), out.end(), [](const RunStateChange& a, const RunStateChange& b) {
    if (a.event_time != b.event_time) return a.event_time < b.event_time;
    return model::RunStateName(a.state) < model::RunStateName(b.state);
  });
  return out;
}

namespace openlineage {

model::AssetKind DatasetKind(std::string_view ns) {
  size_t sep = ns.find("://");
  std::string scheme = Lower(sep == std::string_view::npos ? ns : ns.substr(0, sep));
  static constexpr std::string_view kFiles[] = {"s3", "s3a", "s3n", "gs", "gcs", "abfs",
                                                "abfss", "wasbs", "hdfs", "file", "dbfs"};
  static constexpr std::string_view kTopics[] = {"kafka", "pubsub", "kinesis", "pulsar"};
  for (std::string_view s : kFiles) {
    if (scheme == s) return model::AssetKind::kFile;
  }
  for (std::string_view s : kTopics) {
    if (scheme == s) return model::AssetKind::kTopic;
  }
  return model::AssetKind::kTable;
}

bool IsUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

}  // namespace openlineage
}  // namespace tidemark::collector
