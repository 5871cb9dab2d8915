/* protobuf-c <-> gRPC byte buffers and small shared helpers: see rpc_codec.h. */
#include "rpc/rpc_codec.h"

#include <errno.h>
#include <fcntl.h>
#include <grpc/byte_buffer.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/slice.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/util.h"
#include "rpc/rpc_wire.h"

#define PEM_MAX (1024 * 1024)

int isol8_rpc_pack(const ProtobufCMessage *msg, grpc_byte_buffer **out, struct isol8_error *err)
{
	size_t len;
	grpc_slice slice;

	*out = NULL;
	if (msg == NULL)
		return isol8_error_set(err, ISOL8_E_INTERNAL, "no message to send");
	len = protobuf_c_message_get_packed_size(msg);
	if (len > ISOL8_RPC_MAX_MESSAGE)
		return isol8_error_set(err, ISOL8_E_EXHAUSTED, "%s is %zu bytes, more than the %u allowed",
				       msg->descriptor->name, len, ISOL8_RPC_MAX_MESSAGE);
	slice = grpc_slice_malloc(len);
	protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
	*out = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice);
	return 0;
}

static int unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc, const char *what, bool check_text,
		  ProtobufCMessage **out, struct isol8_error *err)
{
	grpc_byte_buffer_reader reader;
	grpc_slice slice;
	size_t len = grpc_byte_buffer_length(bb);
	int ret = 0;

	*out = NULL;
	if (len > ISOL8_RPC_MAX_MESSAGE)
		return isol8_error_set(err, ISOL8_E_EXHAUSTED, "%s is %zu bytes, more than the %u allowed",
				       what, len, ISOL8_RPC_MAX_MESSAGE);
	if (!grpc_byte_buffer_reader_init(&reader, bb))
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: cannot decompress", what);
	slice = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	if (check_text)
		ret = isol8_rpc_wire_check(desc, GRPC_SLICE_START_PTR(slice), GRPC_SLICE_LENGTH(slice), err);
	if (ret == 0)
		*out = protobuf_c_message_unpack(desc, NULL, GRPC_SLICE_LENGTH(slice), GRPC_SLICE_START_PTR(slice));
	grpc_slice_unref(slice);
	if (ret < 0)
		return ret;
	if (*out == NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s is not a valid %s", what, desc->name);
	return 0;
}

int isol8_rpc_unpack(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc, const char *what,
		     ProtobufCMessage **out, struct isol8_error *err)
{
	return unpack(bb, desc, what, false, out, err);
}

int isol8_rpc_unpack_request(grpc_byte_buffer *bb, const ProtobufCMessageDescriptor *desc, ProtobufCMessage **out,
			     struct isol8_error *err)
{
	return unpack(bb, desc, "request", true, out, err);
}

void isol8_rpc_args_init(struct isol8_rpc_args *a)
{
	a->args[0].type = GRPC_ARG_INTEGER;
	a->args[0].key = (char *)GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	a->args[0].value.integer = (int)ISOL8_RPC_MAX_MESSAGE;
	a->args[1].type = GRPC_ARG_INTEGER;
	a->args[1].key = (char *)GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
	a->args[1].value.integer = (int)ISOL8_RPC_MAX_MESSAGE;
	a->channel_args.num_args = ISOL8_ARRAY_LEN(a->args);
	a->channel_args.args = a->args;
}

int isol8_rpc_read_pem(const char *path, char **out, struct isol8_error *err)
{
	_cleanup_close_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	ssize_t n;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return isol8_error_errno(err, ISOL8_E_INVALID, errno, "cannot open '%s'", path);
	if (fstat(fd, &st) < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot stat '%s'", path);
	if (!S_ISREG(st.st_mode) || st.st_size > PEM_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "'%s' is not a PEM file of at most %d bytes",
				       path, PEM_MAX);
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory reading '%s'", path);
	n = isol8_read_full(fd, buf, (size_t)st.st_size);
	if (n < 0)
		return isol8_error_errno(err, ISOL8_E_IO, errno, "cannot read '%s'", path);
	buf[n] = '\0';
	*out = ISOL8_TAKE(buf);
	return 0;
}

void isol8_rpc_queue_destroy(grpc_completion_queue *cq)
{
	static char drain_tag;
	grpc_event ev;

	if (cq == NULL)
		return;
	grpc_completion_queue_shutdown(cq);
	do {
		ev = grpc_completion_queue_pluck(cq, &drain_tag, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
	} while (ev.type != GRPC_QUEUE_SHUTDOWN);
	grpc_completion_queue_destroy(cq);
}

gpr_timespec isol8_rpc_deadline(int timeout_ms)
{
	if (timeout_ms <= 0)
		return gpr_inf_future(GPR_CLOCK_REALTIME);
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC), gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}
