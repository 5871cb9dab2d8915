/*
 * Per-method pieces of the generated bindings. Each method writes the same
 * prototypes into the header (define = false: declarations with a comment)
 * and into the source (define = true: bodies), so the two cannot disagree.
 */
#ifndef ISOL8_PLUGIN_FRAGMENTS_H
#define ISOL8_PLUGIN_FRAGMENTS_H

#include <stdbool.h>

#include "plugin/plugin_method.h"
#include "plugin/plugin_text.h"

/* The initializer of the method's struct isol8_rpc_method row. */
void plugin_fragment_row(struct plugin_text *t, const struct plugin_method *m);

/* The method row symbol, handler type, route function and client calls. */
void plugin_fragment_method(struct plugin_text *t, const struct plugin_method *m, bool define);

#endif
