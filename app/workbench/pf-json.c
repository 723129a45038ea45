/* pf-json.c — a small strict JSON reader into GVariants, and the two writers the run list needs.
 *
 * GLib has no JSON reader and json-glib is not a dependency of pflow, so RFC 8259 values are
 * parsed here: objects a{sv}, arrays av, numbers d, strings s, booleans b, null an empty maybe.
 * Numbers are written with 17 significant digits so doubles round-trip exactly. */
#include "pf-json.h"
#include "pf-error.h"
#include <glib/gi18n.h>
#include <math.h>
#include <string.h>

void
pf_json_append_string (GString *s, const char *v)
{
  g_string_append_c (s, '"');
  for (const char *p = v ? v : ""; *p; p++)
    {
      if (*p == '"' || *p == '\\')
        g_string_append_printf (s, "\\%c", *p);
      else if ((unsigned char) *p < 0x20)
        g_string_append_printf (s, "\\u%04x", (unsigned char) *p);
      else
        g_string_append_c (s, *p);
    }
  g_string_append_c (s, '"');
}

/* Exact for doubles; JSON has no NaN or infinities: null. */
void
pf_json_append_number (GString *s, double v)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  if (isfinite (v))
    g_string_append (s, g_ascii_formatd (buf, sizeof buf, "%.17g", v));
  else
    g_string_append (s, "null");
}

typedef struct {
  const char *p, *end, *start;
  const char *what;
  GError **error;
  int depth;
} Parser;

static GVariant *parse_value (Parser *j);

static gboolean
syntax (Parser *j, const char *why)
{
  if (j->error && !*j->error)
    g_set_error (j->error, PF_ERROR, PF_ERROR_FORMAT, _("%s: not valid JSON at byte %ld: %s"),
                 j->what, (long) (j->p - j->start), why);
  return FALSE;
}

static void
skip_ws (Parser *j)
{
  while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
    j->p++;
}

static int
hex4 (const char *p)
{
  int v = 0;
  for (int i = 0; i < 4; i++)
    {
      int c = g_ascii_xdigit_value (p[i]);
      if (c < 0)
        return -1;
      v = v * 16 + c;
    }
  return v;
}

static char *
parse_string (Parser *j)
{
  GString *s = g_string_new (NULL);
  j->p++; /* the opening quote */
  while (j->p < j->end && *j->p != '"')
    {
      unsigned char ch = (unsigned char) *j->p;
      if (ch < 0x20)
        goto bad;
      if (ch != '\\')
        {
          g_string_append_c (s, (char) ch);
          j->p++;
          continue;
        }
      if (++j->p >= j->end)
        goto bad;
      const char *esc = strchr ("\"\\/bfnrt", *j->p);
      if (esc && *j->p)
        {
          static const char out[] = "\"\\/\b\f\n\r\t";
          g_string_append_c (s, out[esc - "\"\\/bfnrt"]);
          j->p++;
          continue;
        }
      if (*j->p != 'u' || j->end - j->p < 5)
        goto bad;
      int u = hex4 (j->p + 1);
      j->p += 5;
      if (u >= 0xD800 && u < 0xDC00 && j->end - j->p >= 6 && j->p[0] == '\\' && j->p[1] == 'u')
        {
          int lo = hex4 (j->p + 2);
          if (lo >= 0xDC00 && lo < 0xE000)
            {
              u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
              j->p += 6;
            }
        }
      if (u <= 0 || (u >= 0xD800 && u < 0xE000))
        goto bad;
      g_string_append_unichar (s, (gunichar) u);
    }
  if (j->p >= j->end || !g_utf8_validate (s->str, s->len, NULL))
    goto bad;
  j->p++;
  return g_string_free (s, FALSE);

bad:
  g_string_free (s, TRUE);
  syntax (j, _("bad string"));
  return NULL;
}

static GVariant *
parse_container (Parser *j, gboolean object)
{
  GVariantBuilder b;
  g_variant_builder_init (&b, object ? G_VARIANT_TYPE ("a{sv}") : G_VARIANT_TYPE ("av"));
  char close = object ? '}' : ']';
  j->p++;
  skip_ws (j);
  gboolean first = TRUE;
  while (j->p < j->end && *j->p != close)
    {
      if (!first)
        {
          if (*j->p != ',')
            goto bad;
          j->p++;
          skip_ws (j);
        }
      first = FALSE;
      char *key = NULL;
      if (object)
        {
          if (j->p >= j->end || *j->p != '"' || !(key = parse_string (j)))
            goto bad;
          skip_ws (j);
          if (j->p >= j->end || *j->p != ':')
            {
              g_free (key);
              goto bad;
            }
          j->p++;
        }
      GVariant *v = parse_value (j);
      if (!v)
        {
          g_free (key);
          goto bad;
        }
      if (object)
        g_variant_builder_add (&b, "{sv}", key, v);
      else
        g_variant_builder_add (&b, "v", v);
      g_free (key);
      skip_ws (j);
    }
  if (j->p >= j->end)
    goto bad;
  j->p++;
  return g_variant_builder_end (&b);

bad:
  g_variant_builder_clear (&b);
  syntax (j, object ? _("bad object") : _("bad array"));
  return NULL;
}

static GVariant *
parse_value (Parser *j)
{
  skip_ws (j);
  if (j->p >= j->end)
    return syntax (j, _("unexpected end")), NULL;
  if (++j->depth > 64)
    return syntax (j, _("nested too deeply")), NULL;
  GVariant *v = NULL;
  char ch = *j->p;
  if (ch == '{' || ch == '[')
    v = parse_container (j, ch == '{');
  else if (ch == '"')
    {
      char *s = parse_string (j);
      v = s ? g_variant_new_take_string (s) : NULL;
    }
  else if (j->end - j->p >= 4 && strncmp (j->p, "true", 4) == 0)
    v = g_variant_new_boolean (TRUE), j->p += 4;
  else if (j->end - j->p >= 5 && strncmp (j->p, "false", 5) == 0)
    v = g_variant_new_boolean (FALSE), j->p += 5;
  else if (j->end - j->p >= 4 && strncmp (j->p, "null", 4) == 0)
    v = g_variant_new_maybe (G_VARIANT_TYPE_VARIANT, NULL), j->p += 4;
  else if (ch == '-' || g_ascii_isdigit (ch))
    {
      const char *q = j->p;
      while (q < j->end && (g_ascii_isdigit (*q) || strchr ("+-.eE", *q)))
        q++;
      char *num = g_strndup (j->p, q - j->p), *endp = NULL;
      double d = g_ascii_strtod (num, &endp);
      gboolean ok = endp && *endp == '\0' && isfinite (d);
      g_free (num);
      if (!ok)
        return syntax (j, _("bad number")), NULL;
      v = g_variant_new_double (d);
      j->p = q;
    }
  else
    syntax (j, _("unexpected character"));
  j->depth--;
  return v;
}

GVariant *
pf_json_parse (const char *data, gsize len, const char *what, GError **error)
{
  Parser j = { data, data + len, data, what, error, 0 };
  GVariant *v = parse_value (&j);
  if (v)
    {
      g_variant_ref_sink (v);
      skip_ws (&j);
      if (j.p != j.end)
        {
          syntax (&j, _("text after the value"));
          g_clear_pointer (&v, g_variant_unref);
        }
    }
  return v;
}

