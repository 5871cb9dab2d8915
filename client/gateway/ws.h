/* GET /execute/ws internals shared by ws.c (the hub and the handshake) and
 * ws_session.c (one execution). */
#ifndef ISOL8_GATEWAY_WS_H
#define ISOL8_GATEWAY_WS_H

#include <stdbool.h>
#include <stdint.h>

#include "gateway/gateway.h"
#include "gateway/ws_frame.h"

struct gw_ws_session;

enum gw_ws_state { GW_WS_WAITING, GW_WS_RUNNING, GW_WS_CLOSED };

struct gw_ws {
	struct gw_server *srv;
	struct MHD_UpgradeResponseHandle *urh;
	int fd;
	char *token;
	int64_t opened_ms;
	/* input, read by the hub (waiting) or the session's reader (running) */
	unsigned char *in;
	size_t in_len, in_cap;
	struct gw_ws_message msg;
	pthread_mutex_t write_lock; /* one frame at a time on the socket */
	pthread_mutex_t lock;       /* what follows */
	enum gw_ws_state state;
	bool close_sent;
	bool pump_done;
	bool cancelled;
	struct isol8_stream *stream;
	struct gw_ws_session *session; /* freed with the connection */
	int refs;
	struct gw_ws *next, *prev; /* the hub's list */
};

/* Sends one frame, waiting at most timeout_ms for the socket; -1 if it
 * could not be sent. */
int gw_ws_send(struct gw_ws *ws, int opcode, const void *payload, size_t len, int timeout_ms);
/* A close frame (once). */
void gw_ws_send_close(struct gw_ws *ws, int code, const char *reason, int timeout_ms);
/* An event object as a text frame. */
int gw_ws_send_event(struct gw_ws *ws, const char *type, const char *data, size_t n, const char *phase,
		     int timeout_ms);

/* Reads what the socket has into ws->in: 1 data came, 0 nothing yet, -1 EOF or error. */
int gw_ws_read(struct gw_ws *ws);

/* Takes the next complete frame out of ws->in (handling control frames
 * itself: ping → pong, close → close echoed). Returns 1 with a complete
 * message in ws->msg, 0 when more input is needed, -1 when the connection
 * must end (a close was sent or received). */
int gw_ws_next_message(struct gw_ws *ws, int timeout_ms);
/* Drops the message taken. */
void gw_ws_message_done(struct gw_ws *ws);

void gw_ws_unref(struct gw_ws *ws);

/* The error text for a message whose type is not known. */
void gw_ws_unknown_type(const cJSON *type, char *out, size_t size);

/* Starts the execution of an "execute" message (hub thread); on failure
 * the connection got its error event and close. */
void gw_ws_session_start(struct gw_ws *ws, cJSON *msg);
void gw_ws_session_free(struct gw_ws_session *s);
/* The hub forgets a connection a session took over. */
void gw_ws_hub_release(struct gw_ws *ws);

#endif
