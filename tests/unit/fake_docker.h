/* A fake Docker Engine on a unix socket for unit tests: one thread answers
 * each request from a table of routes (method and a path fragment), one
 * connection per request, and counts what it served. */
#ifndef ISOL8_TEST_FAKE_DOCKER_H
#define ISOL8_TEST_FAKE_DOCKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define FAKE_DOCKER_ROUTES 16

struct fake_route {
	const char *method;   /* "GET", "DELETE", ... */
	const char *path;     /* matches a request whose path holds it */
	int status;           /* 200, 204, 409, 500, ... */
	const char *body;     /* JSON, or NULL for none */
	atomic_int hits;
};

struct fake_docker {
	char path[128];
	int listen_fd;
	pthread_t thread;
	atomic_bool stop;
	struct fake_route routes[FAKE_DOCKER_ROUTES]; /* first match wins; none: 404 */
	size_t n_routes;
	atomic_int unmatched;
};

/* Listens on dir/name; the routes are added before the first request. */
int fake_docker_start(struct fake_docker *f, const char *dir, const char *name);
void fake_docker_route(struct fake_docker *f, const char *method, const char *path, int status, const char *body);
int fake_docker_hits(struct fake_docker *f, const char *method, const char *path);
void fake_docker_stop(struct fake_docker *f);

#endif
