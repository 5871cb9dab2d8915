/* The sandbox registry: records, pools, admission, acquire and release.
 * See registry.h for the design; registry_work.c runs the workers. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "sandbox/registry_internal.h"
#include "base/util.h"

/* A wait for a reset to finish is worth it while it is expected sooner than
 * a creation; the first guesses, before anything was measured. */
#define FIRST_CREATE_US 100000
#define FIRST_RESET_US 10000

void registry_logf(struct isol8_registry *r, int level, const char *fmt, ...)
{
	char msg[ISOL8_ERROR_MESSAGE_MAX + 256];
	va_list ap;

	if (r->log == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->log(level, msg);
}

void registry_ewma(int64_t *avg, int64_t sample_us)
{
	*avg = *avg == 0 ? sample_us : (*avg * 7 + sample_us) / 8;
}

int registry_count(const struct isol8_registry *r, const struct pool *p, enum isol8_sandbox_state state)
{
	int n = 0;

	for (const struct record *rec = r->records; rec; rec = rec->next)
		if (rec->state == state && (p == NULL || rec->pool == p))
			n++;
	return n;
}

/* Clean sandboxes and those being started for pools. */
int registry_warm(const struct isol8_registry *r)
{
	int n = 0;

	for (const struct record *rec = r->records; rec; rec = rec->next)
		if (rec->state == ISOL8_SB_CLEAN || (rec->state == ISOL8_SB_STARTING && rec->for_pool))
			n++;
	return n;
}

int registry_bounded(const struct isol8_registry *r)
{
	return r->live - registry_count(r, NULL, ISOL8_SB_SESSION);
}

struct record *registry_record_new(struct isol8_registry *r, struct pool *p, bool for_pool)
{
	struct record *rec = calloc(1, sizeof(*rec));

	if (rec == NULL)
		return NULL;
	rec->state = ISOL8_SB_STARTING;
	rec->pool = p;
	rec->for_pool = for_pool;
	if (p)
		p->records++;
	rec->next = r->records;
	r->records = rec;
	r->live++;
	return rec;
}

void registry_record_free(struct isol8_registry *r, struct record *rec)
{
	for (struct record **pp = &r->records; *pp; pp = &(*pp)->next) {
		if (*pp == rec) {
			*pp = rec->next;
			break;
		}
	}
	if (rec->pool) {
		rec->pool->records--;
		registry_pools_collect(r);
	}
	r->live--;
	free(rec);
	pthread_cond_broadcast(&r->changed);
}

void registry_doom(struct isol8_registry *r, struct record *rec)
{
	rec->state = ISOL8_SB_DOOMED;
	pthread_cond_broadcast(&r->changed);
}

int isol8_registry_new(struct isol8_registry **out, const struct isol8_registry_config *cfg,
		       isol8_registry_log_fn log, struct isol8_error *err)
{
	struct isol8_registry *r;
	int ret;

	if (cfg->max_executions < 1 || cfg->max_sandboxes < 1 || cfg->max_warm < 0 || cfg->max_waiting < 0 ||
	    cfg->workers < 1 || cfg->workers > ISOL8_REGISTRY_MAX_WORKERS)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "sandbox registry: limits out of range (executions %d, sandboxes %d, warm %d, "
				       "waiting %d, workers %d of at most %d)",
				       cfg->max_executions, cfg->max_sandboxes, cfg->max_warm, cfg->max_waiting,
				       cfg->workers, ISOL8_REGISTRY_MAX_WORKERS);
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	r->cfg = *cfg;
	r->ops = cfg->ops.create ? cfg->ops : isol8_sandbox_docker_ops(&r->cfg.env);
	r->log = log;
	r->create_ewma_us = FIRST_CREATE_US;
	r->reset_ewma_us = FIRST_RESET_US;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->changed, NULL);
	ret = registry_workers_start(r, err);
	if (ret < 0) {
		isol8_registry_free(r);
		return ret;
	}
	*out = r;
	return 0;
}

void isol8_registry_free(struct isol8_registry *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stopping = true;
	pthread_cond_broadcast(&r->changed);
	while (r->running > 0 || r->waiting > 0)
		pthread_cond_wait(&r->changed, &r->lock);
	for (struct pool *p = r->pools; p; p = p->next) {
		p->target = 0;
		p->pinned = false;
	}
	for (struct record *rec = r->records; rec; rec = rec->next)
		if (rec->state == ISOL8_SB_CLEAN || rec->state == ISOL8_SB_KEPT || rec->state == ISOL8_SB_DIRTY ||
		    rec->state == ISOL8_SB_SESSION)
			registry_doom(r, rec);
	pthread_mutex_unlock(&r->lock);
	/* the workers remove every doomed sandbox, then exit */
	registry_workers_join(r);
	while (r->records) /* only when no worker ever ran */
		registry_record_free(r, r->records);
	registry_pools_collect(r);
	pthread_cond_destroy(&r->changed);
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static struct record *take_clean(struct isol8_registry *r, struct pool *p)
{
	struct record *best = NULL;

	if (p == NULL)
		return NULL;
	/* the most recently released first: its memory is the warmest */
	for (struct record *rec = r->records; rec; rec = rec->next)
		if (rec->pool == p && rec->state == ISOL8_SB_CLEAN && (!best || rec->released_ms > best->released_ms))
			best = rec;
	if (best)
		best->state = ISOL8_SB_IN_USE;
	return best;
}

/* Makes room for one more sandbox: the clean sandbox of another pool that
 * was used least recently goes (pinned pools last). */
static bool evict_one(struct isol8_registry *r, const struct pool *keep)
{
	struct record *victim = NULL;

	/* a removal under way makes the room already */
	if (registry_count(r, NULL, ISOL8_SB_DOOMED) + registry_count(r, NULL, ISOL8_SB_REMOVING) > 0)
		return false;
	for (struct record *rec = r->records; rec; rec = rec->next) {
		if (rec->state != ISOL8_SB_CLEAN || rec->pool == keep)
			continue;
		if (!victim || (victim->pool->pinned && !rec->pool->pinned) ||
		    (victim->pool->pinned == rec->pool->pinned && rec->released_ms < victim->released_ms))
			victim = rec;
	}
	if (victim)
		registry_doom(r, victim);
	return victim != NULL;
}

/* A reset of this pool that is expected to end sooner than a creation. */
static bool reset_worth_waiting(const struct isol8_registry *r, const struct pool *p)
{
	if (p == NULL || r->cfg.strategy != ISOL8_POOL_FAST || r->reset_ewma_us >= r->create_ewma_us)
		return false;
	return registry_count(r, p, ISOL8_SB_DIRTY) + registry_count(r, p, ISOL8_SB_RESETTING) > 0;
}

void registry_wait(struct isol8_registry *r, int64_t ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	until.tv_sec += until.tv_nsec / 1000000000L;
	until.tv_nsec %= 1000000000L;
	pthread_cond_timedwait(&r->changed, &r->lock, &until);
}

static void queue_remove(struct isol8_registry *r, struct waiter *w)
{
	for (struct waiter **pp = &r->queue_head; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	}
	r->queue_tail = NULL;
	for (struct waiter *q = r->queue_head; q; q = q->next)
		r->queue_tail = q;
	r->waiting--;
	pthread_cond_broadcast(&r->changed);
}

/* With the lock held, for an admitted acquire: a clean sandbox (*created
 * false), or a new STARTING record for the caller to create (*created true),
 * or NULL to wait. A reset about to finish is waited for until wait_until_us. */
static struct record *pick(struct isol8_registry *r, struct pool *p, int64_t wait_until_us, bool *created)
{
	struct record *rec = take_clean(r, p);

	*created = false;
	if (rec != NULL)
		return rec;
	registry_pool_grow(r, p);
	if (reset_worth_waiting(r, p) && isol8_now_us() < wait_until_us)
		return NULL;
	if (registry_bounded(r) < r->cfg.max_sandboxes) {
		rec = registry_record_new(r, p, false);
		*created = rec != NULL;
		return rec;
	}
	evict_one(r, p);
	return NULL;
}

/* Admission: waits in the FIFO queue until first and a sandbox can be had
 * (have: the caller's own, a session's; then only a slot is waited for). */
static int admit(struct isol8_registry *r, struct pool *p, struct record *have, bool (*cancelled)(void *),
		 void *userdata, struct record **out, bool *created, struct isol8_error *err)
{
	struct waiter me = {NULL};
	int64_t wait_until_us = isol8_now_us() + r->create_ewma_us;

	if (r->waiting >= r->cfg.max_waiting && (r->queue_head != NULL || r->running >= r->cfg.max_executions))
		return isol8_error_set(err, ISOL8_E_EXHAUSTED,
				       "too many executions at once: %d running and %d waiting (limits %d and %d)",
				       r->running, r->waiting, r->cfg.max_executions, r->cfg.max_waiting);
	if (r->queue_tail)
		r->queue_tail->next = &me;
	else
		r->queue_head = &me;
	r->queue_tail = &me;
	r->waiting++;
	for (;;) {
		if (r->stopping) {
			queue_remove(r, &me);
			return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "isol8d is shutting down");
		}
		if (r->queue_head == &me && r->running < r->cfg.max_executions) {
			*created = false;
			*out = have ? have : pick(r, p, wait_until_us, created);
			if (*out != NULL)
				break;
		}
		registry_wait(r, ISOL8_ADMIT_CANCEL_POLL_MS);
		if (cancelled && cancelled(userdata)) {
			queue_remove(r, &me);
			return isol8_error_set(err, ISOL8_E_CANCELLED, "cancelled while waiting for a free execution slot");
		}
	}
	queue_remove(r, &me);
	r->running++;
	return 0;
}

/* A pooled sandbox whose agent does not answer (killed or paused from
 * outside) is removed, and another one taken. */
static int lease_check(struct isol8_registry *r, struct record *rec, struct isol8_error *err)
{
	struct isol8_error ping_err = ISOL8_ERROR_INIT;

	char id[13];

	(void)err;
	if (r->ops.ping(r->ops.ctx, &rec->sb, ISOL8_ACQUIRE_PING_MS, &ping_err) == 0)
		return 0;
	snprintf(id, sizeof(id), "%.12s", rec->sb.container_id); /* rec is a worker's once doomed */
	pthread_mutex_lock(&r->lock);
	r->counters.replaced++;
	registry_doom(r, rec);
	pthread_mutex_unlock(&r->lock);
	registry_logf(r, ISOL8_LOG_WARN, "pooled sandbox %s did not answer, replacing it: %s", id, ping_err.message);
	return -1;
}

static int lease_create(struct isol8_registry *r, struct record *rec, const struct isol8_container_options *opts,
			struct isol8_error *err)
{
	int64_t start = isol8_now_us();
	int ret = r->ops.create(r->ops.ctx, opts, &rec->sb, err);

	pthread_mutex_lock(&r->lock);
	if (ret < 0) {
		r->running--;
		registry_record_free(r, rec);
	} else {
		registry_ewma(&r->create_ewma_us, isol8_now_us() - start);
		r->counters.created++;
		rec->state = ISOL8_SB_IN_USE;
	}
	pthread_mutex_unlock(&r->lock);
	return ret;
}

/* The rest of an acquire, admitted with rec (created: to be created now),
 * its pool p held (NULL: not pooled). */
static int acquire_admitted(struct isol8_registry *r, const struct isol8_container_options *opts, struct pool *p,
			    struct record *rec, bool created, int64_t start, struct isol8_lease *lease,
			    struct isol8_error *err)
{
	int64_t admitted = isol8_now_us();
	int ret;

	/* a pooled sandbox must answer; one found dead is replaced at once */
	while (!created && lease_check(r, rec, err) < 0) {
		pthread_mutex_lock(&r->lock);
		while (!r->stopping && (rec = pick(r, p, 0, &created)) == NULL)
			registry_wait(r, ISOL8_ADMIT_CANCEL_POLL_MS);
		if (rec == NULL) {
			r->running--;
			pthread_cond_broadcast(&r->changed);
			pthread_mutex_unlock(&r->lock);
			return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "isol8d is shutting down");
		}
		pthread_mutex_unlock(&r->lock);
	}
	if (created) {
		ret = lease_create(r, rec, p ? &p->opts : opts, err);
		if (ret < 0)
			return ret;
	} else if (rec->used) {
		pthread_mutex_lock(&r->lock);
		r->counters.reused++;
		pthread_mutex_unlock(&r->lock);
	}
	lease->sandbox = &rec->sb;
	lease->record = rec;
	lease->info.queued_us = admitted - start;
	lease->info.acquire_us = isol8_now_us() - admitted;
	lease->info.cold = created;
	return 0;
}

int isol8_registry_acquire(struct isol8_registry *r, const struct isol8_container_options *opts,
			   bool (*cancelled)(void *userdata), void *userdata, struct isol8_lease *lease,
			   struct isol8_error *err)
{
	int64_t start = isol8_now_us();
	struct record *rec = NULL;
	bool created = false;
	struct pool *p = NULL;
	int ret = 0;

	memset(lease, 0, sizeof(*lease));
	/* the pool and the admission in one critical section: a worker must
	 * not see a new pool empty and start a sandbox this acquire makes */
	pthread_mutex_lock(&r->lock);
	if (isol8_container_reusable(opts)) {
		p = registry_pool_for(r, opts, 1, false, err);
		if (p == NULL)
			ret = -err->code;
		else
			p->holds++; /* while this acquire waits, a trim must not free it */
	}
	if (ret == 0)
		ret = admit(r, p, NULL, cancelled, userdata, &rec, &created, err);
	pthread_mutex_unlock(&r->lock);
	if (ret == 0)
		ret = acquire_admitted(r, opts, p, rec, created, start, lease, err);
	if (p != NULL) {
		pthread_mutex_lock(&r->lock);
		p->holds--;
		registry_pools_collect(r);
		pthread_mutex_unlock(&r->lock);
	}
	return ret;
}

void isol8_registry_release(struct isol8_registry *r, struct isol8_lease *lease, enum isol8_release_outcome outcome)
{
	struct record *rec = lease->record;

	if (rec == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->running--;
	rec->used = true;
	rec->released_ms = isol8_now_ms();
	if (outcome == ISOL8_RELEASE_KEEP || outcome == ISOL8_RELEASE_SESSION) {
		if (rec->pool) {
			rec->pool->records--;
			rec->pool = NULL;
			registry_pools_collect(r);
		}
		rec->state = outcome == ISOL8_RELEASE_KEEP ? ISOL8_SB_KEPT : ISOL8_SB_SESSION;
	} else if (outcome == ISOL8_RELEASE_USED && rec->pool && r->cfg.strategy == ISOL8_POOL_FAST) {
		rec->state = ISOL8_SB_DIRTY;
	} else {
		rec->state = ISOL8_SB_DOOMED;
	}
	pthread_cond_broadcast(&r->changed);
	pthread_mutex_unlock(&r->lock);
	memset(lease, 0, sizeof(*lease));
}

int isol8_registry_resume(struct isol8_registry *r, void *record, bool (*cancelled)(void *userdata),
			  void *userdata, struct isol8_lease *lease, struct isol8_error *err)
{
	int64_t start = isol8_now_us();
	struct record *rec = record, *got = NULL;
	bool created;
	int ret;

	memset(lease, 0, sizeof(*lease));
	pthread_mutex_lock(&r->lock);
	if (rec->state != ISOL8_SB_SESSION)
		ret = isol8_error_set(err, ISOL8_E_INTERNAL, "sandbox registry: resume of a sandbox no session holds");
	else
		ret = admit(r, NULL, rec, cancelled, userdata, &got, &created, err);
	if (ret == 0 && rec->state != ISOL8_SB_SESSION) {
		/* removed (shutdown) while this call waited */
		r->running--;
		pthread_cond_broadcast(&r->changed);
		ret = isol8_error_set(err, ISOL8_E_UNAVAILABLE, "the session's sandbox was removed");
	}
	if (ret == 0)
		rec->state = ISOL8_SB_IN_USE;
	pthread_mutex_unlock(&r->lock);
	if (ret < 0)
		return ret;
	lease->sandbox = &rec->sb;
	lease->record = rec;
	lease->info.queued_us = isol8_now_us() - start;
	return 0;
}

void isol8_registry_drop(struct isol8_registry *r, void *record)
{
	struct record *rec = record;

	pthread_mutex_lock(&r->lock);
	if (rec->state == ISOL8_SB_SESSION)
		registry_doom(r, rec);
	pthread_mutex_unlock(&r->lock);
}

void isol8_registry_stats(struct isol8_registry *r, struct isol8_registry_stats *out)
{
	pthread_mutex_lock(&r->lock);
	*out = r->counters;
	out->running = r->running;
	out->waiting = r->waiting;
	out->live = r->live;
	out->clean = registry_count(r, NULL, ISOL8_SB_CLEAN);
	out->starting = registry_count(r, NULL, ISOL8_SB_STARTING);
	out->in_use = registry_count(r, NULL, ISOL8_SB_IN_USE);
	out->resetting = registry_count(r, NULL, ISOL8_SB_DIRTY) + registry_count(r, NULL, ISOL8_SB_RESETTING);
	out->kept = registry_count(r, NULL, ISOL8_SB_KEPT);
	out->sessions = registry_count(r, NULL, ISOL8_SB_SESSION);
	out->removing = registry_count(r, NULL, ISOL8_SB_DOOMED) + registry_count(r, NULL, ISOL8_SB_REMOVING);
	out->secure = r->cfg.strategy == ISOL8_POOL_SECURE;
	out->pools = 0;
	for (struct pool *p = r->pools; p; p = p->next)
		out->pools++;
	pthread_mutex_unlock(&r->lock);
}

void isol8_registry_each_kept(struct isol8_registry *r, isol8_registry_sandbox_fn fn, void *userdata)
{
	pthread_mutex_lock(&r->lock);
	for (struct record *rec = r->records; rec; rec = rec->next)
		if (rec->state == ISOL8_SB_KEPT)
			fn(&rec->sb, userdata);
	pthread_mutex_unlock(&r->lock);
}

void isol8_registry_remove_kept(struct isol8_registry *r, isol8_registry_sandbox_fn fn, void *userdata, int *removed)
{
	isol8_registry_remove_kept_idle(r, 0, fn, userdata, removed);
}

void isol8_registry_remove_kept_idle(struct isol8_registry *r, int64_t idle_ms, isol8_registry_sandbox_fn fn,
				     void *userdata, int *removed)
{
	int64_t now = isol8_now_ms();

	*removed = 0;
	pthread_mutex_lock(&r->lock);
	for (struct record *rec = r->records; rec; rec = rec->next) {
		if (rec->state == ISOL8_SB_KEPT && now - rec->released_ms >= idle_ms) {
			if (fn)
				fn(&rec->sb, userdata);
			registry_doom(r, rec);
			(*removed)++;
		}
	}
	pthread_mutex_unlock(&r->lock);
}

bool isol8_registry_owns_container(struct isol8_registry *r, const char *container_id)
{
	bool found = false;

	pthread_mutex_lock(&r->lock);
	for (struct record *rec = r->records; rec && !found; rec = rec->next)
		found = rec->state != ISOL8_SB_STARTING && strcmp(rec->sb.container_id, container_id) == 0;
	pthread_mutex_unlock(&r->lock);
	return found;
}
