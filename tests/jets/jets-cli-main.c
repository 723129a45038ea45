/* jets-cli-main.c — a driver that runs app/pflow-cmd-jets.c's two commands the way `pflow`
 * dispatches them (`pflow jets ...`, `pflow bench jets ...`), so test-jets-cli can exercise
 * them before and independently of app/pflow-cli.c. */
#include <locale.h>
#include <stdio.h>
#include <string.h>
#include "pflow-cmd-jets.h"

int
main (int argc, char **argv)
{
  setlocale (LC_ALL, "");
  if (argc >= 2 && !strcmp (argv[1], "jets"))
    return pflow_cmd_jets (argc - 1, argv + 1);
  if (argc >= 2 && !strcmp (argv[1], "bench-jets"))
    return pflow_cmd_bench_jets (argc - 1, argv + 1);
  fprintf (stderr, "usage: jets-cli jets|bench-jets [OPTIONS]\n");
  return 2;
}
