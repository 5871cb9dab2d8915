/* The layer `isol8 setup` bakes packages into a runtime's image with: a
 * Dockerfile in memory, each name and URL single-quoted (neither holds a
 * quote: install.c checked them). See install.h. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "engine/install.h"

/* One RUN line per runtime: the command before the names, after them. The
 * installs are system wide, where the sandbox's read-only root keeps them:
 * python's system site; /node_modules, which CommonJS require and ESM
 * import from /sandbox/main.* both reach by walking up (installed in a
 * scratch folder and moved there: npm cannot install with / as its
 * project). */
static const struct bake_row {
	const char *runtime;
	const char *head; /* {registry}: the first registry URL */
	const char *tail;
} bake_rows[] = {
	{"python",
	 "python3 -m pip install --no-cache-dir --disable-pip-version-check --no-warn-script-location "
	 "--progress-bar off --index-url '{registry}'{trusted} --",
	 ""},
	{"node",
	 "mkdir -p /tmp/isol8-pkgs && cd /tmp/isol8-pkgs && npm install --cache /tmp/isol8-npm --no-audit --no-fund "
	 "--no-update-notifier --registry '{registry}' --",
	 "&& rm -rf /node_modules && mv node_modules /node_modules && cd / && rm -rf /tmp/isol8-pkgs /tmp/isol8-npm"},
	{"bun",
	 "mkdir -p /tmp/isol8-pkgs && cd /tmp/isol8-pkgs && BUN_INSTALL_CACHE_DIR=/tmp/isol8-bun bun add --registry "
	 "'{registry}'",
	 "&& rm -rf /node_modules && mv node_modules /node_modules && cd / && rm -rf /tmp/isol8-pkgs /tmp/isol8-bun"},
	{"bash", "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends",
	 "&& apt-get clean && rm -rf /var/lib/apt/lists/*"},
};

struct text {
	char *s;
	size_t len, cap;
	bool oom;
};

static void add(struct text *t, const char *s, size_t n)
{
	if (t->oom)
		return;
	if (t->len + n + 1 > t->cap) {
		size_t cap = t->cap ? t->cap : 1024;
		while (cap < t->len + n + 1)
			cap *= 2;
		char *p = realloc(t->s, cap);
		if (p == NULL) {
			t->oom = true;
			return;
		}
		t->s = p;
		t->cap = cap;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

static void adds(struct text *t, const char *s)
{
	add(t, s, strlen(s));
}

/* head with {registry} and {trusted} (pip's --trusted-host per http URL). */
static void add_head(struct text *t, const char *head, const struct isol8_registries *reg)
{
	for (const char *p = head; *p;) {
		if (strncmp(p, "{registry}", 10) == 0) {
			adds(t, reg->n > 0 ? reg->urls[0] : "");
			p += 10;
		} else if (strncmp(p, "{trusted}", 9) == 0) {
			for (size_t i = 0; i < reg->n; i++) {
				if (!reg->plain_http[i])
					continue;
				adds(t, " --trusted-host '");
				adds(t, reg->hosts[i]);
				adds(t, "'");
			}
			p += 9;
		} else {
			add(t, p++, 1);
		}
	}
}

int isol8_install_bake_dockerfile(const char *field, const struct isol8_runtime_info *runtime,
				  const struct isol8_registries *reg, const char *from, const char *const *names,
				  size_t n, char **out, struct isol8_error *err)
{
	const struct bake_row *row = NULL;
	struct text t = {0};
	int ret = isol8_install_check_names(field, names, n, runtime, true, err);

	*out = NULL;
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < ISOL8_ARRAY_LEN(bake_rows); i++)
		if (strcmp(bake_rows[i].runtime, runtime->name) == 0)
			row = &bake_rows[i];
	if (row == NULL || (reg->n == 0 && strcmp(runtime->name, "bash") != 0))
		return isol8_error_set(err, ISOL8_E_INVALID, "%s: the %s runtime has no package installer", field,
				       runtime->name);
	adds(&t, "# Packages baked in by isol8 setup.\nFROM ");
	adds(&t, from);
	adds(&t, "\nUSER root\nRUN ");
	add_head(&t, row->head, reg);
	for (size_t i = 0; i < n; i++) {
		adds(&t, " '");
		adds(&t, names[i]);
		adds(&t, "'");
	}
	adds(&t, " ");
	adds(&t, row->tail);
	adds(&t, "\nRUN find / -xdev -perm /6000 -type f -exec chmod a-s {} +\n");
	if (t.oom) {
		free(t.s);
		return isol8_error_set(err, ISOL8_E_NOMEM, "out of memory");
	}
	*out = t.s;
	return 0;
}
