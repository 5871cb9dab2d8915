isol8_unit_test(serve
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_serve.c
  LIBS isol8_cli_serve)
