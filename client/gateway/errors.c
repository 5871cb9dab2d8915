/* Error statuses and bodies: see errors.h. */
#include "gateway/errors.h"

#include <stdio.h>
#include <string.h>

#include "base/util.h"

static const unsigned STATUS[ISOL8_E_LAST + 1] = {
	[ISOL8_OK] = 200,
	[ISOL8_E_INVALID] = 400,
	[ISOL8_E_NOT_FOUND] = 404,
	[ISOL8_E_EXHAUSTED] = 429,
	[ISOL8_E_PRECONDITION] = 409,
	[ISOL8_E_UNAVAILABLE] = 503,
	[ISOL8_E_UNAUTHENTICATED] = 403,
	[ISOL8_E_CANCELLED] = 409, /* ended by another call (a session destroyed during it) */
	[ISOL8_E_DEADLINE] = 504,
	[ISOL8_E_UNIMPLEMENTED] = 501,
	[ISOL8_E_NOMEM] = 503,
	[ISOL8_E_IO] = 500,
	[ISOL8_E_PROTOCOL] = 500,
	[ISOL8_E_INTERNAL] = 500,
	[ISOL8_E_PERMISSION] = 403,
	[ISOL8_E_ABORTED] = 409,
};

/* A code whose status depends on its message: the first rule whose text
 * the message holds wins. */
static const struct {
	int code;
	const char *contains;
	unsigned status;
} RULES[] = {
	{ISOL8_E_EXHAUSTED, "larger than", 413},
	{ISOL8_E_EXHAUSTED, "bytes in all", 413},
	{ISOL8_E_EXHAUSTED, "too large", 413},
	{ISOL8_E_EXHAUSTED, "File too large", 413},
	{ISOL8_E_PRECONDITION, " is missing", 503},
	{ISOL8_E_PRECONDITION, "isol8 setup", 503},
	{ISOL8_E_PRECONDITION, "agent binary", 503},
};

unsigned gw_error_status(int code, const char *message)
{
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(RULES); i++) {
		if (RULES[i].code == code && message && strstr(message, RULES[i].contains))
			return RULES[i].status;
	}
	if (code <= 0 || code > ISOL8_E_LAST)
		return 500;
	return STATUS[code];
}

/* Top-level request fields isol8d names without a prefix, and their JSON paths. */
static const struct {
	const char *proto;
	const char *json;
} FIELDS[] = {
	{"runtime", "request.runtime"},
	{"code", "request.code"},
	{"cmd", "request.cmd"},
	{"code and cmd", "request.code and request.cmd"},
	{"code, files and stdin", "request.code, request.files and request.stdin"},
	{"timeout_ms", "request.timeoutMs"},
	{"env", "request.env"},
	{"file_extension", "request.fileExtension"},
	{"stdin", "request.stdin"},
	{"files", "request.files"},
	{"output_paths", "request.outputPaths"},
	{"install_packages", "request.installPackages"},
	{"session_id", "sessionId"},
	{"code_url", "request.codeUrl"},
	{"code_hash", "request.codeHash"},
	{"setup_script", "request.setupScript"},
	{"workdir", "request.workdir"},
	{"metadata", "request.metadata"},
	{"options.network_filter", "options.networkFilter"},
	{"options.seccomp", "options.security.seccomp"},
	{"options.seccomp_profile", "options.security.seccomp"},
	{"options.readonly_root_fs", "options.readonlyRootFs"},
};

/* snake_case to camelCase, n bytes of in into out. */
static void camel(const char *in, size_t n, char *out, size_t size)
{
	size_t o = 0;
	bool up = false;

	for (size_t i = 0; i < n && o + 1 < size; i++) {
		if (in[i] == '_') {
			up = true;
			continue;
		}
		out[o++] = up && in[i] >= 'a' && in[i] <= 'z' ? (char)(in[i] - 'a' + 'A') : in[i];
		up = false;
	}
	out[o] = '\0';
}

void gw_error_rename(const char *message, char *out, size_t size)
{
	const char *colon = strstr(message, ": ");
	size_t n = colon ? (size_t)(colon - message) : 0;
	char field[128];

	if (colon == NULL || n >= sizeof(field) || strchr(message, ' ') < colon) {
		/* "code and cmd: ..." has spaces: only the table knows it */
		for (size_t i = 0; colon && i < ISOL8_ARRAY_LEN(FIELDS); i++) {
			if (strlen(FIELDS[i].proto) == n && strncmp(message, FIELDS[i].proto, n) == 0) {
				snprintf(out, size, "%s%s", FIELDS[i].json, colon);
				return;
			}
		}
		snprintf(out, size, "%s", message);
		return;
	}
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(FIELDS); i++) {
		if (strlen(FIELDS[i].proto) == n && strncmp(message, FIELDS[i].proto, n) == 0) {
			snprintf(out, size, "%s%s", FIELDS[i].json, colon);
			return;
		}
	}
	/* an item of a list field: "install_packages[1]: ..." */
	size_t base = strcspn(message, "[");
	for (size_t i = 0; base < n && i < ISOL8_ARRAY_LEN(FIELDS); i++) {
		if (strlen(FIELDS[i].proto) == base && strncmp(message, FIELDS[i].proto, base) == 0) {
			snprintf(out, size, "%s%s", FIELDS[i].json, message + base);
			return;
		}
	}
	if (strncmp(message, "options.", 8) == 0) {
		camel(message, n, field, sizeof(field));
		snprintf(out, size, "%s%s", field, colon);
		return;
	}
	snprintf(out, size, "%s", message);
}

void gw_error_text(int code, const char *message, char *out, size_t size)
{
	if (code == ISOL8_E_UNAUTHENTICATED)
		snprintf(out, size, "Invalid API key");
	else
		gw_error_rename(message && *message ? message : isol8_error_code_name(code), out, size);
}

int gw_error_json(struct gw_buf *b, const char *message)
{
	return gw_buf_puts(b, "{") == 0 && gw_json_kv_str(b, "error", message) == 0 && gw_buf_puts(b, "}") == 0 ? 0
														  : -1;
}
