/*
 * The sandbox registry: every live sandbox of this daemon, the warm pools,
 * and admission. Executions call isol8_registry_acquire and
 * isol8_registry_release and never talk to Docker themselves.
 *
 * Records. Each sandbox is a record with a state:
 *   STARTING  being created (by a worker for a pool, or by an acquire)
 *   CLEAN     started or reset and verified, waiting in its pool
 *   IN_USE    handed to an execution
 *   DIRTY     released, waiting for a worker to reset it
 *   RESETTING a worker is resetting it
 *   KEPT      released with "persist": kept until cleanup or shutdown
 *   SESSION   held by a persistent session between its calls (sessions.h)
 *   DOOMED    waiting for a worker to remove it; REMOVING while it does
 * Every record counts against max_sandboxes until its container is gone,
 * so sandboxes waiting for removal hold back new ones; only those sessions
 * hold between their calls do not (sessions.max bounds them), or sessions
 * idling would stop every new execution.
 *
 * Pools. A pool is a pool key (sandbox.h) and a number of sandboxes to
 * keep: clean ones, and with fast also those in use or being reset, which
 * come back. Prewarmed pools (isol8_registry_prewarm) are pinned; any other key
 * gets a pool of one on first use, dropped again by LRU when the clean
 * sandboxes of all pools would pass max_warm. A pool that an acquire finds
 * empty keeps one more from then on, and gives it up again when the demand
 * has passed; idle clean sandboxes stay within max_warm all the same. Strategy fast: a released
 * sandbox is reset, verified and goes back to its pool; secure: it is
 * removed and the pool refills with a never-used one. A sandbox whose
 * options are not reusable (sandbox.h) is never pooled.
 *
 * Admission is one FIFO queue of waiting acquires: the first in line goes
 * when fewer than max_executions run and it can have a sandbox (a clean one
 * of its key, or room to create one now, making room by evicting another
 * pool's clean sandbox). Waiters sleep on the registry's condition variable,
 * which every change of state signals; a waiter also wakes every
 * ISOL8_ADMIT_CANCEL_POLL_MS to see whether its caller went away.
 *
 * Threads. One mutex guards every record, pool and counter. Background
 * workers (registry_work.c) create, reset and remove sandboxes; Docker and
 * agent calls are made with the mutex released, on records whose state says
 * who owns them (STARTING, RESETTING, REMOVING: the one worker or acquire
 * that set it; IN_USE: the execution).
 */
#ifndef ISOL8_REGISTRY_H
#define ISOL8_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "isol8/error.h"
#include "sandbox/sandbox.h"

#define ISOL8_ADMIT_CANCEL_POLL_MS 100
#define ISOL8_REGISTRY_MAX_WORKERS 16
/* A pool that runs out grows its target (up to its base target plus
 * max_executions); after ISOL8_POOL_SHRINK_MS without running out it
 * shrinks back one at a time. */
#define ISOL8_POOL_SHRINK_MS 60000
/* A pool that ran out within this long is under load: its surplus is not
 * given to another pool's load. */
#define ISOL8_POOL_BUSY_MS 5000

enum isol8_pool_strategy { ISOL8_POOL_FAST, ISOL8_POOL_SECURE };

enum isol8_sandbox_state {
	ISOL8_SB_STARTING,
	ISOL8_SB_CLEAN,
	ISOL8_SB_IN_USE,
	ISOL8_SB_DIRTY,
	ISOL8_SB_RESETTING,
	ISOL8_SB_KEPT,
	ISOL8_SB_SESSION,
	ISOL8_SB_DOOMED,
	ISOL8_SB_REMOVING,
};

struct isol8_registry_config {
	struct isol8_sandbox_env env;     /* strings borrowed for the registry's life */
	struct isol8_sandbox_ops ops;     /* zero: isol8_sandbox_docker_ops(&env) */
	enum isol8_pool_strategy strategy;
	int max_executions;               /* executions at once */
	int max_waiting;                  /* acquires waiting; past it ISOL8_E_EXHAUSTED */
	int max_sandboxes;                /* live sandboxes of every state but SESSION */
	int max_warm;                     /* clean (and warming) sandboxes across pools */
	int workers;                      /* background threads */
	/* Called on a worker thread when a pooled sandbox is about to become
	 * clean (new, or reset): e.g. to pre-start its next interpreter. May be
	 * NULL. */
	void (*prepare)(void *userdata, struct isol8_sandbox *sb);
	void *prepare_userdata;
};

/* Called from a worker for each event worth a log line (level: ISOL8_LOG_*). */
typedef void (*isol8_registry_log_fn)(int level, const char *message);

struct isol8_registry;

/* Timings of one acquire, for the phase breakdown. */
struct isol8_acquire_info {
	int64_t queued_us;    /* waiting for admission */
	int64_t acquire_us;   /* ping of a pooled sandbox, or creation of a new one */
	bool cold;            /* no clean sandbox: created for this execution */
};

/* The sandbox an execution holds between acquire and release. */
struct isol8_lease {
	struct isol8_sandbox *sandbox;  /* owned by the registry; valid until release */
	struct isol8_acquire_info info;
	void *record;
};

enum isol8_release_outcome {
	ISOL8_RELEASE_USED,    /* reset and reuse it (fast) or remove it (secure) */
	ISOL8_RELEASE_BROKEN,  /* the agent failed: remove it */
	ISOL8_RELEASE_KEEP,    /* --persist: keep it until cleanup or shutdown */
	ISOL8_RELEASE_SESSION, /* a session holds it until isol8_registry_drop */
};

int isol8_registry_new(struct isol8_registry **out, const struct isol8_registry_config *cfg,
		       isol8_registry_log_fn log, struct isol8_error *err);

/* Refuses new acquires, wakes the waiting ones (ISOL8_E_UNAVAILABLE), waits
 * for the leased sandboxes to come back, removes every sandbox, stops the
 * workers and frees the registry. */
void isol8_registry_free(struct isol8_registry *r);

/* Keeps `clean` sandboxes of these options warm from now on (0: none). The
 * options are copied. The workers start them in the background. */
int isol8_registry_prewarm(struct isol8_registry *r, const struct isol8_container_options *opts, int clean,
			   struct isol8_error *err);

/* Admission, then a sandbox of these options: a clean pooled one whose agent
 * answers (one that does not is removed and another taken), or a new one
 * created on the caller's thread. cancelled (may be NULL) is polled while
 * waiting. ISOL8_E_EXHAUSTED when too many wait already, ISOL8_E_CANCELLED,
 * ISOL8_E_UNAVAILABLE at shutdown, or the creation's error. */
int isol8_registry_acquire(struct isol8_registry *r, const struct isol8_container_options *opts,
			   bool (*cancelled)(void *userdata), void *userdata, struct isol8_lease *lease,
			   struct isol8_error *err);

/* Gives a leased sandbox back and frees the execution's slot. */
void isol8_registry_release(struct isol8_registry *r, struct isol8_lease *lease, enum isol8_release_outcome outcome);

/* Admission for a sandbox held by a session (released with
 * ISOL8_RELEASE_SESSION, `record` from that lease): waits in the same FIFO
 * queue as acquires for a free execution slot, then leases it again.
 * Errors as isol8_registry_acquire's. */
int isol8_registry_resume(struct isol8_registry *r, void *record, bool (*cancelled)(void *userdata),
			  void *userdata, struct isol8_lease *lease, struct isol8_error *err);

/* Removes a sandbox held by a session (not leased): a worker removes it. */
void isol8_registry_drop(struct isol8_registry *r, void *record);

struct isol8_registry_stats {
	int running;          /* executions holding a sandbox */
	int waiting;          /* acquires in the admission queue */
	int live;             /* records of every state */
	int clean;
	int starting;
	int in_use;
	int resetting;        /* dirty or being reset */
	int kept;
	int sessions;         /* held by sessions between calls */
	int removing;         /* doomed or being removed */
	int pools;
	bool secure;          /* the strategy */
	uint64_t created;     /* sandboxes created since start */
	uint64_t reused;      /* acquires served by a reset sandbox */
	uint64_t resets_failed;
	uint64_t replaced;    /* pooled sandboxes found dead on acquire */
};

void isol8_registry_stats(struct isol8_registry *r, struct isol8_registry_stats *out);

/* Replaces every clean sandbox (removed now, refilled in the background),
 * e.g. after their images were rebuilt. */
void isol8_registry_flush(struct isol8_registry *r);

/* Calls fn for each kept (--persist) sandbox. */
typedef void (*isol8_registry_sandbox_fn)(const struct isol8_sandbox *sb, void *userdata);
void isol8_registry_each_kept(struct isol8_registry *r, isol8_registry_sandbox_fn fn, void *userdata);

/* Removes the kept sandboxes (their containers go in the background),
 * calling fn (may be NULL) for each first; sets *removed to how many. */
void isol8_registry_remove_kept(struct isol8_registry *r, isol8_registry_sandbox_fn fn, void *userdata, int *removed);

/* The same for the kept sandboxes kept for idle_ms or longer. */
void isol8_registry_remove_kept_idle(struct isol8_registry *r, int64_t idle_ms, isol8_registry_sandbox_fn fn,
				     void *userdata, int *removed);

/* Whether the container with this id is one of the registry's live
 * sandboxes (cleanup leaves those alone). */
bool isol8_registry_owns_container(struct isol8_registry *r, const char *container_id);

#endif
