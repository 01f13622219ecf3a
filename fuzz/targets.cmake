# The fuzz targets: fuzz/fuzz_<name>.cpp each, with a corpus in fuzz/corpus/<name>/. Read by
# fuzz/CMakeLists.txt (libFuzzer builds, clang) and tests/fuzz/fuzz.cmake (corpus replay in every build).
set(ORTOOL_FUZZ_TARGETS model_load external_data npy tensor_pb samples calib_table optimize)
# What each target links besides fuzz/fuzz_util.cpp: no more than it needs, so the readers' targets
# build (and start) long before the runtime's kernels are compiled.
set(ORTOOL_FUZZ_LIBS_model_load ortool_lib)
set(ORTOOL_FUZZ_LIBS_external_data ortool_lib)
set(ORTOOL_FUZZ_LIBS_npy ortool_lib)
set(ORTOOL_FUZZ_LIBS_tensor_pb ortool_lib)
# The sample reader alone (runtime/samples.cpp and the feeds it makes), without the kernels.
set(ORTOOL_FUZZ_LIBS_samples ortool_lib)
set(ORTOOL_FUZZ_SOURCES_samples ${PROJECT_SOURCE_DIR}/runtime/samples.cpp ${PROJECT_SOURCE_DIR}/runtime/feeds.cpp)
set(ORTOOL_FUZZ_LIBS_optimize ortool_passes)
# The calibration table reader alone, without the rest of quant/ (and so without the runtime).
set(ORTOOL_FUZZ_LIBS_calib_table ortool_lib nlohmann_json::nlohmann_json)
set(ORTOOL_FUZZ_SOURCES_calib_table ${PROJECT_SOURCE_DIR}/quant/calib_table.cpp)
