/*
 * Client internals shared by client.c (channel, unary calls) and
 * client_stream.c (streaming calls). Each call owns a private pluck queue and
 * is driven by the thread that made it; a channel may be shared by threads.
 */
#ifndef ISOL8_RPC_CLIENT_INTERNAL_H
#define ISOL8_RPC_CLIENT_INTERNAL_H

#include <grpc/grpc.h>

#include "rpc/rpc.h"

struct isol8_rpc_channel {
	grpc_channel *channel;
	char *target;
	bool view;          /* isol8_rpc_channel_with_key: channel and target are base's */
	grpc_metadata auth; /* authorization: Bearer <key> */
	size_t n_metadata;  /* 1 with an api_key, else 0 */
};

/* A new call of method on ch bound to cq; NULL when the method is unusable. */
grpc_call *isol8_rpc_client_call(struct isol8_rpc_channel *ch, const struct isol8_rpc_method *method,
				 grpc_completion_queue *cq, int timeout_ms);

/* Fills op as SEND_INITIAL_METADATA with the channel's metadata. */
void isol8_rpc_client_metadata_op(struct isol8_rpc_channel *ch, grpc_op *op);

/* The error for a non-OK status: code mapped back, the server's message. */
int isol8_rpc_client_status_error(grpc_status_code status, grpc_slice details, struct isol8_error *err);

/* Checks a request against its method before sending. */
int isol8_rpc_client_check(const struct isol8_rpc_method *method, const ProtobufCMessage *request,
			   bool want_request, struct isol8_error *err);

#endif
