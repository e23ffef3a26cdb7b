/* Media commands of the CLI (cmd_media.c): option set shared by decode/encode/roundtrip/transcode. */
#ifndef TSR_CLI_MEDIA_H
#define TSR_CLI_MEDIA_H
#include <stdbool.h>
#include "tessera.h"

typedef struct cli_media_opts {
    tsr_job_spec spec;
    const char *input, *output, *codec, *audio_from;
    const char *model;         /* path, "builtin" or "builtin:small" */
    const char *backend;
    int threads;
    int progress;
    int cancel_after;          /* testing: cancel once this many frames are done */
    const char *store;         /* --store: tuned plans for decodes with --budget (NULL = the per-user store) */
    int no_tuned;              /* --no-tuned: plan afresh */
} cli_media_opts;

void cli_media_opts_init(cli_media_opts *o, tsr_job_kind kind);
bool cli_media_parse_opt(int argc, char **argv, int *i, cli_media_opts *o, bool *bad);
int cli_media_run(cli_media_opts *o, const char *cmd);
int cli_media_decode(int argc, char **argv);
int cli_media_encode(int argc, char **argv);
#endif
