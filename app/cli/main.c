/* tessera-cli entry point: dispatch to one command. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "tsr_config.h"

static const cli_command commands[] = {
    {"demo", "decode a small built-in latent with the built-in model (the default job)", cmd_demo},
    {"bench", "time decode/encode of a latent shape (median of N runs, TFLOP/s, peak memory)", cmd_bench},
    {"decode", "decode a latent (.safetensors/.latent/.npy) to video, frames or a video tensor", cmd_decode},
    {"encode", "encode a clip, image, sequence or video tensor to a latent file", cmd_encode},
#if TSR_HAVE_MEDIA
    {"roundtrip", "encode and decode a clip (VAE round trip) to video", cmd_roundtrip},
    {"transcode", "read and write a clip through the job pipeline, no VAE", cmd_transcode},
#endif
    {"plan", "the memory plan and predicted peak VRAM for a latent shape and budget", cmd_plan},
    {"tune", "time candidate plans on the GPU and remember the fastest (--retune)", cmd_tune},
    {"presets", "list the presets of the settings store", cmd_presets},
    {"queue", "list the batch queue of the settings store", cmd_queue},
    {"info", "validate a model file and describe it (format, tensors, configuration, digest)", cmd_info},
    {"make-model", "write a SeedVR2-shaped VAE from the deterministic filler (safetensors or GGUF)", cmd_make_model},
    {"models", "list the model files in the models folders with their kind", cmd_models},
    {"devices", "list the CUDA devices the driver reports (the CPU backend is always there)", cmd_devices},
    {"quantize", "conv/linear weights to FP8 e4m3 (per output channel scales): about half the size", cmd_quantize},
};

static void usage(FILE *f)
{
    fprintf(f, "usage: tessera-cli <command> [options]   (tessera-cli <command> --help)\n\n"
               "Tessera %s — the SeedVR2 video VAE, fast and offline.\n\ncommands:\n",
            TSR_VERSION_STRING);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
}

static int run(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (cli_is_help(argv[1]) || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("tessera-cli %s\n", TSR_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "tessera-cli: unknown command '%s' (see 'tessera-cli --help')\n", argv[1]);
    return 2;
}

int main(int argc, char **argv)
{
#ifdef _WIN32
    char **utf8 = cli_utf8_argv(&argc);
    if (utf8) argv = utf8;
    int rc = run(argc, argv);
    cli_free_argv(utf8);
    return rc;
#else
    return run(argc, argv);
#endif
}
