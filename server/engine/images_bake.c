/*
 * Packages baked into a runtime's image by set-up: a layer built FROM the
 * runtime's image (engine/install.h has its Dockerfile) and tagged as it,
 * so sandboxes of the runtime run it with no change. The layer inherits
 * the image's isol8.inputs label and carries isol8.packages, the list it
 * bakes (names joined by spaces: none holds one), so set-up sees when the
 * list changed. The build has the host's network: the daemon's registries
 * may be on its loopback.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "engine/engine_internal.h"
#include "engine/images_bake.h"
#include "engine/install.h"

int isol8_bake_list(const struct isol8_engine *e, const Isol8__V1__SetupRequest *req, const struct isol8_runtime *rt,
		    struct isol8_bake *out, struct isol8_error *err)
{
	size_t id = (size_t)(rt->info - isol8_runtime_infos);
	char field[64];

	memset(out, 0, sizeof(*out));
	out->names = (const char *const *)e->packages.bake[id];
	out->n = e->packages.n_bake[id];
	snprintf(out->field, sizeof(out->field), "dependencies.%s", rt->info->name);
	for (size_t i = 0; i < req->n_packages; i++) {
		if (req->packages[i]->runtime == NULL || strcmp(req->packages[i]->runtime, rt->info->name) != 0)
			continue;
		out->names = (const char *const *)req->packages[i]->packages;
		out->n = req->packages[i]->n_packages;
		snprintf(out->field, sizeof(out->field), "packages[%zu].packages", i);
	}
	snprintf(field, sizeof(field), "%s", out->field);
	if (isol8_install_check_names(field, out->names, out->n, rt->info, true, err) < 0)
		return -err->code;
	for (size_t i = 0; i < out->n; i++) {
		size_t len = strlen(out->text);
		if (len + strlen(out->names[i]) + 2 > sizeof(out->text))
			return isol8_error_set(err, ISOL8_E_INVALID, "%s: the names pass %zu bytes in all", field,
					       sizeof(out->text) - 1);
		snprintf(out->text + len, sizeof(out->text) - len, "%s%s", i ? " " : "", out->names[i]);
	}
	return 0;
}

int isol8_bake_check_request(const Isol8__V1__SetupRequest *req, struct isol8_error *err)
{
	for (size_t i = 0; i < req->n_packages; i++) {
		const Isol8__V1__RuntimePackages *p = req->packages[i];
		const struct isol8_runtime_info *info = isol8_runtime_info_find(p->runtime);
		char field[64];

		if (info == NULL)
			return isol8_error_set(err, ISOL8_E_INVALID, "packages[%zu].runtime: unknown runtime \"%s\" (valid: %s)",
					       i, p->runtime ? p->runtime : "", isol8_runtime_info_names());
		snprintf(field, sizeof(field), "packages[%zu].packages", i);
		if (isol8_install_check_names(field, (const char *const *)p->packages, p->n_packages, info, true, err) < 0)
			return -err->code;
	}
	return 0;
}

int isol8_bake_layer(struct isol8_engine *e, const struct isol8_runtime *rt, const char *image,
		     const struct isol8_bake *bake, isol8_docker_progress_fn progress, void *userdata,
		     struct isol8_error *err)
{
	const struct isol8_registries *reg = &e->packages.registries[rt->info - isol8_runtime_infos];
	_cleanup_free_ char *dockerfile = NULL;
	int ret = isol8_install_bake_dockerfile(bake->field, rt->info, reg, image, bake->names, bake->n, &dockerfile,
						err);

	if (ret < 0)
		return ret;
	const struct isol8_build_file files[] = {{"Dockerfile", dockerfile, strlen(dockerfile), 0644}};
	const struct isol8_label labels[] = {{ISOL8_PACKAGES_LABEL, bake->text}, {ISOL8_BAKED_TAG_LABEL, image}};
	ret = isol8_docker_image_build_on(e->docker, "host", image, files, 1, labels, ISOL8_ARRAY_LEN(labels), NULL, 0,
					  progress, userdata, err);
	return ret < 0 ? isol8_error_prefix(err, "baking %s into %s", bake->text, image) : 0;
}
