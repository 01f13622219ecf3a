# compare end to end: every sample layout (files, subfolders, batch .npy, images, random, stored
# outputs), gates and their validation, PASS/FAIL verdicts, the progress bar, --shape in every session.
add_test(NAME cli_compare
         COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/compare_check.py --ortool $<TARGET_FILE:ortool>
                 --model ${PROJECT_SOURCE_DIR}/testdata/small_convnet.onnx)
set_tests_properties(cli_compare PROPERTIES TIMEOUT 600)
