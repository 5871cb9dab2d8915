/*
 * Unit tests of libisol8's connection and unary calls against the fake
 * isol8d of lib_fake.c: targets, isol8_client_with_key (one connection,
 * each handle's key, from many threads), the mapping of every status the
 * daemon answers, deadlines, health, info, sessions, clean-up, set-up, TLS.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "grpc/health/v1/health.pb-c.h"
#include "isol8/isol8.h"
#include "lib_fake.h"
#include "runner.h"

static struct isol8_client *connect_to(const char *target, const char *key)
{
	struct isol8_client_options o = ISOL8_CLIENT_OPTIONS_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_client *c = NULL;

	o.target = target;
	o.api_key = key;
	CU_ASSERT_EQUAL(isol8_client_new(&c, &o, &err), 0);
	if (err.code != 0)
		fprintf(stderr, "\n  connect: %s\n", err.message);
	return c;
}

/* What Execute's fake says the call's authorization was ("" for none). */
static void expect_auth(struct isol8_client *c, const char *want)
{
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_result *res = NULL;

	req.runtime = "python";
	req.code = "print(1)";
	CU_ASSERT_EQUAL_FATAL(isol8_execute(c, &req, &res, &err), 0);
	CU_ASSERT_STRING_EQUAL(res->stdout_data, want);
	CU_ASSERT_EQUAL(res->stdout_size, strlen(want));
	isol8_result_free(res);
}

static void expect_message(const struct isol8_error *err, const char *want)
{
	if (strcmp(err->message, want) != 0) {
		fprintf(stderr, "\n  want: %s\n  got:  %s\n", want, err->message);
		CU_FAIL("message");
	}
}

static void test_connect(void)
{
	struct isol8_client_options o = ISOL8_CLIENT_OPTIONS_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_client *c = NULL;
	char target[256], env[600];

	lib_fake_start(false);
	c = connect_to(fake.unix_target, NULL);
	CU_ASSERT_PTR_NOT_NULL(c);
	isol8_client_free(c);
	snprintf(target, sizeof(target), "http://%s/", fake.tcp_target);
	c = connect_to(target, NULL);
	CU_ASSERT_PTR_NOT_NULL(c);
	isol8_client_free(c);

	/* NULL: the local daemon, where $ISOL8_SOCKET says */
	snprintf(env, sizeof(env), "%s", fake.unix_target + strlen("unix:"));
	setenv("ISOL8_SOCKET", env, 1);
	CU_ASSERT_EQUAL(isol8_client_new(&c, NULL, &err), 0);
	expect_auth(c, "");
	isol8_client_free(c);
	unsetenv("ISOL8_SOCKET");

	/* nothing answers: named, within the time asked */
	snprintf(target, sizeof(target), "unix:%s/none.sock", fake.dir);
	o.target = target;
	o.connect_timeout_ms = 300;
	CU_ASSERT_EQUAL(isol8_client_new(&c, &o, &err), -ISOL8_E_UNAVAILABLE);
	CU_ASSERT_PTR_NULL(c);
	snprintf(env, sizeof(env), "cannot reach isol8d at %s within 300 ms", target);
	expect_message(&err, env);
	/* not waiting: the handle is made, its first call fails */
	isol8_error_clear(&err);
	o.connect_timeout_ms = -1;
	CU_ASSERT_EQUAL_FATAL(isol8_client_new(&c, &o, &err), 0);
	CU_ASSERT_EQUAL(isol8_health(c, &err), -ISOL8_E_UNAVAILABLE);
	snprintf(env, sizeof(env), "isol8d at %s does not answer (", target);
	CU_ASSERT_EQUAL(strncmp(err.message, env, strlen(env)), 0);
	isol8_client_free(c);

	isol8_error_clear(&err);
	o.target = "isol8.example";
	CU_ASSERT_EQUAL(isol8_client_new(&c, &o, &err), -ISOL8_E_INVALID);
	expect_message(&err, "target: \"isol8.example\" needs a port (HOST:PORT)");
	isol8_error_clear(&err);
	o.target = fake.unix_target;
	o.api_key = "two words";
	CU_ASSERT_EQUAL(isol8_client_new(&c, &o, &err), -ISOL8_E_INVALID);
	expect_message(&err, "api_key must be 1..4096 printable characters without spaces");
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_client_new(NULL, &o, &err), -ISOL8_E_INVALID);
	lib_fake_stop();
}

static void test_with_key(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_client *base, *k2 = NULL, *none = NULL, *bad = NULL;

	lib_fake_start(false);
	base = connect_to(fake.tcp_target, "base-key");
	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	expect_auth(base, "Bearer base-key");
	CU_ASSERT_EQUAL_FATAL(isol8_client_with_key(&k2, base, "k2", &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_client_with_key(&none, base, NULL, &err), 0);
	expect_auth(k2, "Bearer k2");
	expect_auth(none, "");
	expect_auth(base, "Bearer base-key");
	CU_ASSERT_EQUAL(isol8_client_with_key(&bad, base, "", &err), -ISOL8_E_INVALID);
	CU_ASSERT_PTR_NULL(bad);
	expect_message(&err, "api_key must be 1..4096 printable characters without spaces");
	isol8_client_free(k2);
	isol8_client_free(none);
	/* the base's connection outlives its views */
	expect_auth(base, "Bearer base-key");
	/* a view's errors name the base's target */
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL_FATAL(isol8_client_with_key(&k2, base, "k3", &err), 0);
	fake.health_status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
	CU_ASSERT_EQUAL(isol8_health(k2, &err), -ISOL8_E_UNAVAILABLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, fake.tcp_target));
	isol8_client_free(k2);
	isol8_client_free(base);
	lib_fake_stop();
}

#define KEY_THREADS 8
#define KEY_CALLS 25

struct key_thread {
	struct isol8_client *base;
	int index;
	int wrong; /* calls that failed or saw another key */
};

/* What a gateway does per HTTP request: a view with the caller's key, one
 * call, free. */
static void *key_thread_run(void *arg)
{
	struct key_thread *t = arg;
	char key[32], want[48];

	for (int i = 0; i < KEY_CALLS; i++) {
		struct isol8_request req = ISOL8_REQUEST_INIT;
		struct isol8_error err = ISOL8_ERROR_INIT;
		struct isol8_result *res = NULL;
		struct isol8_client *view = NULL;

		snprintf(key, sizeof(key), "key-%d-%d", t->index, i);
		snprintf(want, sizeof(want), "Bearer %s", key);
		req.code = "x";
		if (isol8_client_with_key(&view, t->base, key, &err) < 0 || isol8_execute(view, &req, &res, &err) < 0 ||
		    strcmp(res->stdout_data, want) != 0)
			t->wrong++;
		isol8_result_free(res);
		isol8_client_free(view);
	}
	return NULL;
}

static void test_with_key_threads(void)
{
	struct key_thread threads[KEY_THREADS];
	pthread_t ids[KEY_THREADS];
	struct isol8_client *base;

	lib_fake_start(false);
	base = connect_to(fake.unix_target, "base");
	CU_ASSERT_PTR_NOT_NULL_FATAL(base);
	for (int i = 0; i < KEY_THREADS; i++) {
		threads[i] = (struct key_thread){base, i, 0};
		CU_ASSERT_EQUAL_FATAL(pthread_create(&ids[i], NULL, key_thread_run, &threads[i]), 0);
	}
	for (int i = 0; i < KEY_THREADS; i++) {
		pthread_join(ids[i], NULL);
		CU_ASSERT_EQUAL(threads[i].wrong, 0);
	}
	expect_auth(base, "Bearer base");
	isol8_client_free(base);
	lib_fake_stop();
}

/* Each status the daemon finishes with comes back as its isol8 code, with
 * the daemon's message as it was. */
static void test_error_mapping(void)
{
	static const int codes[] = {ISOL8_E_INVALID,	     ISOL8_E_NOT_FOUND,	 ISOL8_E_EXHAUSTED,
				    ISOL8_E_PRECONDITION,    ISOL8_E_UNAVAILABLE,	 ISOL8_E_UNAUTHENTICATED,
				    ISOL8_E_DEADLINE,	     ISOL8_E_UNIMPLEMENTED, ISOL8_E_PERMISSION,
				    ISOL8_E_ABORTED,	     ISOL8_E_INTERNAL};
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_client *c;
	char code[64];

	lib_fake_start(false);
	c = connect_to(fake.unix_target, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	for (size_t i = 0; i < ISOL8_TESTS_LEN(codes); i++) {
		struct isol8_error err = ISOL8_ERROR_INIT;
		struct isol8_result *res = (struct isol8_result *)&req; /* must become NULL */

		snprintf(code, sizeof(code), "fail:%d:options.memory_limit: \"lots\" is not a size", codes[i]);
		req.code = code;
		CU_ASSERT_EQUAL(isol8_execute(c, &req, &res, &err), -codes[i]);
		if (err.code != codes[i])
			fprintf(stderr, "\n  code %d came back as %d: %s\n", codes[i], err.code, err.message);
		CU_ASSERT_EQUAL(err.code, codes[i]);
		CU_ASSERT_PTR_NULL(res);
		expect_message(&err, "options.memory_limit: \"lots\" is not a size");
	}
	/* a bad request is refused before anything is sent */
	{
		struct isol8_error err = ISOL8_ERROR_INIT;
		struct isol8_result *res = NULL;

		req.n_env = 1;
		CU_ASSERT_EQUAL(isol8_execute(c, &req, &res, &err), -ISOL8_E_INVALID);
		expect_message(&err, "env is NULL but its count is 1");
	}
	isol8_client_free(c);
	lib_fake_stop();
}

/* Execute: timeout plus the margin, or none; admin calls: 10 s. */
static void test_deadlines(void)
{
	static const struct isol8_kv metadata[] = {{"user", "u1"}, {"req", "r1"}};
	struct isol8_request req = ISOL8_REQUEST_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_result *res = NULL;
	struct isol8_info *info = NULL;
	struct isol8_client *c;

	lib_fake_start(false);
	c = connect_to(fake.unix_target, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	req.runtime = "bash";
	req.session_id = "s1";
	req.metadata = metadata;
	req.n_metadata = 2;
	CU_ASSERT_EQUAL_FATAL(isol8_execute(c, &req, &res, &err), 0);
	CU_ASSERT_EQUAL(fake.deadline, INT64_MAX);
	CU_ASSERT_STRING_EQUAL(res->runtime, "bash");
	CU_ASSERT_STRING_EQUAL(res->session_id, "s1");
	CU_ASSERT_EQUAL(res->exit_code, 2); /* both metadata entries arrived */
	isol8_result_free(res);
	req.timeout_ms = 2000;
	CU_ASSERT_EQUAL_FATAL(isol8_execute(c, &req, &res, &err), 0);
	CU_ASSERT(fake.deadline > 300000 && fake.deadline <= 304000);
	isol8_result_free(res);
	CU_ASSERT_EQUAL_FATAL(isol8_info(c, &info, &err), 0);
	CU_ASSERT(fake.deadline > 8000 && fake.deadline <= 11000);
	CU_ASSERT_STRING_EQUAL(info->version, "9.9.9");
	CU_ASSERT_STRING_EQUAL(info->sandboxes.strategy, "fast");
	isol8_info_free(info);
	isol8_client_free(c);
	lib_fake_stop();
}

static void test_health(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_client *c;
	char want[256];

	lib_fake_start(false);
	c = connect_to(fake.unix_target, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(isol8_health(c, &err), 0);
	CU_ASSERT_EQUAL(err.code, 0);
	fake.health_status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
	CU_ASSERT_EQUAL(isol8_health(c, &err), -ISOL8_E_UNAVAILABLE);
	snprintf(want, sizeof(want), "isol8d at %s is running but cannot reach Docker", fake.unix_target);
	expect_message(&err, want);
	isol8_error_clear(&err);
	fake.health_status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVICE_UNKNOWN;
	CU_ASSERT_EQUAL(isol8_health(c, &err), -ISOL8_E_UNAVAILABLE);
	snprintf(want, sizeof(want), "isol8d at %s answers health status 3, not SERVING", fake.unix_target);
	expect_message(&err, want);
	/* the daemon goes away */
	isol8_rpc_server_shutdown(fake.srv, 0);
	isol8_rpc_server_free(fake.srv);
	fake.srv = NULL;
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_health(c, &err), -ISOL8_E_UNAVAILABLE);
	snprintf(want, sizeof(want), "isol8d at %s does not answer (", fake.unix_target);
	CU_ASSERT_EQUAL(strncmp(err.message, want, strlen(want)), 0);
	isol8_client_free(c);
	lib_fake_stop();
}

static void test_sessions_and_cleanup(void)
{
	struct isol8_cleanup_options opts = ISOL8_CLEANUP_OPTIONS_INIT;
	struct isol8_cleanup_result *res = NULL;
	struct isol8_session_info *list = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_client *c;
	bool existed = false;
	size_t n = 0;

	lib_fake_start(false);
	c = connect_to(fake.unix_target, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL_FATAL(isol8_list_sessions(c, &list, &n, &err), 0);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_STRING_EQUAL(list[0].id, "s1");
	CU_ASSERT_TRUE(list[0].busy);
	isol8_session_infos_free(list, n);
	CU_ASSERT_EQUAL(isol8_destroy_session(c, "s1", &existed, &err), 0);
	CU_ASSERT_TRUE(existed);
	CU_ASSERT_EQUAL(isol8_destroy_session(c, "s2", &existed, &err), 0);
	CU_ASSERT_FALSE(existed);
	CU_ASSERT_EQUAL(isol8_destroy_session(c, "s2", NULL, &err), 0);
	CU_ASSERT_EQUAL(isol8_destroy_session(c, NULL, &existed, &err), -ISOL8_E_INVALID);
	expect_message(&err, "session_id is NULL");

	CU_ASSERT_EQUAL_FATAL(isol8_cleanup(c, NULL, &res, NULL), 0);
	CU_ASSERT_EQUAL(res->containers.removed, 1);
	CU_ASSERT_EQUAL(res->sessions.removed + res->images.removed, 0);
	isol8_cleanup_result_free(res);
	opts.sessions = true;
	opts.images = true;
	CU_ASSERT_EQUAL_FATAL(isol8_cleanup(c, &opts, &res, NULL), 0);
	CU_ASSERT_EQUAL(res->sessions.removed, 2);
	CU_ASSERT_EQUAL(res->images.removed, 3);
	CU_ASSERT_EQUAL(res->sessions.failed + res->containers.failed + res->images.failed, 3);
	CU_ASSERT_EQUAL_FATAL(res->sessions.n_errors, 1);
	CU_ASSERT_STRING_EQUAL(res->sessions.errors[0], "session s9: busy");
	CU_ASSERT_EQUAL_FATAL(res->containers.n_errors, 1);
	CU_ASSERT_EQUAL_FATAL(res->images.n_errors, 1);
	isol8_cleanup_result_free(res);
	isol8_client_free(c);
	lib_fake_stop();
}

struct setup_seen {
	int events, built, done;
	int stop_at; /* cancel at this event (0: never) */
	char last_building[64];
};

static int on_setup(const struct isol8_setup_event *ev, void *userdata)
{
	struct setup_seen *s = userdata;

	s->events++;
	if (ev->phase == ISOL8_SETUP_BUILDING)
		snprintf(s->last_building, sizeof(s->last_building), "%s %s", ev->image, ev->message);
	s->built += ev->phase == ISOL8_SETUP_BUILT;
	s->done += ev->phase == ISOL8_SETUP_DONE;
	return s->stop_at != 0 && s->events == s->stop_at;
}

static void test_setup(void)
{
	static const char *const bad[] = {"bad"};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct setup_seen seen = {0};
	struct isol8_client *c;

	lib_fake_start(false);
	c = connect_to(fake.unix_target, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(c);
	CU_ASSERT_EQUAL(isol8_setup(c, false, NULL, 0, on_setup, &seen, &err), 0);
	CU_ASSERT_EQUAL(seen.events, 4);
	CU_ASSERT_EQUAL(seen.built, 1);
	CU_ASSERT_EQUAL(seen.done, 1);
	CU_ASSERT_STRING_EQUAL(seen.last_building, "isol8:python Step 1/2 : FROM base");
	/* an unknown phase is skipped */
	seen = (struct setup_seen){0};
	CU_ASSERT_EQUAL(isol8_setup(c, true, NULL, 0, on_setup, &seen, &err), 0);
	CU_ASSERT_EQUAL(seen.events, 4);
	seen = (struct setup_seen){0};
	CU_ASSERT_EQUAL(isol8_setup(c, false, bad, 1, on_setup, &seen, &err), -ISOL8_E_INVALID);
	expect_message(&err, "runtimes: unknown runtime \"bad\"");
	CU_ASSERT_EQUAL(seen.events, 1);
	isol8_error_clear(&err);
	seen = (struct setup_seen){.stop_at = 2};
	CU_ASSERT_EQUAL(isol8_setup(c, false, NULL, 0, on_setup, &seen, &err), -ISOL8_E_CANCELLED);
	expect_message(&err, "the set-up was cancelled");
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_setup(c, false, NULL, 1, NULL, NULL, &err), -ISOL8_E_INVALID);
	expect_message(&err, "runtimes is NULL but n_runtimes is 1");
	isol8_client_free(c);
	lib_fake_stop();
}

/* https: TLS with the CA given; the system's CAs do not know a self-signed
 * certificate. */
static void test_tls(void)
{
	struct isol8_client_options o = ISOL8_CLIENT_OPTIONS_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_client *c = NULL;
	char target[128], ca[128];

	lib_fake_start(true);
	snprintf(target, sizeof(target), "https://%s", fake.tcp_target);
	snprintf(ca, sizeof(ca), "%s/cert.pem", fake.dir);
	o.target = target;
	o.tls_ca = ca;
	o.api_key = "k";
	CU_ASSERT_EQUAL_FATAL(isol8_client_new(&c, &o, &err), 0);
	expect_auth(c, "Bearer k");
	isol8_client_free(c);
	/* the CA alone turns TLS on for HOST:PORT */
	o.target = fake.tcp_target;
	CU_ASSERT_EQUAL_FATAL(isol8_client_new(&c, &o, &err), 0);
	CU_ASSERT_EQUAL(isol8_health(c, &err), 0);
	isol8_client_free(c);
	o.target = target;
	o.tls_ca = NULL;
	o.connect_timeout_ms = 500;
	CU_ASSERT_EQUAL(isol8_client_new(&c, &o, &err), -ISOL8_E_UNAVAILABLE);
	isol8_error_clear(&err);
	o.tls_ca = "/nonexistent/ca.pem";
	CU_ASSERT(isol8_client_new(&c, &o, &err) < 0);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "/nonexistent/ca.pem"));
	lib_fake_stop();
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"connect", test_connect},
		{"with_key", test_with_key},
		{"with_key from many threads", test_with_key_threads},
		{"error mapping", test_error_mapping},
		{"deadlines and metadata", test_deadlines},
		{"health", test_health},
		{"sessions and cleanup", test_sessions_and_cleanup},
		{"setup", test_setup},
		{"tls", test_tls},
	};

	return isol8_test_run("lib_client", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
