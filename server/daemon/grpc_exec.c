/* isol8.v1.Isol8 Execute and ExecuteStream over gRPC: the service layer
 * (service/service.h) runs them; this file moves messages. Events go out
 * with blocking writes: a client that reads slowly holds the run's output
 * back (the agent client stops reading the agent, the agent stops reading
 * the program's pipes, the program blocks), so nothing grows unbounded.
 * ExecuteInteractive (grpc_interactive.c) streams its events the same way. */
#include "daemon/daemon.h"
#include "isol8/v1/isol8.rpc.h"

static bool call_cancelled(void *userdata)
{
	return isol8_rpc_call_cancelled(userdata);
}

static char *phase_name(enum isol8_phase phase)
{
	return phase == ISOL8_PHASE_SETUP ? "setup" : "code";
}

static int stream_error(void *userdata, enum isol8_phase phase, const char *message)
{
	struct isol8_rpc_call *call = userdata;
	Isol8__V1__ExecuteEvent ev;
	struct isol8_error err = ISOL8_ERROR_INIT;

	isol8__v1__execute_event__init(&ev);
	ev.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_ERROR;
	ev.error = (char *)message;
	ev.phase = phase_name(phase);
	return isol8_rpc_call_write(call, &ev.base, &err) < 0 ? -ISOL8_E_CANCELLED : 0;
}

static int stream_output(void *userdata, enum isol8_phase phase, int stream, const uint8_t *data, size_t len)
{
	struct isol8_rpc_call *call = userdata;
	Isol8__V1__ExecuteEvent ev;
	struct isol8_error err = ISOL8_ERROR_INIT;

	isol8__v1__execute_event__init(&ev);
	ev.phase = phase_name(phase);
	if (stream == 1) {
		ev.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_STDOUT;
		ev.stdout = (ProtobufCBinaryData){len, (uint8_t *)data};
	} else {
		ev.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_STDERR;
		ev.stderr = (ProtobufCBinaryData){len, (uint8_t *)data};
	}
	return isol8_rpc_call_write(call, &ev.base, &err) < 0 ? -ISOL8_E_CANCELLED : 0;
}

void isol8d_stream_output_init(struct isol8_service_output *output, struct isol8_rpc_call *call)
{
	*output = (struct isol8_service_output){.on_output = stream_output,
						.on_error = stream_error,
						.cancelled = call_cancelled,
						.userdata = call,
						.input_fd = -1};
}

int isol8d_execute_begun(struct isol8d *d, struct isol8_rpc_call *call, const Isol8__V1__ExecuteRequest *req,
			 const struct isol8_service_output *output, struct isol8_error *err)
{
	struct isol8_service_result res;
	bool streamed = output->on_output != NULL;
	int ret = isol8_service_execute(&d->service, req, isol8_rpc_call_is_local(call), output, &res, err);

	if (ret == 0 && streamed) {
		Isol8__V1__ExecuteEvent ev;
		isol8__v1__execute_event__init(&ev);
		ev.event_case = ISOL8__V1__EXECUTE_EVENT__EVENT_EXIT;
		ev.exit = &res.message;
		ev.phase = phase_name(res.run.setup_failed ? ISOL8_PHASE_SETUP : ISOL8_PHASE_CODE);
		isol8d_reply(call, &ev.base);
	} else if (ret == 0) {
		isol8d_reply(call, &res.message.base);
	}
	isol8_service_result_release(&res);
	return ret;
}

/* Runs req with output going to `output`, then replies with the result
 * (streamed: as the last event) or finishes with the error. */
static void serve(struct isol8d *d, struct isol8_rpc_call *call, const Isol8__V1__ExecuteRequest *req,
		  const struct isol8_service_output *output)
{
	struct isol8_error err = ISOL8_ERROR_INIT;

	if (isol8d_call_begin(d, call) && isol8d_execute_begun(d, call, req, output, &err) < 0)
		isol8d_finish_error(call, &err);
	isol8d_call_end(d);
}

static void handle_execute(struct isol8_rpc_call *call, const Isol8__V1__ExecuteRequest *req, void *userdata)
{
	struct isol8_service_output output = {.cancelled = call_cancelled,
					      .userdata = call,
					      .gather_max = ISOL8_SERVICE_GATHER_MAX(ISOL8_RPC_MAX_MESSAGE),
					      .input_fd = -1};

	serve(userdata, call, req, &output);
}

static void handle_execute_stream(struct isol8_rpc_call *call, const Isol8__V1__ExecuteRequest *req,
				  void *userdata)
{
	struct isol8_service_output output;

	isol8d_stream_output_init(&output, call);
	serve(userdata, call, req, &output);
}

int isol8d_routes_exec(struct isol8d *d, struct isol8_error *err)
{
	int ret = isol8__v1__isol8__execute__route(d->server, handle_execute, d, err);
	if (ret == 0)
		ret = isol8__v1__isol8__execute_stream__route(d->server, handle_execute_stream, d, err);
	if (ret == 0)
		ret = isol8d_route_interactive(d, err);
	return ret;
}
