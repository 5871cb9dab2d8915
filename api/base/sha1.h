/* SHA-1 (FIPS 180-4), for the WebSocket handshake (RFC 6455 4.2.2) only:
 * not for anything that needs collision resistance. */
#ifndef ISOL8_SHA1_H
#define ISOL8_SHA1_H

#include <stddef.h>
#include <stdint.h>

struct isol8_sha1 {
	uint32_t state[5];
	uint64_t bits;
	uint8_t block[64];
	size_t used;
};

void isol8_sha1_init(struct isol8_sha1 *c);
void isol8_sha1_update(struct isol8_sha1 *c, const void *data, size_t len);
/* Writes the 20-byte digest. */
void isol8_sha1_final(struct isol8_sha1 *c, uint8_t digest[20]);

#endif
