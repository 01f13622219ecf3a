# Real pretrained models (../shared/models, or -DORTOOL_MODELS_DIR=...): each one run by `ortool
# compare --expected-dir` against every reference data set it ships with, and against the sets kept for
# it in testdata/models/<name>/ (made by the script there), with four runtime set-ups: the default
# providers, the reference kernels alone (cpu), XNNPACK first (xnnpack,cpu) and two threads.
#
# Gates: rtol 1e-3 / atol 1e-4 per element, and an SQNR of at least 60 dB per output (the error's RMS
# at most 0.1% of the output's), which sees a wrong number even where the outputs are small next to
# atol. Every set passes with room (about 115 to 150 dB seen) and a 1.2x scaled weight fails
# (tests/cli/perturb_check.py).
set(ORTOOL_MODELS_DIR "${PROJECT_SOURCE_DIR}/../shared/models" CACHE PATH "Real models with reference outputs")
set(ORTOOL_MODEL_GATES --atol 1e-4 --rtol 1e-3 --min-sqnr 60)
# ppocr_det_v3's ort_ref_set_0 feeds noise, on which the detector says "no text": its output peaks at
# 3.6e-5, and ONNX Runtime's sigmoid gives such values in steps of about 6e-8 (zero for 98% of them),
# so the reference itself holds only ~33 dB. An atol of 1% of the output's peak, and 25 dB, still
# fail the scaled weight (SQNR 1 dB); testdata/models/ppocr_det_v3/text_set_0 is the set the detector
# responds to.
set(ORTOOL_MODEL_GATES_ppocr_det_v3_ort_ref_set_0 --atol 4e-7 --rtol 1e-3 --min-sqnr 25)

file(GLOB ORTOOL_REAL_MODELS "${ORTOOL_MODELS_DIR}/*/model.onnx")
if(NOT ORTOOL_REAL_MODELS)
  message(WARNING "no real models under ${ORTOOL_MODELS_DIR}: the model_* tests are not defined")
  ortool_require_data(model_data_present "no real models under ${ORTOOL_MODELS_DIR}")
elseif(TARGET test_runtime)
  # Unit tests that load the real models (record_types; optimize's check on the text detector) are
  # compiled only where they exist.
  target_compile_definitions(test_runtime PRIVATE ORTOOL_MODELS_DIR="${ORTOOL_MODELS_DIR}")
  if(TARGET test_passes)
    target_compile_definitions(test_passes PRIVATE ORTOOL_MODELS_DIR="${ORTOOL_MODELS_DIR}")
  endif()
endif()
get_target_property(_ortool_runtime_defs ortool_runtime INTERFACE_COMPILE_DEFINITIONS)
foreach(model ${ORTOOL_REAL_MODELS})
  get_filename_component(dir ${model} DIRECTORY)
  get_filename_component(name ${dir} NAME)
  file(GLOB sets LIST_DIRECTORIES true "${dir}/*_set_*" "${PROJECT_SOURCE_DIR}/testdata/models/${name}/*_set_*")
  if(NOT sets)
    ortool_require_data(model_${name}_data_present "${dir}: no reference data set (*_set_N folder)")
  endif()
  foreach(set ${sets})
    get_filename_component(set_name ${set} NAME)
    set(test model_${name}_${set_name})
    if(DEFINED ORTOOL_MODEL_GATES_${name}_${set_name})
      set(gates ${ORTOOL_MODEL_GATES_${name}_${set_name}})
    else()
      set(gates ${ORTOOL_MODEL_GATES})
    endif()
    set(compare $<TARGET_FILE:ortool> compare ${model} --expected-dir ${set} ${gates})
    # Default providers (oneDNN first when built with it), the reference kernels alone, two threads.
    add_test(NAME ${test} COMMAND ${compare})
    add_test(NAME ${test}_cpu COMMAND ${compare} --providers cpu)
    add_test(NAME ${test}_threads2 COMMAND ${compare} --threads 2)
    set_tests_properties(${test} ${test}_cpu ${test}_threads2 PROPERTIES TIMEOUT 600)
    if("ORTOOL_HAVE_XNNPACK" IN_LIST _ortool_runtime_defs)
      add_test(NAME ${test}_xnnpack COMMAND ${compare} --providers xnnpack,cpu)
      set_tests_properties(${test}_xnnpack PROPERTIES TIMEOUT 600)
    endif()
  endforeach()
endforeach()

# The gates above can fail: ppocr_det_v3 (the only real model with ConvTranspose, HardSigmoid and Resize)
# with its last ConvTranspose's weights scaled by 1.2 must fail every one of its sets.
set(_det ${ORTOOL_MODELS_DIR}/ppocr_det_v3)
if(EXISTS ${_det}/model.onnx)
  string(REPLACE ";" " " _gates "${ORTOOL_MODEL_GATES}")
  string(REPLACE ";" " " _gates_noise "${ORTOOL_MODEL_GATES_ppocr_det_v3_ort_ref_set_0}")
  add_test(NAME model_ppocr_det_v3_perturbed
           COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/perturb_check.py --ortool $<TARGET_FILE:ortool>
                   --model ${_det}/model.onnx --shape x=1,3,96,128
                   --case "${PROJECT_SOURCE_DIR}/testdata/models/ppocr_det_v3/text_set_0=${_gates}"
                   --case "${_det}/ort_ref_set_0=${_gates_noise}")
  set_tests_properties(model_ppocr_det_v3_perturbed PROPERTIES TIMEOUT 600)
endif()
