/* The string check of a request's wire bytes: see rpc_wire.h. */
#include "rpc/rpc_wire.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define PATH_SIZE 256
#define KEY_SHOWN 64 /* bytes of a map key quoted in a message */

enum wire_type { WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_FIXED32 = 5 };

/* One field as it sits on the wire. */
struct wire_field {
	uint32_t number;
	unsigned type;
	const uint8_t *start; /* its tag */
	const uint8_t *data;  /* WIRE_LEN: the payload */
	size_t len;
};

struct wire_reader {
	const uint8_t *p, *end;
};

/* The state of one check: where the message starts (for byte positions) and
 * the path of the field being walked ("options.secrets"). */
struct wire_check {
	const uint8_t *base;
	struct isol8_error *err;
	char path[PATH_SIZE];
	size_t path_len;
};

/* ------------------------------------------------------------- reading */

static int malformed(struct wire_check *c, const uint8_t *at, const char *what)
{
	if (c->path_len == 0)
		return isol8_error_set(c->err, ISOL8_E_INVALID, "request: %s at byte %zu", what,
				       (size_t)(at - c->base));
	return isol8_error_set(c->err, ISOL8_E_INVALID, "request: %s at byte %zu (in %s)", what,
			       (size_t)(at - c->base), c->path);
}

/* A varint of at most 10 bytes; 0, or -1 when cut short or too long. */
static int read_varint(struct wire_reader *r, uint64_t *out, const char **why)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		uint8_t b;

		if (r->p == r->end) {
			*why = "a varint is cut short";
			return -1;
		}
		b = *r->p++;
		v |= (uint64_t)(b & 0x7f) << shift;
		if ((b & 0x80) == 0) {
			*out = v;
			return 0;
		}
	}
	*why = "a varint is longer than 10 bytes";
	return -1;
}

static int skip(struct wire_reader *r, size_t n, const char **why)
{
	if ((size_t)(r->end - r->p) < n) {
		*why = "a fixed-size field is cut short";
		return -1;
	}
	r->p += n;
	return 0;
}

/* Reads the next field of r into f; 0, or negative (c->err filled). */
static int next_field(struct wire_check *c, struct wire_reader *r, struct wire_field *f)
{
	const char *why = NULL;
	uint64_t tag, len;
	int ret;

	f->start = r->p;
	if (read_varint(r, &tag, &why) < 0)
		return malformed(c, f->start, why);
	if (tag > UINT32_MAX || (tag >> 3) == 0)
		return malformed(c, f->start, "a field number is out of range");
	f->number = (uint32_t)(tag >> 3);
	f->type = (unsigned)(tag & 7);
	switch (f->type) {
	case WIRE_VARINT:
		ret = read_varint(r, &len, &why);
		break;
	case WIRE_FIXED64:
		ret = skip(r, 8, &why);
		break;
	case WIRE_FIXED32:
		ret = skip(r, 4, &why);
		break;
	case WIRE_LEN:
		ret = read_varint(r, &len, &why);
		if (ret == 0 && len > (uint64_t)(r->end - r->p)) {
			why = "a length runs past the end of its message";
			ret = -1;
		}
		if (ret == 0) {
			f->data = r->p;
			f->len = (size_t)len;
			r->p += len;
		}
		break;
	default:
		why = f->type == 3 || f->type == 4 ? "groups are not accepted" : "an unknown wire type";
		ret = -1;
	}
	return ret < 0 ? malformed(c, f->start, why) : 0;
}

/* ------------------------------------------------------------- text */

/* Offset of the first NUL byte or invalid UTF-8 sequence in s, or len when
 * there is none; *nul says which. */
static size_t text_problem(const uint8_t *s, size_t len, bool *nul)
{
	size_t i = 0;

	*nul = false;
	while (i < len) {
		uint8_t b = s[i];
		uint8_t lo = 0x80, hi = 0xbf;
		size_t more;

		if (b == 0) {
			*nul = true;
			return i;
		}
		if (b < 0x80) {
			i++;
			continue;
		}
		if (b >= 0xc2 && b <= 0xdf) {
			more = 1;
		} else if (b >= 0xe0 && b <= 0xef) {
			more = 2;
			if (b == 0xe0)
				lo = 0xa0; /* overlong */
			else if (b == 0xed)
				hi = 0x9f; /* surrogates */
		} else if (b >= 0xf0 && b <= 0xf4) {
			more = 3;
			if (b == 0xf0)
				lo = 0x90; /* overlong */
			else if (b == 0xf4)
				hi = 0x8f; /* past U+10FFFF */
		} else {
			return i;
		}
		if (len - i <= more || s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k <= more; k++)
			if (s[i + k] < 0x80 || s[i + k] > 0xbf)
				return i;
		i += more + 1;
	}
	return len;
}

/* The problem of a text as the end of a message: "contains a NUL byte at
 * offset 6"; NULL when there is none. */
static const char *text_describe(const uint8_t *s, size_t len, size_t *offset)
{
	bool nul;

	*offset = text_problem(s, len, &nul);
	if (*offset == len)
		return NULL;
	return nul ? "contains a NUL byte" : "is not valid UTF-8";
}

/* A map key for a message: printable ASCII as is, the rest as \xNN. */
static void key_quote(const uint8_t *s, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < size; i++) {
		if (i == KEY_SHOWN) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (s[i] == '"' || s[i] == '\\')
			o += (size_t)snprintf(out + o, size - o, "\\%c", s[i]);
		else if (s[i] >= 0x20 && s[i] < 0x7f)
			out[o++] = (char)s[i];
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", s[i]);
	}
	out[o] = '\0';
}

/* ------------------------------------------------------------- paths */

/* Appends to the path (cut at its size); returns the length to pop back to. */
static size_t path_append(struct wire_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t path_append(struct wire_check *c, const char *fmt, ...)
{
	size_t saved = c->path_len;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(c->path + c->path_len, sizeof(c->path) - c->path_len, fmt, ap);
	va_end(ap);
	if (n > 0)
		c->path_len += (size_t)n;
	if (c->path_len >= sizeof(c->path))
		c->path_len = sizeof(c->path) - 1;
	return saved;
}

/* Appends a field name: "options" then "options.secrets". */
static size_t path_push(struct wire_check *c, const char *name)
{
	return path_append(c, "%s%s", c->path_len ? "." : "", name);
}

static void path_pop(struct wire_check *c, size_t saved)
{
	c->path_len = saved;
	c->path[saved] = '\0';
}

/* Which element of repeated field `number` the field at `at` is. */
static size_t element_index(struct wire_check *c, const uint8_t *data, const uint8_t *at, uint32_t number)
{
	struct wire_reader r = {data, at};
	struct wire_field f;
	size_t index = 0;

	while (r.p < r.end && next_field(c, &r, &f) == 0)
		index += f.number == number;
	return index;
}

/* ------------------------------------------------------------- walking */

static int check_message(struct wire_check *c, const ProtobufCMessageDescriptor *desc, const uint8_t *data,
			 size_t len, int depth);

static bool is_map_entry(const ProtobufCFieldDescriptor *fd)
{
	const ProtobufCMessageDescriptor *d = fd->descriptor;
	const ProtobufCFieldDescriptor *key, *value;
	size_t n;

	if (fd->label != PROTOBUF_C_LABEL_REPEATED || d == NULL || d->n_fields != 2)
		return false;
	n = strlen(d->short_name);
	key = protobuf_c_message_descriptor_get_field(d, 1);
	value = protobuf_c_message_descriptor_get_field(d, 2);
	return n > 5 && strcmp(d->short_name + n - 5, "Entry") == 0 && key != NULL && value != NULL &&
	       strcmp(key->name, "key") == 0 && strcmp(value->name, "value") == 0;
}

static bool is_text_or_message(const ProtobufCFieldDescriptor *fd)
{
	return fd->type == PROTOBUF_C_TYPE_STRING || fd->type == PROTOBUF_C_TYPE_MESSAGE;
}

/* The field's own wire type is length-delimited, as strings and messages are. */
static int check_wire_type(struct wire_check *c, const ProtobufCFieldDescriptor *fd, const struct wire_field *f)
{
	size_t saved;
	int ret;

	if (f->type == WIRE_LEN)
		return 0;
	saved = path_push(c, fd->name);
	ret = malformed(c, f->start, "a string or message field is not length-delimited");
	path_pop(c, saved);
	return ret;
}

/* A map entry (key 1, value 2): keys and values that are text are checked
 * and named by their key; a message value is walked as field["key"]. */
static int check_map_entry(struct wire_check *c, const ProtobufCFieldDescriptor *fd, const struct wire_field *entry,
			   int depth)
{
	const ProtobufCFieldDescriptor *key_fd = protobuf_c_message_descriptor_get_field(fd->descriptor, 1);
	const ProtobufCFieldDescriptor *value_fd = protobuf_c_message_descriptor_get_field(fd->descriptor, 2);
	struct wire_reader r = {entry->data, entry->data + entry->len};
	bool key_is_text = key_fd->type == PROTOBUF_C_TYPE_STRING;
	char key[KEY_SHOWN * 4 + 8] = "";
	const char *problem;
	struct wire_field f;
	size_t offset, saved;
	int ret;

	if (depth + 1 > ISOL8_RPC_WIRE_MAX_DEPTH)
		return malformed(c, entry->start, "messages nest too deep");
	saved = path_push(c, fd->name);
	/* First the key (the last one wins, as in protobuf-c), so that a value can be named by it. */
	while (r.p < r.end) {
		if ((ret = next_field(c, &r, &f)) < 0)
			goto out;
		if (f.number == 1 && key_is_text) {
			if ((ret = check_wire_type(c, key_fd, &f)) < 0)
				goto out;
			key_quote(f.data, f.len, key, sizeof(key));
			if ((problem = text_describe(f.data, f.len, &offset)) != NULL) {
				ret = isol8_error_set(c->err, ISOL8_E_INVALID, "%s: the key \"%s\" %s at offset %zu", c->path,
						      key, problem, offset);
				goto out;
			}
		}
	}
	r.p = entry->data;
	while (r.p < r.end) {
		next_field(c, &r, &f); /* read once above: cannot fail */
		if (f.number != 2 || !is_text_or_message(value_fd))
			continue;
		if ((ret = check_wire_type(c, value_fd, &f)) < 0)
			goto out;
		if (value_fd->type == PROTOBUF_C_TYPE_MESSAGE) {
			size_t inner = key_is_text ? path_append(c, "[\"%s\"]", key) : path_append(c, "[]");

			ret = check_message(c, value_fd->descriptor, f.data, f.len, depth + 2);
			path_pop(c, inner);
			if (ret < 0)
				goto out;
		} else if ((problem = text_describe(f.data, f.len, &offset)) != NULL) {
			if (key_is_text)
				ret = isol8_error_set(c->err, ISOL8_E_INVALID, "%s: the value of \"%s\" %s at offset %zu",
						      c->path, key, problem, offset);
			else
				ret = isol8_error_set(c->err, ISOL8_E_INVALID, "%s: a value %s at offset %zu", c->path,
						      problem, offset);
			goto out;
		}
	}
	ret = 0;
out:
	path_pop(c, saved);
	return ret;
}

/* A string field (one element of a repeated one: "name[i]"). */
static int check_text(struct wire_check *c, const ProtobufCFieldDescriptor *fd, const uint8_t *message,
		      const struct wire_field *f)
{
	const char *problem;
	size_t offset, saved;
	int ret;

	if ((problem = text_describe(f->data, f->len, &offset)) == NULL)
		return 0;
	saved = path_push(c, fd->name);
	if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t index = element_index(c, message, f->start, f->number);
		ret = isol8_error_set(c->err, ISOL8_E_INVALID, "%s[%zu]: %s at offset %zu", c->path, index, problem,
				      offset);
	} else {
		ret = isol8_error_set(c->err, ISOL8_E_INVALID, "%s: %s at offset %zu", c->path, problem, offset);
	}
	path_pop(c, saved);
	return ret;
}

static int check_field(struct wire_check *c, const ProtobufCFieldDescriptor *fd, const uint8_t *message,
		       const struct wire_field *f, int depth)
{
	size_t saved;
	int ret;

	if (!is_text_or_message(fd))
		return 0;
	ret = check_wire_type(c, fd, f);
	if (ret < 0)
		return ret;
	if (fd->type == PROTOBUF_C_TYPE_STRING)
		return check_text(c, fd, message, f);
	if (is_map_entry(fd))
		return check_map_entry(c, fd, f, depth);
	saved = path_push(c, fd->name);
	if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
		path_append(c, "[%zu]", element_index(c, message, f->start, f->number));
	}
	ret = check_message(c, fd->descriptor, f->data, f->len, depth + 1);
	path_pop(c, saved);
	return ret;
}

static int check_message(struct wire_check *c, const ProtobufCMessageDescriptor *desc, const uint8_t *data,
			 size_t len, int depth)
{
	struct wire_reader r = {data, data + len};
	struct wire_field f;
	int ret;

	if (depth > ISOL8_RPC_WIRE_MAX_DEPTH)
		return malformed(c, data, "messages nest too deep");
	while (r.p < r.end) {
		const ProtobufCFieldDescriptor *fd;

		ret = next_field(c, &r, &f);
		if (ret < 0)
			return ret;
		fd = protobuf_c_message_descriptor_get_field(desc, f.number);
		if (fd == NULL) /* unknown: skipped, as protobuf-c keeps it opaque */
			continue;
		ret = check_field(c, fd, data, &f, depth);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int isol8_rpc_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
			 struct isol8_error *err)
{
	struct wire_check c = {.base = data, .err = err};

	if (desc == NULL || (data == NULL && len > 0))
		return isol8_error_set(err, ISOL8_E_INTERNAL, "wire check without a message");
	return check_message(&c, desc, data, len, 0);
}
