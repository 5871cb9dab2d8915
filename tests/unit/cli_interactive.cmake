# The CLI's interactive flags: run -i/-t and the shell verb (isol8_cli_core).
isol8_unit_test(cli_interactive SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli_interactive.c LIBS isol8_cli_core)
