# prune end to end: small torchvision-style models made by the script (residual, depthwise, channel
# shuffle, squeeze-excite) and the convolutional models of ../shared/models pruned at ratio 0.3, checked
# by onnx's checker and run in ONNX Runtime with the original output shapes; bad ratios and names,
# nothing to prune, a failed gate.
set(ORTOOL_PRUNE_MODELS ${PROJECT_SOURCE_DIR}/../shared/models)
add_test(NAME cli_prune
         COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/prune_check.py --ortool $<TARGET_FILE:ortool>
                 --ort-runner ${PROJECT_SOURCE_DIR}/scripts/ort_run.mjs
                 --args ppocr_cls=--shape=x=1,3,48,192 --args ppocr_det_v3=--shape=x=1,3,96,128
                 ${ORTOOL_PRUNE_MODELS}/mnist14_onnx2c/model.onnx ${ORTOOL_PRUNE_MODELS}/ppocr_cls/model.onnx
                 ${ORTOOL_PRUNE_MODELS}/ppocr_det_v3/model.onnx ${ORTOOL_PRUNE_MODELS}/ultraface_rfb640/model.onnx)
set_tests_properties(cli_prune PROPERTIES TIMEOUT 1200)

# Recovery (--calib), --sensitivity and --target-macs end to end: the small torch models with random
# calibration samples, the digits CNN, and a recovery step undone on ppocr_det_v3.
add_test(NAME cli_prune_recover
         COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/prune_recover_check.py --ortool $<TARGET_FILE:ortool>
                 --ort-runner ${PROJECT_SOURCE_DIR}/scripts/ort_run.mjs --digits ${PROJECT_SOURCE_DIR}/testdata/digits
                 --models ${ORTOOL_PRUNE_MODELS})
set_tests_properties(cli_prune_recover PROPERTIES TIMEOUT 600)
