/*
 * Persistent sessions: a session id names one sandbox that serves one call
 * at a time and keeps its files, its background processes and (through the
 * agent's interpreter driver) its interpreter state between calls.
 *
 * - A call with a session id takes the session for the call
 *   (isol8_sessions_begin), creating it on first use with a sandbox from
 *   the registry (a warm one when the pool has it). Between calls the
 *   sandbox is held by the session (registry state SESSION): it counts as
 *   a live sandbox, not as a running execution; each call is admitted as an
 *   execution like any other.
 * - One call at a time: a second call waits while the session is busy, up
 *   to its wait, then ISOL8_E_ABORTED saying the session is busy.
 * - One runtime per session: a call with another one is
 *   ISOL8_E_PRECONDITION naming both.
 * - Past `max` sessions a new one is ISOL8_E_EXHAUSTED; a session idle for
 *   idle_ms is destroyed by the table's sweeper thread.
 * - File transfers hold a reference (isol8_sessions_ref), not the session:
 *   they run beside a call. Destroying a session with a call on it cancels
 *   the call, and the sandbox is removed when the call ends; a transfer's
 *   reference keeps only the entry, so the sandbox goes at once and the
 *   transfer fails (it checks isol8_sessions_ref_doomed between chunks).
 *
 * Threads: every function may be called from any thread; one mutex guards
 * the table, Docker and agent calls are made without it.
 */
#ifndef ISOL8_SESSIONS_H
#define ISOL8_SESSIONS_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "isol8/error.h"
#include "sandbox/registry.h"

/* A session id: 1 to 128 characters of [A-Za-z0-9._:-]. */
#define ISOL8_SESSION_ID_MAX 128
#define ISOL8_SESSIONS_DEFAULT_MAX 64
#define ISOL8_SESSIONS_DEFAULT_IDLE_MS (30 * 60 * 1000)

struct isol8_sessions;
struct isol8_session;

struct isol8_sessions_config {
	struct isol8_registry *registry; /* borrowed; outlives the table */
	int max;                         /* sessions at once (0: ISOL8_SESSIONS_DEFAULT_MAX; negative: none) */
	int64_t idle_ms;                 /* idle time before removal (0: ISOL8_SESSIONS_DEFAULT_IDLE_MS) */
	/* Called without the lock when a session goes (destroyed, expired,
	 * freed) for a log line; reason: "destroyed", "expired", "shutdown".
	 * May be NULL. */
	void (*on_gone)(void *userdata, const char *id, const char *reason);
	void *userdata;
};

int isol8_sessions_new(struct isol8_sessions **out, const struct isol8_sessions_config *cfg, struct isol8_error *err);

/* Cancels what runs in sessions, waits for it, removes every session's
 * sandbox and frees the table (before the registry is freed). */
void isol8_sessions_free(struct isol8_sessions *t);

/* Whether id is a valid session id; else ISOL8_E_INVALID naming field. */
int isol8_session_id_check(const char *field, const char *id, struct isol8_error *err);

/* One call in a session, between begin and end. */
struct isol8_session_call {
	struct isol8_session *session;
	struct isol8_lease lease;      /* the session's sandbox, admitted for this call */
	bool created;                  /* the session was made for this call */
};

/* Takes session id for one call: makes it (runtime and container options
 * from opts) if it does not exist, waits while it is busy (at most wait_ms,
 * polling cancelled), then waits for admission as any execution. */
int isol8_sessions_begin(struct isol8_sessions *t, const char *id, const struct isol8_container_options *opts,
			 int64_t wait_ms, bool (*cancelled)(void *userdata), void *userdata,
			 struct isol8_session_call *call, struct isol8_error *err);

/* True once the session of call was destroyed while the call runs: the
 * call should stop. */
bool isol8_sessions_call_doomed(const struct isol8_session_call *call);

/* Ends the call; broken: the sandbox failed (the agent did not answer), so
 * the session is destroyed. */
void isol8_sessions_end(struct isol8_sessions *t, struct isol8_session_call *call, bool broken);

/* A file transfer's hold on an existing session's sandbox. */
struct isol8_session_ref {
	struct isol8_session *session;
	char socket[PATH_MAX];         /* the sandbox's agent socket */
	char container_id[65];
};

/* ISOL8_E_NOT_FOUND when no session has this id. */
int isol8_sessions_ref(struct isol8_sessions *t, const char *id, struct isol8_session_ref *ref,
		       struct isol8_error *err);
bool isol8_sessions_ref_doomed(const struct isol8_session_ref *ref);
void isol8_sessions_unref(struct isol8_sessions *t, struct isol8_session_ref *ref);

/* Destroys session id; *existed says whether there was one (an unknown
 * id is no error). */
int isol8_sessions_destroy(struct isol8_sessions *t, const char *id, bool *existed, struct isol8_error *err);

/* Destroys every session; *removed says how many. */
void isol8_sessions_destroy_all(struct isol8_sessions *t, int *removed);

struct isol8_session_info {
	char id[ISOL8_SESSION_ID_MAX + 1];
	const char *runtime;           /* static */
	char container_id[65];
	int64_t created_unix_ms;
	int64_t last_used_unix_ms;     /* the end of its last call (its creation before) */
	int64_t idle_ms;               /* 0 while busy */
	bool busy;
};

/* Calls fn for each session, in creation order, without the lock held
 * (from a copy). */
typedef void (*isol8_session_info_fn)(const struct isol8_session_info *info, void *userdata);
int isol8_sessions_list(struct isol8_sessions *t, isol8_session_info_fn fn, void *userdata, struct isol8_error *err);

/* How many sessions there are. */
int isol8_sessions_count(struct isol8_sessions *t);

#endif
