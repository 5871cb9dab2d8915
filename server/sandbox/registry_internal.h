/* Internals of the registry shared by registry.c (records, pools, admission)
 * and registry_work.c (the background workers). See registry.h. */
#ifndef ISOL8_REGISTRY_INTERNAL_H
#define ISOL8_REGISTRY_INTERNAL_H

#include <pthread.h>

#include "sandbox/registry.h"

struct pool;

struct record {
	struct isol8_sandbox sb;
	enum isol8_sandbox_state state;
	struct pool *pool;      /* NULL: not pooled (not reusable, or kept) */
	bool for_pool;          /* STARTING for a pool (not for an acquire) */
	bool used;              /* has run an execution */
	bool stale;             /* made before a flush: never clean again */
	int64_t released_ms;
	struct record *next;
};

struct pool {
	char key[ISOL8_POOL_KEY_MAX];
	struct isol8_container_options opts;  /* strings point at the copies below */
	char *image, *profile;
	int target;             /* clean sandboxes to keep ready now */
	int base_target;        /* what it shrinks back to when demand falls */
	int64_t missed_ms;      /* when an acquire last found no clean sandbox */
	int64_t shrunk_ms;      /* when its target last shrank a step */
	bool pinned;            /* prewarmed: never dropped */
	int records;            /* records pointing here */
	int holds;              /* acquires using it while they wait */
	int64_t last_used_ms;
	int64_t retry_at_ms;    /* after a failed creation, not before this */
	int backoff_ms;
	struct pool *next;
};

struct waiter {
	struct waiter *next;
};

struct isol8_registry {
	struct isol8_registry_config cfg;
	struct isol8_sandbox_ops ops;
	isol8_registry_log_fn log;
	pthread_mutex_t lock;
	pthread_cond_t changed;       /* broadcast on every change of state */
	struct record *records;
	struct pool *pools;
	struct waiter *queue_head, *queue_tail;
	int waiting;
	int running;
	int live;
	int creating;                 /* workers creating a sandbox now */
	bool stopping;
	int64_t create_ewma_us;       /* how long a creation takes, smoothed */
	int64_t reset_ewma_us;        /* how long a reset takes, smoothed */
	struct isol8_registry_stats counters; /* created, reused, resets_failed, replaced */
	pthread_t threads[ISOL8_REGISTRY_MAX_WORKERS];
	int n_threads;
};

/* With the lock held. */
int registry_count(const struct isol8_registry *r, const struct pool *p, enum isol8_sandbox_state state);
int registry_warm(const struct isol8_registry *r);
/* The live sandboxes max_sandboxes bounds: every one but those sessions
 * hold between their calls (sessions.max bounds those). */
int registry_bounded(const struct isol8_registry *r);
/* The sandboxes that count against a pool's target: clean or being started
 * for it and, with fast (they come back), being started for an acquire, in
 * use or being reset. */
int registry_members(const struct isol8_registry *r, const struct pool *p);

/* The members less those on their way back from a run (dirty, resetting). */
int registry_settled_members(const struct isol8_registry *r, const struct pool *p);
struct record *registry_record_new(struct isol8_registry *r, struct pool *p, bool for_pool);
void registry_record_free(struct isol8_registry *r, struct record *rec);
void registry_doom(struct isol8_registry *r, struct record *rec);
void registry_ewma(int64_t *avg, int64_t sample_us);
/* Waits on r->changed for at most ms. */
void registry_wait(struct isol8_registry *r, int64_t ms);
void registry_logf(struct isol8_registry *r, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The pools (registry_pool.c). registry_pool_for: the pool of opts, made
 * on first use with target (pinned: prewarmed), NULL with err when the key
 * does not fit or memory runs out. */
struct pool *registry_pool_for(struct isol8_registry *r, const struct isol8_container_options *opts, int target,
			       bool pinned, struct isol8_error *err);
void registry_pool_grow(struct isol8_registry *r, struct pool *p);
void registry_pools_collect(struct isol8_registry *r);
/* Whether one more clean sandbox of pool p fits in max_warm. When it is
 * full and p holds fewer than its base target, room is made: the oldest
 * clean sandbox of a pool holding more than its base target (what a passed
 * load left) goes. */
bool registry_warm_room(struct isol8_registry *r, const struct pool *p);

/* The workers (registry_work.c). */
int registry_workers_start(struct isol8_registry *r, struct isol8_error *err);
void registry_workers_join(struct isol8_registry *r);

#endif
