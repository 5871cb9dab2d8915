/* Results, events, sessions and cleanup results to the original's JSON: see mapping.h. */
#include <stdio.h>
#include <string.h>

#include "gateway/mapping.h"

static int kv_bytes(struct gw_buf *b, const char *key, const char *data, size_t n)
{
	if (gw_json_key(b, key) < 0)
		return -1;
	return gw_json_string(b, data ? data : "", data ? n : 0);
}

static int files_json(struct gw_buf *b, const struct isol8_result *res)
{
	if (gw_json_key(b, "files") < 0 || gw_buf_puts(b, "{") < 0)
		return -1;
	for (size_t i = 0; i < res->n_files; i++) {
		if (gw_json_key(b, res->files[i].path) < 0 ||
		    gw_json_base64(b, res->files[i].data, res->files[i].size) < 0)
			return -1;
	}
	return gw_buf_puts(b, "}");
}

/* The original's resourceUsage: CPU time over wall time, memory in MB. */
static int usage_json(struct gw_buf *b, const struct isol8_result *res)
{
	double cpu_ms = (double)(res->cpu_user_ms + res->cpu_system_ms);
	double percent = res->duration_ms > 0 ? cpu_ms / (double)res->duration_ms * 100.0 : 0.0;
	double mb = (double)res->max_rss_kb / 1024.0;

	if (gw_json_key(b, "resourceUsage") < 0)
		return -1;
	return gw_buf_printf(b,
			     "{\"cpuPercent\":%.2f,\"memoryMB\":%.2f,\"peakMemoryMB\":%.2f,\"networkBytesIn\":0,"
			     "\"networkBytesOut\":0}",
			     percent, mb, mb);
}

static int network_logs_json(struct gw_buf *b, const struct isol8_result *res)
{
	if (gw_json_key(b, "networkLogs") < 0 || gw_buf_puts(b, "[") < 0)
		return -1;
	for (size_t i = 0; i < res->n_network_logs; i++) {
		const struct isol8_network_log *l = &res->network_logs[i];
		if ((i && gw_buf_puts(b, ",") < 0) || gw_buf_puts(b, "{") < 0 ||
		    gw_json_kv_str(b, "timestamp", l->timestamp ? l->timestamp : "") < 0 ||
		    gw_json_kv_str(b, "method", l->method ? l->method : "") < 0 ||
		    gw_json_kv_str(b, "host", l->host ? l->host : "") < 0 ||
		    gw_json_kv_str(b, "path", l->path && *l->path ? l->path : NULL) < 0 ||
		    gw_json_kv_str(b, "action", l->allowed ? "ALLOW" : "BLOCK") < 0 ||
		    gw_json_kv_int(b, "durationMs", l->duration_ms) < 0 || gw_buf_puts(b, "}") < 0)
			return -1;
	}
	return gw_buf_puts(b, "]");
}

int gw_result_json(struct gw_buf *b, const struct isol8_result *res, bool want_files, bool log_network)
{
	if (gw_buf_puts(b, "{") < 0 || kv_bytes(b, "stdout", res->stdout_data, res->stdout_size) < 0 ||
	    kv_bytes(b, "stderr", res->stderr_data, res->stderr_size) < 0 ||
	    gw_json_kv_int(b, "exitCode", res->exit_code) < 0 || gw_json_kv_int(b, "durationMs", res->duration_ms) < 0 ||
	    gw_json_kv_bool(b, "truncated", res->truncated) < 0 ||
	    gw_json_kv_str(b, "executionId", res->execution_id ? res->execution_id : "") < 0 ||
	    gw_json_kv_str(b, "runtime", res->runtime ? res->runtime : "") < 0 ||
	    gw_json_kv_str(b, "timestamp", res->timestamp ? res->timestamp : "") < 0)
		return -1;
	if (res->container_id && *res->container_id && gw_json_kv_str(b, "containerId", res->container_id) < 0)
		return -1;
	if (want_files && files_json(b, res) < 0)
		return -1;
	if (res->has_usage && usage_json(b, res) < 0)
		return -1;
	if (log_network && network_logs_json(b, res) < 0)
		return -1;
	if (gw_json_kv_bool(b, "timedOut", res->timed_out) < 0 || gw_json_kv_int(b, "signal", res->signal) < 0 ||
	    gw_json_kv_bool(b, "oomKilled", res->oom_killed) < 0 ||
	    gw_json_kv_bool(b, "stateReset", res->state_reset) < 0)
		return -1;
	if (res->session_id && *res->session_id && gw_json_kv_str(b, "sessionId", res->session_id) < 0)
		return -1;
	return gw_buf_puts(b, "}");
}

int gw_event_json(struct gw_buf *b, const char *type, const char *data, size_t n, const char *phase)
{
	if (gw_buf_puts(b, "{") < 0 || gw_json_kv_str(b, "type", type) < 0 || kv_bytes(b, "data", data, n) < 0)
		return -1;
	if (phase && *phase && gw_json_kv_str(b, "phase", phase) < 0)
		return -1;
	return gw_buf_puts(b, "}");
}

int gw_sessions_json(struct gw_buf *b, const struct isol8_session_info *list, size_t n)
{
	if (gw_buf_puts(b, "{\"sessions\":[") < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct isol8_session_info *s = &list[i];
		if ((i && gw_buf_puts(b, ",") < 0) || gw_buf_puts(b, "{") < 0 ||
		    gw_json_kv_str(b, "id", s->id ? s->id : "") < 0 || gw_json_kv_bool(b, "isActive", s->busy) < 0 ||
		    gw_json_kv_str(b, "lastAccessedAt", s->last_used_at ? s->last_used_at : "") < 0 ||
		    gw_json_kv_str(b, "runtime", s->runtime ? s->runtime : "") < 0 ||
		    gw_json_kv_str(b, "createdAt", s->created_at ? s->created_at : "") < 0 ||
		    gw_json_kv_str(b, "containerId", s->container_id ? s->container_id : "") < 0 ||
		    gw_buf_puts(b, "}") < 0)
			return -1;
	}
	return gw_buf_puts(b, "]}");
}

static int counts_json(struct gw_buf *b, const char *key, const struct isol8_cleanup_counts *c)
{
	if (gw_json_key(b, key) < 0 || gw_buf_puts(b, "{") < 0 || gw_json_kv_int(b, "removed", c->removed) < 0 ||
	    gw_json_kv_int(b, "failed", c->failed) < 0 || gw_json_key(b, "errors") < 0 || gw_buf_puts(b, "[") < 0)
		return -1;
	for (size_t i = 0; i < c->n_errors; i++) {
		if ((i && gw_buf_puts(b, ",") < 0) || gw_json_string(b, c->errors[i], strlen(c->errors[i])) < 0)
			return -1;
	}
	return gw_buf_puts(b, "]}");
}

int gw_cleanup_json(struct gw_buf *b, const struct isol8_cleanup_result *res, bool images)
{
	if (gw_buf_puts(b, "{\"ok\":true") < 0 || counts_json(b, "sessions", &res->sessions) < 0 ||
	    counts_json(b, "containers", &res->containers) < 0)
		return -1;
	if (images && counts_json(b, "images", &res->images) < 0)
		return -1;
	return gw_buf_puts(b, "}");
}
