# The HTML reports in a real browser (tests/cli/html_report_check.py): every kind opened from file:// in
# headless Chromium (Debian's chromium, scripts/setup.sh) with no network must render without a script
# error and with data in every chart. Screenshots land in the build folder (report_screenshots/).
find_program(ORTOOL_CHROMIUM NAMES chromium chromium-browser)
if(ORTOOL_CHROMIUM)
  add_test(NAME cli_html_report_browser
           COMMAND ${ORTOOL_PYTHON} ${CMAKE_CURRENT_LIST_DIR}/html_report_check.py --ortool $<TARGET_FILE:ortool>
                   --testdata ${PROJECT_SOURCE_DIR}/testdata --chromium ${ORTOOL_CHROMIUM}
                   --screenshots ${CMAKE_BINARY_DIR}/report_screenshots)
  set_tests_properties(cli_html_report_browser PROPERTIES TIMEOUT 1200)
else()
  ortool_require_data(cli_html_report_browser
                      "chromium not found: apt-get install chromium (scripts/setup.sh) for the HTML report browser test")
endif()
