isol8_unit_test(sessions
  SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_sessions.c ${CMAKE_CURRENT_LIST_DIR}/fake_sandbox.c
  LIBS isol8_sandbox)
target_include_directories(unit_sessions PRIVATE ${CMAKE_CURRENT_LIST_DIR})
