/*
 * Runtime entry points used only by generated code (<base>.rpc.c), beside the
 * public ones in rpc.h. Not for hand-written callers.
 */
#ifndef ISOL8_RPC_GEN_H
#define ISOL8_RPC_GEN_H

#include "rpc/rpc.h"

/* A handler of any typed signature, stored untyped; called only through the
 * invoke function generated for its method, which casts it back. */
typedef void (*isol8_rpc_generic_fn)(void);

/* Calls fn (cast back to its real type) with the call's request. */
typedef void (*isol8_rpc_invoke_fn)(struct isol8_rpc_call *call, isol8_rpc_generic_fn fn, void *userdata);

/* Like isol8_rpc_server_route, for a typed handler and its invoke function. */
int isol8_rpc_server_route_typed(struct isol8_rpc_server *srv, const struct isol8_rpc_method *method,
				 isol8_rpc_invoke_fn invoke, isol8_rpc_generic_fn fn, void *userdata,
				 struct isol8_error *err);

/* Client streaming: closes the sending side, reads the single reply into
 * *out (caller frees) and the OK status after it. Exactly one reply, else
 * ISOL8_E_PROTOCOL; a non-OK status is the error. */
int isol8_rpc_stream_finish(struct isol8_rpc_stream *st, ProtobufCMessage **out, struct isol8_error *err);

#endif
