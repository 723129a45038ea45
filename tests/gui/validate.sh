#!/bin/sh
# validate.sh TOOL ARGS... — runs a validator, exit 77 (skipped) when the tool is missing.
# "msgfmt-stats PO" checks that a translation has no untranslated and no fuzzy entries.
if [ "$1" = msgfmt-stats ]; then
  command -v msgfmt >/dev/null 2>&1 || { echo "msgfmt not installed: skipped"; exit 77; }
  out=$(LC_ALL=C msgfmt --check --statistics -o /dev/null "$2" 2>&1) || { echo "$out"; exit 1; }
  echo "$out"
  case "$out" in
    *fuzzy*|*untranslated*) echo "FAIL: $2 has fuzzy or untranslated entries"; exit 1 ;;
  esac
  exit 0
fi
command -v "$1" >/dev/null 2>&1 || { echo "$1 not installed: skipped"; exit 77; }
exec "$@"
