# The egress proxy (server/egress/): its pure parts (rules, request heads),
# then the real proxy on a temp unix socket with loopback origin servers:
# serving requests, and its limits and lifetimes.
isol8_unit_test(egress_rules SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_egress_rules.c LIBS isol8_egress)
foreach(suite proxy limits)
  isol8_unit_test(egress_${suite} SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_egress_${suite}.c
                  ${CMAKE_CURRENT_LIST_DIR}/egress_harness.c ${CMAKE_CURRENT_LIST_DIR}/egress_fixture.c
                  LIBS isol8_egress)
endforeach()
