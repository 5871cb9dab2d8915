isol8_unit_test(mcp
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_mcp.c
  LIBS isol8_cli_mcp)
