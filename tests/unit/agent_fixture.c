/* The agent suites' fixture (agent_fixture.h). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_fixture.h"
#include "base/util.h"
#include "sandbox/agent_client.h"

static char *default_env[] = {"PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C"};

static int fixture_wait_ready(const struct agent_fixture *f)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (isol8_agent_wait_ready(f->sock_path, 5000, &err) < 0) {
		fprintf(stderr, "agent did not start: %s\n", err.message);
		return -1;
	}
	return 0;
}

int agent_fixture_start(struct agent_fixture *f, const char *name, uid_t uid, mode_t sandbox_mode)
{
	char id[16];

	memset(f, 0, sizeof(*f));
	f->pid = -1;
	snprintf(f->test_dir, sizeof(f->test_dir), "/tmp/isol8-%s-test-XXXXXX", name);
	if (mkdtemp(f->test_dir) == NULL || chmod(f->test_dir, 0755) < 0)
		return -1;
	snprintf(f->sock_path, sizeof(f->sock_path), "%s/agent.sock", f->test_dir);
	snprintf(f->sandbox_dir, sizeof(f->sandbox_dir), "%s/sandbox", f->test_dir);
	if (mkdir(f->sandbox_dir, sandbox_mode) < 0 || chmod(f->sandbox_dir, sandbox_mode) < 0)
		return -1;
	snprintf(id, sizeof(id), "%u", (unsigned)uid);
	f->pid = fork();
	if (f->pid == 0) {
		execl(ISOL8_AGENT_PATH, "isol8-agent", "--socket", f->sock_path, "--sandbox-dir", f->sandbox_dir,
		      "--uid", id, "--gid", id, (char *)NULL);
		_exit(127);
	}
	if (f->pid < 0) {
		fprintf(stderr, "agent did not start: fork: %s\n", strerror(errno));
		return -1;
	}
	return fixture_wait_ready(f);
}

int agent_fixture_attach(struct agent_fixture *f, const char *sock_path, const char *sandbox_dir)
{
	memset(f, 0, sizeof(*f));
	f->pid = -1;
	snprintf(f->sock_path, sizeof(f->sock_path), "%s", sock_path);
	snprintf(f->sandbox_dir, sizeof(f->sandbox_dir), "%s", sandbox_dir);
	return fixture_wait_ready(f);
}

int agent_fixture_stop(struct agent_fixture *f)
{
	char cmd[512];
	int status = -1;

	if (f->test_dir[0] == '\0')
		return 0;
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		waitpid(f->pid, &status, 0);
		f->pid = -1;
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->test_dir);
	if (system(cmd) != 0)
		return -1;
	/* SIGTERM: the agent stops cleanly with status 0. */
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

Isol8__Agent__V1__Exec agent_fixture_exec(char **argv)
{
	Isol8__Agent__V1__Exec req = ISOL8__AGENT__V1__EXEC__INIT;

	while (argv[req.n_argv] != NULL)
		req.n_argv++;
	req.argv = argv;
	req.n_env = ISOL8_ARRAY_LEN(default_env);
	req.env = default_env;
	req.timeout_ms = 10000;
	return req;
}
