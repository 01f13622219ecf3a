# End-to-end tests of `ortool optimize` on the real models and the test models: default check (which
# must run and pass), onnx checker, idempotence (a second run changes nothing), equal outputs in ONNX
# Runtime (scripts/setup.sh installs it into scripts/node_modules; missing, the test fails) and no more
# nodes than its basic level. The text detector runs in ONNX Runtime on an input it responds to.
set(ORTOOL_OPTIMIZE_MODELS ${PROJECT_SOURCE_DIR}/../shared/models)
add_test(NAME cli_optimize
         COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/optimize_check.py --ortool $<TARGET_FILE:ortool>
                 --ort-runner ${PROJECT_SOURCE_DIR}/scripts/ort_run.mjs
                 --args ppocr_cls=--shape=x=1,3,48,192 --args ppocr_det_v3=--shape=x=1,3,128,256
                 --args nnsplit_bilstm=--shape=input=1,24
                 --inputs ppocr_det_v3=${PROJECT_SOURCE_DIR}/testdata/models/ppocr_det_v3/text_set_0
                 "${ORTOOL_OPTIMIZE_MODELS}/*/model.onnx" "${PROJECT_SOURCE_DIR}/testdata/*.onnx")
set_tests_properties(cli_optimize PROPERTIES TIMEOUT 1800)
