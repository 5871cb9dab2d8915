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
#include "cli/output.h"
#include "cli/run_args.h"
#include "base/util.h"

/* Where output goes: fd 1 and 2, and --out for stdout; what the stream
 * said besides output, and the client's own timings for --debug. */
struct sink {
	int out_fd; /* -1 without --out */
	const char *out_path;
	bool saw_error;        /* a stream `error` event was printed */
	int64_t started_ns;    /* the call started */
	int64_t first_out_ns;  /* first output arrived, 0 before */
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

static int write_stdout(struct sink *sink, const void *data, size_t len, struct isol8_error *err)
{
	int ret;

	if (sink->first_out_ns == 0 && len > 0)
		sink->first_out_ns = now_ns();
	ret = isol8_cli_write(STDOUT_FILENO, "stdout", data, len, err);
	if (ret == 0 && sink->out_fd >= 0)
		ret = isol8_cli_write(sink->out_fd, sink->out_path, data, len, err);
	return ret;
}

static int write_stderr(struct sink *sink, const void *data, size_t len, struct isol8_error *err)
{
	if (sink->first_out_ns == 0 && len > 0)
		sink->first_out_ns = now_ns();
	return isol8_cli_write(STDERR_FILENO, "stderr", data, len, err);
}

/* One event before the exit: output written as it arrives. An error event
 * without a code is the daemon's word on what ended the run early
 * ("EXECUTION TIMED OUT"), printed as the original's CLI prints it; one
 * with a code is the call's failure. */
static int handle_event(struct sink *sink, const struct isol8_event *ev, struct isol8_error *err)
{
	if (ev->type == ISOL8_EVENT_STDOUT)
		return write_stdout(sink, ev->data, ev->size, err);
	if (ev->type == ISOL8_EVENT_STDERR)
		return write_stderr(sink, ev->data, ev->size, err);
	if (ev->type != ISOL8_EVENT_ERROR)
		return 0;
	if (ev->code != 0)
		return isol8_error_set(err, ev->code, "%s", ev->data);
	isol8_cli_say("%s", ev->data != NULL && ev->data[0] != '\0' ? ev->data : "the execution failed");
	sink->saw_error = true;
	return 0;
}

/* Reads a stream's events up to its exit; *res is the exit's result, valid
 * while st is. */
static int read_stream(struct isol8_stream *st, struct sink *sink, const struct isol8_result **res,
		       struct isol8_error *err)
{
	struct isol8_event ev;
	int ret;

	while ((ret = isol8_stream_next(st, &ev, err)) > 0) {
		if (ev.type == ISOL8_EVENT_EXIT) {
			*res = ev.result;
			return 0;
		}
		ret = handle_event(sink, &ev, err);
		if (ret < 0)
			return ret;
	}
	return ret < 0 ? ret : isol8_error_set(err, ISOL8_E_PROTOCOL, "the stream ended without a result");
}

/* A streamed execution, with the terminal's input when interactive. */
static int run_stream(struct isol8_client *c, const struct isol8_cli_run *run, struct sink *sink,
		      struct isol8_stream **st, const struct isol8_result **res, struct isol8_error *err)
{
	struct isol8_cli_input *in = NULL;
	int ret;

	if (!run->interactive) {
		ret = isol8_stream_open(st, c, &run->req, err);
		return ret < 0 ? ret : read_stream(*st, sink, res, err);
	}
	ret = isol8_interactive_open(st, c, &run->req, err);
	if (ret == 0)
		ret = isol8_cli_input_start(&in, *st, run->tty, err);
	if (ret == 0)
		ret = read_stream(*st, sink, res, err);
	isol8_cli_input_stop(in);
	return ret;
}

/* Everything printed at the end. */
static int run_unary(struct isol8_client *c, const struct isol8_cli_run *run, struct sink *sink,
		     struct isol8_result **out, struct isol8_error *err)
{
	int ret = isol8_execute(c, &run->req, out, err);
	const struct isol8_result *res = *out;

	if (ret < 0)
		return ret;
	/* Buffered results come trimmed: the terminal gets a last newline, as
	 * the original's console.log gives; --out gets the output as it is. */
	ret = write_stdout(sink, res->stdout_data, res->stdout_size, err);
	if (ret == 0 && res->stdout_size > 0 && res->stdout_data[res->stdout_size - 1] != '\n')
		ret = isol8_cli_write(STDOUT_FILENO, "stdout", "\n", 1, err);
	if (ret == 0)
		ret = write_stderr(sink, res->stderr_data, res->stderr_size, err);
	if (ret == 0 && res->stderr_size > 0 && res->stderr_data[res->stderr_size - 1] != '\n')
		ret = isol8_cli_write(STDERR_FILENO, "stderr", "\n", 1, err);
	return ret;
}

static const char *or_none(const char *text)
{
	return text != NULL && text[0] != '\0' ? text : "(none)";
}

/* [DEBUG] lines about the request, before it is sent. */
static void debug_request(const struct isol8_cli_run *run)
{
	const struct isol8_request *req = &run->req;

	isol8_cli_log(ISOL8_CLI_DEBUG, "runtime %s, %s, %s", or_none(req->runtime), run->no_stream ? "buffered" : "streamed",
		      req->cmd != NULL	       ? "cmd"
		      : req->code_url != NULL ? "code from a URL"
					      : "inline/file/stdin code");
	if (req->code != NULL)
		isol8_cli_log(ISOL8_CLI_DEBUG, "code length: %zu bytes", strlen(req->code));
	if (req->setup_script != NULL)
		isol8_cli_log(ISOL8_CLI_DEBUG, "setup script: %zu bytes", strlen(req->setup_script));
	if (req->n_files > 0)
		isol8_cli_log(ISOL8_CLI_DEBUG, "files: %zu from %s", req->n_files, run->files_dir);
	if (req->session_id != NULL)
		isol8_cli_log(ISOL8_CLI_DEBUG, "session: %s (kept after this call)", req->session_id);
	isol8_cli_log(ISOL8_CLI_DEBUG,
		      "options set: timeout %s, memory %s, cpu %s, pids %s (unset: the daemon's "
		      "default)",
		      req->timeout_ms > 0 ? "yes" : "unset",
		      run->options.memory_limit != NULL ? run->options.memory_limit : "unset",
		      run->options.cpu_limit > 0 ? "yes" : "unset", run->options.pids_limit > 0 ? "yes" : "unset");
}

/* [DEBUG] lines about the result and the client's timings. */
static void debug_result(const struct isol8_result *res, const struct sink *sink, int64_t start_ns,
			 int64_t connected_ns, int64_t end_ns)
{
	isol8_cli_log(ISOL8_CLI_DEBUG, "execution %s, runtime %s, container %.12s, session %s",
		      or_none(res->execution_id), or_none(res->runtime), or_none(res->container_id),
		      or_none(res->session_id));
	isol8_cli_log(ISOL8_CLI_DEBUG,
		      "exit code %d, signal %d, timed out %s, oom killed %s, truncated %s, %lld ms "
		      "in the sandbox",
		      res->exit_code, res->signal, res->timed_out ? "yes" : "no",
		      res->oom_killed ? "yes" : "no", res->truncated ? "yes" : "no",
		      (long long)res->duration_ms);
	if (res->has_usage)
		isol8_cli_log(ISOL8_CLI_DEBUG, "cpu %lld ms user, %lld ms system; max rss %lld KiB",
			      (long long)res->cpu_user_ms, (long long)res->cpu_system_ms, (long long)res->max_rss_kb);
	isol8_cli_log(ISOL8_CLI_DEBUG,
		      "engine: %s sandbox, %s interpreter; queue %.1f ms, acquire %.1f ms, exec %.1f ms "
		      "(first output %.1f ms), release %.1f ms",
		      res->timings.cold ? "new" : "pooled", res->timings.prestarted ? "pre-started" : "fresh",
		      (double)res->timings.queue_us / 1000, (double)res->timings.acquire_us / 1000,
		      (double)res->timings.exec_us / 1000, (double)res->timings.first_output_us / 1000,
		      (double)res->timings.release_us / 1000);
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
	if (run->options.log_network && (run->options.network == NULL || strcmp(run->options.network, "filtered") != 0))
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
	if (err->code == ISOL8_E_UNIMPLEMENTED && run->req.session_id != NULL) {
		isol8_cli_say("--session-id %s: this isol8d does not serve sessions yet (%s)",
			      run->req.session_id, err->message);
		return ISOL8_CLI_EXIT_ERROR;
	}
	return isol8_cli_call_failed(err, conn);
}

/* shell --session NAME without --runtime runs in the session's runtime (a
 * call with another would be refused): asked of the daemon; a session that
 * does not exist yet is made with bash. */
static int adopt_session_runtime(struct isol8_client *c, struct isol8_cli_run *run,
				 const struct isol8_cli_conn *conn)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct isol8_session_info *list = NULL;
	size_t n = 0;

	if (isol8_list_sessions(c, &list, &n, &err) < 0)
		return isol8_cli_call_failed(&err, conn);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(list[i].id, run->req.session_id) == 0) {
			snprintf(run->session_runtime, sizeof(run->session_runtime), "%s", list[i].runtime);
			run->req.runtime = run->session_runtime;
		}
	}
	isol8_session_infos_free(list, n);
	return 0;
}

/* `isol8 run` and `isol8 shell`: their flags by parse, then one call. */
static int run_verb(int argc, char **argv, parse_fn parse, void (*usage)(FILE *out))
{
	__attribute__((cleanup(run_freep))) struct isol8_cli_run run;
	_cleanup_client_ struct isol8_client *c = NULL;
	_cleanup_result_ struct isol8_result *buffered = NULL;
	_cleanup_stream_ struct isol8_stream *st = NULL;
	_cleanup_close_ int out_fd = -1;
	const struct isol8_result *res = NULL;
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
	status = isol8_cli_open(&c, &conn);
	if (status == 0 && run.runtime_from_session)
		status = adopt_session_runtime(c, &run, &conn);
	if (status != 0)
		return status;
	connected_ns = now_ns();
	sink.started_ns = connected_ns;
	/* --persistent: one run in this call, so its sandbox is this run's own,
	 * removed at its end (the daemon's ephemeral run) -- a normal run. */
	if (run.no_stream) {
		ret = run_unary(c, &run, &sink, &buffered, &err);
		res = buffered;
	} else {
		ret = run_stream(c, &run, &sink, &st, &res, &err);
	}
	if (ret < 0)
		return call_failed(&run, &conn, &err);
	if (run.debug)
		debug_result(res, &sink, start_ns, connected_ns, now_ns());
	isol8_cli_network_logs(res);
	isol8_cli_result_notes(res, sink.saw_error);
	if (run.options.persist && res->container_id != NULL && res->container_id[0] != '\0')
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
