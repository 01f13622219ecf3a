# `ortool bench --profile` on a small quantized model (tests/cli/bench_int8_groups_check.py): the int8 groups
# that fuse are listed as "DQ->Conv->Q" (on dnnl also DQ->ConvTranspose/AveragePool/Resize->Q) under the op's
# name, the one that cannot (weight zero point not 0) as fallen back with qdq_group's reason, in the text and
# in --json; on dnnl, and on xnnpack when built.
add_test(NAME cli_bench_int8_groups
         COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/bench_int8_groups_check.py --ortool $<TARGET_FILE:ortool>)
if(ORTOOL_WITH_XNNPACK)
  add_test(NAME cli_bench_int8_groups_xnnpack
           COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/bench_int8_groups_check.py --ortool $<TARGET_FILE:ortool>
                   --provider xnnpack)
endif()
