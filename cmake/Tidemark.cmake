# Helpers shared by every module: one place for warnings, sanitizers and layout.

# Boost 1.74's Asio uses std::exchange without including <utility>; GCC 12 in C++20 needs it
# included first (TOOLCHAIN.md, gotcha 1). Applied to every target so no file has to remember.
function(tidemark_common_options target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -include utility)
  target_compile_definitions(${target} PRIVATE BOOST_ASIO_NO_DEPRECATED BOOST_BEAST_USE_STD_STRING_VIEW)
  if(TIDEMARK_SANITIZE)
    target_compile_options(${target} PRIVATE -fsanitize=address,undefined -fno-omit-frame-pointer
                                             -fno-sanitize-recover=undefined)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# tidemark_add_module(NAME SOURCES ... [PUBLIC_DEPS ...] [PRIVATE_DEPS ...])
# Defines tidemark_NAME (alias tidemark::NAME) with include/ public and src/ private.
function(tidemark_add_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;PUBLIC_DEPS;PRIVATE_DEPS" ${ARGN})
  add_library(tidemark_${name} STATIC ${ARG_SOURCES})
  add_library(tidemark::${name} ALIAS tidemark_${name})
  target_include_directories(tidemark_${name}
    PUBLIC ${CMAKE_CURRENT_SOURCE_DIR}/include
    PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/src)
  target_link_libraries(tidemark_${name} PUBLIC ${ARG_PUBLIC_DEPS} PRIVATE ${ARG_PRIVATE_DEPS})
  tidemark_common_options(tidemark_${name})
endfunction()

# tidemark_add_test(NAME SOURCES ... DEPS ...): one GoogleTest binary, discovered into CTest.
# Discovery runs the binary at build time, so tests read their environment when they run.
function(tidemark_add_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_include_directories(${name} PRIVATE ${PROJECT_SOURCE_DIR}/tests)
  tidemark_common_options(${name})
  set(labels unit)
  if(ARG_LABELS)
    set(labels ${ARG_LABELS})
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 60 PROPERTIES LABELS "${labels}"
                       ENVIRONMENT "TIDEMARK_SOURCE_DIR=${PROJECT_SOURCE_DIR}")
endfunction()

# tidemark_add_bench(NAME SOURCES ... DEPS ...): a Google Benchmark binary (not part of CTest).
function(tidemark_add_bench name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS})
  tidemark_common_options(${name})
endfunction()
