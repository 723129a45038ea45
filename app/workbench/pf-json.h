/* pf-json.h — JSON for the workbench's files, without a JSON library (see pf-json.c). */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* A quoted, escaped JSON string (NULL is ""). */
void pf_json_append_string (GString *s, const char *v);
/* A number with 17 significant digits (exact for doubles); NaN and infinities as null. */
void pf_json_append_number (GString *s, double v);

/* Parses one JSON value (UTF-8, nesting up to 64 levels, nothing after it but white space) into
 * a GVariant: objects a{sv}, arrays av, numbers d, strings s, booleans b, null an empty maybe
 * (mv). NULL with PF_ERROR_FORMAT naming `what` and the byte offset on bad input. */
GVariant *pf_json_parse (const char *data, gsize len, const char *what, GError **error);

G_END_DECLS
