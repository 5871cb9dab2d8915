/*
 * How much memory the gateway's parsed JSON may hold at once, all calls
 * together. A cJSON tree costs up to ~40 times its text (a 64-byte node
 * for each "0," of a Buffer's bytes), so a 10 MiB body can take 400 MiB;
 * a few of them at once would take the gateway's memory. Every cJSON
 * allocation is counted (cJSON's hooks, process-wide); one past the budget
 * is refused, which fails that parse and only that one.
 */
#ifndef ISOL8_GATEWAY_JSON_BUDGET_H
#define ISOL8_GATEWAY_JSON_BUDGET_H

#include <stdbool.h>
#include <stddef.h>

/* Sets the budget in bytes (0: no limit). The first call installs the
 * hooks: call it before any cJSON allocation (memory cJSON took before is
 * not counted when freed after). */
void gw_json_budget_set(size_t bytes);
size_t gw_json_budget(void);
/* Bytes the parsed JSON holds now. */
size_t gw_json_budget_in_use(void);
/* Whether an allocation on this thread was refused since the last call. */
bool gw_json_budget_refused(void);

#endif
