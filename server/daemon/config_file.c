/*
 * The configuration file onto isol8d's settings (config/config.h reads
 * it): the daemon's own keys (maxConcurrent, poolStrategy, pool, listen,
 * tls, log, debug, cleanup), the engine's defaults (defaults, security),
 * the egress proxy's settings (network), the policy and the remote-code
 * policy (remoteCode, network.allowedRanges). Flags win over the file: the
 * flags given are written back into the resolved configuration, so
 * --check-config shows what runs.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/paths.h"
#include "base/util.h"
#include "daemon/daemon.h"
#include "docker/seccomp.h"

static int network_mode(const char *name, enum isol8_network *out, struct isol8_error *err)
{
	if (strcmp(name, "none") == 0)
		*out = ISOL8_NET_NONE;
	else if (strcmp(name, "host") == 0)
		*out = ISOL8_NET_HOST;
	else if (strcmp(name, "filtered") == 0)
		*out = ISOL8_NET_FILTERED;
	else
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "defaults.network: unknown mode \"%s\" (valid: none, host, filtered)", name);
	return 0;
}

/* network.caBundle: relative to the file's directory, made absolute (Docker
 * mounts it), and readable now. */
static int map_ca_bundle(const struct isol8_config *f, char out[PATH_MAX], struct isol8_error *err)
{
	const char *given = f->network.ca_bundle;
	char dir[PATH_MAX], path[PATH_MAX + 2];

	out[0] = '\0';
	if (given == NULL)
		return 0;
	isol8_dirname(f->path[0] ? f->path : ".", dir, sizeof(dir));
	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", given[0] == '/' ? "" : dir, given[0] == '/' ? "" : "/",
			     given) >= sizeof(path))
		return isol8_error_set(err, ISOL8_E_INVALID, "network.caBundle: \"%s\" is too long", given);
	if (realpath(path, out) == NULL || access(out, R_OK) < 0) {
		int saved = errno;
		out[0] = '\0';
		return isol8_error_errno(err, ISOL8_E_INVALID, saved, "network.caBundle: \"%s\"", path);
	}
	return 0;
}

/* network: the proxy's guard and limits; the default rules are compiled
 * once here so that a bad regex stops the start, naming it. */
static int map_network(const struct isol8_config *f, struct isol8d_config *cfg, struct isol8_error *err)
{
	struct isol8_egress_rules *rules = NULL;
	char field[64];
	int ret = 0;

	memset(&cfg->egress, 0, sizeof(cfg->egress));
	for (size_t i = 0; i < f->network.allowed_ranges.n && ret == 0; i++) {
		snprintf(field, sizeof(field), "network.allowedRanges[%zu]", i);
		ret = isol8_net_guard_allow(&cfg->egress.guard, field, f->network.allowed_ranges.items[i], err);
	}
	cfg->egress.idle_timeout_ms = f->network.idle_timeout_ms;
	cfg->egress.max_connections_per_port = (int)f->network.max_connections;
	cfg->egress_max_bytes = f->network.max_bytes;
	cfg->defaults.whitelist = (const char *const *)f->network.whitelist.items;
	cfg->defaults.n_whitelist = f->network.whitelist.n;
	cfg->defaults.blacklist = (const char *const *)f->network.blacklist.items;
	cfg->defaults.n_blacklist = f->network.blacklist.n;
	if (ret == 0)
		ret = isol8_egress_rules_compile("network.whitelist", cfg->defaults.whitelist, cfg->defaults.n_whitelist,
						 "network.blacklist", cfg->defaults.blacklist, cfg->defaults.n_blacklist,
						 &rules, err);
	isol8_egress_rules_free(rules);
	if (ret == 0)
		ret = map_ca_bundle(f, cfg->ca_bundle, err);
	return ret;
}

/* defaults and security: what a request gets for what it leaves unset. */
static int map_defaults(const struct isol8_config *f, struct isol8_exec_defaults *d, struct isol8_error *err)
{
	struct isol8_container_options *c = &d->container;
	char why[256];
	int ret;

	isol8_exec_defaults_init(d);
	d->timeout_ms = f->defaults.timeout_ms;
	d->max_output = f->defaults.max_output_size;
	c->memory_bytes = f->defaults.memory_limit.bytes;
	c->nano_cpus = (int64_t)llround(f->defaults.cpu_limit * 1e9);
	c->pids_limit = f->defaults.pids_limit;
	c->sandbox_size = f->defaults.sandbox_size.bytes;
	c->tmp_size = f->defaults.tmp_size.bytes;
	c->readonly_rootfs = f->defaults.readonly_root_fs;
	ret = network_mode(f->defaults.network, &c->network, err);
	if (ret < 0)
		return ret;
	if (strcmp(f->security.seccomp, "unconfined") == 0) {
		c->seccomp = ISOL8_SECCOMP_UNCONFINED;
	} else if (strcmp(f->security.seccomp, "custom") == 0) {
		/* the loader read the file; Docker must be able to read it too */
		if (isol8_seccomp_profile_check(f->security.custom_profile, why, sizeof(why)) < 0)
			return isol8_error_set(err, ISOL8_E_INVALID, "security.customProfilePath: \"%s\": %s",
					       f->security.custom_profile_path, why);
		c->seccomp = ISOL8_SECCOMP_CUSTOM;
		c->seccomp_profile = f->security.custom_profile;
	}
	return 0;
}

static void copy_text(char *buf, size_t size, const char *text)
{
	snprintf(buf, size, "%s", text);
}

static void map_policy(const struct isol8_config *f, struct isol8_policy *p)
{
	isol8_policy_init(p);
	p->max_timeout_ms = f->policy.max_timeout_ms;
	p->max_memory = f->policy.max_memory_limit.bytes;
	copy_text(p->max_memory_text, sizeof(p->max_memory_text), f->policy.max_memory_limit.text);
	p->max_nano_cpus = (int64_t)llround(f->policy.max_cpu_limit * 1e9);
	p->max_pids = f->policy.max_pids_limit;
	p->max_output = f->policy.max_output_size;
	p->max_sandbox_size = f->policy.max_sandbox_size.bytes;
	copy_text(p->max_sandbox_text, sizeof(p->max_sandbox_text), f->policy.max_sandbox_size.text);
	p->max_tmp_size = f->policy.max_tmp_size.bytes;
	copy_text(p->max_tmp_text, sizeof(p->max_tmp_text), f->policy.max_tmp_size.text);
	p->allow_host_network = f->policy.allow_host_network;
	p->allow_seccomp_unconfined = f->policy.allow_seccomp_unconfined;
	p->allow_seccomp_custom = f->policy.allow_seccomp_custom;
	p->allow_writable_root = f->policy.allow_writable_root;
	p->allowed_images = f->policy.allowed_images.items;
	p->n_allowed_images = f->policy.allowed_images.n;
	p->local_is_trusted = f->policy.local_is_trusted;
}

static const char *const *strings(const struct isol8_config_list *l)
{
	return (const char *const *)l->items;
}

/* remoteCode, compiled once here so that --check-config refuses what the
 * engine would; its SSRF guard is the proxy's (map_network). */
static int map_remote_code(const struct isol8_config *f, const struct isol8_net_guard *guard,
			   struct isol8_remote_settings *s, struct isol8_error *err)
{
	struct isol8_remote *check = NULL;
	int ret;

	isol8_remote_settings_init(s);
	s->enabled = f->remote_code.enabled;
	s->allowed_schemes = strings(&f->remote_code.allowed_schemes);
	s->n_allowed_schemes = f->remote_code.allowed_schemes.n;
	s->allowed_hosts = strings(&f->remote_code.allowed_hosts);
	s->n_allowed_hosts = f->remote_code.allowed_hosts.n;
	s->blocked_hosts = strings(&f->remote_code.blocked_hosts);
	s->n_blocked_hosts = f->remote_code.blocked_hosts.n;
	s->max_code_size = f->remote_code.max_code_size;
	s->fetch_timeout_ms = f->remote_code.fetch_timeout_ms;
	s->require_hash = f->remote_code.require_hash;
	s->enable_cache = f->remote_code.enable_cache;
	s->cache_ttl_s = f->remote_code.cache_ttl;
	s->guard = *guard;
	ret = isol8_remote_new(&check, s, err);
	isol8_remote_free(check);
	return ret;
}

int isol8d_config_file_apply(struct isol8d_config *cfg, struct isol8_error *err)
{
	const struct isol8_config *f = cfg->file;
	int ret;

	cfg->max_concurrent = (int)f->max_concurrent;
	cfg->secure_pool = strcmp(f->pool_strategy, "secure") == 0;
	for (int i = 0; i < ISOL8_RT_COUNT; i++)
		cfg->prewarm_by_runtime[i] = (int)f->pool.prewarm[i];
	cfg->prewarm = cfg->prewarm_by_runtime[0];
	cfg->max_warm = f->pool.max_warm == 0 ? -1 : (int)f->pool.max_warm;
	/* unset, the engine derives it from what finally runs, flags included */
	cfg->max_sandboxes = isol8_config_source_of(f, "pool.maxSandboxes") == ISOL8_CONFIG_DEFAULT
				     ? 0
				     : (int)f->pool.max_sandboxes;
	cfg->no_prestart = !f->pool.prestart;
	cfg->max_sessions = f->sessions.max == 0 ? -1 : (int)f->sessions.max;
	cfg->session_idle_ms = f->sessions.idle_timeout_ms;
	cfg->n_listen = 0;
	for (size_t i = 0; i < f->listen.n && i < ISOL8D_MAX_LISTEN; i++)
		cfg->listen[cfg->n_listen++] = f->listen.items[i];
	cfg->tls_cert = f->tls.cert;
	cfg->tls_key = f->tls.key;
	cfg->log_level = isol8_log_level_parse(f->log.level);
	cfg->log_json = f->log.json;
	cfg->auto_prune = f->cleanup.auto_prune;
	cfg->prune_age_ms = f->cleanup.max_container_age_ms;
	ret = map_defaults(f, &cfg->defaults, err);
	if (ret == 0)
		ret = map_network(f, cfg, err);
	if (ret < 0)
		return isol8_error_prefix(err, "%s", f->path[0] ? f->path : "configuration");
	map_policy(f, &cfg->policy);
	ret = map_remote_code(f, &cfg->egress.guard, &cfg->remote_code, err);
	if (ret < 0)
		return isol8_error_prefix(err, "%s", f->path[0] ? f->path : "configuration");
	return 0;
}

/* The flags that win over a key, and the key they set. */
static const struct {
	const char *flag, *key;
} flag_keys[] = {
	{"--max-concurrent", "maxConcurrent"},  {"--pool-strategy", "poolStrategy"},
	{"--prewarm", "pool.prewarm"},          {"--max-warm", "pool.maxWarm"},
	{"--max-sandboxes", "pool.maxSandboxes"}, {"--no-prestart", "pool.prestart"},
	{"--listen", "listen"},                 {"--tls-cert", "tls.cert"},
	{"--tls-key", "tls.key"},               {"--log-level", "log.level"},
	{"--log-json", "log.json"},
};

static int replace_string(char **field, const char *value, struct isol8_error *err)
{
	char *copy = value ? strdup(value) : NULL;

	if (value != NULL && copy == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	free(*field);
	*field = copy;
	return 0;
}

static int replace_listen(struct isol8_config_list *l, const char *const *items, int n, struct isol8_error *err)
{
	char **copy = calloc((size_t)n + 1, sizeof(*copy));

	if (copy == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	for (int i = 0; i < n; i++) {
		copy[i] = strdup(items[i]);
		if (copy[i] == NULL) {
			for (int j = 0; j < i; j++)
				free(copy[j]);
			free(copy);
			return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
		}
	}
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = copy;
	l->n = (size_t)n;
	return 0;
}

/* The value of the key that flag sets, from cfg into the file's record. */
static int write_back(struct isol8d_config *cfg, const char *key, struct isol8_error *err)
{
	struct isol8_config *f = cfg->file;

	if (strcmp(key, "maxConcurrent") == 0)
		f->max_concurrent = cfg->max_concurrent;
	else if (strcmp(key, "poolStrategy") == 0)
		snprintf(f->pool_strategy, sizeof(f->pool_strategy), "%s", cfg->secure_pool ? "secure" : "fast");
	else if (strcmp(key, "pool.prewarm") == 0) {
		f->pool.prewarm_by_runtime = false;
		for (int i = 0; i < ISOL8_RT_COUNT; i++)
			f->pool.prewarm[i] = cfg->prewarm_by_runtime[i] = cfg->prewarm;
	} else if (strcmp(key, "pool.maxWarm") == 0)
		f->pool.max_warm = cfg->max_warm < 0 ? 0 : cfg->max_warm;
	else if (strcmp(key, "pool.maxSandboxes") == 0)
		f->pool.max_sandboxes = cfg->max_sandboxes;
	else if (strcmp(key, "pool.prestart") == 0)
		f->pool.prestart = !cfg->no_prestart;
	else if (strcmp(key, "listen") == 0)
		return replace_listen(&f->listen, cfg->listen, cfg->n_listen, err);
	else if (strcmp(key, "tls.cert") == 0)
		return replace_string(&f->tls.cert, cfg->tls_cert, err);
	else if (strcmp(key, "tls.key") == 0)
		return replace_string(&f->tls.key, cfg->tls_key, err);
	else if (strcmp(key, "log.level") == 0) {
		static const char *const names[] = {"debug", "info", "warn", "error"};
		snprintf(f->log.level, sizeof(f->log.level), "%s", names[cfg->log_level]);
	} else if (strcmp(key, "log.json") == 0)
		f->log.json = cfg->log_json;
	return 0;
}

int isol8d_config_file_flags(struct isol8d_config *cfg, const char *const *flags, size_t n, struct isol8_error *err)
{
	struct isol8_config *f = cfg->file;
	int ret = 0;

	for (size_t i = 0; i < ISOL8_ARRAY_LEN(flag_keys) && ret == 0; i++) {
		bool given = false;
		for (size_t j = 0; j < n && !given; j++)
			given = strcmp(flags[j], flag_keys[i].flag + 2) == 0;
		if (!given)
			continue;
		ret = write_back(cfg, flag_keys[i].key, err);
		isol8_config_set_flag(f, flag_keys[i].key, flag_keys[i].flag);
	}
	if (ret == 0 && isol8_config_source_of(f, "pool.maxSandboxes") == ISOL8_CONFIG_DEFAULT)
		f->pool.max_sandboxes = f->max_concurrent + f->pool.max_warm;
	return ret;
}
