# The configuration loader: keys, defaults, merge, errors, finding the file, output.
isol8_unit_test(config SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_config.c LIBS isol8_config PkgConfig::CJSON)
target_compile_definitions(unit_config PRIVATE _GNU_SOURCE)
