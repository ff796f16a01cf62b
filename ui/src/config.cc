#include "tidemark/ui/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "ascii.h"
#include "tidemark/ui/redact.h"

namespace tidemark::ui {

using model::Result;
using model::Status;

namespace {

std::string Quoted(std::string_view value) { return "\"" + std::string(value) + "\""; }

std::optional<uint64_t> ParseUnsigned(std::string_view digits) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty()) {
    return std::nullopt;
  }
  return value;
}

// Splits "8MiB" into {"8", "MiB"} (spaces between allowed).
std::pair<std::string_view, std::string_view> SplitNumberAndUnit(std::string_view text) {
  size_t digits = 0;
  while (digits < text.size() && IsAsciiDigit(text[digits])) ++digits;
  std::string_view unit = text.substr(digits);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return {text.substr(0, digits), unit};
}

std::optional<uint64_t> ParseByteSize(std::string_view text) {
  static constexpr std::pair<std::string_view, uint64_t> kUnits[] = {
      {"", 1},          {"B", 1},     {"KiB", 1 << 10},  {"MiB", 1 << 20},
      {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1'000'000}, {"GB", 1'000'000'000}};
  auto [digits, unit] = SplitNumberAndUnit(text);
  std::optional<uint64_t> number = ParseUnsigned(digits);
  if (!number) return std::nullopt;
  for (auto [name, factor] : kUnits) {
    if (unit == name) {
      if (*number > UINT64_MAX / factor) return std::nullopt;
      return *number * factor;
    }
  }
  return std::nullopt;
}

// Each Apply* checks one value and stores it. It returns what is wrong ("expected ..., got
// ...") without saying where: the layer that read the value adds that.
using ApplyFn = std::string (*)(std::string_view value, Config& config);

std::string ApplyDb(std::string_view value, Config& config) {
  // "postgresql:" alone also admits libpq's keyword form ("postgresql:host=... dbname=...").
  bool known = (value.starts_with("sqlite:") && value.size() > 7) ||
               (value.starts_with("postgresql:") && value.size() > 11) ||
               (value.starts_with("postgres://") && value.size() > 11);
  if (!known) {
    return "expected sqlite:PATH or postgresql://..., got " + Quoted(RedactSecrets(value));
  }
  config.db = value;
  return {};
}

std::string ApplyListen(std::string_view value, Config& config) {
  if (!ParseHostPort(value)) return "expected host:port, got " + Quoted(value);
  config.listen = value;
  return {};
}

std::string ApplyLogLevel(std::string_view value, Config& config) {
  static constexpr std::string_view kLevels[] = {"trace", "debug",    "info", "warn",
                                                 "error", "critical", "off"};
  if (std::find(std::begin(kLevels), std::end(kLevels), value) == std::end(kLevels)) {
    return "expected one of trace, debug, info, warn, error, critical, off, got " + Quoted(value);
  }
  config.log_level = value;
  return {};
}

std::string ApplyLogFormat(std::string_view value, Config& config) {
  if (value != "text" && value != "json") return "expected text or json, got " + Quoted(value);
  config.log_format = value;
  return {};
}

std::string ApplyBodyLimit(std::string_view value, Config& config) {
  std::optional<uint64_t> bytes = ParseByteSize(value);
  if (!bytes || *bytes == 0) {
    return "expected a size such as 8MiB or 1048576, got " + Quoted(value);
  }
  config.body_limit_bytes = *bytes;
  return {};
}

std::string ApplyReadTimeout(std::string_view value, Config& config) {
  std::optional<std::chrono::milliseconds> duration = ParseDuration(value);
  if (!duration || duration->count() == 0) {
    return "expected a positive duration such as 30s or 500ms, got " + Quoted(value);
  }
  config.read_timeout = *duration;
  return {};
}

std::string ApplyShutdownGrace(std::string_view value, Config& config) {
  std::optional<std::chrono::milliseconds> duration = ParseDuration(value);
  if (!duration) return "expected a duration such as 10s or 500ms, got " + Quoted(value);
  config.shutdown_grace = *duration;
  return {};
}

std::string ApplyOpenLineageRetention(std::string_view value, Config& config) {
  std::optional<std::chrono::milliseconds> duration = ParseDuration(value);
  // At least a minute: the projector prunes every few minutes, and "0" is more likely a
  // mistake than a wish to keep nothing for diagnostics or replay.
  if (!duration || *duration < std::chrono::minutes(1)) {
    return "expected a duration of at least 1m such as 7d or 36h, got " + Quoted(value);
  }
  config.openlineage_retention = *duration;
  return {};
}

std::string ApplyProjectorPriority(std::string_view value, Config& config) {
  if (value != "background" && value != "normal") {
    return "expected background or normal, got " + Quoted(value);
  }
  config.openlineage_background = value == "background";
  return {};
}

// The schema of everything this module reads: dotted file key, environment variable (empty
// when there is none), and how to apply a value. Groups ("server", "log") are implied by the
// dotted keys.
struct Setting {
  std::string_view key;
  std::string_view env;
  ApplyFn apply;
};

constexpr Setting kSettings[] = {
    {"db", "TIDEMARK_DB", ApplyDb},
    {"server.listen", "TIDEMARK_LISTEN", ApplyListen},
    {"server.body_limit", "", ApplyBodyLimit},
    {"server.read_timeout", "", ApplyReadTimeout},
    {"server.shutdown_grace", "", ApplyShutdownGrace},
    {"log.level", "TIDEMARK_LOG_LEVEL", ApplyLogLevel},
    {"log.format", "TIDEMARK_LOG_FORMAT", ApplyLogFormat},
    {"openlineage.retention", "", ApplyOpenLineageRetention},
    {"openlineage.projector_priority", "", ApplyProjectorPriority},
};

const Setting* FindSetting(std::string_view key) {
  for (const Setting& setting : kSettings) {
    if (setting.key == key) return &setting;
  }
  return nullptr;
}

bool IsGroup(std::string_view key) {
  for (const Setting& setting : kSettings) {
    if (setting.key.starts_with(key) && setting.key.size() > key.size() &&
        setting.key[key.size()] == '.') {
      return true;
    }
  }
  return false;
}

bool IsReservedSection(std::string_view key) {
  return std::find(std::begin(kReservedSections), std::end(kReservedSections), key) !=
         std::end(kReservedSections);
}

// "db, server, log, sources, ..." for the root, "listen, body_limit, ..." inside "server".
std::string KeysUnder(std::string_view prefix) {
  std::vector<std::string_view> keys;
  for (const Setting& setting : kSettings) {
    std::string_view key = setting.key;
    if (!prefix.empty()) {
      if (!key.starts_with(prefix) || key.size() <= prefix.size() || key[prefix.size()] != '.') {
        continue;
      }
      key.remove_prefix(prefix.size() + 1);
    }
    key = key.substr(0, key.find('.'));
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
  }
  if (prefix.empty())
    keys.insert(keys.end(), std::begin(kReservedSections), std::end(kReservedSections));
  std::string out;
  for (std::string_view key : keys) out += (out.empty() ? "" : ", ") + std::string(key);
  return out;
}

std::string_view NodeKind(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return "a mapping";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "a single value";
    default:
      return "nothing";
  }
}

// Applies one YAML document over a Config, turning every problem into a Status that points
// at the key's line.
class FileLayer {
 public:
  FileLayer(std::string_view file_name, Config& config) : file_name_(file_name), config_(config) {}

  Status Apply(const YAML::Node& root) {
    if (root.IsNull()) return Status::Ok();  // an empty file: nothing to change
    if (!root.IsMap()) {
      return Error(root, "expected a mapping of keys (" + KeysUnder("") + "), got " +
                             std::string(NodeKind(root)));
    }
    return ApplyMap(root, "");
  }

 private:
  Status ApplyMap(const YAML::Node& map, const std::string& prefix) {
    for (const auto& item : map) {
      const YAML::Node& key_node = item.first;
      const YAML::Node& value = item.second;
      if (!key_node.IsScalar()) return Error(key_node, "keys must be plain words");
      const std::string key = prefix.empty() ? key_node.Scalar() : prefix + "." + key_node.Scalar();
      if (prefix.empty() && IsReservedSection(key)) {
        config_.sections.push_back(key);
      } else if (const Setting* setting = FindSetting(key)) {
        TM_RETURN_IF_ERROR(ApplySetting(*setting, key_node, value));
      } else if (IsGroup(key)) {
        if (value.IsNull()) continue;  // "server:" with nothing under it keeps the defaults
        if (!value.IsMap()) {
          return Error(key_node, key + ": expected a mapping of keys (" + KeysUnder(key) +
                                     "), got " + std::string(NodeKind(value)));
        }
        TM_RETURN_IF_ERROR(ApplyMap(value, key));
      } else {
        return Error(key_node, "unknown key " + Quoted(key) +
                                   " (expected one of: " + KeysUnder(prefix) + ")");
      }
    }
    return Status::Ok();
  }

  Status ApplySetting(const Setting& setting, const YAML::Node& key_node, const YAML::Node& value) {
    const std::string key(setting.key);
    if (!value.IsScalar()) {
      return Error(key_node,
                   key + ": expected a single value, got " + std::string(NodeKind(value)));
    }
    std::string problem = setting.apply(value.Scalar(), config_);
    if (!problem.empty()) return Error(key_node, key + ": " + problem);
    return Status::Ok();
  }

  // Errors point at the key's line: that is where a reader looks, and a missing value has no
  // useful mark of its own.
  Status Error(const YAML::Node& node, std::string message) const {
    return Status::InvalidArgument(std::move(message), Where(node.Mark()));
  }

  std::string Where(const YAML::Mark& mark) const {
    if (mark.is_null()) return std::string(file_name_);
    return std::string(file_name_) + ":" + std::to_string(mark.line + 1);
  }

  std::string_view file_name_;
  Config& config_;
};

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::InvalidArgument("cannot read config file: " + std::string(std::strerror(errno)),
                                   path);
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::InvalidArgument("cannot read config file", path);
  return text.str();
}

// Applies one named value from the environment or the command line; `where` names its origin.
Status ApplyNamed(std::string_view key, const std::string& value, std::string_view where,
                  Config& config) {
  const Setting* setting = FindSetting(key);
  std::string problem = setting->apply(value, config);
  if (!problem.empty()) return Status::InvalidArgument(std::move(problem), std::string(where));
  return Status::Ok();
}

}  // namespace

std::optional<std::chrono::milliseconds> ParseDuration(std::string_view text) {
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}, {"d", 86'400'000}};
  auto [digits, unit] = SplitNumberAndUnit(text);
  std::optional<uint64_t> number = ParseUnsigned(digits);
  if (!number || *number > 1'000'000'000) return std::nullopt;  // ~11 days in ms, or 1e9 d
  for (auto [name, factor] : kUnits) {
    if (unit == name) return std::chrono::milliseconds(static_cast<int64_t>(*number) * factor);
  }
  return std::nullopt;
}

bool Config::HasSection(std::string_view name) const {
  return std::find(sections.begin(), sections.end(), name) != sections.end();
}

EnvLookup ProcessEnvironment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
  };
}

Result<Config> ParseConfig(std::string_view text, std::string_view file_name, Config base) {
  try {
    YAML::Node root = YAML::Load(std::string(text));
    TM_RETURN_IF_ERROR(FileLayer(file_name, base).Apply(root));
    return base;
  } catch (const YAML::Exception& e) {
    std::string where(file_name);
    if (!e.mark.is_null()) where += ":" + std::to_string(e.mark.line + 1);
    return Status::InvalidArgument("invalid YAML: " + e.msg, where);
  }
}

Result<Config> LoadConfig(const ConfigOverrides& flags, const EnvLookup& env) {
  Config config;
  std::optional<std::string> file = flags.config_file ? flags.config_file : env("TIDEMARK_CONFIG");
  if (file) {
    TM_ASSIGN_OR_RETURN(std::string text, ReadFile(*file));
    TM_ASSIGN_OR_RETURN(config, ParseConfig(text, *file, std::move(config)));
    config.file = *file;
    config.file_text = std::move(text);
  }
  for (const Setting& setting : kSettings) {
    if (setting.env.empty()) continue;
    std::string name(setting.env);
    if (std::optional<std::string> value = env(name)) {
      TM_RETURN_IF_ERROR(ApplyNamed(setting.key, *value, name, config));
    }
  }
  struct Flag {
    const std::optional<std::string>& value;
    std::string_view key;
    std::string_view name;
  };
  const Flag kFlags[] = {{flags.db, "db", "--db"},
                         {flags.listen, "server.listen", "--listen"},
                         {flags.log_level, "log.level", "--log-level"},
                         {flags.log_format, "log.format", "--log-format"}};
  for (const Flag& flag : kFlags) {
    if (flag.value) TM_RETURN_IF_ERROR(ApplyNamed(flag.key, *flag.value, flag.name, config));
  }
  return config;
}

std::optional<HostPort> ParseHostPort(std::string_view text) {
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;  // an IPv6 address needs brackets: "[::1]:8080"
  }
  if (host.empty() || port_text.size() > 5) return std::nullopt;
  std::optional<uint64_t> port = ParseUnsigned(port_text);
  if (!port || *port > 65535) return std::nullopt;
  return HostPort{std::string(host), static_cast<uint16_t>(*port)};
}

}  // namespace tidemark::ui
