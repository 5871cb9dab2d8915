# The egress proxy (server/egress/): its pure parts (rules, request heads),
# then the real proxy on a temp unix socket with loopback origin servers.
isol8_unit_test(egress_rules SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_egress_rules.c LIBS isol8_egress)
isol8_unit_test(egress_proxy SOURCES ${CMAKE_CURRENT_LIST_DIR}/test_egress_proxy.c
                ${CMAKE_CURRENT_LIST_DIR}/egress_fixture.c LIBS isol8_egress)
