/* `tessera-cli plan`: the memory plan for a latent shape and budget (no GPU needed). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void plan_usage(void)
{
    printf("usage: tessera-cli plan --budget SIZE --latent-shape CxTxHxW [options]\n\n"
           "Prints the decoder's memory plan and its predicted peak VRAM (a prediction: no GPU is used).\n\n"
           "  --budget SIZE            device memory the plan may use: 8G, 12G, 16GiB, 800M\n"
           "  --latent-shape CxTxHxW   decoder input, e.g. 16x6x270x480 (4K, 21 frames)\n"
           "  --precision P            bf16 (default), fp16, fp8, fp8-quality, fp32\n"
           "  --tiling T               decoder (default: what the decoder executes: exact, exact tiles, then\n"
           "                           deep tiles, near-exact), exact (never approximate: no deep tiles), auto\n"
           "                           (adds FP8-state plans, not executed by the decoder), always (tiles),\n"
           "                           deep (deep tiles only)\n"
           "  --chunk N                latent frames per chunk (default: the planner picks)\n"
           "  --frame-group N          output frames per group after the last temporal upsampler (default: the\n"
           "                           planner picks the largest that fits; N >= the chunk's frames: whole chunks)\n"
           "  --host-budget SIZE       host memory for offloaded state and tile buffers (default: half the RAM)\n"
           "  --deep-passes P          passes of deep-tile plans, 1 to 4 (default 3: GroupNorm statistics pooled\n"
           "                           over the tiles, gathered twice; 2 is faster, 1 uses per-tile statistics)\n"
           "  --no-offload             no plan that keeps untiled causal states in pinned host memory\n"
           "                           (exact-offload; the decoder executes it: prefetched, bit-exact)\n"
           "  --json                   print the plan as JSON\n");
}

int cli_parse_precision(const char *s, tsr_precision *out)
{
    static const struct { const char *name; tsr_precision p; } map[] = {
        {"auto", TSR_PRECISION_AUTO}, {"bf16", TSR_PRECISION_BF16}, {"fp16", TSR_PRECISION_FP16},
        {"fp32", TSR_PRECISION_FP32}, {"fp8", TSR_PRECISION_FP8_FAST}, {"fp8-fast", TSR_PRECISION_FP8_FAST},
        {"fp8-quality", TSR_PRECISION_FP8_QUALITY},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (strcmp(s, map[i].name) == 0) {
            *out = map[i].p;
            return 1;
        }
    return 0;
}

static int parse_tiling(const char *s, tsr_tiling_policy *out)
{
    if (strcmp(s, "auto") == 0 || strcmp(s, "decoder") == 0) *out = TSR_TILING_AUTO;
    else if (strcmp(s, "exact") == 0) *out = TSR_TILING_EXACT_ONLY;
    else if (strcmp(s, "always") == 0) *out = TSR_TILING_ALWAYS;
    else if (strcmp(s, "deep") == 0) *out = TSR_TILING_DEEP;
    else return 0;
    return 1;
}

typedef struct plan_args {
    tsr_plan_request req;
    int c, json, have_budget, have_shape, have_host_budget;
} plan_args;

static int parse_plan_args(int argc, char **argv, plan_args *a)
{
    tsr_plan_request_default(&a->req);
    a->req.tiling = TSR_TILING_AUTO; /* what the decoder executes (tsr_vae_plan_request); --tiling overrides */
    a->req.no_fp8_state = 1;
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        bool bad = false;
        if (cli_is_help(argv[i])) {
            plan_usage();
            return 0;
        } else if (cli_flag(argv, i, "--json")) {
            a->json = 1;
        } else if (cli_flag(argv, i, "--no-offload")) {
            a->req.no_offload = 1;
        } else if (cli_flag(argv, i, "--with-offload")) { /* the default now; kept for old scripts */
            a->req.no_offload = 0;
        } else if (cli_opt_str(argc, argv, &i, "--budget", &v, &bad)) {
            if (bad || !cli_parse_bytes(v, &a->req.budget) || a->req.budget == 0)
                return cli_usage_error("plan", "--budget needs a size like 12G");
            a->have_budget = 1;
        } else if (cli_opt_str(argc, argv, &i, "--latent-shape", &v, &bad)) {
            if (bad || sscanf(v, "%dx%dx%dx%d", &a->c, &a->req.latent_t, &a->req.latent_h, &a->req.latent_w) != 4)
                return cli_usage_error("plan", "--latent-shape needs CxTxHxW, e.g. 16x6x270x480");
            a->have_shape = 1;
        } else if (cli_opt_str(argc, argv, &i, "--precision", &v, &bad)) {
            if (bad || !cli_parse_precision(v, &a->req.precision))
                return cli_usage_error("plan", "unknown precision '%s'", v ? v : "");
        } else if (cli_opt_str(argc, argv, &i, "--tiling", &v, &bad)) {
            if (bad || !parse_tiling(v, &a->req.tiling)) return cli_usage_error("plan", "unknown tiling policy");
            a->req.no_fp8_state = strcmp(v, "decoder") == 0;
        } else if (cli_opt_str(argc, argv, &i, "--host-budget", &v, &bad)) {
            if (bad || !cli_parse_bytes(v, &a->req.host_budget))
                return cli_usage_error("plan", "--host-budget needs a size like 32G");
            a->have_host_budget = 1;
        } else if (cli_opt_int(argc, argv, &i, "--chunk", &a->req.chunk, &bad)) {
            if (bad || a->req.chunk < 0) return cli_usage_error("plan", "--chunk needs a number >= 0");
        } else if (cli_opt_int(argc, argv, &i, "--frame-group", &a->req.frame_group, &bad)) {
            if (bad || a->req.frame_group < 0) return cli_usage_error("plan", "--frame-group needs a number >= 0");
        } else if (cli_opt_int(argc, argv, &i, "--deep-passes", &a->req.deep_passes, &bad)) {
            if (bad || a->req.deep_passes < 1 || a->req.deep_passes > TSR_DEEP_MAX_PASSES)
                return cli_usage_error("plan", "--deep-passes needs 1 to %d", TSR_DEEP_MAX_PASSES);
        } else {
            return cli_usage_error("plan", "unknown option '%s'", argv[i]);
        }
    }
    if (!a->have_budget) return cli_usage_error("plan", "--budget is required (no GPU is asked)");
    if (!a->have_shape) return cli_usage_error("plan", "--latent-shape is required");
    return -1;
}

int cmd_plan(int argc, char **argv)
{
    plan_args a;
    memset(&a, 0, sizeof a);
    int rc = parse_plan_args(argc, argv, &a);
    if (rc < 0 && !a.have_host_budget) a.req.host_budget = tsr_plan_default_host_budget();
    if (rc >= 0) return rc;
    tsr_vae_config cfg;
    tsr_vae_config_seedvr2(&cfg);
    if (a.c != cfg.latent_channels)
        return cli_usage_error("plan", "the SeedVR2 decoder takes %d latent channels, not %d", cfg.latent_channels,
                               a.c);
    a.req.cfg = &cfg;
    tsr_plan p;
    tsr_error err = {0};
    if (tsr_plan_make(&a.req, &p, &err) != TSR_OK) return cli_fail_err(&err);
    char buf[2048];
    if (a.json) {
        tsr_plan_to_json(&p, buf, sizeof buf);
        printf("%s\n", buf);
    } else {
        printf("latent %dx%dx%dx%d -> video 3x%dx%dx%d (prediction, no GPU used)\n", a.c, a.req.latent_t,
               a.req.latent_h, a.req.latent_w, 4 * a.req.latent_t - 3, 8 * a.req.latent_h, 8 * a.req.latent_w);
        tsr_plan_describe(&p, buf, sizeof buf);
        fputs(buf, stdout);
    }
    return p.kind == TSR_PLAN_IMPOSSIBLE ? 3 : 0;
}
