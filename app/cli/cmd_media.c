/* The media path of the CLI: decode (latent file -> video/frames), encode (clip -> latent file), roundtrip
 * and transcode, all through tsr_job_run. cmd_decode.c / cmd_encode.c (feat/cpu) may call
 * cli_media_decode / cli_media_encode for outputs and inputs that are not plain safetensors tensors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "cli_media.h"

void cli_media_opts_init(cli_media_opts *o, tsr_job_kind kind)
{
    memset(o, 0, sizeof *o);
    tsr_job_spec_default(&o->spec);
    o->spec.kind = kind;
    o->model = "builtin";
    o->backend = "auto";
    o->progress = isatty(2);
}

static bool is_safetensors(const char *p)
{
    size_t n = p ? strlen(p) : 0;
    return n >= 12 && strcmp(p + n - 12, ".safetensors") == 0;
}

bool cli_media_handles(int argc, char **argv, int encode)
{
    const char *out = NULL, *in = NULL;
    for (int i = 1; i < argc; i++) {
        bool bad = false;
        if (cli_is_help(argv[i])) return false;
        if (cli_opt_str(argc, argv, &i, "-o", &out, &bad) || cli_opt_str(argc, argv, &i, "--output", &out, &bad) ||
            cli_opt_str(argc, argv, &i, encode ? "--video" : "--latent", &in, &bad))
            continue;
    }
    if (encode) return (in && !is_safetensors(in)) || (out && !is_safetensors(out));
    return (out && !is_safetensors(out)) || (in && !is_safetensors(in));
}

/* One option of the shared set; returns true when argv[*i] was one (bad set on a malformed value). */
bool cli_media_parse_opt(int argc, char **argv, int *i, cli_media_opts *o, bool *bad)
{
    tsr_job_spec *s = &o->spec;
    const char *v = NULL;
    if (cli_opt_str(argc, argv, i, "-o", &o->output, bad) || cli_opt_str(argc, argv, i, "--output", &o->output, bad) ||
        cli_opt_str(argc, argv, i, "--codec", &o->codec, bad) || cli_opt_int(argc, argv, i, "--crf", &s->crf, bad) ||
        cli_opt_str(argc, argv, i, "--audio-from", &o->audio_from, bad) ||
        cli_opt_str(argc, argv, i, "--model", &o->model, bad) || cli_opt_str(argc, argv, i, "--backend", &o->backend, bad) ||
        cli_opt_int(argc, argv, i, "--threads", &o->threads, bad) || cli_opt_int(argc, argv, i, "--chunk", &s->chunk, bad) ||
        cli_opt_int(argc, argv, i, "--tile", &s->tile, bad) || cli_opt_int(argc, argv, i, "--queue", &s->queue_frames, bad) ||
        cli_opt_int(argc, argv, i, "--cancel-after", &o->cancel_after, bad))
        return true;
    if (cli_opt_str(argc, argv, i, "--store", &o->store, bad)) return true;
    if (cli_opt_str(argc, argv, i, "--budget", &v, bad)) {
        if (!*bad && (!cli_parse_bytes(v, &s->memory_budget) || !s->memory_budget))
            *bad = true, fprintf(stderr, "tessera-cli: bad --budget '%s'\n", v);
        return true;
    }
    if (cli_opt_str(argc, argv, i, "--host-budget", &v, bad)) {
        if (!*bad && !cli_parse_bytes(v, &s->host_budget)) *bad = true, fprintf(stderr, "tessera-cli: bad --host-budget '%s'\n", v);
        return true;
    }
    if (cli_flag(argv, *i, "--no-tuned")) return o->no_tuned = 1, true;
    if (cli_opt_str(argc, argv, i, "--bitrate", &v, bad)) {
        uint64_t b = 0;
        if (!*bad && !cli_parse_bytes(v, &b)) *bad = true, fprintf(stderr, "tessera-cli: bad --bitrate '%s'\n", v);
        s->bitrate = (int64_t)b;
        return true;
    }
    if (cli_opt_str(argc, argv, i, "--fps", &v, bad)) {
        if (!*bad && sscanf(v, "%d/%d", &s->fps_num, &s->fps_den) < 1) *bad = true;
        if (s->fps_den <= 0) s->fps_den = 1;
        return true;
    }
    if (cli_flag(argv, *i, "--10bit")) return s->ten_bit = 1, true;
    if (cli_flag(argv, *i, "--no-audio")) return s->no_audio = 1, true;
    if (cli_flag(argv, *i, "--f16")) return s->latent_f16 = 1, true;
    if (cli_flag(argv, *i, "--raw") || cli_flag(argv, *i, "--unscaled")) return s->latent_raw = 1, true;
    if (cli_flag(argv, *i, "--quiet") || cli_flag(argv, *i, "-q")) return o->progress = 0, true;
    return false;
}

static void log_to_stderr(void *user, tsr_log_level level, const char *message)
{
    (void)user, (void)level;
    fprintf(stderr, "tessera: %s\n", message);
}

static int print_progress(void *user, const tsr_progress *p)
{
    cli_media_opts *o = user;
    if (o->cancel_after > 0 && p->frames_done >= o->cancel_after) return 1;
    if (o->progress)
        fprintf(stderr, "\r%-8s frames %d/%d  %.1f s   ", p->stage ? p->stage : "", p->frames_done,
                p->frames_total > 0 ? p->frames_total : 0, p->elapsed_s);
    return 0;
}

/* Copy a string option into a fixed spec field; false when it does not fit. */
static bool put(char *dst, size_t cap, const char *v)
{
    if (!v) return true;
    if (strlen(v) >= cap) return false;
    memcpy(dst, v, strlen(v) + 1);
    return true;
}

int cli_media_run(cli_media_opts *o, const char *cmd)
{
    tsr_job_spec *s = &o->spec;
    if (!o->input) return cli_usage_error(cmd, "no input given");
    if (!o->output) return cli_usage_error(cmd, "no output given (-o)");
    if (!put(s->input, sizeof s->input, o->input) || !put(s->output, sizeof s->output, o->output) ||
        !put(s->model, sizeof s->model, o->model) || !put(s->codec, sizeof s->codec, o->codec) ||
        !put(s->audio_from, sizeof s->audio_from, o->audio_from))
        return cli_usage_error(cmd, "a path or name is too long");
    s->format[0] = 0; /* codec and container come from --codec and the output's extension */
    tsr_error err = {0};
    tsr_engine *engine = NULL;
    const char *dbg = getenv("TESSERA_DEBUG"); /* engine log on stderr (writer-queue timings and more) */
    if (dbg && *dbg && strcmp(dbg, "0") != 0) tsr_set_log_callback(log_to_stderr, NULL, TSR_LOG_DEBUG);
    else if (s->memory_budget) tsr_set_log_callback(log_to_stderr, NULL, TSR_LOG_INFO); /* the plans and why */
    char store[TSR_PATH_MAX] = "";
    tsr_job_callbacks cb = {.progress = print_progress, .user = o};
    if (s->memory_budget && !o->no_tuned) { /* decodes start from the plan `tune` stored for their key */
        if (o->store) snprintf(store, sizeof store, "%s", o->store);
        else if (tsr_store_default_path(store, sizeof store, &err) != TSR_OK) store[0] = 0;
        cb.tuned_store = store[0] ? store : NULL;
    }
    if (s->kind != TSR_JOB_TRANSCODE) {
        tsr_engine_params ep;
        tsr_engine_params_default(&ep);
        ep.backend = strcmp(o->backend, "cpu") == 0 ? TSR_BACKEND_CPU
                     : strcmp(o->backend, "cuda") == 0 ? TSR_BACKEND_CUDA : TSR_BACKEND_AUTO;
        ep.threads = o->threads;
        ep.memory_budget = s->memory_budget; /* as the job's own engine would have it (the device's cap) */
        if (tsr_engine_create(&ep, &engine, &err) != TSR_OK) return cli_fail_err(&err);
    }
    tsr_status st = tsr_job_run_cb(engine, s, &cb, &err);
    if (o->progress) fputc('\n', stderr);
    tsr_engine_destroy(&engine);
    if (st != TSR_OK) return cli_fail_err(&err);
    printf("wrote %s\n", o->output);
    return 0;
}

static const char media_opts_help[] =
    "  -o, --output PATH    .mp4 .mov .mkv, a directory (PNG/TIFF frames) or a latent file\n"
    "  --codec NAME         h264 hevc h264_nvenc hevc_nvenc prores prores4444 ffv1 png tiff\n"
    "                       (default: mp4/mkv h264, mov prores, directory png)\n"
    "  --crf N | --bitrate B   quality (x264 18, x265 20 by default) or bits per second (e.g. 8M)\n"
    "  --10bit              10-bit video (16-bit PNG) where the codec allows\n"
    "  --audio-from CLIP    mux CLIP's audio (stream copy); --no-audio drops the source's audio\n"
    "  --fps N[/D]          output frame rate (decode: the latent's recorded rate, else 25)\n"
    "  --model M            model file, builtin or builtin:small (default builtin)\n"
    "  --backend B          auto cpu cuda;  --threads N;  --chunk N;  --queue N (writer queue frames)\n"
    "  --tile N             exact spatial tiles of N pixels (decode: output, encode: input; 0 = untiled)\n"
    "  --budget SIZE        device memory (8G, ...): the planner picks tiles and chunks; a decode starts from the\n"
    "                       plan `tessera-cli tune` stored for it (--store FILE, default the per-user store;\n"
    "                       --no-tuned plans afresh); --host-budget SIZE: host memory for it (default half the RAM)\n"
    "  --f16, --raw         encode: store fp16; store the unscaled mean (decoder input)\n"
    "  --unscaled, --raw    decode: the file holds the decoder input (also when its metadata says so)\n"
    "  -q, --quiet          no progress line\n";

/* Shared argument loop: positional arguments become the input. */
static int parse_all(int argc, char **argv, cli_media_opts *o, const char *in_opt, const char *usage)
{
    for (int i = 1; i < argc; i++) {
        bool bad = false;
        if (cli_is_help(argv[i])) {
            printf("%s\noptions:\n%s", usage, media_opts_help);
            return 0;
        }
        if ((in_opt && cli_opt_str(argc, argv, &i, in_opt, &o->input, &bad)) ||
            cli_media_parse_opt(argc, argv, &i, o, &bad)) {
            if (bad) return cli_usage_error(argv[0], "bad value for %s", argv[i]);
            continue;
        }
        if (argv[i][0] == '-' && argv[i][1]) return cli_usage_error(argv[0], "unknown option '%s'", argv[i]);
        if (o->input) return cli_usage_error(argv[0], "more than one input ('%s')", argv[i]);
        o->input = argv[i];
    }
    return -1;
}

/* The four media commands differ only in their job kind, input option and usage text. */
typedef struct media_cmd {
    tsr_job_kind kind;
    const char *name, *in_opt, *usage;
} media_cmd;

static const media_cmd media_cmds[] = {
    {TSR_JOB_DECODE, "decode", "--latent", "usage: tessera-cli decode --latent X.safetensors|.latent|.npy "
     "-o out.mp4|.mov|.mkv|dir/ [options]\n\nDecodes a latent file to video or frames."},
    {TSR_JOB_ENCODE, "encode", "--video", "usage: tessera-cli encode --video CLIP -o X.safetensors|.latent|.npy "
     "[--f16] [--raw]\n\nEncodes a clip, still or image sequence to a latent file (stored as mean * 0.9152 unless "
     "--raw)."},
    {TSR_JOB_ROUNDTRIP, "roundtrip", "--video", "usage: tessera-cli roundtrip CLIP -o out.mp4|.mov|.mkv|dir/ "
     "[options]\n\nEncodes and decodes a clip (padding to 16 px and 4k+1 frames, cropped and trimmed back); keeps "
     "the clip's audio. The latent goes through a spool file beside the output, not memory."},
    {TSR_JOB_TRANSCODE, "transcode", "--video", "usage: tessera-cli transcode CLIP -o OUT [options]\n\nReads and "
     "writes a clip through the job pipeline without the VAE (tests, format conversion)."},
};

static int media_command(int argc, char **argv, tsr_job_kind kind)
{
    const media_cmd *c = NULL;
    for (size_t k = 0; k < sizeof media_cmds / sizeof media_cmds[0]; k++)
        if (media_cmds[k].kind == kind) c = &media_cmds[k];
    cli_media_opts o;
    cli_media_opts_init(&o, kind);
    int rc = parse_all(argc, argv, &o, c->in_opt, c->usage);
    return rc >= 0 ? rc : cli_media_run(&o, c->name);
}

int cli_media_decode(int argc, char **argv) { return media_command(argc, argv, TSR_JOB_DECODE); }
int cli_media_encode(int argc, char **argv) { return media_command(argc, argv, TSR_JOB_ENCODE); }
int cmd_roundtrip(int argc, char **argv) { return media_command(argc, argv, TSR_JOB_ROUNDTRIP); }
int cmd_transcode(int argc, char **argv) { return media_command(argc, argv, TSR_JOB_TRANSCODE); }

#ifdef __SANITIZE_ADDRESS__
/* libx265 keeps a small allocation per bit depth for the process's lifetime (not ours to free). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libx265\n"; }
#endif
