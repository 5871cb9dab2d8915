# The CLI's pure parts: flags, runtime detection, addresses, exit statuses.
isol8_unit_test(cli SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cli.c LIBS isol8_cli_core)
