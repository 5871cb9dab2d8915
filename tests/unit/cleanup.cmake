isol8_unit_test(cleanup
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_cleanup.c ${CMAKE_CURRENT_LIST_DIR}/fake_docker.c
  LIBS isol8_engine)
target_include_directories(unit_cleanup PRIVATE ${CMAKE_CURRENT_LIST_DIR})
