// LoadDbtTarget and DbtArtifactsFromRequestBody: from files or an HTTP body to DbtArtifacts.
//
// Files are read whole into strings with kDbtJsonPadding bytes reserved past the end, so the
// parser reads them in place: a 300 MB manifest is in memory once, not twice.

#include <cstdio>
#include <memory>
#include <system_error>

#include "dbt_artifacts.h"
#include "tidemark/collector/dbt.h"

namespace tidemark::collector {
namespace {

namespace fs = std::filesystem;

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};

Result<std::string> ReadWhole(const fs::path& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return Status::IoError("cannot read: " + ec.message(), path.string());
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "rb"));
  if (!file) return Status::IoError("cannot open for reading", path.string());
  std::string text;
  text.reserve(static_cast<size_t>(size) + kDbtJsonPadding);
  text.resize(static_cast<size_t>(size));
  size_t got = std::fread(text.data(), 1, text.size(), file.get());
  if (got != text.size() || std::ferror(file.get())) {
    return Status::IoError(
        "short read (" + std::to_string(got) + " of " + std::to_string(text.size()) + " bytes)",
        path.string());
  }
  return text;
}

// The slot of a file named as dbt names it, or nullptr.
DbtDocument* SlotByName(DbtArtifacts& a, const std::string& filename) {
  if (filename == "manifest.json") return &a.manifest;
  if (filename == "run_results.json") return &a.run_results;
  if (filename == "sources.json") return &a.sources;
  if (filename == "catalog.json") return &a.catalog;
  return nullptr;
}

DbtDocument* SlotByArtifact(DbtArtifacts& a, std::string_view artifact) {
  if (artifact == "manifest") return &a.manifest;
  if (artifact == "run-results") return &a.run_results;
  if (artifact == "sources") return &a.sources;
  if (artifact == "catalog") return &a.catalog;
  return nullptr;
}

Status Place(DbtDocument* slot, const fs::path& path, std::string text) {
  if (slot->present()) {
    return Status::InvalidArgument("two files for the same artifact: '" + slot->name_for_errors +
                                       "' and '" + path.string() + "'",
                                   path.string());
  }
  slot->name_for_errors = path.string();
  slot->json_text = std::move(text);
  return Status::Ok();
}

Status AddFile(DbtArtifacts& out, const fs::path& path) {
  TM_ASSIGN_OR_RETURN(std::string text, ReadWhole(path));
  DbtDocument* slot = SlotByName(out, path.filename().string());
  if (!slot) {
    // Not named as dbt names it: recognise it by the schema URL in its metadata.
    JsonInput input(path.string(), text, text.capacity());
    TM_ASSIGN_OR_RETURN(dbt::Metadata m, dbt::ReadMetadata(input));
    slot = SlotByArtifact(out, m.artifact);
    if (!slot) {
      return Status::InvalidArgument(
          "not a dbt artifact (no metadata.dbt_schema_version naming a manifest, run-results, "
          "sources or catalog schema)",
          path.string());
    }
  }
  return Place(slot, path, std::move(text));
}

}  // namespace

Result<DbtArtifacts> LoadDbtTarget(const std::vector<std::filesystem::path>& paths) {
  DbtArtifacts out;
  if (paths.empty()) return Status::InvalidArgument("no path given", "dbt");
  for (const fs::path& path : paths) {
    std::error_code ec;
    fs::file_status st = fs::status(path, ec);
    if (ec || !fs::exists(st)) {
      return Status::InvalidArgument("no such file or directory", path.string());
    }
    if (fs::is_directory(st)) {
      bool found = false;
      for (const char* name :
           {"manifest.json", "run_results.json", "sources.json", "catalog.json"}) {
        fs::path file = path / name;
        if (!fs::is_regular_file(file, ec)) continue;
        found = true;
        TM_RETURN_IF_ERROR(AddFile(out, file));
      }
      if (!found) {
        return Status::InvalidArgument(
            "no dbt artifact in this directory (manifest.json, run_results.json, sources.json "
            "or catalog.json)",
            path.string());
      }
    } else {
      TM_RETURN_IF_ERROR(AddFile(out, path));
    }
  }
  return out;
}

Result<DbtArtifacts> DbtArtifactsFromRequestBody(std::string_view body) {
  DbtArtifacts out;
  JsonInput in("request", body, body.size());  // an HTTP body has no padding: copied once
  TM_ASSIGN_OR_RETURN(od::object root, in.Root());
  JsonPath root_path;
  for (auto item : root) {
    od::field field;
    if (auto error = std::move(item).get(field)) return in.SyntaxError(error);
    std::string_view key = JsonInput::KeyOf(field);
    DbtDocument* slot = SlotByName(out, std::string(key) + ".json");
    od::value value = field.value();
    if (!slot) {
      TM_RETURN_IF_ERROR(in.SkipValue(value));
      continue;
    }
    JsonPath path(root_path, key);
    TM_ASSIGN_OR_RETURN(od::json_type type, in.TypeOf(value));
    if (type == od::json_type::null) {
      TM_RETURN_IF_ERROR(in.SkipValue(value));
      continue;
    }
    if (type != od::json_type::object) {
      return in.Invalid(path, "expected a dbt artifact object", JsonInput::PositionOf(value));
    }
    // Copied as written; IngestDbt checks it (its lines count from the member's start).
    od::object member;
    std::string_view rest;
    if (auto error = value.get_object().get(member)) return in.SyntaxError(error);
    if (auto error = member.raw_json().get(rest)) return in.SyntaxError(error);
    slot->name_for_errors = "request." + std::string(key);
    slot->json_text.reserve(rest.size() + kDbtJsonPadding);
    slot->json_text.assign(rest);
  }
  TM_RETURN_IF_ERROR(in.ExpectEnd());
  if (!out.manifest.present() && !out.run_results.present() && !out.sources.present() &&
      !out.catalog.present()) {
    return Status::InvalidArgument(
        "the request names no dbt artifact (manifest, run_results, sources, catalog)", "request");
  }
  return out;
}

}  // namespace tidemark::collector
