# The security suite: hostile programs against a real isol8d and the real
# Docker engine (needs the sandbox images). Runs in about a minute.
add_test(NAME integration_security COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/security.py)
set_tests_properties(integration_security PROPERTIES LABELS integration TIMEOUT 300 RUN_SERIAL TRUE
                     ENVIRONMENT "ISOL8D=$<TARGET_FILE:isol8d>;ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
