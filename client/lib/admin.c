/* Administration: health (grpc.health.v1.Health/Check), Admin.Info,
 * Admin.Cleanup and Admin.Setup with its progress. */
#include "grpc/health/v1/health.rpc.h"
#include "isol8/v1/admin.rpc.h"
#include "lib/client.h"
#include "lib/result.h"
#include "base/runtimes.h"
#include "base/util.h"

/* A clean-up removes containers (and images) one by one: more than a
 * health check's time. */
#define CLEANUP_DEADLINE_MS (2 * 60 * 1000)

typedef Grpc__Health__V1__HealthCheckResponse HealthResponse;

static int health_answer(const struct isol8_client *c, const HealthResponse *res, struct isol8_error *err)
{
	if (res->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__SERVING)
		return 0;
	if (res->status == GRPC__HEALTH__V1__HEALTH_CHECK_RESPONSE__SERVING_STATUS__NOT_SERVING)
		return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "isol8d at %s is running but cannot reach Docker",
				       c->target);
	return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "isol8d at %s answers health status %d, not SERVING",
			       c->target, (int)res->status);
}

int isol8_health(struct isol8_client *c, struct isol8_error *err)
{
	Grpc__Health__V1__HealthCheckRequest req = GRPC__HEALTH__V1__HEALTH_CHECK_REQUEST__INIT;
	struct isol8_error call = ISOL8_ERROR_INIT;
	HealthResponse *res = NULL;
	int ret;

	if (c == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "client is NULL");
	ret = grpc__health__v1__health__check__call(c->channel, &req, &res, ISOL8_CLIENT_ADMIN_DEADLINE_MS, &call);
	if (ret == 0)
		ret = health_answer(c, res, err);
	else if (call.code == ISOL8_E_UNAVAILABLE || call.code == ISOL8_E_DEADLINE)
		ret = isol8_error_set(err, ISOL8_E_UNAVAILABLE, "isol8d at %s does not answer (%s)", c->target,
				      call.message);
	else
		ret = isol8_error_set(err, call.code, "health check of isol8d at %s: %s", c->target, call.message);
	if (res != NULL)
		protobuf_c_message_free_unpacked(&res->base, NULL);
	return ret;
}

int isol8_info(struct isol8_client *c, struct isol8_info **out, struct isol8_error *err)
{
	Isol8__V1__InfoRequest req = ISOL8__V1__INFO_REQUEST__INIT;
	Isol8__V1__InfoResult *res = NULL;
	int ret;

	if (c == NULL || out == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s is NULL", c == NULL ? "client" : "out");
	*out = NULL;
	ret = isol8__v1__admin__info__call(c->channel, &req, &res, ISOL8_CLIENT_ADMIN_DEADLINE_MS, err);
	if (ret == 0)
		ret = isol8_info_from_proto(out, res, err);
	if (res != NULL)
		protobuf_c_message_free_unpacked(&res->base, NULL);
	return ret;
}

int isol8_cleanup(struct isol8_client *c, const struct isol8_cleanup_options *opts,
		  struct isol8_cleanup_result **out, struct isol8_error *err)
{
	Isol8__V1__CleanupRequest req = ISOL8__V1__CLEANUP_REQUEST__INIT;
	Isol8__V1__CleanupResult *res = NULL;
	int ret;

	if (c == NULL || out == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s is NULL", c == NULL ? "client" : "out");
	*out = NULL;
	if (opts != NULL) {
		req.images = opts->images;
		req.sessions = opts->sessions;
	}
	ret = isol8__v1__admin__cleanup__call(c->channel, &req, &res, CLEANUP_DEADLINE_MS, err);
	if (ret == 0)
		ret = isol8_cleanup_from_proto(out, res, err);
	if (res != NULL)
		protobuf_c_message_free_unpacked(&res->base, NULL);
	return ret;
}

static const struct {
	Isol8__V1__SetupEvent__Phase proto;
	enum isol8_setup_phase phase;
} setup_phases[] = {
	{ISOL8__V1__SETUP_EVENT__PHASE__CHECKING, ISOL8_SETUP_CHECKING},
	{ISOL8__V1__SETUP_EVENT__PHASE__UP_TO_DATE, ISOL8_SETUP_UP_TO_DATE},
	{ISOL8__V1__SETUP_EVENT__PHASE__BUILDING, ISOL8_SETUP_BUILDING},
	{ISOL8__V1__SETUP_EVENT__PHASE__BUILT, ISOL8_SETUP_BUILT},
	{ISOL8__V1__SETUP_EVENT__PHASE__FAILED, ISOL8_SETUP_FAILED},
	{ISOL8__V1__SETUP_EVENT__PHASE__DONE, ISOL8_SETUP_DONE},
};

/* Hands one event to the callback: 1 once the last (DONE) came, 0 to read
 * on, ISOL8_E_CANCELLED when the callback asks to stop. A phase of a newer
 * isol8d is skipped. */
static int setup_event(const Isol8__V1__SetupEvent *m, isol8_setup_fn on_event, void *userdata,
		       struct isol8_error *err)
{
	struct isol8_setup_event ev = {.image = m->image, .message = m->message};

	for (size_t i = 0; i < sizeof(setup_phases) / sizeof(setup_phases[0]); i++)
		if (setup_phases[i].proto == m->phase)
			ev.phase = setup_phases[i].phase;
	if (ev.phase == 0)
		return 0;
	if (on_event != NULL && on_event(&ev, userdata) != 0)
		return isol8_error_set(err, ISOL8_E_CANCELLED, "the set-up was cancelled");
	return ev.phase == ISOL8_SETUP_DONE;
}

int isol8_setup(struct isol8_client *c, bool force, const char *const *runtimes, size_t n_runtimes,
		isol8_setup_fn on_event, void *userdata, struct isol8_error *err)
{
	return isol8_setup_with(c, force, runtimes, n_runtimes, NULL, 0, on_event, userdata, err);
}

/* The request's packages: entries point into packages (nothing copied). */
static int setup_packages(const struct isol8_setup_packages *packages, size_t n, Isol8__V1__RuntimePackages *rows,
			  Isol8__V1__RuntimePackages **ptrs, struct isol8_error *err)
{
	for (size_t i = 0; i < n; i++) {
		if (packages[i].runtime == NULL)
			return isol8_error_set(err, ISOL8_E_INVALID, "packages[%zu].runtime is NULL", i);
		if (packages[i].n_packages > 0 && packages[i].packages == NULL)
			return isol8_error_set(err, ISOL8_E_INVALID, "packages[%zu].packages is NULL", i);
		for (size_t j = 0; j < packages[i].n_packages; j++)
			if (packages[i].packages[j] == NULL)
				return isol8_error_set(err, ISOL8_E_INVALID, "packages[%zu].packages[%zu] is NULL", i, j);
		isol8__v1__runtime_packages__init(&rows[i]);
		rows[i].runtime = (char *)packages[i].runtime;
		rows[i].packages = (char **)packages[i].packages;
		rows[i].n_packages = packages[i].n_packages;
		ptrs[i] = &rows[i];
	}
	return 0;
}

int isol8_setup_with(struct isol8_client *c, bool force, const char *const *runtimes, size_t n_runtimes,
		     const struct isol8_setup_packages *packages, size_t n_packages, isol8_setup_fn on_event,
		     void *userdata, struct isol8_error *err)
{
	Isol8__V1__SetupRequest req = ISOL8__V1__SETUP_REQUEST__INIT;
	Isol8__V1__RuntimePackages rows[ISOL8_RT_COUNT * 2];
	Isol8__V1__RuntimePackages *ptrs[ISOL8_RT_COUNT * 2];
	struct isol8_rpc_stream *st = NULL;
	bool done = false;
	int ret = 0;

	if (n_packages > ISOL8_ARRAY_LEN(rows))
		return isol8_error_set(err, ISOL8_E_INVALID, "packages: %zu entries, more than %zu", n_packages,
				       ISOL8_ARRAY_LEN(rows));
	if (n_packages > 0 && packages == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "packages is NULL but n_packages is %zu", n_packages);
	if (c != NULL && setup_packages(packages, n_packages, rows, ptrs, err) < 0)
		return -err->code;
	req.packages = n_packages > 0 ? ptrs : NULL;
	req.n_packages = n_packages;

	if (c == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "client is NULL");
	if (n_runtimes > 0 && runtimes == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "runtimes is NULL but n_runtimes is %zu", n_runtimes);
	for (size_t i = 0; i < n_runtimes; i++)
		if (runtimes[i] == NULL)
			return isol8_error_set(err, ISOL8_E_INVALID, "runtimes[%zu] is NULL", i);
	req.force = force;
	req.n_runtimes = n_runtimes;
	req.runtimes = n_runtimes > 0 ? (char **)runtimes : NULL;
	ret = isol8__v1__admin__setup__start(&st, c->channel, &req, 0, err); /* builds take minutes */
	while (ret == 0) {
		Isol8__V1__SetupEvent *m = NULL;

		ret = isol8__v1__admin__setup__read(st, &m, err);
		if (ret <= 0)
			break;
		ret = setup_event(m, on_event, userdata, err);
		done = done || ret == 1;
		ret = ret < 0 ? ret : 0;
		protobuf_c_message_free_unpacked(&m->base, NULL);
	}
	isol8_rpc_stream_free(st);
	if (ret == 0 && !done)
		ret = isol8_error_set(err, ISOL8_E_PROTOCOL, "isol8d ended the set-up before it was done");
	return ret;
}
