/* isol8_execute: one Execute call, its output gathered by isol8d. */
#include "isol8/v1/isol8.rpc.h"
#include "lib/client.h"
#include "lib/request.h"
#include "lib/result.h"

int isol8_execute(struct isol8_client *c, const struct isol8_request *req, struct isol8_result **out,
		  struct isol8_error *err)
{
	struct isol8_request_proto p;
	Isol8__V1__ExecuteResult *res = NULL;
	int ret;

	if (out == NULL || c == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s is NULL", out == NULL ? "out" : "client");
	*out = NULL;
	ret = isol8_request_to_proto(&p, req, err);
	if (ret < 0)
		return ret;
	ret = isol8__v1__isol8__execute__call(c->channel, &p.msg, &res, isol8_client_execute_deadline(req->timeout_ms),
					      err);
	isol8_request_proto_release(&p);
	if (ret == 0)
		ret = isol8_result_from_proto(out, res, err);
	if (res != NULL)
		protobuf_c_message_free_unpacked(&res->base, NULL);
	return ret;
}
