/* Runtime packages: the names, the registries and their egress rules. See
 * install.h. */
#include "engine/install.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "egress/egress.h"
#include "engine/engine.h"

/* What a package name may hold beyond letters and digits: enough for pip
 * requirement specifiers ("requests[socks]>=2.31,<3"), npm specs
 * ("@scope/pkg@^1.2") and deno's "npm:" ones; no space, quote, "$", ";",
 * "\" or control character. */
static const char name_punct[] = "._-@/:=<>!~^*+,[]";

static bool name_char(unsigned char c)
{
	return isalnum(c) || (c != '\0' && strchr(name_punct, c) != NULL);
}

static int check_name(const char *field, size_t i, const char *name, struct isol8_error *err)
{
	size_t len = name ? strlen(name) : 0;

	if (len == 0)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s[%zu]: empty package name", field, i);
	if (len > ISOL8_INSTALL_NAME_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s[%zu]: package name longer than %d bytes", field, i,
				       ISOL8_INSTALL_NAME_MAX);
	if (name[0] == '-')
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s[%zu]: \"%s\" starts with \"-\" (a package name, not an installer option)",
				       field, i, name);
	for (size_t k = 0; k < len; k++)
		if (!name_char((unsigned char)name[k]))
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "%s[%zu]: \"%.64s\" has a character a package name cannot have "
					       "(letters, digits and %s)",
					       field, i, name, name_punct);
	return 0;
}

/* Deno installs npm packages: a bare name, or an "npm:" specifier. */
static int check_deno_name(const char *field, size_t i, const char *name, struct isol8_error *err)
{
	const char *colon = strchr(name, ':');

	if (colon != NULL && strncmp(name, "npm:", 4) != 0)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s[%zu]: \"%s\": deno installs npm packages only (a name or \"npm:NAME\")",
				       field, i, name);
	return 0;
}

int isol8_install_check_names(const char *field, const char *const *names, size_t n,
			      const struct isol8_runtime_info *runtime, bool bake, struct isol8_error *err)
{
	bool deno = strcmp(runtime->name, "deno") == 0;
	bool bash = strcmp(runtime->name, "bash") == 0;
	int ret = 0;

	if (n == 0)
		return 0;
	if (bash && !bake)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: the bash runtime has no package installer (its root file system is "
				       "read-only, so apt cannot install): bake Debian packages into the image with "
				       "`isol8 setup --bash PKG`",
				       field);
	if (deno && bake)
		return isol8_error_set(err, ISOL8_E_INVALID,
				       "%s: deno packages cannot be baked into the image (Deno's cache lives in "
				       "DENO_DIR on the sandbox's tmpfs): install them per run with `--install`",
				       field);
	if (n > ISOL8_INSTALL_MAX_PACKAGES)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: %zu packages, more than %d", field, n,
				       ISOL8_INSTALL_MAX_PACKAGES);
	for (size_t i = 0; i < n && ret == 0; i++) {
		ret = check_name(field, i, names[i], err);
		if (ret == 0 && deno)
			ret = check_deno_name(field, i, names[i], err);
	}
	return ret;
}

int isol8_install_check(const Isol8__V1__ExecuteRequest *req, const struct isol8_runtime_info *runtime,
			struct isol8_error *err)
{
	return isol8_install_check_names("install_packages", (const char *const *)req->install_packages,
					 req->n_install_packages, runtime, false, err);
}

/* A URL character the installers and a Dockerfile take as it is. */
static bool url_char(unsigned char c)
{
	return c > 0x20 && c < 0x7f && c != '"' && c != '\'' && c != '\\' && c != '`' && c != '$';
}

int isol8_registry_host(const char *field, const char *url, char *host, size_t size, bool *plain_http,
			struct isol8_error *err)
{
	const char *p, *end;
	size_t len = url ? strlen(url) : 0;

	if (len == 0 || len > ISOL8_REGISTRY_URL_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: a URL of 1 to %d bytes is needed", field,
				       ISOL8_REGISTRY_URL_MAX);
	for (size_t i = 0; i < len; i++)
		if (!url_char((unsigned char)url[i]))
			return isol8_error_set(err, ISOL8_E_INVALID,
					       "%s: \"%.64s\" has a space, quote or control character", field, url);
	if (strncmp(url, "https://", 8) == 0) {
		*plain_http = false;
		p = url + 8;
	} else if (strncmp(url, "http://", 7) == 0) {
		*plain_http = true;
		p = url + 7;
	} else {
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" is not an http:// or https:// URL", field,
				       url);
	}
	end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(end - p)) != NULL)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\": user info in a registry URL is not taken",
				       field, url);
	if (*p == '[') {
		const char *close = memchr(p, ']', (size_t)(end - p));
		if (close == NULL)
			return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" has no host", field, url);
		p++;
		end = close;
	} else {
		const char *colon = memchr(p, ':', (size_t)(end - p));
		if (colon != NULL)
			end = colon;
	}
	if (end == p || (size_t)(end - p) >= size)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: \"%s\" has no host (or one too long)", field, url);
	for (size_t i = 0; i < (size_t)(end - p); i++)
		host[i] = (char)tolower((unsigned char)p[i]);
	host[end - p] = '\0';
	return 0;
}

int isol8_registry_host_rule(const char *host, char *out, size_t size)
{
	static const char special[] = ".[]()*+?{}|^$\\";
	size_t n = 0;

	if (size < 3)
		return -1;
	out[n++] = '^';
	for (const char *p = host; *p; p++) {
		if (strchr(special, *p) != NULL) {
			if (n + 2 >= size)
				return -1;
			out[n++] = '\\';
		}
		if (n + 1 >= size)
			return -1;
		out[n++] = *p;
	}
	if (n + 2 > size)
		return -1;
	out[n++] = '$';
	out[n] = '\0';
	return 0;
}

static int registries_rules(struct isol8_registries *r, const char *field, struct isol8_error *err)
{
	char rules[ISOL8_REGISTRY_MAX][2 * ISOL8_REGISTRY_HOST_MAX + 3];
	const char *white[ISOL8_REGISTRY_MAX];

	for (size_t i = 0; i < r->n; i++) {
		if (isol8_registry_host_rule(r->hosts[i], rules[i], sizeof(rules[i])) < 0)
			return isol8_error_set(err, ISOL8_E_INTERNAL, "%s[%zu]: host too long", field, i);
		white[i] = rules[i];
	}
	return isol8_egress_rules_compile(field, white, r->n, "", NULL, 0, &r->rules, err);
}

static int registries_init(struct isol8_registries *r, const char *name, const char *const *urls, size_t n,
			   struct isol8_error *err)
{
	char field[64], one[112];

	snprintf(field, sizeof(field), "packages.registries.%s", name);
	if (n > ISOL8_REGISTRY_MAX)
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: %zu URLs, more than %d", field, n,
				       ISOL8_REGISTRY_MAX);
	for (r->n = 0; r->n < n; r->n++) {
		snprintf(one, sizeof(one), "%s[%zu]", field, r->n);
		if (isol8_registry_host(one, urls[r->n], r->hosts[r->n], sizeof(r->hosts[0]), &r->plain_http[r->n],
					err) < 0)
			return -err->code;
		r->urls[r->n] = strdup(urls[r->n]);
		if (r->urls[r->n] == NULL)
			return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	return n > 0 ? registries_rules(r, field, err) : 0;
}

/* Kept as given: set-up checks the names when it bakes them. */
static int bake_init(struct isol8_packages *p, int rt, const char *const *names, size_t n, struct isol8_error *err)
{
	if (n == 0)
		return 0;
	p->bake[rt] = calloc(n, sizeof(char *));
	if (p->bake[rt] == NULL)
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	for (p->n_bake[rt] = 0; p->n_bake[rt] < n; p->n_bake[rt]++)
		if ((p->bake[rt][p->n_bake[rt]] = strdup(names[p->n_bake[rt]])) == NULL)
			return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	return 0;
}

int isol8_packages_init(struct isol8_packages *p, const struct isol8_engine_packages *cfg, struct isol8_error *err)
{
	int ret = 0;

	memset(p, 0, sizeof(*p));
	for (int rt = 0; rt < ISOL8_RT_COUNT && ret == 0; rt++) {
		const struct isol8_runtime_info *info = &isol8_runtime_infos[rt];
		const char *const *urls = info->registries;
		size_t n = 0;

		if (cfg != NULL && cfg->n_registries[rt] > 0) {
			urls = cfg->registries[rt];
			n = cfg->n_registries[rt];
		} else {
			while (urls[n] != NULL)
				n++;
		}
		ret = registries_init(&p->registries[rt], info->name, urls, n, err);
		if (ret == 0 && cfg != NULL)
			ret = bake_init(p, rt, cfg->dependencies[rt], cfg->n_dependencies[rt], err);
	}
	if (ret < 0)
		isol8_packages_release(p);
	return ret;
}

void isol8_packages_release(struct isol8_packages *p)
{
	for (int rt = 0; rt < ISOL8_RT_COUNT; rt++) {
		struct isol8_registries *r = &p->registries[rt];
		for (size_t i = 0; i < r->n; i++)
			free(r->urls[i]);
		isol8_egress_rules_free(r->rules);
		for (size_t i = 0; i < p->n_bake[rt]; i++)
			free(p->bake[rt][i]);
		free(p->bake[rt]);
	}
	memset(p, 0, sizeof(*p));
}
