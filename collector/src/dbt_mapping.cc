#include "dbt_mapping.h"

#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "tidemark/model/metric.h"

namespace tidemark::collector::dbt {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

// A user owner named by one string: an email when it has an '@', else a name (a Slack
// handle, a person's name, a team alias: kept as written).
std::optional<OwnerClaim> UserFromString(std::string_view text, std::string_view name = {}) {
  std::string s = Trim(text);
  if (s.empty()) return std::nullopt;
  OwnerClaim claim;
  claim.role = "owner";
  claim.owner.kind = model::OwnerKind::kUser;
  if (s.find('@') != std::string::npos && s.front() != '@') {
    claim.owner.id = "user:" + Lower(s);  // emails compare case-insensitively
    claim.owner.email = s;
    claim.owner.name = name.empty() ? s : std::string(name);
  } else {
    claim.owner.id = "user:" + s;
    claim.owner.name = s;
  }
  return claim;
}

void AddPerson(const PersonRef& person, std::vector<OwnerClaim>* out) {
  if (person.emails.empty()) {
    if (auto c = UserFromString(person.name)) out->push_back(std::move(*c));
    return;
  }
  for (const std::string& email : person.emails) {
    if (auto c = UserFromString(email, person.name)) out->push_back(std::move(*c));
  }
}

PersonRef PersonFromJson(const nlohmann::json& j) {
  PersonRef p;
  if (auto it = j.find("name"); it != j.end() && it->is_string()) p.name = *it;
  if (auto it = j.find("email"); it != j.end()) {
    if (it->is_string()) p.emails.push_back(*it);
    if (it->is_array()) {
      for (const auto& e : *it) {
        if (e.is_string()) p.emails.push_back(e);
      }
    }
  }
  return p;
}

}  // namespace

std::string StripRelationName(std::string_view relation) {
  std::string out;
  out.reserve(relation.size());
  char close = 0;  // the quote that ends the current quoted part, 0 outside quotes
  for (size_t i = 0; i < relation.size(); ++i) {
    char c = relation[i];
    if (close) {
      if (c == close) {
        if (i + 1 < relation.size() && relation[i + 1] == close && close != ']') {
          out += c;  // "" inside "..." is one "
          ++i;
        } else {
          close = 0;
        }
      } else {
        out += c;
      }
    } else if (c == '"' || c == '`') {
      close = c;
    } else if (c == '[') {
      close = ']';
    } else if (!std::isspace(static_cast<unsigned char>(c))) {
      out += c;
    }
  }
  return out;
}

std::string DatasetName(const Node& node) {
  if (!node.relation_name.empty()) {
    std::string stripped = StripRelationName(node.relation_name);
    if (!stripped.empty()) return stripped;
  }
  const std::string& table = node.resource_type == "source"
                                 ? (node.identifier.empty() ? node.name : node.identifier)
                                 : (node.alias.empty() ? node.name : node.alias);
  std::string out;
  for (const std::string* part : {&node.database, &node.schema, &table}) {
    if (part->empty()) continue;
    if (!out.empty()) out += '.';
    out += *part;
  }
  return out;
}

bool IsDataset(const Node& node) {
  const std::string& t = node.resource_type;
  return t == "model" || t == "seed" || t == "snapshot" || t == "source";
}

std::optional<model::AssetKind> AssetKindOf(const Node& node) {
  const std::string& t = node.resource_type;
  if (t == "model") {
    if (node.ephemeral()) return std::nullopt;
    // Views and materialized views are both listed as views by warehouses.
    if (node.materialized == "view" || node.materialized == "materialized_view") {
      return model::AssetKind::kView;
    }
    return model::AssetKind::kTable;
  }
  if (t == "seed" || t == "snapshot") return model::AssetKind::kTable;
  if (t == "source") return model::AssetKind::kSource;
  if (t == "exposure") return model::AssetKind::kExposure;
  // Saved queries are named queries of the semantic layer: metrics, as far as people reading
  // the catalog are concerned.
  if (t == "metric" || t == "semantic_model" || t == "saved_query") {
    return model::AssetKind::kMetric;
  }
  if (t == "analysis") return model::AssetKind::kAnalysis;
  return std::nullopt;
}

std::vector<OwnerClaim> OwnersFromMeta(const nlohmann::json& meta) {
  std::vector<OwnerClaim> out;
  if (!meta.is_object()) return out;
  auto it = meta.find("owner");
  if (it == meta.end()) return out;
  std::function<void(const nlohmann::json&)> add = [&](const nlohmann::json& v) {
    if (v.is_string()) {
      if (auto c = UserFromString(v.get<std::string>())) out.push_back(std::move(*c));
    } else if (v.is_object()) {
      AddPerson(PersonFromJson(v), &out);
    } else if (v.is_array()) {
      for (const auto& e : v) {
        if (!e.is_array()) add(e);  // one level of list only
      }
    }
  };
  add(*it);
  return out;
}

std::vector<OwnerClaim> OwnersFromPeople(const std::vector<PersonRef>& people) {
  std::vector<OwnerClaim> out;
  for (const PersonRef& p : people) AddPerson(p, &out);
  return out;
}

OwnerClaim GroupOwner(std::string_view group, const Group* details) {
  OwnerClaim claim;
  claim.role = "group";
  claim.owner.id = "team:" + std::string(group);
  claim.owner.kind = model::OwnerKind::kTeam;
  claim.owner.name = std::string(group);
  if (details) {
    if (!details->owner.emails.empty()) claim.owner.email = details->owner.emails.front();
    nlohmann::json props = nlohmann::json::object();
    if (!details->owner.name.empty()) props["owner_name"] = details->owner.name;
    if (details->owner.emails.size() > 1) props["owner_emails"] = details->owner.emails;
    if (!details->description.empty()) props["description"] = details->description;
    if (!props.empty()) {
      claim.owner.properties = props.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    }
  }
  return claim;
}

namespace {

std::string PropertiesText(const nlohmann::json& props) {
  return props.is_object() && !props.empty()
             ? props.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)
             : std::string();
}

}  // namespace

std::vector<model::Column> MergeColumns(std::vector<DeclaredColumn> declared,
                                        std::vector<ObservedColumn> observed,
                                        std::vector<std::string>* duplicates) {
  std::vector<model::Column> out;
  out.reserve(declared.size() + observed.size());
  std::unordered_set<std::string_view> seen;  // exact names already emitted
  seen.reserve(declared.size() + observed.size());
  auto emit = [&](model::Column c) {
    // `out` never reallocates (reserved above), so views of its elements' names stay valid.
    if (seen.count(c.name)) {
      if (duplicates) duplicates->push_back(c.name);
      return;
    }
    out.push_back(std::move(c));
    seen.insert(out.back().name);
  };

  std::unordered_map<std::string, size_t> declared_by_name;  // lower-case name -> index
  if (!observed.empty()) {
    for (size_t i = 0; i < declared.size(); ++i) {
      declared_by_name.emplace(Lower(declared[i].name), i);
    }
  }
  std::vector<bool> used(declared.size(), false);
  int last_position = 0;
  for (ObservedColumn& o : observed) {
    model::Column c;
    c.name = std::move(o.name);
    c.position = o.position > 0 ? o.position : last_position + 1;
    last_position = std::max(last_position, c.position);
    c.data_type = std::move(o.data_type);
    nlohmann::json props;
    auto it = declared_by_name.find(Lower(c.name));
    if (it != declared_by_name.end() && !used[it->second]) {
      DeclaredColumn& d = declared[it->second];
      used[it->second] = true;
      c.description = d.description.empty() ? o.comment : std::move(d.description);
      if (c.data_type.empty()) c.data_type = d.data_type;
      c.tags = std::move(d.tags);
      props = std::move(d.properties);
      if (!d.data_type.empty()) props["declared_type"] = d.data_type;
    } else {
      c.description = o.comment;
      props["declared"] = false;
    }
    props["observed"] = true;
    if (!o.comment.empty() && o.comment != c.description) props["comment"] = o.comment;
    c.properties = PropertiesText(props);
    emit(std::move(c));
  }
  for (size_t i = 0; i < declared.size(); ++i) {
    if (used[i]) continue;
    DeclaredColumn& d = declared[i];
    model::Column c;
    c.name = std::move(d.name);
    c.position = ++last_position;
    c.description = std::move(d.description);
    c.tags = std::move(d.tags);
    if (!d.data_type.empty() && !observed.empty()) d.properties["declared_type"] = d.data_type;
    c.data_type = std::move(d.data_type);
    const bool unchanged = observed.empty() && !d.properties_text.empty();
    c.properties = unchanged && d.properties.is_object() && !d.properties.empty()
                       ? std::move(d.properties_text)
                       : PropertiesText(d.properties);
    emit(std::move(c));
  }
  return out;
}

void SplitStoredColumns(const std::vector<model::Column>& stored,
                        std::vector<DeclaredColumn>* declared,
                        std::vector<ObservedColumn>* observed) {
  for (const model::Column& c : stored) {
    nlohmann::json props = nlohmann::json::parse(c.properties.empty() ? "{}" : c.properties,
                                                 nullptr, /*allow_exceptions=*/false);
    if (!props.is_object()) props = nlohmann::json::object();
    bool was_observed = props.value("observed", false);
    bool was_declared = props.value("declared", true);
    if (was_observed && observed) {
      observed->push_back({c.name, c.data_type, props.value("comment", std::string()), c.position});
    }
    if (was_declared && declared) {
      DeclaredColumn d;
      d.name = c.name;
      d.description = c.description;
      d.data_type = was_observed ? props.value("declared_type", std::string()) : c.data_type;
      d.tags = c.tags;
      props.erase("observed");
      props.erase("declared");
      props.erase("declared_type");
      props.erase("comment");
      if (!props.empty()) d.properties = std::move(props);
      declared->push_back(std::move(d));
    }
  }
}

std::optional<StatPoint> StatMetric(const CatalogStat& stat) {
  if (!stat.include || stat.id == "has_stats") return std::nullopt;
  const std::string id = Lower(stat.id);
  if (id == "last_modified") {
    // Snowflake reports it as text ("2024-01-01 12:00UTC"); other adapters as a number.
    std::string_view text = stat.text;
    if (text.size() > 3 && Lower(text.substr(text.size() - 3)) == "utc") {
      text.remove_suffix(3);
    }
    if (auto t = model::ParseTimestamp(text)) {
      return StatPoint{std::string(model::kMetricLastModified),
                       static_cast<double>(model::ToMicros(*t)) / 1e6};
    }
    if (!stat.number) return std::nullopt;
    return StatPoint{std::string(model::kMetricLastModified), *stat.number};
  }
  if (!stat.number) return std::nullopt;
  if (id == "row_count" || id == "num_rows" || id == "rows") {
    return StatPoint{std::string(model::kMetricRowCount), *stat.number};
  }
  if (id == "bytes" || id == "num_bytes") {
    return StatPoint{std::string(model::kMetricBytes), *stat.number};
  }
  return StatPoint{"stat:" + stat.id, *stat.number};
}

std::string Md5Hex(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(text.data(), text.size(), digest, &size, EVP_md5(), nullptr) != 1) return {};
  std::string out;
  char buf[3];
  for (unsigned int i = 0; i < size; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", digest[i]);
    out += buf;
  }
  return out;
}

std::string DigestHex(std::string_view bytes) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016zx", std::hash<std::string_view>{}(bytes));
  return buf;
}

}  // namespace tidemark::collector::dbt
