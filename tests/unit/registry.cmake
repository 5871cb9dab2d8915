isol8_unit_test(registry
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_registry.c
  LIBS isol8_sandbox)
