/* Packages baked into runtime images by set-up (images_bake.c). Internal
 * to server/engine. */
#ifndef ISOL8_ENGINE_IMAGES_BAKE_H
#define ISOL8_ENGINE_IMAGES_BAKE_H

#include <stddef.h>

#include "docker/docker.h"
#include "engine/install.h"
#include "isol8/error.h"
#include "isol8/v1/admin.pb-c.h"

#define ISOL8_PACKAGES_LABEL "isol8.packages"
/* The tag a layer was baked for, so that set-up finds the layers it replaced. */
#define ISOL8_BAKED_TAG_LABEL "isol8.baked.tag"

struct isol8_engine;
struct isol8_runtime;

/* The list one runtime's image should bake: the request's for it, else
 * the configuration's; text holds it as the label says it. */
struct isol8_bake {
	const char *const *names; /* borrowed */
	size_t n;
	char field[64];           /* where the list came from, for errors */
	char text[ISOL8_INSTALL_MAX_PACKAGES * (ISOL8_INSTALL_NAME_MAX + 1) + 1];
};

/* Every list of the request checked (runtime names, package names):
 * ISOL8_E_INVALID naming packages[i]. */
int isol8_bake_check_request(const Isol8__V1__SetupRequest *req, struct isol8_error *err);

/* The list of rt (names checked). */
int isol8_bake_list(const struct isol8_engine *e, const Isol8__V1__SetupRequest *req, const struct isol8_runtime *rt,
		    struct isol8_bake *out, struct isol8_error *err);

/* Builds the layer on image (a tag), tagged image again. */
int isol8_bake_layer(struct isol8_engine *e, const struct isol8_runtime *rt, const char *image,
		     const struct isol8_bake *bake, isol8_docker_progress_fn progress, void *userdata,
		     struct isol8_error *err);

#endif
