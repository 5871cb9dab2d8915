/* A fake sandbox backend for the registry and the session table: sandboxes
 * are numbers ("c<N>"), failures are switched on by number. No Docker. */
#ifndef ISOL8_TEST_FAKE_SANDBOX_H
#define ISOL8_TEST_FAKE_SANDBOX_H

#include <pthread.h>
#include <stdbool.h>

#include "sandbox/registry.h"

struct fake {
	pthread_mutex_t lock;
	int next_id;
	int created, resets, destroyed;
	int fail_reset_of;   /* container number whose reset fails (0: none) */
	int dead;            /* container number whose ping fails (0: none) */
	bool fail_create;
	int create_ms;
};

extern struct fake fake;

/* The number of a fake sandbox. */
int fake_number(const struct isol8_sandbox *sb);

/* One of fake's counters, read under its lock. */
int fake_get(const int *field);

/* Container options of a runtime with small limits. */
struct isol8_container_options options(const char *runtime);

/* A registry over the fake (fake reset to zero first), asserted to start. */
struct isol8_registry *registry(enum isol8_pool_strategy strategy, int executions, int sandboxes, int warm);

#endif
