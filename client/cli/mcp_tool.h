/* Helpers of the MCP tools (mcp_result.c) and the tools kept in files of
 * their own. Internal to the mcp*.c files. */
#ifndef ISOL8_CLI_MCP_TOOL_H
#define ISOL8_CLI_MCP_TOOL_H

#include <cjson/cJSON.h>

#include "cli/mcp.h"

/* {"content":[{"type":"text","text":text}],"isError":is_error}; NULL without memory. */
cJSON *isol8_mcp_text_result(const char *text, bool is_error);
/* A tool error: isError true and the message. */
cJSON *isol8_mcp_tool_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* r with structured (taken) as its structuredContent; NULL (both freed) without memory. */
cJSON *isol8_mcp_with_structured(cJSON *r, cJSON *structured);
/* A string argument: NULL when absent; *bad names the argument when it is
 * there but not a string. */
const char *isol8_mcp_arg_string(const cJSON *args, const char *name, const char **bad);
/* The required non-empty string arguments of names (NULL-ended) into out,
 * in order: a tool error naming the first one missing, else NULL. */
cJSON *isol8_mcp_required_strings(const cJSON *args, const char *const *names, const char **out);

/* mcp_files.c: put_file and get_file. */
extern const char isol8_mcp_put_input[], isol8_mcp_get_input[], isol8_mcp_get_output[];
cJSON *isol8_mcp_put_file(struct isol8_mcp *m, const cJSON *args);
cJSON *isol8_mcp_get_file(struct isol8_mcp *m, const cJSON *args);

static inline void isol8_mcp_cjson_deletep(cJSON **p)
{
	cJSON_Delete(*p);
}
#define _cleanup_cjson_ __attribute__((cleanup(isol8_mcp_cjson_deletep)))

#endif
