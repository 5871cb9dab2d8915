# The engine's configured defaults and the operator's policy.
isol8_unit_test(policy SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_policy.c LIBS isol8_engine)
