// run_results.json v1-v6, sources.json v1-v3 and catalog.json v1.
//
// Their shapes barely moved across versions; what varies is the values: run_results v2-v4
// statuses outside the published enum, adapter_response as {} or full of adapter-specific
// keys, failures as null or a count, catalog stats whose value is a number, a numeric string,
// a boolean or text depending on the adapter. Those are read leniently; the structure that
// carries meaning (a results array, objects where objects belong, ids as strings) is checked.

#include <cmath>

#include "dbt_artifacts.h"

namespace tidemark::collector::dbt {
namespace {

std::optional<long long> AsCount(std::optional<double> d) {
  if (!d || !std::isfinite(*d) || *d < 0 || *d > 9.0e18) return std::nullopt;
  return static_cast<long long>(std::llround(*d));
}

// The results array every result artifact has; `fn(value, path)` reads one element.
template <typename Fn>
Status ForEachResult(JsonInput& in, od::value value, const JsonPath& path, Fn&& fn) {
  TM_ASSIGN_OR_RETURN(od::json_type type, in.TypeOf(value));
  if (type != od::json_type::array) {
    return in.Invalid(path, "\"results\" must be an array", JsonInput::PositionOf(value));
  }
  return in.ForEachElement(value, path, [&](od::value element, size_t i) -> Status {
    JsonPath at(path, i);
    TM_ASSIGN_OR_RETURN(od::json_type t, in.TypeOf(element));
    if (t != od::json_type::object) {
      return in.Invalid(at, "expected a result object", JsonInput::PositionOf(element));
    }
    return fn(element, at);
  });
}

Status RequireId(JsonInput& in, const std::string& id, const JsonPath& at) {
  if (id.empty()) return in.Invalid(JsonPath(at, "unique_id"), "the result has no unique_id");
  return Status::Ok();
}

Result<NodeRun> ReadNodeRun(JsonInput& in, od::value value, const JsonPath& path) {
  NodeRun r;
  TM_RETURN_IF_ERROR(in.ForEachField(value, path, [&](od::field& field) -> Status {
    std::string_view key = JsonInput::KeyOf(field);
    JsonPath at(path, key);
    od::value v = field.value();
    auto text = [&](std::string* out) -> Status {
      TM_ASSIGN_OR_RETURN(std::string_view s, in.LenientString(v));
      *out = std::string(s);
      return Status::Ok();
    };
    if (key == "unique_id") {
      TM_ASSIGN_OR_RETURN(std::string_view s, in.String(v, at));
      r.unique_id = std::string(s);
      return Status::Ok();
    }
    if (key == "status") return text(&r.status);
    if (key == "thread_id") return text(&r.thread);
    if (key == "message") return text(&r.message);
    if (key == "relation_name") return text(&r.relation_name);
    if (key == "execution_time") {
      TM_ASSIGN_OR_RETURN(r.execution_time, in.Number(v));
      return Status::Ok();
    }
    if (key == "failures") {
      TM_ASSIGN_OR_RETURN(std::optional<double> f, in.Number(v));
      r.failures = AsCount(f);
      return Status::Ok();
    }
    if (key == "timing") {
      TM_ASSIGN_OR_RETURN(TimingSpan span, ReadTiming(in, v, at));
      r.started_at = span.started_at;
      r.completed_at = span.completed_at;
      r.first_started_at = span.first_started_at;
      r.last_completed_at = span.last_completed_at;
      return Status::Ok();
    }
    if (key == "adapter_response") {
      TM_ASSIGN_OR_RETURN(od::json_type type, in.TypeOf(v));
      if (type != od::json_type::object) return in.SkipValue(v);
      TM_ASSIGN_OR_RETURN(nlohmann::json response, in.ToDom(v));
      if (auto it = response.find("rows_affected"); it != response.end() && it->is_number()) {
        r.rows_affected = AsCount(it->get<double>());
      }
      if (!response.empty()) r.adapter_response = std::move(response);
      return Status::Ok();
    }
    return in.SkipValue(v);  // compiled code, the node itself, batch results, ...
  }));
  TM_RETURN_IF_ERROR(RequireId(in, r.unique_id, path));
  return r;
}

Result<FreshnessResult> ReadFreshness(JsonInput& in, od::value value, const JsonPath& path) {
  FreshnessResult r;
  TM_RETURN_IF_ERROR(in.ForEachField(value, path, [&](od::field& field) -> Status {
    std::string_view key = JsonInput::KeyOf(field);
    JsonPath at(path, key);
    od::value v = field.value();
    if (key == "unique_id") {
      TM_ASSIGN_OR_RETURN(std::string_view s, in.String(v, at));
      r.unique_id = std::string(s);
    } else if (key == "status" || key == "thread_id") {
      TM_ASSIGN_OR_RETURN(std::string_view s, in.LenientString(v));
      (key == "status" ? r.status : r.thread) = std::string(s);
    } else if (key == "error") {
      TM_ASSIGN_OR_RETURN(nlohmann::json e, in.ToDom(v));
      if (e.is_string()) {
        r.error = e.get<std::string>();
      } else if (!e.is_null()) {
        r.error = e.dump();
      }
    } else if (key == "max_loaded_at") {
      TM_ASSIGN_OR_RETURN(r.max_loaded_at, ReadTime(in, v));
    } else if (key == "snapshotted_at") {
      TM_ASSIGN_OR_RETURN(r.snapshotted_at, ReadTime(in, v));
    } else if (key == "max_loaded_at_time_ago_in_s") {
      TM_ASSIGN_OR_RETURN(r.age_s, in.Number(v));
    } else if (key == "execution_time") {
      TM_ASSIGN_OR_RETURN(r.execution_time, in.Number(v));
    } else if (key == "criteria") {
      TM_ASSIGN_OR_RETURN(r.criteria, in.ToDom(v));
    } else if (key == "timing") {
      TM_ASSIGN_OR_RETURN(TimingSpan span, ReadTiming(in, v, at));
      r.started_at = span.started_at;
      r.completed_at = span.completed_at;
    } else {
      return in.SkipValue(v);
    }
    return Status::Ok();
  }));
  TM_RETURN_IF_ERROR(RequireId(in, r.unique_id, path));
  return r;
}

Result<CatalogEntry> ReadCatalogEntry(JsonInput& in, std::string key, od::value value,
                                      const JsonPath& path) {
  CatalogEntry e;
  e.unique_id = std::move(key);
  TM_ASSIGN_OR_RETURN(od::json_type type, in.TypeOf(value));
  if (type != od::json_type::object) {
    return in.Invalid(path, "expected a catalog table object", JsonInput::PositionOf(value));
  }
  TM_RETURN_IF_ERROR(in.ForEachField(value, path, [&](od::field& field) -> Status {
    std::string_view k = JsonInput::KeyOf(field);
    JsonPath at(path, k);
    od::value v = field.value();
    if (k == "unique_id") {
      TM_ASSIGN_OR_RETURN(std::string_view s, in.String(v, at));
      if (!s.empty()) e.unique_id = std::string(s);
      return Status::Ok();
    }
    if (k == "metadata") {
      return in.ForEachField(v, at, [&](od::field& f) -> Status {
        std::string_view mk = JsonInput::KeyOf(f);
        if (mk != "type" && mk != "comment") return in.SkipValue(f.value());
        TM_ASSIGN_OR_RETURN(std::string_view s, in.LenientString(f.value()));
        (mk == "type" ? e.table_type : e.comment) = std::string(s);
        return Status::Ok();
      });
    }
    if (k == "columns") {
      return in.ForEachField(v, at, [&](od::field& f) -> Status {
        TM_ASSIGN_OR_RETURN(std::string_view name, in.UnescapedKey(f));
        CatalogColumn c;
        c.name = std::string(name);
        JsonPath cp(at, c.name);
        TM_ASSIGN_OR_RETURN(od::json_type t, in.TypeOf(f.value()));
        if (t != od::json_type::object) {
          return in.Invalid(cp, "expected a column object", JsonInput::PositionOf(f.value()));
        }
        TM_RETURN_IF_ERROR(in.ForEachField(f.value(), cp, [&](od::field& cf) -> Status {
          std::string_view ck = JsonInput::KeyOf(cf);
          if (ck == "type" || ck == "comment" || ck == "name") {
            TM_ASSIGN_OR_RETURN(std::string_view s, in.LenientString(cf.value()));
            if (ck == "type") c.type = std::string(s);
            if (ck == "comment") c.comment = std::string(s);
            if (ck == "name" && !s.empty()) c.name = std::string(s);
            return Status::Ok();
          }
          if (ck == "index") {
            TM_ASSIGN_OR_RETURN(std::optional<double> index, in.Number(cf.value()));
            if (index && *index >= 0 && *index < 1e9) c.index = static_cast<int>(*index);
            return Status::Ok();
          }
          return in.SkipValue(cf.value());
        }));
        e.columns.push_back(std::move(c));
        return Status::Ok();
      });
    }
    if (k == "stats") {
      return in.ForEachField(v, at, [&](od::field& f) -> Status {
        TM_ASSIGN_OR_RETURN(std::string_view id, in.UnescapedKey(f));
        CatalogStat stat;
        stat.id = std::string(id);
        TM_ASSIGN_OR_RETURN(od::json_type t, in.TypeOf(f.value()));
        if (t != od::json_type::object) return in.SkipValue(f.value());
        TM_RETURN_IF_ERROR(in.ForEachField(f.value(), at, [&](od::field& sf) -> Status {
          std::string_view sk = JsonInput::KeyOf(sf);
          if (sk == "include") {
            TM_ASSIGN_OR_RETURN(std::optional<bool> include, in.Bool(sf.value()));
            stat.include = include.value_or(true);
            return Status::Ok();
          }
          if (sk != "value") return in.SkipValue(sf.value());
          TM_ASSIGN_OR_RETURN(nlohmann::json value, in.ToDom(sf.value()));
          if (value.is_number()) {
            stat.number = value.get<double>();
          } else if (value.is_string()) {
            stat.text = value.get<std::string>();
            const std::string& s = stat.text;
            char* end = nullptr;
            double d = std::strtod(s.c_str(), &end);
            if (!s.empty() && end == s.c_str() + s.size()) stat.number = d;
          }
          return Status::Ok();
        }));
        e.stats.push_back(std::move(stat));
        return Status::Ok();
      });
    }
    return in.SkipValue(v);
  }));
  std::stable_sort(
      e.columns.begin(), e.columns.end(),
      [](const CatalogColumn& a, const CatalogColumn& b) { return a.index < b.index; });
  return e;
}

// run_results.json and sources.json share one shape: a "results" array of per-node objects,
// "elapsed_time", "metadata" and keys we skip. `on_result` reads one result; `on_other` may claim
// another top-level key (returns false to skip it).
template <typename Doc, typename OnResult, typename OnOther>
Result<Doc> ParseResultsDocument(JsonInput& in, std::string_view what, OnResult&& on_result,
                                 OnOther&& on_other) {
  Doc out;
  TM_ASSIGN_OR_RETURN(od::object root, in.Root());
  JsonPath root_path;
  bool saw_results = false;
  for (auto item : root) {
    od::field field;
    if (auto error = std::move(item).get(field)) return in.SyntaxError(error);
    std::string_view key = JsonInput::KeyOf(field);
    JsonPath path(root_path, key);
    od::value v = field.value();
    if (key == "results") {
      saw_results = true;
      TM_RETURN_IF_ERROR(ForEachResult(in, v, path, [&](od::value r, const JsonPath& at) {
        return on_result(out, r, at);
      }));
    } else if (key == "elapsed_time") {
      TM_ASSIGN_OR_RETURN(out.elapsed_time, in.Number(v));
    } else {
      TM_ASSIGN_OR_RETURN(bool claimed, on_other(out, key, v));
      if (!claimed) TM_RETURN_IF_ERROR(in.SkipValue(v));
    }
  }
  TM_RETURN_IF_ERROR(in.ExpectEnd());
  if (!saw_results) {
    return in.Invalid(JsonPath(root_path, "results"),
                      "not a dbt " + std::string(what) + ": it has no \"results\" array");
  }
  TM_ASSIGN_OR_RETURN(out.metadata, ReadMetadata(in));
  return out;
}

}  // namespace

Result<RunResults> ParseRunResults(JsonInput& in) {
  return ParseResultsDocument<RunResults>(
      in, "run_results.json",
      [&](RunResults& out, od::value r, const JsonPath& at) -> Status {
        TM_ASSIGN_OR_RETURN(NodeRun run, ReadNodeRun(in, r, at));
        out.results.push_back(std::move(run));
        return Status::Ok();
      },
      [&](RunResults& out, std::string_view key, od::value v) -> Result<bool> {
        if (key != "args") return false;
        TM_ASSIGN_OR_RETURN(out.args, in.ToDom(v));
        return true;
      });
}

Result<SourceFreshness> ParseSources(JsonInput& in) {
  return ParseResultsDocument<SourceFreshness>(
      in, "sources.json",
      [&](SourceFreshness& out, od::value r, const JsonPath& at) -> Status {
        TM_ASSIGN_OR_RETURN(FreshnessResult fr, ReadFreshness(in, r, at));
        out.results.push_back(std::move(fr));
        return Status::Ok();
      },
      [](SourceFreshness&, std::string_view, od::value) -> Result<bool> { return false; });
}

Result<Catalog> ParseCatalog(JsonInput& in) {
  Catalog out;
  TM_ASSIGN_OR_RETURN(od::object root, in.Root());
  JsonPath root_path;
  bool saw_nodes = false;
  for (auto item : root) {
    od::field field;
    if (auto error = std::move(item).get(field)) return in.SyntaxError(error);
    std::string_view key = JsonInput::KeyOf(field);
    JsonPath path(root_path, key);
    od::value v = field.value();
    if (key == "nodes" || key == "sources") {
      if (key == "nodes") {
        saw_nodes = true;
        TM_ASSIGN_OR_RETURN(od::json_type type, in.TypeOf(v));
        if (type != od::json_type::object) {
          return in.Invalid(path, "\"nodes\" must be an object", JsonInput::PositionOf(v));
        }
      }
      TM_RETURN_IF_ERROR(in.ForEachField(v, path, [&](od::field& f) -> Status {
        TM_ASSIGN_OR_RETURN(std::string_view id, in.UnescapedKey(f));
        std::string k(id);
        JsonPath at(path, k);
        TM_ASSIGN_OR_RETURN(CatalogEntry entry, ReadCatalogEntry(in, k, f.value(), at));
        out.entries.push_back(std::move(entry));
        return Status::Ok();
      }));
    } else {
      TM_RETURN_IF_ERROR(in.SkipValue(v));
    }
  }
  TM_RETURN_IF_ERROR(in.ExpectEnd());
  if (!saw_nodes) {
    return in.Invalid(JsonPath(root_path, "nodes"),
                      "not a dbt catalog.json: it has no \"nodes\" object");
  }
  TM_ASSIGN_OR_RETURN(out.metadata, ReadMetadata(in));
  return out;
}

}  // namespace tidemark::collector::dbt
