/* Call admission (credentials, activity accounting) and replies. See daemon.h. */
#include <string.h>

#include "daemon/daemon.h"
#include "base/log.h"
#include "base/util.h"

/* Compares in time that depends only on the lengths. */
static bool equal_secret(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = (unsigned char)(la != lb);

	for (size_t i = 0; i < la; i++)
		diff |= (unsigned char)(a[i] ^ b[i % (lb ? lb : 1)]);
	return diff == 0;
}

static bool authorized(struct isol8d *d, struct isol8_rpc_call *call)
{
	char value[1024];
	const char *prefix = "Bearer ";

	if (isol8_rpc_call_is_local(call))
		return true;
	if (d->cfg.api_key == NULL)
		return false;
	if (isol8_rpc_call_metadata(call, "authorization", value, sizeof(value)) < 0)
		return false;
	if (strncmp(value, prefix, strlen(prefix)) != 0)
		return false;
	return equal_secret(value + strlen(prefix), d->cfg.api_key);
}

bool isol8d_call_begin(struct isol8d *d, struct isol8_rpc_call *call)
{
	atomic_fetch_add(&d->calls, 1);
	atomic_store(&d->last_activity, isol8_now_ms());
	if (authorized(d, call))
		return true;
	isol8_log(ISOL8_LOG_WARN, "rejected %s: missing or wrong API key", isol8_rpc_call_method(call)->path);
	isol8_rpc_call_finish(call, ISOL8_E_UNAUTHENTICATED,
			      "missing or wrong API key: send \"authorization: Bearer <key>\"");
	return false;
}

void isol8d_call_end(struct isol8d *d)
{
	atomic_store(&d->last_activity, isol8_now_ms());
	atomic_fetch_sub(&d->calls, 1);
}

void isol8d_finish_error(struct isol8_rpc_call *call, const struct isol8_error *err)
{
	isol8_rpc_call_finish(call, err->code ? err->code : ISOL8_E_INTERNAL, err->message);
}

void isol8d_reply(struct isol8_rpc_call *call, const ProtobufCMessage *msg)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (isol8_rpc_call_write(call, msg, &err) < 0)
		isol8d_finish_error(call, &err);
	else
		isol8_rpc_call_finish(call, 0, "");
}
