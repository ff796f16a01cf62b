// The metadata block every dbt artifact starts with (or, in dbt Fusion's sorted output, holds
// somewhere at the top level), and the timing helpers shared by the result parsers.

#include <charconv>

#include "dbt_artifacts.h"

namespace tidemark::collector::dbt {
namespace {

// "https://schemas.getdbt.com/dbt/manifest/v12.json" -> ("manifest", 12).
void SplitSchemaUrl(std::string_view url, Metadata* m) {
  size_t slash = url.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return;
  std::string_view file = url.substr(slash + 1);
  size_t prev = url.rfind('/', slash - 1);
  std::string_view kind =
      url.substr(prev == std::string_view::npos ? 0 : prev + 1, slash - prev - 1);
  if (file.size() < 2 || file[0] != 'v') return;
  int version = 0;
  auto [end, ec] = std::from_chars(file.data() + 1, file.data() + file.size(), version);
  if (ec != std::errc() || std::string_view(end, file.data() + file.size() - end) != ".json") {
    return;
  }
  m->artifact = std::string(kind);
  m->version = version;
}

Status ReadMetadataObject(JsonInput& in, od::value value, const JsonPath& path, Metadata* m) {
  TM_ASSIGN_OR_RETURN(od::json_type type, in.TypeOf(value));
  if (type != od::json_type::object) {
    return in.Invalid(path, "expected an object", JsonInput::PositionOf(value));
  }
  od::object obj;
  if (auto error = value.get_object().get(obj)) return in.SyntaxError(error);
  for (auto item : obj) {
    od::field field;
    if (auto error = std::move(item).get(field)) return in.SyntaxError(error);
    std::string_view key = JsonInput::KeyOf(field);
    std::string* out = nullptr;
    if (key == "dbt_schema_version") {
      out = &m->schema_version_url;
    } else if (key == "dbt_version") {
      out = &m->dbt_version;
    } else if (key == "generated_at") {
      out = &m->generated_at_text;
    } else if (key == "invocation_id") {
      out = &m->invocation_id;
    } else if (key == "adapter_type") {
      out = &m->adapter_type;
    } else if (key == "project_name") {
      out = &m->project_name;
    } else if (key == "project_id") {
      out = &m->project_id;
    }
    if (out) {
      TM_ASSIGN_OR_RETURN(std::string_view s, in.LenientString(field.value()));
      *out = std::string(s);
    } else {
      TM_RETURN_IF_ERROR(in.SkipValue(field.value()));
    }
  }
  SplitSchemaUrl(m->schema_version_url, m);
  m->generated_at = model::ParseTimestamp(m->generated_at_text);
  return Status::Ok();
}

}  // namespace

std::string Metadata::VersionLabel() const {
  if (!artifact.empty()) return artifact + "/v" + std::to_string(version);
  return schema_version_url;
}

Result<Metadata> ReadMetadata(JsonInput& in) {
  TM_ASSIGN_OR_RETURN(od::object root, in.Root());
  Metadata m;
  JsonPath root_path;
  for (auto item : root) {
    od::field field;
    if (auto error = std::move(item).get(field)) return in.SyntaxError(error);
    if (JsonInput::KeyOf(field) == "metadata") {
      TM_RETURN_IF_ERROR(
          ReadMetadataObject(in, field.value(), JsonPath(root_path, "metadata"), &m));
      break;  // the rest is read (and checked) by the artifact's parser
    }
  }
  return m;
}

std::optional<Metadata> ReadLeadingMetadata(std::string_view name, std::string_view text) {
  // dbt-core writes metadata first, so a few KB hold it; reading a prefix spares the
  // structural scan of a whole 500 MB manifest when all that is wanted is its header.
  constexpr size_t kPrefix = 64 * 1024;
  if (text.size() <= kPrefix) return std::nullopt;
  // simdjson reads a root object only when its text ends with '}', and not inside a string:
  // try cuts just after the last few '}' of the prefix until one parses.
  size_t cut = kPrefix;
  for (int attempt = 0; attempt < 8; ++attempt) {
    size_t brace = text.rfind('}', cut - 1);
    if (brace == std::string_view::npos || brace == 0) break;
    cut = brace + 1;
    JsonInput prefix(std::string(name), text.substr(0, cut), 0);  // copied with padding
    Result<Metadata> m = ReadMetadata(prefix);
    if (m.ok() && !m->schema_version_url.empty()) return std::move(*m);
    cut = brace;
  }
  return std::nullopt;
}

Result<std::optional<model::Timestamp>> ReadTime(JsonInput& in, od::value value) {
  TM_ASSIGN_OR_RETURN(std::string_view s, in.LenientString(value));
  return model::ParseTimestamp(s);
}

Result<TimingSpan> ReadTiming(JsonInput& in, od::value value, const JsonPath& path) {
  TimingSpan all, execute;
  TM_ASSIGN_OR_RETURN(od::json_type type, in.TypeOf(value));
  if (type != od::json_type::array) {
    TM_RETURN_IF_ERROR(in.SkipValue(value));
    return all;
  }
  od::array arr;
  if (auto error = value.get_array().get(arr)) return in.SyntaxError(error);
  size_t index = 0;
  for (auto item : arr) {
    od::value element;
    if (auto error = std::move(item).get(element)) return in.SyntaxError(error);
    JsonPath at(path, index++);
    TM_ASSIGN_OR_RETURN(od::json_type t, in.TypeOf(element));
    if (t != od::json_type::object) {
      TM_RETURN_IF_ERROR(in.SkipValue(element));
      continue;
    }
    od::object phase;
    if (auto error = element.get_object().get(phase)) return in.SyntaxError(error);
    std::string name;
    TimingSpan span;
    for (auto f : phase) {
      od::field field;
      if (auto error = std::move(f).get(field)) return in.SyntaxError(error);
      std::string_view key = JsonInput::KeyOf(field);
      if (key == "name") {
        TM_ASSIGN_OR_RETURN(std::string_view s, in.LenientString(field.value()));
        name = std::string(s);
      } else if (key == "started_at") {
        TM_ASSIGN_OR_RETURN(span.started_at, ReadTime(in, field.value()));
      } else if (key == "completed_at") {
        TM_ASSIGN_OR_RETURN(span.completed_at, ReadTime(in, field.value()));
      } else {
        TM_RETURN_IF_ERROR(in.SkipValue(field.value()));
      }
    }
    if (name == "execute") execute = span;
    if (span.started_at && (!all.started_at || *span.started_at < *all.started_at)) {
      all.started_at = span.started_at;
    }
    if (span.completed_at && (!all.completed_at || *span.completed_at > *all.completed_at)) {
      all.completed_at = span.completed_at;
    }
  }
  all.first_started_at = all.started_at;
  all.last_completed_at = all.completed_at;
  if (execute.started_at || execute.completed_at) {
    if (execute.started_at) all.started_at = execute.started_at;
    if (execute.completed_at) all.completed_at = execute.completed_at;
  }
  return all;
}

}  // namespace tidemark::collector::dbt
