# ONNX backend node conformance (tests/conformance/node_tests.py): every case of the Debian package
# libonnx-testdata through `ortool run`; fails when a case listed in expected_pass.txt fails.
if(TARGET ortool AND EXISTS /usr/share/libonnx-testdata/data/node)
  add_test(NAME conformance_node
           COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/node_tests.py
                   --ortool $<TARGET_FILE:ortool>
                   --expected ${CMAKE_CURRENT_LIST_DIR}/expected_pass.txt)
  # The same cases on the reference kernels alone (the default above puts oneDNN first when built with it).
  add_test(NAME conformance_node_cpu
           COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/node_tests.py
                   --ortool $<TARGET_FILE:ortool> --providers cpu
                   --expected ${CMAKE_CURRENT_LIST_DIR}/expected_pass.txt)
  set_tests_properties(conformance_node conformance_node_cpu PROPERTIES TIMEOUT 1200)
  # And with XNNPACK first, when the runtime has the provider.
  get_target_property(_ortool_runtime_defs ortool_runtime INTERFACE_COMPILE_DEFINITIONS)
  if("ORTOOL_HAVE_XNNPACK" IN_LIST _ortool_runtime_defs)
    add_test(NAME conformance_node_xnnpack
             COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/node_tests.py
                     --ortool $<TARGET_FILE:ortool> --providers xnnpack,cpu
                     --expected ${CMAKE_CURRENT_LIST_DIR}/expected_pass.txt)
    set_tests_properties(conformance_node_xnnpack PROPERTIES TIMEOUT 1200)
  endif()
endif()
