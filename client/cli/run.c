/* `isol8 run`: one execution, streamed as it happens (or printed at the end). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "isol8/v1/isol8.rpc.h"
#include "cli/output.h"
#include "cli/run_args.h"
#include "base/util.h"

/* The RPC deadline beyond the execution timeout: room for sandbox creation,
 * package installs and fetching code. */
#define DEADLINE_MARGIN_MS (5 * 60 * 1000)

/* Where output goes: fd 1 and 2, and --out for stdout. */
struct sink {
	int out_fd; /* -1 without --out */
	const char *out_path;
};

static void run_freep(struct isol8_cli_run *run)
{
	isol8_cli_run_free(run);
}

static int deadline_ms(const struct isol8_cli_run *run)
{
	if (run->req.timeout_ms > INT_MAX - DEADLINE_MARGIN_MS)
		return 0; /* no deadline */
	return (int)run->req.timeout_ms + DEADLINE_MARGIN_MS;
}

static int write_stdout(const struct sink *sink, const ProtobufCBinaryData *data,
			struct isol8_error *err)
{
	int ret = isol8_cli_write(STDOUT_FILENO, "stdout", data->data, data->len, err);

	if (ret == 0 && sink->out_fd >= 0)
		ret = isol8_cli_write(sink->out_fd, sink->out_path, data->data, data->len, err);
	return ret;
}

static int write_stderr(const ProtobufCBinaryData *data, struct isol8_error *err)
{
	return isol8_cli_write(STDERR_FILENO, "stderr", data->data, data->len, err);
}

/* ExecuteStream: output written as each event arrives; *out gets the result. */
static int run_streaming(struct isol8_rpc_channel *ch, const struct isol8_cli_run *run,
			 const struct sink *sink, Isol8__V1__ExecuteResult **out,
			 struct isol8_error *err)
{
	_cleanup_stream_ struct isol8_rpc_stream *st = NULL;
	Isol8__V1__ExecuteResult *result = NULL;
	int ret;

	ret = isol8__v1__isol8__execute_stream__start(&st, ch, &run->req, deadline_ms(run), err);
	if (ret < 0)
		return ret;
	for (;;) {
		_cleanup_message_ Isol8__V1__ExecuteEvent *ev = NULL;

		ret = isol8__v1__isol8__execute_stream__read(st, &ev, err);
		if (ret <= 0)
			break;
		if (ev->event_case == ISOL8__V1__EXECUTE_EVENT__EVENT_STDOUT)
			ret = write_stdout(sink, &ev->stdout, err);
		else if (ev->event_case == ISOL8__V1__EXECUTE_EVENT__EVENT_STDERR)
			ret = write_stderr(&ev->stderr, err);
		else if (ev->event_case == ISOL8__V1__EXECUTE_EVENT__EVENT_EXIT && ev->exit != NULL) {
			if (result != NULL)
				protobuf_c_message_free_unpacked(&result->base, NULL);
			result = ev->exit; /* detach it from the event */
			ev->exit = NULL;
			ev->event_case = ISOL8__V1__EXECUTE_EVENT__EVENT__NOT_SET;
		}
		if (ret < 0)
			break;
	}
	if (ret == 0 && result == NULL)
		ret = isol8_error_set(err, ISOL8_E_PROTOCOL, "the stream ended without a result");
	if (ret < 0) {
		if (result != NULL)
			protobuf_c_message_free_unpacked(&result->base, NULL);
		return ret;
	}
	*out = result;
	return 0;
}

/* Execute: everything printed at the end. */
static int run_unary(struct isol8_rpc_channel *ch, const struct isol8_cli_run *run,
		     const struct sink *sink, Isol8__V1__ExecuteResult **out,
		     struct isol8_error *err)
{
	int ret = isol8__v1__isol8__execute__call(ch, &run->req, out, deadline_ms(run), err);

	if (ret < 0)
		return ret;
	ret = write_stdout(sink, &(*out)->stdout, err);
	if (ret == 0)
		ret = write_stderr(&(*out)->stderr, err);
	return ret;
}

static void print_debug(const Isol8__V1__ExecuteResult *res)
{
	isol8_cli_say("debug: execution %s, runtime %s, container %.12s, session %s",
		      res->execution_id, res->runtime, res->container_id,
		      res->session_id[0] != '\0' ? res->session_id : "(none)");
	isol8_cli_say("debug: exit code %d, signal %d, %lld ms", res->exit_code, res->signal,
		      (long long)res->duration_ms);
	if (res->resource_usage != NULL)
		isol8_cli_say("debug: cpu %lld ms user, %lld ms system; max rss %lld KiB",
			      (long long)res->resource_usage->cpu_user_ms,
			      (long long)res->resource_usage->cpu_system_ms,
			      (long long)res->resource_usage->max_rss_kb);
}

/* Reads flags and code into run; 0 or an exit status to stop with. */
static int prepare(struct isol8_cli_run *run, int argc, char **argv)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (isol8_cli_run_parse(run, argc, argv, &err) < 0)
		return isol8_cli_fail(&err);
	if (run->help) {
		isol8_cli_run_usage(stdout);
		return -1;
	}
	if (isol8_cli_run_load_code(run, STDIN_FILENO, isatty(STDIN_FILENO) == 1, &err) < 0 ||
	    isol8_cli_run_finish(run, &err) < 0)
		return isol8_cli_fail(&err);
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

int isol8_cli_run_main(int argc, char **argv)
{
	__attribute__((cleanup(run_freep))) struct isol8_cli_run run;
	_cleanup_channel_ struct isol8_rpc_channel *ch = NULL;
	_cleanup_message_ Isol8__V1__ExecuteResult *res = NULL;
	_cleanup_close_ int out_fd = -1;
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct sink sink;
	int status;
	int ret;

	isol8_cli_run_init(&run);
	status = prepare(&run, argc, argv);
	if (status != 0)
		return status < 0 ? 0 : status;
	status = open_out(run.out_path, &out_fd);
	if (status != 0)
		return status;
	sink = (struct sink){out_fd, run.out_path};
	struct isol8_cli_conn conn = {run.host, run.key, run.debug};
	status = isol8_cli_open(&ch, &conn);
	if (status != 0)
		return status;
	if (run.no_stream)
		ret = run_unary(ch, &run, &sink, &res, &err);
	else
		ret = run_streaming(ch, &run, &sink, &res, &err);
	if (ret < 0)
		return isol8_cli_fail(&err);
	if (run.debug)
		print_debug(res);
	isol8_cli_result_notes(res, run.req.timeout_ms, run.options.max_output_size);
	isol8_cli_quick_exit(isol8_cli_exit_status(res));
	return isol8_cli_exit_status(res);
}
