/* SHA-1 (FIPS 180-4): see sha1.h. */
#include "base/sha1.h"

#include <string.h>

#define ROL(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

static void compress(struct isol8_sha1 *c, const uint8_t *p)
{
	static const uint32_t k[4] = {0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6};
	uint32_t w[80], a = c->state[0], b = c->state[1], cc = c->state[2], d = c->state[3], e = c->state[4];

	for (int i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 | (uint32_t)p[4 * i + 2] << 8 |
		       p[4 * i + 3];
	for (int i = 16; i < 80; i++)
		w[i] = ROL(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f;
		if (i < 20)
			f = (b & cc) | (~b & d);
		else if (i < 40 || i >= 60)
			f = b ^ cc ^ d;
		else
			f = (b & cc) | (b & d) | (cc & d);
		uint32_t t = ROL(a, 5) + f + e + k[i / 20] + w[i];
		e = d;
		d = cc;
		cc = ROL(b, 30);
		b = a;
		a = t;
	}
	c->state[0] += a;
	c->state[1] += b;
	c->state[2] += cc;
	c->state[3] += d;
	c->state[4] += e;
}

void isol8_sha1_init(struct isol8_sha1 *c)
{
	static const uint32_t iv[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};

	memcpy(c->state, iv, sizeof(iv));
	c->bits = 0;
	c->used = 0;
}

void isol8_sha1_update(struct isol8_sha1 *c, const void *data, size_t len)
{
	const uint8_t *p = data;

	c->bits += (uint64_t)len * 8;
	while (len > 0) {
		size_t n = 64 - c->used < len ? 64 - c->used : len;
		memcpy(c->block + c->used, p, n);
		c->used += n;
		p += n;
		len -= n;
		if (c->used == 64) {
			compress(c, c->block);
			c->used = 0;
		}
	}
}

void isol8_sha1_final(struct isol8_sha1 *c, uint8_t digest[20])
{
	uint64_t bits = c->bits;
	uint8_t pad = 0x80, zero = 0, len[8];

	isol8_sha1_update(c, &pad, 1);
	while (c->used != 56)
		isol8_sha1_update(c, &zero, 1);
	for (int i = 0; i < 8; i++)
		len[i] = (uint8_t)(bits >> (56 - 8 * i));
	isol8_sha1_update(c, len, 8);
	for (int i = 0; i < 5; i++) {
		digest[4 * i] = (uint8_t)(c->state[i] >> 24);
		digest[4 * i + 1] = (uint8_t)(c->state[i] >> 16);
		digest[4 * i + 2] = (uint8_t)(c->state[i] >> 8);
		digest[4 * i + 3] = (uint8_t)c->state[i];
	}
}
