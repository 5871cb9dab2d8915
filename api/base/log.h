/*
 * The one log sink of isol8 programs (daemon, gateway): lines on stderr,
 * plain text or JSON, with a cheap level check. Library code does not log;
 * the programs' outer layers do. Thread safe (one write() per line).
 */
#ifndef ISOL8_LOG_H
#define ISOL8_LOG_H

#include <stdbool.h>

enum isol8_log_level { ISOL8_LOG_DEBUG, ISOL8_LOG_INFO, ISOL8_LOG_WARN, ISOL8_LOG_ERROR };

/* Set once at start-up, before threads. */
void isol8_log_setup(enum isol8_log_level min, bool json, const char *program);

/* Parses "debug", "info", "warn", "error"; -1 if none. */
int isol8_log_level_parse(const char *name);

static inline bool isol8_log_enabled(enum isol8_log_level level)
{
	extern enum isol8_log_level isol8_log_min_level;
	return level >= isol8_log_min_level;
}

void isol8_log_write(enum isol8_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define isol8_log(level, ...)                                                                      \
	do {                                                                                       \
		if (isol8_log_enabled(level))                                                      \
			isol8_log_write(level, __VA_ARGS__);                                       \
	} while (0)

#endif
