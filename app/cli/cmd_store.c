/* `tessera-cli presets`, `queue` (inspection of the store) and `tune` (needs a GPU backend). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char *precision_name(tsr_precision p)
{
    static const char *const names[] = {"auto", "fp32", "bf16", "fp16", "fp8", "fp8-quality"};
    return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : "?";
}

/* A second handle beside a possibly running app: never marks its running jobs interrupted. */
static int open_store(const char *cmd, const char *path, tsr_store **s)
{
    tsr_store_params sp;
    tsr_store_params_default(&sp);
    sp.path = path;
    sp.recover_interrupted = 0;
    tsr_error err = {0};
    if (tsr_store_open(&sp, s, &err) != TSR_OK) return cli_fail_err(&err);
    if (tsr_store_notice(*s)[0]) fprintf(stderr, "tessera-cli %s: %s\n", cmd, tsr_store_notice(*s));
    return 0;
}

static int parse_store_args(const char *cmd, int argc, char **argv, const char **path, int *retune)
{
    for (int i = 1; i < argc; i++) {
        bool bad = false;
        if (cli_is_help(argv[i])) {
            printf("usage: tessera-cli %s [--store FILE]%s\n\n", cmd, retune ? " [--retune]" : "");
            if (retune) printf("Times candidate plans and kernels on the GPU and remembers the fastest.\n");
            else printf("Lists the %s of the settings store (default: the per-user data directory).\n", cmd);
            return 0;
        }
        if (retune && cli_flag(argv, i, "--retune")) *retune = 1;
        else if (cli_opt_str(argc, argv, &i, "--store", path, &bad)) {
            if (bad) return 2;
        } else return cli_usage_error(cmd, "unknown option '%s'", argv[i]);
    }
    return -1;
}

int cmd_presets(int argc, char **argv)
{
    const char *path = NULL;
    int rc = parse_store_args("presets", argc, argv, &path, NULL);
    if (rc >= 0) return rc;
    tsr_store *s = NULL;
    if ((rc = open_store("presets", path, &s)) != 0) return rc;
    tsr_preset *ps = NULL;
    int n = 0;
    tsr_error err = {0};
    if (tsr_store_presets_list(s, &ps, &n, &err) != TSR_OK) {
        tsr_store_close(&s);
        return cli_fail_err(&err);
    }
    for (int i = 0; i < n; i++) {
        char budget[32] = "free VRAM";
        if (ps[i].vram_budget)
            snprintf(budget, sizeof budget, "%.0f GiB", (double)ps[i].vram_budget / (1024.0 * 1024 * 1024));
        printf("%-32s %-11s %-10s %-5s %-9s crf %-2d %2d-bit%s\n", ps[i].name, precision_name(ps[i].precision),
               budget, ps[i].container, ps[i].codec, ps[i].crf, ps[i].bit_depth, ps[i].builtin ? "  (built-in)" : "");
    }
    tsr_store_free(ps);
    tsr_store_close(&s);
    return 0;
}

int cmd_queue(int argc, char **argv)
{
    const char *path = NULL;
    int rc = parse_store_args("queue", argc, argv, &path, NULL);
    if (rc >= 0) return rc;
    tsr_store *s = NULL;
    if ((rc = open_store("queue", path, &s)) != 0) return rc;
    tsr_queue_item *q = NULL;
    int n = 0;
    tsr_error err = {0};
    if (tsr_store_queue_list(s, &q, &n, &err) != TSR_OK) {
        tsr_store_close(&s);
        return cli_fail_err(&err);
    }
    if (n == 0) printf("the queue is empty\n");
    for (int i = 0; i < n; i++)
        printf("%3d  %-11s %5.1f%%  %s -> %s%s%s\n", q[i].position + 1, tsr_job_state_name(q[i].state),
               100.0 * q[i].progress, q[i].input, q[i].output, q[i].error[0] ? "  : " : "", q[i].error);
    tsr_store_free(q);
    tsr_store_close(&s);
    return 0;
}
