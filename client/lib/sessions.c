/* Persistent sessions: the daemon's list (Admin.ListSessions) and
 * DestroySession. */
#include "isol8/v1/admin.rpc.h"
#include "isol8/v1/isol8.rpc.h"
#include "lib/client.h"
#include "lib/result.h"

int isol8_list_sessions(struct isol8_client *c, struct isol8_session_info **out, size_t *n,
			struct isol8_error *err)
{
	Isol8__V1__ListSessionsRequest req = ISOL8__V1__LIST_SESSIONS_REQUEST__INIT;
	Isol8__V1__ListSessionsResult *res = NULL;
	int ret;

	if (c == NULL || out == NULL || n == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s is NULL", c == NULL ? "client" : out == NULL ? "out" : "n");
	*out = NULL;
	*n = 0;
	ret = isol8__v1__admin__list_sessions__call(c->channel, &req, &res, ISOL8_CLIENT_ADMIN_DEADLINE_MS, err);
	if (ret == 0)
		ret = isol8_sessions_from_proto(out, n, res, err);
	if (res != NULL)
		protobuf_c_message_free_unpacked(&res->base, NULL);
	return ret;
}

int isol8_destroy_session(struct isol8_client *c, const char *session_id, bool *existed, struct isol8_error *err)
{
	Isol8__V1__DestroySessionRequest req = ISOL8__V1__DESTROY_SESSION_REQUEST__INIT;
	Isol8__V1__DestroySessionResult *res = NULL;
	int ret;

	if (existed != NULL)
		*existed = false;
	if (c == NULL || session_id == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s is NULL", c == NULL ? "client" : "session_id");
	req.session_id = (char *)session_id;
	ret = isol8__v1__isol8__destroy_session__call(c->channel, &req, &res, ISOL8_CLIENT_ADMIN_DEADLINE_MS, err);
	if (ret == 0 && existed != NULL)
		*existed = res->destroyed;
	if (res != NULL)
		protobuf_c_message_free_unpacked(&res->base, NULL);
	return ret;
}
