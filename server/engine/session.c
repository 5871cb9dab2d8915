/*
 * The agent side of a session call. A session's sandbox keeps one open
 * connection to its agent (sb->launcher_fd, opened on the session's first
 * call): the handler behind it owns the session's interpreter driver
 * (engine/driver.c), so variables, imports and definitions persist from
 * call to call (agent.proto, "session"). Runtimes without a driver (bun,
 * deno) run each call as an ordinary exec with keep_detached: their files
 * and detached processes persist, not their interpreter state.
 *
 * When a call fails in a way that leaves the connection in an unknown
 * state (the connection broke, the call was cancelled) the connection is
 * closed, which ends the driver and the session's processes; the next call
 * opens a new one, and its result says state_reset.
 */
#include <unistd.h>

#include "engine/driver.h"
#include "engine/engine_internal.h"
#include "engine/runtime.h"
#include "sandbox/agent_client.h"

/* How long a driver may take to start, and a session's end to finish. */
#define SESSION_OPEN_MS 20000
#define SESSION_CLOSE_MS 5000

static int open_driver(struct isol8_sandbox *sb, const struct isol8_runtime *rt, const struct isol8_driver *d,
		       struct isol8_error *err)
{
	struct isol8_exec_spec spec;
	int ret = isol8_exec_spec_interpreter(rt, d->argv, &spec, err);

	/* a filtered session's interpreter reads the proxy environment once */
	if (ret == 0 && sb->egress != NULL)
		ret = isol8_proxy_env_add(&spec, sb->egress_ca, err);
	if (ret == 0)
		ret = isol8_agent_session_open(sb->socket, &spec.exec, SESSION_OPEN_MS, &sb->launcher_fd, err);
	isol8_exec_spec_release(&spec);
	return ret;
}

int isol8_session_exec(struct isol8_sandbox *sb, const Isol8__Agent__V1__Exec *exec,
		       const struct isol8_agent_exec_io *io, struct isol8_agent_exit *out, struct isol8_error *err)
{
	const struct isol8_runtime *rt = isol8_runtime_find(sb->runtime);
	const struct isol8_driver *d = rt ? isol8_driver_find(rt->info->name) : NULL;
	int ret;

	if (d == NULL)
		return isol8_agent_exec(sb->socket, exec, io, out, err);
	if (sb->launcher_fd < 0) {
		ret = open_driver(sb, rt, d, err);
		if (ret < 0)
			return ret;
	}
	ret = isol8_agent_session_exec(sb->launcher_fd, exec, io, out, err);
	if (ret < 0) {
		struct isol8_error ignored = ISOL8_ERROR_INIT;
		isol8_agent_session_close(sb->launcher_fd, SESSION_CLOSE_MS, &ignored);
		sb->launcher_fd = -1;
		sb->session_lost = true;
		return ret;
	}
	if (sb->session_lost) {
		out->state_reset = true;
		sb->session_lost = false;
	}
	return 0;
}
