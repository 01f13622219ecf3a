# End-to-end tests of `ortool info` and `ortool convert` (Python scripts run with Debian's /usr/bin/python3).
set(ORTOOL_CLI_DIR ${CMAKE_CURRENT_LIST_DIR})
set(ORTOOL_SHARED_MODELS ${PROJECT_SOURCE_DIR}/../shared/models)
set(ORTOOL_ONNX_TESTDATA /usr/share/libonnx-testdata/data)

add_test(NAME cli_conventions
         COMMAND ${ORTOOL_PYTHON} ${ORTOOL_CLI_DIR}/cli_conventions.py --ortool $<TARGET_FILE:ortool>
                 --testdata ${PROJECT_SOURCE_DIR}/testdata)

# info --json agrees with onnx's own parse: the real models, the test models, and ONNX's model tests.
add_test(NAME cli_info_check
         COMMAND ${ORTOOL_PYTHON} ${ORTOOL_CLI_DIR}/info_check.py --ortool $<TARGET_FILE:ortool>
                 --expect-macs small_convnet.onnx=516256 --expect-macs if_matmul.onnx=48
                 "${ORTOOL_SHARED_MODELS}/*/model.onnx" "${PROJECT_SOURCE_DIR}/testdata/*.onnx"
                 "${ORTOOL_ONNX_TESTDATA}/pytorch-converted/*/model.onnx"
                 "${ORTOOL_ONNX_TESTDATA}/pytorch-operator/*/model.onnx" "${ORTOOL_ONNX_TESTDATA}/simple/*/model.onnx")

# convert round-trips (inline, external data, external back to inline) equal the input.
add_test(NAME cli_roundtrip
         COMMAND ${ORTOOL_PYTHON} ${ORTOOL_CLI_DIR}/roundtrip_check.py --ortool $<TARGET_FILE:ortool>
                 "${ORTOOL_ONNX_TESTDATA}/node/*/model.onnx" "${ORTOOL_ONNX_TESTDATA}/pytorch-converted/*/model.onnx"
                 "${ORTOOL_ONNX_TESTDATA}/pytorch-operator/*/model.onnx" "${ORTOOL_ONNX_TESTDATA}/simple/*/model.onnx"
                 "${ORTOOL_SHARED_MODELS}/*/model.onnx" "${PROJECT_SOURCE_DIR}/testdata/*.onnx")

# BAD_INPUTS.md items 1-3, 12, 13, 16-22: exit 2, one error line naming the file, nothing left behind.
add_test(NAME cli_bad_inputs
         COMMAND ${ORTOOL_PYTHON} ${ORTOOL_CLI_DIR}/bad_inputs.py --ortool $<TARGET_FILE:ortool>
                 --model ${PROJECT_SOURCE_DIR}/testdata/small_convnet.onnx)

# BAD_INPUTS.md classes 1-30 x the subcommands that read each kind of input (tests/cli/bad_inputs_matrix.py,
# table in docs/bad_inputs.md), in three parts that ctest -j runs side by side.
foreach(_part "model=1-11" "tensors=12-13,15-19,24" "data=14,20-23,25-30")
  string(REPLACE "=" ";" _kv "${_part}")
  list(GET _kv 0 _name)
  list(GET _kv 1 _classes)
  add_test(NAME cli_bad_inputs_matrix_${_name}
           COMMAND ${ORTOOL_PYTHON} ${ORTOOL_CLI_DIR}/bad_inputs_matrix.py --ortool $<TARGET_FILE:ortool>
                   --classes ${_classes} --docs ${PROJECT_SOURCE_DIR}/docs/bad_inputs.md)
  set_tests_properties(cli_bad_inputs_matrix_${_name} PROPERTIES TIMEOUT 900)
endforeach()

# Hostile models and options at run time (huge Expand/Tile, endless and growing Loops, wrong declared
# output types, repeated --input, deep nesting): exit 2 and one line, fast. Runs under ASan in CI too.
add_test(NAME cli_bad_inputs_runtime
         COMMAND ${ORTOOL_PYTHON} ${ORTOOL_CLI_DIR}/runtime_limits_check.py --ortool $<TARGET_FILE:ortool>)

# Every step of the README's demo (scripts/demo.sh) with this build's binary: the demo is the first
# thing a new user runs, and a step that starts failing (a changed default, a new gate) must fail here.
add_test(NAME demo_steps COMMAND ${CMAKE_COMMAND} -E env ORTOOL_DEMO_BINARY=$<TARGET_FILE:ortool>
                                 ${PROJECT_SOURCE_DIR}/scripts/demo.sh)
set_tests_properties(demo_steps PROPERTIES TIMEOUT 900)

# Writes that lose nothing: convert SIGKILLed 100 times while writing over an output with external data
# (old or new output, never a mix or a stray temporary), and a full disk (a small tmpfs).
add_test(NAME cli_write_safety
         COMMAND ${ORTOOL_PYTHON} ${ORTOOL_CLI_DIR}/kill_write_check.py --ortool $<TARGET_FILE:ortool>)

set_tests_properties(cli_conventions cli_info_check cli_bad_inputs cli_bad_inputs_runtime cli_write_safety
                     PROPERTIES TIMEOUT 900)
set_tests_properties(cli_roundtrip PROPERTIES TIMEOUT 2400)

# run and compare end to end: outputs vs onnx's reference evaluator, gates, BAD_INPUTS.md 29-30.
add_test(NAME cli_run_compare
         COMMAND ${ORTOOL_PYTHON} ${ORTOOL_CLI_DIR}/run_compare_check.py --ortool $<TARGET_FILE:ortool>
                 --model ${PROJECT_SOURCE_DIR}/testdata/small_convnet.onnx)
set_tests_properties(cli_run_compare PROPERTIES TIMEOUT 600)

# Options end to end, each script in its own file: bench (--iters, --warmup, --json fields, --profile,
# --providers, --no-optimize, ...), optimize (--level, --passes, --disable, --list-passes,
# --print-ir-after, --max-rewrites, --target-opset, --check, --onnx-check, --fold-max-bytes), and
# compare's --input and --input-dir.
get_target_property(_ortool_runtime_defs ortool_runtime INTERFACE_COMPILE_DEFINITIONS)
set(_bench_xnnpack)
if("ORTOOL_HAVE_XNNPACK" IN_LIST _ortool_runtime_defs)
  set(_bench_xnnpack --xnnpack)
endif()
add_test(NAME cli_bench
         COMMAND ${ORTOOL_PYTHON} ${ORTOOL_CLI_DIR}/bench_check.py --ortool $<TARGET_FILE:ortool>
                 --model ${PROJECT_SOURCE_DIR}/testdata/small_convnet.onnx ${_bench_xnnpack})
add_test(NAME cli_optimize_options
         COMMAND ${ORTOOL_PYTHON} ${ORTOOL_CLI_DIR}/optimize_options_check.py --ortool $<TARGET_FILE:ortool>)
add_test(NAME cli_compare_inputs
         COMMAND ${ORTOOL_PYTHON} ${ORTOOL_CLI_DIR}/compare_inputs_check.py --ortool $<TARGET_FILE:ortool>
                 --model ${PROJECT_SOURCE_DIR}/testdata/small_convnet.onnx)
set_tests_properties(cli_bench cli_optimize_options cli_compare_inputs PROPERTIES TIMEOUT 600)

# What a new user meets first (issue 9): shapes used and defaulted, --shape errors, one option vocabulary,
# bench's spread rule, progress on a terminal only, --freeze-inputs, help, suggestions and messages.
add_test(NAME cli_ux
         COMMAND ${ORTOOL_PYTHON} ${ORTOOL_CLI_DIR}/ux_check.py --ortool $<TARGET_FILE:ortool>
                 --testdata ${PROJECT_SOURCE_DIR}/testdata --models ${ORTOOL_SHARED_MODELS}
                 --readme ${PROJECT_SOURCE_DIR}/README.md --ort-runner ${PROJECT_SOURCE_DIR}/scripts/ort_run.mjs)
set_tests_properties(cli_ux PROPERTIES TIMEOUT 900)
