# The gateway's documentation and deep tests (isol8-gateway, client/gateway) against a private isol8d and
# the real Docker engine: the OpenAPI document checked against live answers,
# a client written against the original's wire contract, and every endpoint
# through curl (errors, auth, SSE framing, disconnects, 10 MiB files, 256
# streams, a wrk load run).
if(TARGET isol8-gateway)
  set(ISOL8_GATEWAY_IT_ENV
    "ISOL8D=$<TARGET_FILE:isol8d>"
    "ISOL8_GATEWAY=$<TARGET_FILE:isol8-gateway>"
    "ISOL8_SOURCE_DIR=${ISOL8_SOURCE_DIR}")
  foreach(script gateway_openapi gateway_client gateway_http)
    add_test(NAME integration_${script} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/${script}.py)
    set_tests_properties(integration_${script} PROPERTIES LABELS integration TIMEOUT 600 RUN_SERIAL TRUE
                         ENVIRONMENT "${ISOL8_GATEWAY_IT_ENV}")
  endforeach()
endif()
