/*
 * A fake isol8d for libisol8's unit tests: api/rpc serving the generated
 * isol8.v1.Isol8, isol8.v1.Admin and grpc.health.v1.Health tables with
 * handlers that answer from what the request says (see lib_fake.c), on a
 * unix socket in a temporary directory and on TCP 127.0.0.1. What the
 * handlers saw is kept in `fake`, under fake.lock.
 */
#ifndef ISOL8_TEST_LIB_FAKE_H
#define ISOL8_TEST_LIB_FAKE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "rpc/rpc.h"

struct lib_fake {
	struct isol8_rpc_server *srv;
	char dir[64];
	char unix_target[128]; /* "unix:DIR/isol8.sock" */
	char tcp_target[64];   /* "127.0.0.1:PORT" */
	pthread_mutex_t lock;
	int health_status;     /* what Health/Check answers (a ServingStatus) */
	int entered;           /* blocking handlers that started */
	int saw_cancel;        /* blocking handlers that saw their call cancelled */
	int64_t deadline;      /* the last Execute/ExecuteStream/Info call's, minus its start (ms; INT64_MAX: none) */
	/* the last PutFile's */
	char put_session[64], put_path[128];
	uint32_t put_mode;
	uint64_t put_size;
	int put_chunks;
	bool put_ok;           /* its data was the pattern byte i = i % 251 */
	size_t get_size;       /* GetFile sends this many pattern bytes */
};

extern struct lib_fake fake;

/* Starts it (CUnit FATAL asserts on failure); with tls, TCP serves TLS with
 * a new self-signed certificate for 127.0.0.1 in DIR/cert.pem. */
void lib_fake_start(bool tls);
void lib_fake_stop(void);

/* Waits up to 10 s until *counter (a member of fake) reaches n. */
bool lib_fake_wait(int *counter, int n);

/* The byte at offset i of a file the tests move. */
static inline unsigned char lib_fake_pattern(uint64_t i)
{
	return (unsigned char)(i % 251);
}

#endif
