# The gateway's pure parts (client/gateway): JSON mapping, routes, error
# statuses, auth, the command line, WebSocket frames and handshake.
isol8_unit_test(gateway SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_gateway.c LIBS isol8_gateway_core)
# SHA-1 and base64 (api/base).
isol8_unit_test(codecs SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_codecs.c LIBS)
