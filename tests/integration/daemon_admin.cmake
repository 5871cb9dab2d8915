# isol8d's health, credentials on the local socket, execution metadata and
# session clean-up (daemon_admin.py): real isol8d and Docker engine.
add_test(NAME integration_daemon_admin COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/daemon_admin.py)
set_tests_properties(integration_daemon_admin PROPERTIES LABELS integration TIMEOUT 600 RUN_SERIAL TRUE
                     ENVIRONMENT "ISOL8D=$<TARGET_FILE:isol8d>;ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
