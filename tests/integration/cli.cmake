# End-to-end tests with the real binaries and the real Docker engine. They
# need the sandbox images (deploy/setup.sh builds them through `isol8 setup`).
set(ISOL8_IT_ENV
  "ISOL8=$<TARGET_FILE:isol8>"
  "ISOL8D=$<TARGET_FILE:isol8d>"
  "ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
foreach(script cli_run cli_daemon cli_surface cli_interactive)
  add_test(NAME integration_${script} COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/${script}.sh)
  set_tests_properties(integration_${script} PROPERTIES LABELS integration TIMEOUT 900
                       ENVIRONMENT "${ISOL8_IT_ENV}" RUN_SERIAL TRUE)
endforeach()
foreach(script grpc_python pool run_semantics streaming interactive)
  add_test(NAME integration_${script} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/${script}.py)
  set_tests_properties(integration_${script} PROPERTIES LABELS integration TIMEOUT 900
                       ENVIRONMENT "${ISOL8_IT_ENV}" RUN_SERIAL TRUE)
endforeach()
