/*
 * Small internal helpers shared by every isol8 program: cleanup attributes
 * and checked size arithmetic. Not part of the public API.
 */
#ifndef ISOL8_UTIL_H
#define ISOL8_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static inline void isol8_freep(void *p)
{
	free(*(void **)p);
}

static inline void isol8_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;
		close(*fd);
		errno = saved;
	}
}

#define _cleanup_free_ __attribute__((cleanup(isol8_freep)))
#define _cleanup_close_ __attribute__((cleanup(isol8_closep)))

/* Hands ownership over: returns p and clears the variable. */
#define ISOL8_TAKE(p)                                                                              \
	({                                                                                         \
		__typeof__(p) taken_ = (p);                                                        \
		(p) = NULL;                                                                        \
		taken_;                                                                            \
	})

#define ISOL8_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* a + b into *out; false on overflow. */
static inline bool isol8_size_add(size_t a, size_t b, size_t *out)
{
	return !__builtin_add_overflow(a, b, out);
}

/* a * b into *out; false on overflow. */
static inline bool isol8_size_mul(size_t a, size_t b, size_t *out)
{
	return !__builtin_mul_overflow(a, b, out);
}

/* Monotonic clock in milliseconds / microseconds. */
int64_t isol8_now_ms(void);
int64_t isol8_now_us(void);

/* Wall-clock time in milliseconds since the epoch. */
int64_t isol8_unix_ms(void);

/* The current time (or unix_ms) as RFC 3339 UTC with milliseconds,
 * "2026-01-02T03:04:05.678Z". */
void isol8_utc_timestamp(char *buf, size_t size);
void isol8_utc_timestamp_at(int64_t unix_ms, char *buf, size_t size);

/* write()/read() loops that retry EINTR and short transfers.
 * isol8_read_full returns bytes read (< len only at EOF) or -1 with errno. */
int isol8_write_full(int fd, const void *buf, size_t len);
ssize_t isol8_read_full(int fd, void *buf, size_t len);

/* The length (1 to 4) of the valid UTF-8 sequence at p, reading at most n
 * (>= 1) bytes; 0 when it is not one (overlong forms, surrogates and code
 * points past U+10FFFF are not). A NUL byte is a sequence of 1. */
size_t isol8_utf8_sequence(const unsigned char *p, size_t n);

#endif
