/*
 * Client channels and unary calls. A unary call is one batch (send metadata,
 * request and close; receive metadata, reply and status) on a private pluck
 * queue; the deadline is enforced by gRPC. grpc_init in new and
 * grpc_shutdown_blocking in free pair up.
 */
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc/rpc_client_internal.h"
#include "rpc/rpc_codec.h"
#include "base/util.h"

#define API_KEY_MAX 4096

static bool api_key_valid(const char *key)
{
	size_t len = strlen(key);

	if (len == 0 || len > API_KEY_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (key[i] < 0x21 || key[i] > 0x7e)
			return false;
	return true;
}

static int channel_credentials(grpc_channel_credentials **creds, const char *tls_ca, bool tls,
			       struct isol8_error *err)
{
	char *ca = NULL;
	int ret;

	if (tls_ca == NULL) {
		/* NULL roots: gRPC's default, the system's CA bundle */
		*creds = tls ? grpc_ssl_credentials_create(NULL, NULL, NULL, NULL) : grpc_insecure_credentials_create();
		if (*creds == NULL)
			return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "the system's CAs are not usable for TLS");
		return 0;
	}
	ret = isol8_rpc_read_pem(tls_ca, &ca, err);
	if (ret < 0)
		return isol8_error_prefix(err, "TLS CA");
	*creds = grpc_ssl_credentials_create(ca, NULL, NULL, NULL);
	free(ca);
	if (*creds == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "TLS CA '%s' is not usable", tls_ca);
	return 0;
}

static int channel_auth(struct isol8_rpc_channel *ch, const char *api_key, struct isol8_error *err)
{
	char value[API_KEY_MAX + 16];

	if (api_key == NULL)
		return 0;
	if (!api_key_valid(api_key))
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "api_key must be 1..%d printable characters without spaces", API_KEY_MAX);
	snprintf(value, sizeof(value), "Bearer %s", api_key);
	ch->auth.key = grpc_slice_from_static_string("authorization");
	ch->auth.value = grpc_slice_from_copied_string(value);
	ch->n_metadata = 1;
	return 0;
}

int isol8_rpc_channel_new(struct isol8_rpc_channel **out, const struct isol8_rpc_channel_config *cfg,
			  struct isol8_error *err)
{
	struct isol8_rpc_channel *ch;
	grpc_channel_credentials *creds = NULL;
	struct isol8_rpc_args args;
	int ret;

	*out = NULL;
	if (cfg == NULL || cfg->target == NULL || cfg->target[0] == '\0')
		return isol8_error_set(err, ISOL8_E_INVALID, "target is empty");
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL || (ch->target = strdup(cfg->target)) == NULL) {
		free(ch);
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory creating a channel");
	}
	grpc_init();
	ret = channel_auth(ch, cfg->api_key, err);
	if (ret == 0)
		ret = channel_credentials(&creds, cfg->tls_ca, cfg->tls, err);
	if (ret < 0) {
		isol8_rpc_channel_free(ch);
		return ret;
	}
	isol8_rpc_args_init(&args);
	ch->channel = grpc_channel_create(cfg->target, creds, &args.channel_args);
	grpc_channel_credentials_release(creds);
	*out = ch;
	return 0;
}

int isol8_rpc_channel_with_key(struct isol8_rpc_channel **out, struct isol8_rpc_channel *base, const char *api_key,
			       struct isol8_error *err)
{
	struct isol8_rpc_channel *ch;
	int ret;

	*out = NULL;
	ch = calloc(1, sizeof(*ch));
	if (ch == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory creating a channel");
	ch->view = true;
	ch->channel = base->channel;
	ch->target = base->target;
	ret = channel_auth(ch, api_key, err);
	if (ret < 0) {
		free(ch);
		return ret;
	}
	*out = ch;
	return 0;
}

void isol8_rpc_channel_free(struct isol8_rpc_channel *ch)
{
	if (ch == NULL)
		return;
	if (ch->n_metadata > 0)
		grpc_slice_unref(ch->auth.value);
	if (ch->view) {
		free(ch);
		return;
	}
	if (ch->channel != NULL)
		grpc_channel_destroy(ch->channel);
	free(ch->target);
	free(ch);
	grpc_shutdown_blocking();
}

int isol8_rpc_channel_wait_ready(struct isol8_rpc_channel *ch, int timeout_ms, struct isol8_error *err)
{
	static char watch_tag;
	gpr_timespec deadline = isol8_rpc_deadline(timeout_ms > 0 ? timeout_ms : 1);
	grpc_completion_queue *cq = grpc_completion_queue_create_for_pluck(NULL);
	grpc_connectivity_state state = grpc_channel_check_connectivity_state(ch->channel, 1);

	while (state != GRPC_CHANNEL_READY && state != GRPC_CHANNEL_SHUTDOWN) {
		grpc_event ev;

		grpc_channel_watch_connectivity_state(ch->channel, state, deadline, cq, &watch_tag);
		ev = grpc_completion_queue_pluck(cq, &watch_tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (!ev.success)
			break; /* deadline */
		state = grpc_channel_check_connectivity_state(ch->channel, 1);
	}
	isol8_rpc_queue_destroy(cq);
	if (state == GRPC_CHANNEL_READY)
		return 0;
	return isol8_error_set(err, ISOL8_E_UNAVAILABLE, "cannot connect to '%s' within %d ms", ch->target,
			       timeout_ms);
}

grpc_call *isol8_rpc_client_call(struct isol8_rpc_channel *ch, const struct isol8_rpc_method *method,
				 grpc_completion_queue *cq, int timeout_ms)
{
	return grpc_channel_create_call(ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, cq,
					grpc_slice_from_static_string(method->path), NULL,
					isol8_rpc_deadline(timeout_ms), NULL);
}

void isol8_rpc_client_metadata_op(struct isol8_rpc_channel *ch, grpc_op *op)
{
	op->op = GRPC_OP_SEND_INITIAL_METADATA;
	op->data.send_initial_metadata.count = ch->n_metadata;
	op->data.send_initial_metadata.metadata = ch->n_metadata ? &ch->auth : NULL;
}

int isol8_rpc_client_status_error(grpc_status_code status, grpc_slice details, struct isol8_error *err)
{
	int code = isol8_error_from_grpc_status((int)status);
	size_t len = GRPC_SLICE_LENGTH(details);

	if (len == 0)
		return isol8_error_set(err, code, "%s", isol8_error_code_name(code));
	return isol8_error_set(err, code, "%.*s", len > INT32_MAX ? INT32_MAX : (int)len,
			       (const char *)GRPC_SLICE_START_PTR(details));
}

int isol8_rpc_client_check(const struct isol8_rpc_method *method, const ProtobufCMessage *request,
			   bool want_request, struct isol8_error *err)
{
	if (method == NULL || method->path == NULL)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "no method to call");
	if (!want_request && request != NULL)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "%s takes its requests by write", method->path);
	if (want_request && (request == NULL || request->descriptor != method->input))
		return isol8_error_set(err, ISOL8_E_INTERNAL, "%s needs a %s request", method->path,
				       method->input->name);
	return 0;
}

/* Everything a unary call receives, released by unary_end. */
struct unary_recv {
	grpc_metadata_array initial;
	grpc_metadata_array trailing;
	grpc_byte_buffer *reply;
	grpc_status_code status;
	grpc_slice details;
	const char *error_string;
};

static void unary_ops(grpc_op *ops, struct isol8_rpc_channel *ch, grpc_byte_buffer *request,
		      struct unary_recv *r)
{
	memset(ops, 0, 6 * sizeof(*ops));
	isol8_rpc_client_metadata_op(ch, &ops[0]);
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = request;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &r->initial;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &r->reply;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &r->trailing;
	ops[5].data.recv_status_on_client.status = &r->status;
	ops[5].data.recv_status_on_client.status_details = &r->details;
	ops[5].data.recv_status_on_client.error_string = &r->error_string;
}

static int unary_result(const struct isol8_rpc_method *method, struct unary_recv *r,
			ProtobufCMessage **response, struct isol8_error *err)
{
	if (r->status != GRPC_STATUS_OK)
		return isol8_rpc_client_status_error(r->status, r->details, err);
	if (r->reply == NULL)
		return isol8_error_set(err, ISOL8_E_PROTOCOL, "%s: the server sent no reply", method->path);
	return isol8_rpc_unpack(r->reply, method->output, "response", response, err);
}

int isol8_rpc_unary(struct isol8_rpc_channel *ch, const struct isol8_rpc_method *method,
		    const ProtobufCMessage *request, ProtobufCMessage **response, int timeout_ms,
		    struct isol8_error *err)
{
	static char unary_tag;
	struct unary_recv r = {.status = GRPC_STATUS_UNKNOWN, .details = grpc_empty_slice()};
	grpc_byte_buffer *send = NULL;
	grpc_completion_queue *cq;
	grpc_call *call;
	grpc_op ops[6];
	grpc_event ev;
	int ret;

	*response = NULL;
	ret = isol8_rpc_client_check(method, request, true, err);
	if (ret == 0)
		ret = isol8_rpc_pack(request, &send, err);
	if (ret < 0)
		return ret;
	cq = grpc_completion_queue_create_for_pluck(NULL);
	call = isol8_rpc_client_call(ch, method, cq, timeout_ms);
	grpc_metadata_array_init(&r.initial);
	grpc_metadata_array_init(&r.trailing);
	unary_ops(ops, ch, send, &r);
	if (grpc_call_start_batch(call, ops, 6, &unary_tag, NULL) != GRPC_CALL_OK) {
		ret = isol8_error_set(err, ISOL8_E_INTERNAL, "%s: cannot start the call", method->path);
	} else {
		ev = grpc_completion_queue_pluck(cq, &unary_tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		ret = ev.success ? unary_result(method, &r, response, err)
				 : isol8_error_set(err, ISOL8_E_INTERNAL, "%s: the call failed", method->path);
	}
	grpc_byte_buffer_destroy(send);
	if (r.reply != NULL)
		grpc_byte_buffer_destroy(r.reply);
	grpc_metadata_array_destroy(&r.initial);
	grpc_metadata_array_destroy(&r.trailing);
	grpc_slice_unref(r.details);
	gpr_free((void *)r.error_string);
	grpc_call_unref(call);
	isol8_rpc_queue_destroy(cq);
	return ret;
}
