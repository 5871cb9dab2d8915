/*
 * Emits the gRPC bindings of one .proto file: <base>.rpc.h and <base>.rpc.c.
 * Per service: one struct isol8_rpc_method row per method (path, protoc-c
 * descriptors, streaming flags taken from the descriptor), the service table,
 * typed handler/route declarations and typed client calls.
 */
#ifndef ISOL8_PLUGIN_EMIT_H
#define ISOL8_PLUGIN_EMIT_H

#include "google/protobuf/descriptor.pb-c.h"

struct plugin_output {
	char *header; /* <base>.rpc.h text, caller frees */
	char *source; /* <base>.rpc.c text, caller frees */
};

/* 0, or -1 with *error set to a static message. */
int plugin_emit_file(const Google__Protobuf__FileDescriptorProto *file, struct plugin_output *out,
		     const char **error);

#endif
