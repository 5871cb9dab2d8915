# isol8-agent's pty execs (server/agent/exec_pty.c): the real static agent on
# the host (needs root), as agent.cmake.
isol8_unit_test(agent_pty SOURCES test_agent_pty.c agent_fixture.c LIBS isol8_sandbox)
target_compile_definitions(unit_agent_pty PRIVATE ISOL8_AGENT_PATH="$<TARGET_FILE:isol8-agent>")
add_dependencies(unit_agent_pty isol8-agent)
