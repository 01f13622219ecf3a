# scripts/bench_vs_ort.py --int8 end to end on squeezenet1_1 (tests/cli/bench_scripts_check.py): both tables
# printed, latencies positive, ratios their quotients. Needs ONNX Runtime from scripts/setup.sh.
if(TARGET ortool)
  add_test(NAME cli_bench_scripts
           COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/bench_scripts_check.py --ortool $<TARGET_FILE:ortool>)
  set_tests_properties(cli_bench_scripts PROPERTIES TIMEOUT 600)
endif()
