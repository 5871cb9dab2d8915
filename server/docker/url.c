/* Building request paths: percent-encoding, formatting, label filters. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker/docker_internal.h"
#include "base/util.h"

/* Longest image reference or container id/name accepted into a path. */
#define REF_MAX 512u

static bool is_unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '.' || c == '_' || c == '~';
}

char *isol8_docker_url_escape(const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t len = strlen(s), size;
	char *out, *p;

	if (!isol8_size_mul(len, 3, &size) || !isol8_size_add(size, 1, &size))
		return NULL;
	out = malloc(size);
	if (out == NULL)
		return NULL;
	p = out;
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (is_unreserved(*c)) {
			*p++ = (char)*c;
			continue;
		}
		*p++ = '%';
		*p++ = hex[*c >> 4];
		*p++ = hex[*c & 15];
	}
	*p = '\0';
	return out;
}

char *isol8_docker_format(struct isol8_error *err, const char *fmt, ...)
{
	va_list ap;
	char *out = NULL;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&out, fmt, ap);
	va_end(ap);
	if (n < 0) {
		isol8_error_set(err, ISOL8_E_NOMEM, "docker: out of memory");
		return NULL;
	}
	return out;
}

int isol8_docker_label_filters(const char *label_filter, char **out, struct isol8_error *err)
{
	_cleanup_cjson_ cJSON *filters = cJSON_CreateObject();
	cJSON *labels = cJSON_AddArrayToObject(filters, "label");
	cJSON *item = cJSON_CreateString(label_filter);
	_cleanup_free_ char *text = NULL;

	*out = NULL;
	if (labels == NULL || item == NULL) {
		cJSON_Delete(item);
		return isol8_error_set(err, ISOL8_E_NOMEM, "docker: out of memory");
	}
	cJSON_AddItemToArray(labels, item);
	text = cJSON_PrintUnformatted(filters);
	*out = text ? isol8_docker_url_escape(text) : NULL;
	if (*out == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "docker: out of memory");
	return 0;
}

int isol8_docker_list_path(const char *base, const char *label_filter, char **out, struct isol8_error *err)
{
	_cleanup_free_ char *filters = NULL;
	int r;

	*out = NULL;
	if (label_filter != NULL && (r = isol8_docker_label_filters(label_filter, &filters, err)) < 0)
		return r;
	*out = filters ? isol8_docker_format(NULL, "%s%cfilters=%s", base, strchr(base, '?') ? '&' : '?', filters)
		       : strdup(base);
	if (*out == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "docker: out of memory");
	return 0;
}

int isol8_docker_check_ref(const char *what, const char *ref, struct isol8_error *err)
{
	if (ref == NULL || ref[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "docker: %s is empty", what);
	if (strlen(ref) > REF_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "docker: %s is longer than %u bytes", what, REF_MAX);
	return 0;
}

int isol8_docker_object_path(const char *collection, const char *what, const char *ref, const char *suffix,
			     char **out, struct isol8_error *err)
{
	_cleanup_free_ char *escaped = NULL;
	int r;

	*out = NULL;
	r = isol8_docker_check_ref(what, ref, err);
	if (r < 0)
		return r;
	escaped = isol8_docker_url_escape(ref);
	if (escaped != NULL)
		*out = isol8_docker_format(NULL, "/%s/%s%s", collection, escaped, suffix);
	if (*out == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "docker: out of memory");
	return 0;
}
