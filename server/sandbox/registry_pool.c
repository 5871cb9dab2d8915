/* The registry's pools: finding, making, trimming, growing and flushing
 * them. See registry.h for the design. isol8_registry_prewarm and
 * isol8_registry_flush take the lock; the rest run with it held. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "sandbox/registry_internal.h"

int registry_members(const struct isol8_registry *r, const struct pool *p)
{
	int n = 0;

	for (const struct record *rec = r->records; rec; rec = rec->next) {
		if (rec->pool != p)
			continue;
		if (rec->state == ISOL8_SB_CLEAN || (rec->state == ISOL8_SB_STARTING && rec->for_pool))
			n++;
		else if (r->cfg.strategy == ISOL8_POOL_FAST &&
			 (rec->state == ISOL8_SB_STARTING || rec->state == ISOL8_SB_IN_USE || rec->state == ISOL8_SB_DIRTY ||
			  rec->state == ISOL8_SB_RESETTING))
			n++;
	}
	return n;
}

int registry_settled_members(const struct isol8_registry *r, const struct pool *p)
{
	return registry_members(r, p) - registry_count(r, p, ISOL8_SB_DIRTY) - registry_count(r, p, ISOL8_SB_RESETTING);
}

static void pool_free(struct pool *p)
{
	free(p->image);
	free(p->profile);
	free(p);
}

/* Drops pools that are not pinned, keep nothing, and that no record points
 * at and no acquire holds. */
void registry_pools_collect(struct isol8_registry *r)
{
	for (struct pool **pp = &r->pools; *pp;) {
		struct pool *p = *pp;
		if (!p->pinned && p->target == 0 && p->records == 0 && p->holds == 0) {
			*pp = p->next;
			pool_free(p);
		} else {
			pp = &p->next;
		}
	}
}

static struct pool *pool_find(struct isol8_registry *r, const char *key)
{
	for (struct pool *p = r->pools; p; p = p->next)
		if (strcmp(p->key, key) == 0)
			return p;
	return NULL;
}

static struct pool *pool_add(struct isol8_registry *r, const char *key, const struct isol8_container_options *opts)
{
	struct pool *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	snprintf(p->key, sizeof(p->key), "%s", key);
	p->opts = *opts;
	p->image = opts->image ? strdup(opts->image) : NULL;
	p->profile = opts->seccomp_profile ? strdup(opts->seccomp_profile) : NULL;
	if ((opts->image && !p->image) || (opts->seccomp_profile && !p->profile)) {
		pool_free(p);
		return NULL;
	}
	p->opts.image = p->image;
	p->opts.seccomp_profile = p->profile;
	p->last_used_ms = isol8_now_ms();
	p->next = r->pools;
	r->pools = p;
	return p;
}

/* Keeps the pools' base targets (what each keeps warm when idle) within
 * max_warm: the least recently used pools that are not pinned give theirs
 * up, and their clean sandboxes go. */
static void pools_trim(struct isol8_registry *r, const struct pool *keep)
{
	for (;;) {
		struct pool *lru = NULL;
		int total = 0;

		for (struct pool *p = r->pools; p; p = p->next) {
			total += p->base_target;
			if (!p->pinned && p != keep && p->target > 0 && (!lru || p->last_used_ms < lru->last_used_ms))
				lru = p;
		}
		if (total <= r->cfg.max_warm || lru == NULL)
			break;
		lru->target = lru->base_target = 0;
		for (struct record *rec = r->records; rec; rec = rec->next)
			if (rec->pool == lru && rec->state == ISOL8_SB_CLEAN)
				registry_doom(r, rec);
	}
	registry_pools_collect(r);
}

/* The pool for opts, made on first use (with one warm sandbox) when opts
 * are reusable. NULL for options that are never pooled, or out of memory. */
struct pool *registry_pool_for(struct isol8_registry *r, const struct isol8_container_options *opts, int target,
			     bool pinned, struct isol8_error *err)
{
	char key[ISOL8_POOL_KEY_MAX];
	struct pool *p;

	if (isol8_container_key(opts, key, sizeof(key), err) < 0)
		return NULL;
	p = pool_find(r, key);
	if (p == NULL) {
		p = pool_add(r, key, opts);
		if (p == NULL) {
			isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
			return NULL;
		}
	}
	if (pinned) {
		p->pinned = true;
		p->target = p->base_target = target;
	} else if (p->base_target < target) {
		p->base_target = target;
		if (p->target < target)
			p->target = target;
	}
	p->last_used_ms = isol8_now_ms();
	pools_trim(r, p);
	pthread_cond_broadcast(&r->changed);
	return p;
}

int isol8_registry_prewarm(struct isol8_registry *r, const struct isol8_container_options *opts, int clean,
			   struct isol8_error *err)
{
	int ret = 0;

	if (clean < 0 || clean > r->cfg.max_warm)
		return isol8_error_set(err, ISOL8_E_INVALID, "prewarm of %s: %d is out of range (0 to %d)",
				       opts->runtime, clean, r->cfg.max_warm);
	if (!isol8_container_reusable(opts))
		return isol8_error_set(err, ISOL8_E_INVALID, "prewarm of %s: these options are never pooled",
				       opts->runtime);
	pthread_mutex_lock(&r->lock);
	if (registry_pool_for(r, opts, clean, true, err) == NULL)
		ret = -err->code;
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* An acquire found no clean sandbox: the pool keeps one more from now on
 * (up to its base target plus what can run at once), so that a steady load
 * finds one whose reset and pre-started interpreter are done. The sandboxes
 * that then sit idle are still bounded by max_warm. */
void registry_pool_grow(struct isol8_registry *r, struct pool *p)
{
	/* demand beyond supply: the pool's own sandboxes are all in use (not
	 * its first use, and none on its way back from a reset), and one step
	 * at a time: not while one is starting for it */
	if (p == NULL || p->records == 0)
		return;
	p->missed_ms = isol8_now_ms();
	if (p->target >= p->base_target + r->cfg.max_executions || registry_bounded(r) >= r->cfg.max_sandboxes)
		return;
	for (struct record *rec = r->records; rec; rec = rec->next)
		if (rec->pool == p && ((rec->state == ISOL8_SB_STARTING && rec->for_pool) ||
				       rec->state == ISOL8_SB_DIRTY || rec->state == ISOL8_SB_RESETTING))
			return;
	p->target++;
	pthread_cond_broadcast(&r->changed);
}

void isol8_registry_flush(struct isol8_registry *r)
{
	pthread_mutex_lock(&r->lock);
	for (struct record *rec = r->records; rec; rec = rec->next) {
		if (rec->state == ISOL8_SB_CLEAN)
			registry_doom(r, rec);
		else if (rec->state == ISOL8_SB_STARTING || rec->state == ISOL8_SB_DIRTY || rec->state == ISOL8_SB_RESETTING ||
			 rec->state == ISOL8_SB_IN_USE)
			rec->stale = true;
	}
	pthread_mutex_unlock(&r->lock);
}

/* Whether a pool ran out of clean sandboxes lately: it is under load. */
static bool pool_busy(const struct pool *p, int64_t now_ms)
{
	return p->missed_ms != 0 && now_ms - p->missed_ms < ISOL8_POOL_BUSY_MS;
}

bool registry_warm_room(struct isol8_registry *r, const struct pool *p)
{
	struct record *victim = NULL;
	int64_t now = isol8_now_ms();
	bool below_base;

	if (registry_warm(r) < r->cfg.max_warm)
		return true;
	if (p == NULL)
		return false;
	/* a pool below its base target, or one under load below its target,
	 * takes the place of another pool's surplus; a busy pool's surplus is
	 * its load's and stays, or two loads would trade sandboxes */
	below_base = registry_count(r, p, ISOL8_SB_CLEAN) < p->base_target;
	if (!below_base && !(pool_busy(p, now) && registry_count(r, p, ISOL8_SB_CLEAN) < p->target))
		return false;
	for (struct record *rec = r->records; rec; rec = rec->next) {
		if (rec->state != ISOL8_SB_CLEAN || rec->pool == NULL || rec->pool == p ||
		    registry_count(r, rec->pool, ISOL8_SB_CLEAN) <= rec->pool->base_target ||
		    (!below_base && pool_busy(rec->pool, now)))
			continue;
		if (victim == NULL || rec->released_ms < victim->released_ms)
			victim = rec;
	}
	if (victim == NULL)
		return false;
	/* the load that grew its pool has passed: the place goes with it, or
	 * the pool would refill it and take it back */
	if (victim->pool->target > victim->pool->base_target)
		victim->pool->target--;
	registry_doom(r, victim);
	return true;
}
