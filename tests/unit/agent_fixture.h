/* The agent suites' fixture: the real static isol8-agent (ISOL8_AGENT_PATH)
 * started on the host (we are root) with its socket and sandbox dir in a
 * temp dir, or an agent already running elsewhere, and stopped at the end.
 * Each suite gives its own sandbox uid: a run's end kills every process of
 * its uid, and the suites may run at once. */
#ifndef ISOL8_TEST_AGENT_FIXTURE_H
#define ISOL8_TEST_AGENT_FIXTURE_H

#include <sys/types.h>

#include "isol8/agent/v1/agent.pb-c.h"

struct agent_fixture {
	char test_dir[64];     /* the temp dir; "" for an agent not ours */
	char sock_path[256];
	char sandbox_dir[256]; /* as the agent sees it */
	pid_t pid;             /* the agent we started, -1 if none */
};

/* Makes /tmp/isol8-<name>-test-XXXXXX with the sandbox dir (of mode
 * sandbox_mode) in it and starts the agent there as uid:uid, waiting until
 * it answers. 0, or -1 (said on stderr); agent_fixture_stop() cleans up
 * after either. */
int agent_fixture_start(struct agent_fixture *f, const char *name, uid_t uid, mode_t sandbox_mode);

/* Uses the agent already listening on sock_path with sandbox_dir, waiting
 * until it answers; stopping it is not ours. 0, or -1 (said on stderr). */
int agent_fixture_attach(struct agent_fixture *f, const char *sock_path, const char *sandbox_dir);

/* Stops the agent we started with SIGTERM and removes the temp dir. 0 when
 * the agent stopped cleanly (status 0), else -1. */
int agent_fixture_stop(struct agent_fixture *f);

/* An Exec of argv (NULL-ended, not copied) with PATH and LANG=C and a 10 s
 * timeout. */
Isol8__Agent__V1__Exec agent_fixture_exec(char **argv);

#endif
