# The SSRF guard: which addresses the egress proxy and remote code may dial.
isol8_unit_test(egress_guard SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_egress_guard.c LIBS isol8_egress)
