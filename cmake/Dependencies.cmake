# Finds the external dependencies. Each failure names the Debian package that provides it,
# which scripts/setup.sh installs.

macro(gptc_require found package what)
  if(NOT ${found})
    message(FATAL_ERROR "gptc: ${what} not found. Install the Debian package '${package}' "
                        "(scripts/setup.sh does this: sudo bash scripts/setup.sh).")
  endif()
endmacro()

find_package(LLVM 14 CONFIG QUIET PATHS /usr/lib/llvm-14/lib/cmake/llvm NO_DEFAULT_PATH)
if(NOT LLVM_FOUND)
  find_package(LLVM 14 CONFIG QUIET)
endif()
gptc_require(LLVM_FOUND llvm-14-dev "LLVM 14 (CMake config)")
if(NOT LLVM_VERSION_MAJOR EQUAL 14)
  message(FATAL_ERROR "gptc: found LLVM ${LLVM_PACKAGE_VERSION}; libHalide14 needs LLVM 14 "
                      "(Debian package 'llvm-14-dev').")
endif()

find_package(Halide 14 CONFIG QUIET)
gptc_require(Halide_FOUND libhalide14-0-dev "Halide 14")

find_package(Boost 1.74 QUIET COMPONENTS graph)
gptc_require(Boost_FOUND libboost-graph-dev "Boost.Graph")

find_package(absl CONFIG QUIET)
gptc_require(absl_FOUND libabsl-dev "Abseil")

find_package(GTest CONFIG QUIET)
if(NOT GTest_FOUND)
  find_package(GTest QUIET)
endif()
gptc_require(GTest_FOUND libgtest-dev "GoogleTest")

# JSON (safetensors headers, metrics, reports): header-only.
find_package(nlohmann_json 3 CONFIG QUIET)
gptc_require(nlohmann_json_FOUND nlohmann-json3-dev "nlohmann JSON")

find_package(benchmark CONFIG QUIET)
gptc_require(benchmark_FOUND libbenchmark-dev "Google Benchmark")

# PCRE2 (8-bit): GPT-2's pre-tokenizer regex needs Unicode classes and a lookahead.
find_path(PCRE2_INCLUDE_DIR pcre2.h)
find_library(PCRE2_LIBRARY pcre2-8)
if(PCRE2_INCLUDE_DIR AND PCRE2_LIBRARY)
  set(PCRE2_FOUND TRUE)
endif()
gptc_require(PCRE2_FOUND libpcre2-dev "PCRE2")

find_package(Threads REQUIRED)
# Optional: data parallelism (runtime/CMakeLists.txt).
find_package(MPI COMPONENTS C)

message(STATUS "gptc: LLVM ${LLVM_PACKAGE_VERSION}, Halide ${Halide_VERSION}, "
               "Boost ${Boost_VERSION}, abseil ${absl_VERSION}")
