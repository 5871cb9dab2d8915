/*
 * The gateway's routes: one row each (method, path, how it runs, whether
 * it needs a key, its handler). A path is exact, or ends in "/:id" (one
 * non-empty segment, handed to the handler). Lookup tells a path no row
 * has (404) from a method no row of that path has (405, with Allow).
 */
#ifndef ISOL8_GATEWAY_ROUTES_H
#define ISOL8_GATEWAY_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

struct gw_call;

enum gw_route_kind {
	GW_ROUTE_UNARY,   /* a handler on a worker thread answers with one JSON body */
	GW_ROUTE_SSE,     /* a worker streams text/event-stream */
	GW_ROUTE_UPGRADE, /* WebSocket: the connection leaves HTTP */
};

struct gw_route {
	const char *method;
	const char *path;
	enum gw_route_kind kind;
	bool auth;     /* needs Authorization: Bearer */
	bool has_body; /* reads a JSON body */
	void (*handler)(struct gw_call *call);
	const char *name; /* for logs */
};

enum gw_route_match { GW_ROUTE_FOUND, GW_ROUTE_NO_PATH, GW_ROUTE_NO_METHOD };

/* Finds method + path in table. FOUND sets *route and, for a "/:id" row,
 * *param / *param_len (the segment, still percent-encoded as MHD hands it:
 * MHD has decoded the URL already). NO_METHOD fills allow with the methods
 * the path has ("GET, POST"). */
enum gw_route_match gw_route_find(const struct gw_route *table, size_t n, const char *method, const char *path,
				  const struct gw_route **route, const char **param, size_t *param_len, char *allow,
				  size_t allow_size);

/* The handlers of the table (handlers.c, sse.c; ws.c takes the upgrade). */
void gw_handle_health(struct gw_call *call);
void gw_handle_execute(struct gw_call *call);
void gw_handle_execute_stream(struct gw_call *call);
void gw_handle_put_file(struct gw_call *call);
void gw_handle_get_file(struct gw_call *call);
void gw_handle_delete_session(struct gw_call *call);
void gw_handle_sessions(struct gw_call *call);
void gw_handle_cleanup(struct gw_call *call);

/* The gateway's table (route_table.c). */
extern const struct gw_route gw_routes[];
extern const size_t gw_routes_count;

#endif
