/* Resolution of an ExecuteRequest into checked options: see options.h. */
#include "engine/options.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/util.h"
#include "base/runtimes.h"
#include "docker/seccomp.h"
#include "engine/remote.h"
#include "egress/egress.h"
#include "engine/install.h"
#include "sandbox/sessions.h"

int isol8_parse_size(const char *text, int64_t *out)
{
	static const struct {
		char suffix;
		int shift;
	} units[] = {{'b', 0}, {'k', 10}, {'m', 20}, {'g', 30}, {'t', 40}};
	char *end;
	int shift = 0;
	unsigned long long value;

	if (text == NULL || !isdigit((unsigned char)text[0]))
		return -1;
	errno = 0;
	value = strtoull(text, &end, 10);
	if (errno != 0)
		return -1;
	if (*end != '\0') {
		bool found = false;
		for (size_t i = 0; i < ISOL8_ARRAY_LEN(units); i++) {
			if (tolower((unsigned char)*end) == units[i].suffix) {
				shift = units[i].shift;
				found = true;
			}
		}
		if (!found)
			return -1;
		end++;
		if (*end == 'b' || *end == 'B')
			end++;
		if (*end != '\0')
			return -1;
	}
	if (value > (unsigned long long)(INT64_MAX >> shift))
		return -1;
	*out = (int64_t)(value << shift);
	return 0;
}

/* Size field: empty means the default; otherwise parsed and kept in [min, max]. */
static int resolve_size(const char *field, const char *text, int64_t def, int64_t min, int64_t max,
			int64_t *out, struct isol8_error *err)
{
	if (text == NULL || text[0] == '\0') {
		*out = def;
		return 0;
	}
	if (isol8_parse_size(text, out) < 0)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: \"%s\" is not a size (use a number with k, m or g, e.g. 512m)",
				       field, text);
	if (*out < min || *out > max)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: %s is out of range (%lld MiB to %lld MiB)", field, text,
				       (long long)(min >> 20), (long long)(max >> 20));
	return 0;
}

static const struct {
	const char *name;
	enum isol8_network value;
} network_names[] = {{"none", ISOL8_NET_NONE}, {"host", ISOL8_NET_HOST}, {"filtered", ISOL8_NET_FILTERED}};

static const struct {
	const char *name;
	enum isol8_seccomp value;
} seccomp_names[] = {{"strict", ISOL8_SECCOMP_STRICT},
		     {"unconfined", ISOL8_SECCOMP_UNCONFINED},
		     {"custom", ISOL8_SECCOMP_CUSTOM}};

static int resolve_network(const Isol8__V1__ExecutionOptions *o, struct isol8_exec_options *opts,
			   struct isol8_error *err)
{
	const char *name = (o && o->network && o->network[0]) ? o->network : NULL;

	if (name == NULL)
		return 0; /* the default's */

	for (size_t i = 0; i < ISOL8_ARRAY_LEN(network_names); i++) {
		if (strcmp(network_names[i].name, name) == 0) {
			opts->container.network = network_names[i].value;
			return 0;
		}
	}
	return isol8_error_set(err, ISOL8_E_INVALID,
			       "options.network: unknown mode \"%s\" (valid: none, host, filtered)", name);
}

/* A filtered run's rules: the request's network_filter when it names any
 * host, else the configured lists; compiled once for the whole run. */
static int resolve_network_rules(const Isol8__V1__ExecutionOptions *o, const struct isol8_exec_defaults *d,
				 struct isol8_exec_options *opts, struct isol8_error *err)
{
	const Isol8__V1__NetworkFilter *f = o ? o->network_filter : NULL;

	opts->log_network = o && o->log_network;
	if (opts->container.network != ISOL8_NET_FILTERED)
		return 0;
	opts->proxy_env = true;
	if (f != NULL && (f->n_whitelist > 0 || f->n_blacklist > 0))
		return isol8_egress_rules_compile("options.network_filter.whitelist", (const char *const *)f->whitelist,
						  f->n_whitelist, "options.network_filter.blacklist",
						  (const char *const *)f->blacklist, f->n_blacklist, &opts->rules, err);
	return isol8_egress_rules_compile("network.whitelist", d->whitelist, d->n_whitelist, "network.blacklist",
					  d->blacklist, d->n_blacklist, &opts->rules, err);
}

void isol8_exec_options_release(struct isol8_exec_options *opts)
{
	isol8_egress_rules_free(opts->rules);
	opts->rules = NULL;
}

static int resolve_seccomp(const Isol8__V1__ExecutionOptions *o, struct isol8_exec_options *opts,
			   struct isol8_error *err)
{
	const char *name = (o && o->seccomp && o->seccomp[0]) ? o->seccomp : NULL;
	bool found = false;

	if (name == NULL)
		return 0; /* the default's, with its profile */
	opts->container.seccomp_profile = NULL;
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(seccomp_names); i++) {
		if (strcmp(seccomp_names[i].name, name) == 0) {
			opts->container.seccomp = seccomp_names[i].value;
			found = true;
		}
	}
	if (!found)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "options.seccomp: unknown mode \"%s\" (valid: strict, unconfined, custom)",
				       name);
	if (opts->container.seccomp == ISOL8_SECCOMP_CUSTOM) {
		char why[128];
		if (o->seccomp_profile == NULL || o->seccomp_profile[0] == '\0')
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "options.seccomp_profile: seccomp \"custom\" needs the profile's "
					       "JSON object");
		if (isol8_seccomp_profile_check(o->seccomp_profile, why, sizeof(why)) < 0)
			return isol8_error_set(err, ISOL8_E_INVALID, "options.seccomp_profile: %s", why);
		opts->container.seccomp_profile = o->seccomp_profile;
	}
	return 0;
}

static int resolve_limits(const Isol8__V1__ExecutionOptions *o, struct isol8_exec_options *opts,
			  struct isol8_error *err)
{
	int ret;

	ret = resolve_size("options.memory_limit", o ? o->memory_limit : NULL, opts->container.memory_bytes,
			   ISOL8_MIN_MEMORY, 64LL << 30, &opts->container.memory_bytes, err);
	if (ret == 0)
		ret = resolve_size("options.sandbox_size", o ? o->sandbox_size : NULL,
				   opts->container.sandbox_size, 1LL << 20, 64LL << 30, &opts->container.sandbox_size, err);
	if (ret == 0)
		ret = resolve_size("options.tmp_size", o ? o->tmp_size : NULL, opts->container.tmp_size,
				   1LL << 20, 64LL << 30, &opts->container.tmp_size, err);
	if (ret < 0)
		return ret;

	if (o && o->cpu_limit != 0) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);
		if (!isfinite(o->cpu_limit) || o->cpu_limit < 0.01)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "options.cpu_limit: %g is out of range (a number of cores, at least 0.01)",
					       o->cpu_limit);
		if (o->cpu_limit > (cpus > 0 ? cpus : 1))
			return isol8_error_set(err, ISOL8_E_INVALID, "options.cpu_limit: %g is more than this host's %ld CPUs",
					       o->cpu_limit, cpus > 0 ? cpus : 1);
		opts->container.nano_cpus = (int64_t)llround(o->cpu_limit * 1e9);
	}
	if (o && o->pids_limit != 0) {
		if (o->pids_limit < 4 || o->pids_limit > ISOL8_MAX_PIDS)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "options.pids_limit: %d is out of range (4 to %d)",
					       (int)o->pids_limit, ISOL8_MAX_PIDS);
		opts->container.pids_limit = o->pids_limit;
	}
	if (o && o->max_output_size != 0) {
		if (o->max_output_size < 1 || o->max_output_size > ISOL8_MAX_OUTPUT_LIMIT)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "options.max_output_size: %lld is out of range (1 to %lld bytes)",
					       (long long)o->max_output_size, (long long)ISOL8_MAX_OUTPUT_LIMIT);
		opts->max_output = o->max_output_size;
	}
	return 0;
}

/* The session id, when the request names one. */
static int check_session_id(const Isol8__V1__ExecuteRequest *req, struct isol8_error *err)
{
	if (req->session_id && req->session_id[0] && isol8_session_id_check("session_id", req->session_id, err) < 0)
		return -err->code;
	return 0;
}

/* A run that installs packages: the names checked, and a sandbox whose
 * egress goes through the proxy, so that the install reaches the
 * configured registries and nothing else; with network "none" the code
 * still reaches nothing (its rules allow none), and "host" is refused: the
 * install would reach everything. */
static int resolve_install(const Isol8__V1__ExecuteRequest *req, struct isol8_exec_options *opts,
			   struct isol8_error *err)
{
	if (req->n_install_packages == 0)
		return 0;
	if (isol8_install_check(req, opts->runtime->info, err) < 0)
		return -err->code;
	if (opts->container.network == ISOL8_NET_HOST)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "install_packages: packages are installed through the filtered egress proxy, "
				       "never with network \"host\" (use network \"none\" or \"filtered\")");
	if (opts->container.network == ISOL8_NET_NONE)
		opts->container.network = ISOL8_NET_FILTERED;
	return 0;
}

/* Code, files and stdin travel to the sandbox in one agent request. */
static int check_payload(const Isol8__V1__ExecuteRequest *req, struct isol8_error *err)
{
	size_t total = strlen(req->code) + strlen(req->cmd) + strlen(req->setup_script);

	if (!isol8_size_add(total, req->stdin.len, &total))
		total = SIZE_MAX;
	for (size_t i = 0; i < req->n_files; i++) {
		size_t name = req->files[i]->key ? strlen(req->files[i]->key) : 0;
		if (!isol8_size_add(total, req->files[i]->value.len, &total) || !isol8_size_add(total, name, &total))
			total = SIZE_MAX;
	}
	if (total > ISOL8_MAX_PAYLOAD)
		return isol8_error_set(err, ISOL8_E_EXHAUSTED,
				       "code, files and stdin: %zu bytes in all, more than the %u bytes one execution "
				       "carries",
				       total, ISOL8_MAX_PAYLOAD);
	return 0;
}

int isol8_options_request_runtime(const Isol8__V1__ExecuteRequest *req, const char **runtime,
				  const char **file_extension, struct isol8_error *err)
{
	bool from_url = req->code_url != NULL && req->code_url[0] != '\0';
	const char *url_ext = NULL;
	const char *url_runtime = from_url ? isol8_remote_runtime_of(req->code_url, &url_ext) : NULL;

	*runtime = req->runtime;
	*file_extension = req->file_extension;
	if ((*runtime == NULL || (*runtime)[0] == '\0') && from_url) {
		if (url_runtime == NULL)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "runtime: cannot tell it from the extension of code_url \"%.200s\" (give "
					       "runtime: %s; or a URL ending in %s)",
					       req->code_url, isol8_runtime_names(), isol8_runtime_detected_extensions());
		*runtime = url_runtime;
	}
	/* node code from a .cjs URL runs as CommonJS, as a .cjs file does */
	if ((*file_extension == NULL || (*file_extension)[0] == '\0') && url_runtime != NULL &&
	    strcmp(url_runtime, *runtime) == 0)
		*file_extension = url_ext;
	return 0;
}

static int resolve_runtime(const Isol8__V1__ExecuteRequest *req, struct isol8_exec_options *opts,
			   struct isol8_error *err)
{
	const char *runtime, *file_extension;
	int ret = isol8_options_request_runtime(req, &runtime, &file_extension, err);

	if (ret < 0)
		return ret;
	if (runtime == NULL || runtime[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "runtime: required (valid: %s)",
				       isol8_runtime_names());
	opts->runtime = isol8_runtime_find(runtime);
	if (opts->runtime == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "runtime: unknown runtime \"%s\" (valid: %s)",
				       runtime, isol8_runtime_names());
	return isol8_runtime_code_path(opts->runtime, file_extension, opts->code_path,
				       sizeof(opts->code_path), err);
}

void isol8_exec_defaults_init(struct isol8_exec_defaults *d)
{
	memset(d, 0, sizeof(*d));
	d->container.memory_bytes = ISOL8_DEFAULT_MEMORY;
	d->container.nano_cpus = ISOL8_DEFAULT_NANO_CPUS;
	d->container.pids_limit = ISOL8_DEFAULT_PIDS;
	d->container.sandbox_size = ISOL8_DEFAULT_SANDBOX_SIZE;
	d->container.tmp_size = ISOL8_DEFAULT_TMP_SIZE;
	d->container.readonly_rootfs = true;
	d->container.network = ISOL8_NET_NONE;
	d->container.seccomp = ISOL8_SECCOMP_STRICT;
	d->timeout_ms = ISOL8_DEFAULT_TIMEOUT_MS;
	d->max_output = ISOL8_DEFAULT_MAX_OUTPUT;
}

int isol8_options_resolve(const Isol8__V1__ExecuteRequest *req, struct isol8_exec_options *opts,
			  struct isol8_error *err)
{
	struct isol8_exec_defaults d;

	isol8_exec_defaults_init(&d);
	return isol8_options_resolve_with(req, &d, opts, err);
}

int isol8_options_resolve_with(const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_defaults *d,
			       struct isol8_exec_options *opts, struct isol8_error *err)
{
	const Isol8__V1__ExecutionOptions *o = req->options;
	int ret;

	memset(opts, 0, sizeof(*opts));
	/* what the request leaves unset stays as the defaults say */
	opts->container = d->container;
	opts->container.image = NULL;
	opts->timeout_ms = d->timeout_ms;
	opts->max_output = d->max_output;
	ret = check_session_id(req, err);
	if (ret == 0)
		ret = resolve_runtime(req, opts, err);
	if (ret < 0)
		return ret;
	opts->container.runtime = opts->runtime->info->name;
	opts->container.image_suffix = opts->runtime->info->image_suffix;
	ret = isol8_inputs_resolve(req, opts, err);
	if (ret == 0)
		ret = check_payload(req, err);
	if (ret < 0)
		return ret;

	if (req->timeout_ms != 0) {
		if (req->timeout_ms < 1 || req->timeout_ms > ISOL8_MAX_TIMEOUT_MS)
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "timeout_ms: %lld is out of range (1 to %lld)",
					       (long long)req->timeout_ms, (long long)ISOL8_MAX_TIMEOUT_MS);
		opts->timeout_ms = req->timeout_ms;
	}
	ret = resolve_limits(o, opts, err);
	if (ret == 0)
		ret = resolve_network(o, opts, err);
	if (ret == 0)
		ret = resolve_seccomp(o, opts, err);
	if (ret == 0)
		ret = resolve_network_rules(o, d, opts, err);
	if (ret == 0)
		ret = resolve_install(req, opts, err);
	if (ret < 0)
		return ret;
	if (o && o->readonly_root_fs)
		opts->container.readonly_rootfs = o->readonly_root_fs->value;
	opts->container.image = (o && o->image && o->image[0]) ? o->image : NULL;
	opts->persist = o && o->persist;
	return 0;
}
