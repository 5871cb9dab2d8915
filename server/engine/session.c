/*
 * The agent side of a session call. A session's sandbox keeps one open
 * connection to its agent (sb->launcher_fd, opened on the session's first
 * call): the handler behind it owns the session's interpreter driver, so
 * variables, imports and definitions persist from call to call (agent.proto,
 * "session"). Runtimes without a driver run each call as an ordinary exec
 * with keep_detached: their files and detached processes persist, not their
 * interpreter state.
 *
 * When the connection fails or a call is cancelled the connection is
 * closed, which ends the driver; the next call opens a new one, and its
 * result says state_reset.
 */
#include <unistd.h>

#include "engine/engine_internal.h"
#include "sandbox/agent_client.h"

int isol8_session_exec(struct isol8_engine *e, struct isol8_sandbox *sb, const Isol8__Agent__V1__Exec *exec,
		       const struct isol8_agent_exec_io *io, struct isol8_agent_exit *out, struct isol8_error *err)
{
	(void)e;
	return isol8_agent_exec(sb->socket, exec, io, out, err);
}
