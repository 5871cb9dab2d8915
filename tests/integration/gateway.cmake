# isol8-gateway against a real isol8d and Docker (gateway_smoke.py).
if(TARGET isol8-gateway)
  add_test(NAME integration_gateway_smoke COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/gateway_smoke.py)
  set_tests_properties(integration_gateway_smoke PROPERTIES LABELS integration TIMEOUT 600 RUN_SERIAL TRUE
                       ENVIRONMENT "ISOL8D=$<TARGET_FILE:isol8d>;GATEWAY=$<TARGET_FILE:isol8-gateway>")
endif()
