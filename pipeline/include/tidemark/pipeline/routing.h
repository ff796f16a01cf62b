#pragma once

// Routing: which channels an incident reaches, and why.
//
// Routes are tried in order (as Alertmanager does): the first route whose every set condition
// matches the incident sends it to its channels, and later routes are tried too only when the
// matching route says `continue`. Conditions: owner ids, teams (owners of kind team), tags of
// the root asset, asset key globs (`*` any run of characters, `?` one), asset kinds, detectors
// among the symptoms, and a minimum severity. When no route matches, the incident goes to the
// channel named by the root asset's dbt `meta.alert_channel`, else to its owners' channels
// (Owner.channel), else to the catch-all `default_channel`. A channel name that is not
// configured is skipped, with the reason saying so.
//
// Channel URLs and secrets are secrets: Channel::Redacted() is what logs and APIs may show.
//
// Thread-safety: the types are plain values; the functions are pure except GatherFacts and
// GatherFactsMany, which read the store.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tidemark/catalog/store.h"
#include "tidemark/model/asset.h"
#include "tidemark/model/incident.h"
#include "tidemark/model/status.h"

namespace tidemark::pipeline {

// kFile is the local channel: alerts appended to a JSON Lines file on this machine (the
// demo's alert log; an audit trail), never a chat.
enum class ChannelKind { kSlack, kTeams, kWebhook, kFile };
std::string_view ChannelKindName(ChannelKind kind);  // "slack", "teams", "webhook", "file"
std::optional<ChannelKind> ParseChannelKind(std::string_view name);
// True for channels that do not reach people's chat (kFile).
bool IsLocal(ChannelKind kind);

struct Channel {
  std::string name;
  ChannelKind kind = ChannelKind::kWebhook;
  std::string url;          // secret; kFile: the path of the file alerts are appended to
  std::string secret;       // webhook only: the HMAC-SHA256 key; secret
  std::chrono::milliseconds timeout{10000};
  // Extra CA file (PEM) trusted besides the system store, for self-hosted receivers.
  std::string ca_file;
  // The URL with its path and query replaced by "***" (https://hooks.slack.com/***).
  std::string RedactedUrl() const;
};

struct Route {
  std::string name;                    // for explanations; "routes[0]" when unnamed
  std::vector<std::string> owners;     // owner ids: "user:jane@shop.com", "team:finance"
  std::vector<std::string> teams;      // team names or ids
  std::vector<std::string> tags;
  std::vector<std::string> assets;     // globs over the root's key string
  std::vector<std::string> kinds;      // asset kinds: "table", "source", ...
  std::vector<std::string> detectors;  // "volume", "freshness", "schema", "dbt_test", "run"
  std::optional<model::Severity> min_severity;
  std::vector<std::string> channels;
  bool continue_matching = false;
};

struct RoutingConfig {
  std::vector<Channel> channels;
  std::vector<Route> routes;
  std::string default_channel;  // catch-all; empty: none
  // Link base for asset pages and ack links in messages ("https://tidemark.example.com").
  std::string base_url;
  const Channel* FindChannel(std::string_view name) const;
};

// What routing looks at.
struct IncidentFacts {
  model::AssetKey root;
  std::string kind;                      // the root's kind name
  std::vector<std::string> owner_ids;
  std::vector<std::string> teams;        // team owners' ids and names
  std::vector<std::string> owner_channels;
  std::vector<std::string> tags;
  std::string meta_channel;              // dbt meta.alert_channel of the root
  std::vector<std::string> detectors;
  model::Severity severity = model::Severity::kWarn;
};

struct RouteTarget {
  std::string channel;
  std::string reason;  // "route finance-critical matched (team=finance, severity>=error)"
};

// The channels `facts` reaches, in order, without repeats; `skipped` (optional) receives the
// reasons of candidates that were not configured.
std::vector<RouteTarget> ResolveRoutes(const RoutingConfig& config, const IncidentFacts& facts,
                                       std::vector<std::string>* skipped = nullptr);

// Reads the root asset's kind, tags, owners and meta. NotFound when the asset is unknown.
model::Result<IncidentFacts> GatherFacts(catalog::Store& store, const model::AssetKey& root);
// GatherFacts for several roots in two reads, in their order; nullopt for an unknown asset.
model::Result<std::vector<std::optional<IncidentFacts>>> GatherFactsMany(
    catalog::Store& store, const std::vector<model::AssetKey>& roots);

// True when `text` matches the glob `pattern` (`*`, `?`).
bool GlobMatch(std::string_view pattern, std::string_view text);

}  // namespace tidemark::pipeline
