/* The begin and end of every gRPC call (credentials and activity, through
 * the service layer) and its replies. See daemon.h. */
#include <stdio.h>

#include "daemon/daemon.h"

bool isol8d_call_begin(struct isol8d *d, struct isol8_rpc_call *call)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	char authorization[1024];
	int len = isol8_rpc_call_metadata(call, "authorization", authorization, sizeof(authorization));

	/* a key too long to be ours is still a presented key: it is refused */
	if (len == -2)
		snprintf(authorization, sizeof(authorization), "(longer than %zu bytes)", sizeof(authorization) - 1);
	if (isol8_service_begin(&d->service, isol8_rpc_call_is_local(call), len != -1 ? authorization : NULL,
				isol8_rpc_call_method(call)->path, &err) == 0)
		return true;
	isol8d_finish_error(call, &err);
	return false;
}

void isol8d_call_end(struct isol8d *d)
{
	isol8_service_end(&d->service);
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
