/*
 * Per-method generated code: see plugin_fragments.h. The client calls a
 * method gets depend on its kind (unary, server/client/bidi streaming); the
 * kind table lists them, so a kind is one row.
 */
#include "plugin/plugin_fragments.h"

#include <stddef.h>

typedef void (*fragment_fn)(struct plugin_text *t, const struct plugin_method *m, bool define);

/* Ends a prototype: ";" in the header, "{ body }" in the source. */
#define END_PROTOTYPE(t, define, ...)                                                              \
	do {                                                                                       \
		if (!(define)) {                                                                   \
			plugin_text_printf((t), ";\n\n");                                          \
			break;                                                                     \
		}                                                                                  \
		plugin_text_printf((t), "\n{\n");                                                  \
		plugin_text_printf((t), __VA_ARGS__);                                              \
		plugin_text_printf((t), "}\n\n");                                                  \
	} while (0)

static void comment(struct plugin_text *t, bool define, const char *text)
{
	if (!define)
		plugin_text_printf(t, "/* %s */\n", text);
}

static void client_call(struct plugin_text *t, const struct plugin_method *m, bool define)
{
	comment(t, define, "Unary call: *resp is the reply (caller frees) or NULL on error.");
	plugin_text_printf(t,
			   "int %s__call(struct isol8_rpc_channel *ch, const %s *req, %s **resp,\n"
			   "\tint timeout_ms, struct isol8_error *err)",
			   m->prefix, m->in_type, m->out_type);
	END_PROTOTYPE(t, define,
		      "\tProtobufCMessage *msg = NULL;\n"
		      "\tint ret = isol8_rpc_unary(ch, &%s__method, (const ProtobufCMessage *)req, &msg,\n"
		      "\t\ttimeout_ms, err);\n\n"
		      "\t*resp = (%s *)msg;\n"
		      "\treturn ret;\n",
		      m->prefix, m->out_type);
}

static void client_start_request(struct plugin_text *t, const struct plugin_method *m, bool define)
{
	comment(t, define, "Starts the call with its request; free with isol8_rpc_stream_free().");
	plugin_text_printf(t,
			   "int %s__start(struct isol8_rpc_stream **out, struct isol8_rpc_channel *ch,\n"
			   "\tconst %s *req, int timeout_ms, struct isol8_error *err)",
			   m->prefix, m->in_type);
	END_PROTOTYPE(t, define,
		      "\treturn isol8_rpc_stream_start(out, ch, &%s__method, (const ProtobufCMessage *)req,\n"
		      "\t\ttimeout_ms, err);\n",
		      m->prefix);
}

static void client_start(struct plugin_text *t, const struct plugin_method *m, bool define)
{
	comment(t, define, "Starts the call; free with isol8_rpc_stream_free().");
	plugin_text_printf(t,
			   "int %s__start(struct isol8_rpc_stream **out, struct isol8_rpc_channel *ch,\n"
			   "\tint timeout_ms, struct isol8_error *err)",
			   m->prefix);
	END_PROTOTYPE(t, define,
		      "\treturn isol8_rpc_stream_start(out, ch, &%s__method, NULL, timeout_ms, err);\n",
		      m->prefix);
}

static void client_write(struct plugin_text *t, const struct plugin_method *m, bool define)
{
	comment(t, define, "Sends one request message (it stays the caller's).");
	plugin_text_printf(t,
			   "int %s__write(struct isol8_rpc_stream *st, const %s *msg, struct isol8_error *err)",
			   m->prefix, m->in_type);
	END_PROTOTYPE(t, define,
		      "\treturn isol8_rpc_stream_write(st, (const ProtobufCMessage *)msg, err);\n");
}

static void client_close_send(struct plugin_text *t, const struct plugin_method *m, bool define)
{
	comment(t, define, "Tells the server no more requests follow.");
	plugin_text_printf(t, "int %s__close_send(struct isol8_rpc_stream *st, struct isol8_error *err)",
			   m->prefix);
	END_PROTOTYPE(t, define, "\treturn isol8_rpc_stream_close_send(st, err);\n");
}

static void client_read(struct plugin_text *t, const struct plugin_method *m, bool define)
{
	comment(t, define,
		"1 with *out (caller frees), 0 at end of stream with OK status, negative with the status.");
	plugin_text_printf(t, "int %s__read(struct isol8_rpc_stream *st, %s **out, struct isol8_error *err)",
			   m->prefix, m->out_type);
	END_PROTOTYPE(t, define,
		      "\tProtobufCMessage *msg = NULL;\n"
		      "\tint ret = isol8_rpc_stream_read(st, &msg, err);\n\n"
		      "\t*out = (%s *)msg;\n"
		      "\treturn ret;\n",
		      m->out_type);
}

static void client_finish(struct plugin_text *t, const struct plugin_method *m, bool define)
{
	comment(t, define,
		"Closes the sending side and reads the single reply into *resp (caller frees). The\n"
		" * stream is still freed with isol8_rpc_stream_free().");
	plugin_text_printf(t, "int %s__finish(struct isol8_rpc_stream *st, %s **resp, struct isol8_error *err)",
			   m->prefix, m->out_type);
	END_PROTOTYPE(t, define,
		      "\tProtobufCMessage *msg = NULL;\n"
		      "\tint ret = isol8_rpc_stream_finish(st, &msg, err);\n\n"
		      "\t*resp = (%s *)msg;\n"
		      "\treturn ret;\n",
		      m->out_type);
}

/* Client calls per kind, indexed by client_streaming * 2 + server_streaming. */
static const struct {
	const char *kind;
	fragment_fn calls[4];
} kinds[] = {
	{"unary", {client_call}},
	{"server streaming", {client_start_request, client_read}},
	{"client streaming", {client_start, client_write, client_finish}},
	{"bidirectional streaming", {client_start, client_write, client_close_send, client_read}},
};

static void server_handler(struct plugin_text *t, const struct plugin_method *m)
{
	if (m->client_streaming) {
		plugin_text_printf(t,
				   "/* Reads requests with isol8_rpc_call_read(); ends with isol8_rpc_call_finish(). */\n"
				   "typedef isol8_rpc_handler_fn %s__handler;\n\n",
				   m->prefix);
		return;
	}
	plugin_text_printf(t,
			   "/* req is owned by the call; ends with isol8_rpc_call_finish(). */\n"
			   "typedef void (*%s__handler)(struct isol8_rpc_call *call, const %s *req,\n"
			   "\tvoid *userdata);\n\n",
			   m->prefix, m->in_type);
}

static void server_invoke(struct plugin_text *t, const struct plugin_method *m)
{
	if (m->client_streaming)
		return;
	plugin_text_printf(t,
			   "static void %s__invoke(struct isol8_rpc_call *call, isol8_rpc_generic_fn fn,\n"
			   "\tvoid *userdata)\n"
			   "{\n"
			   "\t%s__handler handler = (%s__handler)fn;\n\n"
			   "\thandler(call, (const %s *)isol8_rpc_call_request(call), userdata);\n"
			   "}\n\n",
			   m->prefix, m->prefix, m->prefix, m->in_type);
}

static void server_route(struct plugin_text *t, const struct plugin_method *m, bool define)
{
	comment(t, define, "Routes the method to fn on srv (before isol8_rpc_server_start).");
	plugin_text_printf(t,
			   "int %s__route(struct isol8_rpc_server *srv, %s__handler fn, void *userdata,\n"
			   "\tstruct isol8_error *err)",
			   m->prefix, m->prefix);
	if (m->client_streaming)
		END_PROTOTYPE(t, define,
			      "\treturn isol8_rpc_server_route(srv, &%s__method, fn, userdata, err);\n",
			      m->prefix);
	else
		END_PROTOTYPE(t, define,
			      "\treturn isol8_rpc_server_route_typed(srv, &%s__method, %s__invoke,\n"
			      "\t\t(isol8_rpc_generic_fn)fn, userdata, err);\n",
			      m->prefix, m->prefix);
}

void plugin_fragment_row(struct plugin_text *t, const struct plugin_method *m)
{
	plugin_text_printf(t, "{\"%s\", &%s, &%s, %s, %s}", m->path, m->in_desc, m->out_desc,
			   m->client_streaming ? "true" : "false", m->server_streaming ? "true" : "false");
}

void plugin_fragment_method(struct plugin_text *t, const struct plugin_method *m, bool define)
{
	size_t kind = (size_t)m->client_streaming * 2 + (size_t)m->server_streaming;

	if (!define) {
		plugin_text_printf(t, "/* ---- rpc %s(%s%s) returns (%s%s): %s */\n\n", m->name,
				   m->client_streaming ? "stream " : "", m->in_full,
				   m->server_streaming ? "stream " : "", m->out_full, kinds[kind].kind);
		plugin_text_printf(t, "extern const struct isol8_rpc_method %s__method;\n\n", m->prefix);
		server_handler(t, m);
	} else {
		plugin_text_printf(t, "const struct isol8_rpc_method %s__method = ", m->prefix);
		plugin_fragment_row(t, m);
		plugin_text_printf(t, ";\n\n");
		server_invoke(t, m);
	}
	server_route(t, m, define);
	for (size_t i = 0; i < 4 && kinds[kind].calls[i] != NULL; i++)
		kinds[kind].calls[i](t, m, define);
}
