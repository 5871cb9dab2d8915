/*
 * `isol8 serve`'s settings, apart from its processes so tests can check
 * them: the flags and the environment they fall back on, and the choice of
 * a free port. Pure: the environment and the port probe are parameters.
 */
#ifndef ISOL8_CLI_SERVE_ARGS_H
#define ISOL8_CLI_SERVE_ARGS_H

#include <stdbool.h>

#include "isol8/error.h"

#define ISOL8_SERVE_DEFAULT_PORT 3000
/* How far past a taken port a free one is looked for. */
#define ISOL8_SERVE_PORT_SEARCH 100

struct isol8_serve_env {
	const char *isol8_port; /* $ISOL8_PORT */
	const char *port;       /* $PORT */
	const char *api_key;    /* $ISOL8_API_KEY */
};

struct isol8_serve_args {
	int port;          /* HTTP: --port, else $ISOL8_PORT, else $PORT, else 3000 */
	int grpc_port;     /* --grpc-port, 0: a free one */
	const char *key;   /* --key, else $ISOL8_API_KEY */
	const char *host;  /* --host: the address both listen on (default 0.0.0.0) */
	bool debug;
	bool help;
};

/* Parses argv (argv[0] the verb). Errors name the flag or variable; a
 * missing key is ISOL8_E_INVALID saying how to give one (the caller exits 2). */
int isol8_serve_parse(struct isol8_serve_args *a, int argc, char **argv, const struct isol8_serve_env *env,
		      struct isol8_error *err);

/* The first port from `from` on (at most ISOL8_SERVE_PORT_SEARCH tried, up to
 * 65535) that is not `skip` and that is_free says is free on host; 0 when none. */
int isol8_serve_next_free(const char *host, int from, int skip, bool (*is_free)(const char *host, int port));

/* "HOST:PORT", with an IPv6 host in brackets. */
void isol8_serve_address(const char *host, int port, char *buf, size_t size);

#endif
