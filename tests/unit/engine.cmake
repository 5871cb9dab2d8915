isol8_unit_test(engine
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_engine.c
  LIBS isol8_engine PkgConfig::CJSON)
