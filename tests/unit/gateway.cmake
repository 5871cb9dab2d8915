# The gateway's pure parts (client/gateway): JSON mapping, routes, error
# statuses, auth, the command line, WebSocket frames and handshake.
isol8_unit_test(gateway SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_gateway.c LIBS isol8_gateway_core)
# SHA-1 and base64 (api/base).
isol8_unit_test(codecs SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_codecs.c LIBS)
# The HTTP layer against a fake libisol8 (fake_isol8.c): status codes,
# SSE framing, backpressure and disconnects, WebSocket, limits.
if(TARGET isol8_gateway_server)
  add_executable(isol8-gateway-fake $<TARGET_OBJECTS:isol8_gateway_server> ${CMAKE_CURRENT_LIST_DIR}/fake_isol8.c)
  target_link_libraries(isol8-gateway-fake PRIVATE isol8_gateway_core isol8_base PkgConfig::MHD Threads::Threads)
  add_test(NAME unit_gateway_http COMMAND /usr/bin/python3 ${CMAKE_CURRENT_LIST_DIR}/gateway_http.py)
  set_tests_properties(unit_gateway_http PROPERTIES LABELS unit TIMEOUT 300
                       ENVIRONMENT "GATEWAY=$<TARGET_FILE:isol8-gateway-fake>")
endif()
