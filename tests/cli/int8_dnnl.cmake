# Int8 models on the dnnl provider (tests/cli/int8_dnnl_check.py): files written by `ortool quantize` (digits
# CNN in four forms, small_convnet, ../shared/models' CNNs, resnet18, mobilenet_v2 and the transformer of the
# benchmark set)
# give the same outputs with and without dnnl (SQNR >= 30 dB), and dnnl runs their int8 cores as int8; with
# oneDNN limited to CPUs without VNNI (ONEDNN_MAX_CPU_ISA=AVX2, AVX512_CORE) the outputs stay exact: 8-bit
# weights on the cpu kernels, the 7-bit weights of --reduce-range on dnnl.
if(ORTOOL_WITH_DNNL)
  add_test(NAME cli_int8_dnnl
           COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/int8_dnnl_check.py --ortool $<TARGET_FILE:ortool>
                   --testdata ${PROJECT_SOURCE_DIR}/testdata --models ${PROJECT_SOURCE_DIR}/../shared/models
                   --gen-models ${PROJECT_SOURCE_DIR}/scripts/gen_models.py)
  set_tests_properties(cli_int8_dnnl PROPERTIES TIMEOUT 900)
endif()

# The same on the xnnpack provider (the portable int8 path), without the benchmark set's models to stay
# quick (scripts/gen_models.py takes ~30 s; run the script with --bench-models DIR for resnet18 and
# mobilenet_v2).
if(ORTOOL_WITH_XNNPACK)
  add_test(NAME cli_int8_xnnpack
           COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/int8_dnnl_check.py --ortool $<TARGET_FILE:ortool>
                   --provider xnnpack --testdata ${PROJECT_SOURCE_DIR}/testdata
                   --models ${PROJECT_SOURCE_DIR}/../shared/models)
  set_tests_properties(cli_int8_xnnpack PROPERTIES TIMEOUT 300)
endif()
