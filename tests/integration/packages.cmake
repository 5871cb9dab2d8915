# Runtime packages: installs through the egress proxy and set-up baking,
# against fixture registries on the host's loopback.
add_test(NAME integration_packages COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/packages.py)
set_tests_properties(integration_packages PROPERTIES LABELS integration TIMEOUT 1800 RUN_SERIAL TRUE
                     ENVIRONMENT "ISOL8=$<TARGET_FILE:isol8>;ISOL8D=$<TARGET_FILE:isol8d>;ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
