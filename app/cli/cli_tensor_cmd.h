/* What the safetensors paths of `decode` and `encode` share (cli_tensor_cmd.c): the common options and the
 * model -> engine -> VAE setup around the command's own run function. */
#ifndef TSR_CLI_TENSOR_CMD_H
#define TSR_CLI_TENSOR_CMD_H
#include <stdbool.h>
#include "tessera.h"

typedef struct cli_tensor_opts {
    const char *model, *input, *output, *backend;
    int chunk, threads, raw, quiet, tile, frame_group;
} cli_tensor_opts;

/* One common option at argv[*i]: --model, the input option `in_opt` (--latent / --video), -o/--output,
 * --backend, --chunk, --tile, --frame-group, --threads, --unscaled/--raw, -q/--quiet. True when argv[*i] was one (*bad set
 * on a missing or malformed value). */
bool cli_tensor_parse_common(int argc, char **argv, int *i, const char *in_opt, cli_tensor_opts *o, bool *bad);

/* The required options (--model, the input, -o) are there: 0, else the exit code after a usage error. */
int cli_tensor_check_common(const cli_tensor_opts *o, const char *cmd, const char *in_opt);

/* Open the model, the engine and the VAE; release the host copy of the weights; call run(opts, ...); tear
 * down. Returns the exit code. */
typedef int (*cli_tensor_run_fn)(const void *opts, const tsr_vae_config *cfg, tsr_vae *vae, tsr_engine *eng,
                                 tsr_error *err);
int cli_tensor_command(const cli_tensor_opts *common, const void *opts, cli_tensor_run_fn run);
#endif
