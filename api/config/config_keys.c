/* Every key of the configuration file, in the order the printers show
 * them, and their built-in values. schema/isol8.config.schema.json says the
 * same in JSON Schema; tests/config holds the two to one corpus. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/config_internal.h"

#define F(field) offsetof(struct isol8_config, field)
#define GIB (1024.0 * 1024.0 * 1024.0)
#define MIB (1024.0 * 1024.0)
/* Limits the engine holds every request to (server/engine/options.h). */
#define MAX_TIMEOUT_MS 86400000.0
#define MAX_OUTPUT (256.0 * MIB)
#define MAX_MEMORY (64.0 * GIB)
#define MIN_MEMORY (16.0 * MIB)
#define MAX_PIDS 4096.0
#define DAY_MS 86400000.0

static const char *const networks[] = {"none", "host", "filtered", NULL};
static const char *const seccomps[] = {"strict", "unconfined", "custom", NULL};
static const char *const strategies[] = {"fast", "secure", NULL};
static const char *const levels[] = {"debug", "info", "warn", "error", NULL};

#define OBJ(p) {.path = p, .kind = CK_OBJECT}
#define BOOL(p, f, sec) {.path = p, .kind = CK_BOOL, .offset = F(f), .section = sec}
#define INT(p, f, lo, hi, u, sec) {.path = p, .kind = CK_INT, .offset = F(f), .min = lo, .max = hi, .unit = u, .section = sec}
#define NUM(p, f, lo, hi, sec) {.path = p, .kind = CK_NUMBER, .offset = F(f), .min = lo, .max = hi, .section = sec}
#define SIZE(p, f, lo, hi, sec) {.path = p, .kind = CK_SIZE, .offset = F(f), .min = lo, .max = hi, .section = sec}
#define ENUM(p, f, ch, sec) {.path = p, .kind = CK_ENUM, .offset = F(f), .size = sizeof(((struct isol8_config *)0)->f), .choices = ch, .section = sec}
#define STR(p, f, sec) {.path = p, .kind = CK_STRING, .offset = F(f), .section = sec}
#define LIST(p, f, it, maxn, sec) {.path = p, .kind = CK_LIST, .offset = F(f), .item = it, .max = maxn, .section = sec}

const struct isol8_config_key isol8_config_keys[] = {
	{.path = "$schema", .kind = CK_SCHEMA_REF, .offset = F(schema_ref)},
	INT("maxConcurrent", max_concurrent, 1, 4096, NULL, "General"),
	BOOL("debug", debug, NULL),

	OBJ("defaults"),
	INT("defaults.timeoutMs", defaults.timeout_ms, 1, MAX_TIMEOUT_MS, "ms", "Defaults (a request that does not say)"),
	SIZE("defaults.memoryLimit", defaults.memory_limit, MIN_MEMORY, MAX_MEMORY, NULL),
	NUM("defaults.cpuLimit", defaults.cpu_limit, 0.01, 1024, NULL),
	ENUM("defaults.network", defaults.network, networks, NULL),
	SIZE("defaults.sandboxSize", defaults.sandbox_size, MIB, MAX_MEMORY, NULL),
	SIZE("defaults.tmpSize", defaults.tmp_size, MIB, MAX_MEMORY, NULL),
	BOOL("defaults.readonlyRootFs", defaults.readonly_root_fs, NULL),
	INT("defaults.pidsLimit", defaults.pids_limit, 4, MAX_PIDS, NULL, NULL),
	INT("defaults.maxOutputSize", defaults.max_output_size, 1, MAX_OUTPUT, "bytes", NULL),

	OBJ("network"),
	LIST("network.whitelist", network.whitelist, CI_REGEX, 0, "Network filter"),
	LIST("network.blacklist", network.blacklist, CI_REGEX, 0, NULL),
	LIST("network.allowedRanges", network.allowed_ranges, CI_ANY, 64, NULL),
	STR("network.caBundle", network.ca_bundle, NULL),
	INT("network.idleTimeoutMs", network.idle_timeout_ms, 1000, DAY_MS, "ms", NULL),
	INT("network.maxBytes", network.max_bytes, 0, 1024 * GIB, "bytes", NULL),
	INT("network.maxConnections", network.max_connections, 1, 4096, NULL, NULL),

	OBJ("cleanup"),
	BOOL("cleanup.autoPrune", cleanup.auto_prune, "Cleanup"),
	INT("cleanup.maxContainerAgeMs", cleanup.max_container_age_ms, 1000, 365 * DAY_MS, "ms", NULL),

	OBJ("dependencies"),
	LIST("dependencies.python", dependencies[ISOL8_RT_PYTHON], CI_ANY, 0, "Dependencies"),
	LIST("dependencies.node", dependencies[ISOL8_RT_NODE], CI_ANY, 0, NULL),
	LIST("dependencies.bun", dependencies[ISOL8_RT_BUN], CI_ANY, 0, NULL),
	LIST("dependencies.deno", dependencies[ISOL8_RT_DENO], CI_ANY, 0, NULL),
	LIST("dependencies.bash", dependencies[ISOL8_RT_BASH], CI_ANY, 0, NULL),

	OBJ("packages"),
	OBJ("packages.registries"),
	LIST("packages.registries.python", packages.registries[ISOL8_RT_PYTHON], CI_URL, 8, "Package registries"),
	LIST("packages.registries.node", packages.registries[ISOL8_RT_NODE], CI_URL, 8, NULL),
	LIST("packages.registries.bun", packages.registries[ISOL8_RT_BUN], CI_URL, 8, NULL),
	LIST("packages.registries.deno", packages.registries[ISOL8_RT_DENO], CI_URL, 8, NULL),

	OBJ("security"),
	ENUM("security.seccomp", security.seccomp, seccomps, "Security"),
	STR("security.customProfilePath", security.custom_profile_path, NULL),

	ENUM("poolStrategy", pool_strategy, strategies, "Pool"),
	{.path = "poolSize", .kind = CK_POOL_SIZE, .offset = F(pool_size), .min = 0, .max = 64},
	OBJ("pool"),
	{.path = "pool.prewarm", .kind = CK_PREWARM, .offset = F(pool), .min = 0, .max = 64},
	INT("pool.maxWarm", pool.max_warm, 0, 1024, NULL, NULL),
	INT("pool.maxSandboxes", pool.max_sandboxes, 1, 8192, NULL, NULL),
	BOOL("pool.prestart", pool.prestart, NULL),

	OBJ("remoteCode"),
	BOOL("remoteCode.enabled", remote_code.enabled, "Remote code"),
	LIST("remoteCode.allowedSchemes", remote_code.allowed_schemes, CI_ANY, 0, NULL),
	LIST("remoteCode.allowedHosts", remote_code.allowed_hosts, CI_REGEX, 0, NULL),
	LIST("remoteCode.blockedHosts", remote_code.blocked_hosts, CI_REGEX, 0, NULL),
	INT("remoteCode.maxCodeSize", remote_code.max_code_size, 1, GIB, "bytes", NULL),
	INT("remoteCode.fetchTimeoutMs", remote_code.fetch_timeout_ms, 1, 3600000, "ms", NULL),
	BOOL("remoteCode.requireHash", remote_code.require_hash, NULL),
	BOOL("remoteCode.enableCache", remote_code.enable_cache, NULL),
	INT("remoteCode.cacheTtl", remote_code.cache_ttl, 0, 365 * 86400.0, "s", NULL),

	OBJ("policy"),
	INT("policy.maxTimeoutMs", policy.max_timeout_ms, 1, MAX_TIMEOUT_MS, "ms", "Policy (what remote callers may ask for)"),
	SIZE("policy.maxMemoryLimit", policy.max_memory_limit, MIN_MEMORY, MAX_MEMORY, NULL),
	NUM("policy.maxCpuLimit", policy.max_cpu_limit, 0.01, 1024, NULL),
	INT("policy.maxPidsLimit", policy.max_pids_limit, 4, MAX_PIDS, NULL, NULL),
	INT("policy.maxOutputSize", policy.max_output_size, 1, MAX_OUTPUT, "bytes", NULL),
	SIZE("policy.maxSandboxSize", policy.max_sandbox_size, MIB, MAX_MEMORY, NULL),
	SIZE("policy.maxTmpSize", policy.max_tmp_size, MIB, MAX_MEMORY, NULL),
	BOOL("policy.allowHostNetwork", policy.allow_host_network, NULL),
	BOOL("policy.allowSeccompUnconfined", policy.allow_seccomp_unconfined, NULL),
	BOOL("policy.allowSeccompCustom", policy.allow_seccomp_custom, NULL),
	BOOL("policy.allowWritableRoot", policy.allow_writable_root, NULL),
	LIST("policy.allowedImages", policy.allowed_images, CI_ANY, 0, NULL),
	BOOL("policy.localIsTrusted", policy.local_is_trusted, NULL),

	OBJ("sessions"),
	INT("sessions.max", sessions.max, 0, 4096, NULL, "Sessions"),
	INT("sessions.idleTimeoutMs", sessions.idle_timeout_ms, 1000, 7 * DAY_MS, "ms", NULL),

	LIST("listen", listen, CI_LISTEN, ISOL8_CONFIG_MAX_LISTEN, "Daemon"),
	OBJ("tls"),
	STR("tls.cert", tls.cert, NULL),
	STR("tls.key", tls.key, NULL),
	OBJ("log"),
	ENUM("log.level", log.level, levels, NULL),
	BOOL("log.json", log.json, NULL),
};

const size_t isol8_config_n_keys = sizeof(isol8_config_keys) / sizeof(isol8_config_keys[0]);

_Static_assert(sizeof(isol8_config_keys) / sizeof(isol8_config_keys[0]) <= ISOL8_CONFIG_MAX_KEYS,
	       "ISOL8_CONFIG_MAX_KEYS is too small for the key table");

const struct isol8_config_key *isol8_config_key_find(const char *path)
{
	for (size_t i = 0; i < isol8_config_n_keys; i++)
		if (strcmp(isol8_config_keys[i].path, path) == 0)
			return &isol8_config_keys[i];
	return NULL;
}

int isol8_config_host_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (n > 1024 ? 1024 : (int)n);
}

void isol8_config_list_clear(struct isol8_config_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
	l->items = NULL;
	l->n = 0;
}

static int list_set(struct isol8_config_list *l, const char *const *items, size_t n, struct isol8_error *err)
{
	l->items = calloc(n ? n : 1, sizeof(*l->items));
	if (l->items == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	for (l->n = 0; l->n < n; l->n++) {
		l->items[l->n] = strdup(items[l->n]);
		if (l->items[l->n] == NULL)
			return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	return 0;
}

static void size_set(struct isol8_config_size *s, const char *text)
{
	snprintf(s->text, sizeof(s->text), "%s", text);
	isol8_config_parse_size(text, &s->bytes);
}

/* The original's list: what remote code may never be fetched from, its
 * "(?:" groups written as POSIX ERE groups. */
static const char *const blocked_hosts[] = {
	"^localhost$",
	"^127(\\.[0-9]{1,3}){3}$",
	"^\\[::1\\]$",
	"^::1$",
	"^10(\\.[0-9]{1,3}){3}$",
	"^172\\.(1[6-9]|2[0-9]|3[0-1])(\\.[0-9]{1,3}){2}$",
	"^192\\.168(\\.[0-9]{1,3}){2}$",
	"^169\\.254(\\.[0-9]{1,3}){2}$",
	"^metadata\\.google\\.internal$",
	"^169\\.254\\.169\\.254$",
};

int isol8_config_set_defaults(struct isol8_config *c, struct isol8_error *err)
{
	static const char *const https[] = {"https"};
	int ret;

	c->max_concurrent = 10;
	c->debug = false;
	c->defaults.timeout_ms = 30000;
	size_set(&c->defaults.memory_limit, "512m");
	c->defaults.cpu_limit = 1.0;
	snprintf(c->defaults.network, sizeof(c->defaults.network), "none");
	size_set(&c->defaults.sandbox_size, "512m");
	size_set(&c->defaults.tmp_size, "256m");
	c->defaults.readonly_root_fs = true;
	c->defaults.pids_limit = 64;
	c->defaults.max_output_size = 1 << 20;
	c->network.idle_timeout_ms = 60000;
	c->network.max_bytes = 0;
	c->network.max_connections = 64;
	c->cleanup.auto_prune = true;
	c->cleanup.max_container_age_ms = 3600000;
	snprintf(c->security.seccomp, sizeof(c->security.seccomp), "strict");
	snprintf(c->pool_strategy, sizeof(c->pool_strategy), "fast");
	c->pool_size.clean = 1;
	c->pool_size.dirty = 1;
	c->remote_code.enabled = false;
	c->remote_code.max_code_size = 10 * 1024 * 1024;
	c->remote_code.fetch_timeout_ms = 30000;
	c->remote_code.require_hash = false;
	c->remote_code.enable_cache = true;
	c->remote_code.cache_ttl = 3600;
	c->policy.max_timeout_ms = 3600000;
	size_set(&c->policy.max_memory_limit, "8g");
	c->policy.max_cpu_limit = isol8_config_host_cpus();
	c->policy.max_pids_limit = 4096;
	c->policy.max_output_size = 256 << 20;
	size_set(&c->policy.max_sandbox_size, "8g");
	size_set(&c->policy.max_tmp_size, "8g");
	c->policy.local_is_trusted = true;
	c->sessions.max = 64;
	c->sessions.idle_timeout_ms = 1800000;
	for (int i = 0; i < ISOL8_RT_COUNT; i++)
		c->pool.prewarm[i] = 1;
	c->pool.max_warm = 16;
	c->pool.max_sandboxes = 0;   /* derived once the rest is known */
	c->pool.prestart = true;
	snprintf(c->log.level, sizeof(c->log.level), "info");
	ret = list_set(&c->remote_code.allowed_schemes, https, 1, err);
	for (int i = 0; ret == 0 && i < ISOL8_RT_COUNT; i++) {
		size_t n = 0;
		while (isol8_runtime_infos[i].registries[n] != NULL)
			n++;
		if (n > 0)
			ret = list_set(&c->packages.registries[i], isol8_runtime_infos[i].registries, n, err);
	}
	if (ret == 0)
		ret = list_set(&c->remote_code.blocked_hosts, blocked_hosts,
			       sizeof(blocked_hosts) / sizeof(blocked_hosts[0]), err);
	return ret;
}
