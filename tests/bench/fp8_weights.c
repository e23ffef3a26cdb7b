/* FP8 weight quantisation choices on the CPU (no GPU): for every decoder conv of a model, the SNR of its e4m3
 * weights with (a) one scale per output channel = amax/448 (what runs), (b) one scale per tensor, (c) per output
 * channel with the scale searched for the least squared error (32 candidates in [amax/448/2, amax/448], the
 * largest allowed to clip), on 32 output channels per conv (evenly spaced). Shows whether a finer or better-chosen weight scale could lower the FP8 error.
 * Usage: fp8_weights [MODEL|builtin] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/fp8.h"
#include "model/model.h"
#include "tessera.h"
#include "vae/precision.h"

static double sq_err_row(const float *w, size_t n, float scale)
{
    double e = 0;
    float inv = 1.0f / scale;
    for (size_t i = 0; i < n; i++) {
        double d = (double)w[i] - (double)tsr_e4m3_to_f32(tsr_f32_to_e4m3(w[i] * inv)) * scale;
        e += d * d;
    }
    return e;
}

int main(int argc, char **argv)
{
    const char *spec = argc > 1 ? argv[1] : "builtin";
    tsr_error err = {0};
    tsr_model *m = NULL;
    tsr_status st = strcmp(spec, "builtin") ? tsr_model_open(spec, &m, &err) : tsr_model_builtin(NULL, &m, &err);
    if (st) {
        fprintf(stderr, "%s: %s\n", spec, err.message);
        return 1;
    }
    const tsr_vae_config *cfg = tsr_model_config(m);
    int n = tsr_layer_precisions(TSR_PRECISION_BF16, cfg, NULL, 0);
    tsr_layer_prec_info *l = calloc((size_t)n, sizeof *l);
    if (!l) return 1;
    tsr_layer_precisions(TSR_PRECISION_BF16, cfg, l, n);
    printf("| conv | weights | SNR per-channel amax | per-tensor amax | per-channel MSE-searched |\n|---|---|---|---|---|\n");
    double tot[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        if (strncmp(l[i].name, "decoder.", 8)) continue;
        char name[128];
        snprintf(name, sizeof name, "%s.weight", l[i].name);
        size_t cols = (size_t)l[i].cin * l[i].kt * l[i].kh * l[i].kw, rows = (size_t)l[i].cout;
        int64_t shape[5] = {l[i].cout, l[i].cin, l[i].kt, l[i].kh, l[i].kw};
        float *w = NULL;
        if (tsr_weights_load_f32(tsr_model_weights(m), name, 5, shape, &w, &err)) {
            fprintf(stderr, "%s: %s\n", name, err.message);
            return 1;
        }
        double sig = 0, e_row = 0, e_ten = 0, e_mse = 0;
        float t_scale = tsr_fp8_scale_for(tsr_fp8_amax(w, rows * cols));
        size_t step = rows > 32 ? rows / 32 : 1;
        for (size_t r = 0; r < rows; r += step) {
            const float *row = w + r * cols;
            for (size_t c = 0; c < cols; c++) sig += (double)row[c] * row[c];
            float s = tsr_fp8_scale_for(tsr_fp8_amax(row, cols));
            double e = sq_err_row(row, cols, s), best = e;
            for (int k = 1; k < 32; k++) {
                double b = sq_err_row(row, cols, s * (1.0f - (float)k / 64.0f));
                if (b < best) best = b;
            }
            e_row += e, e_mse += best;
            e_ten += sq_err_row(row, cols, t_scale);
        }
        free(w);
        printf("| %s | %zu x %zu | %.2f dB | %.2f dB | %.2f dB |\n", l[i].name, rows, cols, 10 * log10(sig / e_row),
               10 * log10(sig / e_ten), 10 * log10(sig / e_mse));
        fflush(stdout);
        tot[0] += sig, tot[1] += e_row, tot[2] += e_ten, tot[3] += e_mse;
    }
    printf("| all decoder convs | | %.2f dB | %.2f dB | %.2f dB |\n", 10 * log10(tot[0] / tot[1]),
           10 * log10(tot[0] / tot[2]), 10 * log10(tot[0] / tot[3]));
    free(l);
    tsr_model_destroy(&m);
    return 0;
}
