/* Unit tests of the service layer's pure parts: credentials (local and
 * remote callers, with and without a key on either side) and the
 * execution metadata's checks and log form. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "runner.h"
#include "service/service.h"

#define WRONG_KEY "missing or wrong API key: send \"authorization: Bearer <key>\""
#define NO_KEY "isol8d has no API key: start it with --api-key (or ISOL8_API_KEY) to accept keys"

/* begin's code and message for one call, ended at once. */
static int begin(const char *daemon_key, bool local, const char *authorization, char *message, size_t size)
{
	struct isol8_service s;
	struct isol8_error err = ISOL8_ERROR_INIT;
	int ret;

	isol8_service_init(&s, NULL, daemon_key);
	ret = isol8_service_begin(&s, local, authorization, "/test", &err);
	snprintf(message, size, "%s", err.message);
	isol8_service_end(&s);
	CU_ASSERT_EQUAL(atomic_load(&s.calls), 0);
	return ret;
}

static void test_auth(void)
{
	static const struct {
		const char *daemon_key;
		bool local;
		const char *authorization;
		int ret;
		const char *message;
	} cases[] = {
		/* the owner's socket without a header stays trusted */
		{NULL, true, NULL, 0, ""},
		{"k1", true, NULL, 0, ""},
		/* a presented key is checked on the socket too */
		{"k1", true, "Bearer k1", 0, ""},
		{"k1", true, "Bearer k2", -ISOL8_E_UNAUTHENTICATED, WRONG_KEY},
		{"k1", true, "k1", -ISOL8_E_UNAUTHENTICATED, WRONG_KEY},
		{"k1", true, "", -ISOL8_E_UNAUTHENTICATED, WRONG_KEY},
		{"k1", true, "Bearer ", -ISOL8_E_UNAUTHENTICATED, WRONG_KEY},
		/* a daemon without a key refuses every presented one */
		{NULL, true, "Bearer k1", -ISOL8_E_UNAUTHENTICATED, NO_KEY},
		{"", true, "Bearer k1", -ISOL8_E_UNAUTHENTICATED, NO_KEY},
		{NULL, false, "Bearer k1", -ISOL8_E_UNAUTHENTICATED, NO_KEY},
		/* TCP */
		{"k1", false, "Bearer k1", 0, ""},
		{"k1", false, NULL, -ISOL8_E_UNAUTHENTICATED, WRONG_KEY},
		{"k1", false, "Bearer k1x", -ISOL8_E_UNAUTHENTICATED, WRONG_KEY},
		{NULL, false, NULL, -ISOL8_E_UNAUTHENTICATED, WRONG_KEY},
	};
	char message[ISOL8_ERROR_MESSAGE_MAX];

	for (size_t i = 0; i < ISOL8_TESTS_LEN(cases); i++) {
		int ret = begin(cases[i].daemon_key, cases[i].local, cases[i].authorization, message, sizeof(message));
		if (ret != cases[i].ret || strcmp(message, cases[i].message) != 0)
			fprintf(stderr, "case %zu: %d \"%s\"\n", i, ret, message);
		CU_ASSERT_EQUAL(ret, cases[i].ret);
		CU_ASSERT_STRING_EQUAL(message, cases[i].message);
	}
}

/* A request with n metadata entries key<i>=value<i>, in storage the caller frees. */
struct meta_request {
	Isol8__V1__ExecuteRequest req;
	Isol8__V1__ExecuteRequest__MetadataEntry entries[40], *ptrs[40];
	char keys[40][80], values[40][300];
};

static struct meta_request *meta_request(size_t n)
{
	struct meta_request *m = calloc(1, sizeof(*m));

	CU_ASSERT_FATAL(m != NULL && n <= 40);
	isol8__v1__execute_request__init(&m->req);
	for (size_t i = 0; i < n; i++) {
		isol8__v1__execute_request__metadata_entry__init(&m->entries[i]);
		snprintf(m->keys[i], sizeof(m->keys[i]), "key%zu", i);
		snprintf(m->values[i], sizeof(m->values[i]), "value%zu", i);
		m->entries[i].key = m->keys[i];
		m->entries[i].value = m->values[i];
		m->ptrs[i] = &m->entries[i];
	}
	m->req.metadata = m->ptrs;
	m->req.n_metadata = n;
	return m;
}

static void assert_invalid(struct meta_request *m, const char *message)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	CU_ASSERT_EQUAL(isol8_service_metadata_check(&m->req, &err), -ISOL8_E_INVALID);
	CU_ASSERT_STRING_EQUAL(err.message, message);
}

static void test_metadata_check(void)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	struct meta_request *m = meta_request(32);

	CU_ASSERT_EQUAL(isol8_service_metadata_check(&m->req, &err), 0);
	memset(m->keys[3], 'k', 64);
	m->keys[3][64] = '\0';
	memset(m->values[3], 'v', 256);
	m->values[3][256] = '\0';
	snprintf(m->keys[4], sizeof(m->keys[4]), "A-Z.a_z-0.9");
	m->values[5][0] = '\0';
	CU_ASSERT_EQUAL(isol8_service_metadata_check(&m->req, &err), 0);
	free(m);

	m = meta_request(33);
	assert_invalid(m, "metadata: at most 32 entries (got 33)");
	free(m);

	m = meta_request(3);
	snprintf(m->keys[1], sizeof(m->keys[1]), "has space");
	assert_invalid(m, "metadata: key \"has space\" must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
	m->keys[1][0] = '\0';
	assert_invalid(m, "metadata: key \"\" must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
	memset(m->keys[1], 'k', 65);
	m->keys[1][65] = '\0';
	assert_invalid(m, "metadata: key \"kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk\" must be 1 to 64 "
			  "characters of A-Z a-z 0-9 _ . -");
	snprintf(m->keys[1], sizeof(m->keys[1]), "caf\xc3\xa9");
	assert_invalid(m, "metadata: key \"caf\xc3\xa9\" must be 1 to 64 characters of A-Z a-z 0-9 _ . -");
	snprintf(m->keys[1], sizeof(m->keys[1]), "key2");
	assert_invalid(m, "metadata: key \"key2\" is given twice");
	snprintf(m->keys[1], sizeof(m->keys[1]), "user");
	memset(m->values[1], 'v', 257);
	m->values[1][257] = '\0';
	assert_invalid(m, "metadata: the value of \"user\" is 257 bytes (at most 256)");
	free(m);
}

static void test_metadata_format(void)
{
	struct meta_request *m = meta_request(2);
	char *line;

	line = isol8_service_metadata_format(&m->req);
	CU_ASSERT_STRING_EQUAL(line, " meta.key0=\"value0\" meta.key1=\"value1\"");
	free(line);
	/* a value cannot fake a pair or a line */
	snprintf(m->values[1], sizeof(m->values[1]), "a\" meta.admin=\"yes\nnext");
	line = isol8_service_metadata_format(&m->req);
	CU_ASSERT_STRING_EQUAL(line, " meta.key0=\"value0\" meta.key1=\"a\\\" meta.admin=\\\"yes\\nnext\"");
	free(line);
	m->req.n_metadata = 0;
	line = isol8_service_metadata_format(&m->req);
	CU_ASSERT_STRING_EQUAL(line, "");
	free(line);
	free(m);
}

int main(void)
{
	static const struct isol8_test tests[] = {
		{"auth: local, remote, presented keys", test_auth},
		{"metadata: the checks and their messages", test_metadata_check},
		{"metadata: the log line's part", test_metadata_format},
	};
	return isol8_test_run("service", NULL, NULL, tests, ISOL8_TESTS_LEN(tests));
}
