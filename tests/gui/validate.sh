#!/bin/sh
# validate.sh TOOL ARGS... — runs a validator, exit 77 (skipped) when the tool is missing.
# "msgfmt-stats PO [SRCDIR]" checks that a translation has no untranslated and no fuzzy entries;
# with SRCDIR, against the strings the sources hold now (xgettext over po/POTFILES.in), so a new
# _() string without a translation fails here rather than reaching users untranslated.
if [ "$1" = msgfmt-stats ]; then
  command -v msgfmt >/dev/null 2>&1 || { echo "msgfmt not installed: skipped"; exit 77; }
  po=$2
  if [ -n "$3" ] && command -v xgettext >/dev/null 2>&1 && command -v msgmerge >/dev/null 2>&1; then
    tmp=$(mktemp -d) || exit 1
    trap 'rm -rf "$tmp"' EXIT
    xgettext --from-code=UTF-8 --keyword=_ --keyword=N_ --keyword=C_:1c,2 --keyword=NC_:1c,2 \
      --keyword=g_dngettext:2,3 --add-comments -D "$3" -f "$3/po/POTFILES.in" -o "$tmp/fresh.pot" \
      || { echo "xgettext failed"; exit 1; }
    msgmerge -q --no-fuzzy-matching -o "$tmp/merged.po" "$po" "$tmp/fresh.pot" || exit 1
    po=$tmp/merged.po
  fi
  out=$(LC_ALL=C msgfmt --check --statistics -o /dev/null "$po" 2>&1) || { echo "$out"; exit 1; }
  echo "$out"
  case "$out" in
    *fuzzy*|*untranslated*) echo "FAIL: $2 has fuzzy or untranslated entries (for the current sources)"; exit 1 ;;
  esac
  exit 0
fi
command -v "$1" >/dev/null 2>&1 || { echo "$1 not installed: skipped"; exit 77; }
exec "$@"
