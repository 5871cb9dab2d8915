/* The parsed-JSON memory budget: see json_budget.h. */
#include "gateway/json_budget.h"

#include <cjson/cJSON.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdlib.h>

/* Freed tree bytes after which the freed memory goes back to the system. */
#define GW_JSON_TRIM_EVERY ((size_t)64 << 20)

static atomic_size_t budget;
static atomic_llong in_use; /* signed: a tree from before the hooks may be freed after */
static atomic_bool installed;
static atomic_size_t freed; /* since the last trim */
static _Thread_local bool refused;

static void *budget_malloc(size_t n)
{
	size_t limit = atomic_load(&budget);
	void *p = malloc(n);
	long long size, now;

	if (p == NULL)
		return NULL;
	size = (long long)malloc_usable_size(p);
	now = atomic_fetch_add(&in_use, size) + size;
	if (limit != 0 && now > 0 && (size_t)now > limit) {
		atomic_fetch_sub(&in_use, size);
		free(p);
		refused = true;
		return NULL;
	}
	return p;
}

static void budget_free(void *p)
{
	size_t size;

	if (p == NULL)
		return;
	size = malloc_usable_size(p);
	atomic_fetch_sub(&in_use, (long long)size);
	free(p);
	/* a large tree's nodes stay in the freeing thread's malloc arena, where
	 * other threads cannot reuse them: give them back to the system */
	if (atomic_fetch_add(&freed, size) + size >= GW_JSON_TRIM_EVERY) {
		atomic_store(&freed, 0);
		malloc_trim(0);
	}
}

void gw_json_budget_set(size_t bytes)
{
	cJSON_Hooks hooks = {budget_malloc, budget_free};

	atomic_store(&budget, bytes);
	if (!atomic_exchange(&installed, true))
		cJSON_InitHooks(&hooks);
}

size_t gw_json_budget(void)
{
	return atomic_load(&budget);
}

size_t gw_json_budget_in_use(void)
{
	long long n = atomic_load(&in_use);

	return n > 0 ? (size_t)n : 0;
}

bool gw_json_budget_refused(void)
{
	bool was = refused;

	refused = false;
	return was;
}
