# The log sink (api/base/log.c): escaping in text and JSON lines.
isol8_unit_test(log SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_log.c LIBS PkgConfig::CJSON)
