/* Unit tests of the session table over the fake sandbox backend: creation
 * on first use, one runtime, one call at a time, the cap, destroy (idle, busy,
 * with a transfer's reference), idle expiry, the list, and shutdown. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "fake_sandbox.h"
#include "runner.h"
#include "sandbox/sessions.h"

static struct isol8_sessions *table(struct isol8_registry *r, int max, int64_t idle_ms)
{
	struct isol8_sessions_config cfg = {.registry = r, .max = max, .idle_ms = idle_ms};
	struct isol8_sessions *t = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL_FATAL(isol8_sessions_new(&t, &cfg, &err), 0);
	return t;
}

static int begin(struct isol8_sessions *t, const char *id, const char *runtime, int64_t wait_ms,
		 struct isol8_session_call *call, struct isol8_error *err)
{
	struct isol8_container_options o = options(runtime);
	return isol8_sessions_begin(t, id, &o, wait_ms, NULL, NULL, call, err);
}

/* Waits up to 3 s for the fake to have removed n sandboxes. */
static bool destroyed_is(int n)
{
	for (int i = 0; i < 300 && fake_get(&fake.destroyed) != n; i++)
		usleep(10000);
	return fake_get(&fake.destroyed) == n;
}

static void test_first_use_then_reuse(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 8, 0);
	struct isol8_sessions *t = table(r, 0, 0);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_session_call call;
	struct isol8_registry_stats st;
	char first[65];

	CU_ASSERT_EQUAL(begin(t, "s1", "python", 0, &call, &err), 0);
	CU_ASSERT_TRUE(call.created);
	snprintf(first, sizeof(first), "%s", call.lease.sandbox->container_id);
	isol8_sessions_end(t, &call, false);
	isol8_registry_stats(r, &st);
	CU_ASSERT_EQUAL(st.sessions, 1);
	CU_ASSERT_EQUAL(st.running, 0);
	CU_ASSERT_EQUAL(begin(t, "s1", "python", 0, &call, &err), 0);
	CU_ASSERT_FALSE(call.created);
	CU_ASSERT_STRING_EQUAL(call.lease.sandbox->container_id, first);
	isol8_registry_stats(r, &st);
	CU_ASSERT_EQUAL(st.running, 1);
	CU_ASSERT_EQUAL(st.sessions, 0);
	isol8_sessions_end(t, &call, false);
	CU_ASSERT_EQUAL(isol8_sessions_count(t), 1);
	CU_ASSERT_EQUAL(fake_get(&fake.created), 1);
	isol8_sessions_free(t);
	CU_ASSERT_TRUE(destroyed_is(1));
	isol8_registry_free(r);
}

static void test_one_runtime(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 8, 0);
	struct isol8_sessions *t = table(r, 0, 0);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_session_call call;

	CU_ASSERT_EQUAL(begin(t, "rt", "python", 0, &call, &err), 0);
	isol8_sessions_end(t, &call, false);
	CU_ASSERT_EQUAL(begin(t, "rt", "node", 0, &call, &err), -ISOL8_E_PRECONDITION);
	CU_ASSERT_STRING_EQUAL(err.message,
			       "runtime: session \"rt\" runs python, this call asks for node (one runtime per session)");
	isol8_sessions_free(t);
	isol8_registry_free(r);
}

struct holder {
	struct isol8_sessions *t;
	int ret;
	int hold_ms;
	int64_t wait_ms;
	struct isol8_error err;
};

static void *hold_main(void *p)
{
	struct holder *h = p;
	struct isol8_session_call call;

	h->ret = begin(h->t, "busy", "bash", h->wait_ms, &call, &h->err);
	if (h->ret == 0) {
		usleep((unsigned)h->hold_ms * 1000u);
		isol8_sessions_end(h->t, &call, false);
	}
	return NULL;
}

static void test_one_call_at_a_time(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 8, 0);
	struct isol8_sessions *t = table(r, 0, 0);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_session_call call, second;
	struct holder waiter = {.t = t, .hold_ms = 0, .wait_ms = 3000, .err = ISOL8_ERROR_INIT};
	pthread_t th;

	CU_ASSERT_EQUAL(begin(t, "busy", "bash", 0, &call, &err), 0);
	CU_ASSERT_EQUAL(begin(t, "busy", "bash", 100, &second, &err), -ISOL8_E_ABORTED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "session \"busy\" is busy with another call (waited 100 ms)"));
	pthread_create(&th, NULL, hold_main, &waiter);
	usleep(150000);
	isol8_sessions_end(t, &call, false);
	pthread_join(th, NULL);
	CU_ASSERT_EQUAL(waiter.ret, 0);
	CU_ASSERT_EQUAL(fake_get(&fake.created), 1);
	isol8_sessions_free(t);
	isol8_registry_free(r);
}

struct looper {
	struct isol8_sessions *t;
	int calls;
	int failures;
};

static void *loop_main(void *p)
{
	struct looper *l = p;

	for (int i = 0; i < l->calls; i++) {
		struct isol8_error err = ISOL8_ERROR_INIT;
		struct isol8_session_call call;
		if (begin(l->t, "hot", "bash", 5000, &call, &err) < 0) {
			l->failures++;
			continue;
		}
		isol8_sessions_end(l->t, &call, false);
	}
	return NULL;
}

/* Calls handed from one to the next as fast as they come: each finds the
 * sandbox the session's again, never still in the last call's hands. */
static void test_back_to_back_calls(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 8, 0);
	struct isol8_sessions *t = table(r, 0, 0);
	struct looper l[3] = {{t, 300, 0}, {t, 300, 0}, {t, 300, 0}};
	pthread_t th[3];

	for (int i = 0; i < 3; i++)
		pthread_create(&th[i], NULL, loop_main, &l[i]);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	CU_ASSERT_EQUAL(l[0].failures + l[1].failures + l[2].failures, 0);
	CU_ASSERT_EQUAL(fake_get(&fake.created), 1);
	isol8_sessions_free(t);
	isol8_registry_free(r);
}

static bool after_3s(void *userdata)
{
	return isol8_now_ms() > *(const int64_t *)userdata + 3000;
}

/* Sessions idling between calls do not count against max_sandboxes: more
 * sessions than it lets live still leave room for new executions. */
static void test_idle_sessions_leave_room(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 2, 3, 0);
	struct isol8_sessions *t = table(r, 0, 0);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_session_call call;
	struct isol8_container_options o = options("bash");
	struct isol8_lease lease;
	int64_t start = isol8_now_ms();
	char id[8];

	for (int i = 0; i < 6; i++) {
		snprintf(id, sizeof(id), "s%d", i);
		CU_ASSERT_EQUAL_FATAL(begin(t, id, "bash", 0, &call, &err), 0);
		isol8_sessions_end(t, &call, false);
	}
	CU_ASSERT_EQUAL_FATAL(isol8_registry_acquire(r, &o, after_3s, &start, &lease, &err), 0);
	isol8_registry_release(r, &lease, ISOL8_RELEASE_USED);
	isol8_sessions_free(t);
	isol8_registry_free(r);
}

static void test_cap(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 8, 0);
	struct isol8_sessions *t = table(r, 2, 0);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_session_call call;

	for (int i = 0; i < 2; i++) {
		CU_ASSERT_EQUAL(begin(t, i ? "b" : "a", "bash", 0, &call, &err), 0);
		isol8_sessions_end(t, &call, false);
	}
	CU_ASSERT_EQUAL(begin(t, "c", "bash", 0, &call, &err), -ISOL8_E_EXHAUSTED);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "2 sessions exist already"));
	isol8_sessions_free(t);
	isol8_registry_free(r);

	r = registry(ISOL8_POOL_FAST, 4, 8, 0);
	t = table(r, -1, 0);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(begin(t, "a", "bash", 0, &call, &err), -ISOL8_E_EXHAUSTED);
	CU_ASSERT_STRING_EQUAL(err.message, "session_id: this server keeps no sessions (sessions.max is 0)");
	isol8_sessions_free(t);
	isol8_registry_free(r);
}

static void test_destroy(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 8, 0);
	struct isol8_sessions *t = table(r, 0, 0);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_session_call call;
	struct isol8_session_ref ref;
	bool existed;

	/* idle */
	CU_ASSERT_EQUAL(begin(t, "d", "bash", 0, &call, &err), 0);
	isol8_sessions_end(t, &call, false);
	CU_ASSERT_EQUAL(isol8_sessions_destroy(t, "d", &existed, &err), 0);
	CU_ASSERT_TRUE(existed);
	CU_ASSERT_TRUE(destroyed_is(1));
	CU_ASSERT_EQUAL(isol8_sessions_destroy(t, "d", &existed, &err), 0);
	CU_ASSERT_FALSE(existed);
	CU_ASSERT_EQUAL(isol8_sessions_destroy(t, "bad id", &existed, &err), -ISOL8_E_INVALID);

	/* busy: the call sees it, its end removes the sandbox */
	CU_ASSERT_EQUAL(begin(t, "d", "bash", 0, &call, &err), 0);
	CU_ASSERT_TRUE(call.created);
	CU_ASSERT_FALSE(isol8_sessions_call_doomed(&call));
	CU_ASSERT_EQUAL(isol8_sessions_destroy(t, "d", &existed, &err), 0);
	CU_ASSERT_TRUE(isol8_sessions_call_doomed(&call));
	CU_ASSERT_EQUAL(isol8_sessions_count(t), 0);
	usleep(50000);
	CU_ASSERT_EQUAL(fake_get(&fake.destroyed), 1);
	isol8_sessions_end(t, &call, false);
	CU_ASSERT_TRUE(destroyed_is(2));

	/* with a transfer's reference: the entry outlives it, the sandbox goes */
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_sessions_ref(t, "d", &ref, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "no session \"d\" exists"));
	CU_ASSERT_EQUAL(begin(t, "d", "bash", 0, &call, &err), 0);
	isol8_sessions_end(t, &call, false);
	CU_ASSERT_EQUAL(isol8_sessions_ref(t, "d", &ref, &err), 0);
	CU_ASSERT_STRING_EQUAL(ref.container_id, "c3");
	CU_ASSERT_EQUAL(isol8_sessions_destroy(t, "d", &existed, &err), 0);
	CU_ASSERT_TRUE(isol8_sessions_ref_doomed(&ref));
	CU_ASSERT_TRUE(destroyed_is(3));
	isol8_sessions_unref(t, &ref);

	/* broken: the call's end destroys the session */
	CU_ASSERT_EQUAL(begin(t, "d", "bash", 0, &call, &err), 0);
	isol8_sessions_end(t, &call, true);
	CU_ASSERT_EQUAL(isol8_sessions_count(t), 0);
	CU_ASSERT_TRUE(destroyed_is(4));
	isol8_sessions_free(t);
	isol8_registry_free(r);
}

static void test_failed_creation(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 8, 0);
	struct isol8_sessions *t = table(r, 0, 0);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_session_call call;

	fake.fail_create = true;
	CU_ASSERT_EQUAL(begin(t, "f", "bash", 0, &call, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "is missing"));
	CU_ASSERT_EQUAL(isol8_sessions_count(t), 0);
	/* a call that waited for the failed creation gets its reason */
	{
		struct holder creator = {.t = t, .hold_ms = 0, .wait_ms = 0, .err = ISOL8_ERROR_INIT};
		pthread_t th;
		fake.create_ms = 200;
		pthread_create(&th, NULL, hold_main, &creator);
		usleep(50000);
		isol8_error_clear(&err);
		CU_ASSERT_EQUAL(begin(t, "busy", "bash", 3000, &call, &err), -ISOL8_E_NOT_FOUND);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "session \"busy\" could not be created: image"));
		pthread_join(th, NULL);
		CU_ASSERT_EQUAL(creator.ret, -ISOL8_E_NOT_FOUND);
		fake.create_ms = 0;
	}
	fake.fail_create = false;
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(begin(t, "f", "bash", 0, &call, &err), 0);
	CU_ASSERT_TRUE(call.created);
	isol8_sessions_end(t, &call, false);
	isol8_sessions_free(t);
	isol8_registry_free(r);
}

static void test_idle_expiry(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 8, 0);
	struct isol8_sessions *t = table(r, 0, 100);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_session_call call;
	struct isol8_session_ref ref;

	CU_ASSERT_EQUAL(begin(t, "e1", "bash", 0, &call, &err), 0);
	isol8_sessions_end(t, &call, false);
	CU_ASSERT_EQUAL(begin(t, "e2", "bash", 0, &call, &err), 0);
	isol8_sessions_end(t, &call, false);
	CU_ASSERT_EQUAL(isol8_sessions_ref(t, "e2", &ref, &err), 0);
	usleep(400000);
	/* e1 idled out; e2's open transfer keeps it */
	CU_ASSERT_EQUAL(isol8_sessions_count(t), 1);
	CU_ASSERT_EQUAL(isol8_sessions_ref(t, "e1", &(struct isol8_session_ref){0}, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_TRUE(destroyed_is(1));
	isol8_sessions_unref(t, &ref);
	usleep(400000);
	CU_ASSERT_EQUAL(isol8_sessions_count(t), 0);
	CU_ASSERT_TRUE(destroyed_is(2));
	isol8_sessions_free(t);
	isol8_registry_free(r);
}

struct seen {
	char ids[4][ISOL8_SESSION_ID_MAX + 1];
	bool busy[4];
	int n;
};

static void collect(const struct isol8_session_info *info, void *userdata)
{
	struct seen *s = userdata;

	if (s->n < 4) {
		snprintf(s->ids[s->n], sizeof(s->ids[0]), "%s", info->id);
		s->busy[s->n++] = info->busy;
	}
}

static void test_list_and_shutdown(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 8, 0);
	struct isol8_sessions *t = table(r, 0, 0);
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_session_call call;
	struct seen seen = {0};

	CU_ASSERT_EQUAL(begin(t, "one", "bash", 0, &call, &err), 0);
	isol8_sessions_end(t, &call, false);
	CU_ASSERT_EQUAL(begin(t, "two", "python", 0, &call, &err), 0);
	CU_ASSERT_EQUAL(isol8_sessions_list(t, collect, &seen, &err), 0);
	CU_ASSERT_EQUAL(seen.n, 2);
	CU_ASSERT_STRING_EQUAL(seen.ids[0], "one");
	CU_ASSERT_STRING_EQUAL(seen.ids[1], "two");
	CU_ASSERT_FALSE(seen.busy[0]);
	CU_ASSERT_TRUE(seen.busy[1]);
	isol8_sessions_end(t, &call, false);
	/* shutdown removes every session's sandbox */
	isol8_sessions_free(t);
	CU_ASSERT_TRUE(destroyed_is(2));
	isol8_registry_free(r);
}

static void test_ids(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char long_id[ISOL8_SESSION_ID_MAX + 2];

	CU_ASSERT_EQUAL(isol8_session_id_check("f", "A-z_0.9:x", &err), 0);
	CU_ASSERT_EQUAL(isol8_session_id_check("f", "", &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "f: a session id has 1 to 128 characters (got 0)");
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_session_id_check("f", "a/b", &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "f: character 2 of the session id is not one of A-Z a-z 0-9 . _ : -");
	memset(long_id, 'x', sizeof(long_id) - 1);
	long_id[sizeof(long_id) - 1] = '\0';
	CU_ASSERT_EQUAL(isol8_session_id_check("f", long_id, &err), -ISOL8_E_INVALID);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"made on first use, its sandbox reused", test_first_use_then_reuse},
		{"one runtime per session", test_one_runtime},
		{"one call at a time", test_one_call_at_a_time},
		{"calls back to back", test_back_to_back_calls},
		{"idle sessions leave room for executions", test_idle_sessions_leave_room},
		{"sessions.max", test_cap},
		{"destroy: idle, busy, referenced, broken", test_destroy},
		{"a failed creation leaves no session", test_failed_creation},
		{"idle sessions expire", test_idle_expiry},
		{"list, and shutdown removes all", test_list_and_shutdown},
		{"session ids", test_ids},
	};

	pthread_mutex_init(&fake.lock, NULL);
	return isol8_test_run("sessions", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
