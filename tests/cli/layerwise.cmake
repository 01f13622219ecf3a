# compare --layerwise end to end (tests/cli/layerwise_check.py): the first divergent node of a model with one
# perturbed weight, equal models, and the lowest-SQNR layers of an int8 model written by quantize.
add_test(NAME cli_compare_layerwise
         COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/layerwise_check.py --ortool $<TARGET_FILE:ortool>
                 --testdata ${PROJECT_SOURCE_DIR}/testdata)
set_tests_properties(cli_compare_layerwise PROPERTIES TIMEOUT 900)
