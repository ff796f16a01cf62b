#include "search_api.h"

#include <algorithm>
#include <charconv>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "tidemark/catalog/json_out.h"

namespace tidemark::ui {
namespace {

using catalog::JsonOut;
using nlohmann::ordered_json;
using model::Result;
using model::Status;

std::string Dump(const ordered_json& j) {
  return j.dump(-1, ' ', false, ordered_json::error_handler_t::replace);
}

ordered_json HealthJson(const catalog::AssetHealth& h) {
  ordered_json j = {{"status", h.Label()}, {"open_incidents", h.open_incidents},
                    {"last_anomaly_at", nullptr}, {"last_anomaly", h.last_anomaly}};
  if (h.last_anomaly_at) j["last_anomaly_at"] = model::FormatTimestamp(*h.last_anomaly_at);
  return j;
}

// A numeric query parameter within [lo, hi], or InvalidArgument naming it.
Result<long long> IntParam(const Request& r, std::string_view name, long long def, long long lo,
                           long long hi) {
  auto v = r.QueryParam(name);
  if (!v || v->empty()) return def;
  long long out = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec != std::errc() || end != v->data() + v->size() || out < lo || out > hi) {
    return Status::InvalidArgument("expected an integer from " + std::to_string(lo) + " to " +
                                       std::to_string(hi),
                                   std::string(name));
  }
  return out;
}

std::string Param(const Request& r, std::string_view name) {
  return std::string(r.QueryParam(name).value_or(""));
}

// A key's string form or an alias (a dbt unique_id), as Store::Resolve reads it.
Result<model::AssetKey> ResolveKey(catalog::Store& store, std::string_view text) {
  if (text.empty()) return Status::InvalidArgument("an asset key is required", "key");
  return store.Resolve(text);
}

Response Search(catalog::Store& store, const Request& r) {
  catalog::SearchQuery q;
  q.text = Param(r, "q");
  q.kind = Param(r, "kind");
  q.owner = Param(r, "owner");
  q.tag = Param(r, "tag");
  q.database = Param(r, "database");
  q.schema = Param(r, "schema");
  q.source = Param(r, "source");
  q.status = Param(r, "status");
  q.health = Param(r, "health");
  auto limit = IntParam(r, "limit", 20, 1, catalog::kMaxSearchLimit);
  if (!limit.ok()) return ErrorResponse(limit.status());
  auto offset = IntParam(r, "offset", 0, 0, 100000);
  if (!offset.ok()) return ErrorResponse(offset.status());
  q.limit = static_cast<size_t>(*limit);
  q.offset = static_cast<size_t>(*offset);
  auto results = store.Search(q);
  if (!results.ok()) return ErrorResponse(results.status());
  return Response::Json(200, SearchResultsJson(*results));
}

Response Suggest(catalog::Store& store, const Request& r) {
  auto limit = IntParam(r, "limit", 10, 1, 50);
  if (!limit.ok()) return ErrorResponse(limit.status());
  auto got = store.Suggest({Param(r, "q"), static_cast<size_t>(*limit)});
  if (!got.ok()) return ErrorResponse(got.status());
  ordered_json arr = ordered_json::array();
  for (const auto& s : *got) {
    arr.push_back({{"key", s.key.ToString()}, {"name", s.name}, {"kind", s.kind}});
  }
  return Response::Json(200, Dump({{"suggestions", std::move(arr)}}));
}

Response Lineage(catalog::Store& store, const Request& r) {
  auto key = ResolveKey(store, Param(r, "key"));
  if (!key.ok()) return ErrorResponse(key.status());
  catalog::LineageQuery q;
  q.key = *key;
  std::string dir = Param(r, "direction");
  if (dir == "upstream") {
    q.direction = catalog::LineageDirection::kUpstream;
  } else if (dir == "downstream") {
    q.direction = catalog::LineageDirection::kDownstream;
  } else if (!dir.empty() && dir != "both") {
    return ErrorResponse(Status::InvalidArgument("expected upstream, downstream or both", "direction"));
  }
  std::string level = Param(r, "level");
  if (level == "column") {
    q.level = catalog::LineageLevel::kColumn;
  } else if (!level.empty() && level != "table") {
    return ErrorResponse(Status::InvalidArgument("expected table or column", "level"));
  }
  q.column = Param(r, "column");
  auto depth = IntParam(r, "depth", 3, 1, catalog::kMaxLineageDepth);
  if (!depth.ok()) return ErrorResponse(depth.status());
  auto max_nodes = IntParam(r, "max_nodes", 500, 1, catalog::kMaxLineageNodes);
  if (!max_nodes.ok()) return ErrorResponse(max_nodes.status());
  q.depth = static_cast<int>(*depth);
  q.max_nodes = static_cast<size_t>(*max_nodes);
  auto graph = store.Lineage(q);
  if (!graph.ok()) return ErrorResponse(graph.status());
  return Response::Json(200, LineageGraphJson(*graph));
}

ordered_json KeysJson(const std::vector<model::AssetKey>& keys) {
  ordered_json arr = ordered_json::array();
  for (const auto& k : keys) arr.push_back(k.ToString());
  return arr;
}

Response Impact(catalog::Store& store, const model::AssetKey& key, const Request& r) {
  auto max_nodes = IntParam(r, "max_nodes", 10000, 1, catalog::kMaxLineageNodes);
  if (!max_nodes.ok()) return ErrorResponse(max_nodes.status());
  auto report = store.Impact(key, static_cast<size_t>(*max_nodes));
  if (!report.ok()) return ErrorResponse(report.status());
  auto list = [](const std::vector<catalog::ImpactedAsset>& assets) {
    ordered_json arr = ordered_json::array();
    for (const auto& a : assets) {
      arr.push_back({{"key", a.key.ToString()}, {"kind", a.kind}, {"name", a.name},
                     {"distance", a.distance}, {"path", KeysJson(a.path)}, {"owners", a.owners}});
    }
    return arr;
  };
  ordered_json j = {{"key", report->key.ToString()},
                    {"downstream_count", report->downstream.size()},
                    {"truncated", report->truncated},
                    {"owners", report->owners},
                    {"exposures", list(report->exposures)},
                    {"downstream", list(report->downstream)}};
  return Response::Json(200, Dump(j));
}

// The tests attached to a column ("not_null", "dbt_utils.at_least_one", ...), from the
// "tests" list its properties carry (dbt ingest writes it).
ordered_json ColumnTests(const std::string& properties) {
  ordered_json out = ordered_json::array();
  ordered_json p = ordered_json::parse(properties, nullptr, false);
  if (!p.is_object() || !p.contains("tests") || !p["tests"].is_array()) return out;
  for (const ordered_json& t : p["tests"]) {
    if (!t.is_object()) continue;
    for (const char* field : {"test_name", "kind"}) {  // test_name only when it says more
      if (t.contains(field) && t[field].is_string()) {
        out.push_back(t[field]);
        break;
      }
    }
  }
  return out;
}

Response Asset(catalog::Store& store, const model::AssetKey& key) {
  auto asset = store.GetAsset(key);
  if (!asset.ok()) return ErrorResponse(asset.status());
  auto columns = store.GetColumns(key);
  auto owners = store.GetOwnersOf(key);
  auto history = store.GetSchemaHistory(key);
  auto results = store.GetRecentResults(key, 20);
  auto metrics = store.ListMetrics(key);
  auto health = store.GetHealth({key});
  catalog::AnomalyFilter af;
  af.asset = key;
  af.limit = 20;
  auto anomalies = store.ListAnomalies(af);
  for (const Status& st : {columns.status(), owners.status(), history.status(), results.status(),
                           metrics.status(), health.status(), anomalies.status()}) {
    if (!st.ok()) return ErrorResponse(st);
  }
  const model::Asset& a = *asset;
  ordered_json cols = ordered_json::array();
  for (const auto& c : *columns) {
    cols.push_back({{"name", c.name}, {"position", c.position}, {"type", c.data_type},
                    {"description", c.description}, {"tags", c.tags},
                    {"tests", ColumnTests(c.properties)}});
  }
  ordered_json own = ordered_json::array();
  for (const auto& [o, role] : *owners) {
    own.push_back({{"id", o.id}, {"name", o.name}, {"email", o.email}, {"role", role}});
  }
  ordered_json hist = ordered_json::array();
  for (const auto& s : *history) {
    hist.push_back({{"observed_at", model::FormatTimestamp(s.observed_at)},
                    {"source", s.source}, {"columns", s.columns.size()}});
  }
  ordered_json runs = ordered_json::array();
  for (const auto& n : *results) {
    ordered_json j = {{"run_id", n.run_id}, {"node_id", n.node_id}, {"status", n.status},
                      {"message", n.message}, {"completed_at", nullptr}};
    if (n.completed_at) j["completed_at"] = model::FormatTimestamp(*n.completed_at);
    runs.push_back(std::move(j));
  }
  ordered_json anoms = ordered_json::array();
  for (const auto& x : *anomalies) {
    anoms.push_back({{"id", x.id}, {"metric", x.metric}, {"detector", x.detector},
                     {"ts", model::FormatTimestamp(x.ts)}, {"value", x.value},
                     {"expected_low", x.expected_low}, {"expected_high", x.expected_high},
                     {"explanation", x.explanation}, {"incident_id", x.incident_id}});
  }
  ordered_json j = {{"key", a.key.ToString()},
                    {"kind", model::AssetKindName(a.kind)},
                    {"name", a.name},
                    {"description", a.description},
                    {"source", a.source},
                    {"database", a.database},
                    {"schema", a.schema},
                    {"status", model::AssetStatusName(a.status)},
                    {"tags", a.tags},
                    {"aliases", a.aliases},
                    {"properties", ordered_json::parse(a.properties, nullptr, false)},
                    {"health", HealthJson(health->at(0))},
                    {"owners", std::move(own)},
                    {"columns", std::move(cols)},
                    {"metrics", *metrics},
                    {"schema_history", std::move(hist)},
                    {"recent_results", std::move(runs)},
                    {"anomalies", std::move(anoms)},
                    {"updated_at", model::FormatTimestamp(a.updated_at)}};
  return Response::Json(200, Dump(j));
}

// One metric's points (the last `limit`, optionally from `since` on) and the anomalies the
// detectors found on it, with their expected bands, for the asset page's charts.
Response MetricSeries(catalog::Store& store, const model::AssetKey& key, const Request& r) {
  const std::string metric = Param(r, "metric");
  if (metric.empty()) {
    return ErrorResponse(Status::InvalidArgument("a metric name is required", "metric"));
  }
  model::Timestamp from{};
  if (auto since = r.QueryParam("since"); since && !since->empty()) {
    auto parsed = model::ParseTimestamp(*since);
    if (!parsed) {
      return ErrorResponse(
          Status::InvalidArgument("expected an RFC 3339 time like 2026-01-31T00:00:00Z", "since"));
    }
    from = *parsed;
  }
  auto limit = IntParam(r, "limit", 1000, 1, 10000);
  if (!limit.ok()) return ErrorResponse(limit.status());
  // The end of year 9999: PostgreSQL's timestamp range ends long before Timestamp::max().
  const model::Timestamp to = model::Timestamp(std::chrono::seconds(253402300799));
  auto series = store.ReadSeries(key, metric, from, to);
  if (!series.ok()) return ErrorResponse(series.status());
  catalog::AnomalyFilter af;
  af.asset = key;
  af.since = from;
  auto anomalies = store.ListAnomalies(af);
  if (!anomalies.ok()) return ErrorResponse(anomalies.status());
  const size_t n = series->ts.size();
  const size_t first = n > static_cast<size_t>(*limit) ? n - static_cast<size_t>(*limit) : 0;
  ordered_json points = ordered_json::array();
  for (size_t i = first; i < n; ++i) {
    points.push_back({model::FormatTimestamp(series->ts[i]), series->values[i]});
  }
  ordered_json anoms = ordered_json::array();
  for (const model::Anomaly& x : *anomalies) {
    if (x.metric != metric) continue;
    anoms.push_back({{"id", x.id}, {"detector", x.detector}, {"ts", model::FormatTimestamp(x.ts)},
                     {"value", x.value}, {"expected_low", x.expected_low},
                     {"expected_high", x.expected_high}, {"direction", x.direction},
                     {"severity", model::SeverityName(x.severity)},
                     {"explanation", x.explanation}, {"incident_id", x.incident_id}});
  }
  return Response::Json(200, Dump({{"key", key.ToString()}, {"metric", metric},
                                   {"points", std::move(points)}, {"truncated", first > 0},
                                   {"anomalies", std::move(anoms)}}));
}

// Every stored schema snapshot, oldest first, with its columns: the asset page diffs them.
Response SchemaSnapshots(catalog::Store& store, const model::AssetKey& key) {
  auto history = store.GetSchemaHistory(key);
  if (!history.ok()) return ErrorResponse(history.status());
  ordered_json snapshots = ordered_json::array();
  for (const model::SchemaSnapshot& s : *history) {
    ordered_json cols = ordered_json::array();
    for (const model::Column& c : s.columns) {
      cols.push_back({{"name", c.name}, {"position", c.position}, {"type", c.data_type},
                      {"nullable", c.nullable ? ordered_json(*c.nullable) : ordered_json()}});
    }
    snapshots.push_back({{"observed_at", model::FormatTimestamp(s.observed_at)},
                         {"source", s.source}, {"columns", std::move(cols)}});
  }
  return Response::Json(200, Dump({{"key", key.ToString()}, {"snapshots", std::move(snapshots)}}));
}

Response Owner(catalog::Store& store, const std::string& id) {
  auto owner = store.GetOwner(id);
  if (!owner.ok()) return ErrorResponse(owner.status());
  auto owned = store.ListOwnedAssets(id);
  if (!owned.ok()) return ErrorResponse(owned.status());
  ordered_json assets = ordered_json::array();
  for (const auto& a : *owned) {
    assets.push_back({{"key", a.key.ToString()}, {"kind", a.kind}, {"name", a.name},
                      {"role", a.role}, {"status", a.status}, {"health", HealthJson(a.health)}});
  }
  ordered_json j = {{"id", owner->id},
                    {"kind", model::OwnerKindName(owner->kind)},
                    {"name", owner->name},
                    {"email", owner->email},
                    {"channel", owner->channel},
                    {"asset_count", owned->size()},
                    {"assets", std::move(assets)}};
  return Response::Json(200, Dump(j));
}

}  // namespace

std::string SearchResultsJson(const catalog::SearchResults& results) {
  // Written directly (tidemark/catalog/json_out.h): the same bytes as the DOM the other routes build.
  std::string body;
  body.reserve(1024 + 640 * results.hits.size());
  JsonOut j(body);
  j.Raw("{").Key("total", true).Int(results.total).Key("total_exact").Bool(results.exact);
  j.Key("hits").Raw("[");
  for (size_t i = 0; i < results.hits.size(); ++i) {
    const catalog::SearchHit& h = results.hits[i];
    if (i) j.Sep();
    j.Raw("{").Key("key", true).String(h.key.ToString()).Key("kind").String(h.kind);
    j.Key("name").String(h.name).Key("full_name").String(h.full_name);
    j.Key("status").String(h.status).Key("source").String(h.source);
    j.Key("snippet").String(h.snippet).Key("highlights").Raw("[");
    for (size_t k = 0; k < h.highlights.size(); ++k) {
      if (k) j.Sep();
      j.Raw("[").UInt(h.highlights[k].first).Sep().UInt(h.highlights[k].second).Raw("]");
    }
    j.Raw("]").Key("owners").Strings(h.owners).Key("tags").Strings(h.tags);
    j.Key("health").Raw("{").Key("status", true).String(h.health.Label());
    j.Key("open_incidents").Int(h.health.open_incidents).Key("last_anomaly_at");
    if (h.health.last_anomaly_at) {
      j.String(model::FormatTimestamp(*h.health.last_anomaly_at));
    } else {
      j.Null();
    }
    j.Key("last_anomaly").String(h.health.last_anomaly).Raw("}");
    j.Key("downstream").Int(h.downstream).Key("exposures").Int(h.exposures);
    j.Key("score").Double(h.score).Key("matched").Raw("[");
    for (size_t k = 0; k < h.matched.size(); ++k) {
      const catalog::SearchMatch& m = h.matched[k];
      if (k) j.Sep();
      j.Raw("{").Key("field", true).String(m.field).Key("value").String(m.value);
      j.Key("how").String(m.how).Raw("}");
    }
    j.Raw("]}");
  }
  j.Raw("]").Key("facets").Raw("{");
  // An object keeps one entry per name, as the DOM did (the last one given wins, in the
  // place of the first).
  std::vector<const catalog::Facet*> facets;
  for (const catalog::Facet& f : results.facets) {
    auto same = [&](const catalog::Facet* g) { return g->name == f.name; };
    if (auto it = std::find_if(facets.begin(), facets.end(), same); it != facets.end()) {
      *it = &f;
    } else {
      facets.push_back(&f);
    }
  }
  for (size_t i = 0; i < facets.size(); ++i) {
    if (i > 0) j.Sep();
    j.String(facets[i]->name).Raw(":[");  // a name from the results: escaped, unlike Key's
    for (size_t k = 0; k < facets[i]->counts.size(); ++k) {
      const catalog::FacetCount& c = facets[i]->counts[k];
      if (k) j.Sep();
      j.Raw("{").Key("value", true).String(c.value).Key("count").Int(c.count).Raw("}");
    }
    j.Raw("]");
  }
  j.Raw("}").Key("notes").Strings(results.notes).Raw("}");
  return body;
}

std::string LineageGraphJson(const catalog::LineageGraph& graph) {
  ordered_json nodes = ordered_json::array();
  for (const auto& n : graph.nodes) {
    nodes.push_back({{"key", n.key.ToString()}, {"kind", n.kind}, {"name", n.name},
                     {"status", n.status}, {"distance", n.distance}, {"owners", n.owners},
                     {"health", HealthJson(n.health)}});
  }
  ordered_json edges = ordered_json::array();
  for (const auto& e : graph.edges) {
    ordered_json j = {{"upstream", e.upstream.ToString()}, {"downstream", e.downstream.ToString()}};
    if (!e.upstream_column.empty()) {
      j["upstream_column"] = e.upstream_column;
      j["downstream_column"] = e.downstream_column;
    }
    edges.push_back(std::move(j));
  }
  return Dump({{"nodes", std::move(nodes)}, {"edges", std::move(edges)},
               {"truncated", graph.truncated}, {"depth_reached", graph.depth_reached}});
}

std::jthread LogSearchIndexLoad(catalog::Store& store) {
  if (!store.SearchMemory()) return {};
  return std::jthread([&store](std::stop_token stop) {
    std::string error;
    while (!stop.stop_requested()) {
      std::optional<catalog::SearchMemoryStatus> s = store.SearchMemory();
      if (s && s->loaded) {
        spdlog::info("search index in memory: {} assets, {} terms, {} postings, loaded in {:.1f} s",
                     s->assets, s->terms, s->postings, s->load_seconds);
        return;
      }
      if (s && !s->error.empty() && s->error != error) {
        error = s->error;
        spdlog::warn("search index not in memory yet (searches read the store): {}", error);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
}

Status AddSearchRoutes(Router& router, catalog::Store& store) {
  const RouteOptions read{.name = "", .scope = "read", .blocking = true};
  auto opts = [&](std::string name) {
    RouteOptions o = read;
    o.name = std::move(name);
    return o;
  };
  TM_RETURN_IF_ERROR(router.Add("GET", "/api/v1/search", opts("search"),
                                [&store](const Request& r) { return Search(store, r); }));
  TM_RETURN_IF_ERROR(router.Add("GET", "/api/v1/search/suggest", opts("search_suggest"),
                                [&store](const Request& r) { return Suggest(store, r); }));
  TM_RETURN_IF_ERROR(router.Add("GET", "/api/v1/lineage", opts("lineage"),
                                [&store](const Request& r) { return Lineage(store, r); }));
  TM_RETURN_IF_ERROR(router.Add("GET", "/api/v1/owners/{id}", opts("get_owner"),
                                [&store](const Request& r) {
                                  return Owner(store, r.path_params.at("id"));
                                }));
  // Keys contain '/', so the key is the rest of the path (or one %2F-escaped segment).
  return router.Add(
      "GET", "/api/v1/assets/{key...}", opts("get_asset"), [&store](const Request& r) {
        std::string text = r.path_params.at("key");
        // ".../impact", ".../metrics" and ".../schema" ask for one part of the asset; a key
        // that itself ends that way still resolves as a whole.
        std::string_view part;
        for (std::string_view suffix : {"/impact", "/metrics", "/schema"}) {
          if (text.size() > suffix.size() && text.ends_with(suffix) &&
              ResolveKey(store, std::string_view(text).substr(0, text.size() - suffix.size()))
                  .ok()) {
            part = suffix;
            text.resize(text.size() - suffix.size());
            break;
          }
        }
        auto key = ResolveKey(store, text);
        if (!key.ok()) return ErrorResponse(key.status());
        if (part == "/impact") return Impact(store, *key, r);
        if (part == "/metrics") return MetricSeries(store, *key, r);
        if (part == "/schema") return SchemaSnapshots(store, *key);
        return Asset(store, *key);
      });
}

}  // namespace tidemark::ui
