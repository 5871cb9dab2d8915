/*
 * One execution (isol8_engine_execute): the request resolved, a sandbox from
 * the registry, the setup script and the program through the agent, output
 * masked and capped on its way to the sink, output files read back, the
 * sandbox released. See engine.h.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "engine/engine.h"
#include "engine/engine_internal.h"
#include "engine/interactive.h"
#include "engine/launcher.h"
#include "engine/mask.h"
#include "engine/options.h"
#include "sandbox/agent_client.h"


/* Per-execution state handed to the agent client's callbacks. */
struct run {
	struct isol8_engine *engine;
	const struct isol8_exec_sink *sink;
	const Isol8__V1__ExecuteRequest *req;
	struct isol8_mask masks[2];
	int stream;                /* stream being emitted, for emit_masked */
	enum isol8_phase phase;    /* program being run */
	int64_t cap;               /* output cap, applied after masking */
	int64_t emitted;           /* bytes given to the sink */
	bool truncated;            /* the cap cut masked output */
	int64_t exec_start_us;
	int64_t first_output_us;   /* -1 until output comes */
	bool prestarted;           /* ran in a pre-started interpreter */
	struct isol8_input_relay relay; /* interactive: the sink's input to the code */
	struct isol8_session_call *session; /* a session's call, or NULL */
	bool plain;                /* this program runs as its own process, even in a session */
};

/* Masked output to the sink, within the cap: masking can lengthen output,
 * so the cap holds here too, cutting (never failing) what passes it. */
static int emit_masked(void *userdata, const uint8_t *data, size_t len)
{
	struct run *r = userdata;

	if (r->cap > 0 && (int64_t)len > r->cap - r->emitted) {
		len = (size_t)(r->cap - r->emitted);
		r->truncated = true;
	}
	if (len == 0)
		return 0;
	r->emitted += (int64_t)len;
	return r->sink->on_output(r->sink->userdata, r->phase, r->stream, data, len);
}

static int run_output(void *userdata, int stream, const uint8_t *data, size_t len)
{
	struct run *r = userdata;

	if (stream != 1 && stream != 2)
		return 0;
	if (r->first_output_us < 0)
		r->first_output_us = isol8_now_us() - r->exec_start_us;
	r->stream = stream;
	return isol8_mask_feed(&r->masks[stream - 1], data, len, emit_masked, r);
}

static bool caller_cancelled(void *userdata)
{
	const struct isol8_exec_sink *sink = userdata;
	return sink->cancelled != NULL && sink->cancelled(sink->userdata);
}

static bool run_cancelled(void *userdata)
{
	struct run *r = userdata;
	return atomic_load(&r->engine->shutting_down) || caller_cancelled((void *)r->sink) ||
	       (r->session != NULL && isol8_sessions_call_doomed(r->session));
}

static int run_next_input(void *userdata, isol8_frame *frame)
{
	struct run *r = userdata;
	return isol8_input_relay_next(&r->relay, frame);
}

static int setup_masks(struct isol8_mask *masks, size_t n, const Isol8__V1__ExecuteRequest *req,
		       struct isol8_error *err)
{
	const Isol8__V1__ExecutionOptions *o = req->options;
	int ret = 0;

	for (size_t i = 0; o && i < o->n_secrets && ret == 0; i++)
		for (size_t s = 0; s < n && ret == 0; s++)
			ret = isol8_mask_add(&masks[s], o->secrets[i]->value, err);
	return ret;
}

static void result_from_exit(struct isol8_exec_result *res, const struct isol8_agent_exit *x)
{
	res->exit_code = x->exit_code;
	res->signal = x->signal;
	res->timed_out = x->timed_out;
	res->truncated = res->truncated || x->truncated;
	res->oom_killed = x->oom_killed;
	res->state_reset = res->state_reset || x->state_reset;
	res->output_bytes += x->output_bytes;
	res->duration_ms += (int64_t)(x->duration_us / 1000);
	res->cpu_user_ms += (int64_t)(x->cpu_user_us / 1000);
	res->cpu_system_ms += (int64_t)(x->cpu_system_us / 1000);
	if ((int64_t)x->max_rss_kb > res->max_rss_kb)
		res->max_rss_kb = (int64_t)x->max_rss_kb;
}

/* Whether this run may use the sandbox's pre-started interpreter: the code
 * itself, from /sandbox, with no setup script before it and an
 * environment the launcher does not care about. */
static bool launcher_fits(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_options *opts)
{
	const Isol8__V1__ExecutionOptions *o = req->options;
	const char *names[ISOL8_EXEC_MAX_ENV];
	size_t n = 0;

	if (opts->shell_cmd || (req->setup_script && req->setup_script[0]) || strcmp(opts->workdir, "/sandbox") != 0 ||
	    req->tty)
		return false;
	for (size_t i = 0; i < req->n_env && n < ISOL8_EXEC_MAX_ENV; i++)
		names[n++] = req->env[i]->key;
	for (size_t i = 0; o && i < o->n_secrets && n < ISOL8_EXEC_MAX_ENV; i++)
		names[n++] = o->secrets[i]->key;
	return isol8_launcher_fits(isol8_launcher_find(opts->runtime->info->name), opts->code_path, names, n);
}

/* The agent exec: over the sandbox's waiting connection, in its pre-started
 * interpreter when it has one and the run fits it (the agent starts the
 * program the ordinary way if that interpreter is gone), else in a new
 * process. */
static int agent_exec(struct run *r, struct isol8_sandbox *sb, bool fits, const struct isol8_exec_spec *spec,
		      struct isol8_agent_exit *exit_status, struct isol8_error *err)
{
	struct isol8_agent_exec_io io = {run_output, run_cancelled, r, NULL, -1};
	bool interpreter = sb->launcher_running;
	int fd = sb->launcher_fd;

	/* input goes to the code only; a setup script's stdin is closed */
	if (spec->exec.stdin_open) {
		io.next_input = run_next_input;
		io.input_fd = r->sink->input_fd;
	}

	if (r->session != NULL && r->plain)
		return isol8_agent_exec(sb->socket, &spec->exec, &io, exit_status, err);
	if (r->session != NULL)
		return isol8_session_exec(sb, &spec->exec, &io, exit_status, err);

	sb->launcher_fd = -1;
	sb->launcher_running = false;
	if (fd >= 0 && (fits || !interpreter)) {
		r->prestarted = interpreter;
		return isol8_agent_exec_on(fd, &spec->exec, &io, exit_status, err);
	}
	if (fd >= 0)
		close(fd);
	return isol8_agent_exec(sb->socket, &spec->exec, &io, exit_status, err);
}

/* An interactive run: the code's stdin stays open for the sink's input,
 * on a terminal when the request asks for one. */
static void spec_interactive(const struct run *r, struct isol8_exec_spec *spec)
{
	const Isol8__V1__ExecuteRequest *req = r->req;

	if (r->sink->next_input == NULL)
		return;
	spec->exec.stdin_open = true;
	spec->exec.pty = req->tty;
	spec->exec.rows = req->window ? req->window->rows : 0;
	spec->exec.cols = req->window ? req->window->cols : 0;
}

/* The program (the interpreter, or bash) is not in the image's PATH: the
 * caller's env.PATH when it set one, else the image lacks it. */
static int explain_missing_program(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_spec *spec,
				   struct isol8_error *err)
{
	const char *program = spec->exec.n_argv ? spec->exec.argv[0] : "";

	isol8_error_clear(err);
	for (size_t i = 0; i < req->n_env; i++) {
		if (strcmp(req->env[i]->key, "PATH") == 0)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "env: the interpreter \"%s\" was not found on the given PATH \"%s\" "
					       "(leave PATH out, or include /usr/local/bin:/usr/bin:/bin)",
					       program, req->env[i]->value);
	}
	return isol8_error_set(err, ISOL8_E_PRECONDITION,
			       "the image has no \"%s\" on its PATH (options.image must be an image with the "
			       "runtime's interpreter; `isol8 setup` builds isol8's own)",
			       program);
}

/* Runs one program of the run in the leased sandbox and flushes what
 * masking held back. */
static int run_program(struct run *r, struct isol8_sandbox *sb, const struct isol8_exec_spec *spec, bool fits,
		       enum isol8_phase phase, struct isol8_agent_exit *exit_status, struct isol8_error *err)
{
	int ret;

	r->phase = phase;
	ret = agent_exec(r, sb, fits, spec, exit_status, err);
	if (ret < 0 && err->code == ISOL8_E_NOT_FOUND && strstr(err->message, "was not found on PATH") != NULL)
		ret = explain_missing_program(r->req, spec, err);
	for (int s = 0; ret == 0 && s < 2; s++) {
		r->stream = s + 1;
		ret = isol8_mask_flush(&r->masks[s], emit_masked, r);
		if (ret > 0 || (ret < 0 && err->code == 0))
			ret = isol8_error_set(err, ISOL8_E_CANCELLED, "output could not be delivered");
	}
	return ret;
}

/* Reading back output_paths: each file gathered whole, then masked. */

struct file_gather {
	uint8_t *data;
	size_t len, cap;
	size_t budget;             /* what every file together may still take */
};

static int gather_chunk(void *userdata, const uint8_t *data, size_t len)
{
	struct file_gather *g = userdata;
	size_t need;

	if (!isol8_size_add(g->len, len, &need) || need > g->budget)
		return -ISOL8_E_EXHAUSTED;
	if (need > g->cap) {
		size_t cap = g->cap ? g->cap : 4096;
		while (cap < need)
			cap *= 2;
		uint8_t *p = realloc(g->data, cap);
		if (p == NULL)
			return -ISOL8_E_NOMEM;
		g->data = p;
		g->cap = cap;
	}
	memcpy(g->data + g->len, data, len);
	g->len = need;
	return 0;
}

/* One output file, masked, appended to res->files; absent files are
 * skipped. A file whose masked content passes what the files may still
 * take is left out, and the result says truncated (and which). */
static int collect_file(struct isol8_sandbox *sb, const Isol8__V1__ExecuteRequest *req, const char *name,
			size_t *budget, struct isol8_exec_result *res, struct isol8_error *err)
{
	char path[ISOL8_SANDBOX_PATH_MAX];
	/* the entry's key and framing take room in the reply too */
	size_t entry = strlen(name) + 16;
	size_t room = *budget > entry ? *budget - entry : 0;
	struct file_gather raw = {.budget = room}, masked = {.budget = room};
	struct isol8_mask mask = {0};
	struct isol8_out_file *f = NULL;
	int ret = isol8_inputs_file_path("output_paths", name, path, sizeof(path), err);

	if (ret == 0)
		ret = isol8_agent_get_file(sb->socket, path, gather_chunk, &raw, err);
	if (ret < 0 && err->code != ISOL8_E_NOT_FOUND && err->code != ISOL8_E_EXHAUSTED && err->code != ISOL8_E_NOMEM &&
	    err->code != ISOL8_E_UNAVAILABLE)
		isol8_error_prefix(err, "output_paths: \"%s\" (a regular file, no link on its path)", name);
	if (ret == 0)
		ret = setup_masks(&mask, 1, req, err);
	if (ret == 0)
		ret = isol8_mask_feed(&mask, raw.data, raw.len, gather_chunk, &masked);
	if (ret == 0)
		ret = isol8_mask_flush(&mask, gather_chunk, &masked);
	isol8_mask_release(&mask);
	free(raw.data);
	if (ret == -ISOL8_E_EXHAUSTED || (ret < 0 && err->code == ISOL8_E_EXHAUSTED)) {
		/* past the room the reply has: left out, said in the result */
		if (!res->truncated_files)
			snprintf(res->files_left_out, sizeof(res->files_left_out), "%s", name);
		res->truncated_files = true;
		res->files_room = (int64_t)*budget;
		ret = 0;
		isol8_error_clear(err);
		free(masked.data);
		return 0;
	}
	if (ret < 0 && err->code == ISOL8_E_NOT_FOUND) {
		free(masked.data);
		isol8_error_clear(err);
		return 0;
	}
	if (ret == 0) {
		f = realloc(res->files, (res->n_files + 1) * sizeof(*res->files));
		if (f != NULL) {
			res->files = f;
			f = &res->files[res->n_files];
			f->path = strdup(name);
		}
		if (f == NULL || f->path == NULL)
			ret = isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	if (ret != 0) {
		free(masked.data);
		return ret > 0 || err->code == 0 ? isol8_error_set(err, ISOL8_E_NOMEM, "out of memory") : ret;
	}
	f->data = masked.data;
	f->len = masked.len;
	res->n_files++;
	*budget = room - masked.len;
	return 0;
}

/* The files the request names; they take at most what the reply has room
 * for after the output (the sink says), and ISOL8_OUT_FILES_MAX. */
static int collect_files(struct isol8_sandbox *sb, const Isol8__V1__ExecuteRequest *req,
			 const struct isol8_exec_sink *sink, struct isol8_exec_result *res, struct isol8_error *err)
{
	size_t budget = ISOL8_OUT_FILES_MAX;
	int ret = 0;
	size_t room = sink->files_room ? sink->files_room(sink->userdata) : budget;

	if (room < budget)
		budget = room;
	for (size_t i = 0; i < req->n_output_paths && ret == 0; i++)
		ret = collect_file(sb, req, req->output_paths[i], &budget, res, err);
	return ret;
}

void isol8_exec_result_release(struct isol8_exec_result *res)
{
	for (size_t i = 0; i < res->n_files; i++) {
		free(res->files[i].path);
		free(res->files[i].data);
	}
	free(res->files);
	res->files = NULL;
	res->n_files = 0;
	isol8_exec_result_network_release(res);
}

/* The setup script, when there is one. *ran_code false when it failed. */
static int run_setup(struct run *r, struct isol8_sandbox *sb, const struct isol8_exec_options *opts,
		     struct isol8_exec_result *res, bool *run_code, struct isol8_error *err)
{
	struct isol8_agent_exit x = {0};
	struct isol8_exec_spec spec;
	int ret;

	*run_code = true;
	if (r->req->setup_script == NULL || r->req->setup_script[0] == '\0')
		return 0;
	ret = isol8_exec_spec_setup(r->req, opts, &spec, err);
	if (ret == 0 && opts->proxy_env)
		ret = isol8_exec_spec_proxy_env(r->engine, &spec, err);
	if (ret < 0) {
		isol8_exec_spec_release(&spec);
		return ret;
	}
	ret = run_program(r, sb, &spec, false, ISOL8_PHASE_SETUP, &x, err);
	isol8_exec_spec_release(&spec);
	if (ret == 0 && (x.exit_code != 0 || x.timed_out)) {
		result_from_exit(res, &x);
		res->setup_failed = true;
		*run_code = false;
	}
	return ret;
}

/* The packages' install, when the request names some: its own process (in
 * a session too, beside the session's interpreter, whose processes it
 * leaves running), egress allowed to the runtime's registries only.
 * *run_code false when it failed. */
static int run_install(struct run *r, struct isol8_sandbox *sb, const struct isol8_exec_options *opts,
		       struct isol8_exec_result *res, bool *run_code, struct isol8_error *err)
{
	const struct isol8_registries *reg;
	struct isol8_install_spec install;
	struct isol8_agent_exit x = {0};
	struct isol8_exec_spec spec;
	int ret;

	*run_code = true;
	if (r->req->n_install_packages == 0)
		return 0;
	if (sb->egress == NULL)
		return isol8_error_set(err, ISOL8_E_PRECONDITION,
				       "install_packages: session \"%s\" was made with network \"none\" and no packages, so "
				       "its sandbox has no way out for an install (name packages in a session's first "
				       "call, or give it network \"filtered\")",
				       r->req->session_id);
	reg = &r->engine->packages.registries[opts->runtime->info - isol8_runtime_infos];
	ret = isol8_install_spec_build(opts->runtime, reg, r->req, opts, &spec, &install, err);
	if (ret < 0)
		return ret;
	spec.exec.keep_detached = r->session != NULL;
	ret = isol8_exec_spec_proxy_env(r->engine, &spec, err);
	if (ret == 0)
		ret = isol8_run_egress_begin(r->engine, sb, reg->rules, res, opts->log_network, err);
	if (ret == 0) {
		r->plain = true;
		ret = run_program(r, sb, &spec, false, ISOL8_PHASE_SETUP, &x, err);
		r->plain = false;
		isol8_run_egress_end(r->engine, sb, res);
	}
	isol8_exec_spec_release(&spec);
	isol8_install_spec_release(&install);
	if (ret == 0 && (x.exit_code != 0 || x.timed_out || x.signal != 0)) {
		result_from_exit(res, &x);
		res->install_failed = true;
		*run_code = false;
	}
	return ret;
}

/* The run's programs in a leased sandbox: the setup script, then the code
 * (in the sandbox's pre-started interpreter when fits), its exit into res,
 * then the output files. *reported: the agent reported how the programs
 * ended (after a failure or a cancellation a program may still be
 * starting). */
static int run_programs(struct run *r, const struct isol8_lease *lease, const struct isol8_exec_options *opts,
			const struct isol8_exec_spec *spec, bool fits, struct isol8_exec_result *res, bool *reported,
			struct isol8_error *err)
{
	struct isol8_agent_exit x = {0};
	bool run_code = true;
	int ret;

	res->phases.queue_us = lease->info.queued_us;
	res->phases.acquire_us = lease->info.acquire_us;
	res->phases.cold = lease->info.cold;
	snprintf(res->container_id, sizeof(res->container_id), "%s", lease->sandbox->container_id);
	r->exec_start_us = isol8_now_us();
	/* the install has a use of a filtered sandbox's egress port of its own;
	 * the setup script and the code share the next */
	ret = run_install(r, lease->sandbox, opts, res, &run_code, err);
	if (ret == 0 && run_code) {
		ret = isol8_run_egress_begin(r->engine, lease->sandbox, opts->rules, res, opts->log_network, err);
		if (ret == 0) {
			ret = run_setup(r, lease->sandbox, opts, res, &run_code, err);
			if (ret == 0 && run_code) {
				ret = run_program(r, lease->sandbox, spec, fits, ISOL8_PHASE_CODE, &x, err);
				if (ret == 0)
					result_from_exit(res, &x);
			}
			isol8_run_egress_end(r->engine, lease->sandbox, res);
		}
	}
	res->phases.prestarted = r->prestarted;
	res->phases.exec_us = isol8_now_us() - r->exec_start_us;
	res->phases.first_output_us = r->first_output_us;
	res->truncated = res->truncated || r->truncated;
	*reported = ret == 0;
	if (ret == 0 && run_code)
		ret = collect_files(lease->sandbox, r->req, r->sink, res, err);
	return ret;
}

static int run_in_sandbox(struct isol8_engine *e, const Isol8__V1__ExecuteRequest *req,
			  const struct isol8_exec_options *opts, const struct isol8_exec_spec *spec, struct run *r,
			  struct isol8_exec_result *res, struct isol8_error *err)
{
	struct isol8_lease lease;
	bool reported = false;
	int64_t released;
	int ret;

	ret = isol8_registry_acquire(e->registry, &opts->container, caller_cancelled, (void *)r->sink, &lease, err);
	if (ret < 0)
		return isol8_images_explain_create_error(e, &opts->container, err);
	ret = run_programs(r, &lease, opts, spec, launcher_fits(req, opts), res, &reported, err);
	released = isol8_now_us();
	/* reused only after the agent reported the exit */
	isol8_registry_release(e->registry, &lease,
			       opts->persist ? ISOL8_RELEASE_KEEP : reported ? ISOL8_RELEASE_USED : ISOL8_RELEASE_BROKEN);
	res->phases.release_us = isol8_now_us() - released;
	if (ret < 0)
		isol8_exec_result_release(res);
	return ret;
}

/* Whether a failed session call leaves the sandbox unusable (the agent
 * did not answer or broke the protocol), so the session goes. */
static bool session_broken(const struct isol8_error *err)
{
	return err->code == ISOL8_E_UNAVAILABLE || err->code == ISOL8_E_PROTOCOL || err->code == ISOL8_E_IO ||
	       err->code == ISOL8_E_INTERNAL;
}

/* A call in a persistent session: its sandbox, with what earlier calls left
 * there (files, processes that let go of their output, the interpreter's
 * state: engine/session.c), one call at a time. */
static int run_in_session(struct isol8_engine *e, const Isol8__V1__ExecuteRequest *req,
			  const struct isol8_exec_options *opts, struct isol8_exec_spec *spec, struct run *r,
			  struct isol8_exec_result *res, struct isol8_error *err)
{
	struct isol8_session_call call;
	bool reported = false;
	int64_t released;
	int ret;

	spec->exec.keep_detached = true;
	ret = isol8_sessions_begin(e->sessions, req->session_id, &opts->container, opts->timeout_ms, caller_cancelled,
				   (void *)r->sink, &call, err);
	if (ret < 0)
		return isol8_images_explain_create_error(e, &opts->container, err);
	r->session = &call;
	snprintf(res->session_id, sizeof(res->session_id), "%s", req->session_id);
	if (call.created)
		isol8_sandbox_drop_launcher(call.lease.sandbox); /* the pool's; the session opens its own */
	ret = run_programs(r, &call.lease, opts, spec, false, res, &reported, err);
	if (ret < 0 && err->code == ISOL8_E_CANCELLED && isol8_sessions_call_doomed(&call)) {
		isol8_error_clear(err);
		ret = isol8_error_set(err, ISOL8_E_ABORTED, "session \"%s\" was destroyed during the call",
				      req->session_id);
	}
	released = isol8_now_us();
	isol8_sessions_end(e->sessions, &call, ret < 0 && session_broken(err));
	r->session = NULL;
	res->phases.release_us = isol8_now_us() - released;
	if (ret < 0)
		isol8_exec_result_release(res);
	return ret;
}

/* Kept sandboxes count against the live limit until cleanup: bounded, or
 * persist runs could fill it and stop every execution. */
static int check_kept_room(struct isol8_engine *e, struct isol8_error *err)
{
	struct isol8_registry_stats st;

	isol8_registry_stats(e->registry, &st);
	if (st.kept >= ISOL8_MAX_KEPT)
		return isol8_error_set(err, ISOL8_E_EXHAUSTED,
				       "options.persist: %d sandboxes are kept already (at most %d): remove them with "
				       "`isol8 cleanup`",
				       st.kept, ISOL8_MAX_KEPT);
	return 0;
}

/* The request's options over the engine's defaults, within the policy
 * unless the caller is trusted. */
static int resolve_request(const struct isol8_engine *e, const Isol8__V1__ExecuteRequest *req, bool local,
			   struct isol8_exec_options *opts, struct isol8_error *err)
{
	int ret = isol8_options_resolve_with(req, &e->defaults, opts, err);

	if (ret == 0 && isol8_policy_applies(&e->policy, local))
		ret = isol8_policy_check(&e->policy, &e->defaults, req, opts, err);
	return ret;
}

int isol8_engine_execute(struct isol8_engine *e, const Isol8__V1__ExecuteRequest *req, bool local,
			 const struct isol8_exec_sink *sink, struct isol8_exec_result *res,
			 struct isol8_error *err)
{
	struct isol8_exec_options opts;
	struct isol8_exec_spec spec;
	struct run r = {.engine = e, .sink = sink, .req = req, .first_output_us = -1, .relay = {.sink = sink}};
	Isol8__V1__ExecuteRequest fetched;
	_cleanup_free_ char *code = NULL;
	int ret;

	memset(res, 0, sizeof(*res));
	if (req->tty && sink->next_input == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "tty: a terminal needs an interactive run (ExecuteInteractive)");
	ret = resolve_request(e, req, local, &opts, err);
	/* code_url: the request checked first, then run with the fetched code */
	if (ret == 0 && req->code_url && req->code_url[0]) {
		ret = isol8_engine_fetch_code(e, req, sink, &fetched, &code, err);
		if (ret == 0) {
			isol8_exec_options_release(&opts);
			req = r.req = &fetched;
			ret = resolve_request(e, req, local, &opts, err);
		}
	}
	if (ret == 0)
		ret = isol8_random_hex(res->execution_id, 16, err);
	if (ret < 0) {
		isol8_exec_options_release(&opts);
		return ret;
	}
	res->runtime = opts.runtime->info->name;
	res->max_output = opts.max_output;
	res->memory_bytes = opts.container.memory_bytes;
	r.cap = opts.max_output;
	isol8_utc_timestamp(res->timestamp, sizeof(res->timestamp));
	ret = setup_masks(r.masks, 2, req, err);
	if (ret == 0 && opts.persist)
		ret = check_kept_room(e, err);
	if (ret == 0 && atomic_load(&e->shutting_down))
		ret = isol8_error_set(err, ISOL8_E_UNAVAILABLE, "isol8d is shutting down");
	if (ret == 0)
		ret = isol8_exec_spec_build(req, &opts, &spec, err);
	if (ret == 0 && opts.proxy_env && (ret = isol8_exec_spec_proxy_env(e, &spec, err)) < 0)
		isol8_exec_spec_release(&spec);
	if (ret == 0 && (ret = isol8_install_code_env(&e->packages, opts.runtime, req, &spec, err)) < 0)
		isol8_exec_spec_release(&spec);
	if (ret == 0) {
		spec_interactive(&r, &spec);
		if (req->session_id && req->session_id[0])
			ret = run_in_session(e, req, &opts, &spec, &r, res, err);
		else
			ret = run_in_sandbox(e, req, &opts, &spec, &r, res, err);
		isol8_exec_spec_release(&spec);
	}
	isol8_mask_release(&r.masks[0]);
	isol8_mask_release(&r.masks[1]);
	isol8_exec_options_release(&opts);
	return ret;
}
