/*
 * grpc.health.v1.Health/Check, and the isol8.v1.Isol8 methods whose features
 * are not served yet: they answer UNIMPLEMENTED with a message saying so.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/daemon.h"
#include "grpc/health/v1/health.rpc.h"
#include "isol8/v1/isol8.rpc.h"

static void handle_check(struct isol8_rpc_call *call, const Grpc__Health__V1__HealthCheckRequest *req,
			 void *userdata)
{
	struct isol8d *d = userdata;
	Grpc__Health__V1__HealthCheckResponse out;

	/* health checks need no key: load balancers probe without one */
	if (req->service != NULL && req->service[0] != '\0' && strcmp(req->service, "isol8.v1.Isol8") != 0 &&
	    strcmp(req->service, "isol8.v1.Admin") != 0) {
		isol8_rpc_call_finish(call, ISOL8_E_NOT_FOUND, "unknown service");
		return;
	}
	(void)d;
	grpc__health__v1__health_check_response__init(&out);
	out.status = GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING;
	isol8d_reply(call, &out.base);
}

static void unimplemented(struct isol8_rpc_call *call, struct isol8d *d, const char *what)
{
	if (isol8d_call_begin(d, call)) {
		char msg[160];
		snprintf(msg, sizeof(msg), "%s: file transfer is not served yet", what);
		isol8_rpc_call_finish(call, ISOL8_E_UNIMPLEMENTED, msg);
	}
	isol8d_call_end(d);
}

static void handle_put_file(struct isol8_rpc_call *call, void *userdata)
{
	unimplemented(call, userdata, "PutFile");
}

static void handle_get_file(struct isol8_rpc_call *call, const Isol8__V1__GetFileRequest *req, void *userdata)
{
	(void)req;
	unimplemented(call, userdata, "GetFile");
}

int isol8d_routes_other(struct isol8d *d, struct isol8_error *err)
{
	int ret = grpc__health__v1__health__check__route(d->server, handle_check, d, err);
	if (ret == 0)
		ret = isol8__v1__isol8__put_file__route(d->server, handle_put_file, d, err);
	if (ret == 0)
		ret = isol8__v1__isol8__get_file__route(d->server, handle_get_file, d, err);
	return ret;
}
