/*
 * `isol8 serve`'s child processes: finding a program, starting it in a
 * process group of its own (so a terminal's Ctrl-C reaches only serve,
 * which stops the children in order) that dies with serve, waiting for it
 * to be ready, and stopping it.
 */
#ifndef ISOL8_CLI_SERVE_PROC_H
#define ISOL8_CLI_SERVE_PROC_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "isol8/error.h"

struct isol8_serve_child {
	const char *name;  /* "isol8d", "isol8-gateway" */
	pid_t pid;         /* 0: not running */
	int status;        /* waitpid's, once it ended */
};

/* The program to run, into buf: $env_var when set, else beside this
 * executable, else build_path (the build tree's) when it exists, else the
 * bare name (looked up on PATH). */
void isol8_serve_find(const char *name, const char *env_var, const char *build_path, char *buf, size_t size);

/* Starts binary with argv; keep_fd (or -1) stays open in the child, every
 * other fd above stderr is closed; env_name=env_value (or NULL) is set in
 * the child only. Fails with the exec's errno naming the program. */
int isol8_serve_spawn(struct isol8_serve_child *c, const char *binary, char *const argv[], int keep_fd,
		      const char *env_name, const char *env_value, struct isol8_error *err);

/* Reaps c if it ended (without waiting): true then, status set. */
bool isol8_serve_reaped(struct isol8_serve_child *c);

/* Describes how c ended: "exited with status 3", "was killed by signal 9". */
void isol8_serve_describe_end(const struct isol8_serve_child *c, char *buf, size_t size);

/* SIGTERM, up to grace_ms for it to end, then SIGKILL; reaps it. */
void isol8_serve_stop(struct isol8_serve_child *c, int grace_ms);

#endif
