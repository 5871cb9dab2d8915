isol8_unit_test(registry
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_registry.c ${CMAKE_CURRENT_LIST_DIR}/fake_sandbox.c
  LIBS isol8_sandbox)
target_include_directories(unit_registry PRIVATE ${CMAKE_CURRENT_LIST_DIR})
