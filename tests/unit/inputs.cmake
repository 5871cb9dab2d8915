# A run's inputs (server/engine/inputs.c) and the Exec built from them.
isol8_unit_test(inputs SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_inputs.c LIBS isol8_engine)
