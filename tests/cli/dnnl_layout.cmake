# NHWC regions of the dnnl provider (tests/cli/dnnl_layout_check.py): pointwise and depthwise convs and
# windowed pools take NHWC tensors without reorders between them (oneDNN's verbose log), and equal cpu.
if(ORTOOL_WITH_DNNL)
  add_test(NAME cli_dnnl_layout
           COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/dnnl_layout_check.py --ortool $<TARGET_FILE:ortool>)
  set_tests_properties(cli_dnnl_layout PROPERTIES TIMEOUT 120)
endif()
