/*
 * The session table (see sessions.h). Each session is an entry in a list
 * guarded by the table's mutex; its sandbox is a registry record, in state
 * SESSION between calls and IN_USE during one.
 *
 * An entry's life: made by the first call (creating, busy) while that call
 * acquires a sandbox outside the lock; then idle or busy, with any number
 * of file-transfer references; unlinked when destroyed, expired or at
 * shutdown (doomed), and freed once no call and no reference holds it. The
 * sandbox goes back to the registry for removal when the entry is unlinked
 * (idle) or when the call holding it ends (busy).
 *
 * The sweeper thread wakes every SWEEP_MAX_MS (or a quarter of the idle
 * time when that is shorter) and removes the sessions idle past idle_ms.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "sandbox/sessions.h"

#define SWEEP_MAX_MS 1000
/* How long a transfer waits for a session its first call is still making. */
#define CREATE_WAIT_MS 60000

struct isol8_session {
	struct isol8_session *next;
	char id[ISOL8_SESSION_ID_MAX + 1];
	const char *runtime;
	void *record;               /* the registry's; NULL while creating */
	char socket[PATH_MAX];
	char container_id[65];
	int64_t created_unix_ms;
	int64_t last_used_unix_ms;
	int64_t last_used_ms;       /* monotonic, for expiry */
	bool creating;
	bool busy;
	bool doomed;                /* unlinked: gone for new calls */
	int refs;
	struct isol8_error create_err; /* why its first call could not make it */
};

struct isol8_sessions {
	struct isol8_sessions_config cfg;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	struct isol8_session *head;  /* newest first */
	int count;                   /* linked entries */
	int held;                    /* unlinked entries still held by a call or a transfer */
	bool stopping;
	pthread_t sweeper;
	bool sweeper_started;
};

int isol8_session_id_check(const char *field, const char *id, struct isol8_error *err)
{
	size_t n = id ? strlen(id) : 0;

	if (n == 0 || n > ISOL8_SESSION_ID_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: a session id has 1 to %d characters (got %zu)", field,
				       ISOL8_SESSION_ID_MAX, n);
	for (size_t i = 0; i < n; i++) {
		char c = id[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '_' || c == ':' || c == '-'))
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "%s: character %zu of the session id is not one of A-Z a-z 0-9 . _ : -",
					       field, i + 1);
	}
	return 0;
}

static struct isol8_session *find(struct isol8_sessions *t, const char *id)
{
	for (struct isol8_session *s = t->head; s; s = s->next)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

/* With the lock held: takes s out of the list (new calls with its id make
 * a new session; it counts as held until freed). Returns the record to
 * drop, or NULL when a call holds it (the call's end gives it back). */
static void *unlink_session(struct isol8_sessions *t, struct isol8_session *s)
{
	for (struct isol8_session **pp = &t->head; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	s->next = NULL;
	__atomic_store_n(&s->doomed, true, __ATOMIC_RELAXED);
	t->count--;
	t->held++;
	pthread_cond_broadcast(&t->changed);
	return s->busy ? NULL : s->record;
}

/* With the lock held: frees an unlinked entry nobody holds any more. */
static void release_if_free(struct isol8_sessions *t, struct isol8_session *s)
{
	if (!s->doomed || s->busy || s->refs > 0)
		return;
	t->held--;
	pthread_cond_broadcast(&t->changed);
	free(s);
}

/* Without the lock: what unlink_session gave back. */
static void gone(struct isol8_sessions *t, void *record, const char *id, const char *reason)
{
	if (record != NULL)
		isol8_registry_drop(t->cfg.registry, record);
	if (t->cfg.on_gone)
		t->cfg.on_gone(t->cfg.userdata, id, reason);
}

/* With the lock held, which it lets go: removes s (its sandbox, unless a
 * call holds it, and its entry once nobody does) and says why. */
static void remove_locked(struct isol8_sessions *t, struct isol8_session *s, const char *reason)
{
	char id[ISOL8_SESSION_ID_MAX + 1];
	void *record;

	snprintf(id, sizeof(id), "%s", s->id);
	record = unlink_session(t, s);
	release_if_free(t, s);
	pthread_mutex_unlock(&t->lock);
	gone(t, record, id, reason);
}

/* Removes the idle sessions past idle_ms, one at a time (the callbacks run
 * without the lock). */
static void sweep(struct isol8_sessions *t)
{
	for (;;) {
		struct isol8_session *s;
		int64_t now = isol8_now_ms();

		pthread_mutex_lock(&t->lock);
		for (s = t->head; s; s = s->next)
			if (!s->busy && !s->creating && s->refs == 0 && now - s->last_used_ms >= t->cfg.idle_ms)
				break;
		if (s == NULL) {
			pthread_mutex_unlock(&t->lock);
			return;
		}
		remove_locked(t, s, "expired");
	}
}

/* Waits on the table's condition for at most ms. */
static void wait_ms(struct isol8_sessions *t, int64_t ms)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += (ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_cond_timedwait(&t->changed, &t->lock, &until);
}

static void *sweeper_main(void *arg)
{
	struct isol8_sessions *t = arg;
	int64_t period = t->cfg.idle_ms / 4 < SWEEP_MAX_MS ? t->cfg.idle_ms / 4 : SWEEP_MAX_MS;

	if (period < 10)
		period = 10;
	pthread_mutex_lock(&t->lock);
	while (!t->stopping) {
		wait_ms(t, period);
		if (t->stopping)
			break;
		pthread_mutex_unlock(&t->lock);
		sweep(t);
		pthread_mutex_lock(&t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

int isol8_sessions_new(struct isol8_sessions **out, const struct isol8_sessions_config *cfg, struct isol8_error *err)
{
	struct isol8_sessions *t = calloc(1, sizeof(*t));
	pthread_condattr_t attr;

	if (t == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	t->cfg = *cfg;
	if (t->cfg.max == 0)
		t->cfg.max = ISOL8_SESSIONS_DEFAULT_MAX;
	else if (t->cfg.max < 0)
		t->cfg.max = 0;
	if (t->cfg.idle_ms <= 0)
		t->cfg.idle_ms = ISOL8_SESSIONS_DEFAULT_IDLE_MS;
	pthread_mutex_init(&t->lock, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&t->changed, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&t->sweeper, NULL, sweeper_main, t) != 0) {
		isol8_sessions_free(t);
		return isol8_error_set(err, ISOL8_E_IO, "sessions: cannot start the idle sweeper thread");
	}
	t->sweeper_started = true;
	*out = t;
	return 0;
}

void isol8_sessions_destroy_all(struct isol8_sessions *t, int *removed)
{
	*removed = 0;
	for (;;) {
		struct isol8_session *s;

		pthread_mutex_lock(&t->lock);
		s = t->head;
		if (s == NULL) {
			pthread_mutex_unlock(&t->lock);
			return;
		}
		remove_locked(t, s, "destroyed");
		(*removed)++;
	}
}

void isol8_sessions_free(struct isol8_sessions *t)
{
	int removed;

	if (t == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	pthread_cond_broadcast(&t->changed);
	pthread_mutex_unlock(&t->lock);
	if (t->sweeper_started)
		pthread_join(t->sweeper, NULL);
	isol8_sessions_destroy_all(t, &removed);
	/* calls and transfers still running end (the engine cancels them) */
	pthread_mutex_lock(&t->lock);
	while (t->held > 0 || t->head != NULL) {
		pthread_mutex_unlock(&t->lock);
		isol8_sessions_destroy_all(t, &removed);
		pthread_mutex_lock(&t->lock);
		if (t->held > 0 || t->head != NULL)
			pthread_cond_wait(&t->changed, &t->lock);
	}
	pthread_mutex_unlock(&t->lock);
	pthread_cond_destroy(&t->changed);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

/* The first call of a new session: its sandbox from the registry. */
static int begin_new(struct isol8_sessions *t, const char *id, const struct isol8_container_options *opts,
		     bool (*cancelled)(void *), void *userdata, struct isol8_session_call *call, struct isol8_error *err)
{
	struct isol8_session *s;
	int ret;

	if (t->cfg.max == 0) {
		pthread_mutex_unlock(&t->lock);
		return isol8_error_set(err, ISOL8_E_EXHAUSTED,
				       "session_id: this server keeps no sessions (sessions.max is 0)");
	}
	if (t->count >= t->cfg.max) {
		pthread_mutex_unlock(&t->lock);
		return isol8_error_set(err, ISOL8_E_EXHAUSTED,
				       "session_id: %d sessions exist already, the most this server keeps "
				       "(sessions.max): destroy one, or let idle ones expire",
				       t->count);
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL) {
		pthread_mutex_unlock(&t->lock);
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	snprintf(s->id, sizeof(s->id), "%s", id);
	s->runtime = opts->runtime;
	s->creating = true;
	s->busy = true;
	s->created_unix_ms = s->last_used_unix_ms = isol8_unix_ms();
	s->last_used_ms = isol8_now_ms();
	s->next = t->head;
	t->head = s;
	t->count++;
	pthread_mutex_unlock(&t->lock);

	ret = isol8_registry_acquire(t->cfg.registry, opts, cancelled, userdata, &call->lease, err);

	pthread_mutex_lock(&t->lock);
	s->creating = false;
	if (ret < 0) {
		s->create_err = *err; /* for the calls that waited for it */
		if (!s->doomed)
			unlink_session(t, s); /* busy: no record comes back, none was had */
		s->busy = false;
		release_if_free(t, s);
		pthread_mutex_unlock(&t->lock);
		return ret;
	}
	s->record = call->lease.record;
	snprintf(s->socket, sizeof(s->socket), "%s", call->lease.sandbox->socket);
	snprintf(s->container_id, sizeof(s->container_id), "%s", call->lease.sandbox->container_id);
	call->session = s;
	call->created = true;
	pthread_cond_broadcast(&t->changed);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

int isol8_sessions_begin(struct isol8_sessions *t, const char *id, const struct isol8_container_options *opts,
			 int64_t wait_for_ms, bool (*cancelled)(void *userdata), void *userdata,
			 struct isol8_session_call *call, struct isol8_error *err)
{
	int64_t deadline = isol8_now_ms() + (wait_for_ms > 0 ? wait_for_ms : 0);
	struct isol8_session *s;
	int ret;

	memset(call, 0, sizeof(*call));
	ret = isol8_session_id_check("session_id", id, err);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&t->lock);
	if (t->stopping) {
		pthread_mutex_unlock(&t->lock);
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "isol8d is shutting down");
	}
	s = find(t, id);
	if (s == NULL)
		return begin_new(t, id, opts, cancelled, userdata, call, err);
	if (strcmp(s->runtime, opts->runtime) != 0) {
		ret = isol8_error_set(err, ISOL8_E_PRECONDITION,
				      "runtime: session \"%s\" runs %s, this call asks for %s (one runtime per session)",
				      id, s->runtime, opts->runtime);
		pthread_mutex_unlock(&t->lock);
		return ret;
	}
	/* a waiter holds the entry as a reference does, so it outlives a destroy */
	s->refs++;
	while (s->busy && !s->doomed && ret == 0) {
		if (cancelled && cancelled(userdata))
			ret = isol8_error_set(err, ISOL8_E_CANCELLED, "cancelled while waiting for session \"%s\"", id);
		else if (isol8_now_ms() >= deadline)
			ret = isol8_error_set(err, ISOL8_E_ABORTED,
					      "session \"%s\" is busy with another call (waited %lld ms): one call at "
					      "a time runs in a session",
					      id, (long long)(wait_for_ms > 0 ? wait_for_ms : 0));
		else
			wait_ms(t, 100);
	}
	s->refs--;
	if (ret == 0 && s->doomed && s->create_err.code != 0) {
		*err = s->create_err;
		ret = isol8_error_prefix(err, "session \"%s\" could not be created", id);
	} else if (ret == 0 && s->doomed) {
		ret = isol8_error_set(err, ISOL8_E_ABORTED, "session \"%s\" was destroyed while this call waited", id);
	}
	if (ret < 0) {
		release_if_free(t, s);
		pthread_mutex_unlock(&t->lock);
		return ret;
	}
	s->busy = true;
	pthread_mutex_unlock(&t->lock);

	ret = isol8_registry_resume(t->cfg.registry, s->record, cancelled, userdata, &call->lease, err);
	if (ret < 0) {
		pthread_mutex_lock(&t->lock);
		s->busy = false;
		s->last_used_ms = isol8_now_ms();
		if (s->doomed) {
			/* destroyed while waiting for a slot: the sandbox is ours to give back */
			void *record = s->record;
			s->record = NULL;
			release_if_free(t, s);
			pthread_mutex_unlock(&t->lock);
			isol8_registry_drop(t->cfg.registry, record);
			return ret;
		}
		pthread_cond_broadcast(&t->changed);
		pthread_mutex_unlock(&t->lock);
		return ret;
	}
	call->session = s;
	return 0;
}

bool isol8_sessions_call_doomed(const struct isol8_session_call *call)
{
	/* a plain read: set once under the lock, never cleared */
	return call->session != NULL && __atomic_load_n(&call->session->doomed, __ATOMIC_RELAXED);
}

void isol8_sessions_end(struct isol8_sessions *t, struct isol8_session_call *call, bool broken)
{
	struct isol8_session *s = call->session;
	char id[ISOL8_SESSION_ID_MAX + 1];
	void *drop = NULL;
	bool remove;

	if (s == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	snprintf(id, sizeof(id), "%s", s->id);
	if (broken && !s->doomed)
		unlink_session(t, s); /* busy: NULL, the release below removes the sandbox */
	remove = s->doomed;
	pthread_mutex_unlock(&t->lock);
	/* the sandbox goes back while the session is still busy: the next call
	 * can only resume it once it is the session's again */
	isol8_registry_release(t->cfg.registry, &call->lease, remove ? ISOL8_RELEASE_BROKEN : ISOL8_RELEASE_SESSION);
	pthread_mutex_lock(&t->lock);
	if (s->doomed && !remove)
		drop = s->record; /* destroyed since: given back above, removed below */
	s->busy = false;
	s->last_used_unix_ms = isol8_unix_ms();
	s->last_used_ms = isol8_now_ms();
	if (s->doomed)
		s->record = NULL; /* references let go of the entry only */
	pthread_cond_broadcast(&t->changed);
	release_if_free(t, s);
	pthread_mutex_unlock(&t->lock);
	if (drop != NULL)
		isol8_registry_drop(t->cfg.registry, drop);
	if (broken && t->cfg.on_gone)
		t->cfg.on_gone(t->cfg.userdata, id, "broken");
	call->session = NULL;
}

int isol8_sessions_ref(struct isol8_sessions *t, const char *id, struct isol8_session_ref *ref,
		       struct isol8_error *err)
{
	int64_t deadline = isol8_now_ms() + CREATE_WAIT_MS;
	struct isol8_session *s;
	int ret;

	memset(ref, 0, sizeof(*ref));
	ret = isol8_session_id_check("session_id", id, err);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&t->lock);
	while ((s = find(t, id)) != NULL && s->creating && isol8_now_ms() < deadline)
		wait_ms(t, 100);
	if (s == NULL || s->creating) {
		pthread_mutex_unlock(&t->lock);
		return isol8_error_set(err, ISOL8_E_NOT_FOUND,
				       "session_id: no session \"%s\" exists (an Execute with this session id "
				       "creates it)",
				       id);
	}
	s->refs++;
	s->last_used_ms = isol8_now_ms();
	ref->session = s;
	snprintf(ref->socket, sizeof(ref->socket), "%s", s->socket);
	snprintf(ref->container_id, sizeof(ref->container_id), "%s", s->container_id);
	pthread_mutex_unlock(&t->lock);
	return 0;
}

bool isol8_sessions_ref_doomed(const struct isol8_session_ref *ref)
{
	return ref->session != NULL && __atomic_load_n(&ref->session->doomed, __ATOMIC_RELAXED);
}

void isol8_sessions_unref(struct isol8_sessions *t, struct isol8_session_ref *ref)
{
	struct isol8_session *s = ref->session;

	if (s == NULL)
		return;
	pthread_mutex_lock(&t->lock);
	s->refs--;
	s->last_used_ms = isol8_now_ms();
	release_if_free(t, s);
	pthread_mutex_unlock(&t->lock);
	ref->session = NULL;
}

int isol8_sessions_destroy(struct isol8_sessions *t, const char *id, bool *existed, struct isol8_error *err)
{
	struct isol8_session *s;
	int ret;

	*existed = false;
	ret = isol8_session_id_check("session_id", id, err);
	if (ret < 0)
		return ret;
	pthread_mutex_lock(&t->lock);
	s = find(t, id);
	*existed = s != NULL;
	if (s != NULL)
		remove_locked(t, s, "destroyed");
	else
		pthread_mutex_unlock(&t->lock);
	return 0;
}

int isol8_sessions_count(struct isol8_sessions *t)
{
	int n;

	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}

int isol8_sessions_list(struct isol8_sessions *t, isol8_session_info_fn fn, void *userdata, struct isol8_error *err)
{
	struct isol8_session_info *infos;
	int64_t now = isol8_now_ms();
	int n = 0;

	pthread_mutex_lock(&t->lock);
	infos = calloc((size_t)t->count + 1, sizeof(*infos));
	if (infos == NULL) {
		pthread_mutex_unlock(&t->lock);
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	for (struct isol8_session *s = t->head; s; s = s->next) {
		struct isol8_session_info *i = &infos[n++];
		snprintf(i->id, sizeof(i->id), "%s", s->id);
		snprintf(i->container_id, sizeof(i->container_id), "%s", s->container_id);
		i->runtime = s->runtime;
		i->created_unix_ms = s->created_unix_ms;
		i->last_used_unix_ms = s->last_used_unix_ms;
		i->busy = s->busy;
		i->idle_ms = s->busy ? 0 : now - s->last_used_ms;
	}
	pthread_mutex_unlock(&t->lock);
	/* the list is newest first: oldest first for the caller */
	for (int k = n - 1; k >= 0; k--)
		fn(&infos[k], userdata);
	free(infos);
	return 0;
}
