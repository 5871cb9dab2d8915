/*
 * The C names of one service method, computed once from its descriptor and
 * shared by the header and source emitters.
 */
#ifndef ISOL8_PLUGIN_METHOD_H
#define ISOL8_PLUGIN_METHOD_H

#include <stdbool.h>

#include "google/protobuf/descriptor.pb-c.h"

struct plugin_method {
	char *prefix;   /* isol8__v1__isol8__execute */
	char *path;     /* /isol8.v1.Isol8/Execute */
	char *in_type;  /* Isol8__V1__ExecuteRequest */
	char *out_type; /* Isol8__V1__ExecuteResult */
	char *in_desc;  /* isol8__v1__execute_request__descriptor */
	char *out_desc; /* isol8__v1__execute_result__descriptor */
	const char *name;       /* Execute */
	const char *in_full;    /* isol8.v1.ExecuteRequest */
	const char *out_full;   /* isol8.v1.ExecuteResult */
	bool client_streaming;
	bool server_streaming;
};

/* Fills m for method md of service_full ("isol8.v1.Isol8"); 0 or -1 on OOM. */
int plugin_method_init(struct plugin_method *m, const char *service_full,
		       const Google__Protobuf__MethodDescriptorProto *md);
void plugin_method_free(struct plugin_method *m);

#endif
