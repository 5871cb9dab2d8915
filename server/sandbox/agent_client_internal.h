/* What the two halves of the agent client (agent_client.c: connections,
 * exec, sessions; agent_client_files.c: put_file, get_file) share. */
#ifndef ISOL8_AGENT_CLIENT_INTERNAL_H
#define ISOL8_AGENT_CLIENT_INTERNAL_H

#include "frame/frame.h"
#include "sandbox/agent_client.h"

/* How long a file transfer waits for the agent's next frame. */
#define CLIENT_FILE_TIMEOUT_MS 30000

void agent_client_frame_freep(isol8_frame **frame);
#define _cleanup_frame_ __attribute__((cleanup(agent_client_frame_freep)))

/* An Error frame as an isol8 error (errno-style code mapped). */
int agent_client_error(const Isol8__Agent__V1__Error *error, struct isol8_error *err);

/* A frame that is neither the expected one nor an Error. */
int agent_client_unexpected(const isol8_frame *frame, const char *wanted, struct isol8_error *err);

/* Connects, sends one frame and, with reply, reads the first answer; with
 * fd, the connection is left open there. */
int agent_client_request(const char *socket_path, const isol8_frame *frame, int *fd, isol8_frame **reply,
			 int timeout_ms, struct isol8_error *err);

/* The error code for a consumer callback's nonzero return. */
int agent_client_consumer_code(int ret);

#endif
