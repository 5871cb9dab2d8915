/* A filtered run's uses of its sandbox's egress port, and the proxy
 * environment of its programs: see engine_internal.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine_internal.h"
#include "base/util.h"

/* Decisions one result keeps across its phases. */
#define RUN_EGRESS_LOG_MAX ISOL8_EGRESS_LOG_MAX

int isol8_run_egress_begin(struct isol8_engine *e, struct isol8_sandbox *sb, const struct isol8_egress_rules *rules,
			   const struct isol8_exec_result *res, bool keep_log, struct isol8_error *err)
{
	struct isol8_egress_use use = {.rules = rules, .keep_log = keep_log, .max_bytes = e->egress_max_bytes,
				       .execution_id = res->execution_id};

	if (sb->egress == NULL)
		return 0;
	/* what an earlier phase moved counts: a spent cap leaves one byte */
	if (use.max_bytes > 0) {
		int64_t used = (int64_t)res->network_bytes;
		use.max_bytes = used < use.max_bytes ? use.max_bytes - used : 1;
	}
	return isol8_egress_bind(sb->egress, &use, err);
}

/* Appends a copy of each kept decision; past the result's room they are counted. */
static void result_add_log(struct isol8_exec_result *res, const struct isol8_egress_log *log)
{
	size_t room = RUN_EGRESS_LOG_MAX - res->n_network_logs, n = log->n < room ? log->n : room;
	struct isol8_egress_entry *grown;

	res->network_logs_dropped += log->dropped + (log->n - n);
	res->network_bytes += log->bytes;
	res->network_capped = res->network_capped || log->capped;
	if (n == 0)
		return;
	grown = realloc(res->network_logs, (res->n_network_logs + n) * sizeof(*grown));
	if (grown == NULL) {
		res->network_logs_dropped += n;
		return;
	}
	res->network_logs = grown;
	for (size_t i = 0; i < n; i++) {
		struct isol8_egress_entry *to = &grown[res->n_network_logs];
		*to = log->entries[i];
		to->host = strdup(log->entries[i].host ? log->entries[i].host : "");
		to->path = strdup(log->entries[i].path ? log->entries[i].path : "");
		if (to->host == NULL || to->path == NULL) {
			free(to->host);
			free(to->path);
			res->network_logs_dropped++;
			continue;
		}
		res->n_network_logs++;
	}
}

void isol8_run_egress_end(struct isol8_engine *e, struct isol8_sandbox *sb, struct isol8_exec_result *res)
{
	struct isol8_egress_log log = {0};

	(void)e;
	if (sb->egress == NULL)
		return;
	isol8_egress_unbind(sb->egress, &log);
	if (res != NULL)
		result_add_log(res, &log);
	isol8_egress_log_release(&log);
}

void isol8_exec_result_network_release(struct isol8_exec_result *res)
{
	for (size_t i = 0; i < res->n_network_logs; i++) {
		free(res->network_logs[i].host);
		free(res->network_logs[i].path);
	}
	free(res->network_logs);
	res->network_logs = NULL;
	res->n_network_logs = 0;
}

/* Whether the spec's environment has name already (the request set it). */
static bool env_has(const struct isol8_exec_spec *spec, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < spec->n_env; i++)
		if (strncmp(spec->env[i], name, len) == 0 && spec->env[i][len] == '=')
			return true;
	return false;
}

/* Every program trusts the image's CA bundle plus the operator's: OpenSSL
 * (python, curl) reads SSL_CERT_FILE as the one file and keeps the hashed
 * /etc/ssl/certs directory, where the image's certificates are; node and
 * bun add NODE_EXTRA_CA_CERTS to their built-in roots; deno adds DENO_CERT
 * to its own. */
static const char *const ca_vars[] = {"SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "DENO_CERT"};

static const struct {
	const char *name, *value;
} proxy_vars[] = {
	{"HTTP_PROXY", ISOL8_EGRESS_PROXY_URL},
	{"HTTPS_PROXY", ISOL8_EGRESS_PROXY_URL},
	{"http_proxy", ISOL8_EGRESS_PROXY_URL},
	{"https_proxy", ISOL8_EGRESS_PROXY_URL},
	{"NO_PROXY", "localhost,127.0.0.1,::1"},
	{"no_proxy", "localhost,127.0.0.1,::1"},
	/* Node 24's fetch and http honour the variables above with it */
	{"NODE_USE_ENV_PROXY", "1"},
};

static int env_add_if_unset(struct isol8_exec_spec *spec, const char *name, const char *value,
			    struct isol8_error *err)
{
	size_t len = strlen(name) + 1 + strlen(value) + 1;
	char *entry;

	if (env_has(spec, name))
		return 0;
	if (spec->n_env >= ISOL8_EXEC_MAX_ENV)
		return isol8_error_set(err, ISOL8_E_INVALID, "env: more than %d variables", ISOL8_EXEC_MAX_ENV);
	entry = malloc(len);
	if (entry == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	snprintf(entry, len, "%s=%s", name, value);
	spec->env[spec->n_env++] = entry;
	spec->exec.env = spec->env;
	spec->exec.n_env = spec->n_env;
	return 0;
}

int isol8_proxy_env_add(struct isol8_exec_spec *spec, bool ca_bundle, struct isol8_error *err)
{
	int ret = 0;

	for (size_t i = 0; i < ISOL8_ARRAY_LEN(proxy_vars) && ret == 0; i++)
		ret = env_add_if_unset(spec, proxy_vars[i].name, proxy_vars[i].value, err);
	for (size_t i = 0; ca_bundle && i < ISOL8_ARRAY_LEN(ca_vars) && ret == 0; i++)
		ret = env_add_if_unset(spec, ca_vars[i], ISOL8_CA_BUNDLE_MOUNT, err);
	return ret;
}

int isol8_exec_spec_proxy_env(const struct isol8_engine *e, struct isol8_exec_spec *spec, struct isol8_error *err)
{
	return isol8_proxy_env_add(spec, e->ca_bundle != NULL, err);
}
