/*
 * The whitelist and blacklist of one request (egress.h): POSIX extended
 * regular expressions, case-insensitive, matched anywhere in the host name.
 */
#include <ctype.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "egress/egress.h"
#include "egress/head.h"

struct isol8_egress_rules {
	regex_t *white, *black;
	size_t n_white, n_black;
};

static void free_list(regex_t *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		regfree(&list[i]);
	free(list);
}

void isol8_egress_rules_free(struct isol8_egress_rules *rules)
{
	if (rules == NULL)
		return;
	free_list(rules->white, rules->n_white);
	free_list(rules->black, rules->n_black);
	free(rules);
}

/* Compiles n patterns into *out; *compiled counts those to free. */
static int compile_list(const char *field, const char *const *patterns, size_t n, regex_t **out,
			size_t *compiled, struct isol8_error *err)
{
	*compiled = 0;
	*out = NULL;
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (*out == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "%s: out of memory", field);
	for (size_t i = 0; i < n; i++) {
		int rc = regcomp(&(*out)[i], patterns[i], REG_EXTENDED | REG_NOSUB | REG_ICASE);

		if (rc != 0) {
			char msg[256];

			regerror(rc, &(*out)[i], msg, sizeof(msg));
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "%s[%zu]: \"%s\" is not a valid regular expression (%s)", field, i,
					       patterns[i], msg);
		}
		(*compiled)++;
	}
	return 0;
}

int isol8_egress_rules_compile(const char *field_white, const char *const *whitelist, size_t n_white,
			       const char *field_black, const char *const *blacklist, size_t n_black,
			       struct isol8_egress_rules **out, struct isol8_error *err)
{
	struct isol8_egress_rules *rules = calloc(1, sizeof(*rules));
	int rc;

	*out = NULL;
	if (rules == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "egress rules: out of memory");
	rc = compile_list(field_white, whitelist, n_white, &rules->white, &rules->n_white, err);
	if (rc == 0)
		rc = compile_list(field_black, blacklist, n_black, &rules->black, &rules->n_black, err);
	if (rc != 0) {
		isol8_egress_rules_free(rules);
		return rc;
	}
	*out = rules;
	return 0;
}

static bool any_match(const regex_t *list, size_t n, const char *host)
{
	for (size_t i = 0; i < n; i++)
		if (regexec(&list[i], host, 0, NULL, 0) == 0)
			return true;
	return false;
}

enum isol8_egress_verdict isol8_egress_rules_check(const struct isol8_egress_rules *rules, const char *host)
{
	char lower[ISOL8_EGRESS_HOST_MAX + 1];
	size_t len = strlen(host);

	if (rules == NULL || len > ISOL8_EGRESS_HOST_MAX)
		return ISOL8_EGRESS_NOT_WHITELISTED;
	for (size_t i = 0; i <= len; i++)
		lower[i] = (char)tolower((unsigned char)host[i]);
	if (any_match(rules->black, rules->n_black, lower))
		return ISOL8_EGRESS_BLACKLISTED;
	if (any_match(rules->white, rules->n_white, lower))
		return ISOL8_EGRESS_ALLOWED;
	return ISOL8_EGRESS_NOT_WHITELISTED;
}
