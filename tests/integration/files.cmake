# File transfer with sessions (files.py): PutFile, GetFile and `isol8 cp`
# against a real isol8d and Docker engine.
add_test(NAME integration_files COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/files.py)
set_tests_properties(integration_files PROPERTIES LABELS integration TIMEOUT 900 RUN_SERIAL TRUE
                     ENVIRONMENT "ISOL8=$<TARGET_FILE:isol8>;ISOL8D=$<TARGET_FILE:isol8d>;ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
