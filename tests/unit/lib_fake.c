/* The fake isol8d of libisol8's unit tests: see lib_fake.h. Each handler
 * answers from its request, as its comment says. */
#include "lib_fake.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grpc/health/v1/health.rpc.h"
#include "isol8/v1/admin.rpc.h"
#include "isol8/v1/isol8.rpc.h"
#include "base/util.h"

#define WAIT_MS 10000
#define GET_CHUNK (256u * 1024u)

struct lib_fake fake;

static void note(int *counter)
{
	pthread_mutex_lock(&fake.lock);
	(*counter)++;
	pthread_mutex_unlock(&fake.lock);
}

bool lib_fake_wait(int *counter, int n)
{
	int64_t end = isol8_now_ms() + WAIT_MS;
	bool ok = false;

	while (!ok && isol8_now_ms() < end) {
		pthread_mutex_lock(&fake.lock);
		ok = *counter >= n;
		pthread_mutex_unlock(&fake.lock);
		if (!ok)
			usleep(2000);
	}
	return ok;
}

static void note_deadline(struct isol8_rpc_call *call)
{
	int64_t d = isol8_rpc_call_deadline_ms(call);

	pthread_mutex_lock(&fake.lock);
	fake.deadline = d == INT64_MAX ? INT64_MAX : d - isol8_now_ms();
	pthread_mutex_unlock(&fake.lock);
}

static void reply(struct isol8_rpc_call *call, const ProtobufCMessage *msg)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	isol8_rpc_call_write(call, msg, &err);
	isol8_rpc_call_finish(call, err.code, err.message);
}

/* Health/Check: fake.health_status. */
static void health_check(struct isol8_rpc_call *call, const Grpc__Health__V1__HealthCheckRequest *req, void *ud)
{
	Grpc__Health__V1__HealthCheckResponse resp = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__INIT;

	(void)req, (void)ud;
	pthread_mutex_lock(&fake.lock);
	resp.status = fake.health_status;
	pthread_mutex_unlock(&fake.lock);
	reply(call, &resp.base);
}

/* Execute: code "fail:N:MESSAGE" finishes with isol8 code N and MESSAGE;
 * else stdout is the call's authorization metadata, runtime and session_id
 * the request's, exit_code its number of metadata entries. */
static void execute(struct isol8_rpc_call *call, const Isol8__V1__ExecuteRequest *req, void *ud)
{
	Isol8__V1__ExecuteResult res = ISOL8__V1__EXECUTE_RESULT__INIT;
	char auth[256] = "";
	int len;

	(void)ud;
	note_deadline(call);
	if (strncmp(req->code, "fail:", 5) == 0) {
		char *colon = strchr(req->code + 5, ':');
		isol8_rpc_call_finish(call, atoi(req->code + 5), colon != NULL ? colon + 1 : "");
		return;
	}
	len = isol8_rpc_call_metadata(call, "authorization", auth, sizeof(auth));
	res.stdout = (ProtobufCBinaryData){len > 0 ? (size_t)len : 0, (uint8_t *)auth};
	res.runtime = req->runtime;
	res.session_id = req->session_id;
	res.exit_code = (int32_t)req->n_metadata;
	reply(call, &res.base);
}

static int write_event(struct isol8_rpc_call *call, Isol8__V1__ExecuteEvent *ev)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	return isol8_rpc_call_write(call, &ev->base, &err);
}

static int write_output(struct isol8_rpc_call *call, int stream, const char *phase, const void *data, size_t len)
{
	Isol8__V1__ExecuteEvent ev = ISOL8__V1__EXECUTE_EVENT__INIT;

	ev.phase = (char *)phase;
	ev.event_case = stream == 1 ? ISOL8__V1__EXECUTE_EVENT__EVENT_STDOUT : ISOL8__V1__EXECUTE_EVENT__EVENT_STDERR;
	if (stream == 1)
		ev.stdout = (ProtobufCBinaryData){len, (uint8_t *)data};
	else
		ev.stderr = (ProtobufCBinaryData){len, (uint8_t *)data};
	return write_event(call, &ev);
}

static void write_exit(struct isol8_rpc_call *call, int exit_code, bool timed_out)
{
	Isol8__V1__ExecuteEvent ev = ISOL8__V1__EXECUTE_EVENT__INIT;
	Isol8__V1__ExecuteResult res = ISOL8__V1__EXECUTE_RESULT__INIT;

	res.exit_code = exit_code;
	res.timed_out = timed_out;
	res.execution_id = "e1";
	ev.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_EXIT;
	ev.exit = &res;
	ev.phase = "code";
	write_event(call, &ev);
	isol8_rpc_call_finish(call, 0, NULL);
}

static void block_until_cancelled(struct isol8_rpc_call *call)
{
	int64_t end = isol8_now_ms() + 2 * WAIT_MS;

	note(&fake.entered);
	while (!isol8_rpc_call_cancelled(call) && isol8_now_ms() < end)
		usleep(1000);
	if (isol8_rpc_call_cancelled(call))
		note(&fake.saw_cancel);
	isol8_rpc_call_finish(call, ISOL8_E_CANCELLED, "cancelled");
}

/* ExecuteStream: runtime "block" sends stdout "started" and blocks until
 * cancelled; code "fail" sends stdout "partial" then ABORTED; else stdout
 * "out\0put", a setup-phase stderr, the error "EXECUTION TIMED OUT" and
 * the exit (137, timed out). */
static void execute_stream(struct isol8_rpc_call *call, const Isol8__V1__ExecuteRequest *req, void *ud)
{
	Isol8__V1__ExecuteEvent ev = ISOL8__V1__EXECUTE_EVENT__INIT;

	(void)ud;
	note_deadline(call);
	if (strcmp(req->runtime, "block") == 0) {
		if (write_output(call, 1, "code", "started", 7) == 0)
			block_until_cancelled(call);
		else
			isol8_rpc_call_finish(call, ISOL8_E_CANCELLED, "gone");
		return;
	}
	if (strcmp(req->code, "fail") == 0) {
		write_output(call, 1, "code", "partial", 7);
		isol8_rpc_call_finish(call, ISOL8_E_ABORTED, "session s1 is busy");
		return;
	}
	write_output(call, 1, "code", "out\0put", 7);
	write_output(call, 2, "setup", "setup line", 10);
	ev.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_ERROR;
	ev.error = "EXECUTION TIMED OUT";
	ev.phase = "code";
	write_event(call, &ev);
	write_exit(call, 137, true);
}

/* One input of ExecuteInteractive echoed as a stdout event; true at stdin_eof. */
static bool echo_input(struct isol8_rpc_call *call, const Isol8__V1__InteractiveInput *in)
{
	char line[256];

	switch (in->input_case) {
	case ISOL8__V1__INTERACTIVE_INPUT__INPUT_STDIN:
		snprintf(line, sizeof(line), "stdin:%.*s", (int)in->stdin.len, (const char *)in->stdin.data);
		break;
	case ISOL8__V1__INTERACTIVE_INPUT__INPUT_STDIN_EOF:
		snprintf(line, sizeof(line), "eof");
		break;
	case ISOL8__V1__INTERACTIVE_INPUT__INPUT_SIGNAL:
		snprintf(line, sizeof(line), "signal:%s", in->signal);
		break;
	case ISOL8__V1__INTERACTIVE_INPUT__INPUT_RESIZE:
		snprintf(line, sizeof(line), "resize:%ux%u", in->resize->rows, in->resize->cols);
		break;
	default:
		snprintf(line, sizeof(line), "other");
	}
	write_output(call, 1, "code", line, strlen(line));
	return in->input_case == ISOL8__V1__INTERACTIVE_INPUT__INPUT_STDIN_EOF;
}

/* ExecuteInteractive: the first message must be the request (its runtime
 * is echoed as "request:RUNTIME:tty"); each later one is echoed (echo_input);
 * stdin_eof ends the run with exit 0. */
static void execute_interactive(struct isol8_rpc_call *call, void *ud)
{
	ProtobufCMessage *msg = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;
	Isol8__V1__InteractiveInput *in;
	char line[128];
	bool eof = false;

	(void)ud;
	if (isol8_rpc_call_read(call, &msg, &err) != 1) {
		isol8_rpc_call_finish(call, ISOL8_E_INVALID, "no request");
		return;
	}
	in = (Isol8__V1__InteractiveInput *)msg;
	if (in->input_case != ISOL8__V1__INTERACTIVE_INPUT__INPUT_REQUEST) {
		protobuf_c_message_free_unpacked(msg, NULL);
		isol8_rpc_call_finish(call, ISOL8_E_INVALID, "the first message is not the request");
		return;
	}
	snprintf(line, sizeof(line), "request:%s:%s", in->request->runtime, in->request->tty ? "tty" : "pipe");
	protobuf_c_message_free_unpacked(msg, NULL);
	write_output(call, 1, "code", line, strlen(line));
	while (!eof && isol8_rpc_call_read(call, &msg, &err) == 1) {
		eof = echo_input(call, (Isol8__V1__InteractiveInput *)msg);
		protobuf_c_message_free_unpacked(msg, NULL);
	}
	write_exit(call, 0, false);
}

static void put_note_first(const Isol8__V1__PutFileChunk *c)
{
	pthread_mutex_lock(&fake.lock);
	snprintf(fake.put_session, sizeof(fake.put_session), "%s", c->session_id);
	snprintf(fake.put_path, sizeof(fake.put_path), "%s", c->path);
	fake.put_mode = c->mode;
	fake.put_size = 0;
	fake.put_chunks = 0;
	fake.put_ok = true;
	pthread_mutex_unlock(&fake.lock);
}

static void put_note_data(const Isol8__V1__PutFileChunk *c)
{
	pthread_mutex_lock(&fake.lock);
	for (size_t i = 0; i < c->data.len; i++)
		if (c->data.data[i] != lib_fake_pattern(fake.put_size + i))
			fake.put_ok = false;
	fake.put_size += c->data.len;
	fake.put_chunks++;
	pthread_mutex_unlock(&fake.lock);
}

/* PutFile: notes the first chunk's names and mode, counts the chunks and
 * checks the data against the pattern; session "nope" is NOT_FOUND. */
static void put_file(struct isol8_rpc_call *call, void *ud)
{
	Isol8__V1__PutFileResult res = ISOL8__V1__PUT_FILE_RESULT__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;
	ProtobufCMessage *msg;
	bool first = true;
	int ret;

	(void)ud;
	while ((ret = isol8_rpc_call_read(call, &msg, &err)) == 1) {
		Isol8__V1__PutFileChunk *c = (Isol8__V1__PutFileChunk *)msg;
		bool missing = first && strcmp(c->session_id, "nope") == 0;
		if (first)
			put_note_first(c);
		put_note_data(c);
		res.size += c->data.len;
		first = false;
		protobuf_c_message_free_unpacked(msg, NULL);
		if (missing) {
			isol8_rpc_call_finish(call, ISOL8_E_NOT_FOUND, "no session \"nope\"");
			return;
		}
	}
	if (ret < 0) {
		isol8_rpc_call_finish(call, err.code, err.message);
		return;
	}
	reply(call, &res.base);
}

/* GetFile: session "nope" and path "/sandbox/missing" are NOT_FOUND; else
 * fake.get_size pattern bytes in chunks of GET_CHUNK. */
static void get_file(struct isol8_rpc_call *call, const Isol8__V1__GetFileRequest *req, void *ud)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	unsigned char *buf = malloc(GET_CHUNK);
	size_t size, sent = 0;

	(void)ud;
	pthread_mutex_lock(&fake.lock);
	size = fake.get_size;
	pthread_mutex_unlock(&fake.lock);
	if (strcmp(req->session_id, "nope") == 0)
		err.code = ISOL8_E_NOT_FOUND, snprintf(err.message, sizeof(err.message), "no session \"nope\"");
	else if (strcmp(req->path, "/sandbox/missing") == 0)
		err.code = ISOL8_E_NOT_FOUND, snprintf(err.message, sizeof(err.message), "no file /sandbox/missing");
	while (buf != NULL && err.code == 0 && sent < size) {
		Isol8__V1__FileChunk chunk = ISOL8__V1__FILE_CHUNK__INIT;
		size_t n = size - sent < GET_CHUNK ? size - sent : GET_CHUNK;
		for (size_t i = 0; i < n; i++)
			buf[i] = lib_fake_pattern(sent + i);
		chunk.data = (ProtobufCBinaryData){n, buf};
		isol8_rpc_call_write(call, &chunk.base, &err);
		sent += n;
	}
	free(buf);
	isol8_rpc_call_finish(call, err.code, err.message);
}

/* DestroySession: only "s1" existed. */
static void destroy_session(struct isol8_rpc_call *call, const Isol8__V1__DestroySessionRequest *req, void *ud)
{
	Isol8__V1__DestroySessionResult res = ISOL8__V1__DESTROY_SESSION_RESULT__INIT;

	(void)ud;
	res.destroyed = strcmp(req->session_id, "s1") == 0;
	reply(call, &res.base);
}

/* ListSessions: "s1", a busy bash session. */
static void list_sessions(struct isol8_rpc_call *call, const Isol8__V1__ListSessionsRequest *req, void *ud)
{
	Isol8__V1__ListSessionsResult res = ISOL8__V1__LIST_SESSIONS_RESULT__INIT;
	Isol8__V1__SessionInfo s = ISOL8__V1__SESSION_INFO__INIT, *list[] = {&s};

	(void)req, (void)ud;
	s.id = "s1";
	s.runtime = "bash";
	s.busy = true;
	res.n_sessions = 1;
	res.sessions = list;
	reply(call, &res.base);
}

/* Info: version "9.9.9", strategy "fast". */
static void info(struct isol8_rpc_call *call, const Isol8__V1__InfoRequest *req, void *ud)
{
	Isol8__V1__InfoResult res = ISOL8__V1__INFO_RESULT__INIT;
	Isol8__V1__InfoResult__Sandboxes sb = ISOL8__V1__INFO_RESULT__SANDBOXES__INIT;

	(void)req, (void)ud;
	note_deadline(call);
	res.version = "9.9.9";
	sb.strategy = "fast";
	res.sandboxes = &sb;
	reply(call, &res.base);
}

/* Cleanup: 1 container; with sessions 2 sessions and an error for each
 * kind; with images 3 images. */
static void cleanup(struct isol8_rpc_call *call, const Isol8__V1__CleanupRequest *req, void *ud)
{
	static char *errors[] = {"session s9: busy", "container c1: gone", "image isol8:bash: in use"};
	Isol8__V1__CleanupResult res = ISOL8__V1__CLEANUP_RESULT__INIT;

	(void)ud;
	res.removed_containers = 1;
	res.removed_sessions = req->sessions ? 2 : 0;
	res.removed_images = req->images ? 3 : 0;
	if (req->sessions) {
		res.failed_sessions = res.failed_containers = res.failed_images = 1;
		res.n_errors = 3;
		res.errors = errors;
	}
	reply(call, &res.base);
}

static void setup_send(struct isol8_rpc_call *call, const char *image, Isol8__V1__SetupEvent__Phase phase,
		       const char *message)
{
	Isol8__V1__SetupEvent ev = ISOL8__V1__SETUP_EVENT__INIT;
	struct isol8_error err = ISOL8_ERROR_INIT;

	ev.image = (char *)image;
	ev.phase = phase;
	ev.message = (char *)message;
	isol8_rpc_call_write(call, &ev.base, &err);
}

/* Setup: checking, building, built and done for isol8:python; runtimes
 * ["bad"] is a failed event and INVALID_ARGUMENT; with force, events of an
 * unknown phase 42 come first. */
static void setup(struct isol8_rpc_call *call, const Isol8__V1__SetupRequest *req, void *ud)
{
	(void)ud;
	if (req->force)
		setup_send(call, "isol8:python", 42, "from the future");
	if (req->n_runtimes == 1 && strcmp(req->runtimes[0], "bad") == 0) {
		setup_send(call, "", ISOL8__V1__SETUP_EVENT__PHASE__FAILED, "runtimes: unknown runtime \"bad\"");
		isol8_rpc_call_finish(call, ISOL8_E_INVALID, "runtimes: unknown runtime \"bad\"");
		return;
	}
	setup_send(call, "isol8:python", ISOL8__V1__SETUP_EVENT__PHASE__CHECKING, "");
	setup_send(call, "isol8:python", ISOL8__V1__SETUP_EVENT__PHASE__BUILDING, "Step 1/2 : FROM base");
	setup_send(call, "isol8:python", ISOL8__V1__SETUP_EVENT__PHASE__BUILT, "");
	setup_send(call, "", ISOL8__V1__SETUP_EVENT__PHASE__DONE, "");
	isol8_rpc_call_finish(call, 0, NULL);
}

static void routes(struct isol8_error *err)
{
	CU_ASSERT_EQUAL(grpc__health__v1__health__check__route(fake.srv, health_check, NULL, err), 0);
	CU_ASSERT_EQUAL(isol8__v1__isol8__execute__route(fake.srv, execute, NULL, err), 0);
	CU_ASSERT_EQUAL(isol8__v1__isol8__execute_stream__route(fake.srv, execute_stream, NULL, err), 0);
	CU_ASSERT_EQUAL(isol8__v1__isol8__execute_interactive__route(fake.srv, execute_interactive, NULL, err), 0);
	CU_ASSERT_EQUAL(isol8__v1__isol8__put_file__route(fake.srv, put_file, NULL, err), 0);
	CU_ASSERT_EQUAL(isol8__v1__isol8__get_file__route(fake.srv, get_file, NULL, err), 0);
	CU_ASSERT_EQUAL(isol8__v1__isol8__destroy_session__route(fake.srv, destroy_session, NULL, err), 0);
	CU_ASSERT_EQUAL(isol8__v1__admin__list_sessions__route(fake.srv, list_sessions, NULL, err), 0);
	CU_ASSERT_EQUAL(isol8__v1__admin__info__route(fake.srv, info, NULL, err), 0);
	CU_ASSERT_EQUAL(isol8__v1__admin__cleanup__route(fake.srv, cleanup, NULL, err), 0);
	CU_ASSERT_EQUAL(isol8__v1__admin__setup__route(fake.srv, setup, NULL, err), 0);
}

static void make_cert(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd),
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
		 "-subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 -keyout %s/key.pem -out %s/cert.pem "
		 "2>/dev/null",
		 fake.dir, fake.dir);
	CU_ASSERT_EQUAL_FATAL(system(cmd), 0);
}

void lib_fake_start(bool tls)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char cert[96], key[96];
	int port = 0;

	memset(&fake, 0, sizeof(fake));
	pthread_mutex_init(&fake.lock, NULL);
	fake.health_status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	snprintf(fake.dir, sizeof(fake.dir), "/tmp/isol8-lib-test-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(fake.dir));
	snprintf(fake.unix_target, sizeof(fake.unix_target), "unix:%s/isol8.sock", fake.dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", fake.dir);
	snprintf(key, sizeof(key), "%s/key.pem", fake.dir);
	if (tls)
		make_cert();
	CU_ASSERT_EQUAL_FATAL(isol8_rpc_server_new(&fake.srv, NULL, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_rpc_server_listen(fake.srv, fake.unix_target, NULL, NULL, NULL, &err), 0);
	CU_ASSERT_EQUAL_FATAL(isol8_rpc_server_listen(fake.srv, "127.0.0.1:0", tls ? cert : NULL, tls ? key : NULL,
						      &port, &err),
			      0);
	snprintf(fake.tcp_target, sizeof(fake.tcp_target), "127.0.0.1:%d", port);
	routes(&err);
	CU_ASSERT_EQUAL_FATAL(isol8_rpc_server_start(fake.srv, &err), 0);
}

void lib_fake_stop(void)
{
	char path[160];

	if (fake.srv != NULL) {
		isol8_rpc_server_shutdown(fake.srv, 1000);
		isol8_rpc_server_free(fake.srv);
	}
	fake.srv = NULL;
	static const char *const files[] = {"isol8.sock", "cert.pem", "key.pem"};
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(files); i++) {
		snprintf(path, sizeof(path), "%s/%s", fake.dir, files[i]);
		unlink(path);
	}
	rmdir(fake.dir);
	pthread_mutex_destroy(&fake.lock);
}
