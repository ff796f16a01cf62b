// LoadDbtTarget and DbtArtifactsFromRequestBody: from files or an HTTP body to DbtArtifacts.
//
// Files are read whole into strings with kDbtJsonPadding bytes reserved past the end, so the
// parser reads them in place: a 300 MB manifest is in memory once, not twice.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <system_error>

#include "dbt_artifacts.h"
#include "tidemark/collector/dbt.h"

namespace tidemark::collector {
namespace {

namespace fs = std::filesystem;

struct FdCloser {
  int fd;
  ~FdCloser() { ::close(fd); }
};

// Asks for transparent huge pages under a large buffer not touched yet: a 500 MB manifest is
// 250 page faults instead of 125,000, which on a virtual machine cost more than the read.
void AdviseHugePages(char* data, size_t size) {
#ifdef MADV_HUGEPAGE
  constexpr uintptr_t kHuge = uintptr_t{2} << 20;
  if (size < 4 * kHuge) return;
  const auto begin = reinterpret_cast<uintptr_t>(data);
  const uintptr_t first = (begin + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t last = (begin + size) & ~(kHuge - 1);
  if (last > first) {
    (void)::madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE);  // a hint
  }
#else
  (void)data, (void)size;
#endif
}

Result<std::string> ReadWhole(const fs::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return Status::IoError(std::string("cannot open for reading: ") + std::strerror(errno),
                           path.string());
  }
  FdCloser closer{fd};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    return Status::IoError(std::string("cannot read: ") + std::strerror(errno), path.string());
  }
  const auto size = static_cast<size_t>(st.st_size);
  std::string text;
  text.reserve(size + kDbtJsonPadding);
  AdviseHugePages(text.data(), size + kDbtJsonPadding);
  text.resize(size);
  size_t got = 0;
  while (got < size) {
    const ssize_t n = ::read(fd, text.data() + got, size - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return Status::IoError(std::string("read failed: ") + std::strerror(errno), path.string());
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  if (got != size) {
    return Status::IoError(
        "short read (" + std::to_string(got) + " of " + std::to_string(size) + " bytes)",
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
