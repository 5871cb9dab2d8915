/*
 * Unit tests of the gRPC binding (api/rpc): a real server and client in
 * one process, over a unix socket in a temporary directory and over TCP
 * 127.0.0.1 (port 0), on the generated grpc.health.v1.Health and
 * isol8.v1.Isol8 tables with handlers written here.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grpc/health/v1/health.rpc.h"
#include "isol8/v1/isol8.rpc.h"
#include "rpc/rpc.h"
#include "runner.h"
#include "base/util.h"

#define WAIT_MS 10000

typedef Grpc__Health__V1__HealthCheckRequest HealthReq;
typedef Grpc__Health__V1__HealthCheckResponse HealthResp;

/* What the handlers saw, shared with the test thread under lock. */
struct fixture {
	struct isol8_rpc_server *srv;
	char dir[64];
	char unix_target[128];
	char tcp_target[64];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int entered;       /* handlers that reached their blocking point */
	int saw_cancel;    /* handlers that saw isol8_rpc_call_cancelled */
	int read_failed;   /* PutFile handlers whose read failed */
	int64_t deadline;  /* last blocking handler's deadline */
};

static struct fixture F;

static void fixture_note(int *counter)
{
	pthread_mutex_lock(&F.lock);
	(*counter)++;
	pthread_cond_broadcast(&F.cond);
	pthread_mutex_unlock(&F.lock);
}

/* Waits until *counter reaches n; false after WAIT_MS. */
static bool fixture_wait(int *counter, int n)
{
	int64_t end = isol8_now_ms() + WAIT_MS;
	bool ok;

	pthread_mutex_lock(&F.lock);
	while (*counter < n && isol8_now_ms() < end) {
		pthread_mutex_unlock(&F.lock);
		usleep(2000);
		pthread_mutex_lock(&F.lock);
	}
	ok = *counter >= n;
	pthread_mutex_unlock(&F.lock);
	return ok;
}

/* ---------------------------------------------------------------- handlers */

static void health_check(struct isol8_rpc_call *call, const HealthReq *req, void *userdata)
{
	HealthResp resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;

	(void)userdata;
	if (strcmp(req->service, "bad") == 0) {
		isol8_rpc_call_finish(call, ISOL8_E_INVALID, "runtime: unknown runtime 'cobol'");
		return;
	}
	resp.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	if (isol8_rpc_call_write(call, &resp.base, &err) < 0) {
		isol8_rpc_call_finish(call, err.code, err.message);
		return;
	}
	isol8_rpc_call_finish(call, 0, NULL);
}

/* Execute: echoes the authorization metadata in stdout and whether the call
 * is local in runtime. */
static void execute(struct isol8_rpc_call *call, const Isol8__V1__ExecuteRequest *req, void *userdata)
{
	Isol8__V1__ExecuteResult res = ISOL8__V1__EXECUTE_RESULT__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char auth[256] = "";
	int len;

	(void)userdata;
	len = isol8_rpc_call_metadata(call, "authorization", auth, sizeof(auth));
	res.stdout.data = (uint8_t *)auth;
	res.stdout.len = len > 0 ? (size_t)len : 0;
	res.runtime = isol8_rpc_call_is_local(call) ? "local" : "remote";
	res.exit_code = (int32_t)strlen(req->code);
	if (isol8_rpc_call_method(call) != &isol8__v1__isol8__execute__method)
		res.runtime = "wrong method";
	isol8_rpc_call_write(call, &res.base, &err);
	isol8_rpc_call_finish(call, err.code, err.message);
}

/* Blocks until the call is cancelled (or 20 s pass). */
static void block_until_cancelled(struct isol8_rpc_call *call)
{
	int64_t end = isol8_now_ms() + 2 * WAIT_MS;

	pthread_mutex_lock(&F.lock);
	F.deadline = isol8_rpc_call_deadline_ms(call);
	pthread_mutex_unlock(&F.lock);
	fixture_note(&F.entered);
	while (!isol8_rpc_call_cancelled(call) && isol8_now_ms() < end)
		usleep(1000);
	if (isol8_rpc_call_cancelled(call))
		fixture_note(&F.saw_cancel);
	if (isol8_now_ms() >= isol8_rpc_call_deadline_ms(call))
		isol8_rpc_call_finish(call, ISOL8_E_DEADLINE, "deadline passed");
	else
		isol8_rpc_call_finish(call, ISOL8_E_CANCELLED, "cancelled");
}

/* ExecuteStream: runtime "block" blocks; else code is a count N of stdout
 * events "line <i>" followed by one exit event. */
static void execute_stream(struct isol8_rpc_call *call, const Isol8__V1__ExecuteRequest *req,
			   void *userdata)
{
	Isol8__V1__ExecuteResult res = ISOL8__V1__EXECUTE_RESULT__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int n = atoi(req->code);
	char line[32];

	(void)userdata;
	if (strcmp(req->runtime, "block") == 0) {
		block_until_cancelled(call);
		return;
	}
	for (int i = 0; i < n && err.code == 0; i++) {
		Isol8__V1__ExecuteEvent ev = ISOL8__V1__EXECUTE_EVENT__INIT;

		snprintf(line, sizeof(line), "line %d", i);
		ev.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_STDOUT;
		ev.stdout.data = (uint8_t *)line;
		ev.stdout.len = strlen(line);
		isol8_rpc_call_write(call, &ev.base, &err);
	}
	if (err.code == 0) {
		Isol8__V1__ExecuteEvent ev = ISOL8__V1__EXECUTE_EVENT__INIT;

		res.exit_code = 7;
		ev.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_EXIT;
		ev.exit = &res;
		isol8_rpc_call_write(call, &ev.base, &err);
	}
	isol8_rpc_call_finish(call, err.code, err.message);
}

/* PutFile: sums the sizes of the chunks' data. */
static void put_file(struct isol8_rpc_call *call, void *userdata)
{
	Isol8__V1__PutFileResult res = ISOL8__V1__PUT_FILE_RESULT__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	ProtobufCMessage *msg;
	int ret;

	(void)userdata;
	fixture_note(&F.entered);
	while ((ret = isol8_rpc_call_read(call, &msg, &err)) == 1) {
		res.size += ((Isol8__V1__PutFileChunk *)msg)->data.len;
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	if (ret < 0) {
		fixture_note(&F.read_failed);
		isol8_rpc_call_finish(call, err.code, err.message);
		return;
	}
	isol8_rpc_call_write(call, &res.base, &err);
	isol8_rpc_call_finish(call, err.code, err.message);
}

/* ---------------------------------------------------------------- fixture */

/* Whether server_start gives Health/Check the reserved call budget. */
static bool reserve_health;

/* Starts a server on a unix socket and TCP 127.0.0.1:0 with every handler
 * but DestroySession and Health/Watch. */
static void server_start(int max_calls)
{
	struct isol8_rpc_server_config cfg = ISOL8_RPC_SERVER_CONFIG_INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	char addr[160];
	int port = 0;

	memset(&F, 0, sizeof(F));
	pthread_mutex_init(&F.lock, NULL);
	pthread_cond_init(&F.cond, NULL);
	snprintf(F.dir, sizeof(F.dir), "/tmp/isol8-rpc-test-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(F.dir));
	snprintf(F.unix_target, sizeof(F.unix_target), "unix:%s/rpc.sock", F.dir);
	cfg.max_calls = max_calls;
	CU_ASSERT_EQUAL_FATAL(isol8_rpc_server_new(&F.srv, &cfg, &err), 0);
	snprintf(addr, sizeof(addr), "%s", F.unix_target);
	CU_ASSERT_EQUAL_FATAL(isol8_rpc_server_listen(F.srv, addr, NULL, NULL, NULL, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_rpc_server_listen(F.srv, "127.0.0.1:0", NULL, NULL, &port, &err), 0);
	CU_ASSERT_FATAL(port > 0);
	snprintf(F.tcp_target, sizeof(F.tcp_target), "127.0.0.1:%d", port);
	CU_ASSERT_EQUAL(grpc__health__v1__health__check__route(F.srv, health_check, NULL, &err), 0);
	CU_ASSERT_EQUAL(isol8__v1__isol8__execute__route(F.srv, execute, NULL, &err), 0);
	CU_ASSERT_EQUAL(isol8__v1__isol8__execute_stream__route(F.srv, execute_stream, NULL, &err), 0);
	CU_ASSERT_EQUAL(isol8__v1__isol8__put_file__route(F.srv, put_file, NULL, &err), 0);
	if (reserve_health)
		CU_ASSERT_EQUAL(isol8_rpc_server_reserve(F.srv, "/grpc.health.v1.Health/Check", &err), 0);
	CU_ASSERT_EQUAL(isol8_rpc_server_reserve(F.srv, "/no.Such/Method", &err), -ISOL8_E_INTERNAL);
	CU_ASSERT_EQUAL_FATAL(isol8_rpc_server_start(F.srv, &err), 0);
}

static void server_stop(void)
{
	char path[160];

	isol8_rpc_server_shutdown(F.srv, 1000);
	isol8_rpc_server_free(F.srv);
	F.srv = NULL;
	snprintf(path, sizeof(path), "%s/rpc.sock", F.dir);
	unlink(path);
	rmdir(F.dir);
	pthread_cond_destroy(&F.cond);
	pthread_mutex_destroy(&F.lock);
}

static struct isol8_rpc_channel *channel(const char *target, const char *api_key)
{
	struct isol8_rpc_channel_config cfg = {target, api_key, NULL};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_channel *ch = NULL;

	CU_ASSERT_EQUAL(isol8_rpc_channel_new(&ch, &cfg, &err), 0);
	return ch;
}

/* Health/Check of service on target: the isol8 return code; *status set on success. */
static int health(const char *target, const char *service, int *status, struct isol8_error *err)
{
	struct isol8_rpc_channel *ch = channel(target, NULL);
	HealthReq req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	HealthResp *resp = NULL;
	int ret;

	if (ch == NULL)
		return -ISOL8_E_INTERNAL;
	req.service = (char *)service;
	ret = grpc__health__v1__health__check__call(ch, &req, &resp, 5000, err);
	if (ret == 0)
		*status = resp->status;
	else
		CU_ASSERT_PTR_NULL(resp);
	if (resp != NULL)
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	isol8_rpc_channel_free(ch);
	return ret;
}

/* ---------------------------------------------------------------- tests */

static void test_unary_unix_and_tcp(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	int status = -1;

	server_start(0);
	CU_ASSERT_EQUAL(health(F.unix_target, "", &status, &err), 0);
	CU_ASSERT_EQUAL(status, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
	status = -1;
	CU_ASSERT_EQUAL(health(F.tcp_target, "isol8.v1.Isol8", &status, &err), 0);
	CU_ASSERT_EQUAL(status, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
	CU_ASSERT_EQUAL(err.code, 0);
	server_stop();
}

static void test_error_status_round_trip(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	int status = -1;

	server_start(0);
	CU_ASSERT_EQUAL(health(F.tcp_target, "bad", &status, &err), -ISOL8_E_INVALID);
	CU_ASSERT_EQUAL(err.code, ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, "runtime: unknown runtime 'cobol'");
	server_stop();
}

static void test_metadata_and_locality(void)
{
	struct isol8_rpc_channel *local = NULL, *remote = NULL;
	Isol8__V1__ExecuteRequest req = ISOL8__V1__EXECUTE_REQUEST__INIT;
	Isol8__V1__ExecuteResult *res = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;

	server_start(0);
	local = channel(F.unix_target, "k-123");
	remote = channel(F.tcp_target, NULL);
	req.code = "print(1)";
	CU_ASSERT_EQUAL_FATAL(isol8__v1__isol8__execute__call(local, &req, &res, 5000, &err), 0);
	CU_ASSERT_EQUAL(res->stdout.len, strlen("Bearer k-123"));
	CU_ASSERT_NSTRING_EQUAL(res->stdout.data, "Bearer k-123", res->stdout.len);
	CU_ASSERT_STRING_EQUAL(res->runtime, "local");
	CU_ASSERT_EQUAL(res->exit_code, 8);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	CU_ASSERT_EQUAL_FATAL(isol8__v1__isol8__execute__call(remote, &req, &res, 5000, &err), 0);
	CU_ASSERT_EQUAL(res->stdout.len, 0);
	CU_ASSERT_STRING_EQUAL(res->runtime, "remote");
	protobuf_c_message_free_unpacked(&res->base, NULL);
	isol8_rpc_channel_free(local);
	isol8_rpc_channel_free(remote);
	server_stop();
}

static void test_server_streaming(void)
{
	Isol8__V1__ExecuteRequest req = ISOL8__V1__EXECUTE_REQUEST__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_stream *st = NULL;
	struct isol8_rpc_channel *ch;
	Isol8__V1__ExecuteEvent *ev;
	int lines = 0, exits = 0, ret;
	char want[32];

	server_start(0);
	ch = channel(F.unix_target, NULL);
	req.code = "5000";
	CU_ASSERT_EQUAL_FATAL(isol8__v1__isol8__execute_stream__start(&st, ch, &req, 10000, &err), 0);
	while ((ret = isol8__v1__isol8__execute_stream__read(st, &ev, &err)) == 1) {
		if (ev->event_case == ISOL8__V1__EXECUTE_EVENT__EVENT_STDOUT) {
			snprintf(want, sizeof(want), "line %d", lines++);
			CU_ASSERT_EQUAL(ev->stdout.len, strlen(want));
			CU_ASSERT_NSTRING_EQUAL(ev->stdout.data, want, ev->stdout.len);
		} else if (ev->event_case == ISOL8__V1__EXECUTE_EVENT__EVENT_EXIT) {
			CU_ASSERT_EQUAL(ev->exit->exit_code, 7);
			exits++;
		}
		protobuf_c_message_free_unpacked(&ev->base, NULL);
	}
	CU_ASSERT_EQUAL(ret, 0);
	CU_ASSERT_EQUAL(lines, 5000);
	CU_ASSERT_EQUAL(exits, 1);
	/* Reading past the end keeps answering end of stream. */
	CU_ASSERT_EQUAL(isol8__v1__isol8__execute_stream__read(st, &ev, &err), 0);
	CU_ASSERT_PTR_NULL(ev);
	isol8_rpc_stream_free(st);
	isol8_rpc_channel_free(ch);
	server_stop();
}

static void test_client_streaming(void)
{
	static uint8_t big[1 << 20];
	Isol8__V1__PutFileResult *res = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_stream *st = NULL;
	struct isol8_rpc_channel *ch;
	uint64_t sum = 0;

	server_start(0);
	ch = channel(F.tcp_target, NULL);
	CU_ASSERT_EQUAL_FATAL(isol8__v1__isol8__put_file__start(&st, ch, 10000, &err), 0);
	for (size_t i = 0; i < 200; i++) {
		Isol8__V1__PutFileChunk chunk = ISOL8__V1__PUT_FILE_CHUNK__INIT;

		chunk.path = i == 0 ? "/sandbox/f" : "";
		chunk.data.data = big;
		chunk.data.len = i == 199 ? sizeof(big) : i * 37;
		sum += chunk.data.len;
		CU_ASSERT_EQUAL_FATAL(isol8__v1__isol8__put_file__write(st, &chunk, &err), 0);
	}
	CU_ASSERT_EQUAL_FATAL(isol8__v1__isol8__put_file__finish(st, &res, &err), 0);
	CU_ASSERT_EQUAL(res->size, sum);
	protobuf_c_message_free_unpacked(&res->base, NULL);
	isol8_rpc_stream_free(st);
	isol8_rpc_channel_free(ch);
	server_stop();
}

static void test_unimplemented(void)
{
	Isol8__V1__DestroySessionRequest req = ISOL8__V1__DESTROY_SESSION_REQUEST__INIT;
	HealthReq watch = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	Isol8__V1__DestroySessionResult *res = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_stream *st = NULL;
	struct isol8_rpc_channel *ch;
	HealthResp *resp = NULL;

	server_start(0);
	ch = channel(F.unix_target, NULL);
	req.session_id = "s1";
	CU_ASSERT_EQUAL(isol8__v1__isol8__destroy_session__call(ch, &req, &res, 5000, &err),
			-ISOL8_E_UNIMPLEMENTED);
	CU_ASSERT_PTR_NULL(res);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "/isol8.v1.Isol8/DestroySession"));
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL_FATAL(grpc__health__v1__health__watch__start(&st, ch, &watch, 5000, &err), 0);
	CU_ASSERT_EQUAL(grpc__health__v1__health__watch__read(st, &resp, &err), -ISOL8_E_UNIMPLEMENTED);
	CU_ASSERT_EQUAL(err.code, ISOL8_E_UNIMPLEMENTED);
	isol8_rpc_stream_free(st);
	isol8_rpc_channel_free(ch);
	server_stop();
}

/* Starts ExecuteStream in blocking mode and waits until its handler runs. */
static struct isol8_rpc_stream *start_blocked(struct isol8_rpc_channel *ch, int timeout_ms)
{
	Isol8__V1__ExecuteRequest req = ISOL8__V1__EXECUTE_REQUEST__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_stream *st = NULL;

	req.runtime = "block";
	CU_ASSERT_EQUAL(isol8__v1__isol8__execute_stream__start(&st, ch, &req, timeout_ms, &err), 0);
	CU_ASSERT(fixture_wait(&F.entered, 1));
	return st;
}

static void test_client_cancel_seen(void)
{
	struct isol8_rpc_channel *ch;

	server_start(0);
	ch = channel(F.unix_target, NULL);
	isol8_rpc_stream_free(start_blocked(ch, 0)); /* cancels */
	CU_ASSERT(fixture_wait(&F.saw_cancel, 1));
	CU_ASSERT_EQUAL(F.deadline, INT64_MAX);
	isol8_rpc_channel_free(ch);
	server_stop();
}

static void test_deadline_seen(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_channel *ch;
	struct isol8_rpc_stream *st;
	Isol8__V1__ExecuteEvent *ev = NULL;
	int64_t start = isol8_now_ms();

	server_start(0);
	ch = channel(F.tcp_target, NULL);
	st = start_blocked(ch, 300);
	CU_ASSERT(F.deadline > start && F.deadline <= start + 1000);
	CU_ASSERT_EQUAL(isol8__v1__isol8__execute_stream__read(st, &ev, &err), -ISOL8_E_DEADLINE);
	CU_ASSERT(fixture_wait(&F.saw_cancel, 1));
	isol8_rpc_stream_free(st);
	isol8_rpc_channel_free(ch);
	server_stop();
}

static void test_max_calls(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_channel *ch;
	struct isol8_rpc_stream *st;
	int status = -1;

	server_start(1);
	ch = channel(F.unix_target, NULL);
	st = start_blocked(ch, 0);
	CU_ASSERT_EQUAL(isol8_rpc_server_active_calls(F.srv), 1);
	CU_ASSERT_EQUAL(health(F.unix_target, "", &status, &err), -ISOL8_E_EXHAUSTED);
	CU_ASSERT_EQUAL(err.code, ISOL8_E_EXHAUSTED);
	isol8_rpc_stream_free(st);
	CU_ASSERT(fixture_wait(&F.saw_cancel, 1));
	/* Once the blocked call is gone, calls are accepted again. */
	for (int64_t end = isol8_now_ms() + WAIT_MS;
	     isol8_rpc_server_active_calls(F.srv) > 0 && isol8_now_ms() < end;)
		usleep(1000);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(health(F.unix_target, "", &status, &err), 0);
	isol8_rpc_channel_free(ch);
	server_stop();
}

/* A reserved route is answered while ordinary calls fill max_calls. */
static void test_reserved_calls(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_channel *ch;
	struct isol8_rpc_stream *st;
	int status = -1;

	reserve_health = true;
	server_start(1);
	ch = channel(F.unix_target, NULL);
	st = start_blocked(ch, 0);
	CU_ASSERT_EQUAL(isol8_rpc_server_active_calls(F.srv), 1);
	CU_ASSERT_EQUAL(health(F.unix_target, "", &status, &err), 0);
	CU_ASSERT_EQUAL(status, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
	isol8_rpc_stream_free(st);
	CU_ASSERT(fixture_wait(&F.saw_cancel, 1));
	isol8_rpc_channel_free(ch);
	server_stop();
	reserve_health = false;
}

static void test_shutdown_with_blocked_handler(void)
{
	Isol8__V1__PutFileResult *res = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_stream *st = NULL;
	struct isol8_rpc_channel *ch;
	int64_t start;

	server_start(0);
	ch = channel(F.unix_target, NULL);
	CU_ASSERT_EQUAL_FATAL(isol8__v1__isol8__put_file__start(&st, ch, 0, &err), 0);
	CU_ASSERT_FATAL(fixture_wait(&F.entered, 1)); /* blocked reading chunks */
	start = isol8_now_ms();
	isol8_rpc_server_shutdown(F.srv, 200);
	CU_ASSERT(isol8_now_ms() - start < 5000);
	CU_ASSERT_EQUAL(F.read_failed, 1);
	CU_ASSERT_EQUAL(isol8_rpc_server_active_calls(F.srv), 0);
	CU_ASSERT(isol8__v1__isol8__put_file__finish(st, &res, &err) < 0);
	CU_ASSERT_PTR_NULL(res);
	isol8_rpc_stream_free(st);
	isol8_rpc_channel_free(ch);
	server_stop();
}

static void test_unreachable(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_channel *ch = channel("unix:/nonexistent/isol8-rpc.sock", NULL);
	int status = -1;

	CU_ASSERT_EQUAL(isol8_rpc_channel_wait_ready(ch, 200, &err), -ISOL8_E_UNAVAILABLE);
	CU_ASSERT_PTR_NOT_NULL(strstr(err.message, "unix:/nonexistent/isol8-rpc.sock"));
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(health("unix:/nonexistent/isol8-rpc.sock", "", &status, &err), -ISOL8_E_UNAVAILABLE);
	isol8_rpc_channel_free(ch);
}

static void test_wait_ready(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_channel *ch;

	server_start(0);
	ch = channel(F.tcp_target, NULL);
	CU_ASSERT_EQUAL(isol8_rpc_channel_wait_ready(ch, 5000, &err), 0);
	isol8_rpc_channel_free(ch);
	server_stop();
}

static void test_generated_tables(void)
{
	const struct isol8_rpc_service *svc = &isol8__v1__isol8__service;

	CU_ASSERT_STRING_EQUAL(svc->name, "isol8.v1.Isol8");
	CU_ASSERT_EQUAL(svc->n_methods, 6);
	CU_ASSERT(isol8__v1__isol8__execute_interactive__method.client_streaming);
	CU_ASSERT(isol8__v1__isol8__execute_interactive__method.server_streaming);
	CU_ASSERT_STRING_EQUAL(isol8__v1__isol8__execute_stream__method.path, "/isol8.v1.Isol8/ExecuteStream");
	CU_ASSERT(isol8__v1__isol8__execute_stream__method.server_streaming);
	CU_ASSERT(!isol8__v1__isol8__execute_stream__method.client_streaming);
	CU_ASSERT(isol8__v1__isol8__put_file__method.client_streaming);
	CU_ASSERT(!isol8__v1__isol8__put_file__method.server_streaming);
	CU_ASSERT(isol8__v1__isol8__get_file__method.server_streaming);
	CU_ASSERT_PTR_EQUAL(isol8__v1__isol8__execute__method.input, &isol8__v1__execute_request__descriptor);
	CU_ASSERT_PTR_EQUAL(isol8__v1__isol8__execute__method.output, &isol8__v1__execute_result__descriptor);
	CU_ASSERT_STRING_EQUAL(svc->methods[3].path, "/isol8.v1.Isol8/GetFile");
	CU_ASSERT_STRING_EQUAL(grpc__health__v1__health__service.methods[1].path, "/grpc.health.v1.Health/Watch");
	CU_ASSERT(grpc__health__v1__health__watch__method.server_streaming);
}

/* TLS: a self-signed certificate made with the openssl tool for 127.0.0.1. */
/* Bad listen addresses are refused by name; a server that never started but
 * holds a listener is freed cleanly. */
static void test_listen_errors(void)
{
	static const char *const bad[] = {"127.0.0.1:99999", "127.0.0.1:", "localhost", "127.0.0.1:8o"};
	struct isol8_rpc_server *srv = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int port = -1;

	CU_ASSERT_EQUAL_FATAL(isol8_rpc_server_new(&srv, NULL, &err), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		isol8_error_clear(&err);
		CU_ASSERT_EQUAL(isol8_rpc_server_listen(srv, bad[i], NULL, NULL, NULL, &err), -ISOL8_E_INVALID);
		CU_ASSERT_PTR_NOT_NULL(strstr(err.message, bad[i]));
	}
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(isol8_rpc_server_listen(srv, "127.0.0.1:0", NULL, NULL, &port, &err), 0);
	CU_ASSERT(port > 0);
	isol8_rpc_server_free(srv);
}

static void test_tls(void)
{
	struct isol8_rpc_channel_config cfg = {NULL, "k", NULL};
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_rpc_channel *ch = NULL;
	char cmd[1024], cert[96], key[96], target[64];
	HealthReq req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	HealthResp *resp = NULL;
	int port = 0;

	server_start(0);
	snprintf(cert, sizeof(cert), "%s/cert.pem", F.dir);
	snprintf(key, sizeof(key), "%s/key.pem", F.dir);
	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
		 "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s 2>/dev/null",
		 key, cert);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
	isol8_rpc_server_shutdown(F.srv, 0);
	isol8_rpc_server_free(F.srv);
	CU_ASSERT_EQUAL_FATAL(isol8_rpc_server_new(&F.srv, NULL, &err), 0);
	CU_ASSERT_EQUAL(isol8_rpc_server_listen(F.srv, "127.0.0.1:0", cert, NULL, &port, &err), -ISOL8_E_INVALID);
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL_FATAL(isol8_rpc_server_listen(F.srv, "127.0.0.1:0", cert, key, &port, &err), 0);
	CU_ASSERT_EQUAL(grpc__health__v1__health__check__route(F.srv, health_check, NULL, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_rpc_server_start(F.srv, &err), 0);
	snprintf(target, sizeof(target), "127.0.0.1:%d", port);
	cfg.target = target;
	cfg.tls_ca = cert;
	CU_ASSERT_EQUAL_FATAL(isol8_rpc_channel_new(&ch, &cfg, &err), 0);
	CU_ASSERT_EQUAL(grpc__health__v1__health__check__call(ch, &req, &resp, 5000, &err), 0);
	if (resp != NULL) {
		CU_ASSERT_EQUAL(resp->status, GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING);
		protobuf_c_message_free_unpacked(&resp->base, NULL);
	}
	isol8_rpc_channel_free(ch);
	/* A plaintext client cannot talk to the TLS port. */
	isol8_error_clear(&err);
	CU_ASSERT_EQUAL(health(target, "", &port, &err), -ISOL8_E_UNAVAILABLE);
	unlink(cert);
	unlink(key);
	server_stop();
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"generated tables", test_generated_tables},
		{"unary over unix and tcp", test_unary_unix_and_tcp},
		{"error status round trip", test_error_status_round_trip},
		{"metadata and locality", test_metadata_and_locality},
		{"server streaming", test_server_streaming},
		{"client streaming", test_client_streaming},
		{"unrouted is unimplemented", test_unimplemented},
		{"client cancel seen by handler", test_client_cancel_seen},
		{"deadline seen by handler", test_deadline_seen},
		{"max_calls", test_max_calls},
		{"reserved routes have their own budget", test_reserved_calls},
		{"shutdown with a blocked handler", test_shutdown_with_blocked_handler},
		{"unreachable target", test_unreachable},
		{"wait_ready", test_wait_ready},
		{"listen errors; freeing an unstarted server", test_listen_errors},
		{"tls", test_tls},
	};

	return isol8_test_run("rpc", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
