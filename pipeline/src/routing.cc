#include "tidemark/pipeline/routing.h"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace tidemark::pipeline {
namespace {

bool AnyIn(const std::vector<std::string>& wanted, const std::vector<std::string>& have) {
  for (const std::string& w : wanted) {
    if (std::find(have.begin(), have.end(), w) != have.end()) return true;
  }
  return false;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const std::string& s : v) out += (out.empty() ? "" : "|") + s;
  return out;
}

// Nullopt when the route does not match, else the conditions that made it match.
std::optional<std::string> Matches(const Route& r, const IncidentFacts& f) {
  std::vector<std::string> why;
  if (!r.owners.empty()) {
    if (!AnyIn(r.owners, f.owner_ids)) return std::nullopt;
    why.push_back("owner=" + Join(r.owners));
  }
  if (!r.teams.empty()) {
    if (!AnyIn(r.teams, f.teams)) return std::nullopt;
    why.push_back("team=" + Join(r.teams));
  }
  if (!r.tags.empty()) {
    if (!AnyIn(r.tags, f.tags)) return std::nullopt;
    why.push_back("tag=" + Join(r.tags));
  }
  if (!r.assets.empty()) {
    const std::string key = f.root.ToString();
    bool any = std::any_of(r.assets.begin(), r.assets.end(),
                           [&](const std::string& g) { return GlobMatch(g, key); });
    if (!any) return std::nullopt;
    why.push_back("asset~" + Join(r.assets));
  }
  if (!r.kinds.empty()) {
    if (std::find(r.kinds.begin(), r.kinds.end(), f.kind) == r.kinds.end()) return std::nullopt;
    why.push_back("kind=" + Join(r.kinds));
  }
  if (!r.detectors.empty()) {
    if (!AnyIn(r.detectors, f.detectors)) return std::nullopt;
    why.push_back("detector=" + Join(r.detectors));
  }
  if (r.min_severity) {
    if (f.severity < *r.min_severity) return std::nullopt;
    why.push_back("severity>=" + std::string(model::SeverityName(*r.min_severity)));
  }
  std::string text;
  for (const std::string& w : why) text += (text.empty() ? "" : ", ") + w;
  return text.empty() ? std::string("matches everything") : text;
}

// What routing looks at in `root`'s asset and owners.
IncidentFacts FactsOf(const model::AssetKey& root, const model::Asset& asset,
                      const std::vector<std::pair<model::Owner, std::string>>& owners) {
  IncidentFacts f;
  f.root = root;
  f.kind = std::string(model::AssetKindName(asset.kind));
  f.tags = asset.tags;
  if (!asset.properties.empty()) {
    nlohmann::json p = nlohmann::json::parse(asset.properties, nullptr, false);
    if (p.is_object()) {
      auto meta = p.find("meta");
      if (meta != p.end() && meta->is_object()) {
        auto c = meta->find("alert_channel");
        if (c != meta->end() && c->is_string()) f.meta_channel = c->get<std::string>();
      }
    }
  }
  for (const auto& [owner, role] : owners) {
    f.owner_ids.push_back(owner.id);
    if (owner.kind == model::OwnerKind::kTeam) {
      f.teams.push_back(owner.id);
      if (!owner.name.empty()) f.teams.push_back(owner.name);
      if (owner.id.rfind("team:", 0) == 0) f.teams.push_back(owner.id.substr(5));
    }
    if (!owner.channel.empty()) f.owner_channels.push_back(owner.channel);
  }
  return f;
}

}  // namespace

std::string_view ChannelKindName(ChannelKind kind) {
  switch (kind) {
    case ChannelKind::kSlack: return "slack";
    case ChannelKind::kTeams: return "teams";
    case ChannelKind::kWebhook: return "webhook";
    case ChannelKind::kFile: return "file";
  }
  return "webhook";
}

bool IsLocal(ChannelKind kind) { return kind == ChannelKind::kFile; }

std::optional<ChannelKind> ParseChannelKind(std::string_view name) {
  if (name == "slack") return ChannelKind::kSlack;
  if (name == "teams") return ChannelKind::kTeams;
  if (name == "webhook") return ChannelKind::kWebhook;
  if (name == "file") return ChannelKind::kFile;
  return std::nullopt;
}

std::string Channel::RedactedUrl() const {
  size_t scheme = url.find("://");
  size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path == std::string::npos) return url.empty() ? "" : url + "/***";
  return url.substr(0, path) + "/***";
}

const Channel* RoutingConfig::FindChannel(std::string_view name) const {
  for (const Channel& c : channels) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

bool GlobMatch(std::string_view p, std::string_view t) {
  size_t pi = 0, ti = 0, star = std::string_view::npos, mark = 0;
  while (ti < t.size()) {
    if (pi < p.size() && (p[pi] == '?' || p[pi] == t[ti])) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      mark = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++mark;
    } else {
      return false;
    }
  }
  while (pi < p.size() && p[pi] == '*') ++pi;
  return pi == p.size();
}

std::vector<RouteTarget> ResolveRoutes(const RoutingConfig& config, const IncidentFacts& facts,
                                       std::vector<std::string>* skipped) {
  std::vector<RouteTarget> out;
  auto add = [&](const std::string& channel, const std::string& reason) {
    if (!config.FindChannel(channel)) {
      if (skipped) skipped->push_back("channel '" + channel + "' (" + reason + ") is not configured");
      return false;
    }
    for (const RouteTarget& t : out) {
      if (t.channel == channel) return true;
    }
    out.push_back({channel, reason});
    return true;
  };
  for (size_t i = 0; i < config.routes.size(); ++i) {
    const Route& r = config.routes[i];
    auto why = Matches(r, facts);
    if (!why) continue;
    const std::string name = r.name.empty() ? "routes[" + std::to_string(i) + "]" : r.name;
    for (const std::string& c : r.channels) add(c, "route " + name + " matched (" + *why + ")");
    if (!r.continue_matching) break;
  }
  if (!out.empty()) return out;
  if (!facts.meta_channel.empty() &&
      add(facts.meta_channel, "meta.alert_channel of " + facts.root.ToString())) {
    return out;
  }
  bool any_owner = false;
  for (const std::string& c : facts.owner_channels) {
    any_owner = add(c, "owner's channel") || any_owner;
  }
  if (any_owner) return out;
  if (!config.default_channel.empty()) add(config.default_channel, "catch-all default route");
  return out;
}

model::Result<IncidentFacts> GatherFacts(catalog::Store& store, const model::AssetKey& root) {
  TM_ASSIGN_OR_RETURN(model::Asset asset, store.GetAsset(root));
  TM_ASSIGN_OR_RETURN(auto owners, store.GetOwnersOf(root));
  return FactsOf(root, asset, owners);
}

model::Result<std::vector<std::optional<IncidentFacts>>> GatherFactsMany(
    catalog::Store& store, const std::vector<model::AssetKey>& roots) {
  TM_ASSIGN_OR_RETURN(auto assets, store.GetAssets(roots));
  TM_ASSIGN_OR_RETURN(auto owners, store.GetOwnersOfMany(roots));
  std::vector<std::optional<IncidentFacts>> out(roots.size());
  for (size_t i = 0; i < roots.size(); ++i) {
    if (assets[i]) out[i] = FactsOf(roots[i], *assets[i], owners[i]);
  }
  return out;
}

}  // namespace tidemark::pipeline
