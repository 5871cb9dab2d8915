/* ExecuteEvent -> struct isol8_event: see event.h. */
#include "lib/event.h"

#include <stdlib.h>
#include <string.h>

#include "lib/client.h"
#include "lib/result.h"

static const char *phase_name(const char *phase)
{
	return phase != NULL && strcmp(phase, "setup") == 0 ? "setup" : "code";
}

/* Copies len bytes and a NUL into the store's buffer. */
static int store_bytes(struct isol8_event_store *s, const void *data, size_t len, struct isol8_error *err)
{
	if (len == SIZE_MAX)
		return isol8_client_nomem(err, "reading an event");
	if (len + 1 > s->cap) {
		char *grown = realloc(s->data, len + 1);
		if (grown == NULL)
			return isol8_client_nomem(err, "reading an event");
		s->data = grown;
		s->cap = len + 1;
	}
	if (len > 0)
		memcpy(s->data, data, len);
	s->data[len] = '\0';
	return 0;
}

static int event_bytes(struct isol8_event_store *s, enum isol8_event_type type, const void *data, size_t len,
		       struct isol8_event *ev, struct isol8_error *err)
{
	int ret = store_bytes(s, data, len, err);

	if (ret < 0)
		return ret;
	ev->type = type;
	ev->data = s->data;
	ev->size = len;
	return 1;
}

int isol8_event_from_proto(struct isol8_event_store *s, const Isol8__V1__ExecuteEvent *msg, struct isol8_event *ev,
			   struct isol8_error *err)
{
	static const Isol8__V1__ExecuteResult empty = ISOL8__V1__EXECUTE_RESULT__INIT;
	int ret;

	*ev = (struct isol8_event){.phase = phase_name(msg->phase)};
	switch (msg->event_case) {
	case ISOL8__V1__EXECUTE_EVENT__EVENT_STDOUT:
		return event_bytes(s, ISOL8_EVENT_STDOUT, msg->stdout.data, msg->stdout.len, ev, err);
	case ISOL8__V1__EXECUTE_EVENT__EVENT_STDERR:
		return event_bytes(s, ISOL8_EVENT_STDERR, msg->stderr.data, msg->stderr.len, ev, err);
	case ISOL8__V1__EXECUTE_EVENT__EVENT_ERROR:
		return event_bytes(s, ISOL8_EVENT_ERROR, msg->error, strlen(msg->error), ev, err);
	case ISOL8__V1__EXECUTE_EVENT__EVENT_EXIT:
		isol8_result_free(s->result);
		s->result = NULL;
		ret = isol8_result_from_proto(&s->result, msg->exit != NULL ? msg->exit : &empty, err);
		if (ret < 0)
			return ret;
		ev->type = ISOL8_EVENT_EXIT;
		ev->result = s->result;
		return event_bytes(s, ISOL8_EVENT_EXIT, "", 0, ev, err);
	default:
		return 0;
	}
}

int isol8_event_from_status(struct isol8_event_store *s, const struct isol8_error *status, struct isol8_event *ev,
			    struct isol8_error *err)
{
	*ev = (struct isol8_event){.phase = "code", .code = status->code != 0 ? status->code : ISOL8_E_INTERNAL};
	return event_bytes(s, ISOL8_EVENT_ERROR, status->message, strlen(status->message), ev, err);
}

void isol8_event_store_release(struct isol8_event_store *s)
{
	free(s->data);
	isol8_result_free(s->result);
	*s = (struct isol8_event_store){0};
}
