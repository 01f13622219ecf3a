# The quantizers end to end without the CLI: a small driver (tests/quant/driver) writes quantized files
# with the quant/ library; quantize_check.py checks them with onnx's checker and runs them in ONNX Runtime
# (scripts/ort_run.mjs) and in ortool, which must agree (SQNR >= 25 dB).
add_executable(quantize_driver ${CMAKE_CURRENT_LIST_DIR}/driver/quantize_driver.cpp)
target_link_libraries(quantize_driver PRIVATE ortool_quant ortool_passes ortool_runtime ortool_lib
                      nlohmann_json::nlohmann_json)
target_include_directories(quantize_driver PRIVATE ${PROJECT_SOURCE_DIR})
target_compile_definitions(quantize_driver PRIVATE ORTOOL_SOURCE_DIR="${PROJECT_SOURCE_DIR}")

add_test(NAME quant_files_check
         COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/quantize_check.py --driver $<TARGET_FILE:quantize_driver>
                 --ortool $<TARGET_FILE:ortool> --ort-runner ${PROJECT_SOURCE_DIR}/scripts/ort_run.mjs
                 --testdata ${PROJECT_SOURCE_DIR}/testdata --models ${PROJECT_SOURCE_DIR}/../shared/models)
set_tests_properties(quant_files_check PROPERTIES TIMEOUT 1800)
