#include "tidemark/pipeline/incidents.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

namespace tidemark::pipeline {
namespace {

using json = nlohmann::json;
using model::AssetKey;
using model::Result;
using model::Status;
using model::Timestamp;

constexpr size_t kShownSymptoms = 5;
constexpr size_t kMaxVisited = 200000;
constexpr size_t kKindLookups = 200;

std::string Hex64(std::string_view text) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(h));
  return out;
}

std::string Ts(Timestamp t) { return model::FormatTimestamp(t); }

Timestamp ParseTs(const json& j, Timestamp fallback) {
  if (!j.is_string()) return fallback;
  return model::ParseTimestamp(j.get<std::string>()).value_or(fallback);
}

json SymptomJson(const model::Anomaly& a) {
  return {{"anomaly_id", a.id},         {"asset", a.asset.ToString()},
          {"metric", a.metric},         {"detector", a.detector},
          {"severity", model::SeverityName(a.severity)},
          {"ts", Ts(a.ts)},             {"value", a.value},
          {"expected_low", a.expected_low}, {"expected_high", a.expected_high},
          {"explanation", a.explanation}, {"recovered", false}};
}

// The detectors among an incident's symptoms.
std::set<std::string> SymptomDetectors(const json& props) {
  std::set<std::string> out;
  for (const json& s : props.value("symptoms", json::array())) {
    if (s.is_object()) out.insert(s.value("detector", ""));
  }
  return out;
}

// Whether `upstream` (a detector) may explain `downstream` (another) through lineage. Late,
// missing or unbuilt data shows downstream as late, missing or unbuilt data; a failed data
// test downstream needs bad data or a changed structure upstream (a late or short load does
// not make rows fail a test); a schema change downstream needs one upstream.
bool Explains(std::string_view upstream, std::string_view downstream) {
  if (downstream == "dbt_test") {
    return upstream == "schema" || upstream == "dbt_test" || upstream == "column_metric";
  }
  if (downstream == "schema") return upstream == "schema";
  return true;
}

// Whether every symptom downstream is explained by some symptom upstream.
bool CanCause(const std::set<std::string>& upstream, const std::set<std::string>& downstream) {
  return std::all_of(downstream.begin(), downstream.end(), [&](const std::string& d) {
    return std::any_of(upstream.begin(), upstream.end(),
                       [&](const std::string& u) { return Explains(u, d); });
  });
}

// Walks the lineage graph from `start` in `direction`, at most `depth` hops.
class Lineage {
 public:
  explicit Lineage(catalog::Store& store) : store_(store) {}

  Result<const std::set<AssetKey>*> Upstream(const AssetKey& start, int depth) {
    auto it = upstream_.find(start);
    if (it != upstream_.end()) return &it->second;
    TM_ASSIGN_OR_RETURN(auto closure, Walk(start, catalog::Direction::kUpstream, depth));
    return &upstream_.emplace(start, std::move(closure)).first->second;
  }

  Result<std::vector<AssetKey>> Downstream(const AssetKey& start, int depth) {
    TM_ASSIGN_OR_RETURN(auto closure, Walk(start, catalog::Direction::kDownstream, depth));
    return std::vector<AssetKey>(closure.begin(), closure.end());
  }

 private:
  Result<std::set<AssetKey>> Walk(const AssetKey& start, catalog::Direction direction,
                                  int depth) {
    std::set<AssetKey> seen;
    std::deque<std::pair<AssetKey, int>> queue{{start, 0}};
    while (!queue.empty() && seen.size() < kMaxVisited) {
      auto [key, d] = std::move(queue.front());
      queue.pop_front();
      if (d >= depth) continue;
      TM_ASSIGN_OR_RETURN(auto edges, store_.GetEdges(key, direction));
      for (const model::LineageEdge& e : edges) {
        const AssetKey& next =
            direction == catalog::Direction::kUpstream ? e.upstream : e.downstream;
        if (next == start || next.empty()) continue;
        if (seen.insert(next).second) queue.emplace_back(next, d + 1);
      }
    }
    return seen;
  }

  catalog::Store& store_;
  std::map<AssetKey, std::set<AssetKey>> upstream_;
};

// An incident being worked on, with its properties parsed.
struct Working {
  model::Incident inc;
  json props;
  std::set<AssetKey> assets;
  Timestamp last_symptom{};
  std::vector<model::Anomaly> joined;  // anomalies linked during this run
  bool opened_now = false;
  bool history = false;                // opened already over: local channels only
  bool root_changed = false;
  bool changed = false;
  std::vector<std::string> events;     // alert events decided during this run
};

Working FromIncident(model::Incident inc) {
  Working w;
  w.props = json::parse(inc.properties.empty() ? "{}" : inc.properties, nullptr, false);
  if (!w.props.is_object()) w.props = json::object();
  w.inc = std::move(inc);
  w.assets.insert(w.inc.root);
  for (const json& a : w.props.value("assets", json::array())) {
    if (a.is_string()) {
      if (auto key = AssetKey::Parse(a.get<std::string>())) w.assets.insert(*key);
    }
  }
  w.last_symptom = ParseTs(w.props.value("last_symptom_at", json()), w.inc.opened_at);
  return w;
}

// The decisions about alerts for one incident, written with it.
class Announcer {
 public:
  Announcer(catalog::Store& store, const RoutingConfig& routing, Timestamp now)
      : store_(store), routing_(routing), now_(now) {}

  // Adds the alerts of `event` for `w` to `batch` and records the notification in w.props.
  Status Announce(Working& w, const std::string& event, catalog::WriteBatch& batch,
                  long long& enqueued) {
    json& notify = w.props["notify"];
    if (!notify.is_object()) notify = json::object();
    const long long seq = notify.value("seq", 0LL) + 1;
    notify["seq"] = seq;
    notify["last_at"] = Ts(now_);
    if (event != "resolved" && event != "acknowledged") notify["last_alert_at"] = Ts(now_);
    // Channels: those the incident already reached, plus what its current root routes to.
    json& channels = w.props["channels"];
    if (!channels.is_array()) channels = json::array();
    auto facts = GatherFacts(store_, w.inc.root);
    if (facts.ok()) {
      facts->severity = w.inc.severity;
      for (const json& s : w.props.value("symptoms", json::array())) {
        facts->detectors.push_back(s.value("detector", ""));
      }
      for (const RouteTarget& t : ResolveRoutes(routing_, *facts)) {
        bool known = std::any_of(channels.begin(), channels.end(), [&](const json& c) {
          return c.value("channel", "") == t.channel;
        });
        if (!known) channels.push_back({{"channel", t.channel}, {"reason", t.reason}});
      }
      w.props["owners"] = facts->owner_ids;
    } else if (!facts.status().IsNotFound()) {
      return facts.status();
    }
    for (const json& c : channels) {
      const std::string channel = c.value("channel", "");
      if (channel.empty()) continue;
      if (w.history) {
        const Channel* configured = routing_.FindChannel(channel);
        if (!configured || !IsLocal(configured->kind)) continue;
      }
      model::Alert alert;
      alert.incident_id = w.inc.id;
      alert.channel = channel;
      alert.event = event;
      alert.idempotency_key = w.inc.id + ":" + event + ":" + std::to_string(seq) + ":" + channel;
      alert.id = "alr-" + Hex64(alert.idempotency_key);
      alert.payload = Payload(w, event, seq, alert.idempotency_key).dump();
      alert.created_at = now_;
      alert.next_attempt_at = now_;
      batch.EnqueueAlert(std::move(alert));
      ++enqueued;
    }
    w.events.push_back(event);
    return Status::Ok();
  }

 private:
  json Payload(const Working& w, const std::string& event, long long seq,
               const std::string& key) const {
    const std::string base = routing_.base_url;
    json symptoms = json::array();
    const json all = w.props.value("symptoms", json::array());
    for (size_t i = 0; i < all.size() && i < kShownSymptoms; ++i) symptoms.push_back(all[i]);
    json p;
    p["incident_id"] = w.inc.id;
    p["event"] = event;
    p["sequence"] = seq;
    p["idempotency_key"] = key;
    p["title"] = w.inc.title;
    p["state"] = model::IncidentStateName(w.inc.state);
    p["severity"] = model::SeverityName(w.inc.severity);
    p["root"] = {{"key", w.inc.root.ToString()},
                 {"name", w.inc.root.name},
                 {"url", base.empty() ? "" : base + "/assets/" + w.inc.root.ToString()}};
    p["opened_at"] = Ts(w.inc.opened_at);
    p["updated_at"] = Ts(w.inc.updated_at);
    p["resolved_at"] = w.inc.resolved_at ? json(Ts(*w.inc.resolved_at)) : json();
    p["symptoms"] = symptoms;
    p["symptom_count"] = all.size();
    p["impact"] = w.props.value("impact", json::object());
    p["owners"] = w.props.value("owners", json::array());
    p["resolution"] = w.props.value("resolution", "");
    p["url"] = base.empty() ? "" : base + "/incidents/" + w.inc.id;
    p["ack_url"] = base.empty() ? "" : base + "/api/v1/incidents/" + w.inc.id + "/ack";
    return p;
  }

  catalog::Store& store_;
  const RoutingConfig& routing_;
  const Timestamp now_;
};

class Updater {
 public:
  Updater(catalog::Store& store, Timestamp now, const RoutingConfig& routing,
          const IncidentOptions& options)
      : store_(store), now_(now), options_(options), lineage_(store),
        announcer_(store, routing, now) {}

  Result<IncidentSummary> Run();

 private:
  Status LoadOpen();
  Status Group(const model::Anomaly& a);
  Status Impact(Working& w);
  Result<bool> Recovered(const json& symptom);
  Status Advance(Working& w);
  Status Save(Working& w, catalog::WriteBatch& batch);

  catalog::Store& store_;
  const Timestamp now_;
  const IncidentOptions& options_;
  Lineage lineage_;
  Announcer announcer_;
  std::vector<Working> working_;
  IncidentSummary summary_;
};

Status Updater::LoadOpen() {
  for (auto state : {model::IncidentState::kOpen, model::IncidentState::kAcknowledged}) {
    TM_ASSIGN_OR_RETURN(auto list, store_.ListIncidents(state, 100000));
    for (model::Incident& i : list) working_.push_back(FromIncident(std::move(i)));
  }
  return Status::Ok();
}

Status Updater::Group(const model::Anomaly& a) {
  TM_ASSIGN_OR_RETURN(const std::set<AssetKey>* up, lineage_.Upstream(a.asset, options_.lineage_depth));
  Working* target = nullptr;
  bool becomes_root = false;
  for (Working& w : working_) {
    if (a.ts + options_.window < w.inc.opened_at ||
        a.ts > w.last_symptom + std::max(options_.window, options_.follow_on)) {
      continue;
    }
    if (w.assets.count(a.asset)) {
      target = &w;
      break;
    }
    const std::set<std::string> detectors = SymptomDetectors(w.props);
    if (up->count(w.inc.root) && CanCause(detectors, {a.detector})) {
      target = &w;
      break;
    }
    if (a.ts > w.last_symptom + options_.window) continue;
    TM_ASSIGN_OR_RETURN(const std::set<AssetKey>* root_up,
                        lineage_.Upstream(w.inc.root, options_.lineage_depth));
    if (root_up->count(a.asset) && CanCause({a.detector}, detectors)) {
      target = &w;
      becomes_root = true;
      break;
    }
  }
  if (!target) {
    Working w;
    w.inc.id = "inc-" + Hex64(a.asset.ToString() + "|" + a.id);
    w.inc.root = a.asset;
    w.inc.state = model::IncidentState::kOpen;
    w.inc.severity = a.severity;
    w.inc.title = a.asset.name + ": " + a.explanation;
    w.inc.opened_at = std::min(a.ts, now_);
    w.props = json::object();
    w.props["symptoms"] = json::array();
    w.opened_now = true;
    working_.push_back(std::move(w));
    target = &working_.back();
    ++summary_.opened;
    summary_.opened_ids.push_back(target->inc.id);
  } else {
    ++summary_.joined;
  }
  Working& w = *target;
  if (becomes_root) {
    w.inc.root = a.asset;
    w.inc.title = a.asset.name + ": " + a.explanation;
    w.root_changed = true;
  }
  w.assets.insert(a.asset);
  w.last_symptom = std::max(w.last_symptom, a.ts);
  w.inc.severity = std::max(w.inc.severity, a.severity);
  w.props["symptoms"].push_back(SymptomJson(a));
  model::Anomaly linked = a;
  linked.incident_id = w.inc.id;
  w.joined.push_back(std::move(linked));
  w.changed = true;
  ++summary_.anomalies_grouped;
  return Status::Ok();
}

Status Updater::Impact(Working& w) {
  TM_ASSIGN_OR_RETURN(auto down, lineage_.Downstream(w.inc.root, options_.impact_depth));
  std::vector<std::string> exposures, others;
  for (size_t i = 0; i < down.size() && i < kKindLookups; ++i) {
    auto asset = store_.GetAsset(down[i]);
    if (!asset.ok()) continue;
    std::string name = asset->name.empty() ? down[i].name : asset->name;
    (asset->kind == model::AssetKind::kExposure ? exposures : others).push_back(name);
  }
  json top = json::array();
  for (auto* list : {&exposures, &others}) {
    for (const std::string& n : *list) {
      if (top.size() < options_.impact_top) top.push_back(n);
    }
  }
  w.props["impact"] = {{"downstream_count", down.size()},
                       {"dashboards", exposures.size()},
                       {"top", top}};
  return Status::Ok();
}

Result<bool> Updater::Recovered(const json& s) {
  if (s.value("recovered", false)) return true;
  const std::string detector = s.value("detector", "");
  const std::string metric = s.value("metric", "");
  const Timestamp ts = ParseTs(s.value("ts", json()), now_);
  auto key = AssetKey::Parse(s.value("asset", ""));
  if (!key) return true;
  const Timestamp after = ts + std::chrono::microseconds(1);
  const Timestamp end = now_ + std::chrono::microseconds(1);
  if (detector == "volume" || detector == "column_metric") {
    TM_ASSIGN_OR_RETURN(model::Series series, store_.ReadSeries(*key, metric, after, end));
    if (series.ts.size() < static_cast<size_t>(std::max(1, options_.recover_points))) return false;
    TM_ASSIGN_OR_RETURN(auto flagged, store_.ListAnomalies({.asset = *key, .since = after, .incident_id = "",
                                                             .limit = 100000}));
    std::set<Timestamp> bad;
    for (const model::Anomaly& a : flagged) {
      if (a.metric == metric) bad.insert(a.ts);
    }
    for (size_t i = series.ts.size() - static_cast<size_t>(std::max(1, options_.recover_points));
         i < series.ts.size(); ++i) {
      if (bad.count(series.ts[i])) return false;
    }
    return true;
  }
  if (detector == "freshness") {
    if (metric == model::kMetricLastModified) {
      TM_ASSIGN_OR_RETURN(model::Series series,
                          store_.ReadSeries(*key, metric, ts - std::chrono::days(1), end));
      const double late_at = static_cast<double>(model::ToMicros(ts)) / 1e6;
      return std::any_of(series.values.begin(), series.values.end(),
                         [&](double v) { return v > late_at; });
    }
    TM_ASSIGN_OR_RETURN(model::Series series, store_.ReadSeries(*key, metric, after, end));
    return !series.ts.empty();
  }
  if (detector == "dbt_test" || detector == "run") {
    TM_ASSIGN_OR_RETURN(auto results, store_.GetRecentResults(*key, 200));
    int passes = 0;
    for (const model::NodeResult& r : results) {  // newest first
      if (r.node_id != metric) continue;
      std::optional<Timestamp> at = r.completed_at ? r.completed_at : r.started_at;
      if (!at || *at <= ts) break;
      if (r.status == "pass" || r.status == "success") {
        if (++passes >= std::max(1, options_.recover_runs)) return true;
      } else {
        return false;
      }
    }
    return false;
  }
  return now_ - ts >= options_.schema_quiet;
}

Status Updater::Advance(Working& w) {
  const auto since = [&](const char* field) {
    return ParseTs(w.props.value("notify", json::object()).value(field, json()), w.inc.opened_at);
  };
  if (w.opened_now || w.root_changed) TM_RETURN_IF_ERROR(Impact(w));
  if (w.opened_now) {
    w.props["pending_update"] = false;
    w.events.push_back("opened");
  } else if (!w.joined.empty()) {
    w.props["pending_update"] = true;
  }
  // Recovery, also of symptoms that joined in this run: a symptom found by a backfill may
  // have recovered since; one found live has no newer data yet.
  json& symptoms = w.props["symptoms"];
  bool all_recovered = symptoms.is_array() && !symptoms.empty();
  for (json& s : symptoms) {
    TM_ASSIGN_OR_RETURN(bool ok, Recovered(s));
    if (ok && !s.value("recovered", false)) {
      s["recovered"] = true;
      w.changed = true;
    }
    all_recovered = all_recovered && ok;
  }
  if (all_recovered && w.opened_now && options_.announce_within.count() > 0 &&
      now_ - w.last_symptom > options_.announce_within) {
    w.history = true;
    w.props["history"] = true;
  }
  if (all_recovered) {
    w.inc.state = model::IncidentState::kResolved;
    w.inc.resolved_at = now_;
    w.props["resolution"] = "automatic: every symptom recovered";
    w.props["pending_update"] = false;
    w.events.push_back("resolved");
    w.changed = true;
    ++summary_.resolved;
    return Status::Ok();
  }
  if (!w.opened_now && w.props.value("pending_update", false) &&
      now_ - since("last_alert_at") >= options_.suppress) {
    w.props["pending_update"] = false;
    w.events.push_back("updated");
    w.changed = true;
  } else if (!w.opened_now && w.inc.state == model::IncidentState::kOpen &&
             options_.renotify.count() > 0 && now_ - since("last_alert_at") >= options_.renotify) {
    w.events.push_back("reminder");
    w.changed = true;
  }
  return Status::Ok();
}

Status Updater::Save(Working& w, catalog::WriteBatch& batch) {
  if (!w.changed && w.events.empty()) return Status::Ok();
  std::vector<std::string> events;
  events.swap(w.events);
  w.inc.updated_at = now_;
  json assets = json::array();
  for (const AssetKey& k : w.assets) assets.push_back(k.ToString());
  w.props["assets"] = assets;
  w.props["last_symptom_at"] = Ts(w.last_symptom);
  for (const std::string& e : events) {
    TM_RETURN_IF_ERROR(announcer_.Announce(w, e, batch, summary_.alerts_enqueued));
  }
  w.inc.properties = w.props.dump();
  batch.PutIncident(w.inc);
  for (const model::Anomaly& a : w.joined) batch.PutAnomaly(a);
  return Status::Ok();
}

Result<IncidentSummary> Updater::Run() {
  TM_RETURN_IF_ERROR(LoadOpen());
  TM_ASSIGN_OR_RETURN(auto recent, store_.ListAnomalies({.asset = std::nullopt, .since = now_ - options_.lookback,
                                                         .incident_id = "", .limit = 1000000}));
  std::vector<model::Anomaly> pending;
  for (model::Anomaly& a : recent) {
    if (a.incident_id.empty() && a.severity >= options_.min_severity) {
      pending.push_back(std::move(a));
    }
  }
  std::sort(pending.begin(), pending.end(), [](const model::Anomaly& x, const model::Anomaly& y) {
    return std::tie(x.ts, x.id) < std::tie(y.ts, y.id);
  });
  for (const model::Anomaly& a : pending) TM_RETURN_IF_ERROR(Group(a));
  // Every decision of this run — incidents, anomaly links, alerts — in one transaction: a
  // crash leaves either all of it or none, and the next run decides again the same way.
  catalog::WriteBatch batch;
  for (Working& w : working_) {
    TM_RETURN_IF_ERROR(Advance(w));
    TM_RETURN_IF_ERROR(Save(w, batch));
  }
  if (!batch.empty()) {
    TM_ASSIGN_OR_RETURN(auto written, store_.Write(batch));
    (void)written;
  }
  return std::move(summary_);
}

// Loads, transitions and saves one incident by hand.
Result<model::Incident> Transition(catalog::Store& store, const model::Clock& clock,
                                   std::string_view id, std::string_view who,
                                   const RoutingConfig& routing, bool resolve) {
  TM_ASSIGN_OR_RETURN(model::Incident inc, store.GetIncident(id));
  if (inc.state == model::IncidentState::kResolved) {
    return Status::InvalidArgument("incident " + std::string(id) + " is resolved already",
                                   "incidents/" + std::string(id));
  }
  if (!resolve && inc.state == model::IncidentState::kAcknowledged) return inc;
  const Timestamp now = clock.Now();
  Working w = FromIncident(std::move(inc));
  if (resolve) {
    w.inc.state = model::IncidentState::kResolved;
    w.inc.resolved_at = now;
    w.props["resolution"] = "by hand" + (who.empty() ? std::string() : ": " + std::string(who));
    w.props["resolved_by"] = std::string(who);
  } else {
    w.inc.state = model::IncidentState::kAcknowledged;
    w.inc.acknowledged_at = now;
    w.props["acknowledged_by"] = std::string(who);
  }
  w.inc.updated_at = now;
  Announcer announcer(store, routing, now);
  catalog::WriteBatch batch;
  long long enqueued = 0;
  TM_RETURN_IF_ERROR(announcer.Announce(w, resolve ? "resolved" : "acknowledged", batch, enqueued));
  w.inc.properties = w.props.dump();
  batch.PutIncident(w.inc);
  TM_ASSIGN_OR_RETURN(auto written, store.Write(batch));
  (void)written;
  return w.inc;
}

}  // namespace

std::string IncidentSummary::ToJson() const {
  json j;
  j["anomalies_grouped"] = anomalies_grouped;
  j["opened"] = opened;
  j["joined"] = joined;
  j["resolved"] = resolved;
  j["alerts_enqueued"] = alerts_enqueued;
  return j.dump();
}

Result<IncidentSummary> UpdateIncidents(catalog::Store& store, const model::Clock& clock,
                                        const RoutingConfig& routing,
                                        const IncidentOptions& options) {
  Updater updater(store, clock.Now(), routing, options);
  return updater.Run();
}

Result<model::Incident> AcknowledgeIncident(catalog::Store& store, const model::Clock& clock,
                                            std::string_view id, std::string_view who,
                                            const RoutingConfig& routing) {
  return Transition(store, clock, id, who, routing, false);
}

Result<model::Incident> ResolveIncident(catalog::Store& store, const model::Clock& clock,
                                        std::string_view id, std::string_view who,
                                        const RoutingConfig& routing) {
  return Transition(store, clock, id, who, routing, true);
}

std::string IncidentToJson(const model::Incident& i) {
  json j;
  j["id"] = i.id;
  j["root"] = i.root.ToString();
  j["state"] = model::IncidentStateName(i.state);
  j["severity"] = model::SeverityName(i.severity);
  j["title"] = i.title;
  j["opened_at"] = Ts(i.opened_at);
  j["updated_at"] = Ts(i.updated_at);
  j["acknowledged_at"] = i.acknowledged_at ? json(Ts(*i.acknowledged_at)) : json();
  j["resolved_at"] = i.resolved_at ? json(Ts(*i.resolved_at)) : json();
  json props = json::parse(i.properties.empty() ? "{}" : i.properties, nullptr, false);
  j["properties"] = props.is_object() ? props : json::object();
  return j.dump();
}

}  // namespace tidemark::pipeline
