# `isol8 mcp` driven over its stdin and stdout against a private isol8d (mcp.py).
add_test(NAME integration_mcp COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/mcp.py)
set_tests_properties(integration_mcp PROPERTIES LABELS integration TIMEOUT 600 RUN_SERIAL TRUE
                     ENVIRONMENT "ISOL8=$<TARGET_FILE:isol8>;ISOL8D=$<TARGET_FILE:isol8d>;ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
