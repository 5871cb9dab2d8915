# The daemon against hostile requests and a hostile host (daemon_hardening.sh):
# real isol8d, CLI and Docker engine, and the sandbox images.
add_test(NAME integration_daemon_hardening COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/daemon_hardening.sh)
set_tests_properties(integration_daemon_hardening PROPERTIES LABELS integration TIMEOUT 600 RUN_SERIAL TRUE
                     ENVIRONMENT "ISOL8=$<TARGET_FILE:isol8>;ISOL8D=$<TARGET_FILE:isol8d>;ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
