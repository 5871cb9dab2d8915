/*
 * A check of a request's wire bytes before protobuf-c unpacks them.
 *
 * protobuf-c turns a `string` field into a NUL-terminated char *, so a value
 * with an embedded NUL is silently cut there ("echo a\0echo b" would run
 * "echo a"), and it does not check UTF-8. isol8_rpc_wire_check walks the
 * serialized message with its descriptor, recursing into sub-messages and
 * map entries, and refuses any `string` field holding a NUL byte or bytes
 * that are not UTF-8 (RFC 3629: no overlong forms, no surrogates, nothing
 * past U+10FFFF).
 *
 * Errors are ISOL8_E_INVALID naming the field as the client knows it:
 *   code: contains a NUL byte at offset 6
 *   env: the value of "X" is not valid UTF-8 at offset 0
 *   options.secrets: the key "A\x00B" contains a NUL byte at offset 1
 *   output_paths[2]: is not valid UTF-8 at offset 4
 * and, for bytes that are no protobuf encoding at all, the position:
 *   request: a varint is cut short at byte 17 (in options)
 *
 * Bounds: every byte is parsed once (a second pass over one message level
 * only to number the element of an error); messages nest at most
 * ISOL8_RPC_WIRE_MAX_DEPTH deep; nothing is allocated. Safe on any input.
 */
#ifndef ISOL8_RPC_WIRE_H
#define ISOL8_RPC_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stddef.h>
#include <stdint.h>

#include "isol8/error.h"

#define ISOL8_RPC_WIRE_MAX_DEPTH 32

/* 0 when data (len bytes) is a well-formed encoding of desc whose string
 * fields are all valid UTF-8 without NUL; else ISOL8_E_INVALID (err filled). */
int isol8_rpc_wire_check(const ProtobufCMessageDescriptor *desc, const uint8_t *data, size_t len,
			 struct isol8_error *err);

#endif
