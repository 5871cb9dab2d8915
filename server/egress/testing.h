/*
 * For the egress proxy's unit tests: a start with its own resolver files,
 * so that tests resolve names from a hosts file of theirs and ask a
 * nameserver of theirs on loopback, never the machine's.
 */
#ifndef ISOL8_EGRESS_TESTING_H
#define ISOL8_EGRESS_TESTING_H

#include "egress/egress.h"

/* Like isol8_egress_start with resolv_conf in place of /etc/resolv.conf
 * and, when hosts is not NULL, hosts in place of /etc/hosts. */
int egress_start_with(const struct isol8_egress_config *cfg, const char *resolv_conf, const char *hosts,
		      struct isol8_egress **out, struct isol8_error *err);

#endif
