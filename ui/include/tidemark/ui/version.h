#pragma once

// What this build is: its version (from the CMake project) and how it was built.

#include <string>
#include <string_view>

namespace tidemark::ui {

// "0.1.0".
std::string_view Version();

// "Debug, GCC 12.2.0": the build type and compiler, for `tidemark version` and bug reports.
std::string BuildDescription();

}  // namespace tidemark::ui
