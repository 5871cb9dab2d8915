/* Authentication and activity accounting of calls: see service.h. */
#include <string.h>

#include "base/log.h"
#include "base/util.h"
#include "service/service.h"

void isol8_service_init(struct isol8_service *s, struct isol8_engine *engine, const char *api_key)
{
	s->engine = engine;
	s->api_key = api_key;
	atomic_store(&s->calls, 0);
	atomic_store(&s->last_activity, isol8_now_ms());
}

/* Compares in time that depends only on the lengths. */
static bool equal_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = (unsigned char)(la != lb);

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return diff == 0;
}

/* A presented key is always checked, also on the local socket (a gateway
 * forwarding its callers' keys there must fail closed); without one only
 * a local caller passes. */
static int check_credentials(const struct isol8_service *s, bool local, const char *authorization,
			     const char *what, struct isol8_error *err)
{
	static const char prefix[] = "Bearer ";
	bool ok;

	if (authorization == NULL && local)
		return 0;
	if (authorization != NULL && (s->api_key == NULL || s->api_key[0] == '\0')) {
		isol8_log(ISOL8_LOG_WARN, "rejected %s: a key was sent and isol8d has none", what);
		return isol8_error_set(err, ISOL8_E_UNAUTHENTICATED, "isol8d has no API key: start it with --api-key (or "
				       "ISOL8_API_KEY) to accept keys");
	}
	ok = authorization != NULL && strncmp(authorization, prefix, strlen(prefix)) == 0 &&
	     equal_secret(authorization + strlen(prefix), s->api_key);
	if (ok)
		return 0;
	isol8_log(ISOL8_LOG_WARN, "rejected %s: missing or wrong API key", what);
	return isol8_error_set(err, ISOL8_E_UNAUTHENTICATED,
			       "missing or wrong API key: send \"authorization: Bearer <key>\"");
}

int isol8_service_begin(struct isol8_service *s, bool local, const char *authorization, const char *what,
			struct isol8_error *err)
{
	atomic_fetch_add(&s->calls, 1);
	atomic_store(&s->last_activity, isol8_now_ms());
	return check_credentials(s, local, authorization, what, err);
}

void isol8_service_end(struct isol8_service *s)
{
	atomic_store(&s->last_activity, isol8_now_ms());
	atomic_fetch_sub(&s->calls, 1);
}
