/*
 * struct isol8_request -> isol8.v1.ExecuteRequest, pure (no RPC), so its
 * tests need no daemon. The message borrows the caller's strings and bytes
 * (never copied: a request may carry megabytes of files); only its maps and
 * sub-messages are made here. It checks what would otherwise be undefined
 * (NULL pointers with a count, an unknown readonly_root_fs value); what a
 * request means (a runtime, exactly one of code/cmd/code_url, limits) is
 * isol8d's to judge, and it answers naming the field.
 */
#ifndef ISOL8_CLIENT_REQUEST_H
#define ISOL8_CLIENT_REQUEST_H

#include "isol8/isol8.h"
#include "isol8/v1/isol8.pb-c.h"

#define ISOL8_REQUEST_PROTO_BLOCKS 6

struct isol8_request_proto {
	Isol8__V1__ExecuteRequest msg;
	Isol8__V1__ExecutionOptions options;
	Isol8__V1__NetworkFilter filter;
	Google__Protobuf__BoolValue readonly_root_fs;
	Isol8__V1__WindowSize window;
	void *blocks[ISOL8_REQUEST_PROTO_BLOCKS]; /* the maps' entries, freed by release */
	size_t n_blocks;
};

/* Builds out->msg from req (which must outlive it). Errors are
 * ISOL8_E_INVALID naming the member ("env[1].value is NULL") or
 * ISOL8_E_NOMEM; out is released on failure. */
int isol8_request_to_proto(struct isol8_request_proto *out, const struct isol8_request *req,
			   struct isol8_error *err);

/* Frees what isol8_request_to_proto made (not the caller's request). */
void isol8_request_proto_release(struct isol8_request_proto *p);

#endif
