# Replays each fuzz target's corpus (fuzz/corpus/<name>/) through its LLVMFuzzerTestOneInput with the
# normal compiler: no clang needed, and the sanitizer build (scripts/test.sh --sanitize) replays it under
# ASan and UBSan. Every past finding lives in the corpus, so these are the fuzzers' regression tests.
include(${PROJECT_SOURCE_DIR}/fuzz/targets.cmake)
add_library(ortool_fuzz_replay_util STATIC ${PROJECT_SOURCE_DIR}/fuzz/fuzz_util.cpp
            ${CMAKE_CURRENT_LIST_DIR}/replay_main.cpp)
target_link_libraries(ortool_fuzz_replay_util PUBLIC ortool_lib)
foreach(name ${ORTOOL_FUZZ_TARGETS})
  add_executable(fuzz_replay_${name} ${PROJECT_SOURCE_DIR}/fuzz/fuzz_${name}.cpp ${ORTOOL_FUZZ_SOURCES_${name}})
  target_link_libraries(fuzz_replay_${name} PRIVATE ortool_fuzz_replay_util ${ORTOOL_FUZZ_LIBS_${name}})
  add_test(NAME unit_fuzz_${name} COMMAND fuzz_replay_${name} ${PROJECT_SOURCE_DIR}/fuzz/corpus/${name})
endforeach()
