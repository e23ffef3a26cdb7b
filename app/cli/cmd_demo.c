/* `tessera-cli demo`: the built-in default job. Until the network lands it builds the built-in model and
 * says what it will decode. */
#include <stdio.h>

#include "cli.h"

int cmd_demo(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: tessera-cli demo\n\nBuilds the built-in SeedVR2 VAE from the deterministic filler and "
                   "decodes a small built-in latent.\n");
            return 0;
        }
        return cli_usage_error("demo", "unknown option '%s'", argv[i]);
    }
    tsr_error err = {0};
    tsr_model *m = NULL;
    if (tsr_model_builtin(NULL, &m, &err) != TSR_OK) return cli_fail_err(&err);
    const tsr_vae_config *c = tsr_model_config(m);
    printf("built-in SeedVR2 VAE: blocks %d/%d/%d/%d, latent %d channels\n", c->block_out[0], c->block_out[1],
           c->block_out[2], c->block_out[3], c->latent_channels);
    printf("would decode latent 16x2x8x12 -> video 3x5x64x96 (decoder not built yet)\n");
    tsr_model_destroy(&m);
    return 0;
}
