/* Input of an interactive run as agent frames: see interactive.h. */
#include <signal.h>
#include <string.h>

#include "base/util.h"
#include "engine/interactive.h"

static const struct {
	const char *name;
	int number;
} input_signals[] = {
	{"SIGINT", SIGINT},   {"SIGTERM", SIGTERM}, {"SIGHUP", SIGHUP},   {"SIGQUIT", SIGQUIT},
	{"SIGKILL", SIGKILL}, {"SIGUSR1", SIGUSR1}, {"SIGUSR2", SIGUSR2},
};

int isol8_signal_from_name(const char *name)
{
	for (size_t i = 0; name != NULL && i < ISOL8_ARRAY_LEN(input_signals); i++) {
		if (strcmp(input_signals[i].name, name) == 0)
			return input_signals[i].number;
	}
	return 0;
}

/* The next frame's worth of the piece in relay->in. */
static void relay_frame(struct isol8_input_relay *r, isol8_frame *frame)
{
	const struct isol8_input *in = &r->in;
	size_t piece;

	r->pending = false;
	switch (in->kind) {
	case ISOL8_INPUT_STDIN:
	case ISOL8_INPUT_STDIN_EOF:
		isol8__agent__v1__stdin__init(&r->stdin_msg);
		if (in->kind == ISOL8_INPUT_STDIN) {
			piece = in->len - r->off > ISOL8_INPUT_FRAME_DATA ? ISOL8_INPUT_FRAME_DATA : in->len - r->off;
			r->stdin_msg.data = (ProtobufCBinaryData){piece, (uint8_t *)in->data + r->off};
			r->off += piece;
			r->pending = r->off < in->len;
		} else {
			r->stdin_msg.eof = true;
		}
		frame->body_case = ISOL8__AGENT__V1__FRAME__BODY_STDIN;
		frame->stdin = &r->stdin_msg;
		break;
	case ISOL8_INPUT_SIGNAL:
		isol8__agent__v1__signal__init(&r->signal_msg);
		r->signal_msg.signal = in->signal;
		frame->body_case = ISOL8__AGENT__V1__FRAME__BODY_SIGNAL;
		frame->signal = &r->signal_msg;
		break;
	case ISOL8_INPUT_RESIZE:
		isol8__agent__v1__resize__init(&r->resize_msg);
		r->resize_msg.rows = in->rows;
		r->resize_msg.cols = in->cols;
		frame->body_case = ISOL8__AGENT__V1__FRAME__BODY_RESIZE;
		frame->resize = &r->resize_msg;
		break;
	}
}

int isol8_input_relay_next(struct isol8_input_relay *r, isol8_frame *frame)
{
	const struct isol8_exec_sink *sink = r->sink;

	while (!r->pending) {
		int ret = sink->next_input(sink->input_userdata, &r->in);

		if (ret <= 0)
			return ret;
		r->off = 0;
		/* an empty chunk says nothing: ask for the next */
		r->pending = r->in.kind != ISOL8_INPUT_STDIN || r->in.len > 0;
	}
	relay_frame(r, frame);
	return 1;
}
