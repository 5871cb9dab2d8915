/* Bytes as JSON text for the MCP server: UTF-8 checks and repair, base64.
 * See mcp.h. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/util.h"
#include "cli/mcp.h"

/* A valid UTF-8 sequence at p that is not a NUL: its length, else 0. */
static size_t utf8_sequence(const unsigned char *p, size_t n)
{
	return p[0] == 0 ? 0 : isol8_utf8_sequence(p, n);
}

bool isol8_mcp_is_text(const void *data, size_t size)
{
	const unsigned char *p = data;

	for (size_t i = 0; i < size;) {
		size_t n = utf8_sequence(p + i, size - i);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

char *isol8_mcp_text(const void *data, size_t size)
{
	static const char replacement[] = "\xef\xbf\xbd";
	const unsigned char *p = data;
	char *out, *o;

	if (size > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(size * 3 + 1); /* a bad byte becomes 3 */
	if (out == NULL)
		return NULL;
	o = out;
	for (size_t i = 0; i < size;) {
		size_t n = utf8_sequence(p + i, size - i);
		if (n == 0) {
			memcpy(o, replacement, 3);
			o += 3;
			i++;
		} else {
			memcpy(o, p + i, n);
			o += n;
			i += n;
		}
	}
	*o = '\0';
	return out;
}

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *isol8_mcp_base64_encode(const void *data, size_t size)
{
	size_t len;
	char *out;

	if (!isol8_base64_encoded_size(size, &len) || len == SIZE_MAX || (out = malloc(len + 1)) == NULL)
		return NULL;
	isol8_base64_encode(data, size, out);
	return out;
}

static int sextet(char c)
{
	const char *at = c ? strchr(alphabet, c) : NULL;

	return at ? (int)(at - alphabet) : -1;
}

int isol8_mcp_base64_decode(const char *text, size_t max, unsigned char **out, size_t *size)
{
	size_t len = strlen(text), n = 0;
	unsigned char *buf;
	uint32_t acc = 0;
	int bits = 0;

	while (len > 0 && text[len - 1] == '=' && len % 4 != 1)
		len--;
	if (len % 4 == 1 || len / 4 * 3 + 2 > max + 2)
		return -1;
	buf = malloc(len / 4 * 3 + 3);
	if (buf == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = sextet(text[i]);
		if (v < 0) {
			free(buf);
			return -1;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (unsigned char)(acc >> bits);
		}
	}
	if (n > max) {
		free(buf);
		return -1;
	}
	*out = buf;
	*size = n;
	return 0;
}
