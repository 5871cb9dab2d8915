/* grpc.health.v1.Health/Check: SERVING while Docker answers a ping (the
 * engine asks it at most once a second), NOT_SERVING otherwise. The
 * daemon logs each change of that state once, with the reason. */
#include <string.h>

#include "base/log.h"
#include "daemon/daemon.h"
#include "grpc/health/v1/health.rpc.h"

enum { HEALTH_UNKNOWN, HEALTH_SERVING, HEALTH_NOT_SERVING };

/* Logs a change of the health state (one line per change, whichever thread sees it first). */
static void health_changed(struct isol8d *d, int now, const struct isol8_error *err)
{
	int before = atomic_exchange(&d->health_state, now);

	if (before == now)
		return;
	if (now == HEALTH_NOT_SERVING)
		isol8_log(ISOL8_LOG_WARN, "health: NOT_SERVING: %s", ISOL8_LOG_Q(err->message));
	else if (before == HEALTH_NOT_SERVING)
		isol8_log(ISOL8_LOG_INFO, "health: SERVING: Docker answers again");
}

static void handle_check(struct isol8_rpc_call *call, const Grpc__Health__V1__HealthCheckRequest *req,
			 void *userdata)
{
	struct isol8d *d = userdata;
	struct isol8_error err = ISOL8_ERROR_INIT;
	Grpc__Health__V1__HealthCheckResponse out;
	bool serving;

	/* health checks need no key: load balancers probe without one */
	if (req->service != NULL && req->service[0] != '\0' && strcmp(req->service, "isol8.v1.Isol8") != 0 &&
	    strcmp(req->service, "isol8.v1.Admin") != 0) {
		isol8_rpc_call_finish(call, ISOL8_E_NOT_FOUND, "unknown service");
		return;
	}
	serving = isol8_engine_health(d->engine, &err) == 0;
	health_changed(d, serving ? HEALTH_SERVING : HEALTH_NOT_SERVING, &err);
	grpc__health__v1__health_check_response__init(&out);
	out.status = serving ? GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING
			     : GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING;
	isol8d_reply(call, &out.base);
}

int isol8d_routes_other(struct isol8d *d, struct isol8_error *err)
{
	return grpc__health__v1__health__check__route(d->server, handle_check, d, err);
}
