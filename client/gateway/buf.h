/*
 * A bounded growing byte buffer and a JSON writer on it: what the gateway
 * uses for request bodies, response bodies and SSE/WebSocket events. Every
 * buffer has a maximum (bytes we did not produce never grow one without
 * bound); an append past it, or a failed allocation, returns -1 and leaves
 * the buffer as it was.
 *
 * The JSON writer escapes strings itself (cJSON cannot carry NUL bytes or
 * bytes that are not UTF-8): control characters become \n, \t, \u0000...,
 * and each byte of an invalid UTF-8 sequence becomes U+FFFD, so program
 * output always makes valid JSON.
 */
#ifndef ISOL8_GATEWAY_BUF_H
#define ISOL8_GATEWAY_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct gw_buf {
	char *data; /* NUL-terminated after len (when non-NULL) */
	size_t len;
	size_t cap;
	size_t max; /* most bytes it may hold; 0 = SIZE_MAX / 2 */
};

#define GW_BUF_INIT(maximum) {NULL, 0, 0, (maximum)}

int gw_buf_append(struct gw_buf *b, const void *data, size_t n);
int gw_buf_puts(struct gw_buf *b, const char *s);
int gw_buf_printf(struct gw_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hands the bytes over (the caller frees them); the buffer is empty after. */
char *gw_buf_take(struct gw_buf *b, size_t *len);
void gw_buf_free(struct gw_buf *b);

/* A JSON string (with its quotes) of n bytes of text. */
int gw_json_string(struct gw_buf *b, const char *text, size_t n);
/* "key": followed by the string value; str NULL writes null. */
int gw_json_key(struct gw_buf *b, const char *key);
int gw_json_kv_str(struct gw_buf *b, const char *key, const char *value);
int gw_json_kv_int(struct gw_buf *b, const char *key, int64_t value);
int gw_json_kv_bool(struct gw_buf *b, const char *key, bool value);
/* The bytes as a base64 JSON string. */
int gw_json_base64(struct gw_buf *b, const void *data, size_t n);

/* How many of the last bytes of data[0..n) begin a UTF-8 sequence that
 * the bytes after n may complete (0 to 3): a stream of output chunks keeps
 * them for the next chunk, so a character cut between two chunks is not
 * replaced by U+FFFD. */
size_t gw_utf8_incomplete_tail(const char *data, size_t n);

/* Output that arrives in chunks, kept whole at UTF-8 characters: the start
 * of a character cut at a chunk's end waits for the next chunk. */
struct gw_utf8_carry {
	char bytes[4];
	size_t n;
};

/* The carried bytes and data[0..n) into joined (emptied first), less a
 * new incomplete tail, which stays in c. */
int gw_utf8_carry_join(struct gw_utf8_carry *c, const char *data, size_t n, struct gw_buf *joined);

#endif
