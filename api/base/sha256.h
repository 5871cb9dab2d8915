/* SHA-256 (FIPS 180-4), for image input hashes and code verification. */
#ifndef ISOL8_SHA256_H
#define ISOL8_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct isol8_sha256 {
	uint32_t state[8];
	uint64_t bits;
	uint8_t block[64];
	size_t used;
};

void isol8_sha256_init(struct isol8_sha256 *c);
void isol8_sha256_update(struct isol8_sha256 *c, const void *data, size_t len);
/* Writes 64 lowercase hex digits and a NUL into hex. */
void isol8_sha256_hex(struct isol8_sha256 *c, char hex[65]);

#endif
