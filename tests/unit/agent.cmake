# isol8-agent and its host-side client (server/agent/): starts the real static
# agent binary on the host (needs root: it switches uids) in a temp dir.
isol8_unit_test(agent SOURCES test_agent.c agent_fixture.c LIBS isol8_sandbox)
target_compile_definitions(unit_agent PRIVATE ISOL8_AGENT_PATH="$<TARGET_FILE:isol8-agent>")
add_dependencies(unit_agent isol8-agent)
