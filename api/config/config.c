/* Finding, reading and resolving the configuration file: see config.h. */
#include "config/config.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/paths.h"
#include "base/util.h"
#include "config/config_internal.h"
#include "config/config_json.h"
#include "config/config_read.h"

/* Reads a regular file of at most max bytes into *out (NUL-terminated). */
static int read_file(const char *path, size_t max, char **out, size_t *len, struct isol8_error *err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	ssize_t n;

	if (fd < 0)
		return isol8_error_errno(err, ISOL8_E_NOT_FOUND, errno, "\"%s\"", path);
	if (fstat(fd, &st) < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "\"%s\"", path);
	if (!S_ISREG(st.st_mode))
		return isol8_error_set(err, ISOL8_E_INVALID, "\"%s\" is not a regular file", path);
	buf = malloc(max + 1);
	if (buf == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	/* one byte more than allowed tells a file that is too big */
	n = isol8_read_full(fd, buf, max + 1);
	if (n < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "reading \"%s\"", path);
	if ((size_t)n > max)
		return isol8_error_set(err, ISOL8_E_INVALID, "\"%s\" is larger than %zu bytes", path, max);
	buf[n] = '\0';
	*len = (size_t)n;
	*out = ISOL8_TAKE(buf);
	return 0;
}

/* path as absolute into buf (it exists: realpath resolves it). */
static int absolute(const char *path, char *buf, size_t size, struct isol8_error *err)
{
	char resolved[PATH_MAX];

	if (realpath(path, resolved) == NULL)
		return isol8_error_errno(err, ISOL8_E_NOT_FOUND, errno, "\"%s\"", path);
	if ((size_t)snprintf(buf, size, "%s", resolved) >= size)
		return isol8_error_set(err, ISOL8_E_INVALID, "\"%s\": the path is too long", resolved);
	return 0;
}

/* 1 when path exists, 0 when it does not, negative on another error. */
static int exists(const char *path, struct isol8_error *err)
{
	struct stat st;

	if (stat(path, &st) == 0)
		return 1;
	if (errno == ENOENT || errno == ENOTDIR)
		return 0;
	return isol8_error_errno(err, ISOL8_E_IO, errno, "configuration file \"%s\"", path);
}

static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home != NULL && home[0] == '/')
		return home;
	pw = getpwuid(getuid());
	return pw != NULL && pw->pw_dir != NULL ? pw->pw_dir : NULL;
}

int isol8_config_find(const char *explicit_path, char *buf, size_t size, struct isol8_error *err)
{
	const char *given = explicit_path, *from = "--config";
	const char *home;
	char path[PATH_MAX];
	int ret;

	buf[0] = '\0';
	if (given == NULL || given[0] == '\0') {
		given = getenv(ISOL8_CONFIG_ENV);
		from = ISOL8_CONFIG_ENV;
	}
	if (given != NULL && given[0] != '\0') {
		ret = exists(given, err);
		if (ret == 0)
			return isol8_error_set(err, ISOL8_E_NOT_FOUND, "%s: configuration file \"%s\" does not exist",
					       from, given);
		return ret < 0 ? ret : absolute(given, buf, size, err);
	}
	ret = exists(ISOL8_CONFIG_FILE_NAME, err);
	if (ret != 0)
		return ret < 0 ? ret : absolute(ISOL8_CONFIG_FILE_NAME, buf, size, err);
	home = home_dir();
	if (home == NULL || (size_t)snprintf(path, sizeof(path), "%s/.isol8/config.json", home) >= sizeof(path))
		return 0;
	ret = exists(path, err);
	if (ret != 0)
		return ret < 0 ? ret : absolute(path, buf, size, err);
	return 0;
}

/* security.customProfilePath: read and checked to be one JSON object; a
 * relative path is relative to the configuration file's directory. */
static int read_profile(struct isol8_config *c, struct isol8_error *err)
{
	const char *given = c->security.custom_profile_path;
	char path[PATH_MAX], dir[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	cJSON *json = NULL;
	size_t len;
	int ret;

	if (strcmp(c->security.seccomp, "custom") != 0)
		return 0;
	if (given == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "security.customProfilePath: required when security.seccomp is \"custom\"");
	isol8_dirname(c->path[0] ? c->path : ".", dir, sizeof(dir));
	if ((size_t)snprintf(path, sizeof(path), "%s%s%s", given[0] == '/' ? "" : dir, given[0] == '/' ? "" : "/",
			     given) >= sizeof(path))
		return isol8_error_set(err, ISOL8_E_INVALID, "security.customProfilePath: \"%s\" is too long", given);
	ret = read_file(path, ISOL8_CONFIG_PROFILE_MAX, &text, &len, err);
	if (ret == 0)
		ret = isol8_config_json_parse(text, len, &json, err);
	if (ret == 0 && !cJSON_IsObject(json))
		ret = isol8_error_set(err, ISOL8_E_INVALID, "not a JSON object");
	cJSON_Delete(json);
	if (ret < 0) {
		if (err->message[0] == '"')
			return isol8_error_prefix(err, "security.customProfilePath");
		return isol8_error_prefix(err, "security.customProfilePath: seccomp profile \"%s\"", path);
	}
	c->security.custom_profile = ISOL8_TAKE(text);
	return 0;
}

static bool from_default(const struct isol8_config *c, const char *path)
{
	const struct isol8_config_key *k = isol8_config_key_find(path);
	return k == NULL || c->source[isol8_config_key_index(k)] == ISOL8_CONFIG_DEFAULT;
}

static void mark(struct isol8_config *c, const char *path, enum isol8_config_source source)
{
	const struct isol8_config_key *k = isol8_config_key_find(path);
	if (k != NULL)
		c->source[isol8_config_key_index(k)] = (unsigned char)source;
}

/* Digits after the point that show v exactly enough: none for integers. */
static int decimals(double v)
{
	for (int d = 0; d < 6; d++) {
		double scale = pow(10, d);
		if (round(v * scale) == v * scale)
			return d;
	}
	return 6;
}

/* A default above its ceiling would refuse every request that leaves it unset. */
static int check_ceilings(const struct isol8_config *c, struct isol8_error *err)
{
	const struct {
		const char *key, *ceiling;
		double value, max;
		const char *text, *max_text;
	} rows[] = {
		{"defaults.timeoutMs", "policy.maxTimeoutMs", (double)c->defaults.timeout_ms,
		 (double)c->policy.max_timeout_ms, NULL, NULL},
		{"defaults.memoryLimit", "policy.maxMemoryLimit", (double)c->defaults.memory_limit.bytes,
		 (double)c->policy.max_memory_limit.bytes, c->defaults.memory_limit.text, c->policy.max_memory_limit.text},
		{"defaults.cpuLimit", "policy.maxCpuLimit", c->defaults.cpu_limit, c->policy.max_cpu_limit, NULL, NULL},
		{"defaults.pidsLimit", "policy.maxPidsLimit", (double)c->defaults.pids_limit,
		 (double)c->policy.max_pids_limit, NULL, NULL},
		{"defaults.maxOutputSize", "policy.maxOutputSize", (double)c->defaults.max_output_size,
		 (double)c->policy.max_output_size, NULL, NULL},
		{"defaults.sandboxSize", "policy.maxSandboxSize", (double)c->defaults.sandbox_size.bytes,
		 (double)c->policy.max_sandbox_size.bytes, c->defaults.sandbox_size.text, c->policy.max_sandbox_size.text},
		{"defaults.tmpSize", "policy.maxTmpSize", (double)c->defaults.tmp_size.bytes,
		 (double)c->policy.max_tmp_size.bytes, c->defaults.tmp_size.text, c->policy.max_tmp_size.text},
	};

	for (size_t i = 0; i < ISOL8_ARRAY_LEN(rows); i++) {
		if (rows[i].value <= rows[i].max)
			continue;
		if (rows[i].text != NULL)
			return isol8_error_set(err, ISOL8_E_INVALID, "%s: %s is above %s (%s)", rows[i].key, rows[i].text,
					       rows[i].ceiling, rows[i].max_text);
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: %.*f is above %s (%.*f)", rows[i].key,
				       decimals(rows[i].value), rows[i].value, rows[i].ceiling, decimals(rows[i].max),
				       rows[i].max);
	}
	if (c->defaults.cpu_limit > isol8_config_host_cpus())
		return isol8_error_set(err, ISOL8_E_INVALID, "defaults.cpuLimit: %g is more than this host's %d CPUs",
				       c->defaults.cpu_limit, isol8_config_host_cpus());
	return 0;
}

/* Checks between keys, the profile file, and the values derived from others. */
static int finish(struct isol8_config *c, struct isol8_error *err)
{
	int ret;

	if ((c->tls.cert == NULL) != (c->tls.key == NULL))
		return isol8_error_set(err, ISOL8_E_INVALID, "tls: cert and key go together (set both or neither)");
	ret = check_ceilings(c, err);
	if (ret == 0)
		ret = read_profile(c, err);
	if (ret < 0)
		return ret;
	/* debug: true is the original's switch for debug logging */
	if (from_default(c, "log.level") && c->debug) {
		snprintf(c->log.level, sizeof(c->log.level), "debug");
		mark(c, "log.level", ISOL8_CONFIG_FILE);
	}
	/* the original's poolSize.clean: clean sandboxes kept per runtime */
	if (from_default(c, "pool.prewarm") && !from_default(c, "poolSize")) {
		for (int i = 0; i < ISOL8_RT_COUNT; i++)
			c->pool.prewarm[i] = c->pool_size.clean;
		mark(c, "pool.prewarm", ISOL8_CONFIG_FILE);
	}
	if (from_default(c, "pool.maxSandboxes"))
		c->pool.max_sandboxes = c->max_concurrent + c->pool.max_warm;
	return 0;
}

int isol8_config_parse(struct isol8_config **out, const char *text, size_t len, const char *path,
		       struct isol8_error *err)
{
	struct isol8_config *c = calloc(1, sizeof(*c));
	_cleanup_free_ char *copy = NULL;
	cJSON *root = NULL;
	int ret;

	if (c == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	ret = isol8_config_set_defaults(c, err);
	if (ret == 0 && path != NULL) {
		if ((size_t)snprintf(c->path, sizeof(c->path), "%s", path) >= sizeof(c->path))
			ret = isol8_error_set(err, ISOL8_E_INVALID, "the path is too long");
		else if (len > ISOL8_CONFIG_FILE_MAX)
			ret = isol8_error_set(err, ISOL8_E_INVALID, "larger than %u bytes", ISOL8_CONFIG_FILE_MAX);
		else if ((copy = malloc(len + 1)) == NULL)
			ret = isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
		if (ret == 0) {
			memcpy(copy, text, len);
			copy[len] = '\0';
			ret = isol8_config_json_parse(copy, len, &root, err);
		}
		if (ret == 0)
			ret = isol8_config_read_object(c, root, "", err);
		cJSON_Delete(root);
	}
	if (ret == 0)
		ret = finish(c, err);
	if (ret < 0) {
		if (path != NULL)
			isol8_error_prefix(err, "%s", path);
		isol8_config_free(c);
		return ret;
	}
	*out = c;
	return 0;
}

int isol8_config_load(struct isol8_config **out, const char *explicit_path, struct isol8_error *err)
{
	char path[PATH_MAX];
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int ret;

	ret = isol8_config_find(explicit_path, path, sizeof(path), err);
	if (ret < 0)
		return ret;
	if (path[0] == '\0')
		return isol8_config_parse(out, NULL, 0, NULL, err);
	ret = read_file(path, ISOL8_CONFIG_FILE_MAX, &text, &len, err);
	if (ret < 0)
		return isol8_error_prefix(err, "configuration file");
	return isol8_config_parse(out, text, len, path, err);
}

void isol8_config_set_flag(struct isol8_config *c, const char *json_path, const char *flag)
{
	const struct isol8_config_key *k = isol8_config_key_find(json_path);

	if (k == NULL)
		return;
	c->source[isol8_config_key_index(k)] = ISOL8_CONFIG_FLAG;
	c->flag[isol8_config_key_index(k)] = flag;
}

enum isol8_config_source isol8_config_source_of(const struct isol8_config *c, const char *json_path)
{
	const struct isol8_config_key *k = isol8_config_key_find(json_path);

	return k == NULL ? ISOL8_CONFIG_DEFAULT : (enum isol8_config_source)c->source[isol8_config_key_index(k)];
}

void isol8_config_free(struct isol8_config *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < isol8_config_n_keys; i++) {
		const struct isol8_config_key *k = &isol8_config_keys[i];
		if (k->kind == CK_LIST)
			isol8_config_list_clear(ISOL8_CONFIG_FIELD(c, k));
		else if (k->kind == CK_STRING)
			free(*(char **)ISOL8_CONFIG_FIELD(c, k));
	}
	free(c->security.custom_profile);
	free(c);
}
