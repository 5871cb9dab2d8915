/* Executions: output handling, the result message and the log line. See
 * service.h. */
#include <ctype.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "service/service.h"

/* Room kept in a gathered result for the markers. */
#define MARKER_ROOM 256u

/* Appends to one gathered stream; the gather limit was checked. */
static int gather_append(struct isol8_service_result *g, int s, const uint8_t *data, size_t len)
{
	size_t need = g->len[s] + len;

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

static int gather_output(void *userdata, enum isol8_phase phase, int stream, const uint8_t *data, size_t len)
{
	struct isol8_service_result *g = userdata;
	size_t total = g->len[0] + g->len[1];
	size_t max = g->output->gather_max > MARKER_ROOM ? g->output->gather_max - MARKER_ROOM : 0;

	(void)phase;
	if (total + len > max) {
		g->truncated = true;
		len = total < max ? max - total : 0;
	}
	return gather_append(g, stream - 1, data, len);
}

/* What the reply has room for after the gathered output and its markers. */
static size_t gather_room(void *userdata)
{
	const struct isol8_service_result *g = userdata;
	size_t used = g->len[0] + g->len[1] + 2 * MARKER_ROOM;

	return g->output->gather_max > used ? g->output->gather_max - used : 0;
}

static bool gather_cancelled(void *userdata)
{
	const struct isol8_service_result *g = userdata;
	return g->output->cancelled != NULL && g->output->cancelled(g->output->userdata);
}

/* "512m", "1g", "64k" or bytes, as options take it. */
static void format_size(int64_t bytes, char *buf, size_t size)
{
	if (bytes > 0 && bytes % (1LL << 30) == 0)
		snprintf(buf, size, "%lldg", (long long)(bytes >> 30));
	else if (bytes > 0 && bytes % (1LL << 20) == 0)
		snprintf(buf, size, "%lldm", (long long)(bytes >> 20));
	else if (bytes > 0 && bytes % 1024 == 0)
		snprintf(buf, size, "%lldk", (long long)(bytes >> 10));
	else
		snprintf(buf, size, "%lld", (long long)bytes);
}

/* What ended the run early, as the original words it; stderr frames a
 * marker in "--- ... ---", a setup failure stands as its own sentence. */
struct early_end {
	char text[64];
	bool framed;
};

/* Fills ends (room for 3); returns how many apply. */
static int early_ends(const struct isol8_exec_result *res, struct early_end ends[3])
{
	char mem[32];
	int n = 0;

	if (res->timed_out)
		ends[n++] = (struct early_end){"EXECUTION TIMED OUT", true};
	if (res->oom_killed) {
		format_size(res->memory_bytes, mem, sizeof(mem));
		ends[n] = (struct early_end){"", true};
		snprintf(ends[n++].text, sizeof(ends[0].text), "OUT OF MEMORY (limit %s)", mem);
	}
	if (res->install_failed) {
		ends[n] = (struct early_end){"", false};
		snprintf(ends[n++].text, sizeof(ends[0].text), "Package install failed (exit code %d)",
			 res->timed_out ? 128 + SIGKILL : res->exit_code);
	}
	if (res->setup_failed) {
		ends[n] = (struct early_end){"", false};
		snprintf(ends[n++].text, sizeof(ends[0].text), "Setup script failed (exit code %d)",
			 res->timed_out ? 128 + SIGKILL : res->exit_code);
	}
	return n;
}

static void trim_trailing_space(struct isol8_service_result *r, int s)
{
	while (r->len[s] > 0 && isspace(r->gathered[s][r->len[s] - 1]))
		r->len[s]--;
}

static int append_line(struct isol8_service_result *r, int s, const char *sep, const char *text)
{
	int ret = 0;

	if (r->len[s] > 0)
		ret = gather_append(r, s, (const uint8_t *)sep, strlen(sep));
	return ret < 0 ? ret : gather_append(r, s, (const uint8_t *)text, strlen(text));
}

/* Trims and appends the markers of a gathered result. */
static int gathered_finish(struct isol8_service_result *r)
{
	const struct isol8_exec_result *res = &r->run;
	struct early_end ends[3];
	char line[160];
	int n, ret = 0;

	trim_trailing_space(r, 0);
	trim_trailing_space(r, 1);
	if (res->truncated || r->truncated) {
		uint64_t total = res->output_bytes > (uint64_t)res->max_output ? res->output_bytes
									 : (uint64_t)res->max_output + 1;
		snprintf(line, sizeof(line), "--- OUTPUT TRUNCATED (%llu bytes, limit: %lld) ---",
			 (unsigned long long)total, (long long)res->max_output);
		ret = append_line(r, 0, "\n\n", line);
	}
	if (res->truncated_files) {
		snprintf(line, sizeof(line), "--- OUTPUT FILES TRUNCATED (\"%.64s\" and any file past %lld bytes left out) ---",
			 res->files_left_out, (long long)res->files_room);
		ret = append_line(r, 1, "\n", line);
	}
	n = early_ends(res, ends);
	for (int i = 0; ret == 0 && i < n; i++) {
		snprintf(line, sizeof(line), ends[i].framed ? "--- %s ---" : "%s", ends[i].text);
		ret = append_line(r, 1, "\n", line);
	}
	return ret;
}

/* Streamed: the early-end messages as error events. */
static int streamed_finish(struct isol8_service_result *r)
{
	const struct isol8_exec_result *res = &r->run;
	enum isol8_phase phase = res->setup_failed || res->install_failed ? ISOL8_PHASE_SETUP : ISOL8_PHASE_CODE;
	struct early_end ends[3];
	int n = early_ends(res, ends), ret = 0;

	for (int i = 0; ret == 0 && r->output->on_error && i < n; i++)
		ret = r->output->on_error(r->output->userdata, phase, ends[i].text);
	return ret;
}

static int result_files(struct isol8_service_result *r)
{
	const struct isol8_exec_result *res = &r->run;
	Isol8__V1__ExecuteResult *out = &r->message;

	if (res->n_files == 0)
		return 0;
	r->file_entries = calloc(res->n_files, sizeof(*r->file_entries));
	r->file_ptrs = calloc(res->n_files, sizeof(*r->file_ptrs));
	if (r->file_entries == NULL || r->file_ptrs == NULL)
		return -ISOL8_E_NOMEM;
	for (size_t i = 0; i < res->n_files; i++) {
		isol8__v1__execute_result__files_entry__init(&r->file_entries[i]);
		r->file_entries[i].key = res->files[i].path;
		r->file_entries[i].value = (ProtobufCBinaryData){res->files[i].len, res->files[i].data};
		r->file_ptrs[i] = &r->file_entries[i];
	}
	out->files = r->file_ptrs;
	out->n_files = res->n_files;
	return 0;
}

/* A filtered run's egress decisions (options.log_network). */
static int result_network_logs(struct isol8_service_result *r)
{
	const struct isol8_exec_result *res = &r->run;
	Isol8__V1__ExecuteResult *out = &r->message;

	if (res->n_network_logs == 0)
		return 0;
	r->net_entries = calloc(res->n_network_logs, sizeof(*r->net_entries));
	r->net_ptrs = calloc(res->n_network_logs, sizeof(*r->net_ptrs));
	if (r->net_entries == NULL || r->net_ptrs == NULL)
		return -ISOL8_E_NOMEM;
	for (size_t i = 0; i < res->n_network_logs; i++) {
		const struct isol8_egress_entry *e = &res->network_logs[i];
		Isol8__V1__NetworkLogEntry *m = &r->net_entries[i];
		isol8__v1__network_log_entry__init(m);
		m->timestamp = (char *)e->timestamp;
		m->method = (char *)e->method;
		m->host = e->host;
		m->path = e->path;
		m->allowed = e->allowed;
		m->duration_ms = e->duration_ms;
		r->net_ptrs[i] = m;
	}
	out->network_logs = r->net_ptrs;
	out->n_network_logs = res->n_network_logs;
	return 0;
}

static void result_fill(struct isol8_service_result *r)
{
	const struct isol8_exec_result *res = &r->run;
	Isol8__V1__ExecuteResult *out = &r->message;

	/* as the original: a run ended at its timeout exits 137 */
	out->exit_code = res->timed_out ? 128 + SIGKILL : res->exit_code;
	out->signal = res->timed_out ? SIGKILL : res->signal;
	out->duration_ms = res->duration_ms;
	out->truncated = res->truncated || r->truncated || res->truncated_files;
	out->timed_out = res->timed_out;
	out->oom_killed = res->oom_killed;
	out->state_reset = res->state_reset;
	out->session_id = (char *)res->session_id;
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
	r->timings.queue_us = res->phases.queue_us;
	r->timings.acquire_us = res->phases.acquire_us;
	r->timings.cold = res->phases.cold;
	r->timings.prestarted = res->phases.prestarted;
	r->timings.exec_us = res->phases.exec_us;
	r->timings.first_output_us = res->phases.first_output_us;
	r->timings.release_us = res->phases.release_us;
	out->timings = &r->timings;
}

static void log_execution(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_result *res,
			  const struct isol8_error *err, int64_t started_ms, bool metadata_valid)
{
	_cleanup_free_ char *meta = metadata_valid ? isol8_service_metadata_format(req) : NULL;

	if (err->code != 0) {
		isol8_log(ISOL8_LOG_WARN, "execute runtime=%s error=%s msg=%s ms=%lld%s", ISOL8_LOG_Q(req->runtime),
			  isol8_error_code_name(err->code), ISOL8_LOG_Q(err->message),
			  (long long)(isol8_now_ms() - started_ms), meta ? meta : "");
		return;
	}
	isol8_log(ISOL8_LOG_INFO,
		  "execute id=%s runtime=%s exit=%d timed_out=%d truncated=%d run_ms=%lld total_ms=%lld%s",
		  res->execution_id, res->runtime, res->exit_code, res->timed_out, res->truncated,
		  (long long)res->duration_ms, (long long)(isol8_now_ms() - started_ms), meta ? meta : "");
	if (isol8_log_enabled(ISOL8_LOG_DEBUG)) {
		const struct isol8_exec_phases *p = &res->phases;
		isol8_log(ISOL8_LOG_DEBUG,
			  "phases id=%s queue_us=%lld acquire_us=%lld cold=%d prestarted=%d exec_us=%lld "
			  "first_output_us=%lld release_us=%lld",
			  res->execution_id, (long long)p->queue_us, (long long)p->acquire_us, p->cold, p->prestarted,
			  (long long)p->exec_us, (long long)p->first_output_us, (long long)p->release_us);
	}
}

int isol8_service_execute(struct isol8_service *s, const Isol8__V1__ExecuteRequest *req, bool local,
			  const struct isol8_service_output *output, struct isol8_service_result *res,
			  struct isol8_error *err)
{
	struct isol8_exec_sink sink = {.on_output = output->on_output, .cancelled = output->cancelled,
				       .userdata = output->userdata, .next_input = output->next_input,
				       .input_fd = output->input_fd, .input_userdata = output->input_userdata};
	bool gathered = output->on_output == NULL, metadata_valid;
	int64_t started = isol8_now_ms();
	int ret;

	memset(res, 0, sizeof(*res));
	isol8__v1__execute_result__init(&res->message);
	isol8__v1__resource_usage__init(&res->usage);
	isol8__v1__engine_timings__init(&res->timings);
	res->output = output;
	if (gathered)
		sink = (struct isol8_exec_sink){.on_output = gather_output, .cancelled = gather_cancelled,
						.files_room = gather_room, .userdata = res};
	/* the metadata is the log's: checked here, never passed on */
	metadata_valid = isol8_service_metadata_check(req, err) == 0;
	ret = metadata_valid ? isol8_engine_execute(s->engine, req, local, &sink, &res->run, err) : -err->code;
	if (ret == 0) {
		int done = gathered ? gathered_finish(res) : streamed_finish(res);
		if (done == 0)
			done = result_files(res);
		if (done == 0)
			done = result_network_logs(res);
		if (done == -ISOL8_E_NOMEM)
			ret = isol8_error_set(err, ISOL8_E_NOMEM, "out of memory building the result");
		else if (done < 0)
			ret = isol8_error_set(err, ISOL8_E_CANCELLED, "the caller went away");
	}
	if (ret == 0)
		result_fill(res);
	log_execution(req, &res->run, err, started, metadata_valid);
	return ret;
}

void isol8_service_result_release(struct isol8_service_result *res)
{
	free(res->gathered[0]);
	free(res->gathered[1]);
	res->gathered[0] = res->gathered[1] = NULL;
	free(res->file_entries);
	free(res->file_ptrs);
	res->file_entries = NULL;
	res->file_ptrs = NULL;
	free(res->net_entries);
	free(res->net_ptrs);
	res->net_entries = NULL;
	res->net_ptrs = NULL;
	isol8_exec_result_release(&res->run);
}
