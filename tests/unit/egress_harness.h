/*
 * What the egress proxy's test suites share: a temp dir with a hosts file
 * (origin.test, other.test, blocked.test: 127.0.0.1; metadata.test:
 * 169.254.169.254) and a resolv.conf naming the test's nameserver, which
 * knows no name; an echo and an HTTP origin; one proxy that allows
 * 127.0.0.1 with a port "sb" at sock_path; the proxy's log lines; and
 * request helpers asserting what a sandbox's program reads.
 */
#ifndef ISOL8_EGRESS_HARNESS_H
#define ISOL8_EGRESS_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "egress/egress.h"
#include "egress_fixture.h"

extern char dir[];
extern char sock_path[128], resolv_path[128], hosts_path[128];
extern struct origin echo, http, dns;
extern struct isol8_egress *eg;
extern struct isol8_egress_port *port;
/* CONNECT's answer */
#define CONNECT_OK "HTTP/1.1 200 Connection established\r\n\r\n"
#define CONNECT_OK_LEN (sizeof(CONNECT_OK) - 1)

/* The suite's init and cleanup. */
int egress_harness_init(void);
int egress_harness_cleanup(void);

/* The proxies' log: keeps the lines for logged(). */
void capture_log(int level, const char *message);
/* Forgets the log lines seen so far. */
void clear_log(void);
/* Whether a log line equals want, its duration ("12ms") read as "Nms". */
int logged(const char *want);
int write_file(const char *path, const char *text);
/* Another proxy with the test's resolver and log (0s: the defaults). */
int start_egress(struct isol8_egress **out, bool allow_loopback, int64_t idle_ms, int64_t connect_ms, int max_conns);
/* One-entry rules (NULL: none); asserts they compile. */
struct isol8_egress_rules *rules_of(const char *white, const char *black);
/* Binds a use with execution id "e1" that keeps its log. */
void bind_on(struct isol8_egress_port *p, const struct isol8_egress_rules *rules, int64_t max_bytes);
/* Sends text on a new connection and reads until EOF into out. */
void request_on(const char *path, const char *text, char *out, size_t size);
void request(const char *text, char *out, size_t size);
/* Asserts the proxy's own answer to text: status, its text and body. */
void expect_answer_on(const char *path, const char *text, int status, const char *status_text, const char *body);
void expect_answer(const char *text, int status, const char *status_text, const char *body);
/* A CONNECT tunnel to the echo origin via host; its fd after the 200, or -1. */
int open_tunnel(const char *path, const char *host);

#endif
