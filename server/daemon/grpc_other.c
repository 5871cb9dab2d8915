/* grpc.health.v1.Health/Check. */
#include <string.h>

#include "daemon/daemon.h"
#include "grpc/health/v1/health.rpc.h"

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

int isol8d_routes_other(struct isol8d *d, struct isol8_error *err)
{
	return grpc__health__v1__health__check__route(d->server, handle_check, d, err);
}
