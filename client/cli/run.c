/* `isol8 run`: one execution, streamed as it happens (or printed at the end). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/interactive.h"
#include "isol8/v1/admin.rpc.h"
#include "isol8/v1/isol8.rpc.h"
#include "cli/output.h"
#include "cli/run_args.h"
#include "base/util.h"

/* The RPC deadline beyond the execution timeout: room for sandbox creation,
 * package installs and fetching code. */
#define DEADLINE_MARGIN_MS (5 * 60 * 1000)

/* Where output goes: fd 1 and 2, and --out for stdout; what the stream
 * said besides output, and the client's own timings for --debug. */
struct sink {
	int out_fd; /* -1 without --out */
	const char *out_path;
	bool saw_error;        /* a stream `error` event was printed */
	int64_t started_ns;    /* the call started */
	int64_t first_out_ns;  /* first output arrived, 0 before */
	Isol8__V1__ExecuteResult *result; /* a stream's exit, until it is handed on */
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static double ms_since(int64_t start_ns, int64_t end_ns)
{
	return (double)(end_ns - start_ns) / 1e6;
}

static void run_freep(struct isol8_cli_run *run)
{
	isol8_cli_run_free(run);
}

static int deadline_ms(const struct isol8_cli_run *run)
{
	/* Without --timeout the daemon's configured timeout holds; the CLI does
	 * not guess it, and waits for the daemon's answer. */
	if (run->req.timeout_ms <= 0 || run->req.timeout_ms > INT_MAX - DEADLINE_MARGIN_MS)
		return 0; /* no deadline */
	return (int)run->req.timeout_ms + DEADLINE_MARGIN_MS;
}

static int write_stdout(struct sink *sink, const ProtobufCBinaryData *data,
			struct isol8_error *err)
{
	int ret;

	if (sink->first_out_ns == 0 && data->len > 0)
		sink->first_out_ns = now_ns();
	ret = isol8_cli_write(STDOUT_FILENO, "stdout", data->data, data->len, err);

	if (ret == 0 && sink->out_fd >= 0)
		ret = isol8_cli_write(sink->out_fd, sink->out_path, data->data, data->len, err);
	return ret;
}

static int write_stderr(struct sink *sink, const ProtobufCBinaryData *data,
			struct isol8_error *err)
{
	if (sink->first_out_ns == 0 && data->len > 0)
		sink->first_out_ns = now_ns();
	return isol8_cli_write(STDERR_FILENO, "stderr", data->data, data->len, err);
}

/* A stream's `error` event, printed as the original's CLI prints one. */
static void show_stream_error(struct sink *sink, const char *text)
{
	isol8_cli_say("%s", text != NULL && text[0] != '\0' ? text : "the execution failed");
	sink->saw_error = true;
}

/* One event of a stream (ExecuteStream's or ExecuteInteractive's): output
 * written as it arrives; the exit kept in sink->result. */
static int handle_event(void *userdata, Isol8__V1__ExecuteEvent *ev, struct isol8_error *err)
{
	struct sink *sink = userdata;

	if (ev->event_case == ISOL8__V1__EXECUTE_EVENT__EVENT_STDOUT)
		return write_stdout(sink, &ev->stdout, err);
	if (ev->event_case == ISOL8__V1__EXECUTE_EVENT__EVENT_STDERR)
		return write_stderr(sink, &ev->stderr, err);
	if (ev->event_case == ISOL8__V1__EXECUTE_EVENT__EVENT_ERROR)
		show_stream_error(sink, ev->error);
	else if (ev->event_case == ISOL8__V1__EXECUTE_EVENT__EVENT_EXIT && ev->exit != NULL) {
		if (sink->result != NULL)
			protobuf_c_message_free_unpacked(&sink->result->base, NULL);
		sink->result = ev->exit; /* detach it from the event */
		ev->exit = NULL;
		ev->event_case = ISOL8__V1__EXECUTE_EVENT__EVENT__NOT_SET;
	}
	return 0;
}

/* The result of a stream that ended (ret), into *out. */
static int stream_result(struct sink *sink, int ret, Isol8__V1__ExecuteResult **out, struct isol8_error *err)
{
	if (ret == 0 && sink->result == NULL)
		ret = isol8_error_set(err, ISOL8_E_PROTOCOL, "the stream ended without a result");
	if (ret < 0) {
		if (sink->result != NULL)
			protobuf_c_message_free_unpacked(&sink->result->base, NULL);
		sink->result = NULL;
		return ret;
	}
	*out = sink->result;
	sink->result = NULL;
	return 0;
}

/* ExecuteStream: output written as each event arrives; *out gets the result. */
static int run_streaming(struct isol8_rpc_channel *ch, const struct isol8_cli_run *run,
			 struct sink *sink, Isol8__V1__ExecuteResult **out,
			 struct isol8_error *err)
{
	_cleanup_stream_ struct isol8_rpc_stream *st = NULL;
	int ret;

	ret = isol8__v1__isol8__execute_stream__start(&st, ch, &run->req, deadline_ms(run), err);
	if (ret < 0)
		return ret;
	for (;;) {
		_cleanup_message_ Isol8__V1__ExecuteEvent *ev = NULL;

		ret = isol8__v1__isol8__execute_stream__read(st, &ev, err);
		if (ret <= 0)
			break;
		ret = handle_event(sink, ev, err);
		if (ret < 0)
			break;
	}
	return stream_result(sink, ret, out, err);
}

/* ExecuteInteractive: the same events, with the terminal's input. */
static int run_interactive(struct isol8_rpc_channel *ch, struct isol8_cli_run *run, struct sink *sink,
			   Isol8__V1__ExecuteResult **out, struct isol8_error *err)
{
	int ret = isol8_cli_interactive(ch, &run->req, deadline_ms(run), handle_event, sink, err);

	return stream_result(sink, ret, out, err);
}

/* Execute: everything printed at the end. */
static int run_unary(struct isol8_rpc_channel *ch, const struct isol8_cli_run *run,
		     struct sink *sink, Isol8__V1__ExecuteResult **out, struct isol8_error *err)
{
	int ret = isol8__v1__isol8__execute__call(ch, &run->req, out, deadline_ms(run), err);
	const ProtobufCBinaryData *o;
	const ProtobufCBinaryData *e;

	if (ret < 0)
		return ret;
	o = &(*out)->stdout;
	e = &(*out)->stderr;
	/* Buffered results come trimmed: the terminal gets a last newline, as
	 * the original's console.log gives; --out gets the output as it is. */
	ret = write_stdout(sink, o, err);
	if (ret == 0 && o->len > 0 && o->data[o->len - 1] != '\n')
		ret = isol8_cli_write(STDOUT_FILENO, "stdout", "\n", 1, err);
	if (ret == 0)
		ret = write_stderr(sink, e, err);
	if (ret == 0 && e->len > 0 && e->data[e->len - 1] != '\n')
		ret = isol8_cli_write(STDERR_FILENO, "stderr", "\n", 1, err);
	return ret;
}

/* [DEBUG] lines about the request, before it is sent. */
static void debug_request(const struct isol8_cli_run *run)
{
	const Isol8__V1__ExecuteRequest *req = &run->req;

	isol8_cli_log(ISOL8_CLI_DEBUG, "runtime %s, %s, %s", req->runtime,
		      run->no_stream ? "buffered" : "streamed",
		      req->cmd[0] != '\0'	    ? "cmd"
		      : req->code_url[0] != '\0' ? "code from a URL"
						 : "inline/file/stdin code");
	if (req->code[0] != '\0')
		isol8_cli_log(ISOL8_CLI_DEBUG, "code length: %zu bytes", strlen(req->code));
	if (req->setup_script[0] != '\0')
		isol8_cli_log(ISOL8_CLI_DEBUG, "setup script: %zu bytes", strlen(req->setup_script));
	if (req->n_files > 0)
		isol8_cli_log(ISOL8_CLI_DEBUG, "files: %zu from %s", req->n_files, run->files_dir);
	if (req->session_id[0] != '\0')
		isol8_cli_log(ISOL8_CLI_DEBUG, "session: %s (kept after this call)", req->session_id);
	isol8_cli_log(ISOL8_CLI_DEBUG,
		      "options set: timeout %s, memory %s, cpu %s, pids %s (unset: the daemon's "
		      "default)",
		      req->timeout_ms > 0 ? "yes" : "unset",
		      run->options.memory_limit[0] != '\0' ? run->options.memory_limit : "unset",
		      run->options.cpu_limit > 0 ? "yes" : "unset",
		      run->options.pids_limit > 0 ? "yes" : "unset");
}

/* [DEBUG] lines about the result and the client's timings. */
static void debug_result(const Isol8__V1__ExecuteResult *res, const struct sink *sink,
			 int64_t start_ns, int64_t connected_ns, int64_t end_ns)
{
	isol8_cli_log(ISOL8_CLI_DEBUG, "execution %s, runtime %s, container %.12s, session %s",
		      res->execution_id, res->runtime, res->container_id,
		      res->session_id[0] != '\0' ? res->session_id : "(none)");
	isol8_cli_log(ISOL8_CLI_DEBUG,
		      "exit code %d, signal %d, timed out %s, oom killed %s, truncated %s, %lld ms "
		      "in the sandbox",
		      res->exit_code, res->signal, res->timed_out ? "yes" : "no",
		      res->oom_killed ? "yes" : "no", res->truncated ? "yes" : "no",
		      (long long)res->duration_ms);
	if (res->resource_usage != NULL)
		isol8_cli_log(ISOL8_CLI_DEBUG, "cpu %lld ms user, %lld ms system; max rss %lld KiB",
			      (long long)res->resource_usage->cpu_user_ms,
			      (long long)res->resource_usage->cpu_system_ms,
			      (long long)res->resource_usage->max_rss_kb);
	if (res->timings != NULL) {
		const Isol8__V1__EngineTimings *t = res->timings;
		isol8_cli_log(ISOL8_CLI_DEBUG,
			      "engine: %s sandbox, %s interpreter; queue %.1f ms, acquire %.1f ms, exec %.1f ms "
			      "(first output %.1f ms), release %.1f ms",
			      t->cold ? "new" : "pooled", t->prestarted ? "pre-started" : "fresh",
			      (double)t->queue_us / 1000, (double)t->acquire_us / 1000, (double)t->exec_us / 1000,
			      (double)t->first_output_us / 1000, (double)t->release_us / 1000);
	}
	if (sink->first_out_ns != 0)
		isol8_cli_log(ISOL8_CLI_DEBUG,
			      "client timings: connect %.1f ms, first output %.1f ms, call %.1f ms, "
			      "total %.1f ms",
			      ms_since(start_ns, connected_ns),
			      ms_since(sink->started_ns, sink->first_out_ns),
			      ms_since(sink->started_ns, end_ns), ms_since(start_ns, end_ns));
	else
		isol8_cli_log(ISOL8_CLI_DEBUG,
			      "client timings: connect %.1f ms, call %.1f ms (no output), total "
			      "%.1f ms",
			      ms_since(start_ns, connected_ns), ms_since(sink->started_ns, end_ns),
			      ms_since(start_ns, end_ns));
}

typedef int (*parse_fn)(struct isol8_cli_run *run, int argc, char **argv, struct isol8_error *err);

/* Reads flags and code into run; 0 or an exit status to stop with. */
static int prepare(struct isol8_cli_run *run, int argc, char **argv, parse_fn parse, void (*usage)(FILE *out))
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (parse(run, argc, argv, &err) < 0)
		return isol8_cli_fail(&err);
	if (run->help) {
		usage(stdout);
		return -1;
	}
	if (isol8_cli_run_load_code(run, STDIN_FILENO, isatty(STDIN_FILENO) == 1, &err) < 0 ||
	    isol8_cli_run_finish(run, &err) < 0)
		return isol8_cli_fail(&err);
	if (run->options.log_network && strcmp(run->options.network, "filtered") != 0)
		isol8_cli_log(ISOL8_CLI_WARN, "--log-network logs only with --net filtered");
	return 0;
}

static int open_out(const char *path, int *fd)
{
	*fd = -1;
	if (path == NULL)
		return 0;
	*fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY, 0644);
	if (*fd < 0) {
		isol8_cli_say("cannot open %s: %s", path, strerror(errno));
		return ISOL8_CLI_EXIT_ERROR;
	}
	return 0;
}

/* The error of a failed call, with what the user can do about it. */
static int call_failed(const struct isol8_cli_run *run, const struct isol8_cli_conn *conn,
		       struct isol8_error *err)
{
	if (err->code == ISOL8_E_UNIMPLEMENTED && run->req.session_id[0] != '\0') {
		isol8_cli_say("--session-id %s: this isol8d does not serve sessions yet (%s)",
			      run->req.session_id, err->message);
		return ISOL8_CLI_EXIT_ERROR;
	}
	return isol8_cli_call_failed(err, conn);
}

/* shell --session NAME without --runtime runs in the session's runtime (a
 * call with another would be refused): asked of the daemon; a session that
 * does not exist yet is made with bash. */
static int adopt_session_runtime(struct isol8_rpc_channel *ch, struct isol8_cli_run *run,
				 const struct isol8_cli_conn *conn)
{
	Isol8__V1__ListSessionsRequest req = ISOL8__V1__LIST_SESSIONS_REQUEST__INIT;
	_cleanup_message_ Isol8__V1__ListSessionsResult *res = NULL;
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (isol8__v1__admin__list_sessions__call(ch, &req, &res, 10000, &err) < 0)
		return isol8_cli_call_failed(&err, conn);
	for (size_t i = 0; i < res->n_sessions; i++) {
		if (strcmp(res->sessions[i]->id, run->req.session_id) == 0) {
			snprintf(run->session_runtime, sizeof(run->session_runtime), "%s", res->sessions[i]->runtime);
			run->req.runtime = run->session_runtime;
		}
	}
	return 0;
}

/* `isol8 run` and `isol8 shell`: their flags by parse, then one call. */
static int run_verb(int argc, char **argv, parse_fn parse, void (*usage)(FILE *out))
{
	__attribute__((cleanup(run_freep))) struct isol8_cli_run run;
	_cleanup_channel_ struct isol8_rpc_channel *ch = NULL;
	_cleanup_message_ Isol8__V1__ExecuteResult *res = NULL;
	_cleanup_close_ int out_fd = -1;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int64_t start_ns = now_ns();
	int64_t connected_ns;
	struct sink sink;
	int status;
	int ret;

	isol8_cli_run_init(&run);
	status = prepare(&run, argc, argv, parse, usage);
	if (status != 0)
		return status < 0 ? 0 : status;
	status = open_out(run.out_path, &out_fd);
	if (status != 0)
		return status;
	sink = (struct sink){.out_fd = out_fd, .out_path = run.out_path};
	struct isol8_cli_conn conn = {run.host, run.key, run.debug};
	if (run.debug)
		debug_request(&run);
	status = isol8_cli_open(&ch, &conn);
	if (status == 0 && run.runtime_from_session)
		status = adopt_session_runtime(ch, &run, &conn);
	if (status != 0)
		return status;
	connected_ns = now_ns();
	sink.started_ns = connected_ns;
	/* --persistent: one run in this call, so its sandbox is this run's own,
	 * removed at its end (the daemon's ephemeral run) -- a normal run. */
	if (run.no_stream)
		ret = run_unary(ch, &run, &sink, &res, &err);
	else if (run.interactive)
		ret = run_interactive(ch, &run, &sink, &res, &err);
	else
		ret = run_streaming(ch, &run, &sink, &res, &err);
	if (ret < 0)
		return call_failed(&run, &conn, &err);
	if (run.debug)
		debug_result(res, &sink, start_ns, connected_ns, now_ns());
	isol8_cli_result_notes(res, sink.saw_error);
	if (run.options.persist && res->container_id[0] != '\0')
		isol8_cli_log(ISOL8_CLI_INFO, "Container kept: %s (`isol8 cleanup` removes it)",
			      res->container_id);
	if (run.out_path != NULL && run.debug)
		isol8_cli_log(ISOL8_CLI_DEBUG, "Output written to %s", run.out_path);
	isol8_cli_quick_exit(isol8_cli_exit_status(res));
	return isol8_cli_exit_status(res);
}

int isol8_cli_run_main(int argc, char **argv)
{
	return run_verb(argc, argv, isol8_cli_run_parse, isol8_cli_run_usage);
}

int isol8_cli_shell_main(int argc, char **argv)
{
	return run_verb(argc, argv, isol8_cli_shell_parse, isol8_cli_shell_usage);
}
