// manifest.json v1-v12 in one pass.
//
// The walk follows the file's own key order, so dbt Fusion's sorted keys (metadata after
// nodes) read the same as dbt-core's. Fields dbt moved over the years are looked for in each
// place they have lived:
//   meta           node.meta (all versions) and node.config.meta (v5+, the only one in 1.10+)
//   tags           node.tags and node.config.tags
//   group, access  node.group / node.access (v9+) or node.config.*
//   contract       node.contract.enforced (v9+) or node.config.contract.enforced
//   freshness      source.freshness (v1-v12) or source.config.freshness (v12, dbt 1.9+)
//   loaded_at      source.loaded_at_field or source.config.loaded_at_field
//   owner email    a string (v1-v11) or a list of strings (v12)
// What the collector does not use (raw and compiled code, macros, docs, child maps, ...) is
// still walked and checked, so a syntax error anywhere rejects the file.

#include <algorithm>
#include <set>

#include "dbt_artifacts.h"
#include "dbt_mapping.h"

namespace tidemark::collector::dbt {
namespace {

bool IsNullOrEmptyObject(const nlohmann::json& j) {
  return j.is_null() || (j.is_object() && j.empty());
}

// Overlays `over`'s keys on `base` (config.meta wins over meta: it is what dbt itself uses).
void MergeMeta(nlohmann::json& base, nlohmann::json over) {
  if (IsNullOrEmptyObject(over)) return;
  if (IsNullOrEmptyObject(base)) {
    base = std::move(over);
    return;
  }
  base.update(over);
}

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// "{{ get_where_subquery(ref('stg_orders')) }}" -> "stg_orders";
// "{{ source('ecom', 'raw_orders') }}" -> "raw_orders". Empty when neither is found.
std::string TestedName(std::string_view model_arg) {
  auto quoted = [&](size_t from, int nth) -> std::string {
    for (int i = 0; i < nth; ++i) {
      size_t open = model_arg.find_first_of("'\"", from);
      if (open == std::string_view::npos) return {};
      size_t close = model_arg.find(model_arg[open], open + 1);
      if (close == std::string_view::npos) return {};
      if (i + 1 == nth) return std::string(model_arg.substr(open + 1, close - open - 1));
      from = close + 1;
    }
    return {};
  };
  if (size_t ref = model_arg.find("ref("); ref != std::string_view::npos) {
    return quoted(ref + 4, 1);
  }
  if (size_t src = model_arg.find("source("); src != std::string_view::npos) {
    return quoted(src + 7, 2);
  }
  return {};
}

// A freshness rule, or null when it sets nothing (dbt writes the empty rule out in full).
nlohmann::json NormalizeFreshness(nlohmann::json rule) {
  if (!rule.is_object()) return nullptr;
  auto set = [](const nlohmann::json& after) {
    return after.is_object() && after.contains("count") && !after["count"].is_null();
  };
  bool any = set(rule.value("warn_after", nlohmann::json())) ||
             set(rule.value("error_after", nlohmann::json())) ||
             (rule.contains("filter") && !rule["filter"].is_null());
  return any ? rule : nlohmann::json();
}

Status ReadColumns(JsonInput& in_, od::value value, const JsonPath& path,
                   std::vector<ColumnDecl>* out) {
  return in_.ForEachField(value, path, [&](od::field& field) -> Status {
    TM_ASSIGN_OR_RETURN(std::string_view name, in_.UnescapedKey(field));
    std::string key(name);
    JsonPath at(path, key);
    ColumnDecl c;
    nlohmann::json config_meta;
    std::vector<std::string> config_tags;
    TM_ASSIGN_OR_RETURN(od::json_type type, in_.TypeOf(field.value()));
    if (type != od::json_type::object) {
      return in_.Invalid(at, "expected a column object", JsonInput::PositionOf(field.value()));
    }
    TM_RETURN_IF_ERROR(in_.ForEachField(field.value(), at, [&](od::field& f) -> Status {
      std::string_view k = JsonInput::KeyOf(f);
      JsonPath p(at, k);
      od::value v = f.value();
      if (k == "name") {
        TM_ASSIGN_OR_RETURN(std::string_view s, in_.String(v, p));
        c.name = std::string(s);
      } else if (k == "description") {
        TM_ASSIGN_OR_RETURN(std::string_view s, in_.LenientString(v));
        c.description = std::string(s);
      } else if (k == "data_type") {
        TM_ASSIGN_OR_RETURN(std::string_view s, in_.LenientString(v));
        c.data_type = std::string(s);
      } else if (k == "tags") {
        return in_.StringList(v, p, &c.tags);
      } else if (k == "meta") {
        TM_ASSIGN_OR_RETURN(nlohmann::json meta, in_.ObjectDom(v, p));
        MergeMeta(c.meta, std::move(meta));
      } else if (k == "constraints") {
        if (JsonInput::IsEmptyContainer(v)) return in_.SkipValue(v);
        TM_ASSIGN_OR_RETURN(nlohmann::json cons, in_.ToDom(v));
        if (cons.is_array() && !cons.empty()) c.constraints = std::move(cons);
      } else if (k == "config") {
        return in_.ForEachField(v, p, [&](od::field& cf) -> Status {
          std::string_view ck = JsonInput::KeyOf(cf);
          if (ck == "meta") {
            TM_ASSIGN_OR_RETURN(config_meta, in_.ObjectDom(cf.value(), JsonPath(p, ck)));
            return Status::Ok();
          }
          if (ck == "tags") return in_.StringList(cf.value(), JsonPath(p, ck), &config_tags);
          return in_.SkipValue(cf.value());
        });
      } else {
        return in_.SkipValue(v);
      }
      return Status::Ok();
    }));
    if (c.name.empty()) c.name = key;
    MergeMeta(c.meta, std::move(config_meta));
    for (std::string& t : config_tags) {
      if (std::find(c.tags.begin(), c.tags.end(), t) == c.tags.end()) {
        c.tags.push_back(std::move(t));
      }
    }
    out->push_back(std::move(c));
    return Status::Ok();
  });
}

// One node as read, before it is known whether it is an asset or a test.
struct RawNode {
  Node node;
  bool enabled = true;
  nlohmann::json config_meta;
  nlohmann::json source_meta;  // a source table's source-level meta, under its own
  std::vector<std::string> config_tags;
  std::string config_group;
  std::string config_access;
  std::optional<bool> config_contract;
  nlohmann::json config_freshness;
  std::string config_loaded_at_field;
  // tests
  std::string test_name;
  std::string test_namespace;
  std::string test_model_arg;
  std::string test_column;
  std::string column_name;
  std::string attached_node;
  std::string severity;
  std::string unit_test_model;
};

class ManifestParser {
 public:
  explicit ManifestParser(JsonInput& in) : in_(in) {}

  Result<Manifest> Parse() {
    TM_ASSIGN_OR_RETURN(od::object root, in_.Root());
    bool saw_nodes = false;
    for (auto item : root) {
      od::field field;
      if (auto error = std::move(item).get(field)) return in_.SyntaxError(error);
      std::string_view key = JsonInput::KeyOf(field);
      JsonPath path(root_, key);
      if (key == "nodes") {
        saw_nodes = true;
        TM_ASSIGN_OR_RETURN(od::json_type type, in_.TypeOf(field.value()));
        if (type != od::json_type::object) {
          return in_.Invalid(path, "\"nodes\" must be an object of dbt nodes",
                             JsonInput::PositionOf(field.value()));
        }
        TM_RETURN_IF_ERROR(ParseSection(field.value(), path, ""));
      } else if (key == "sources") {
        TM_RETURN_IF_ERROR(ParseSection(field.value(), path, "source"));
      } else if (key == "exposures") {
        TM_RETURN_IF_ERROR(ParseSection(field.value(), path, "exposure"));
      } else if (key == "metrics") {
        TM_RETURN_IF_ERROR(ParseSection(field.value(), path, "metric"));
      } else if (key == "semantic_models") {
        TM_RETURN_IF_ERROR(ParseSection(field.value(), path, "semantic_model"));
      } else if (key == "saved_queries") {
        TM_RETURN_IF_ERROR(ParseSection(field.value(), path, "saved_query"));
      } else if (key == "unit_tests") {
        TM_RETURN_IF_ERROR(ParseSection(field.value(), path, "unit_test"));
      } else if (key == "groups") {
        TM_RETURN_IF_ERROR(ParseGroups(field.value(), path));
      } else {
        // metadata (already read), macros, docs, disabled, selectors, maps: checked, not kept
        TM_RETURN_IF_ERROR(in_.SkipValue(field.value()));
      }
    }
    TM_RETURN_IF_ERROR(in_.ExpectEnd());
    if (!saw_nodes) {
      return in_.Invalid(JsonPath(root_, "nodes"),
                         "not a dbt manifest: it has no \"nodes\" object");
    }
    TM_ASSIGN_OR_RETURN(manifest_.metadata, ReadMetadata(in_));
    manifest_.packages.assign(packages_.begin(), packages_.end());
    return std::move(manifest_);
  }

 private:
  Status ParseSection(od::value value, const JsonPath& path, std::string_view default_type) {
    return in_.ForEachField(value, path, [&](od::field& field) -> Status {
      TM_ASSIGN_OR_RETURN(std::string_view id, in_.UnescapedKey(field));
      std::string key(id);
      return ParseNode(key, field.value(), JsonPath(path, key), default_type);
    });
  }

  Status ParseNode(const std::string& key, od::value value, const JsonPath& path,
                   std::string_view default_type) {
    TM_ASSIGN_OR_RETURN(od::json_type type, in_.TypeOf(value));
    if (type != od::json_type::object) {
      return in_.Invalid(path, "expected a dbt node object", JsonInput::PositionOf(value));
    }
    RawNode raw;
    Node& n = raw.node;
    TM_RETURN_IF_ERROR(in_.ForEachField(
        value, path, [&](od::field& field) -> Status { return ParseNodeField(field, path, raw); }));
    if (n.unique_id.empty()) n.unique_id = key;
    if (n.resource_type.empty()) n.resource_type = std::string(default_type);
    if (n.resource_type.empty()) {
      return in_.Invalid(JsonPath(path, "resource_type"), "the node has no resource_type");
    }
    if (!raw.enabled || !AssetKindOf(n)) {
      // Not mapped, so its columns are not read later: check them now.
      std::vector<ColumnDecl> unused;
      TM_RETURN_IF_ERROR(
          ParseColumns(in_, n.columns_json, columns_parser_, JsonPath(path, "columns"), &unused));
      n.columns_json = {};
    }
    if (!raw.enabled) return Status::Ok();  // disabled: not part of the project

    MergeMeta(n.meta, std::move(raw.config_meta));
    if (!IsNullOrEmptyObject(raw.source_meta)) {
      MergeMeta(raw.source_meta, std::move(n.meta));
      n.meta = std::move(raw.source_meta);
    }
    n.tags.insert(n.tags.end(), raw.config_tags.begin(), raw.config_tags.end());
    if (n.group.empty()) n.group = raw.config_group;
    if (n.access.empty()) n.access = raw.config_access;
    if (!n.contract_enforced) n.contract_enforced = raw.config_contract;
    if (n.freshness.is_null()) n.freshness = std::move(raw.config_freshness);
    n.freshness = NormalizeFreshness(std::move(n.freshness));
    if (n.loaded_at_field.empty()) n.loaded_at_field = raw.config_loaded_at_field;
    if (!n.package_name.empty()) packages_.insert(n.package_name);

    if (n.resource_type == "test" || n.resource_type == "unit_test") {
      manifest_.tests.push_back(MakeTest(std::move(raw)));
    } else {
      manifest_.nodes.push_back(std::move(n));
    }
    return Status::Ok();
  }

  static TestInfo MakeTest(RawNode raw) {
    TestInfo t;
    t.unique_id = std::move(raw.node.unique_id);
    t.attached_node = std::move(raw.attached_node);
    // The parents are only needed to find the tested node when dbt did not name it
    // (attached_node, dbt >= 1.5); a large project has several tests per model.
    if (t.attached_node.empty()) t.depends_on = std::move(raw.node.depends_on);
    t.severity = Lower(raw.severity);
    t.column = !raw.column_name.empty() ? raw.column_name : raw.test_column;
    if (raw.node.resource_type == "unit_test") {
      t.kind = "unit";
      t.test_name = "unit";
      t.tested_name = std::move(raw.unit_test_model);
      return t;
    }
    static const std::set<std::string, std::less<>> kBuiltIn = {"unique", "not_null",
                                                                "relationships", "accepted_values"};
    bool built_in = raw.test_namespace.empty() && kBuiltIn.count(raw.test_name) > 0;
    t.kind = built_in ? raw.test_name : "custom";
    t.test_name =
        raw.test_namespace.empty() ? raw.test_name : raw.test_namespace + "." + raw.test_name;
    t.tested_name = TestedName(raw.test_model_arg);
    return t;
  }

  Status ParseNodeField(od::field& field, const JsonPath& node_path, RawNode& raw) {
    Node& n = raw.node;
    std::string_view key = JsonInput::KeyOf(field);
    JsonPath path(node_path, key);
    od::value value = field.value();
    auto str = [&](std::string* out) -> Status {
      TM_ASSIGN_OR_RETURN(std::string_view s, in_.String(value, path));
      *out = std::string(s);
      return Status::Ok();
    };
    auto text = [&](std::string* out) -> Status {
      TM_ASSIGN_OR_RETURN(std::string_view s, in_.LenientString(value));
      *out = std::string(s);
      return Status::Ok();
    };
    // Identity and placement: their type decides the dataset key, so it is checked.
    if (key == "unique_id") return str(&n.unique_id);
    if (key == "resource_type") return str(&n.resource_type);
    if (key == "name") return str(&n.name);
    if (key == "database") return str(&n.database);
    if (key == "schema") return str(&n.schema);
    if (key == "alias") return str(&n.alias);
    if (key == "identifier") return str(&n.identifier);
    if (key == "relation_name") return str(&n.relation_name);
    if (key == "package_name") return str(&n.package_name);
    if (key == "depends_on") return ParseDependsOn(value, path, &n.depends_on);
    if (key == "columns") {
      // Checked for type here, read when mapped (see Node::columns_json).
      TM_ASSIGN_OR_RETURN(od::json_type type, in_.TypeOf(value));
      if (type == od::json_type::null || JsonInput::IsEmptyContainer(value)) {
        return in_.SkipValue(value);
      }
      if (type != od::json_type::object) {
        return in_.Invalid(path, "expected an object", JsonInput::PositionOf(value));
      }
      od::object obj;
      if (auto error = value.get_object().get(obj)) return in_.SyntaxError(error);
      if (auto error = obj.raw_json().get(n.columns_json)) return in_.SyntaxError(error);
      return Status::Ok();
    }
    if (key == "config") return ParseConfig(value, path, raw);
    if (key == "meta") {
      TM_ASSIGN_OR_RETURN(nlohmann::json meta, in_.ObjectDom(value, path));
      MergeMeta(n.meta, std::move(meta));
      return Status::Ok();
    }
    if (key == "source_meta") {
      TM_ASSIGN_OR_RETURN(raw.source_meta, in_.ObjectDom(value, path));
      return Status::Ok();
    }
    if (key == "tags") return in_.StringList(value, path, &n.tags);
    if (key == "group") return str(&n.group);
    if (key == "owner") return ParseOwner(value, path, &n.owners);
    // Descriptive fields: read leniently.
    if (key == "description") return text(&n.description);
    if (key == "label") return text(&n.label);
    if (key == "original_file_path") return text(&n.original_file_path);
    if (key == "access") return text(&n.access);
    if (key == "language") return text(&n.language);
    if (key == "source_name") return text(&n.source_name);
    if (key == "loader") return text(&n.loader);
    if (key == "loaded_at_field") return text(&n.loaded_at_field);
    if (key == "type") return text(&n.exposure_type);
    if (key == "url") return text(&n.url);
    if (key == "maturity") return text(&n.maturity);
    if (key == "column_name") return text(&raw.column_name);
    if (key == "attached_node") return text(&raw.attached_node);
    if (key == "model") return text(&raw.unit_test_model);  // unit tests
    if (key == "freshness") {
      TM_ASSIGN_OR_RETURN(od::json_type type, in_.TypeOf(value));
      if (type != od::json_type::object) return in_.SkipValue(value);
      TM_ASSIGN_OR_RETURN(n.freshness, in_.ToDom(value));
      return Status::Ok();
    }
    if (key == "contract") return ParseContract(value, path, &n.contract_enforced);
    if (key == "test_metadata") return ParseTestMetadata(value, path, raw);
    return in_.SkipValue(value);
  }

  Status ParseConfig(od::value value, const JsonPath& path, RawNode& raw) {
    return in_.ForEachField(value, path, [&](od::field& field) -> Status {
      std::string_view key = JsonInput::KeyOf(field);
      JsonPath at(path, key);
      od::value v = field.value();
      auto text = [&](std::string* out) -> Status {
        TM_ASSIGN_OR_RETURN(std::string_view s, in_.LenientString(v));
        *out = std::string(s);
        return Status::Ok();
      };
      if (key == "enabled") {
        TM_ASSIGN_OR_RETURN(std::optional<bool> enabled, in_.Bool(v));
        raw.enabled = enabled.value_or(true);
        return Status::Ok();
      }
      if (key == "materialized") return text(&raw.node.materialized);
      if (key == "meta") {
        TM_ASSIGN_OR_RETURN(raw.config_meta, in_.ObjectDom(v, at));
        return Status::Ok();
      }
      if (key == "tags") return in_.StringList(v, at, &raw.config_tags);
      if (key == "group") {
        TM_ASSIGN_OR_RETURN(std::string_view s, in_.String(v, at));
        raw.config_group = std::string(s);
        return Status::Ok();
      }
      if (key == "access") return text(&raw.config_access);
      if (key == "severity") return text(&raw.severity);
      if (key == "loaded_at_field") return text(&raw.config_loaded_at_field);
      if (key == "contract") return ParseContract(v, at, &raw.config_contract);
      if (key == "freshness") {
        TM_ASSIGN_OR_RETURN(od::json_type type, in_.TypeOf(v));
        if (type != od::json_type::object) return in_.SkipValue(v);
        TM_ASSIGN_OR_RETURN(raw.config_freshness, in_.ToDom(v));
        return Status::Ok();
      }
      return in_.SkipValue(v);
    });
  }

  Status ParseContract(od::value value, const JsonPath& path, std::optional<bool>* enforced) {
    TM_ASSIGN_OR_RETURN(od::json_type type, in_.TypeOf(value));
    if (type != od::json_type::object) return in_.SkipValue(value);
    return in_.ForEachField(value, path, [&](od::field& field) -> Status {
      if (JsonInput::KeyOf(field) != "enforced") return in_.SkipValue(field.value());
      TM_ASSIGN_OR_RETURN(*enforced, in_.Bool(field.value()));
      return Status::Ok();
    });
  }

  Status ParseTestMetadata(od::value value, const JsonPath& path, RawNode& raw) {
    return in_.ForEachField(value, path, [&](od::field& field) -> Status {
      std::string_view key = JsonInput::KeyOf(field);
      od::value v = field.value();
      if (key == "name" || key == "namespace") {
        TM_ASSIGN_OR_RETURN(std::string_view s, in_.LenientString(v));
        (key == "name" ? raw.test_name : raw.test_namespace) = std::string(s);
        return Status::Ok();
      }
      if (key != "kwargs") return in_.SkipValue(v);
      TM_ASSIGN_OR_RETURN(od::json_type type, in_.TypeOf(v));
      if (type != od::json_type::object) return in_.SkipValue(v);
      return in_.ForEachField(v, JsonPath(path, key), [&](od::field& kw) -> Status {
        std::string_view k = JsonInput::KeyOf(kw);
        if (k != "model" && k != "column_name") return in_.SkipValue(kw.value());
        TM_ASSIGN_OR_RETURN(std::string_view s, in_.LenientString(kw.value()));
        (k == "model" ? raw.test_model_arg : raw.test_column) = std::string(s);
        return Status::Ok();
      });
    });
  }

  Status ParseDependsOn(od::value value, const JsonPath& path, std::vector<std::string>* out) {
    return in_.ForEachField(value, path, [&](od::field& field) -> Status {
      if (JsonInput::KeyOf(field) != "nodes") return in_.SkipValue(field.value());
      return in_.StringList(field.value(), JsonPath(path, "nodes"), out);
    });
  }

  // An owner: {name, email} with email a string or a list; a bare string is read as a name
  // (or an email when it has an '@').
  Status ParseOwner(od::value value, const JsonPath& path, std::vector<PersonRef>* out) {
    TM_ASSIGN_OR_RETURN(od::json_type type, in_.TypeOf(value));
    PersonRef person;
    if (type == od::json_type::string) {
      TM_ASSIGN_OR_RETURN(std::string_view s, in_.String(value, path));
      if (s.find('@') != std::string_view::npos) {
        person.emails.emplace_back(s);
      } else {
        person.name = std::string(s);
      }
    } else {
      TM_RETURN_IF_ERROR(in_.ForEachField(value, path, [&](od::field& field) -> Status {
        std::string_view key = JsonInput::KeyOf(field);
        JsonPath at(path, key);
        if (key == "name") {
          TM_ASSIGN_OR_RETURN(std::string_view s, in_.LenientString(field.value()));
          person.name = std::string(s);
          return Status::Ok();
        }
        if (key == "email") return in_.StringList(field.value(), at, &person.emails);
        return in_.SkipValue(field.value());
      }));
    }
    if (!person.name.empty() || !person.emails.empty()) out->push_back(std::move(person));
    return Status::Ok();
  }

  Status ParseGroups(od::value value, const JsonPath& path) {
    return in_.ForEachField(value, path, [&](od::field& field) -> Status {
      TM_ASSIGN_OR_RETURN(std::string_view id, in_.UnescapedKey(field));
      std::string key(id);
      JsonPath at(path, key);
      Group g;
      std::vector<PersonRef> owners;
      TM_ASSIGN_OR_RETURN(od::json_type type, in_.TypeOf(field.value()));
      if (type != od::json_type::object) {
        return in_.Invalid(at, "expected a group object", JsonInput::PositionOf(field.value()));
      }
      TM_RETURN_IF_ERROR(in_.ForEachField(field.value(), at, [&](od::field& f) -> Status {
        std::string_view k = JsonInput::KeyOf(f);
        JsonPath p(at, k);
        if (k == "name") {
          TM_ASSIGN_OR_RETURN(std::string_view s, in_.String(f.value(), p));
          g.name = std::string(s);
          return Status::Ok();
        }
        if (k == "description") {
          TM_ASSIGN_OR_RETURN(std::string_view s, in_.LenientString(f.value()));
          g.description = std::string(s);
          return Status::Ok();
        }
        if (k == "owner") return ParseOwner(f.value(), p, &owners);
        return in_.SkipValue(f.value());
      }));
      if (g.name.empty()) return Status::Ok();
      if (!owners.empty()) g.owner = std::move(owners.front());
      std::string name = g.name;
      manifest_.groups[name] = std::move(g);
      return Status::Ok();
    });
  }

  JsonInput& in_;
  JsonPath root_;
  od::parser columns_parser_;
  Manifest manifest_;
  std::set<std::string> packages_;
};

}  // namespace

Result<Manifest> ParseManifest(JsonInput& in) { return ManifestParser(in).Parse(); }

Status ParseColumns(const JsonInput& in, std::string_view columns_json, od::parser& parser,
                    const JsonPath& path, std::vector<ColumnDecl>* out) {
  if (columns_json.empty()) return Status::Ok();
  std::unique_ptr<JsonInput> slice = in.Slice(columns_json, parser);
  TM_ASSIGN_OR_RETURN(od::value root, slice->RootValue());
  TM_RETURN_IF_ERROR(ReadColumns(*slice, root, path, out));
  return slice->ExpectEnd();
}

std::string_view SectionOf(std::string_view resource_type) {
  if (resource_type == "source") return "sources";
  if (resource_type == "exposure") return "exposures";
  if (resource_type == "metric") return "metrics";
  if (resource_type == "semantic_model") return "semantic_models";
  if (resource_type == "saved_query") return "saved_queries";
  if (resource_type == "unit_test") return "unit_tests";
  return "nodes";
}

}  // namespace tidemark::collector::dbt
