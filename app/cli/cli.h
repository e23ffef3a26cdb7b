/* tessera-cli: one file per command; each exports `int cmd_NAME(int argc, char **argv)` (argv[0] is the
 * command name) and returns the process exit code. Errors: one line on stderr, "tessera-cli: <reason>". */
#ifndef TSR_CLI_H
#define TSR_CLI_H
#include <stdbool.h>
#include <stdint.h>
#include "tessera.h"

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
} cli_command;

/* Print "tessera-cli: <msg>" to stderr and return 1 (or 2 for usage errors). */
int cli_fail(const char *fmt, ...);
int cli_usage_error(const char *cmd, const char *fmt, ...);
int cli_fail_err(const tsr_error *err);

/* Option parsing helpers: `--name value` and `--name=value`. Return true when argv[*i] matched; on a
 * missing value they print a usage error and set *bad. */
bool cli_opt_str(int argc, char **argv, int *i, const char *name, const char **out, bool *bad);
bool cli_opt_int(int argc, char **argv, int *i, const char *name, int *out, bool *bad);
bool cli_flag(char **argv, int i, const char *name);
bool cli_is_help(const char *a);
/* "12G", "800M", "1073741824" -> bytes; false on garbage. */
bool cli_parse_bytes(const char *s, uint64_t *out);

int cmd_demo(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_presets(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_tune(int argc, char **argv);
/* "bf16", "fp8", ... -> precision; 0 on an unknown name. */
int cli_parse_precision(const char *s, tsr_precision *out);
#endif
