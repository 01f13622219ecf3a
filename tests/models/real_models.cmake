# Real pretrained models (../shared/models, or -DORTOOL_MODELS_DIR=...): each one run by `ortool
# compare --expected-dir` against every reference data set it ships with (rtol 1e-3, atol 1e-4).
set(ORTOOL_MODELS_DIR "${PROJECT_SOURCE_DIR}/../shared/models" CACHE PATH "Real models with reference outputs")
file(GLOB ORTOOL_REAL_MODELS "${ORTOOL_MODELS_DIR}/*/model.onnx")
if(NOT ORTOOL_REAL_MODELS)
  message(WARNING "no real models under ${ORTOOL_MODELS_DIR}: the model_* tests are not defined")
elseif(TARGET test_runtime)
  # Unit tests that load the real models (record_types) are compiled only where they exist.
  target_compile_definitions(test_runtime PRIVATE ORTOOL_MODELS_DIR="${ORTOOL_MODELS_DIR}")
endif()
foreach(model ${ORTOOL_REAL_MODELS})
  get_filename_component(dir ${model} DIRECTORY)
  get_filename_component(name ${dir} NAME)
  file(GLOB sets LIST_DIRECTORIES true "${dir}/*_set_*")
  foreach(set ${sets})
    get_filename_component(set_name ${set} NAME)
    # Default providers (oneDNN first when built with it), and the reference kernels alone.
    add_test(NAME model_${name}_${set_name}
             COMMAND $<TARGET_FILE:ortool> compare ${model} --expected-dir ${set} --atol 1e-4 --rtol 1e-3)
    add_test(NAME model_${name}_${set_name}_cpu
             COMMAND $<TARGET_FILE:ortool> compare ${model} --expected-dir ${set} --atol 1e-4 --rtol 1e-3
                     --providers cpu)
    set_tests_properties(model_${name}_${set_name} model_${name}_${set_name}_cpu PROPERTIES TIMEOUT 600)
  endforeach()
endforeach()
