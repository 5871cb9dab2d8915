/* The copies results are made of: see client.h. */
#include <stdlib.h>
#include <string.h>

#include "lib/client.h"

char *isol8_copy_bytes(bool *oom, const void *data, size_t len)
{
	char *p;

	if (len == SIZE_MAX || (p = malloc(len + 1)) == NULL) {
		*oom = true;
		return NULL;
	}
	if (len > 0)
		memcpy(p, data, len);
	p[len] = '\0';
	return p;
}

char *isol8_copy_str(bool *oom, const char *s)
{
	if (s == NULL)
		s = "";
	return isol8_copy_bytes(oom, s, strlen(s));
}

char *isol8_copy_str_opt(bool *oom, const char *s)
{
	if (s == NULL || s[0] == '\0')
		return NULL;
	return isol8_copy_str(oom, s);
}

void *isol8_copy_array(bool *oom, size_t n, size_t size)
{
	void *p;

	if (n == 0)
		return NULL;
	p = calloc(n, size);
	if (p == NULL)
		*oom = true;
	return p;
}

int isol8_client_nomem(struct isol8_error *err, const char *what)
{
	return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory %s", what);
}
