/* `tessera-cli tune`: autotune with the backend's measured time as the timing source. The candidates that
 * fit the budget are timed on a short probe (tsr_tune_probe_time: a few latent frames of the job's size) and
 * the fastest is stored under the key (GPU, driver, model digest, precision, latent size, budget); the next run
 * with the same key starts at once from the store. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/common.h"

static int usage(void)
{
    printf("usage: tessera-cli tune --latent-shape CxTxHxW --budget SIZE [options]\n\n"
           "Times the plans that fit the budget on a short probe and remembers the fastest in the store;\n"
           "a second run with the same GPU, model, precision, size and budget starts without tuning.\n\n"
           "  --latent-shape CxTxHxW   the job's latent (only H x W and the budget enter the key)\n"
           "  --budget SIZE            device memory the plan may use (8G, 12G, ...)\n"
           "  --model FILE|builtin     model (default builtin)\n"
           "  --backend cuda|cpu       default cuda (cpu: an emulated device cap, for tests)\n"
           "  --probe-frames N         latent frames of the probe (default 2)\n"
           "  --host-budget SIZE       host memory for offloaded state and tile buffers (default: half the RAM,\n"
           "                           as decode)\n"
           "  --store FILE             settings store (default: the per-user one)\n"
           "  --retune                 time again even when the key is stored\n");
    return 0;
}

typedef struct tune_args {
    const char *model, *backend, *store, *shape, *budget, *host_budget;
    int probe, retune;
} tune_args;

static int parse(int argc, char **argv, tune_args *a)
{
    for (int i = 1; i < argc; i++) {
        bool bad = false;
        if (cli_is_help(argv[i])) return usage() - 1;
        if (cli_flag(argv, i, "--retune")) a->retune = 1;
        else if (!cli_opt_str(argc, argv, &i, "--model", &a->model, &bad) &&
                 !cli_opt_str(argc, argv, &i, "--backend", &a->backend, &bad) &&
                 !cli_opt_str(argc, argv, &i, "--store", &a->store, &bad) &&
                 !cli_opt_str(argc, argv, &i, "--latent-shape", &a->shape, &bad) &&
                 !cli_opt_str(argc, argv, &i, "--budget", &a->budget, &bad) &&
                 !cli_opt_str(argc, argv, &i, "--host-budget", &a->host_budget, &bad) &&
                 !cli_opt_int(argc, argv, &i, "--probe-frames", &a->probe, &bad))
            return cli_usage_error("tune", "unknown option '%s'", argv[i]);
        if (bad) return 2;
    }
    return 0;
}

static int tune(const tune_args *a, int c, int t, int h, int w, uint64_t budget, uint64_t host_budget)
{
    tsr_error err = {0};
    tsr_engine *e = NULL;
    tsr_model *m = NULL;
    tsr_vae *vae = NULL;
    int rc = cli_make_engine(a->backend, 0, &e, &err);
    if (rc) return strcmp(a->backend, "cuda") == 0 ? cli_fail("tune needs a GPU backend (use 'tessera-cli plan' for a "
                                                              "prediction)") : rc;
    if ((rc = cli_open_model(a->model, &m, &err)) == 0 && tsr_vae_create(e, m, &vae, &err) != TSR_OK)
        rc = cli_fail_err(&err);
    if (!rc && c != tsr_model_config(m)->latent_channels)
        rc = cli_fail("the model expects %d latent channels, not %d", tsr_model_config(m)->latent_channels, c);
    tsr_plan_request r;
    tsr_tune_key key;
    tsr_store *s = NULL;
    if (!rc) {
        tsr_vae_plan_request(vae, t, h, w, budget, 0, &r);
        r.host_budget = host_budget; /* as decode's: time only the candidates it may run */
        tsr_tune_key_make(vae, &r, &key); /* what decodes look up (tsr_tuned_plan_lookup) */
        s = cli_store_open(a->store, "tune", "the winner is not remembered");
    }
    if (!rc) {
        tsr_tune_probe probe = {vae, TSR_MIN(t, a->probe > 0 ? a->probe : 2), h, w, 1};
        tsr_plan best;
        int cached = 0;
        double t0 = tsr_now();
        tsr_status st = tsr_autotune(s, &key, &r, a->retune, tsr_tune_probe_time, &probe, &best, &cached, &err);
        double secs = tsr_now() - t0;
        if (st != TSR_OK) rc = cli_fail_err(&err);
        else {
            char text[1024];
            tsr_plan_describe(&best, text, sizeof text);
            printf("%s in %.3f s (%s)\n%s", cached ? "tuned plan from the store" : "tuned", secs,
                   tsr_engine_description(e), text);
        }
    }
    if (s) tsr_store_close(&s);
    tsr_vae_destroy(&vae);
    tsr_model_destroy(&m);
    tsr_engine_destroy(&e);
    return rc;
}

int cmd_tune(int argc, char **argv)
{
    tune_args a = {"builtin", "cuda", NULL, NULL, NULL, NULL, 2, 0};
    int rc = parse(argc, argv, &a);
    if (rc) return rc < 0 ? 0 : rc;
    int c, t, h, w;
    uint64_t budget = 0;
    if (!a.shape || sscanf(a.shape, "%dx%dx%dx%d", &c, &t, &h, &w) != 4 || c < 1 || t < 1 || h < 1 || w < 1)
        return strcmp(a.backend, "cuda") == 0 && !a.shape ? tune(&a, 16, 2, 90, 160, 0, 0) /* reports the GPU need */
                                                          : cli_usage_error("tune", "--latent-shape CxTxHxW is required");
    if (!a.budget || !cli_parse_bytes(a.budget, &budget) || budget == 0)
        return cli_usage_error("tune", "--budget SIZE is required (8G, 12G, ...)");
    uint64_t host = 0;
    if (!cli_host_budget(a.host_budget, &host)) return cli_usage_error("tune", "--host-budget needs a size like 32G");
    return tune(&a, c, t, h, w, budget, host);
}
