/* Base64: see base64.h. */
#include "base/base64.h"

#include <stdint.h>

static const char ALPHABET[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

bool isol8_base64_encoded_size(size_t n, size_t *out)
{
	size_t groups = n / 3 + (n % 3 != 0);

	if (groups > SIZE_MAX / 4)
		return false;
	*out = groups * 4;
	return true;
}

size_t isol8_base64_encode(const void *data, size_t n, char *out)
{
	const unsigned char *p = data;
	size_t o = 0, i = 0;

	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		out[o++] = ALPHABET[v >> 18];
		out[o++] = ALPHABET[(v >> 12) & 63];
		out[o++] = ALPHABET[(v >> 6) & 63];
		out[o++] = ALPHABET[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0);
		out[o++] = ALPHABET[v >> 18];
		out[o++] = ALPHABET[(v >> 12) & 63];
		out[o++] = i + 1 < n ? ALPHABET[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* The value of one character, -1 for whitespace (skipped), -2 for '=', -3 for anything else. */
static int value_of(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v')
		return -1;
	return ch == '=' ? -2 : -3;
}

bool isol8_base64_decode(const char *text, size_t len, unsigned char *out, size_t *n)
{
	uint32_t acc = 0;
	size_t o = 0;
	int have = 0, pads = 0;

	for (size_t i = 0; i < len; i++) {
		int v = value_of((unsigned char)text[i]);
		if (v == -1)
			continue;
		if (v == -3)
			return false;
		if (v == -2) {
			pads++;
			continue;
		}
		if (pads > 0)
			return false; /* data after padding */
		acc = acc << 6 | (uint32_t)v;
		if (++have == 4) {
			out[o++] = (unsigned char)(acc >> 16);
			out[o++] = (unsigned char)(acc >> 8);
			out[o++] = (unsigned char)acc;
			acc = 0;
			have = 0;
		}
	}
	if (have == 1 || pads > 2 || (pads > 0 && have + pads != 4))
		return false;
	if (have == 2) {
		out[o++] = (unsigned char)(acc >> 4);
	} else if (have == 3) {
		out[o++] = (unsigned char)(acc >> 10);
		out[o++] = (unsigned char)(acc >> 2);
	}
	*n = o;
	return true;
}
