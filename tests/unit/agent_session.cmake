# Sessions of isol8-agent (server/agent/exec_session.c) with the session
# drivers (server/engine/driver.c): the real static agent on the host (needs
# root: it switches uids), the drivers on the host's python3, node and bash.
isol8_unit_test(agent_session SOURCES test_agent_session.c agent_fixture.c LIBS isol8_engine isol8_sandbox)
target_compile_definitions(unit_agent_session PRIVATE ISOL8_AGENT_PATH="$<TARGET_FILE:isol8-agent>")
add_dependencies(unit_agent_session isol8-agent)
