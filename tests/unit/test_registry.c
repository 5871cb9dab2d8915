/* Unit tests of the sandbox registry (pools, admission, reuse, replacement)
 * over a fake backend: the registry's own logic, with no Docker. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runner.h"
#include "fake_sandbox.h"
#include "sandbox/registry.h"

/* Waits up to 3 s for cond over the registry's counts. */
static bool wait_stats(struct isol8_registry *r, bool (*cond)(const struct isol8_registry_stats *, int), int arg)
{
	struct isol8_registry_stats st;

	for (int i = 0; i < 300; i++) {
		isol8_registry_stats(r, &st);
		if (cond(&st, arg))
			return true;
		usleep(10000);
	}
	return false;
}

static bool clean_is(const struct isol8_registry_stats *st, int n)
{
	return st->clean == n && st->resetting == 0 && st->starting == 0;
}

/* n clean sandboxes and nothing else: what was doomed is removed too */
static bool only_clean(const struct isol8_registry_stats *st, int n)
{
	return st->clean == n && st->live == n;
}

static bool live_is(const struct isol8_registry_stats *st, int n)
{
	return st->live == n;
}

static void test_prewarm(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 16, 8);
	struct isol8_container_options py = options("python"), sh = options("bash");
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_registry_prewarm(r, &py, 2, &err), 0);
	CU_ASSERT_EQUAL(isol8_registry_prewarm(r, &sh, 1, &err), 0);
	CU_ASSERT_TRUE(wait_stats(r, clean_is, 3));
	CU_ASSERT_EQUAL(fake_get(&fake.created), 3);
	CU_ASSERT_EQUAL(isol8_registry_prewarm(r, &py, 9, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "prewarm of python: 9 is out of range (0 to 8)");
	isol8_registry_free(r);
	CU_ASSERT_EQUAL(fake_get(&fake.destroyed), 3);
}

static void test_fast_reuses_after_reset(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 16, 8);
	struct isol8_container_options py = options("python");
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_registry_stats st;
	struct isol8_lease a, b;
	char first[65];

	CU_ASSERT_EQUAL(isol8_registry_prewarm(r, &py, 1, &err), 0);
	CU_ASSERT_TRUE_FATAL(wait_stats(r, clean_is, 1));
	CU_ASSERT_EQUAL_FATAL(isol8_registry_acquire(r, &py, NULL, NULL, &a, &err), 0);
	CU_ASSERT_FALSE(a.info.cold);
	snprintf(first, sizeof(first), "%s", a.sandbox->container_id);
	isol8_registry_release(r, &a, ISOL8_RELEASE_USED);
	CU_ASSERT_TRUE_FATAL(wait_stats(r, clean_is, 1));
	CU_ASSERT_EQUAL_FATAL(isol8_registry_acquire(r, &py, NULL, NULL, &b, &err), 0);
	CU_ASSERT_STRING_EQUAL(b.sandbox->container_id, first);
	isol8_registry_release(r, &b, ISOL8_RELEASE_USED);
	isol8_registry_stats(r, &st);
	CU_ASSERT_EQUAL(st.reused, 1);
	CU_ASSERT_EQUAL(fake_get(&fake.resets) >= 1, true);
	isol8_registry_free(r);
}

static void test_reset_failure_destroys(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 16, 8);
	struct isol8_container_options py = options("python");
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_registry_stats st;
	struct isol8_lease a, b;

	CU_ASSERT_EQUAL(isol8_registry_prewarm(r, &py, 1, &err), 0);
	CU_ASSERT_TRUE_FATAL(wait_stats(r, clean_is, 1));
	fake.fail_reset_of = 1;
	CU_ASSERT_EQUAL_FATAL(isol8_registry_acquire(r, &py, NULL, NULL, &a, &err), 0);
	CU_ASSERT_STRING_EQUAL(a.sandbox->container_id, "c1");
	isol8_registry_release(r, &a, ISOL8_RELEASE_USED);
	CU_ASSERT_TRUE_FATAL(wait_stats(r, only_clean, 1));
	isol8_registry_stats(r, &st);
	CU_ASSERT_EQUAL(st.resets_failed, 1);
	CU_ASSERT_EQUAL(fake_get(&fake.destroyed), 1);
	CU_ASSERT_EQUAL_FATAL(isol8_registry_acquire(r, &py, NULL, NULL, &b, &err), 0);
	CU_ASSERT_STRING_NOT_EQUAL(b.sandbox->container_id, "c1");
	isol8_registry_release(r, &b, ISOL8_RELEASE_BROKEN);
	isol8_registry_free(r);
}

static void test_secure_never_reuses(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_SECURE, 4, 16, 8);
	struct isol8_container_options py = options("python");
	struct isol8_error err = ISOL8_ERROR_INIT;
	char seen[20][65];

	CU_ASSERT_EQUAL(isol8_registry_prewarm(r, &py, 1, &err), 0);
	for (int i = 0; i < 20; i++) {
		struct isol8_lease l;
		CU_ASSERT_EQUAL_FATAL(isol8_registry_acquire(r, &py, NULL, NULL, &l, &err), 0);
		snprintf(seen[i], sizeof(seen[i]), "%s", l.sandbox->container_id);
		for (int j = 0; j < i; j++)
			CU_ASSERT_STRING_NOT_EQUAL(seen[i], seen[j]);
		isol8_registry_release(r, &l, ISOL8_RELEASE_USED);
	}
	CU_ASSERT_EQUAL(fake_get(&fake.resets), 0);
	isol8_registry_free(r);
}

static void test_dead_sandbox_replaced(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 16, 8);
	struct isol8_container_options py = options("python");
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_registry_stats st;
	struct isol8_lease l;

	CU_ASSERT_EQUAL(isol8_registry_prewarm(r, &py, 1, &err), 0);
	CU_ASSERT_TRUE_FATAL(wait_stats(r, clean_is, 1));
	fake.dead = 1; /* killed from outside while it waited in the pool */
	CU_ASSERT_EQUAL_FATAL(isol8_registry_acquire(r, &py, NULL, NULL, &l, &err), 0);
	CU_ASSERT_STRING_NOT_EQUAL(l.sandbox->container_id, "c1");
	isol8_registry_stats(r, &st);
	CU_ASSERT_EQUAL(st.replaced, 1);
	isol8_registry_release(r, &l, ISOL8_RELEASE_USED);
	isol8_registry_free(r);
}

static void test_not_reusable_never_pooled(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 16, 8);
	struct isol8_container_options rw = options("python");
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_lease a, b;

	rw.readonly_rootfs = false;
	CU_ASSERT_EQUAL(isol8_registry_prewarm(r, &rw, 1, &err), -ISOL8_E_INVALID);
	CU_ASSERT_EQUAL_FATAL(isol8_registry_acquire(r, &rw, NULL, NULL, &a, &err), 0);
	CU_ASSERT_TRUE(a.info.cold);
	isol8_registry_release(r, &a, ISOL8_RELEASE_USED);
	CU_ASSERT_TRUE(wait_stats(r, live_is, 0));
	CU_ASSERT_EQUAL_FATAL(isol8_registry_acquire(r, &rw, NULL, NULL, &b, &err), 0);
	CU_ASSERT_TRUE(b.info.cold);
	isol8_registry_release(r, &b, ISOL8_RELEASE_USED);
	CU_ASSERT_EQUAL(fake_get(&fake.resets), 0);
	isol8_registry_free(r);
}

/* Admission: with one execution at a time, waiters go in arrival order. */
struct waiter_arg {
	struct isol8_registry *r;
	int index;
	int *order;
	atomic_int *next;
	int ret;
	char message[ISOL8_ERROR_MESSAGE_MAX];
};

static void *waiter_main(void *p)
{
	struct waiter_arg *w = p;
	struct isol8_container_options sh = options("bash");
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_lease l;

	w->ret = isol8_registry_acquire(w->r, &sh, NULL, NULL, &l, &err);
	snprintf(w->message, sizeof(w->message), "%s", err.message);
	if (w->ret == 0) {
		w->order[atomic_fetch_add(w->next, 1)] = w->index;
		usleep(20000);
		isol8_registry_release(w->r, &l, ISOL8_RELEASE_USED);
	}
	return NULL;
}

static void test_fifo_admission(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 1, 16, 8);
	struct isol8_container_options sh = options("bash");
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct waiter_arg w[6];
	pthread_t t[6];
	int order[6] = {0};
	atomic_int next = 0;
	struct isol8_lease held;

	CU_ASSERT_EQUAL_FATAL(isol8_registry_acquire(r, &sh, NULL, NULL, &held, &err), 0);
	for (int i = 0; i < 6; i++) {
		w[i] = (struct waiter_arg){.r = r, .index = i, .order = order, .next = &next};
		pthread_create(&t[i], NULL, waiter_main, &w[i]);
		usleep(30000); /* each is queued before the next comes */
	}
	/* four wait (max_waiting); the fifth and sixth are refused at once */
	CU_ASSERT_EQUAL(w[4].ret, -ISOL8_E_EXHAUSTED);
	CU_ASSERT_STRING_EQUAL(w[4].message, "too many executions at once: 1 running and 4 waiting (limits 1 and 4)");
	CU_ASSERT_EQUAL(w[5].ret, -ISOL8_E_EXHAUSTED);
	isol8_registry_release(r, &held, ISOL8_RELEASE_USED);
	for (int i = 0; i < 6; i++)
		pthread_join(t[i], NULL);
	CU_ASSERT_EQUAL(atomic_load(&next), 4);
	for (int i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(order[i], i);
	isol8_registry_free(r);
}

static bool always(void *userdata)
{
	(void)userdata;
	return true;
}

static void test_cancel_while_waiting(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 1, 16, 8);
	struct isol8_container_options sh = options("bash");
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_lease held, l;

	CU_ASSERT_EQUAL_FATAL(isol8_registry_acquire(r, &sh, NULL, NULL, &held, &err), 0);
	CU_ASSERT_EQUAL(isol8_registry_acquire(r, &sh, always, NULL, &l, &err), -ISOL8_E_CANCELLED);
	CU_ASSERT_STRING_EQUAL(err.message, "cancelled while waiting for a free execution slot");
	isol8_registry_release(r, &held, ISOL8_RELEASE_USED);
	isol8_registry_free(r);
}

/* At the sandbox limit, another pool's clean sandbox makes room. */
static void test_evicts_for_room(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 1, 8);
	struct isol8_container_options py = options("python"), sh = options("bash");
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_lease l;

	CU_ASSERT_EQUAL(isol8_registry_prewarm(r, &py, 1, &err), 0);
	CU_ASSERT_TRUE_FATAL(wait_stats(r, clean_is, 1));
	CU_ASSERT_EQUAL_FATAL(isol8_registry_acquire(r, &sh, NULL, NULL, &l, &err), 0);
	CU_ASSERT_TRUE(l.info.cold);
	CU_ASSERT_EQUAL(fake_get(&fake.destroyed), 1);
	isol8_registry_release(r, &l, ISOL8_RELEASE_BROKEN);
	isol8_registry_free(r);
}

static void kept_count(const struct isol8_sandbox *sb, void *userdata)
{
	(void)sb;
	(*(int *)userdata)++;
}

static void test_kept_until_cleanup(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 16, 8);
	struct isol8_container_options py = options("python");
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_lease l;
	int kept = 0, removed = 0;

	CU_ASSERT_EQUAL_FATAL(isol8_registry_acquire(r, &py, NULL, NULL, &l, &err), 0);
	isol8_registry_release(r, &l, ISOL8_RELEASE_KEEP);
	isol8_registry_each_kept(r, kept_count, &kept);
	CU_ASSERT_EQUAL(kept, 1);
	CU_ASSERT_EQUAL(fake_get(&fake.resets), 0);
	isol8_registry_remove_kept(r, kept_count, &kept, &removed);
	CU_ASSERT_EQUAL(kept, 2);
	CU_ASSERT_EQUAL(removed, 1);
	CU_ASSERT_TRUE(wait_stats(r, only_clean, 1)); /* the pool made on first use refills */
	CU_ASSERT_EQUAL(fake_get(&fake.destroyed), 1);
	isol8_registry_free(r);
}

static void test_create_failure(void)
{
	struct isol8_registry *r = registry(ISOL8_POOL_FAST, 4, 16, 8);
	struct isol8_container_options py = options("python");
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_registry_stats st;
	struct isol8_lease l;

	fake.fail_create = true;
	CU_ASSERT_EQUAL(isol8_registry_acquire(r, &py, NULL, NULL, &l, &err), -ISOL8_E_NOT_FOUND);
	CU_ASSERT_STRING_EQUAL(err.message, "image \"python\" is missing");
	isol8_registry_stats(r, &st);
	CU_ASSERT_EQUAL(st.running, 0);
	isol8_registry_free(r);
}

static void test_config_errors(void)
{
	struct isol8_registry_config cfg = {.max_executions = 1, .max_sandboxes = 1, .workers = 99};
	struct isol8_registry *r = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_registry_new(&r, &cfg, NULL, &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "workers 99 of at most 16"));
	CU_ASSERT_PTR_NULL(r);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"prewarm fills the pools", test_prewarm},
		{"fast reuses a sandbox after its reset", test_fast_reuses_after_reset},
		{"a failed reset destroys the sandbox", test_reset_failure_destroys},
		{"secure never reuses", test_secure_never_reuses},
		{"a dead pooled sandbox is replaced", test_dead_sandbox_replaced},
		{"writable roots are never pooled", test_not_reusable_never_pooled},
		{"admission is FIFO and bounded", test_fifo_admission},
		{"cancelled while waiting", test_cancel_while_waiting},
		{"another pool's sandbox makes room", test_evicts_for_room},
		{"kept sandboxes wait for cleanup", test_kept_until_cleanup},
		{"a failed creation is the acquire's error", test_create_failure},
		{"limits out of range", test_config_errors},
	};

	pthread_mutex_init(&fake.lock, NULL);
	return isol8_test_run("registry", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
