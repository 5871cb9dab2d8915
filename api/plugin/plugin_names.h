/*
 * C names for protobuf entities, spelled exactly the way protoc-c spells them
 * so generated bindings can refer to protoc-c's types and descriptors.
 * Every function returns a malloc'ed string (caller frees) or NULL on OOM.
 * Full names may start with '.' (as in method input/output types).
 */
#ifndef ISOL8_PLUGIN_NAMES_H
#define ISOL8_PLUGIN_NAMES_H

/* "isol8.v1.ExecuteStream" -> "isol8__v1__execute_stream" (protoc-c FullNameToLower). */
char *plugin_name_lower(const char *full_name);

/* "isol8.v1.ExecuteRequest" -> "Isol8__V1__ExecuteRequest" (protoc-c FullNameToC). */
char *plugin_name_type(const char *full_name);

/* "a.b" + "." + "C" with empty parts skipped: "a.b.C", or "C" without a package. */
char *plugin_name_join(const char *package, const char *name);

/* "isol8/v1/isol8.proto" -> "isol8/v1/isol8". */
char *plugin_name_base(const char *proto_file);

/* "isol8/v1/isol8.proto" -> "ISOL8_RPC_ISOL8_V1_ISOL8_PROTO" (header guard). */
char *plugin_name_guard(const char *proto_file);

/* printf into a new string; NULL on OOM. */
char *plugin_name_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
