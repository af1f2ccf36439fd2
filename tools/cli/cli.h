/* The CLI: parses arguments, calls the library, maps statuses to exit codes. Nothing else. */
#ifndef EO_CLI_H
#define EO_CLI_H

#include <stdbool.h>

#include "edgeopt/edgeopt.h"

enum { EO_EXIT_OK = 0, EO_EXIT_FAIL = 1, EO_EXIT_USAGE = 2 };

/* Prints "edgeopt: <status>: <message>" and returns the exit code for a failed status. */
int cli_fail(eo_status st);
/* Prints a usage error and the command's help hint; returns EO_EXIT_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...);
bool cli_is_help(const char *arg);

int cmd_inspect(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_quantize(int argc, char **argv);
int cmd_optimize(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_report(int argc, char **argv);
/* eval's argument handling, shared with compare (cmd "compare": two models, reference first). */
int eval_command(const char *cmd, const char *help, int argc, char **argv);

#endif
