isol8_unit_test(service
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_service.c
  LIBS isol8_service)
