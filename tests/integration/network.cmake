# Network modes (none, host, filtered) against a real isol8d and Docker:
# the egress proxy reached from every runtime, its rules, the SSRF guard,
# the CA bundle, network logs. Loopback fixtures only.
add_test(NAME integration_network COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/network.py)
set_tests_properties(integration_network PROPERTIES LABELS integration TIMEOUT 300 RUN_SERIAL TRUE
                     ENVIRONMENT "ISOL8=$<TARGET_FILE:isol8>;ISOL8D=$<TARGET_FILE:isol8d>;ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
