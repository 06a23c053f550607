# The fuzz harnesses (fuzz/fuzz_*.cpp, fuzz/README.md).
# FOURIERCONV_FUZZ=ON (clang only: make fuzz): each harness is a libFuzzer target
#   build/fuzz/fuzz_<name>, the whole library compiled with -fsanitize=fuzzer-no-link.
# With the tests (as well, in one build: make test-sanitize and make fuzz share theirs): each
#   harness is also a replay program fuzz_<name>_replay and a test
#   Fuzz.<name> runs it on its seed corpus (test fixtures and fuzz/seeds/<name>) and on every
#   committed finding (fuzz/regressions/<name>).
find_path(FOURIERCONV_FUZZED_DATA_PROVIDER_DIR fuzzer/FuzzedDataProvider.h
          PATHS /usr/lib/llvm-14/lib/clang/14.0.6/include
          HINTS ${CMAKE_CXX_IMPLICIT_INCLUDE_DIRECTORIES}
          DOC "Directory holding LLVM's fuzzer/FuzzedDataProvider.h (Debian: libclang-rt-dev)")
if(NOT FOURIERCONV_FUZZED_DATA_PROVIDER_DIR)
  file(GLOB _fdp_candidates /usr/lib/llvm-*/lib/clang/*/include/fuzzer/FuzzedDataProvider.h)
  if(_fdp_candidates)
    list(GET _fdp_candidates 0 _fdp)
    get_filename_component(_fdp_dir ${_fdp} DIRECTORY)
    get_filename_component(FOURIERCONV_FUZZED_DATA_PROVIDER_DIR ${_fdp_dir} DIRECTORY CACHE)
  else()
    message(FATAL_ERROR "fuzzer/FuzzedDataProvider.h not found: install libclang-rt-dev (make deps)")
  endif()
endif()

# Only fuzzer/ is exposed (a link in the build tree): clang's whole resource include
# directory would shadow GCC's own stddef.h.
file(MAKE_DIRECTORY ${PROJECT_BINARY_DIR}/fuzz-include)
file(CREATE_LINK ${FOURIERCONV_FUZZED_DATA_PROVIDER_DIR}/fuzzer ${PROJECT_BINARY_DIR}/fuzz-include/fuzzer SYMBOLIC)

file(GLOB FOURIERCONV_FUZZ_HARNESSES CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/fuzz/fuzz_*.cpp)
foreach(src ${FOURIERCONV_FUZZ_HARNESSES})
  get_filename_component(name ${src} NAME_WE)   # fuzz_npy
  string(REGEX REPLACE "^fuzz_" "" short ${name}) # npy
  set(targets "")
  if(FOURIERCONV_FUZZ)
    add_executable(${name} ${src})
    target_link_options(${name} PRIVATE -fsanitize=fuzzer)
    list(APPEND targets ${name})
  endif()
  if(FOURIERCONV_TESTS)
    add_executable(${name}_replay ${src} ${PROJECT_SOURCE_DIR}/fuzz/replay.cpp)
    add_test(NAME Fuzz.${short}
             COMMAND ${CMAKE_COMMAND} -E env TMPDIR=${PROJECT_BINARY_DIR}/fuzz
                     ${PROJECT_SOURCE_DIR}/fuzz/run-replay ${PROJECT_BINARY_DIR}/fuzz/${name}_replay ${short})
    list(APPEND targets ${name}_replay)
  endif()
  foreach(target ${targets})
    set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/fuzz)
    target_include_directories(${target} PRIVATE ${PROJECT_BINARY_DIR}/fuzz-include ${PROJECT_SOURCE_DIR}/tools/fourierconv
                               ${PROJECT_SOURCE_DIR}/src)
    target_link_libraries(${target} PRIVATE fourierconv fourierconv_cli_lib PkgConfig::HDF5 ZLIB::ZLIB)
  endforeach()
endforeach()
