/* isol8.v1.Isol8 Execute and ExecuteStream: requests to the engine, results back. */
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "isol8/v1/isol8.rpc.h"
#include "base/log.h"
#include "base/util.h"

/* Output gathered for Execute goes back in one message: stdout and stderr
 * together get what the message may carry less room for the rest of the
 * result. The agent enforces the request's own cap; what passes this one
 * (a cap larger than one message, or masking lengthening the output) is
 * dropped and the result says truncated, as past the cap. */
#define GATHER_RESULT_ROOM (64u * 1024u)
#define GATHER_MAX (ISOL8_RPC_MAX_MESSAGE - GATHER_RESULT_ROOM)

struct gather {
	struct isol8_rpc_call *call;
	uint8_t *data[2];
	size_t len[2], cap[2];
	bool truncated;
};

static int gather_output(void *userdata, int stream, const uint8_t *data, size_t len)
{
	struct gather *g = userdata;
	int s = stream - 1;
	size_t total = g->len[0] + g->len[1], need;

	if (total + len > GATHER_MAX) {
		g->truncated = true;
		len = GATHER_MAX - total;
	}
	need = g->len[s] + len;
	if (need > g->cap[s]) {
		size_t cap = g->cap[s] ? g->cap[s] : 4096;
		while (cap < need)
			cap *= 2;
		uint8_t *p = realloc(g->data[s], cap);
		if (p == NULL)
			return -ISOL8_E_NOMEM;
		g->data[s] = p;
		g->cap[s] = cap;
	}
	memcpy(g->data[s] + g->len[s], data, len);
	g->len[s] = need;
	return 0;
}

static bool call_cancelled(void *userdata)
{
	struct gather *g = userdata;
	return isol8_rpc_call_cancelled(g->call);
}

static void result_fill(Isol8__V1__ExecuteResult *out, Isol8__V1__ResourceUsage *usage,
			const struct isol8_exec_result *res)
{
	isol8__v1__execute_result__init(out);
	isol8__v1__resource_usage__init(usage);
	out->exit_code = res->exit_code;
	out->signal = res->signal;
	out->duration_ms = res->duration_ms;
	out->truncated = res->truncated;
	out->timed_out = res->timed_out;
	out->execution_id = (char *)res->execution_id;
	out->runtime = (char *)res->runtime;
	out->timestamp = (char *)res->timestamp;
	out->container_id = (char *)res->container_id;
	usage->cpu_user_ms = res->cpu_user_ms;
	usage->cpu_system_ms = res->cpu_system_ms;
	usage->max_rss_kb = res->max_rss_kb;
	out->resource_usage = usage;
}

static void log_execution(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_result *res,
			  const struct isol8_error *err, int64_t started_ms)
{
	if (err->code != 0)
		isol8_log(ISOL8_LOG_WARN, "execute runtime=%s error=%s msg=\"%s\" ms=%lld",
			  req->runtime ? req->runtime : "", isol8_error_code_name(err->code), err->message,
			  (long long)(isol8_now_ms() - started_ms));
	else
		isol8_log(ISOL8_LOG_INFO,
			  "execute id=%s runtime=%s exit=%d timed_out=%d truncated=%d run_ms=%lld total_ms=%lld",
			  res->execution_id, res->runtime, res->exit_code, res->timed_out, res->truncated,
			  (long long)res->duration_ms, (long long)(isol8_now_ms() - started_ms));
	if (err->code == 0 && isol8_log_enabled(ISOL8_LOG_DEBUG)) {
		const struct isol8_exec_phases *p = &res->phases;
		isol8_log(ISOL8_LOG_DEBUG,
			  "phases id=%s queue_us=%lld acquire_us=%lld cold=%d prestarted=%d exec_us=%lld "
			  "first_output_us=%lld release_us=%lld",
			  res->execution_id, (long long)p->queue_us, (long long)p->acquire_us, p->cold, p->prestarted,
			  (long long)p->exec_us, (long long)p->first_output_us, (long long)p->release_us);
	}
}

/* Sends the final reply of a successful execution. */
typedef void (*reply_fn)(struct isol8_rpc_call *call, Isol8__V1__ExecuteResult *result, void *userdata);

/* Runs one request through the engine with the given output sink, then
 * replies (or finishes with the error) and logs the execution. */
static void serve(struct isol8d *d, struct isol8_rpc_call *call, const Isol8__V1__ExecuteRequest *req,
		  const struct isol8_exec_sink *sink, reply_fn reply, void *reply_data)
{
	struct isol8_exec_result res;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int64_t started = isol8_now_ms();

	if (isol8d_call_begin(d, call)) {
		if (isol8_engine_execute(d->engine, req, sink, &res, &err) < 0) {
			isol8d_finish_error(call, &err);
		} else {
			Isol8__V1__ExecuteResult out;
			Isol8__V1__ResourceUsage usage;
			result_fill(&out, &usage, &res);
			reply(call, &out, reply_data);
		}
		log_execution(req, &res, &err, started);
	}
	isol8d_call_end(d);
}

/* Execute's reply: the result with the gathered output. */
static void reply_gathered(struct isol8_rpc_call *call, Isol8__V1__ExecuteResult *result, void *userdata)
{
	struct gather *g = userdata;

	result->stdout = (ProtobufCBinaryData){g->len[0], g->data[0]};
	result->stderr = (ProtobufCBinaryData){g->len[1], g->data[1]};
	result->truncated = result->truncated || g->truncated;
	isol8d_reply(call, &result->base);
}

static void handle_execute(struct isol8_rpc_call *call, const Isol8__V1__ExecuteRequest *req, void *userdata)
{
	struct gather g = {.call = call};
	struct isol8_exec_sink sink = {gather_output, call_cancelled, &g};

	serve(userdata, call, req, &sink, reply_gathered, &g);
	free(g.data[0]);
	free(g.data[1]);
}

static int stream_output(void *userdata, int stream, const uint8_t *data, size_t len)
{
	struct isol8_rpc_call *call = userdata;
	Isol8__V1__ExecuteEvent ev;
	struct isol8_error err = ISOL8_ERROR_INIT;

	isol8__v1__execute_event__init(&ev);
	if (stream == 1) {
		ev.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_STDOUT;
		ev.stdout = (ProtobufCBinaryData){len, (uint8_t *)data};
	} else {
		ev.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_STDERR;
		ev.stderr = (ProtobufCBinaryData){len, (uint8_t *)data};
	}
	return isol8_rpc_call_write(call, &ev.base, &err) < 0 ? -ISOL8_E_CANCELLED : 0;
}

static bool stream_cancelled(void *userdata)
{
	return isol8_rpc_call_cancelled(userdata);
}

/* ExecuteStream's last event: the result (its output was already streamed). */
static void reply_exit_event(struct isol8_rpc_call *call, Isol8__V1__ExecuteResult *result, void *userdata)
{
	Isol8__V1__ExecuteEvent ev;

	(void)userdata;
	isol8__v1__execute_event__init(&ev);
	ev.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_EXIT;
	ev.exit = result;
	isol8d_reply(call, &ev.base);
}

static void handle_execute_stream(struct isol8_rpc_call *call, const Isol8__V1__ExecuteRequest *req,
				  void *userdata)
{
	struct isol8_exec_sink sink = {stream_output, stream_cancelled, call};

	serve(userdata, call, req, &sink, reply_exit_event, NULL);
}

int isol8d_routes_exec(struct isol8d *d, struct isol8_error *err)
{
	int ret = isol8__v1__isol8__execute__route(d->server, handle_execute, d, err);
	if (ret == 0)
		ret = isol8__v1__isol8__execute_stream__route(d->server, handle_execute_stream, d, err);
	return ret;
}
