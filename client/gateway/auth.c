/* Bearer tokens: see auth.h. */
#include "gateway/auth.h"

#include <strings.h>
#include <string.h>

const char *gw_auth_token(const char *header, size_t *len)
{
	const char *p;
	size_t n;

	if (header == NULL || strncasecmp(header, "Bearer", 6) != 0 || (header[6] != ' ' && header[6] != '\t'))
		return NULL;
	p = header + 6;
	while (*p == ' ' || *p == '\t')
		p++;
	n = strlen(p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	if (n == 0)
		return NULL;
	*len = n;
	return p;
}

bool gw_auth_equal(const char *token, size_t len, const char *key)
{
	size_t klen = strlen(key);
	unsigned char diff = (unsigned char)(len != klen);

	for (size_t i = 0; i < len; i++)
		diff |= (unsigned char)(token[i] ^ key[i % (klen ? klen : 1)]);
	return diff == 0 && klen > 0;
}
