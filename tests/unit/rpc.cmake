# The gRPC runtime (api/rpc): a real in-process server and client over a
# unix socket and TCP 127.0.0.1, using the generated health and isol8 tables.
isol8_unit_test(rpc SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_rpc.c LIBS isol8_rpc)
