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

static bool authorized(const struct isol8_service *s, bool local, const char *authorization)
{
	static const char prefix[] = "Bearer ";

	if (local)
		return true;
	if (s->api_key == NULL || authorization == NULL || strncmp(authorization, prefix, strlen(prefix)) != 0)
		return false;
	return equal_secret(authorization + strlen(prefix), s->api_key);
}

int isol8_service_begin(struct isol8_service *s, bool local, const char *authorization, const char *what,
			struct isol8_error *err)
{
	atomic_fetch_add(&s->calls, 1);
	atomic_store(&s->last_activity, isol8_now_ms());
	if (authorized(s, local, authorization))
		return 0;
	isol8_log(ISOL8_LOG_WARN, "rejected %s: missing or wrong API key", what);
	return isol8_error_set(err, ISOL8_E_UNAUTHENTICATED,
			       "missing or wrong API key: send \"authorization: Bearer <key>\"");
}

void isol8_service_end(struct isol8_service *s)
{
	atomic_store(&s->last_activity, isol8_now_ms());
	atomic_fetch_sub(&s->calls, 1);
}
