#pragma once

// Where test inputs live: the shared, unedited real artifacts (../shared/fixtures next to the
// repository, or TIDEMARK_FIXTURES) and this repository's own hand-written ones (tests/data).
// A missing folder is a test failure, never a skip: a suite that silently tests nothing is
// worse than a red one.

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace tidemark::testing {

// The repository root: TIDEMARK_SOURCE_DIR (set by tidemark_add_test for ctest) or the path
// the test was compiled in.
inline std::filesystem::path SourceDir() {
  if (const char* dir = std::getenv("TIDEMARK_SOURCE_DIR"); dir && *dir) return dir;
#ifdef TIDEMARK_TEST_SOURCE_DIR
  return TIDEMARK_TEST_SOURCE_DIR;
#else
  return std::filesystem::current_path();
#endif
}

// ../shared/fixtures, or TIDEMARK_FIXTURES.
inline std::filesystem::path SharedFixtures() {
  if (const char* dir = std::getenv("TIDEMARK_FIXTURES"); dir && *dir) return dir;
  return SourceDir() / ".." / "shared" / "fixtures";
}

// tests/data of this repository.
inline std::filesystem::path TestData() { return SourceDir() / "tests" / "data"; }

// Files directly in `dir` whose name starts with `prefix`, sorted. Fails the test when the
// folder is missing or holds none.
inline std::vector<std::filesystem::path> FixtureFiles(const std::filesystem::path& dir,
                                                       const std::string& prefix) {
  std::vector<std::filesystem::path> out;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    ADD_FAILURE() << "fixture folder " << dir
                  << " is missing (set TIDEMARK_FIXTURES to the shared fixtures folder)";
    return out;
  }
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind(prefix, 0) == 0) out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  if (out.empty()) ADD_FAILURE() << "no fixture named " << prefix << "* in " << dir;
  return out;
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path;
    return {};
  }
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace tidemark::testing
