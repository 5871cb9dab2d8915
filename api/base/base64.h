/* Base64 (RFC 4648, standard alphabet, with padding), for JSON bodies that
 * carry bytes (the gateway's files) and the WebSocket handshake. */
#ifndef ISOL8_BASE64_H
#define ISOL8_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Characters isol8_base64_encode writes for n bytes (without the NUL);
 * false when that overflows. */
bool isol8_base64_encoded_size(size_t n, size_t *out);

/* Encodes n bytes into out, which holds encoded_size + 1 (a NUL ends it);
 * returns the length written. */
size_t isol8_base64_encode(const void *data, size_t n, char *out);

/* The most bytes len characters decode to. */
static inline size_t isol8_base64_decoded_max(size_t len)
{
	return len / 4 * 3 + 3;
}

/* Decodes len characters into out (room for isol8_base64_decoded_max(len)
 * bytes) and sets *n. Accepts missing padding and ASCII whitespace (as
 * Node's Buffer.from(s, "base64") does), and "-" "_" for "+" "/". Returns
 * false on any other character or a misplaced "=". */
bool isol8_base64_decode(const char *text, size_t len, unsigned char *out, size_t *n);

#endif
