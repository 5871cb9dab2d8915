/*
 * The registry's background workers. Each worker takes the most urgent job
 * under the lock, marks the record it works on (REMOVING, RESETTING or
 * STARTING), and does the work with the lock released:
 *   1. remove a doomed sandbox (this frees room for waiting acquires);
 *   2. reset a dirty one and verify it: clean again if the pools want it,
 *      removed otherwise, and removed on any failure — never reused;
 *   3. start a sandbox for a pool below its target, while there is room,
 *      no acquire is waiting for that room, and another worker is free for
 *      1 and 2. A pool whose creation failed
 *      (an image missing, Docker down) waits before the next try, doubling
 *      up to REFILL_BACKOFF_MAX_MS.
 * At shutdown the workers remove everything doomed, then exit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "sandbox/registry_internal.h"
#include "base/util.h"

#define REFILL_BACKOFF_FIRST_MS 500
#define REFILL_BACKOFF_MAX_MS 30000
#define IDLE_WAKE_MS 1000

static struct record *find_state(struct isol8_registry *r, enum isol8_sandbox_state state)
{
	for (struct record *rec = r->records; rec; rec = rec->next)
		if (rec->state == state)
			return rec;
	return NULL;
}

/* The pool most in need of a sandbox that may get one now. */
static struct pool *refill_candidate(struct isol8_registry *r, int64_t now_ms, int64_t *next_retry_ms)
{
	struct pool *best = NULL;
	int best_have = 0;

	/* one worker is always left for resets and removals, which the
	 * executions wait for, while the others create */
	if (r->stopping || registry_bounded(r) + r->waiting >= r->cfg.max_sandboxes ||
	    (r->cfg.workers > 1 && r->creating >= r->cfg.workers - 1))
		return NULL;
	for (struct pool *p = r->pools; p; p = p->next) {
		int have = registry_members(r, p);
		if (have >= p->target)
			continue;
		if (p->retry_at_ms > now_ms) {
			if (*next_retry_ms == 0 || p->retry_at_ms < *next_retry_ms)
				*next_retry_ms = p->retry_at_ms;
			continue;
		}
		if (!best || have < best_have) {
			best = p;
			best_have = have;
		}
	}
	/* a pool below its target may take a warm place another pool holds
	 * beyond its base target */
	if (best != NULL && !registry_warm_room(r, best))
		return NULL;
	return best;
}

/* Pools that grew for a load that has passed shrink back one step, and a
 * clean sandbox past the new target goes. */
static void pools_shrink(struct isol8_registry *r, int64_t now_ms)
{
	for (struct pool *p = r->pools; p; p = p->next) {
		if (p->target <= p->base_target || now_ms - p->missed_ms < ISOL8_POOL_SHRINK_MS ||
		    now_ms - p->shrunk_ms < ISOL8_POOL_SHRINK_MS)
			continue;
		p->target--;
		p->shrunk_ms = now_ms; /* not missed_ms: a shrinking pool is not busy */
		if (registry_count(r, p, ISOL8_SB_CLEAN) > p->target) {
			for (struct record *rec = r->records; rec; rec = rec->next) {
				if (rec->pool == p && rec->state == ISOL8_SB_CLEAN) {
					registry_doom(r, rec);
					break;
				}
			}
		}
	}
}

static void do_remove(struct isol8_registry *r, struct record *rec)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	rec->state = ISOL8_SB_REMOVING;
	pthread_mutex_unlock(&r->lock);
	if (r->ops.destroy(r->ops.ctx, &rec->sb, &err) < 0)
		registry_logf(r, ISOL8_LOG_WARN, "removing sandbox %.12s: %s", rec->sb.container_id, err.message);
	pthread_mutex_lock(&r->lock);
	registry_record_free(r, rec);
}

static void do_reset(struct isol8_registry *r, struct record *rec)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	int64_t start = isol8_now_us();
	int ret;

	rec->state = ISOL8_SB_RESETTING;
	pthread_mutex_unlock(&r->lock);
	ret = r->ops.reset(r->ops.ctx, &rec->sb, &err);
	pthread_mutex_lock(&r->lock);
	if (ret < 0) {
		char id[13];
		snprintf(id, sizeof(id), "%.12s", rec->sb.container_id); /* another worker may free rec */
		r->counters.resets_failed++;
		registry_doom(r, rec);
		pthread_mutex_unlock(&r->lock);
		registry_logf(r, ISOL8_LOG_WARN, "reset of sandbox %s failed, removing it: %s", id, err.message);
		pthread_mutex_lock(&r->lock);
		return;
	}
	if (r->cfg.prepare && !rec->stale) {
		pthread_mutex_unlock(&r->lock);
		r->cfg.prepare(r->cfg.prepare_userdata, &rec->sb);
		pthread_mutex_lock(&r->lock);
	}
	/* what a waiting acquire waits for: the reset and the preparation */
	registry_ewma(&r->reset_ewma_us, isol8_now_us() - start);
	/* kept while its pool is within its target and the warm total allows;
	 * the pool's other sandboxes on their way back from a run do not count
	 * against it: under a load that fills every slot, each finished run
	 * has one, and counting them threw away sandbox after sandbox */
	if (!r->stopping && !rec->stale && rec->pool && registry_settled_members(r, rec->pool) + 1 <= rec->pool->target &&
	    registry_warm_room(r, rec->pool)) {
		rec->state = ISOL8_SB_CLEAN;
		pthread_cond_broadcast(&r->changed);
	} else {
		registry_logf(r, ISOL8_LOG_DEBUG, "sandbox %.12s reset, not kept: pool target %d, clean %d, warm %d of %d",
			      rec->sb.container_id, rec->pool ? rec->pool->target : -1,
			      rec->pool ? registry_count(r, rec->pool, ISOL8_SB_CLEAN) : -1, registry_warm(r),
			      r->cfg.max_warm);
		registry_doom(r, rec);
	}
}

static void do_refill(struct isol8_registry *r, struct pool *p)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct record *rec = registry_record_new(r, p, true);
	int64_t start = isol8_now_us();
	int ret;

	if (rec == NULL) {
		p->retry_at_ms = isol8_now_ms() + REFILL_BACKOFF_FIRST_MS;
		return;
	}
	r->creating++;
	pthread_mutex_unlock(&r->lock);
	ret = r->ops.create(r->ops.ctx, &p->opts, &rec->sb, &err);
	if (ret == 0 && r->cfg.prepare && !r->stopping)
		r->cfg.prepare(r->cfg.prepare_userdata, &rec->sb);
	pthread_mutex_lock(&r->lock);
	r->creating--;
	if (ret < 0) {
		p->backoff_ms = p->backoff_ms ? p->backoff_ms * 2 : REFILL_BACKOFF_FIRST_MS;
		if (p->backoff_ms > REFILL_BACKOFF_MAX_MS)
			p->backoff_ms = REFILL_BACKOFF_MAX_MS;
		p->retry_at_ms = isol8_now_ms() + p->backoff_ms;
		int backoff = p->backoff_ms;
		const char *runtime = p->opts.runtime; /* static; p may go with rec */
		registry_record_free(r, rec);
		pthread_mutex_unlock(&r->lock);
		registry_logf(r, ISOL8_LOG_WARN, "warming a %s sandbox failed (next try in %d ms): %s", runtime,
			      backoff, err.message);
		pthread_mutex_lock(&r->lock);
		return;
	}
	registry_ewma(&r->create_ewma_us, isol8_now_us() - start);
	r->counters.created++;
	p->backoff_ms = 0;
	rec->state = (r->stopping || rec->stale) ? ISOL8_SB_DOOMED : ISOL8_SB_CLEAN;
	rec->released_ms = isol8_now_ms();
	pthread_cond_broadcast(&r->changed);
}

static void *worker_main(void *arg)
{
	struct isol8_registry *r = arg;

	pthread_mutex_lock(&r->lock);
	for (;;) {
		int64_t next_retry_ms = 0;
		struct record *rec;
		struct pool *p;

		if ((rec = find_state(r, ISOL8_SB_DOOMED)) != NULL) {
			do_remove(r, rec);
			continue;
		}
		if ((rec = find_state(r, ISOL8_SB_DIRTY)) != NULL) {
			do_reset(r, rec);
			continue;
		}
		pools_shrink(r, isol8_now_ms());
		if ((p = refill_candidate(r, isol8_now_ms(), &next_retry_ms)) != NULL) {
			do_refill(r, p);
			continue;
		}
		/* at shutdown: done once every sandbox is gone (isol8_registry_free
		 * dooms the rest when nothing is leased any more) */
		if (r->stopping && r->records == NULL)
			break;
		int64_t wait_ms = IDLE_WAKE_MS;
		if (next_retry_ms > 0 && next_retry_ms - isol8_now_ms() < wait_ms)
			wait_ms = next_retry_ms - isol8_now_ms() + 1;
		registry_wait(r, wait_ms);
	}
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int registry_workers_start(struct isol8_registry *r, struct isol8_error *err)
{
	for (int i = 0; i < r->cfg.workers; i++) {
		if (pthread_create(&r->threads[i], NULL, worker_main, r) != 0)
			return isol8_error_set(err, ISOL8_E_NOMEM, "cannot start sandbox worker thread %d of %d", i + 1,
					       r->cfg.workers);
		r->n_threads++;
	}
	return 0;
}

void registry_workers_join(struct isol8_registry *r)
{
	for (int i = 0; i < r->n_threads; i++)
		pthread_join(r->threads[i], NULL);
	r->n_threads = 0;
}
