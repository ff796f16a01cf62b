#include "routing_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <optional>

namespace tidemark::ui {
namespace {

using model::Result;
using model::Status;

class Reader {
 public:
  Reader(const Config& config, const EnvLookup& env) : config_(config), env_(env) {}

  Result<AlertingConfig> Read() {
    AlertingConfig all;
    pipeline::RoutingConfig& out = all.routing;
    if (!config_.HasSection("channels") && !config_.HasSection("routes") &&
        !config_.HasSection("detectors")) {
      return all;
    }
    YAML::Node root;
    try {
      root = YAML::Load(config_.file_text);
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument(e.msg, config_.file + ":" + std::to_string(e.mark.line + 1));
    }
    if (YAML::Node channels = root["channels"]; channels) {
      if (!channels.IsMap()) return Error(channels, "channels: expected a map of channel names");
      for (const auto& item : channels) {
        TM_ASSIGN_OR_RETURN(pipeline::Channel c, ReadChannel(item.first, item.second));
        out.channels.push_back(std::move(c));
      }
    }
    if (YAML::Node routes = root["routes"]; routes) {
      if (!routes.IsMap()) return Error(routes, "routes: expected a map (default, base_url, rules)");
      for (const auto& item : routes) {
        const std::string key = item.first.as<std::string>();
        const YAML::Node& v = item.second;
        if (key == "default") {
          TM_ASSIGN_OR_RETURN(out.default_channel, Scalar(item.first, v, "routes.default"));
          if (!out.FindChannel(out.default_channel)) {
            return Error(item.first, "routes.default: unknown channel \"" + out.default_channel + "\"");
          }
        } else if (key == "base_url") {
          TM_ASSIGN_OR_RETURN(out.base_url, Scalar(item.first, v, "routes.base_url"));
        } else if (key == "detect_interval") {
          TM_ASSIGN_OR_RETURN(all.scheduler.detect_interval,
                              Duration(item.first, v, "routes.detect_interval"));
        } else if (key == "delivery") {
          TM_RETURN_IF_ERROR(ReadDelivery(item.first, v, all.scheduler));
        } else if (key == "announce_within") {
          TM_ASSIGN_OR_RETURN(auto d, DurationOrOff(item.first, v, "routes.announce_within"));
          all.scheduler.incidents.announce_within =
              std::chrono::duration_cast<std::chrono::seconds>(d);
        } else if (key == "rules") {
          if (!v.IsSequence()) return Error(item.first, "routes.rules: expected a list");
          for (size_t i = 0; i < v.size(); ++i) {
            TM_ASSIGN_OR_RETURN(pipeline::Route r, ReadRule(v[i], i, out));
            out.routes.push_back(std::move(r));
          }
        } else {
          return Error(item.first, "unknown key \"routes." + key + "\"");
        }
      }
    }
    if (YAML::Node detectors = root["detectors"]; detectors) {
      TM_RETURN_IF_ERROR(ReadDetectors(detectors, all.scheduler));
    }
    return all;
  }

 private:
  // detectors: {backfill_days: N}. The incidents' lookback follows the backfill, so what the
  // backfill finds is grouped.
  Status ReadDetectors(const YAML::Node& body, pipeline::SchedulerOptions& out) {
    if (!body.IsMap()) return Error(body, "detectors: expected a map (backfill_days)");
    for (const auto& item : body) {
      const std::string key = item.first.as<std::string>();
      const std::string path = "detectors." + key;
      if (key != "backfill_days") return Error(item.first, "unknown key \"" + path + "\"");
      TM_ASSIGN_OR_RETURN(std::string t, Scalar(item.first, item.second, path));
      int days = -1;
      size_t used = 0;
      try {
        days = std::stoi(t, &used);
      } catch (const std::exception&) {
        days = -1;
      }
      if (used != t.size() || days < 0 || days > 365) {
        return Error(item.first, path + ": expected 0 to 365 days, got \"" + t + "\"");
      }
      out.detection.backfill = std::chrono::days(days);
      out.incidents.lookback = std::max(out.incidents.lookback,
                                        std::chrono::seconds(std::chrono::days(days)));
    }
    return Status::Ok();
  }

  // A duration, or "0" / "off" for none.
  Result<std::chrono::milliseconds> DurationOrOff(const YAML::Node& key, const YAML::Node& v,
                                                  const std::string& name) {
    if (v.IsScalar() && (v.as<std::string>() == "0" || v.as<std::string>() == "off")) {
      return std::chrono::milliseconds(0);
    }
    return Duration(key, v, name);
  }

  Status Error(const YAML::Node& node, std::string message) const {
    return Status::InvalidArgument(std::move(message),
                                   config_.file + ":" + std::to_string(node.Mark().line + 1));
  }

  Result<std::string> Scalar(const YAML::Node& key, const YAML::Node& v, const std::string& name) {
    if (!v.IsScalar()) return Error(key, name + ": expected a single value");
    return v.as<std::string>();
  }

  // A positive duration as every section takes it (ui::ParseDuration: "250ms", "10s", "5m",
  // "1h", "7d"; a bare number is seconds).
  Result<std::chrono::milliseconds> Duration(const YAML::Node& key, const YAML::Node& v,
                                             const std::string& name) {
    TM_ASSIGN_OR_RETURN(std::string t, Scalar(key, v, name));
    std::optional<std::chrono::milliseconds> d = ParseDuration(t);
    if (!d || d->count() <= 0) {
      return Error(key, name + ": expected a duration like 10s, got \"" + t + "\"");
    }
    return *d;
  }

  Status ReadDelivery(const YAML::Node& key_node, const YAML::Node& body,
                      pipeline::SchedulerOptions& out) {
    if (!body.IsMap()) return Error(key_node, "routes.delivery: expected a map");
    for (const auto& item : body) {
      const std::string key = item.first.as<std::string>();
      const std::string path = "routes.delivery." + key;
      if (key == "interval") {
        TM_ASSIGN_OR_RETURN(out.deliver_interval, Duration(item.first, item.second, path));
      } else if (key == "lease") {
        TM_ASSIGN_OR_RETURN(auto d, Duration(item.first, item.second, path));
        out.delivery.lease = std::max(std::chrono::seconds(1),
                                      std::chrono::duration_cast<std::chrono::seconds>(d));
      } else if (key == "backoff") {
        TM_ASSIGN_OR_RETURN(out.delivery.base_backoff, Duration(item.first, item.second, path));
      } else if (key == "max_attempts") {
        TM_ASSIGN_OR_RETURN(std::string t, Scalar(item.first, item.second, path));
        int n = 0;
        try {
          n = std::stoi(t);
        } catch (const std::exception&) {
          n = 0;
        }
        if (n < 1 || n > 1000) return Error(item.first, path + ": expected 1 to 1000, got \"" + t + "\"");
        out.delivery.max_attempts = n;
      } else {
        return Error(item.first, "unknown key \"" + path + "\"");
      }
    }
    return Status::Ok();
  }

  Result<std::vector<std::string>> List(const YAML::Node& key, const YAML::Node& v,
                                        const std::string& name) {
    if (v.IsScalar()) return std::vector<std::string>{v.as<std::string>()};
    if (!v.IsSequence()) return Error(key, name + ": expected a value or a list");
    std::vector<std::string> out;
    for (const YAML::Node& e : v) {
      if (!e.IsScalar()) return Error(key, name + ": expected a list of values");
      out.push_back(e.as<std::string>());
    }
    return out;
  }

  // A secret from `key` or, indirectly, from the environment variable named by `key_env`.
  Result<std::string> Secret(const YAML::Node& key, const YAML::Node& v, const std::string& name,
                             bool from_env) {
    TM_ASSIGN_OR_RETURN(std::string text, Scalar(key, v, name));
    if (!from_env) return text;
    auto value = env_(text);
    if (!value) return Error(key, name + ": environment variable " + text + " is not set");
    return *value;
  }

  Result<pipeline::Channel> ReadChannel(const YAML::Node& name_node, const YAML::Node& body) {
    pipeline::Channel c;
    c.name = name_node.as<std::string>();
    const std::string at = "channels." + c.name;
    if (!body.IsMap()) return Error(name_node, at + ": expected a map (kind, url, ...)");
    bool has_kind = false;
    std::string file_path;
    for (const auto& item : body) {
      const std::string key = item.first.as<std::string>();
      const std::string path = at + "." + key;
      const YAML::Node& v = item.second;
      if (key == "kind") {
        TM_ASSIGN_OR_RETURN(std::string kind, Scalar(item.first, v, path));
        auto parsed = pipeline::ParseChannelKind(kind);
        if (!parsed) return Error(item.first, path + ": expected slack, teams, webhook or file, got \"" + kind + "\"");
        c.kind = *parsed;
        has_kind = true;
      } else if (key == "url" || key == "url_env") {
        TM_ASSIGN_OR_RETURN(c.url, Secret(item.first, v, path, key == "url_env"));
        if (c.url.rfind("https://", 0) != 0 && c.url.rfind("http://", 0) != 0) {
          return Error(item.first, path + ": expected an https:// URL");
        }
      } else if (key == "path") {  // kind file: where alerts are appended
        TM_ASSIGN_OR_RETURN(file_path, Scalar(item.first, v, path));
        if (file_path.empty()) return Error(item.first, path + ": expected a file path");
      } else if (key == "secret" || key == "secret_env") {
        TM_ASSIGN_OR_RETURN(c.secret, Secret(item.first, v, path, key == "secret_env"));
      } else if (key == "timeout") {
        TM_ASSIGN_OR_RETURN(c.timeout, Duration(item.first, v, path));
      } else if (key == "ca_file") {
        TM_ASSIGN_OR_RETURN(c.ca_file, Scalar(item.first, v, path));
      } else {
        return Error(item.first, "unknown key \"" + path + "\"");
      }
    }
    if (!has_kind) return Error(name_node, at + ": missing kind (slack, teams, webhook or file)");
    if (c.kind == pipeline::ChannelKind::kFile) {
      if (!c.url.empty()) return Error(name_node, at + ": a file channel takes path, not url");
      if (file_path.empty()) return Error(name_node, at + ": missing path");
      c.url = file_path;
      return c;
    }
    if (!file_path.empty()) return Error(name_node, at + ": path is for kind file only");
    if (c.url.empty()) return Error(name_node, at + ": missing url (or url_env)");
    return c;
  }

  Result<pipeline::Route> ReadRule(const YAML::Node& rule, size_t index,
                                   const pipeline::RoutingConfig& so_far) {
    pipeline::Route r;
    const std::string at = "routes.rules[" + std::to_string(index) + "]";
    if (!rule.IsMap()) return Error(rule, at + ": expected a map");
    for (const auto& item : rule) {
      const std::string key = item.first.as<std::string>();
      const std::string path = at + "." + key;
      const YAML::Node& v = item.second;
      if (key == "name") {
        TM_ASSIGN_OR_RETURN(r.name, Scalar(item.first, v, path));
      } else if (key == "owner") {
        TM_ASSIGN_OR_RETURN(r.owners, List(item.first, v, path));
      } else if (key == "team") {
        TM_ASSIGN_OR_RETURN(r.teams, List(item.first, v, path));
      } else if (key == "tag") {
        TM_ASSIGN_OR_RETURN(r.tags, List(item.first, v, path));
      } else if (key == "asset") {
        TM_ASSIGN_OR_RETURN(r.assets, List(item.first, v, path));
      } else if (key == "kind") {
        TM_ASSIGN_OR_RETURN(r.kinds, List(item.first, v, path));
        for (const std::string& k : r.kinds) {
          if (!model::ParseAssetKind(k)) return Error(item.first, path + ": unknown asset kind \"" + k + "\"");
        }
      } else if (key == "detector") {
        TM_ASSIGN_OR_RETURN(r.detectors, List(item.first, v, path));
      } else if (key == "severity") {
        TM_ASSIGN_OR_RETURN(std::string s, Scalar(item.first, v, path));
        r.min_severity = model::ParseSeverity(s);
        if (!r.min_severity) return Error(item.first, path + ": expected info, warn or error, got \"" + s + "\"");
      } else if (key == "channels" || key == "channel") {
        TM_ASSIGN_OR_RETURN(r.channels, List(item.first, v, path));
        for (const std::string& c : r.channels) {
          if (!so_far.FindChannel(c)) return Error(item.first, path + ": unknown channel \"" + c + "\"");
        }
      } else if (key == "continue") {
        TM_ASSIGN_OR_RETURN(std::string s, Scalar(item.first, v, path));
        if (s != "true" && s != "false") return Error(item.first, path + ": expected true or false");
        r.continue_matching = s == "true";
      } else {
        return Error(item.first, "unknown key \"" + path + "\"");
      }
    }
    if (r.channels.empty()) return Error(rule, at + ": missing channels");
    return r;
  }

  const Config& config_;
  const EnvLookup& env_;
};

}  // namespace

Result<AlertingConfig> LoadAlertingConfig(const Config& config, const EnvLookup& env) {
  Reader reader(config, env);
  return reader.Read();
}

Result<pipeline::RoutingConfig> LoadRoutingConfig(const Config& config, const EnvLookup& env) {
  TM_ASSIGN_OR_RETURN(AlertingConfig all, LoadAlertingConfig(config, env));
  return std::move(all.routing);
}

}  // namespace tidemark::ui
