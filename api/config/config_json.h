/* Strict JSON for the configuration loader: see config_json.c. */
#ifndef ISOL8_CONFIG_JSON_H
#define ISOL8_CONFIG_JSON_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "isol8/error.h"

/* Checks that text (len bytes) is UTF-8 without NUL bytes, with strict JSON
 * numbers and strings; errors name the line and column. */
int isol8_config_json_check(const char *text, size_t len, struct isol8_error *err);

/* Checks and parses text, which must have a NUL at text[len]. *out is the
 * caller's to cJSON_Delete. */
int isol8_config_json_parse(const char *text, size_t len, cJSON **out, struct isol8_error *err);

#endif
