# The string check of request wire bytes (api/rpc/wire.c), on hand-made encodings.
isol8_unit_test(wire SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_wire.c LIBS isol8_rpc)
