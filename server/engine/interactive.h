/*
 * Input of an interactive run on its way to the agent: the sink's pieces of
 * input (engine.h, struct isol8_input) as agent frames, one at a time. A
 * piece of stdin larger than ISOL8_INPUT_FRAME_DATA goes as several frames.
 * Not for use outside server/engine.
 */
#ifndef ISOL8_ENGINE_INTERACTIVE_H
#define ISOL8_ENGINE_INTERACTIVE_H

#include <stdbool.h>

#include "engine/engine.h"
#include "frame/frame.h"

/* Bytes of stdin per Stdin frame, well under the frame limit. */
#define ISOL8_INPUT_FRAME_DATA (256u * 1024u)

struct isol8_input_relay {
	const struct isol8_exec_sink *sink;
	struct isol8_input in;     /* the piece being sent */
	size_t off;                /* of its data, sent so far */
	bool pending;              /* in has more to send */
	Isol8__Agent__V1__Stdin stdin_msg;
	Isol8__Agent__V1__Signal signal_msg;
	Isol8__Agent__V1__Resize resize_msg;
};

/* The next frame of input into *frame (pointing into relay), as
 * isol8_agent_exec_io.next_input wants it: 1, 0 (none pending) or a
 * negative isol8_errc from the sink. */
int isol8_input_relay_next(struct isol8_input_relay *relay, isol8_frame *frame);

#endif
