/* pflow-cmd-jets.h — `pflow jets` (cluster a particle file or a dataset image) and
 * `pflow bench jets` (time to cluster one 56x56 truth image with areas). */
#pragma once

int pflow_cmd_jets (int argc, char **argv);
int pflow_cmd_bench_jets (int argc, char **argv);
