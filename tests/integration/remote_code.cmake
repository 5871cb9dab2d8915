# Remote code: a real isol8d fetching code_url from a loopback HTTP server
# under its remoteCode policy, through the CLI, gRPC and the gateway.
set(_remote_env "ISOL8=$<TARGET_FILE:isol8>;ISOL8D=$<TARGET_FILE:isol8d>;ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
if(TARGET isol8-gateway)
  list(APPEND _remote_env "GATEWAY=$<TARGET_FILE:isol8-gateway>")
endif()
add_test(NAME integration_remote_code COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/remote_code.py)
set_tests_properties(integration_remote_code PROPERTIES LABELS integration TIMEOUT 600 RUN_SERIAL TRUE
                     ENVIRONMENT "${_remote_env}")
