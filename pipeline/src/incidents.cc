#include "tidemark/pipeline/incidents.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <nlohmann/json.hpp>
#include <random>
#include <set>
#include <span>
#include <thread>
#include <tuple>
#include <utility>

namespace tidemark::pipeline {
namespace {

using json = nlohmann::json;
using model::AssetKey;
using model::Result;
using model::Status;
using model::Timestamp;

constexpr size_t kShownSymptoms = 5;
// Every write of incident decisions expects the version it read and bumps it (optimistic
// concurrency): two instances grouping at once cannot both act on the same view.
constexpr char kVersionScope[] = "incidents";
constexpr char kVersionKey[] = "version";
constexpr int kConflictAttempts = 5;
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

// An incident's symptoms (an empty array when it has none).
const json& SymptomsOf(const json& props) {
  static const json kNone = json::array();
  auto it = props.find("symptoms");
  return it != props.end() && it->is_array() ? *it : kNone;
}

// The detectors among an incident's symptoms.
std::set<std::string> SymptomDetectors(const json& props) {
  std::set<std::string> out;
  for (const json& s : SymptomsOf(props)) {
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

// The incidents' version as stored ("" before the first decision).
Result<std::string> ReadVersion(catalog::Store& store) {
  auto c = store.GetCheckpoint(kVersionScope, kVersionKey);
  if (c.status().IsNotFound()) return std::string();
  TM_RETURN_IF_ERROR(c.status());
  return c->value;
}

// Makes `batch` apply only over `version`, and bump it.
void GuardWithVersion(catalog::WriteBatch& batch, const std::string& version) {
  long long n = 0;
  if (!version.empty()) n = std::strtoll(version.c_str(), nullptr, 10);
  batch.ExpectCheckpoint(kVersionScope, kVersionKey, version);
  batch.PutCheckpoint({kVersionScope, kVersionKey, std::to_string(n + 1), {}});
}

// Runs `attempt` again while it fails because another writer changed the incidents since it
// read them (AlreadyExists from a guarded write). Between attempts it waits a random few
// milliseconds, growing with each attempt, so that two writers that keep colliding fall out of
// step instead of colliding again.
template <typename Fn>
auto RetryOnConflict(Fn attempt) -> decltype(attempt()) {
  thread_local std::minstd_rand jitter(std::random_device{}());
  for (int i = 1;; ++i) {
    auto result = attempt();
    if (result.ok() || result.status().code() != model::StatusCode::kAlreadyExists ||
        i >= kConflictAttempts) {
      return result;
    }
    std::uniform_int_distribution<int> ms(1, 5 * i);
    std::this_thread::sleep_for(std::chrono::milliseconds(ms(jitter)));
  }
}

// Adjacency lists in one array: the neighbours of node n are to[at[n]] .. to[at[n + 1] - 1];
// nodes past those built have none.
struct Adjacency {
  std::vector<uint32_t> at{0}, to;

  // From `edges` (from, to) over `nodes` nodes; `reverse` follows them backwards.
  void Build(size_t nodes, const std::vector<std::pair<uint32_t, uint32_t>>& edges,
             bool reverse) {
    at.assign(nodes + 1, 0);
    for (const auto& e : edges) ++at[(reverse ? e.second : e.first) + 1];
    for (size_t n = 0; n < nodes; ++n) at[n + 1] += at[n];
    to.resize(edges.size());
    std::vector<uint32_t> fill(at.begin(), at.end() - 1);
    for (const auto& e : edges) {
      to[fill[reverse ? e.second : e.first]++] = reverse ? e.first : e.second;
    }
  }
  std::span<const uint32_t> operator[](uint32_t n) const {
    if (n + 1 >= at.size()) return {};
    return {to.data() + at[n], to.data() + at[n + 1]};
  }
};

// The nodes of `g` (WalkLineage's answer for `starts`) that are starts: a walk lists the
// starts it found first, in their order.
std::map<AssetKey, uint32_t> StartNodes(const catalog::LineageSubgraph& g,
                                        const std::vector<AssetKey>& starts) {
  std::map<AssetKey, uint32_t> out;
  uint32_t next = 0;
  for (const AssetKey& k : starts) {
    if (next < g.keys.size() && g.keys[next] == k) out.emplace(k, next++);
  }
  if (out.size() == starts.size()) return out;
  // Some start is unknown, or listed elsewhere: look every start up.
  std::set<AssetKey> wanted(starts.begin(), starts.end());
  out.clear();
  for (uint32_t i = 0; i < g.keys.size(); ++i) {
    if (wanted.count(g.keys[i])) out.emplace(g.keys[i], i);
  }
  return out;
}

// The lineage one grouping run needs, read in bulk — Store::WalkLineage reads one round per
// hop for every start at once, where walking per asset cost one read per node visited — and
// walked in memory. Node ids index the loaded keys, but only the starts' keys are looked up:
// any other key gets an isolated id (every key grouping asks about is a start, except an open
// incident's assets, which matter only where an anomaly, a start, is).
class LineageIndex {
 public:
  explicit LineageIndex(catalog::Store& store) : store_(store) {}

  // Everything within `depth` hops upstream of `starts`: the anomalies' assets and the open
  // incidents' roots, so that "X is upstream of root R" is answered by walking down from X
  // inside what was loaded (every path of at most `depth` hops into R was loaded from R).
  // `starts` are sorted and unique.
  Status LoadUpstream(const std::vector<AssetKey>& starts, int depth) {
    depth_ = depth;
    TM_ASSIGN_OR_RETURN(catalog::LineageSubgraph g,
                        store_.WalkLineage(starts, catalog::Direction::kUpstream, depth,
                                           kMaxLoaded));
    ids_ = StartNodes(g, starts);
    nodes_ = g.keys.size();
    ups_.Build(nodes_, g.edges, true);
    downs_.Build(nodes_, g.edges, false);
    return Status::Ok();
  }

  uint32_t Node(const AssetKey& key) {
    auto [it, added] = ids_.try_emplace(key, static_cast<uint32_t>(nodes_));
    if (added) ++nodes_;
    return it->second;
  }
  size_t size() const { return nodes_; }

  // Calls `visit` with each node at most `depth` hops upstream of `n` (n excluded).
  template <typename Fn>
  void Up(uint32_t n, Fn visit) { Bfs(ups_, n, depth_, visit); }
  // Calls `visit` with each loaded node at most `depth` hops downstream of `n` (n excluded).
  template <typename Fn>
  void DownLoaded(uint32_t n, Fn visit) { Bfs(downs_, n, depth_, visit); }

  // Everything within `depth` hops downstream of `roots` (sorted and unique), for their impact.
  Status LoadDownstream(const std::vector<AssetKey>& roots, int depth) {
    TM_ASSIGN_OR_RETURN(impact_, store_.WalkLineage(roots, catalog::Direction::kDownstream,
                                                    depth, kMaxLoaded));
    impact_ids_ = StartNodes(impact_, roots);
    impact_downs_.Build(impact_.keys.size(), impact_.edges, false);
    impact_depth_ = depth;
    return Status::Ok();
  }
  // How many assets lie downstream of `root` (one of those LoadDownstream loaded from), and the
  // first `first` of them ordered by key, as indexes into impact().
  size_t Downstream(const AssetKey& root, size_t first, std::vector<uint32_t>& out) {
    out.clear();
    auto it = impact_ids_.find(root);
    if (it == impact_ids_.end()) return 0;
    Bfs(impact_downs_, it->second, impact_depth_, [&](uint32_t n) { out.push_back(n); });
    const size_t count = out.size();
    const auto by_key = [&](uint32_t x, uint32_t y) { return impact_.keys[x] < impact_.keys[y]; };
    const auto mid = out.begin() + static_cast<std::ptrdiff_t>(std::min(first, count));
    std::partial_sort(out.begin(), mid, out.end(), by_key);
    out.erase(mid, out.end());
    return count;
  }
  const catalog::LineageSubgraph& impact() const { return impact_; }

 private:
  // Caps what one run holds in memory; past it, closures are partial.
  static constexpr size_t kMaxLoaded = 2'000'000;

  // Breadth first from `start` over `adj`, at most `depth` hops and kMaxVisited nodes.
  template <typename Fn>
  void Bfs(const Adjacency& adj, uint32_t start, int depth, Fn visit) {
    if (seen_.size() <= std::max<size_t>(start, adj.at.size())) {
      seen_.resize(std::max<size_t>(start + 1, adj.at.size()), 0);
    }
    ++stamp_;
    seen_[start] = stamp_;
    size_t visited = 0;
    frontier_.assign(1, start);
    for (int d = 0; d < depth && !frontier_.empty(); ++d) {
      next_.clear();
      for (uint32_t n : frontier_) {
        for (uint32_t m : adj[n]) {
          if (seen_[m] == stamp_) continue;
          seen_[m] = stamp_;
          next_.push_back(m);
          visit(m);
          if (++visited >= kMaxVisited) return;
        }
      }
      frontier_.swap(next_);
    }
  }

  catalog::Store& store_;
  int depth_ = 0;
  std::map<AssetKey, uint32_t> ids_;  // of the starts, and of keys asked about since
  size_t nodes_ = 0;
  Adjacency ups_, downs_;
  catalog::LineageSubgraph impact_;
  std::map<AssetKey, uint32_t> impact_ids_;
  Adjacency impact_downs_;
  int impact_depth_ = 0;
  std::vector<uint32_t> seen_;  // BFS marks: == stamp_ when seen in the current walk
  std::vector<uint32_t> frontier_, next_;
  uint32_t stamp_ = 0;
};

// An incident being worked on, with its properties parsed.
struct Working {
  model::Incident inc;
  json props;
  std::set<AssetKey> assets;
  std::set<std::string> detectors;     // of its symptoms
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
  w.detectors = SymptomDetectors(w.props);
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
    auto facts = FactsFor(w.inc.root);
    if (facts.ok()) {
      facts->severity = w.inc.severity;
      for (const json& s : SymptomsOf(w.props)) {
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

  // Reads the routing facts of `roots` at once, for the Announce calls that follow.
  Status Prefetch(std::vector<AssetKey> roots) {
    std::sort(roots.begin(), roots.end());
    roots.erase(std::unique(roots.begin(), roots.end()), roots.end());
    if (roots.empty()) return Status::Ok();
    TM_ASSIGN_OR_RETURN(auto facts, GatherFactsMany(store_, roots));
    for (size_t i = 0; i < roots.size(); ++i) facts_.emplace(roots[i], std::move(facts[i]));
    return Status::Ok();
  }

 private:
  // The routing facts of `root`: prefetched, or read now.
  Result<IncidentFacts> FactsFor(const AssetKey& root) {
    auto it = facts_.find(root);
    if (it == facts_.end()) return GatherFacts(store_, root);
    if (!it->second) return Status::NotFound("no asset '" + root.ToString() + "'");
    return *it->second;
  }

  json Payload(const Working& w, const std::string& event, long long seq,
               const std::string& key) const {
    const std::string base = routing_.base_url;
    json symptoms = json::array();
    const json& all = SymptomsOf(w.props);
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
  std::map<AssetKey, std::optional<IncidentFacts>> facts_;  // prefetched; nullopt: unknown
};

// What recovery looks at in a symptom.
struct Symptom {
  std::string detector, metric;
  Timestamp ts{};
  std::optional<AssetKey> key;
};

Symptom ParseSymptom(const json& s, Timestamp now) {
  return {s.value("detector", ""), s.value("metric", ""), ParseTs(s.value("ts", json()), now),
          AssetKey::Parse(s.value("asset", ""))};
}

// The points that decide whether `s` recovered, when points decide it: those after it, or
// for a late update the updates since the day before (one may have landed since).
std::optional<catalog::SeriesRange> RecoveryRange(const Symptom& s, Timestamp now) {
  if (!s.key) return std::nullopt;
  if (s.detector != "volume" && s.detector != "column_metric" && s.detector != "freshness") {
    return std::nullopt;
  }
  const bool late_update = s.detector == "freshness" && s.metric == model::kMetricLastModified;
  const Timestamp from =
      late_update ? s.ts - std::chrono::days(1) : s.ts + std::chrono::microseconds(1);
  return catalog::SeriesRange{*s.key, s.metric, from, now + std::chrono::microseconds(1)};
}

using RangeKey = std::tuple<AssetKey, std::string, Timestamp, Timestamp>;
RangeKey KeyOf(const catalog::SeriesRange& r) { return {r.key, r.metric, r.from, r.to}; }

class Updater {
 public:
  Updater(catalog::Store& store, Timestamp now, const RoutingConfig& routing,
          const IncidentOptions& options)
      : store_(store), now_(now), options_(options), lineage_(store),
        announcer_(store, routing, now) {}

  Result<IncidentSummary> Run();

 private:
  Status LoadOpen();
  void Index(size_t i);
  Status Group(const model::Anomaly& a);
  Status Impact(Working& w);
  void RememberFlagged(const std::vector<model::Anomaly>& recent, size_t limit);
  Status PrefetchRecovery();
  Result<model::Series> SeriesOf(const catalog::SeriesRange& range);
  Result<bool> FlaggedAmong(const Symptom& s, Timestamp after, std::span<const Timestamp> ts);
  Result<bool> Recovered(const json& symptom);
  Status Advance(Working& w);
  Status Save(Working& w, catalog::WriteBatch& batch);

  catalog::Store& store_;
  const Timestamp now_;
  const IncidentOptions& options_;
  LineageIndex lineage_;
  Announcer announcer_;
  std::vector<Working> working_;
  // Indexes of working_ by node: incidents rooted there, incidents holding that asset.
  std::vector<std::vector<size_t>> by_root_, by_asset_;
  // Files incident `i` under `node` in `by`.
  void File(std::vector<std::vector<size_t>>& by, uint32_t node, size_t i) {
    if (by.size() <= node) by.resize(std::max<size_t>(node + 1, lineage_.size()));
    by[node].push_back(i);
  }
  IncidentSummary summary_;
  // Recovery reads, done in bulk before the incidents advance: series by range, and the
  // anomalies flagged since flagged_since_ by (asset, metric) when that list is complete.
  std::map<RangeKey, model::Series> series_;
  std::map<std::pair<AssetKey, std::string>, std::set<Timestamp>> flagged_;
  std::optional<Timestamp> flagged_since_;
};

Status Updater::LoadOpen() {
  for (auto state : {model::IncidentState::kOpen, model::IncidentState::kAcknowledged}) {
    TM_ASSIGN_OR_RETURN(auto list, store_.ListIncidents(state, 100000));
    for (model::Incident& i : list) working_.push_back(FromIncident(std::move(i)));
  }
  return Status::Ok();
}

// Files working_[i] under its root and its assets.
void Updater::Index(size_t i) {
  File(by_root_, lineage_.Node(working_[i].inc.root), i);
  for (const AssetKey& k : working_[i].assets) File(by_asset_, lineage_.Node(k), i);
}

// The anomaly joins the first incident (in working_ order) within the window that holds its
// asset or whose root is upstream of it, or that it is upstream of (it then becomes the
// root). Candidates come from the indexes rather than a scan of every incident.
Status Updater::Group(const model::Anomaly& a) {
  const uint32_t node = lineage_.Node(a.asset);
  size_t best = std::numeric_limits<size_t>::max();
  bool best_joins = false;
  // How the anomaly's asset relates to a candidate incident. A symptom on one of its assets or
  // downstream of its root may follow on for `follow_on` (a bad day shows downstream the next
  // morning); one upstream of the root takes it over only within `window`, and only when its
  // kind can explain the incident's symptoms (see Explains).
  enum class Relation { kSameAsset, kDownstreamOfRoot, kUpstreamOfRoot };
  auto consider = [&](uint32_t at, Relation rel, const std::vector<std::vector<size_t>>& by) {
    if (at >= by.size()) return;
    const bool joins = rel != Relation::kUpstreamOfRoot;
    const auto reach = joins ? std::max(options_.window, options_.follow_on) : options_.window;
    for (size_t i : by[at]) {
      const Working& w = working_[i];
      if (i > best || (i == best && best_joins)) continue;
      if (a.ts + options_.window < w.inc.opened_at || a.ts > w.last_symptom + reach) continue;
      if (rel == Relation::kDownstreamOfRoot &&
          !CanCause(w.detectors, {a.detector})) {
        continue;
      }
      if (rel == Relation::kUpstreamOfRoot &&
          !CanCause({a.detector}, w.detectors)) {
        continue;
      }
      best_joins = i == best ? (best_joins || joins) : joins;
      best = i;
    }
  };
  consider(node, Relation::kSameAsset, by_asset_);
  lineage_.Up(node, [&](uint32_t up) { consider(up, Relation::kDownstreamOfRoot, by_root_); });
  lineage_.DownLoaded(node,
                      [&](uint32_t down) { consider(down, Relation::kUpstreamOfRoot, by_root_); });
  Working* target = best < working_.size() ? &working_[best] : nullptr;
  const bool becomes_root = target && !best_joins;
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
    File(by_root_, node, working_.size() - 1);
    ++summary_.opened;
    summary_.opened_ids.push_back(target->inc.id);
  } else {
    ++summary_.joined;
  }
  Working& w = *target;
  const size_t index = static_cast<size_t>(target - working_.data());
  if (becomes_root) {
    auto& old_root = by_root_[lineage_.Node(w.inc.root)];
    old_root.erase(std::remove(old_root.begin(), old_root.end(), index), old_root.end());
    File(by_root_, node, index);
    w.inc.root = a.asset;
    w.inc.title = a.asset.name + ": " + a.explanation;
    w.root_changed = true;
  }
  if (w.assets.insert(a.asset).second) File(by_asset_, node, index);
  w.detectors.insert(a.detector);
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

// Reads the impact from what LineageIndex::LoadDownstream loaded (Run loads it once for every
// incident whose root is new).
Status Updater::Impact(Working& w) {
  std::vector<uint32_t> first;
  const size_t count = lineage_.Downstream(w.inc.root, kKindLookups, first);
  const catalog::LineageSubgraph& g = lineage_.impact();
  std::vector<std::string> exposures, others;
  for (const uint32_t n : first) {
    std::string name = g.names[n].empty() ? g.keys[n].name : g.names[n];
    (g.kinds[n] == model::AssetKindName(model::AssetKind::kExposure) ? exposures : others)
        .push_back(std::move(name));
  }
  json top = json::array();
  for (auto* list : {&exposures, &others}) {
    for (const std::string& n : *list) {
      if (top.size() < options_.impact_top) top.push_back(n);
    }
  }
  w.props["impact"] = {{"downstream_count", count},
                       {"dashboards", exposures.size()},
                       {"top", top}};
  return Status::Ok();
}

// Remembers which points `recent` (every anomaly since now - lookback, at most `limit`)
// flagged, so that recovery checks need not read them again.
void Updater::RememberFlagged(const std::vector<model::Anomaly>& recent, size_t limit) {
  if (recent.size() >= limit) return;  // maybe cut short: recovery reads what it needs
  flagged_since_ = now_ - options_.lookback;
  for (const model::Anomaly& a : recent) flagged_[{a.asset, a.metric}].insert(a.ts);
}

// Reads the series every open symptom's recovery check needs, in one go.
Status Updater::PrefetchRecovery() {
  std::vector<catalog::SeriesRange> ranges;
  std::set<RangeKey> seen;
  for (const Working& w : working_) {
    for (const json& s : SymptomsOf(w.props)) {
      if (s.value("recovered", false)) continue;
      auto range = RecoveryRange(ParseSymptom(s, now_), now_);
      if (range && seen.insert(KeyOf(*range)).second) ranges.push_back(std::move(*range));
    }
  }
  if (ranges.empty()) return Status::Ok();
  TM_ASSIGN_OR_RETURN(auto series, store_.ReadSeriesMany(ranges));
  for (size_t i = 0; i < ranges.size(); ++i) series_.emplace(KeyOf(ranges[i]), std::move(series[i]));
  return Status::Ok();
}

Result<model::Series> Updater::SeriesOf(const catalog::SeriesRange& range) {
  auto it = series_.find(KeyOf(range));
  if (it != series_.end()) return it->second;
  return store_.ReadSeries(range.key, range.metric, range.from, range.to);
}

// Whether an anomaly after `after` flagged any of the points `ts` of s's series.
Result<bool> Updater::FlaggedAmong(const Symptom& s, Timestamp after,
                                   std::span<const Timestamp> ts) {
  std::set<Timestamp> read;  // when the run's own list does not reach back to `after`
  const std::set<Timestamp>* bad = &read;
  if (flagged_since_ && after >= *flagged_since_) {
    auto it = flagged_.find({*s.key, s.metric});
    if (it != flagged_.end()) bad = &it->second;
  } else {
    TM_ASSIGN_OR_RETURN(auto flagged, store_.ListAnomalies({.asset = *s.key, .since = after,
                                                            .incident_id = "", .limit = 100000}));
    for (const model::Anomaly& a : flagged) {
      if (a.metric == s.metric) read.insert(a.ts);
    }
  }
  return std::any_of(ts.begin(), ts.end(), [&](Timestamp t) { return bad->count(t) > 0; });
}

Result<bool> Updater::Recovered(const json& json_symptom) {
  if (json_symptom.value("recovered", false)) return true;
  const Symptom s = ParseSymptom(json_symptom, now_);
  if (!s.key) return true;
  if (auto range = RecoveryRange(s, now_)) {
    TM_ASSIGN_OR_RETURN(model::Series series, SeriesOf(*range));
    if (s.detector == "freshness") {
      if (s.metric != model::kMetricLastModified) return !series.ts.empty();
      const double late_at = static_cast<double>(model::ToMicros(s.ts)) / 1e6;
      return std::any_of(series.values.begin(), series.values.end(),
                         [&](double v) { return v > late_at; });
    }
    // Volume and column metrics: the last recover_points points after it, none flagged.
    const size_t n = static_cast<size_t>(std::max(1, options_.recover_points));
    if (series.ts.size() < n) return false;
    TM_ASSIGN_OR_RETURN(bool flagged,
                        FlaggedAmong(s, range->from, std::span(series.ts).last(n)));
    return !flagged;
  }
  if (s.detector == "dbt_test" || s.detector == "run") {
    TM_ASSIGN_OR_RETURN(auto results, store_.GetRecentResults(*s.key, 200));
    int passes = 0;
    for (const model::NodeResult& r : results) {  // newest first
      if (r.node_id != s.metric) continue;
      std::optional<Timestamp> at = r.completed_at ? r.completed_at : r.started_at;
      if (!at || *at <= s.ts) break;
      if (r.status == "pass" || r.status == "success") {
        if (++passes >= std::max(1, options_.recover_runs)) return true;
      } else {
        return false;
      }
    }
    return false;
  }
  return now_ - s.ts >= options_.schema_quiet;
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
  // Read before anything else, so that any change made after our reads fails our write.
  TM_ASSIGN_OR_RETURN(const std::string version, ReadVersion(store_));
  TM_RETURN_IF_ERROR(LoadOpen());
  constexpr size_t kRecentLimit = 1000000;
  TM_ASSIGN_OR_RETURN(auto recent, store_.ListAnomalies({.asset = std::nullopt,
                                                         .since = now_ - options_.lookback,
                                                         .incident_id = "",
                                                         .limit = kRecentLimit}));
  RememberFlagged(recent, kRecentLimit);
  std::vector<model::Anomaly> pending;
  for (model::Anomaly& a : recent) {
    if (a.incident_id.empty() && a.severity >= options_.min_severity) {
      pending.push_back(std::move(a));
    }
  }
  std::sort(pending.begin(), pending.end(), [](const model::Anomaly& x, const model::Anomaly& y) {
    return std::tie(x.ts, x.id) < std::tie(y.ts, y.id);
  });
  // The lineage of every anomaly and open root, read at once.
  std::vector<AssetKey> starts;
  for (const model::Anomaly& a : pending) starts.push_back(a.asset);
  for (const Working& w : working_) starts.push_back(w.inc.root);
  std::sort(starts.begin(), starts.end());
  starts.erase(std::unique(starts.begin(), starts.end()), starts.end());
  if (!pending.empty()) TM_RETURN_IF_ERROR(lineage_.LoadUpstream(starts, options_.lineage_depth));
  for (size_t i = 0; i < working_.size(); ++i) Index(i);
  for (const model::Anomaly& a : pending) TM_RETURN_IF_ERROR(Group(a));
  std::vector<AssetKey> new_roots;
  for (const Working& w : working_) {
    if (w.opened_now || w.root_changed) new_roots.push_back(w.inc.root);
  }
  std::sort(new_roots.begin(), new_roots.end());
  new_roots.erase(std::unique(new_roots.begin(), new_roots.end()), new_roots.end());
  if (!new_roots.empty()) {
    TM_RETURN_IF_ERROR(lineage_.LoadDownstream(new_roots, options_.impact_depth));
  }
  // Every decision of this run — incidents, anomaly links, alerts — in one transaction: a
  // crash leaves either all of it or none, and the next run decides again the same way.
  TM_RETURN_IF_ERROR(PrefetchRecovery());
  std::vector<AssetKey> announcing;
  for (Working& w : working_) {
    TM_RETURN_IF_ERROR(Advance(w));
    if (!w.events.empty()) announcing.push_back(w.inc.root);
  }
  TM_RETURN_IF_ERROR(announcer_.Prefetch(std::move(announcing)));
  catalog::WriteBatch batch;
  for (Working& w : working_) TM_RETURN_IF_ERROR(Save(w, batch));
  if (!batch.empty()) {
    GuardWithVersion(batch, version);
    TM_ASSIGN_OR_RETURN(auto written, store_.Write(batch));
    (void)written;
  }
  return std::move(summary_);
}

// Loads, transitions and saves one incident by hand.
Result<model::Incident> Transition(catalog::Store& store, const model::Clock& clock,
                                   std::string_view id, std::string_view who,
                                   const RoutingConfig& routing, bool resolve) {
  TM_ASSIGN_OR_RETURN(const std::string version, ReadVersion(store));
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
  GuardWithVersion(batch, version);
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
  return RetryOnConflict([&] {
    Updater updater(store, clock.Now(), routing, options);
    return updater.Run();
  });
}

Result<model::Incident> AcknowledgeIncident(catalog::Store& store, const model::Clock& clock,
                                            std::string_view id, std::string_view who,
                                            const RoutingConfig& routing) {
  return RetryOnConflict([&] { return Transition(store, clock, id, who, routing, false); });
}

Result<model::Incident> ResolveIncident(catalog::Store& store, const model::Clock& clock,
                                        std::string_view id, std::string_view who,
                                        const RoutingConfig& routing) {
  return RetryOnConflict([&] { return Transition(store, clock, id, who, routing, true); });
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
