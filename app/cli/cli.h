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

#ifdef _WIN32
/* argv as UTF-8, rebuilt from the UTF-16 command line (cli_win.c); NULL on failure. */
char **cli_utf8_argv(int *argc);
void cli_free_argv(char **argv);
#endif

/* media (cmd_media.c): cmd_decode / cmd_encode hand non-safetensors files to cli_media_decode / _encode;
 * cli_media_handles says whether they should. */
bool cli_media_handles(int argc, char **argv, int encode);
int cli_media_decode(int argc, char **argv);
int cli_media_encode(int argc, char **argv);
int cmd_roundtrip(int argc, char **argv);
int cmd_transcode(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_presets(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_tune(int argc, char **argv);
/* cli_plan.c: the settings store (path NULL = the per-user one; on failure a line on stderr ending in `without`,
 * what the command does without it, and NULL); the host budget of a planned decode (`opt`, the --host-budget
 * value, or NULL = tsr_plan_default_host_budget: half the RAM; false on a malformed size); a plan in one line
 * ("tiled, chunk 1, 2x3 tiles of 256 px, predicted peak 7.10 GiB"). */
tsr_store *cli_store_open(const char *path, const char *cmd, const char *without);
bool cli_host_budget(const char *opt, uint64_t *out);
int cli_plan_summary(const tsr_plan *p, char *buf, size_t cap);
/* "bf16", "fp8", ... -> precision; 0 on an unknown name. */
int cli_parse_precision(const char *s, tsr_precision *out);
int cmd_quantize(int argc, char **argv);
/* feat/cpu */
int cmd_decode(int argc, char **argv);
int cmd_encode(int argc, char **argv);

/* cli_vae.c: return 0 or the exit code after printing the error. `spec` is a path, "builtin" or
 * "builtin:small" (channels 32/32/64/64). */
struct tsr_weights;
struct tsr_tensor_info;
int cli_open_model(const char *spec, tsr_model **m, tsr_error *err);
int cli_make_engine(const char *backend, int threads, tsr_engine **e, tsr_error *err);
int cli_make_engine_prec(const char *backend, int threads, tsr_precision precision, tsr_engine **e, tsr_error *err);
int cli_read_tensor(const char *path, const char *key, struct tsr_weights *w, const struct tsr_tensor_info **out,
                    float **data, tsr_error *err);
int cli_write_tensor(const char *path, const char *key, const float *data, int ndim, const int64_t *shape,
                     const char *const *meta, int meta_pairs, tsr_error *err);
int cli_progress(void *user, const tsr_progress *p);
/* feat/loaders */
int cmd_info(int argc, char **argv);
int cmd_make_model(int argc, char **argv);
int cmd_models(int argc, char **argv);
int cmd_devices(int argc, char **argv);
/* feat/cuda */
int cmd_bench(int argc, char **argv);
#endif
