# Ops of opsets 18 to 23 against ONNX Runtime 1.30 (scripts/opset_vs_ort.py): one-node models built with
# onnx's helper, run by ONNX Runtime and `ortool run`, outputs compared. Fails when ONNX Runtime runs a
# case and ortool fails it or differs, and when a case marked as one ONNX Runtime cannot run does run.
# ONNX Runtime comes from scripts/setup.sh (scripts/node_modules); missing, the script fails.
if(TARGET ortool)
  add_test(NAME conformance_opset_vs_ort
           COMMAND ${ORTOOL_PYTHON} ${PROJECT_SOURCE_DIR}/scripts/opset_vs_ort.py --ortool $<TARGET_FILE:ortool>)
  set_tests_properties(conformance_opset_vs_ort PROPERTIES TIMEOUT 900)
endif()
