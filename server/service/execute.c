/* Executions: output handling, the result message and the log line. See
 * service.h. */
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "service/service.h"

static int gather_output(void *userdata, int stream, const uint8_t *data, size_t len)
{
	struct isol8_service_result *g = userdata;
	int s = stream - 1;
	size_t total = g->len[0] + g->len[1], need;

	if (total + len > g->output->gather_max) {
		g->truncated = true;
		len = g->output->gather_max - total;
	}
	need = g->len[s] + len;
	if (need > g->cap[s]) {
		size_t cap = g->cap[s] ? g->cap[s] : 4096;
		while (cap < need)
			cap *= 2;
		uint8_t *p = realloc(g->gathered[s], cap);
		if (p == NULL)
			return -ISOL8_E_NOMEM;
		g->gathered[s] = p;
		g->cap[s] = cap;
	}
	memcpy(g->gathered[s] + g->len[s], data, len);
	g->len[s] = need;
	return 0;
}

static bool gather_cancelled(void *userdata)
{
	const struct isol8_service_result *g = userdata;
	return g->output->cancelled != NULL && g->output->cancelled(g->output->userdata);
}

static void result_fill(struct isol8_service_result *r)
{
	const struct isol8_exec_result *res = &r->run;
	Isol8__V1__ExecuteResult *out = &r->message;

	out->exit_code = res->exit_code;
	out->signal = res->signal;
	out->duration_ms = res->duration_ms;
	out->truncated = res->truncated || r->truncated;
	out->timed_out = res->timed_out;
	out->execution_id = (char *)res->execution_id;
	out->runtime = (char *)res->runtime;
	out->timestamp = (char *)res->timestamp;
	out->container_id = (char *)res->container_id;
	out->stdout = (ProtobufCBinaryData){r->len[0], r->gathered[0]};
	out->stderr = (ProtobufCBinaryData){r->len[1], r->gathered[1]};
	r->usage.cpu_user_ms = res->cpu_user_ms;
	r->usage.cpu_system_ms = res->cpu_system_ms;
	r->usage.max_rss_kb = res->max_rss_kb;
	out->resource_usage = &r->usage;
}

static void log_execution(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_result *res,
			  const struct isol8_error *err, int64_t started_ms)
{
	if (err->code != 0) {
		isol8_log(ISOL8_LOG_WARN, "execute runtime=%s error=%s msg=\"%s\" ms=%lld",
			  req->runtime ? req->runtime : "", isol8_error_code_name(err->code), err->message,
			  (long long)(isol8_now_ms() - started_ms));
		return;
	}
	isol8_log(ISOL8_LOG_INFO, "execute id=%s runtime=%s exit=%d timed_out=%d truncated=%d run_ms=%lld total_ms=%lld",
		  res->execution_id, res->runtime, res->exit_code, res->timed_out, res->truncated,
		  (long long)res->duration_ms, (long long)(isol8_now_ms() - started_ms));
	if (isol8_log_enabled(ISOL8_LOG_DEBUG)) {
		const struct isol8_exec_phases *p = &res->phases;
		isol8_log(ISOL8_LOG_DEBUG,
			  "phases id=%s queue_us=%lld acquire_us=%lld cold=%d prestarted=%d exec_us=%lld "
			  "first_output_us=%lld release_us=%lld",
			  res->execution_id, (long long)p->queue_us, (long long)p->acquire_us, p->cold, p->prestarted,
			  (long long)p->exec_us, (long long)p->first_output_us, (long long)p->release_us);
	}
}

int isol8_service_execute(struct isol8_service *s, const Isol8__V1__ExecuteRequest *req,
			  const struct isol8_service_output *output, struct isol8_service_result *res,
			  struct isol8_error *err)
{
	struct isol8_exec_sink sink = {output->on_output, output->cancelled, output->userdata};
	int64_t started = isol8_now_ms();
	int ret;

	memset(res, 0, sizeof(*res));
	isol8__v1__execute_result__init(&res->message);
	isol8__v1__resource_usage__init(&res->usage);
	res->output = output;
	if (output->on_output == NULL)
		sink = (struct isol8_exec_sink){gather_output, gather_cancelled, res};
	ret = isol8_engine_execute(s->engine, req, &sink, &res->run, err);
	if (ret == 0)
		result_fill(res);
	log_execution(req, &res->run, err, started);
	return ret;
}

void isol8_service_result_release(struct isol8_service_result *res)
{
	free(res->gathered[0]);
	free(res->gathered[1]);
	res->gathered[0] = res->gathered[1] = NULL;
}
