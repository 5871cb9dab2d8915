/*
 * protobuf-c messages <-> gRPC byte buffers, both bounded by
 * ISOL8_RPC_MAX_MESSAGE, plus the channel arguments that set the same bound
 * inside gRPC.
 */
#ifndef ISOL8_RPC_CODEC_H
#define ISOL8_RPC_CODEC_H

#include <grpc/grpc.h>

#include "rpc/rpc.h"

/* Packs msg into a new byte buffer (*out, destroy with grpc_byte_buffer_destroy). */
int isol8_rpc_pack(const ProtobufCMessage *msg, grpc_byte_buffer **out, struct isol8_error *err);

/* Unpacks bb as desc into *out (free with protobuf_c_message_free_unpacked).
 * `what` names the message in errors ("request", "response"). Errors:
 * ISOL8_E_EXHAUSTED past the size bound, ISOL8_E_INVALID when it does not parse. */
int isol8_rpc_unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc, const char *what,
		     ProtobufCMessage **out, struct isol8_error *err);

/* isol8_rpc_unpack of a request a client sent: its string fields must also
 * be valid UTF-8 without NUL bytes (rpc_wire.h), else ISOL8_E_INVALID naming
 * the field ("code: contains a NUL byte at offset 6"). */
int isol8_rpc_unpack_request(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
			     struct isol8_error *err);

/* Channel arguments limiting sent and received messages to ISOL8_RPC_MAX_MESSAGE. */
struct isol8_rpc_args {
	grpc_arg args[2];
	grpc_channel_args channel_args;
};
void isol8_rpc_args_init(struct isol8_rpc_args *a);

/* Reads a PEM file (at most 1 MiB) into a NUL-terminated malloc'ed string. */
int isol8_rpc_read_pem(const char *path, char **out, struct isol8_error *err);

/* Shuts down, drains and destroys a pluck queue whose operations are all done. */
void isol8_rpc_queue_destroy(grpc_completion_queue *cq);

/* Absolute deadline for a call lasting timeout_ms (<= 0: none). */
gpr_timespec isol8_rpc_deadline(int timeout_ms);

#endif
