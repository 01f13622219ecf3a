# ortool quantize end to end (tests/cli/quantize_cli.py): the digits CNN static and transformer dynamic keep
# held-out top-1 in ONNX Runtime and ortool, --report, --target-sqnr, the calibration-table round trip,
# resnet18's file size, bad calibration data and models (exit 2), a failed gate (exit 1, nothing written).
add_test(NAME cli_quantize
         COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/quantize_cli.py --ortool $<TARGET_FILE:ortool>
                 --ort-runner ${PROJECT_SOURCE_DIR}/scripts/ort_run.mjs --testdata ${PROJECT_SOURCE_DIR}/testdata
                 --gen-models ${PROJECT_SOURCE_DIR}/scripts/gen_models.py)
set_tests_properties(cli_quantize PROPERTIES TIMEOUT 1200)
