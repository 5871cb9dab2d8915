/* Unit tests: SHA-1 and base64 (api/base/sha1.c, base64.c). */
#include <stdio.h>
#include <string.h>

#include "base/base64.h"
#include "base/sha1.h"
#include "runner.h"

static void hex(const uint8_t *d, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

static const char *sha1_hex(const char *text, size_t repeat)
{
	static char out[41];
	struct isol8_sha1 c;
	uint8_t d[20];

	isol8_sha1_init(&c);
	for (size_t i = 0; i < repeat; i++)
		isol8_sha1_update(&c, text, strlen(text));
	isol8_sha1_final(&c, d);
	hex(d, 20, out);
	return out;
}

static void test_sha1_vectors(void)
{
	CU_ASSERT_STRING_EQUAL(sha1_hex("", 1), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
	CU_ASSERT_STRING_EQUAL(sha1_hex("abc", 1), "a9993e364706816aba3e25717850c26c9cd0d89d");
	CU_ASSERT_STRING_EQUAL(sha1_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 1),
			       "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
	CU_ASSERT_STRING_EQUAL(sha1_hex("a", 1000000), "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
}

static const char *enc(const char *s)
{
	static char out[64];

	isol8_base64_encode(s, strlen(s), out);
	return out;
}

static void test_base64_encode(void)
{
	size_t n = 0;

	CU_ASSERT_STRING_EQUAL(enc(""), "");
	CU_ASSERT_STRING_EQUAL(enc("f"), "Zg==");
	CU_ASSERT_STRING_EQUAL(enc("fo"), "Zm8=");
	CU_ASSERT_STRING_EQUAL(enc("foo"), "Zm9v");
	CU_ASSERT_STRING_EQUAL(enc("foobar"), "Zm9vYmFy");
	CU_ASSERT(isol8_base64_encoded_size(10u << 20, &n) && n == 13981016);
	CU_ASSERT_FALSE(isol8_base64_encoded_size(SIZE_MAX, &n));
}

static int dec(const char *s, char *out)
{
	unsigned char buf[64];
	size_t n = 0;

	if (!isol8_base64_decode(s, strlen(s), buf, &n))
		return -1;
	memcpy(out, buf, n);
	out[n] = '\0';
	return (int)n;
}

static void test_base64_decode(void)
{
	char out[64];

	CU_ASSERT_EQUAL(dec("Zm9vYmFy", out), 6);
	CU_ASSERT_STRING_EQUAL(out, "foobar");
	CU_ASSERT_EQUAL(dec("Zg==", out), 1);
	CU_ASSERT_STRING_EQUAL(out, "f");
	CU_ASSERT_EQUAL(dec("Zg", out), 1);  /* padding may be missing */
	CU_ASSERT_EQUAL(dec("Zm8\n=", out), 2); /* whitespace is skipped */
	CU_ASSERT_EQUAL(dec("-_-_", out), 3); /* URL-safe alphabet */
	CU_ASSERT_EQUAL(dec("", out), 0);
	CU_ASSERT_EQUAL(dec("Zm9v!", out), -1);
	CU_ASSERT_EQUAL(dec("Zg==Zg==", out), -1);
	CU_ASSERT_EQUAL(dec("Z", out), -1);
	CU_ASSERT_EQUAL(dec("Zm9===", out), -1);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"sha1 FIPS vectors", test_sha1_vectors},
		{"base64 encode", test_base64_encode},
		{"base64 decode", test_base64_decode},
	};

	return isol8_test_run("codecs", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
