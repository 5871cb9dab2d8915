/*
 * The original's JSON ⇄ libisol8's structs, as pure functions (no I/O): the
 * execute envelope {"request":{…},"options":{…},"sessionId":"…"} to a
 * struct isol8_request, and results, events, sessions and cleanup results
 * back to the original's camelCase JSON.
 *
 * Rules of the request side: unknown keys are ignored and null counts as
 * absent (JavaScript clients send both); a value of the wrong type is
 * ISOL8_E_INVALID naming its path ("request.timeoutMs: expected a
 * number"). Options the original ignores over HTTP (mode, debug,
 * poolStrategy, poolSize, audit, remoteCode) are ignored here too;
 * security.customProfilePath is refused, as it names a file on the server.
 */
#ifndef ISOL8_GATEWAY_MAPPING_H
#define ISOL8_GATEWAY_MAPPING_H

#include <cjson/cJSON.h>
#include <stdbool.h>

#include "gateway/buf.h"
#include "isol8/isol8.h"

/* A parsed execute envelope. Its strings point into the cJSON tree it was
 * parsed from, which must outlive it; the arrays and decoded file contents
 * are its own (gw_exec_free). */
struct gw_exec {
	struct isol8_request req;
	struct isol8_options opts;
	bool has_options;
	bool want_files;   /* outputPaths was given: the result carries files */
	bool log_network;  /* options.logNetwork: the result carries networkLogs */
	struct isol8_kv *env, *secrets, *metadata;
	struct isol8_file *files;
	unsigned char **file_data; /* decoded contents, one per file */
	size_t n_file_data;
	const char **output_paths, **install_packages, **whitelist, **blacklist;
	char *seccomp_profile;
};

/* Fills *out from an envelope object (the HTTP body, or the WebSocket
 * "execute" message). On failure *out is freed already. */
int gw_exec_parse(const cJSON *envelope, struct gw_exec *out, struct isol8_error *err);
void gw_exec_free(struct gw_exec *x);

/* Parses text as JSON that must be an object: ISOL8_E_INVALID "body: not
 * valid JSON" / "body: expected a JSON object" (what = "body"). */
int gw_json_parse_object(const char *text, size_t len, const char *what, cJSON **out, struct isol8_error *err);

/* Typed getters for optional members: absent or null leaves *out alone and
 * returns 0; the wrong type is ISOL8_E_INVALID "<path>: expected a <type>". */
int gw_json_get_string(const cJSON *obj, const char *key, const char *path, const char **out, struct isol8_error *err);
int gw_json_get_bool(const cJSON *obj, const char *key, const char *path, bool *out, struct isol8_error *err);

/* The result object of POST /execute. */
int gw_result_json(struct gw_buf *b, const struct isol8_result *res, bool want_files, bool log_network);

/* One stream event object: {"type":"stdout","data":"…","phase":"code"}.
 * For an exit event data is the exit code as a string; an error event
 * without a phase leaves phase out. */
int gw_event_json(struct gw_buf *b, const char *type, const char *data, size_t n, const char *phase);

/* {"sessions":[{"id","isActive","lastAccessedAt","runtime","createdAt","containerId"}…]} */
int gw_sessions_json(struct gw_buf *b, const struct isol8_session_info *list, size_t n);

/* {"ok":true,"sessions":{…},"containers":{…},"images":{…}} (images only when asked). */
int gw_cleanup_json(struct gw_buf *b, const struct isol8_cleanup_result *res, bool images);

#endif
