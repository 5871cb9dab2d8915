# `isol8 serve`: isol8d and isol8-gateway together (serve.py), real binaries and Docker.
add_test(NAME integration_serve COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/serve.py)
set_tests_properties(integration_serve PROPERTIES LABELS integration TIMEOUT 600 RUN_SERIAL TRUE
                     ENVIRONMENT "ISOL8=$<TARGET_FILE:isol8>;ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
