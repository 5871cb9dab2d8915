# The configuration file: the JSON Schema and the C loader (through isol8
# config and isol8d --check-config) judge one corpus the same way. No Docker.
add_test(NAME integration_config_schema
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/config_schema.py)
set_tests_properties(integration_config_schema PROPERTIES LABELS integration TIMEOUT 300
                     ENVIRONMENT "ISOL8=$<TARGET_FILE:isol8>;ISOL8D=$<TARGET_FILE:isol8d>;ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")

# isol8d run by its configuration file: defaults, policy, seccomp profile, pruning.
add_test(NAME integration_config_daemon COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/config_daemon.py)
set_tests_properties(integration_config_daemon PROPERTIES LABELS integration TIMEOUT 300 RUN_SERIAL TRUE
                     ENVIRONMENT "ISOL8=$<TARGET_FILE:isol8>;ISOL8D=$<TARGET_FILE:isol8d>;ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
