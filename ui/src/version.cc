#include "tidemark/ui/version.h"

// TIDEMARK_VERSION and TIDEMARK_BUILD_TYPE come from ui/CMakeLists.txt, so the version has one
// source: the project() call in the top-level CMakeLists.txt.
#ifndef TIDEMARK_VERSION
#error "TIDEMARK_VERSION must be defined by the build"
#endif
#ifndef TIDEMARK_BUILD_TYPE
#define TIDEMARK_BUILD_TYPE ""
#endif

namespace tidemark::ui {

std::string_view Version() { return TIDEMARK_VERSION; }

std::string BuildDescription() {
  std::string build_type = TIDEMARK_BUILD_TYPE;
  if (build_type.empty()) build_type = "unspecified build type";
#if defined(__clang__)
  std::string compiler = "Clang " __clang_version__;
#elif defined(__GNUC__)
  std::string compiler = "GCC " __VERSION__;
#else
  std::string compiler = "unknown compiler";
#endif
  return build_type + ", " + compiler;
}

}  // namespace tidemark::ui
