# libisol8 (client/lib): its pure conversions (lib_convert), and its calls
# against a fake isol8d served in-process by api/rpc (lib_client: the
# connection and unary calls; lib_stream: streams and files).
isol8_unit_test(lib_convert SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_lib_convert.c LIBS isol8_client)
isol8_unit_test(lib_client SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_lib_client.c ${CMAKE_CURRENT_LIST_DIR}/lib_fake.c
                LIBS isol8_client)
isol8_unit_test(lib_stream SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_lib_stream.c ${CMAKE_CURRENT_LIST_DIR}/lib_fake.c
                LIBS isol8_client)
