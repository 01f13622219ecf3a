# calib_probe: the tool scripts/calib_memory.sh runs to measure calibration memory (tests/quant/tools/).
add_executable(calib_probe ${CMAKE_CURRENT_LIST_DIR}/tools/calib_probe.cpp)
target_link_libraries(calib_probe PRIVATE ortool_quant ortool_passes ortool_runtime ortool_lib)
# Smoke test: the probe runs on the small test model with a histogram method and two passes.
add_test(NAME calib_probe_smoke
         COMMAND calib_probe ${PROJECT_SOURCE_DIR}/testdata/small_convnet.onnx 3 --method entropy --two-pass)
set_tests_properties(calib_probe_smoke PROPERTIES PASS_REGULAR_EXPRESSION "\"samples\": 3, .*\"passes\": 2")
