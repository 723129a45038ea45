/* pflow-cmd-train.h — `pflow train` and `pflow predict` (core/train). */
#pragma once

int pflow_cmd_train (int argc, char **argv);
int pflow_cmd_predict (int argc, char **argv);
