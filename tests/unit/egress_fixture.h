/*
 * Loopback servers and clients for the egress proxy's tests: origin
 * servers (echo, a tiny HTTP server, one that never accepts), a nameserver
 * that answers every query "no such name", a TCP-to-unix bridge for a real
 * HTTP client, and blocking client helpers. Threads, one poll loop each.
 */
#ifndef ISOL8_EGRESS_FIXTURE_H
#define ISOL8_EGRESS_FIXTURE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ORIGIN_SINK accepts and never reads; ORIGIN_NXDOMAIN counts queries in accepts. */
enum origin_mode { ORIGIN_ECHO, ORIGIN_HTTP, ORIGIN_NXDOMAIN, ORIGIN_BRIDGE, ORIGIN_SINK };

struct origin {
	enum origin_mode mode;
	int listen_fd;
	uint16_t port;
	int stop_pipe[2];
	pthread_t thread;
	atomic_int accepts;
	pthread_mutex_t lock;
	char last_request[8192]; /* ORIGIN_HTTP: the last request head it read */
	char bridge_to[128];     /* ORIGIN_BRIDGE: the unix socket it relays to */
};

/* Starts a server on 127.0.0.1 (UDP for ORIGIN_NXDOMAIN); 0 or -1. */
int origin_start(struct origin *o, enum origin_mode mode);
void origin_stop(struct origin *o);
/* The last request ORIGIN_HTTP read, copied into out. */
void origin_last_request(struct origin *o, char *out, size_t size);

/* A TCP listener on 127.0.0.1 with a full backlog: connects to its port hang.
 * Returns the listening fd (port in *port) and the filler in *filler. */
int blackhole_start(uint16_t *port, int *filler);

/* A blocking client of the unix socket at path, -1 on failure. */
int client_connect(const char *path);
int client_send(int fd, const char *text);
/* Reads until EOF, size - 1 bytes, or timeout_ms; NUL-terminates; returns length, -1 on timeout without EOF. */
ssize_t client_read_all(int fd, char *buf, size_t size, int timeout_ms);
/* Reads until want bytes arrived; returns the length read. */
ssize_t client_read_n(int fd, char *buf, size_t want, int timeout_ms);
/* Writes to fd (made non-blocking) until it takes nothing for 500 ms or
 * limit bytes went; returns the bytes written. */
size_t client_push(int fd, size_t limit);
/* Whether fd sees EOF within timeout_ms (reading and dropping bytes). */
int client_wait_eof(int fd, int timeout_ms);

#endif
