/* `tessera-cli quantize MODEL -o OUT.safetensors`: conv and linear weights to FP8 e4m3 with one scale per output
 * channel (`X.weight` F8_E4M3 + `X.weight_scale` F32 [shape[0]], the convention of model/safetensors.h), about
 * half the size of an f16/bf16 file. Norms, biases and every 1-D tensor keep their dtype. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/fp8.h"
#include "model/safetensors.h"

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* Matrices and conv kernels (ndim >= 2) named *.weight are quantised; F8 inputs pass through unchanged. */
static bool wants_fp8(const tsr_tensor_info *t)
{
    return t->ndim >= 2 && ends_with(t->name, ".weight") && t->shape[0] > 0 && t->numel / t->shape[0] >= 16 &&
           (t->dtype == TSR_DT_F32 || t->dtype == TSR_DT_F16 || t->dtype == TSR_DT_BF16);
}

static void quantize_usage(FILE *f)
{
    fprintf(f, "usage: tessera-cli quantize MODEL.safetensors -o OUT.safetensors\n"
               "  conv/linear weights -> FP8 e4m3, one scale per output channel (X.weight_scale, F32)\n");
}

int cmd_quantize(int argc, char **argv)
{
    const char *in = NULL, *out = NULL;
    bool bad = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            quantize_usage(stdout);
            return 0;
        }
        if (cli_opt_str(argc, argv, &i, "-o", &out, &bad) || cli_opt_str(argc, argv, &i, "--output", &out, &bad))
            continue;
        if (bad) return 2;
        if (argv[i][0] == '-') return cli_usage_error("quantize", "unknown option %s", argv[i]);
        if (in) return cli_usage_error("quantize", "one model at a time");
        in = argv[i];
    }
    if (bad) return 2;
    if (!in || !out) return cli_usage_error("quantize", "need MODEL and -o OUT.safetensors");

    tsr_error err = {0};
    tsr_weights w;
    tsr_weights_init(&w);
    if (tsr_safetensors_open(in, &w, &err) != TSR_OK) return cli_fail_err(&err);
    int cap = 2 * w.count + 1, n = 0, quantised = 0;
    tsr_st_tensor *ts = calloc((size_t)cap, sizeof *ts);
    void **owned = calloc((size_t)cap * 2, sizeof *owned);
    int nowned = 0, rc = 0;
    size_t in_bytes = 0, out_bytes = 0;
    if (!ts || !owned) {
        rc = cli_fail("out of memory");
        goto done;
    }
    for (int i = 0; i < w.count; i++) {
        const tsr_tensor_info *t = &w.tensors[i];
        tsr_st_tensor *o = &ts[n++];
        o->name = t->name;
        o->dtype = t->dtype;
        o->ndim = t->ndim;
        memcpy(o->shape, t->shape, sizeof o->shape);
        o->data = t->data;
        in_bytes += t->nbytes;
        if (wants_fp8(t)) {
            size_t rows = (size_t)t->shape[0], cols = (size_t)t->numel / rows;
            float *f = malloc((size_t)t->numel * sizeof *f);
            uint8_t *q = malloc((size_t)t->numel);
            float *scale = malloc(rows * sizeof *scale);
            char *sname = malloc(strlen(t->name) + 7);
            owned[nowned++] = q, owned[nowned++] = scale;
            owned[nowned++] = sname;
            if (!f || !q || !scale || !sname) {
                free(f);
                rc = cli_fail("out of memory");
                goto done;
            }
            if (tsr_tensor_read_f32(t, f, &err) != TSR_OK) {
                free(f);
                rc = cli_fail_err(&err);
                goto done;
            }
            tsr_fp8_quantize_rows(f, rows, cols, q, scale);
            free(f);
            o->dtype = TSR_DT_F8_E4M3;
            o->data = q;
            sprintf(sname, "%s_scale", t->name);
            tsr_st_tensor *s = &ts[n++];
            s->name = sname;
            s->dtype = TSR_DT_F32;
            s->ndim = 1;
            s->shape[0] = (int64_t)rows;
            s->data = scale;
            quantised++;
        } else if (t->dtype == TSR_DT_F8_E4M3 && t->channel_scale) {
            char *sname = malloc(strlen(t->name) + 7);
            if (!sname) {
                rc = cli_fail("out of memory");
                goto done;
            }
            owned[nowned++] = sname;
            sprintf(sname, "%s_scale", t->name);
            tsr_st_tensor *s = &ts[n++];
            s->name = sname;
            s->dtype = TSR_DT_F32;
            s->ndim = 1;
            s->shape[0] = t->shape[0];
            s->data = t->channel_scale;
        }
    }
    for (int i = 0; i < n; i++) {
        int64_t numel = 1;
        for (int d = 0; d < ts[i].ndim; d++) numel *= ts[i].shape[d];
        out_bytes += tsr_dtype_nbytes(ts[i].dtype, numel);
    }
    {
        const char **meta = calloc((size_t)w.meta_count * 2 + 2, sizeof *meta);
        int pairs = 0;
        if (!meta) {
            rc = cli_fail("out of memory");
            goto done;
        }
        for (int i = 0; i < w.meta_count; i++) {
            if (!strcmp(w.meta_keys[i], "tessera.quantization")) continue;
            meta[2 * pairs] = w.meta_keys[i], meta[2 * pairs + 1] = w.meta_values[i], pairs++;
        }
        meta[2 * pairs] = "tessera.quantization", meta[2 * pairs + 1] = "fp8_e4m3 per output channel", pairs++;
        tsr_status st = tsr_safetensors_write(out, ts, n, meta, pairs, &err);
        free(meta);
        if (st != TSR_OK) {
            rc = cli_fail_err(&err);
            goto done;
        }
    }
    printf("%s: %d tensors quantised to FP8 e4m3 (per output channel), %.1f MB -> %.1f MB\n", out, quantised,
           (double)in_bytes / 1e6, (double)out_bytes / 1e6);
done:
    for (int i = 0; i < nowned; i++) free(owned[i]);
    free(owned);
    free(ts);
    tsr_weights_free(&w);
    return rc;
}
