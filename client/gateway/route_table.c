/* The gateway's routes: one row per endpoint of the original's HTTP API. */
#include "base/util.h"
#include "gateway/routes.h"

const struct gw_route gw_routes[] = {
	{"GET", "/health", GW_ROUTE_UNARY, false, false, gw_handle_health, "health"},
	{"POST", "/execute", GW_ROUTE_UNARY, true, true, gw_handle_execute, "execute"},
	{"POST", "/execute/stream", GW_ROUTE_SSE, true, true, gw_handle_execute_stream, "execute_stream"},
	{"GET", "/execute/ws", GW_ROUTE_UPGRADE, true, false, NULL, "execute_ws"},
	{"POST", "/file", GW_ROUTE_UNARY, true, true, gw_handle_put_file, "put_file"},
	{"GET", "/file", GW_ROUTE_UNARY, true, false, gw_handle_get_file, "get_file"},
	{"DELETE", "/session/:id", GW_ROUTE_UNARY, true, false, gw_handle_delete_session, "delete_session"},
	{"GET", "/sessions", GW_ROUTE_UNARY, true, false, gw_handle_sessions, "sessions"},
	{"POST", "/cleanup", GW_ROUTE_UNARY, true, true, gw_handle_cleanup, "cleanup"},
};
const size_t gw_routes_count = ISOL8_ARRAY_LEN(gw_routes);
