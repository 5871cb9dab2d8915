/*
 * One connection, in its own handler process: reads the first frame and
 * hands the conversation to the request's handler (a table by frame type).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

#include "agent/agent.h"

typedef int (*agent_request_fn)(const struct agent_config *cfg, int conn, const isol8_frame *first);

static int agent_serve_ping(const struct agent_config *cfg, int conn, const isol8_frame *first);

static const struct {
	Isol8__Agent__V1__Frame__BodyCase body;
	agent_request_fn serve;
} agent_requests[] = {
	{ISOL8__AGENT__V1__FRAME__BODY_PING, agent_serve_ping},
	{ISOL8__AGENT__V1__FRAME__BODY_EXEC, agent_serve_exec},
	{ISOL8__AGENT__V1__FRAME__BODY_RESET, agent_serve_reset},
	{ISOL8__AGENT__V1__FRAME__BODY_PUT_FILE, agent_serve_put_file},
	{ISOL8__AGENT__V1__FRAME__BODY_GET_FILE, agent_serve_get_file},
};

void agent_send_error(int conn, int code, const char *fmt, ...)
{
	Isol8__Agent__V1__Frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Error error = ISOL8__AGENT__V1__ERROR__INIT;
	char message[ISOL8_ERROR_MESSAGE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	error.code = code;
	error.message = message;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_ERROR;
	frame.error = &error;
	isol8_frame_write(conn, &frame, NULL);
}

int agent_send_ack(int conn)
{
	Isol8__Agent__V1__Frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Ack ack = ISOL8__AGENT__V1__ACK__INIT;

	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_ACK;
	frame.ack = &ack;
	return isol8_frame_write(conn, &frame, NULL);
}

static int agent_serve_ping(const struct agent_config *cfg, int conn, const isol8_frame *first)
{
	Isol8__Agent__V1__Frame frame = ISOL8__AGENT__V1__FRAME__INIT;
	Isol8__Agent__V1__Pong pong = ISOL8__AGENT__V1__PONG__INIT;

	(void)first;
	pong.version = (char *)ISOL8_AGENT_VERSION;
	pong.pid = (uint32_t)cfg->agent_pid;
	frame.body_case = ISOL8__AGENT__V1__FRAME__BODY_PONG;
	frame.pong = &pong;
	return isol8_frame_write(conn, &frame, NULL) < 0 ? 1 : 0;
}

int agent_handle_connection(const struct agent_config *cfg, int conn)
{
	struct isol8_error err = ISOL8_ERROR_INIT;
	isol8_frame *first = NULL;
	int ret = isol8_frame_read(conn, &first, AGENT_REQUEST_TIMEOUT_MS, &err);

	if (ret <= 0) {
		if (ret < 0)
			agent_send_error(conn, EPROTO, "%s", err.message);
		return ret < 0 ? 1 : 0;
	}
	ret = -1;
	for (size_t i = 0; i < sizeof(agent_requests) / sizeof(agent_requests[0]); i++) {
		if (agent_requests[i].body == first->body_case) {
			ret = agent_requests[i].serve(cfg, conn, first);
			break;
		}
	}
	if (ret < 0) {
		agent_send_error(conn, EPROTO, "unexpected first frame (body %d): a request starts with ping, exec, "
					       "reset, put_file or get_file", (int)first->body_case);
		ret = 1;
	}
	isol8_frame_free(first);
	close(conn);
	return ret;
}
