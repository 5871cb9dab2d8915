# The agent's egress relay (server/agent/relay.c), compiled in: a listening
# socket of the test's own on an ephemeral loopback port, joined to an echo
# server on a unix socket that stands in for the proxy.
isol8_unit_test(relay SOURCES test_relay.c ${ISOL8_SOURCE_DIR}/server/agent/relay.c LIBS isol8_frame)
target_include_directories(unit_relay PRIVATE ${ISOL8_SOURCE_DIR}/server)
target_compile_definitions(unit_relay PRIVATE _GNU_SOURCE)
