// One OpenLineage event -> catalog writes. The shape is read leniently (unknown members and
// facets are kept or ignored, never fatal), meaning strictly: the members the catalog's
// identity and history depend on (eventTime, runId, job and dataset names, eventType) and the
// known facets' load-bearing members are checked, and a problem names its JSON path.
//
// Why the run's history lives in its properties: the store merges two reports of one run key
// by key (catalog MergeRun), so distinct "history/<time>/<type>" keys accumulate as a set -
// the same set whatever order the events came in, unchanged by a repeated event - without a
// table of its own.

#include <algorithm>
#include <cctype>
#include <cmath>
#include <concepts>
#include <map>

#include "dataset_join.h"
#include "json_input.h"
#include "openlineage_json.h"
#include "openlineage_map.h"

namespace tidemark::collector::openlineage {

using json = nlohmann::json;
using model::AssetKey;
using model::Result;
using model::Status;
using namespace json_view;  // NOLINT: the accessors EventMapper is written against

namespace {

std::string Escape(std::string_view segment) {  // RFC 6901
  std::string out;
  for (char c : segment) {
    if (c == '~') {
      out += "~0";
    } else if (c == '/') {
      out += "~1";
    } else {
      out += c;
    }
  }
  return out;
}

std::string Join(const std::string& path, std::string_view segment) {
  return path + "/" + Escape(segment);
}
std::string Join(const std::string& path, size_t index) {
  return path + "/" + std::to_string(index);
}

// A JSON path, or a callable that builds one: loops over a document's arrays and objects pass
// a lambda, so the path's string is built only when an error needs it.
const std::string& PathText(const std::string& path) { return path; }
template <std::invocable F>
std::string PathText(const F& path) {
  return path();
}

std::string LastPart(std::string_view name, char sep) {
  while (!name.empty() && name.back() == sep) name.remove_suffix(1);
  size_t p = name.rfind(sep);
  return std::string(p == std::string_view::npos ? name : name.substr(p + 1));
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Lower(a) < Lower(b) (ASCII case, as std::tolower in the "C" locale), without the copies.
bool LessIgnoringCase(std::string_view a, std::string_view b) {
  const size_t n = std::min(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if (x == y) continue;
    if (x >= 'A' && x <= 'Z') x += 'a' - 'A';
    if (y >= 'A' && y <= 'Z') y += 'a' - 'A';
    if (x != y) return x < y;
  }
  return a.size() < b.size();
}

// "team:finance" and "user:jane@shop.com" as given; an email is a user; any other bare name
// (Airflow's "datascience") is a team, the usual owner of a pipeline.
model::Owner OwnerFromName(std::string_view name) {
  model::Owner o;
  std::string n(name);
  if (n.rfind("team:", 0) == 0) {
    o.kind = model::OwnerKind::kTeam;
    o.id = n;
    o.name = n.substr(5);
  } else if (n.rfind("user:", 0) == 0) {
    o.id = n;
    o.name = n.substr(5);
    if (o.name.find('@') != std::string::npos) o.email = o.name;
  } else if (n.find('@') != std::string::npos) {
    o.id = "user:" + n;
    o.name = n;
    o.email = n;
  } else {
    o.kind = model::OwnerKind::kTeam;
    o.id = "team:" + n;
    o.name = n;
  }
  return o;
}

}  // namespace

// Maps one event read through json_view (V: a value of either parser). Lives for one
// Mapper::Add call.
template <class V>
class EventMapper {
 public:
  using Opt = std::optional<V>;

  EventMapper(Mapper& m, const OpenLineageDocument& doc, OpenLineageReport& report)
      : m_(m), doc_(doc), report_(report) {}

  Status Map(V event) {
    if (!IsObject(event)) return Invalid("", "an event must be a JSON object");
    TM_ASSIGN_OR_RETURN(event_time_, Time(event, "", "eventTime", /*required=*/true));
    m_.last_event_time_ = event_time_;
    m_.last_run_id_.clear();
    producer_ = OptString(event, "producer");
    Opt run = Member(event, "run");
    Opt job = Member(event, "job");
    Opt dataset = Member(event, "dataset");
    if (run) {
      ++report_.run_events;
      TM_RETURN_IF_ERROR(MapJob(job));
      TM_RETURN_IF_ERROR(MapRun(event, *run));
      TM_RETURN_IF_ERROR(MapDatasets(event));
    } else if (job) {
      ++report_.job_events;
      TM_RETURN_IF_ERROR(MapJob(job));
      TM_RETURN_IF_ERROR(MapDatasets(event));
    } else if (dataset) {
      ++report_.dataset_events;
      TM_RETURN_IF_ERROR(MapDataset(*dataset, "/dataset", Role::kStatic));
    } else {
      return Invalid("/run", "missing: an event needs run and job (RunEvent), job (JobEvent) or "
                             "dataset (DatasetEvent)");
    }
    ++report_.events;
    return Status::Ok();
  }

 private:
  enum class Role { kInput, kOutput, kStatic };

  Status Invalid(const std::string& path, std::string message) const {
    return Status::InvalidArgument(std::move(message),
                                   doc_.name_for_errors + ": " + (path.empty() ? "/" : path));
  }

  static std::string OptString(V obj, std::string_view name) {
    Opt v = Member(obj, name);
    return v && IsString(*v) ? std::string(Str(*v)) : std::string();
  }

  template <typename Path>
  Result<std::string> RequiredString(V obj, const Path& path, std::string_view name) const {
    Opt v = Member(obj, name);
    auto at = [&] { return Join(PathText(path), name); };  // built only for an error: hot
    if (!v) return Invalid(at(), "missing");
    if (!IsString(*v)) return Invalid(at(), "must be a string");
    if (Str(*v).empty()) return Invalid(at(), "must not be empty");
    return std::string(Str(*v));
  }

  Result<model::Timestamp> Time(V obj, const std::string& path, std::string_view name,
                                bool required) const {
    Opt v = Member(obj, name);
    auto at = [&] { return Join(path, name); };
    if (!v) {
      if (required) return Invalid(at(), "missing");
      return model::Timestamp{};
    }
    if (!IsString(*v)) return Invalid(at(), "must be an ISO-8601 date-time string");
    auto ts = model::ParseTimestamp(Str(*v));
    if (!ts) {
      return Invalid(at(), "not an ISO-8601 date-time: '" + std::string(Str(*v)) + "'");
    }
    return *ts;
  }

  // An optional number; null and absent give nullopt, other types are an error.
  template <typename Path>
  Result<std::optional<double>> Number(V obj, const Path& path, std::string_view name) const {
    Opt v = Member(obj, name);
    if (!v) return std::optional<double>();
    if (!IsNumber(*v)) return Invalid(Join(PathText(path), name), "must be a number");
    double d = Num(*v);
    if (!std::isfinite(d)) return Invalid(Join(PathText(path), name), "must be finite");
    return std::optional<double>(d);
  }

  // The facets object at obj[name] (null/absent: empty). Not an object: an error.
  Result<Opt> Facets(V obj, const std::string& path, std::string_view name) const {
    Opt v = Member(obj, name);
    if (!v) return Opt();
    if (!IsObject(*v)) return Invalid(Join(path, name), "facets must be an object");
    return v;
  }

  // A known facet must be an object when present; its absence (or null) is nullptr.
  Result<Opt> Facet(Opt facets, const std::string& path, std::string_view name) const {
    if (!facets) return Opt();
    Opt f = Member(*facets, name);
    if (!f) return Opt();
    if (!IsObject(*f)) return Invalid(Join(path, name), "a facet must be an object");
    return f;
  }

  // ---- job -----------------------------------------------------------------------------
  Status MapJob(Opt job) {
    if (!job) return Invalid("/job", "missing");
    if (!IsObject(*job)) return Invalid("/job", "must be an object");
    TM_ASSIGN_OR_RETURN(std::string ns, RequiredString(*job, "/job", "namespace"));
    TM_ASSIGN_OR_RETURN(std::string name, RequiredString(*job, "/job", "name"));
    job_ = AssetKey{std::move(ns), std::move(name)};
    TM_ASSIGN_OR_RETURN(Opt facets, Facets(*job, "/job", "facets"));
    Mapper::PendingAsset* pending = &scratch_;
    if (!m_.validate_only_) {
      model::Asset fresh;
      fresh.key = job_;
      fresh.kind = model::AssetKind::kJob;
      fresh.name = job_.name;
      fresh.source = std::string(kSource);
      TM_ASSIGN_OR_RETURN(pending, m_.Pending(job_, fresh));
      if (pending->asset.kind == model::AssetKind::kDataset) {
        pending->asset.kind = model::AssetKind::kJob;
      }
    }
    ++report_.jobs;
    if (facets) {
      TM_RETURN_IF_ERROR(Describe(*pending, facets, "/job/facets"));
      TM_RETURN_IF_ERROR(Ownership(job_, facets, "/job/facets"));
      // sql, sourceCode, sourceCodeLocation, jobType and any unknown facet: kept as sent.
      KeepFacets(*pending, *facets);
    }
    return Status::Ok();
  }

  // Facets already mapped to catalog records (columns, edges, owners, description) are not
  // stored twice: a schema facet can be most of an event, and the asset's properties are
  // read back on every later event touching it.
  void KeepFacets(Mapper::PendingAsset& pending, V facets) {
    if (m_.validate_only_) return;
    static constexpr std::string_view kMapped[] = {"schema", "columnLineage", "ownership",
                                                   "documentation"};
    if (!pending.facets.is_object()) pending.facets = json::object();
    for (const auto& [k, v] : Items(facets)) {
      if (k == "columnLineage" && IsObject(v)) {
        // Its `fields` became column edges; the lineage that affects the whole dataset
        // (`dataset`: filters, joins, groupings; facet 1-2-0) has no record of its own.
        if (Opt whole = Member(v, "dataset")) {
          pending.facets["columnLineage"] = json{{"dataset", ToJson(*whole)}};
        }
        continue;
      }
      if (std::find(std::begin(kMapped), std::end(kMapped), k) != std::end(kMapped)) continue;
      pending.facets[std::string(k)] = ToJson(v);
    }
  }

  Status Describe(Mapper::PendingAsset& pending, Opt facets, const std::string& path) {
    TM_ASSIGN_OR_RETURN(Opt doc, Facet(facets, path, "documentation"));
    if (!doc) return Status::Ok();
    Opt d = Member(*doc, "description");
    if (d && !IsString(*d)) {
      return Invalid(Join(Join(path, "documentation"), "description"), "must be a string");
    }
    if (d && !Str(*d).empty()) pending.asset.description = std::string(Str(*d));
    return Status::Ok();
  }

  Status Ownership(const AssetKey& key, Opt facets, const std::string& path) {
    TM_ASSIGN_OR_RETURN(Opt own, Facet(facets, path, "ownership"));
    if (!own) return Status::Ok();
    std::string at = Join(Join(path, "ownership"), "owners");
    Opt owners = Member(*own, "owners");
    if (!owners) return Status::Ok();
    if (!IsArray(*owners)) return Invalid(at, "must be an array");
    std::vector<model::Ownership> list;
    const std::vector<V> elements = Elements(*owners);
    for (size_t i = 0; i < elements.size(); ++i) {
      V o = elements[i];
      auto oat = [&] { return Join(at, i); };
      if (!IsObject(o)) return Invalid(oat(), "an owner must be an object");
      TM_ASSIGN_OR_RETURN(std::string name, RequiredString(o, oat, "name"));
      model::Owner owner = OwnerFromName(name);
      std::string role = Lower(OptString(o, "type"));
      if (role.empty()) role = "owner";
      if (std::none_of(list.begin(), list.end(),
                       [&](const model::Ownership& x) { return x.owner_id == owner.id; })) {
        list.push_back({owner.id, role});
      }
      if (!m_.validate_only_) m_.owners_.emplace(owner.id, owner);
      ++report_.owners;
    }
    if (!m_.validate_only_) m_.ownerships_[key] = std::move(list);
    return Status::Ok();
  }

  // ---- run -----------------------------------------------------------------------------
  Status MapRun(V event, V run) {
    if (!IsObject(run)) return Invalid("/run", "must be an object");
    TM_ASSIGN_OR_RETURN(std::string run_id, RequiredString(run, "/run", "runId"));
    if (!IsUuid(run_id)) return Invalid("/run/runId", "not a UUID: '" + run_id + "'");
    model::RunState state = model::RunState::kOther;
    if (Opt t = Member(event, "eventType")) {
      auto parsed = IsString(*t) ? model::ParseRunState(Str(*t)) : std::nullopt;
      if (!parsed) {
        return Invalid("/eventType",
                       "must be one of START, RUNNING, COMPLETE, ABORT, FAIL, OTHER");
      }
      state = *parsed;
    }
    model::Run r;
    r.id = Lower(run_id);
    r.job = job_;
    r.source = std::string(kSource);
    r.state = state;
    r.event_time = event_time_;
    if (state == model::RunState::kStart) r.started_at = event_time_;
    if (model::IsTerminal(state)) r.ended_at = event_time_;
    TM_ASSIGN_OR_RETURN(Opt facets, Facets(run, "/run", "facets"));
    json props = json::object();
    if (facets) {
      const std::string path = "/run/facets";
      TM_ASSIGN_OR_RETURN(Opt nominal, Facet(facets, path, "nominalTime"));
      if (nominal) {
        TM_ASSIGN_OR_RETURN(model::Timestamp t,
                            Time(*nominal, Join(path, "nominalTime"), "nominalStartTime", true));
        r.nominal_time = t;
      }
      TM_ASSIGN_OR_RETURN(Opt parent, Facet(facets, path, "parent"));
      if (parent) {
        Opt prun = Member(*parent, "run");
        std::string at = Join(path, "parent") + "/run";
        if (!prun || !IsObject(*prun)) return Invalid(at, "missing");
        TM_ASSIGN_OR_RETURN(std::string pid, RequiredString(*prun, at, "runId"));
        r.parent_run_id = Lower(pid);
      }
      TM_ASSIGN_OR_RETURN(Opt error, Facet(facets, path, "errorMessage"));
      if (error) {
        TM_ASSIGN_OR_RETURN(r.error_message, RequiredString(*error, Join(path, "errorMessage"),
                                                            "message"));
      }
      // Every run facet kept, known ones included (processing_engine, errorMessage's stack
      // trace, ...), one property each so runs merge facet by facet.
      for (const auto& [k, v] : m_.validate_only_ ? decltype(Items(*facets))() : Items(*facets)) {
        props[std::string(kFacetPrefix) + std::string(k)] = ToJson(v);
      }
    }
    run_id_ = r.id;
    m_.last_run_id_ = r.id;
    ++report_.runs;
    if (m_.validate_only_) return Status::Ok();
    json entry = json::object();
    if (!producer_.empty()) entry["producer"] = producer_;
    props[std::string(kHistoryPrefix) + model::FormatTimestamp(event_time_) + "/" +
          std::string(model::RunStateName(state))] = std::move(entry);
    r.properties = props.dump();
    m_.rest_.PutRun(std::move(r));
    return Status::Ok();
  }

  // ---- datasets ------------------------------------------------------------------------
  Status MapDatasets(V event) {
    for (Role role : {Role::kInput, Role::kOutput}) {
      const char* name = role == Role::kInput ? "inputs" : "outputs";
      Opt list = Member(event, name);
      if (!list) continue;
      std::string path = std::string("/") + name;
      if (!IsArray(*list)) return Invalid(path, "must be an array");
      const std::vector<V> elements = Elements(*list);
      for (size_t i = 0; i < elements.size(); ++i) {
        TM_RETURN_IF_ERROR(MapDataset(elements[i], Join(path, i), role));
      }
    }
    // Table-level lineage through the job: every input feeds every output.
    auto edge = [&](const AssetKey& up, const AssetKey& down) {
      ++report_.lineage_edges;
      if (m_.validate_only_) return;
      model::LineageEdge e;
      e.upstream = up;
      e.downstream = down;
      e.via = job_;
      e.origin = std::string(kSource);
      m_.rest_.PutEdge(std::move(e));
    };
    if (!inputs_.empty() && !outputs_.empty()) {
      for (const AssetKey& in : inputs_) {
        for (const AssetKey& out : outputs_) {
          if (in != out) edge(in, out);
        }
      }
    } else {
      // Only one side known (a job that only reads, or only writes): the job itself is the
      // other end, so the relation is not lost.
      for (const AssetKey& in : inputs_) edge(in, job_);
      for (const AssetKey& out : outputs_) edge(job_, out);
    }
    return Status::Ok();
  }

  Status MapDataset(V ds, const std::string& path, Role role) {
    if (!IsObject(ds)) return Invalid(path, "a dataset must be an object");
    TM_ASSIGN_OR_RETURN(std::string ns, RequiredString(ds, path, "namespace"));
    TM_ASSIGN_OR_RETURN(std::string name, RequiredString(ds, path, "name"));
    AssetKey given{CanonicalDatasetNamespace(ns), name};
    Mapper::PendingAsset* pending = &scratch_;
    AssetKey key = given;
    if (!m_.validate_only_) {
      TM_ASSIGN_OR_RETURN(key, m_.ResolveDataset(given));
      TM_ASSIGN_OR_RETURN(pending, Fresh(key, name));
    }
    ++report_.datasets;
    if (role == Role::kInput) inputs_.push_back(key);
    if (role == Role::kOutput) outputs_.push_back(key);

    TM_ASSIGN_OR_RETURN(Opt facets, Facets(ds, path, "facets"));
    const std::string fpath = Join(path, "facets");
    if (facets) {
      TM_RETURN_IF_ERROR(Describe(*pending, facets, fpath));
      TM_RETURN_IF_ERROR(Ownership(key, facets, fpath));
      TM_RETURN_IF_ERROR(Schema(*pending, key, facets, fpath));
      TM_RETURN_IF_ERROR(Symlinks(key, facets, fpath));
      TM_RETURN_IF_ERROR(ColumnLineage(key, facets, fpath));
      TM_RETURN_IF_ERROR(QualityMetrics(key, facets, fpath));
      TM_RETURN_IF_ERROR(Assertions(key, facets, fpath));
      KeepFacets(*pending, *facets);
    }
    for (const char* member : {"inputFacets", "outputFacets"}) {
      TM_ASSIGN_OR_RETURN(Opt more, Facets(ds, path, member));
      if (!more) continue;
      const std::string mpath = Join(path, member);
      TM_RETURN_IF_ERROR(QualityMetrics(key, more, mpath));
      TM_RETURN_IF_ERROR(Assertions(key, more, mpath));
      TM_RETURN_IF_ERROR(OutputStatistics(key, more, mpath));
    }
    return Status::Ok();
  }

  // The pending dataset asset for `key` (as named `name` by the event).
  Result<Mapper::PendingAsset*> Fresh(const AssetKey& key, const std::string& name) {
    model::Asset fresh;
    fresh.key = key;
    fresh.kind = DatasetKind(key.ns);
    fresh.source = std::string(kSource);
    if (fresh.kind == model::AssetKind::kTable) {
      fresh.name = LastPart(name, '.');
      std::vector<std::string> parts;
      for (size_t start = 0;;) {
        size_t dot = name.find('.', start);
        parts.push_back(name.substr(start, dot - start));
        if (dot == std::string::npos) break;
        start = dot + 1;
      }
      if (parts.size() >= 3) {
        fresh.database = parts[parts.size() - 3];
        fresh.schema = parts[parts.size() - 2];
      } else if (parts.size() == 2) {
        fresh.schema = parts[0];
      }
    } else {
      fresh.name = LastPart(name, '/');
    }
    TM_ASSIGN_OR_RETURN(Mapper::PendingAsset * pending, m_.Pending(key, fresh));
    if (pending->asset.kind == model::AssetKind::kDataset) pending->asset.kind = fresh.kind;
    return pending;
  }

  // Flattens nested fields ("address.city") in declaration order.
  Status Fields(V fields, const std::string& path, const std::string& prefix,
                std::vector<model::Column>& out) {
    if (!IsArray(fields)) return Invalid(path, "must be an array");
    const std::vector<V> elements = Elements(fields);
    if (!m_.validate_only_) out.reserve(out.size() + elements.size());
    for (size_t i = 0; i < elements.size(); ++i) {
      V f = elements[i];
      // A schema can be most of an event: its paths are built only for an error.
      auto at = [&] { return Join(path, i); };
      if (!IsObject(f)) return Invalid(at(), "a field must be an object");
      const auto [name, type, description, nested] =
          Members(f, std::array<std::string_view, 4>{"name", "type", "description", "fields"});
      if (!name || !IsString(*name) || Str(*name).empty()) {
        return RequiredString(f, at(), "name").status();
      }
      if (m_.validate_only_) {
        if (nested) TM_RETURN_IF_ERROR(Fields(*nested, Join(at(), "fields"), prefix, out));
        continue;
      }
      model::Column& c = out.emplace_back();
      c.name.reserve(prefix.size() + Str(*name).size());
      c.name = prefix;
      c.name += Str(*name);
      c.position = static_cast<int>(out.size());
      if (type && IsString(*type)) c.data_type = Str(*type);
      if (description && IsString(*description)) c.description = Str(*description);
      if (nested) {
        TM_RETURN_IF_ERROR(Fields(*nested, Join(at(), "fields"), c.name + ".", out));
      }
    }
    return Status::Ok();
  }

  Status Schema(Mapper::PendingAsset& pending, const AssetKey& key, Opt facets,
                const std::string& path) {
    TM_ASSIGN_OR_RETURN(Opt schema, Facet(facets, path, "schema"));
    if (!schema) return Status::Ok();
    Opt fields = Member(*schema, "fields");
    if (!fields) return Status::Ok();
    // The fields that last left these columns as they were, whose snapshot would not be
    // stored either: nothing to map. (Most of a steady stream of events.)
    std::optional<SchemaDigest> digest;
    if (!m_.validate_only_ && m_.cache_) {
      if (SchemaDigest d; Digest(*fields, d)) digest = d;
      if (digest && pending.schema_fixpoint == digest &&
          m_.SnapshotWouldBeSkipped(key, event_time_, pending.schema_fingerprint)) {
        ++report_.schema_snapshots;
        return Status::Ok();
      }
    }
    std::vector<model::Column> columns;
    TM_RETURN_IF_ERROR(Fields(*fields, Join(Join(path, "schema"), "fields"), "", columns));
    if (m_.validate_only_) {
      if (!Elements(*fields).empty()) ++report_.schema_snapshots;
      return Status::Ok();
    }
    if (columns.empty()) return Status::Ok();
    model::SchemaSnapshot snap;
    snap.asset = key;
    snap.observed_at = event_time_;
    snap.source = std::string(kSource);
    snap.columns = columns;
    ++report_.schema_snapshots;
    // What others said of a column (dbt's description, tags, tests) stays with it.
    // By name ignoring ASCII case, the first of equal names winning: a sorted vector of
    // pointers, one allocation rather than a map node or a lower-cased copy per column (this
    // runs for every dataset of every event).
    std::vector<const model::Column*> old_by_name;
    old_by_name.reserve(pending.columns.size());
    for (const model::Column& old : pending.columns) old_by_name.push_back(&old);
    auto by_name = [](const model::Column* a, const model::Column* b) {
      return LessIgnoringCase(a->name, b->name);
    };
    std::stable_sort(old_by_name.begin(), old_by_name.end(), by_name);
    for (model::Column& c : columns) {
      auto it = std::lower_bound(old_by_name.begin(), old_by_name.end(), &c, by_name);
      if (it != old_by_name.end() && !LessIgnoringCase(c.name, (*it)->name)) {
        const model::Column& old = **it;
        if (c.description.empty()) c.description = old.description;
        if (c.data_type.empty()) c.data_type = old.data_type;
        c.tags = old.tags;
        c.properties = old.properties;
        c.nullable = old.nullable;
      }
    }
    // The same schema as stored (the usual case: a job writes the same table run after run):
    // nothing to rewrite.
    if (columns != pending.columns) {
      pending.columns = std::move(columns);
      pending.has_columns = true;
      pending.schema_fixpoint.reset();
      pending.schema_fingerprint.clear();
    } else if (digest) {
      pending.schema_fixpoint = digest;
      pending.schema_fingerprint = snap.Fingerprint();
    }
    m_.snapshots_queued_.insert(key);
    m_.rest_.PutSchemaSnapshot(std::move(snap));
    return Status::Ok();
  }

  // Adds to `d` what Fields reads of `fields`; false where Fields would refuse them (it then
  // says why).
  bool Digest(V fields, SchemaDigest& d) {
    if (!IsArray(fields)) return false;
    for (V f : Elements(fields)) {
      if (!IsObject(f)) return false;
      const auto [name, type, description, nested] =
          Members(f, std::array<std::string_view, 4>{"name", "type", "description", "fields"});
      if (!name || !IsString(*name) || Str(*name).empty()) return false;
      d.Add(Str(*name));
      for (const Opt& text : {type, description}) {
        if (text && IsString(*text)) {
          d.Add(Str(*text));
        } else {
          d.Mark(0xfc);
        }
      }
      if (nested) {
        d.Mark(0xfd);
        if (!Digest(*nested, d)) return false;
        d.Mark(0xfe);
      }
    }
    return true;
  }

  Status Symlinks(const AssetKey& key, Opt facets, const std::string& path) {
    TM_ASSIGN_OR_RETURN(Opt links, Facet(facets, path, "symlinks"));
    if (!links) return Status::Ok();
    Opt ids = Member(*links, "identifiers");
    std::string at = Join(Join(path, "symlinks"), "identifiers");
    if (!ids) return Status::Ok();
    if (!IsArray(*ids)) return Invalid(at, "must be an array");
    const std::vector<V> elements = Elements(*ids);
    for (size_t i = 0; i < elements.size(); ++i) {
      V id = elements[i];
      auto iat = [&] { return Join(at, i); };
      if (!IsObject(id)) return Invalid(iat(), "an identifier must be an object");
      TM_ASSIGN_OR_RETURN(std::string ns, RequiredString(id, iat, "namespace"));
      TM_ASSIGN_OR_RETURN(std::string name, RequiredString(id, iat, "name"));
      AssetKey alias{CanonicalDatasetNamespace(ns), name};
      if (alias != key && !m_.validate_only_) m_.aliases_.emplace_back(alias.ToString(), key);
    }
    return Status::Ok();
  }

  Status ColumnLineage(const AssetKey& key, Opt facets, const std::string& path) {
    TM_ASSIGN_OR_RETURN(Opt cl, Facet(facets, path, "columnLineage"));
    if (!cl) return Status::Ok();
    Opt fields = Member(*cl, "fields");
    std::string at = Join(Join(path, "columnLineage"), "fields");
    if (!fields) return Status::Ok();
    if (!IsObject(*fields)) return Invalid(at, "must be an object");
    for (const auto& [column, spec] : Items(*fields)) {
      auto cat = [&] { return Join(at, column); };
      if (!IsObject(spec)) return Invalid(cat(), "must be an object");
      Opt ins = Member(spec, "inputFields");
      if (!ins) continue;
      if (!IsArray(*ins)) return Invalid(Join(cat(), "inputFields"), "must be an array");
      std::string field_level = OptString(spec, "transformationType");
      const std::vector<V> elements = Elements(*ins);
      for (size_t i = 0; i < elements.size(); ++i) {
        V in = elements[i];
        auto iat = [&] { return Join(Join(cat(), "inputFields"), i); };
        if (!IsObject(in)) return Invalid(iat(), "must be an object");
        TM_ASSIGN_OR_RETURN(std::string ns, RequiredString(in, iat, "namespace"));
        TM_ASSIGN_OR_RETURN(std::string name, RequiredString(in, iat, "name"));
        TM_ASSIGN_OR_RETURN(std::string field, RequiredString(in, iat, "field"));
        ++report_.column_edges;
        if (m_.validate_only_) continue;
        TM_ASSIGN_OR_RETURN(AssetKey up,
                            m_.ResolveDataset({CanonicalDatasetNamespace(ns), name}));
        std::vector<std::string> kinds;
        if (Opt ts = Member(in, "transformations"); ts && IsArray(*ts)) {
          for (V t : Elements(*ts)) {
            std::string k = OptString(t, "subtype");
            if (k.empty()) k = OptString(t, "type");
            if (!k.empty() && std::find(kinds.begin(), kinds.end(), k) == kinds.end()) {
              kinds.push_back(k);
            }
          }
        }
        std::string transformation;
        for (const std::string& k : kinds) transformation += (transformation.empty() ? "" : ",") + k;
        if (transformation.empty()) transformation = field_level;
        model::LineageEdge e;
        e.upstream = up;
        e.downstream = key;
        e.upstream_column = field;
        e.downstream_column = std::string(column);
        e.via = job_;
        e.origin = std::string(kSource);
        e.transformation = transformation;
        m_.rest_.PutEdge(std::move(e));
      }
    }
    return Status::Ok();
  }

  void Point(const AssetKey& key, std::string metric, double value) {
    ++report_.metric_points;
    if (m_.validate_only_) return;
    m_.rest_.AppendMetricPoint({key, std::move(metric), event_time_, value});
  }

  Status QualityMetrics(const AssetKey& key, Opt facets, const std::string& path) {
    TM_ASSIGN_OR_RETURN(Opt dq, Facet(facets, path, "dataQualityMetrics"));
    if (!dq) return Status::Ok();
    const std::string at = Join(path, "dataQualityMetrics");
    TM_ASSIGN_OR_RETURN(auto rows, Number(*dq, at, "rowCount"));
    TM_ASSIGN_OR_RETURN(auto bytes, Number(*dq, at, "bytes"));
    TM_ASSIGN_OR_RETURN(auto files, Number(*dq, at, "fileCount"));
    if (rows) Point(key, std::string(model::kMetricRowCount), *rows);
    if (bytes) Point(key, std::string(model::kMetricBytes), *bytes);
    if (files) Point(key, "file_count", *files);
    Opt cols = Member(*dq, "columnMetrics");
    if (!cols) return Status::Ok();
    const std::string cat = Join(at, "columnMetrics");
    if (!IsObject(*cols)) return Invalid(cat, "must be an object");
    static constexpr std::pair<std::string_view, std::string_view> kNames[] = {
        {"nullCount", "null_count"}, {"distinctCount", "distinct_count"}, {"sum", "sum"},
        {"count", "count"},          {"min", "min"},                      {"max", "max"}};
    for (const auto& [column, m] : Items(*cols)) {
      auto mat = [&] { return Join(cat, column); };
      if (!IsObject(m)) return Invalid(mat(), "must be an object");
      for (const auto& [field, metric] : kNames) {
        TM_ASSIGN_OR_RETURN(auto v, Number(m, mat, field));
        if (v) Point(key, std::string(metric) + ":" + std::string(column), *v);
      }
      TM_ASSIGN_OR_RETURN(auto nulls, Number(m, mat, "nullCount"));
      if (nulls && rows && *rows > 0) {
        Point(key, "null_rate:" + std::string(column), *nulls / *rows);
      }
      if (Opt q = Member(m, "quantiles"); q && IsObject(*q)) {
        for (const auto& [quantile, value] : Items(*q)) {
          if (IsNumber(value)) {
            Point(key, "quantile_" + std::string(quantile) + ":" + std::string(column), Num(value));
          }
        }
      }
    }
    return Status::Ok();
  }

  Status OutputStatistics(const AssetKey& key, Opt facets, const std::string& path) {
    TM_ASSIGN_OR_RETURN(Opt st, Facet(facets, path, "outputStatistics"));
    if (!st) return Status::Ok();
    const std::string at = Join(path, "outputStatistics");
    TM_ASSIGN_OR_RETURN(auto rows, Number(*st, at, "rowCount"));
    TM_ASSIGN_OR_RETURN(auto size, Number(*st, at, "size"));
    TM_ASSIGN_OR_RETURN(auto files, Number(*st, at, "fileCount"));
    // What the run wrote, not the table's size: its own series, as dbt's rows_affected is.
    if (rows) Point(key, "rows_written", *rows);
    if (size) Point(key, "bytes_written", *size);
    if (files) Point(key, "files_written", *files);
    return Status::Ok();
  }

  Status Assertions(const AssetKey& key, Opt facets, const std::string& path) {
    TM_ASSIGN_OR_RETURN(Opt dq, Facet(facets, path, "dataQualityAssertions"));
    if (!dq) return Status::Ok();
    const std::string at = Join(Join(path, "dataQualityAssertions"), "assertions");
    Opt list = Member(*dq, "assertions");
    if (!list) return Status::Ok();
    if (!IsArray(*list)) return Invalid(at, "must be an array");
    const std::vector<V> elements = Elements(*list);
    for (size_t i = 0; i < elements.size(); ++i) {
      V a = elements[i];
      auto aat = [&] { return Join(at, i); };
      if (!IsObject(a)) return Invalid(aat(), "an assertion must be an object");
      TM_ASSIGN_OR_RETURN(std::string name, RequiredString(a, aat, "assertion"));
      Opt ok = Member(a, "success");
      if (!ok || !IsBool(*ok)) return Invalid(Join(aat(), "success"), "must be true or false");
      // A DatasetEvent or JobEvent has no run to hold a result: its assertions stay in the
      // asset's facets only.
      if (run_id_.empty()) continue;
      ++report_.test_results;
      if (m_.validate_only_) continue;
      std::string column = OptString(a, "column");
      model::NodeResult n;
      n.run_id = run_id_;
      n.node_id = "assertion:" + key.ToString() + ":" + name + (column.empty() ? "" : ":" + column);
      n.asset = key;
      n.node_kind = "test";
      n.status = Bool(*ok) ? "pass" : "fail";
      n.completed_at = event_time_;
      json props = {{"assertion", name}};
      if (!column.empty()) props["column"] = column;
      if (Opt sev = Member(a, "severity"); sev && IsString(*sev)) props["severity"] = Str(*sev);
      n.properties = props.dump();
      m_.rest_.PutNodeResult(std::move(n));
    }
    return Status::Ok();
  }

  Mapper& m_;
  const OpenLineageDocument& doc_;
  OpenLineageReport& report_;
  model::Timestamp event_time_{};
  std::string producer_;
  AssetKey job_;
  std::string run_id_;
  std::vector<AssetKey> inputs_, outputs_;
  Mapper::PendingAsset scratch_;  // what a validating mapper describes instead of an asset
};

Result<json> ParseEventWithNlohmann(const OpenLineageDocument& doc) {
  try {
    return json::parse(doc.json_text);
  } catch (const json::parse_error& e) {
    LineColumn lc = LocateOffset(doc.json_text, e.byte > 0 ? e.byte - 1 : 0);
    std::string what = e.what();
    if (size_t p = what.find("syntax error"); p != std::string::npos) what = what.substr(p);
    return Status::InvalidArgument("not valid JSON: " + what,
                                   doc.name_for_errors + ", line " + std::to_string(lc.line) +
                                       ", column " + std::to_string(lc.column));
  } catch (const json::exception& e) {
    // A number out of range ("1e400") is not a parse_error and carries no position.
    std::string what = e.what();
    if (size_t p = what.find("] "); p != std::string::npos) what = what.substr(p + 2);
    return Status::InvalidArgument("not valid JSON: " + what, doc.name_for_errors);
  }
}

namespace {

// The parser's and documents' buffers grow to the largest text they read (some bytes per
// input byte): a large batch's are let go rather than kept by every handler thread.
constexpr size_t kKeptCapacity = 1 << 20;
constexpr size_t kSpareDocuments = 4;

// Documents of events parsed on this thread and destroyed since, with their buffers: a
// fresh document per event would allocate and free ~10 bytes per input byte each time
// (beyond malloc's mmap threshold for events over ~12 KB).
std::vector<simdjson::dom::document>& SpareDocuments() {
  thread_local std::vector<simdjson::dom::document> spare;
  return spare;
}

}  // namespace

ParsedEvent::~ParsedEvent() {
  // A moved-from document keeps its capacity but not its buffers (simdjson's default move).
  if (!fast_.tape || !fast_.string_buf || fast_.capacity() > kKeptCapacity) return;
  auto& spare = SpareDocuments();
  if (spare.size() < kSpareDocuments) spare.push_back(std::move(fast_));
}

Result<ParsedEvent> ParseEvent(const OpenLineageDocument& doc) {
  // One parser per thread, reused: its buffers are grown once. The document owns its values.
  thread_local simdjson::dom::parser parser;
  ParsedEvent out;
  if (auto& spare = SpareDocuments(); !spare.empty()) {
    out.fast_ = std::move(spare.back());
    spare.pop_back();
  }
  simdjson::dom::element root;
  out.is_fast_ = parser.parse_into_document(out.fast_, doc.json_text.data(), doc.json_text.size())
                     .get(root) == simdjson::SUCCESS;
  if (parser.capacity() > kKeptCapacity) parser = simdjson::dom::parser();
  if (out.is_fast_) return out;
  // Refused (not JSON, or JSON simdjson does not take: a byte order mark, a number out of
  // its range, deep nesting): nlohmann decides, and names the error as it always has.
  TM_ASSIGN_OR_RETURN(out.slow_, ParseEventWithNlohmann(doc));
  return out;
}

Status Mapper::Add(const OpenLineageDocument& doc, OpenLineageReport& report) {
  TM_ASSIGN_OR_RETURN(ParsedEvent event, ParseEvent(doc));
  return Add(doc, event, report);
}

Status Mapper::Add(const OpenLineageDocument& doc, const ParsedEvent& event,
                   OpenLineageReport& report) {
  if (event.is_fast_) return EventMapper<SValue>(*this, doc, report).Map(event.fast_.root());
  return Add(doc, event.slow_, report);
}

Status Mapper::Add(const OpenLineageDocument& doc, const json& event, OpenLineageReport& report) {
  return EventMapper<NValue>(*this, doc, report).Map(&event);
}

Result<AssetKey> Mapper::ResolveDataset(const AssetKey& key) {
  if (auto it = resolved_.find(key); it != resolved_.end()) return it->second;
  AssetKey out = key;
  const AssetKey* known = nullptr;
  if (cache_) {
    if (auto it = cache_->resolved.find(key); it != cache_->resolved.end()) known = &it->second;
  }
  if (known) {
    out = *known;
  } else if (store_) {
    TM_ASSIGN_OR_RETURN(out, JoinDatasetKey(*store_, key, kSource, aliases_));
  }
  resolved_.emplace(key, out);
  return out;
}

namespace {

// The columns PutAsset writes, properties aside (compared through the facets).
bool SameRecord(const model::Asset& a, const model::Asset& b) {
  return a.key == b.key && a.kind == b.kind && a.name == b.name &&
         a.description == b.description && a.source == b.source && a.database == b.database &&
         a.schema == b.schema && a.status == b.status;
}

// Everything the store's edge upsert compares, so an identical edge can be left out.
std::string EdgeIdentity(const model::LineageEdge& e) {
  std::string id;
  for (const std::string* part :
       {&e.upstream.ns, &e.upstream.name, &e.downstream.ns, &e.downstream.name,
        &e.upstream_column, &e.downstream_column, &e.via.ns, &e.via.name, &e.origin,
        &e.transformation}) {
    id += *part;
    id += '\x1f';
  }
  return id;
}

}  // namespace

Result<Mapper::PendingAsset*> Mapper::Pending(const AssetKey& key, const model::Asset& fresh) {
  if (auto it = assets_.find(key); it != assets_.end()) return &it->second;
  PendingAsset p;
  p.asset = fresh;
  p.facets = json::object();
  const MapperCache::StoredAsset* known = nullptr;
  if (cache_) {
    if (auto it = cache_->assets.find(key); it != cache_->assets.end()) known = &it->second;
  }
  if (known) {
    p.stored = *known;
  } else if (store_) {
    auto stored = store_->GetAsset(key);
    if (stored.ok()) {
      MapperCache::StoredAsset s;
      s.asset = std::move(stored).value();
      s.asset.tags.clear();
      s.asset.aliases.clear();
      s.facets = json::object();
      auto props = json::parse(s.asset.properties.empty() ? "{}" : s.asset.properties, nullptr,
                               /*allow_exceptions=*/false);
      if (props.is_object()) {
        if (auto f = props.find(kSource); f != props.end() && f->is_object()) {
          if (auto ff = f->find("facets"); ff != f->end() && ff->is_object()) s.facets = *ff;
        }
      }
      auto columns = store_->GetColumns(key);
      if (!columns.ok()) return columns.status();
      s.columns = std::move(columns).value();
      p.stored = std::move(s);
    } else if (!stored.status().IsNotFound()) {
      return stored.status();
    }
  }
  if (p.stored) {
    // Another source's word on kind, name and description stands; ours fills the gaps.
    p.asset = p.stored->asset;
    if (p.asset.name.empty()) p.asset.name = fresh.name;
    if (p.asset.source.empty()) p.asset.source = fresh.source;
    if (p.asset.database.empty()) p.asset.database = fresh.database;
    if (p.asset.schema.empty()) p.asset.schema = fresh.schema;
    p.facets = p.stored->facets;
    p.columns = std::move(p.stored->columns);  // read nowhere else: not copied twice
    p.schema_fixpoint = p.stored->schema_fixpoint;
    p.schema_fingerprint = p.stored->schema_fingerprint;
  }
  return &assets_.emplace(key, std::move(p)).first->second;
}

bool Mapper::SnapshotWouldBeSkipped(const AssetKey& key, model::Timestamp at,
                                    const std::string& fingerprint) const {
  if (!cache_ || !store_ || snapshots_queued_.count(key)) return false;
  auto it = cache_->latest_snapshot.find(key);
  return it != cache_->latest_snapshot.end() && at >= it->second.first &&
         !fingerprint.empty() && fingerprint == it->second.second;
}

void Mapper::Flush(catalog::WriteBatch& batch) {
  snapshots_queued_.clear();
  flushed_assets_.clear();
  flushed_edges_.clear();
  flushed_snapshots_.clear();
  for (auto& [id, owner] : owners_) batch.PutOwner(owner);
  for (auto& [key, p] : assets_) {
    // A job or table reported again as stored: no write (and no search reindex).
    const bool unchanged =
        p.stored && SameRecord(p.asset, p.stored->asset) && p.facets == p.stored->facets;
    if (!unchanged) {
      auto props = json::parse(p.asset.properties.empty() ? "{}" : p.asset.properties, nullptr,
                               /*allow_exceptions=*/false);
      if (!props.is_object()) props = json::object();
      if (!p.facets.empty()) props[std::string(kSource)]["facets"] = p.facets;
      p.asset.properties = props.dump();
      p.asset.tags.clear();
      p.asset.aliases.clear();
      batch.PutAsset(p.asset);
    }
    if (cache_) {
      // The columns go to the batch or to the cache, copied only when both need them.
      flushed_assets_.emplace_back(
          key, MapperCache::StoredAsset{p.asset, std::move(p.facets),
                                        p.has_columns ? p.columns : std::move(p.columns),
                                        p.schema_fixpoint, std::move(p.schema_fingerprint)});
    }
    if (p.has_columns) batch.SetColumns(key, std::move(p.columns));
  }
  for (auto& [alias, key] : aliases_) batch.PutAlias(alias, key);
  for (auto& [key, list] : ownerships_) batch.SetOwnerships(key, std::move(list));
  for (auto& r : rest_.runs()) batch.PutRun(r);
  for (auto& e : rest_.edges()) {
    if (cache_) {
      std::string id = EdgeIdentity(e);
      if (cache_->edges.count(id)) continue;  // stored exactly so already
      flushed_edges_.push_back(std::move(id));
    }
    batch.PutEdge(e);
  }
  for (auto& n : rest_.node_results()) batch.PutNodeResult(n);
  for (auto& p : rest_.points()) batch.AppendMetricPoint(p);
  for (auto& s : rest_.snapshots()) {
    if (!cache_ || !store_) {
      batch.PutSchemaSnapshot(s);
      continue;
    }
    // The store keeps a snapshot only when the one before it differs: decided here when the
    // latest is known, so a table reported with its usual schema costs nothing.
    std::string fingerprint = s.Fingerprint();
    auto known = flushed_snapshots_.find(s.asset);
    bool none_stored = false;
    if (known == flushed_snapshots_.end()) {
      if (auto it = cache_->latest_snapshot.find(s.asset); it != cache_->latest_snapshot.end()) {
        known = flushed_snapshots_.emplace(s.asset, it->second).first;
      } else if (auto history = store_->GetSchemaHistory(s.asset); history.ok()) {
        if (history->empty()) {
          none_stored = true;
        } else {
          const model::SchemaSnapshot& last = history->back();
          known = flushed_snapshots_.emplace(s.asset, std::pair(last.observed_at, last.Fingerprint()))
                      .first;
        }
      }  // else: not known, so not decided here and not remembered
    }
    if (known == flushed_snapshots_.end()) {
      if (none_stored) flushed_snapshots_.emplace(s.asset, std::pair(s.observed_at, fingerprint));
    } else if (s.observed_at >= known->second.first && fingerprint == known->second.second) {
      continue;
    } else if (s.observed_at > known->second.first) {
      known->second = {s.observed_at, fingerprint};
    } else if (s.observed_at == known->second.first) {
      // Another schema at the very same time is not stored (one snapshot per instant):
      // which one the store holds is left undecided, so nothing is skipped on it later.
      known->second.second.clear();
    }
    batch.PutSchemaSnapshot(s);
  }
  assets_.clear();
  owners_.clear();
  ownerships_.clear();
  aliases_.clear();
  rest_.Clear();
}

void Mapper::Committed() {
  if (!cache_) return;
  // Bounded: a catalog this large is re-read rather than held.
  constexpr size_t kMaxAssets = 100'000, kMaxEdges = 1'000'000;
  if (cache_->assets.size() > kMaxAssets || cache_->edges.size() > kMaxEdges) cache_->Clear();
  for (auto& [key, resolved] : resolved_) cache_->resolved.insert_or_assign(key, resolved);
  for (auto& [key, stored] : flushed_assets_) cache_->assets.insert_or_assign(key, std::move(stored));
  for (auto& id : flushed_edges_) cache_->edges.insert(std::move(id));
  for (auto& [key, latest] : flushed_snapshots_) {
    cache_->latest_snapshot.insert_or_assign(key, std::move(latest));
  }
  flushed_assets_.clear();
  flushed_edges_.clear();
  flushed_snapshots_.clear();
}

}  // namespace tidemark::collector::openlineage
