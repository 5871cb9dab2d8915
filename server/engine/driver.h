/* Session drivers: the interpreter program that keeps a session's state
 * between calls, per runtime. See driver.c for the protocol. */
#ifndef ISOL8_DRIVER_H
#define ISOL8_DRIVER_H

struct isol8_driver {
	const char *runtime;
	const char *const argv[6]; /* NULL-ended; argv[0] is the interpreter the agent matches calls against */
};

/* The driver of a runtime, or NULL when it has none (its sessions keep
 * files only). */
const struct isol8_driver *isol8_driver_find(const char *runtime);

#endif
