/*
 * `isol8 mcp`: a Model Context Protocol server over stdio, a client of
 * isol8d through libisol8.
 *
 * The transport: one JSON-RPC 2.0 message per line on stdin, one reply per
 * request line on stdout, in order (the loop handles a line at a time);
 * notifications and responses get none; stderr is for logs. A line past
 * ISOL8_MCP_LINE_MAX is skipped to its newline and answered with an
 * Invalid Request error (id null).
 *
 * The protocol layer (mcp_rpc.c: methods and JSON-RPC errors; mcp_tools.c:
 * the tools, their schemas and results) is pure: it calls isol8d only
 * through struct isol8_mcp_backend, so its unit tests need no daemon.
 * mcp.c holds the verb, the stdio loop and the libisol8 backend.
 *
 * Errors: a message that is not JSON is -32700 (id null); one that is not
 * a request -32600; an unknown method -32601; bad params (initialize
 * without protocolVersion, tools/call without a known tool name or with
 * arguments that are not an object) -32602. A tool's arguments that do not
 * fit its schema, and a call isol8d could not do, are tool results with
 * isError true and a message, so the model can correct itself (as the
 * protocol asks); nothing a client sends ends the server.
 */
#ifndef ISOL8_CLI_MCP_H
#define ISOL8_CLI_MCP_H

#include <stdbool.h>
#include <stddef.h>

#include "isol8/isol8.h"

/* A message line's maximum: a put_file of 8 MiB in base64 fits. */
#define ISOL8_MCP_LINE_MAX (16u << 20)
/* What get_file returns at most (and put_file takes). */
#define ISOL8_MCP_FILE_MAX (8u << 20)

/* The protocol revisions served, newest first; a client asking for another
 * gets the newest. */
#define ISOL8_MCP_PROTOCOL_LATEST "2025-11-25"

/* What the tools call. Each returns 0 or a negative isol8_errc with err set. */
struct isol8_mcp_backend {
	int (*execute)(void *userdata, const struct isol8_request *req, struct isol8_result **out,
		       struct isol8_error *err);
	void (*result_free)(struct isol8_result *res);
	int (*list_sessions)(void *userdata, struct isol8_session_info **out, size_t *n, struct isol8_error *err);
	void (*session_infos_free)(struct isol8_session_info *list, size_t n);
	int (*destroy_session)(void *userdata, const char *session_id, bool *existed, struct isol8_error *err);
	int (*put_file)(void *userdata, const char *session_id, const char *path, const void *data, size_t size,
			struct isol8_error *err);
	/* At most max bytes, else ISOL8_E_EXHAUSTED; *data malloc'd (free()). */
	int (*get_file)(void *userdata, const char *session_id, const char *path, size_t max, unsigned char **data,
			size_t *size, struct isol8_error *err);
	void *userdata;
};

struct isol8_mcp {
	const struct isol8_mcp_backend *backend;
	char protocol_version[16]; /* negotiated by initialize ("" before) */
	bool initialized;          /* notifications/initialized came */
};

void isol8_mcp_init(struct isol8_mcp *m, const struct isol8_mcp_backend *backend);

/* Handles one message (a line without its newline, len bytes). Returns 0
 * with *reply a malloc'd JSON line (no newline) to send, or NULL when none
 * is due; -ISOL8_E_NOMEM when no reply could be built. */
int isol8_mcp_handle(struct isol8_mcp *m, const char *line, size_t len, char **reply);

/* The reply to a line past limit bytes (malloc'd; NULL without memory). */
char *isol8_mcp_too_large(size_t limit);

/* ---- mcp_tools.c: the tools ---- */

/* The tools/list result's "tools" array; NULL without memory. */
struct cJSON;
struct cJSON *isol8_mcp_tools_list(void);

/* Whether name is a tool. */
bool isol8_mcp_tool_exists(const char *name);

/* Calls tool name with args (an object, or NULL for none): the CallToolResult
 * object (isError true for a tool error); NULL without memory. */
struct cJSON *isol8_mcp_tool_call(struct isol8_mcp *m, const char *name, const struct cJSON *args);

/* ---- mcp_text.c: text for JSON ---- */

/* Whether data is UTF-8 without NUL bytes (so it can be a JSON string as is). */
bool isol8_mcp_is_text(const void *data, size_t size);
/* data as a NUL-terminated UTF-8 string: NUL bytes and invalid sequences
 * become U+FFFD. malloc'd; NULL without memory. */
char *isol8_mcp_text(const void *data, size_t size);
/* Base64 (RFC 4648, padded); malloc'd, NULL without memory. */
char *isol8_mcp_base64_encode(const void *data, size_t size);
/* Decodes base64 (whitespace-free, padding optional); -1 when text is not
 * base64 or decodes past max bytes; *out malloc'd. */
int isol8_mcp_base64_decode(const char *text, size_t max, unsigned char **out, size_t *size);

#endif
