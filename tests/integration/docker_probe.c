/*
 * A tiny static program put into a FROM-scratch image by the Docker client's
 * integration test (docker_engine.c).
 *   probe          exit 0
 *   probe sleep    wait until killed
 *   probe userns   try to make a user namespace with unshare(2) and clone(2);
 *                  exit status bit 0: unshare worked, bit 1: clone worked,
 *                  bit 2: a refusal other than EPERM
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static int try_unshare(void)
{
	if (unshare(CLONE_NEWUSER) == 0)
		return 1;
	return errno == EPERM ? 0 : 4;
}

static int try_clone(void)
{
	long pid = syscall(SYS_clone, (unsigned long)(CLONE_NEWUSER | SIGCHLD), 0L, 0L, 0L, 0L);

	if (pid == 0)
		_exit(0);
	if (pid < 0)
		return errno == EPERM ? 0 : 4;
	waitpid((pid_t)pid, NULL, 0);
	return 2;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "sleep") == 0) {
		for (;;)
			pause();
	}
	if (argc > 1 && strcmp(argv[1], "userns") == 0)
		return try_clone() | try_unshare();
	return 0;
}
