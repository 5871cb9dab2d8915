/*
 * Runtime packages: the names a request may ask to install
 * (ExecuteRequest.install_packages), each runtime's installer, the package
 * registries it may reach, and the packages `isol8 setup` bakes into an
 * image.
 *
 * An install runs in the sandbox as the sandbox user before the setup
 * script and the code, its output streamed as phase "setup":
 *   python  python3 -m pip install --user (into /sandbox/.local)
 *   node    npm install --prefix /sandbox (into /sandbox/node_modules, which
 *           CommonJS require and ESM import from /sandbox/main.* both find)
 *   bun     bun add (in /sandbox: /sandbox/node_modules)
 *   deno    deno cache npm:NAME (into DENO_DIR, /sandbox/.deno)
 *   bash    none: its root file system is read-only, so apt cannot install;
 *           `isol8 setup --bash PKG` bakes Debian packages into the image.
 * Names are checked before anything runs and passed as arguments, never
 * through a shell: no option can be smuggled in (a name never starts with
 * "-"). The installer is pointed at the runtime's first registry URL; the
 * sandbox's egress during the install is allowed to the hosts of the
 * runtime's registry URLs only (rules compiled once, at engine start).
 */
#ifndef ISOL8_ENGINE_INSTALL_H
#define ISOL8_ENGINE_INSTALL_H

#include <stdbool.h>
#include <stddef.h>

#include "base/runtimes.h"
#include "isol8/error.h"
#include "isol8/v1/isol8.pb-c.h"

#define ISOL8_INSTALL_MAX_PACKAGES 64
#define ISOL8_INSTALL_NAME_MAX 256
#define ISOL8_REGISTRY_MAX 8
#define ISOL8_REGISTRY_URL_MAX 512
#define ISOL8_REGISTRY_HOST_MAX 256

struct isol8_egress_rules;
struct isol8_engine_packages;
struct isol8_exec_options;
struct isol8_runtime;

/* One runtime's registries: the URLs (urls[0] the installer's index or
 * registry), each one's host and whether it is plain http, and the egress
 * rules allowing exactly those hosts. */
struct isol8_registries {
	char *urls[ISOL8_REGISTRY_MAX];
	char hosts[ISOL8_REGISTRY_MAX][ISOL8_REGISTRY_HOST_MAX];
	bool plain_http[ISOL8_REGISTRY_MAX];
	size_t n;
	struct isol8_egress_rules *rules;
};

/* What the engine knows about packages, by enum isol8_runtime_id: the
 * registries, and the packages to bake (the configuration's
 * dependencies.<runtime>). */
struct isol8_packages {
	struct isol8_registries registries[ISOL8_RT_COUNT];
	char **bake[ISOL8_RT_COUNT];
	size_t n_bake[ISOL8_RT_COUNT];
};

/* Checks one list of package names for runtime (a row of base/runtimes.h):
 * at most ISOL8_INSTALL_MAX_PACKAGES names, each 1 to
 * ISOL8_INSTALL_NAME_MAX bytes of letters, digits and ._-@/:=<>!~^*+,[]
 * not starting with "-"; bash takes none at run time (bake: bash takes
 * Debian names; deno takes none). ISOL8_E_INVALID naming field[i]. */
int isol8_install_check_names(const char *field, const char *const *names, size_t n,
			      const struct isol8_runtime_info *runtime, bool bake, struct isol8_error *err);

/* install_packages of a request for its runtime (as above, field
 * "install_packages"). */
int isol8_install_check(const Isol8__V1__ExecuteRequest *req, const struct isol8_runtime_info *runtime,
			struct isol8_error *err);

/* The host of an http:// or https:// URL (lower case, without port or
 * brackets) and whether it is plain http. ISOL8_E_INVALID naming field and
 * the URL otherwise (other schemes, no host, user info, quotes, spaces or
 * control characters, longer than ISOL8_REGISTRY_URL_MAX). */
int isol8_registry_host(const char *field, const char *url, char *host, size_t size, bool *plain_http,
			struct isol8_error *err);

/* The POSIX ERE that matches exactly host: "^" host "$" with every
 * character special to an ERE escaped. */
int isol8_registry_host_rule(const char *host, char *out, size_t size);

/* Fills p from cfg (NULL: public registries, nothing baked), compiling each
 * runtime's rules; field names in errors are the configuration's
 * ("packages.registries.python[1]", "dependencies.node[0]").
 * isol8_packages_release frees it (safe on a zeroed one). */
int isol8_packages_init(struct isol8_packages *p, const struct isol8_engine_packages *cfg, struct isol8_error *err);
void isol8_packages_release(struct isol8_packages *p);

/* The install program of a run: its Exec with argv, the environment every
 * run of the runtime gets plus the installer's (registry, caches), cwd
 * /sandbox, the sandbox user, the run's timeout and output cap. */
struct isol8_exec_spec;
struct isol8_install_spec {
	const char **argv; /* owned array; strings borrowed from the request, names and the registries */
	char **names;      /* owned: deno's names with their "npm:" prefix (NULL where borrowed) */
	size_t n_names;
};
int isol8_install_spec_build(const struct isol8_runtime *rt, const struct isol8_registries *reg,
			     const Isol8__V1__ExecuteRequest *req, const struct isol8_exec_options *opts,
			     struct isol8_exec_spec *spec, struct isol8_install_spec *install, struct isol8_error *err);
void isol8_install_spec_release(struct isol8_install_spec *install);

/* The code's environment for its runtime's packages: deno resolves
 * npm: specifiers against the registry its cache was filled from, so its
 * code gets NPM_CONFIG_REGISTRY (the runtime's first registry URL) unless
 * the request sets it. Nothing for the other runtimes. */
int isol8_install_code_env(const struct isol8_packages *p, const struct isol8_runtime *rt,
			   const Isol8__V1__ExecuteRequest *req, struct isol8_exec_spec *spec, struct isol8_error *err);

/* The Dockerfile of the layer that bakes packages into image from (a tag):
 * the runtime's installer as root, system wide (python: pip into the
 * system site; node and bun: /node_modules, found from /sandbox by both
 * module systems; bash: apt-get), pointed at reg, then no setuid bits.
 * *out is malloc'd. Deno is refused (ISOL8_E_INVALID naming field): its
 * cache lives in DENO_DIR on the sandbox's tmpfs. */
int isol8_install_bake_dockerfile(const char *field, const struct isol8_runtime_info *runtime,
				  const struct isol8_registries *reg, const char *from, const char *const *names,
				  size_t n, char **out, struct isol8_error *err);

#endif
