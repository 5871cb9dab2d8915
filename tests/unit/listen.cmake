# Listening sockets of the gRPC server (api/rpc/server_listen.c): unix socket
# paths, directories and modes, a taken TCP port, loopback addresses.
isol8_unit_test(listen SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_listen.c LIBS isol8_rpc)
