# ONNX backend node conformance (tests/conformance/node_tests.py): every case of the Debian package
# libonnx-testdata through `ortool run`; fails when a case listed in expected_pass.txt fails, or when a
# case is in neither list (expected_pass.txt, known_failures.txt).
set(ORTOOL_NODE_TESTDATA /usr/share/libonnx-testdata/data/node CACHE PATH "ONNX backend node test cases")
if(NOT EXISTS ${ORTOOL_NODE_TESTDATA})
  message(WARNING "no ${ORTOOL_NODE_TESTDATA} (apt-get install libonnx-testdata): conformance_* not defined")
  ortool_require_data(conformance_data_present "no ONNX node test cases in ${ORTOOL_NODE_TESTDATA}")
elseif(TARGET ortool)
  add_test(NAME conformance_node
           COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/node_tests.py
                   --ortool $<TARGET_FILE:ortool> --data-dir ${ORTOOL_NODE_TESTDATA}
                   --expected ${CMAKE_CURRENT_LIST_DIR}/expected_pass.txt)
  # The same cases on the reference kernels alone (the default above puts oneDNN first when built with it).
  add_test(NAME conformance_node_cpu
           COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/node_tests.py
                   --ortool $<TARGET_FILE:ortool> --data-dir ${ORTOOL_NODE_TESTDATA} --providers cpu
                   --expected ${CMAKE_CURRENT_LIST_DIR}/expected_pass.txt)
  set_tests_properties(conformance_node conformance_node_cpu PROPERTIES TIMEOUT 1200)
  # And with XNNPACK first, when the runtime has the provider.
  get_target_property(_ortool_runtime_defs ortool_runtime INTERFACE_COMPILE_DEFINITIONS)
  if("ORTOOL_HAVE_XNNPACK" IN_LIST _ortool_runtime_defs)
    add_test(NAME conformance_node_xnnpack
             COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/node_tests.py
                     --ortool $<TARGET_FILE:ortool> --data-dir ${ORTOOL_NODE_TESTDATA} --providers xnnpack,cpu
                     --expected ${CMAKE_CURRENT_LIST_DIR}/expected_pass.txt)
    set_tests_properties(conformance_node_xnnpack PROPERTIES TIMEOUT 1200)
  endif()
  # The harness itself can fail: a stub ortool that always fails, a line deleted from expected_pass.txt,
  # a listed case missing from the data (node_tests_selfcheck.py).
  add_test(NAME conformance_selfcheck
           COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/node_tests_selfcheck.py
                   --harness ${CMAKE_CURRENT_LIST_DIR}/node_tests.py --data-dir ${ORTOOL_NODE_TESTDATA}
                   --expected ${CMAKE_CURRENT_LIST_DIR}/expected_pass.txt)
  set_tests_properties(conformance_selfcheck PROPERTIES TIMEOUT 600)
endif()
