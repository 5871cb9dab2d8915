/*
 * The isol8 configuration file (isol8.config.json), shared by isol8d and the
 * CLI: where it is, what it may say, and the configuration it resolves to.
 *
 * Finding it: the path the caller was given (--config PATH), else
 * $ISOL8_CONFIG, else ./isol8.config.json, else ~/.isol8/config.json, else
 * none (built-in defaults). A path given by --config or $ISOL8_CONFIG must
 * exist; the two searched ones are skipped when absent.
 *
 * Reading it: one JSON object of at most ISOL8_CONFIG_FILE_MAX bytes of
 * UTF-8. Every key is checked: an unknown key, a wrong type or a value out
 * of range is an error naming its JSON path and the accepted form
 * ("defaults.memoryLimit: expected a size like \"512m\""), never ignored.
 * The file's values merge deeply over the built-in defaults (a list
 * replaces the default list), and each value remembers where it came from:
 * the defaults, the file, or a flag of the program (isol8_config_set_flag).
 * schema/isol8.config.schema.json describes the same keys for editors;
 * tests/config holds both to one corpus.
 *
 * Ownership: isol8_config_load and isol8_config_parse return a
 * configuration that isol8_config_free frees with every string and list it
 * holds. Nothing here logs or exits.
 */
#ifndef ISOL8_CONFIG_H
#define ISOL8_CONFIG_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "base/runtimes.h"
#include "isol8/error.h"

#define ISOL8_CONFIG_FILE_MAX (1u << 20)
#define ISOL8_CONFIG_FILE_NAME "isol8.config.json"
#define ISOL8_CONFIG_ENV "ISOL8_CONFIG"
/* A custom seccomp profile file is read whole, up to this size. */
#define ISOL8_CONFIG_PROFILE_MAX (1u << 20)
/* Table rows (config_keys.c), with room to grow. */
#define ISOL8_CONFIG_MAX_KEYS 96
#define ISOL8_CONFIG_MAX_LISTEN 8

enum isol8_config_source {
	ISOL8_CONFIG_DEFAULT,  /* built in */
	ISOL8_CONFIG_FILE,     /* the configuration file */
	ISOL8_CONFIG_FLAG,     /* a command-line flag of the program */
};

/* A size as written ("512m") and in bytes. */
struct isol8_config_size {
	char text[24];
	int64_t bytes;
};

/* A list of owned strings. */
struct isol8_config_list {
	char **items;
	size_t n;
};

struct isol8_config {
	char path[PATH_MAX];       /* absolute path of the file read; "" for none */
	char schema_ref[512];      /* "$schema", kept for the JSON output; "" when absent */

	int64_t max_concurrent;
	bool debug;
	struct {
		int64_t timeout_ms;
		struct isol8_config_size memory_limit;
		double cpu_limit;
		char network[16];              /* none, host, filtered */
		struct isol8_config_size sandbox_size;
		struct isol8_config_size tmp_size;
		bool readonly_root_fs;
		int64_t pids_limit;
		int64_t max_output_size;
	} defaults;
	struct {
		struct isol8_config_list whitelist, blacklist;  /* POSIX extended regexes */
		struct isol8_config_list allowed_ranges;       /* "127.0.0.1", "10.0.0.0/8": the SSRF guard's exceptions */
		char *ca_bundle;                   /* PEM file trusted in filtered sandboxes besides the image's, or NULL */
		int64_t idle_timeout_ms;           /* a tunnel quiet this long is closed */
		int64_t max_bytes;                 /* through the proxy per execution (0: no cap) */
		int64_t max_connections;           /* open at once per sandbox */
	} network;
	struct {
		bool auto_prune;
		int64_t max_container_age_ms;
	} cleanup;
	struct isol8_config_list dependencies[ISOL8_RT_COUNT];  /* by enum isol8_runtime_id */
	struct {
		/* by enum isol8_runtime_id (bash has none): URLs, the first the
		 * installer's index or registry, the rest hosts it downloads from */
		struct isol8_config_list registries[ISOL8_RT_COUNT];
	} packages;
	struct {
		char seccomp[16];              /* strict, unconfined, custom */
		char *custom_profile_path;     /* as written, or NULL */
		char *custom_profile;          /* the profile's JSON text (seccomp custom), or NULL */
	} security;
	char pool_strategy[8];             /* fast, secure */
	struct {
		bool is_number;                /* written as one number (clean = dirty) */
		int64_t clean, dirty;
	} pool_size;
	struct {
		bool enabled;
		struct isol8_config_list allowed_schemes, allowed_hosts, blocked_hosts;
		int64_t max_code_size;
		int64_t fetch_timeout_ms;
		bool require_hash;
		bool enable_cache;
		int64_t cache_ttl;
	} remote_code;
	struct {
		int64_t max_timeout_ms;
		struct isol8_config_size max_memory_limit;
		double max_cpu_limit;
		int64_t max_pids_limit;
		int64_t max_output_size;
		struct isol8_config_size max_sandbox_size;
		struct isol8_config_size max_tmp_size;
		bool allow_host_network;
		bool allow_seccomp_unconfined;
		bool allow_seccomp_custom;
		bool allow_writable_root;
		struct isol8_config_list allowed_images;
		bool local_is_trusted;
	} policy;
	struct {
		int64_t max;
		int64_t idle_timeout_ms;
	} sessions;
	struct {
		bool prewarm_by_runtime;       /* written as an object of runtimes */
		int64_t prewarm[ISOL8_RT_COUNT];
		int64_t max_warm;
		int64_t max_sandboxes;
		bool prestart;
	} pool;
	struct isol8_config_list listen;   /* "HOST:PORT" */
	struct {
		char *cert, *key;
	} tls;
	struct {
		char level[8];                 /* debug, info, warn, error */
		bool json;
	} log;

	/* Where each key's value came from, by key row (config_keys.c). */
	unsigned char source[ISOL8_CONFIG_MAX_KEYS];
	const char *flag[ISOL8_CONFIG_MAX_KEYS];   /* static flag names, for ISOL8_CONFIG_FLAG */
};

/* Where the configuration file is, by the order above: its path into buf
 * (size PATH_MAX), or "" when there is none. explicit_path: --config, or
 * NULL. A given path (explicit or $ISOL8_CONFIG) that does not exist is
 * ISOL8_E_NOT_FOUND naming it and where it came from. */
int isol8_config_find(const char *explicit_path, char *buf, size_t size, struct isol8_error *err);

/* Finds (as isol8_config_find), reads, checks and resolves the
 * configuration; the built-in defaults when there is no file. */
int isol8_config_load(struct isol8_config **out, const char *explicit_path, struct isol8_error *err);

/* Resolves the configuration from text (len bytes) as if read from path
 * (NULL: no file, text ignored). A relative security.customProfilePath is
 * read relative to path's directory. */
int isol8_config_parse(struct isol8_config **out, const char *text, size_t len, const char *path,
		       struct isol8_error *err);

void isol8_config_free(struct isol8_config *c);

/* Marks the key at json_path ("maxConcurrent") as set by flag (a static
 * string, e.g. "--max-concurrent"): the program's flag won over the file.
 * The caller sets the value itself. Unknown paths are our bug: ignored. */
void isol8_config_set_flag(struct isol8_config *c, const char *json_path, const char *flag);

/* Where the value of the key at json_path came from (ISOL8_CONFIG_DEFAULT
 * for a path that is not a key). */
enum isol8_config_source isol8_config_source_of(const struct isol8_config *c, const char *json_path);

/* The human-readable form: "Isol8 Configuration", the source file, then
 * one section per part with each value and where it came from. */
int isol8_config_print_text(const struct isol8_config *c, FILE *out);

/* The resolved configuration as pretty JSON that the schema accepts
 * (malloc'd, NUL-terminated), or NULL when memory runs out. */
char *isol8_config_to_json(const struct isol8_config *c);

/* Parses a size as the file writes it ("512m", "1g", "64k", "1048576" bytes;
 * k/m/g/t, any case, optionally followed by b). -1 when it is not one or
 * does not fit in int64_t. */
int isol8_config_parse_size(const char *text, int64_t *out);

/* The host's online CPUs (at least 1): the default of policy.maxCpuLimit. */
int isol8_config_host_cpus(void);

#endif
