/* FP8 precision policy from measurements (GPU machine; exits 77 without a GPU): in ONE process (cuDNN plans and
 * FP8 weights are built once), against the fp32 goldens decoded from the builtin model:
 *   1. baseline (no FP8), FP8 everywhere ("all"), and the table's policies ("fast", "quality");
 *   2. the per-layer sensitivity: each decoder conv alone in FP8 (cuDNN FP8, and the own mma.sync kernel);
 *   3. greedy policies: layers sorted by added error per FLOP (added errors of independent layers add in
 *      quadrature), taken while the predicted PSNR stays above a target; each set then MEASURED on both goldens,
 *      trimmed from the end while the measured PSNR misses the target;
 *   4. with a quantised model file (argument 2, from `tessera-cli quantize builtin`): the error of e4m3 weights
 *      alone (bf16 convs on the dequantised weights) — the weight share of the FP8 error.
 * PSNR: values in [-1,1] mapped to [0,1], peak 1, no clamping. Writes the greedy sets as comma lists
 * (TSR_FP8=layers:...) to DIR/set_<target>.txt.
 * With a third argument "policies" it stops after step 1, which then also runs 1-frame chunks with the two-pass
 * and the delayed activation scale (TSR_FP8_SCALE=delayed then; now the default, "two-pass" the opt-out).
 * Usage: TSR_FIXTURES=dir fp8_scan OUTDIR [QUANTISED_MODEL|-] [policies] */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "model/filler.h"
#include "model/safetensors.h"
#include "tessera.h"
#include "../golden/golden_harness.h"
#include "tsr_test.h"
#include "vae/precision.h"

typedef struct golden {
    const char *file;
    int t, h, w;
    float *ref;
    size_t n;
    double ref_rms;
} golden;

typedef struct layer {
    tsr_layer_prec_info info;
    double gflop;          /* at 720p17 */
    double e_dnn, e_own;   /* rel RMS with this layer alone in FP8 */
    double add2;           /* added squared error (cuDNN FP8) */
} layer;

static int chunk_frames; /* latent frames per chunk, 0 = whole clip */

/* decode golden g with the current override; rel RMS into *rel, PSNR into *psnr */
static int measure(tsr_vae *v, const golden *g, double *rel, double *psnr)
{
    size_t nl = (size_t)16 * g->t * g->h * g->w;
    float *lat = malloc(nl * sizeof *lat), *out = calloc(g->n, sizeof(float));
    if (!lat || !out) return 1;
    tsr_filler_latent(lat, nl);
    collect c = {out, 4 * g->t - 3, 8 * g->h, 8 * g->w};
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    p.chunk = chunk_frames ? chunk_frames : g->t;
    tsr_status st = tsr_vae_decode(v, lat, 16, g->t, g->h, g->w, &p, sink, &c, &err);
    if (st == TSR_OK) {
        double e = 0;
        for (size_t i = 0; i < g->n; i++) e += ((double)out[i] - g->ref[i]) * ((double)out[i] - g->ref[i]);
        double mse = e / (double)g->n;
        *rel = sqrt(mse) / g->ref_rms;
        *psnr = 10 * log10(1.0 / (mse / 4 > 1e-30 ? mse / 4 : 1e-30));
    }
    free(lat), free(out);
    if (st != TSR_OK) fprintf(stderr, "decode: %s\n", err.message);
    return st != TSR_OK;
}

/* FLOPs of a decoder conv at 720p17 (latent 16x5x90x160): resolution level by position in the network */
static double gflop_720p17(const tsr_layer_prec_info *l)
{
    static const double thw[4] = {5.0 * 90 * 160, 9.0 * 180 * 320, 17.0 * 360 * 640, 17.0 * 720 * 1280};
    int lev = 0, b;
    if (sscanf(l->name, "decoder.up_blocks.%d.", &b) == 1) {
        lev = b;
        if (strstr(l->name, "upsamplers") && !strstr(l->name, "upscale_conv")) lev = b + 1;
    } else if (!strcmp(l->name, "decoder.conv_out")) lev = 3;
    if (lev > 3) lev = 3;
    return 2.0 * l->cin * l->cout * l->kt * l->kh * l->kw * thw[lev] / 1e9;
}

static double total_gflop;

static int cmp_ratio(const void *a, const void *b)
{
    const layer *x = *(layer *const *)a, *y = *(layer *const *)b;
    double rx = x->add2 / x->gflop, ry = y->add2 / y->gflop;
    return rx < ry ? -1 : rx > ry;
}

static void set_string(layer **order, int k, char *buf, size_t cap)
{
    size_t o = snprintf(buf, cap, "layers:");
    for (int i = 0; i < k && o < cap; i++) o += snprintf(buf + o, cap - o, "%s%s", i ? "," : "", order[i]->info.name);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: TSR_FIXTURES=dir fp8_scan OUTDIR [QUANTISED_MODEL]\n");
        return 2;
    }
    const char *fx = getenv("TSR_FIXTURES");
    if (!fx) return 77;
    golden gs[2] = {{"decode_16x3x16x24.safetensors", 3, 16, 24, NULL, 0, 0},
                    {"decode_16x2x8x12.safetensors", 2, 8, 12, NULL, 0, 0}};
    for (int i = 0; i < 2; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", fx, gs[i].file);
        if (!(gs[i].ref = st_min_read(path, "video", &gs[i].n))) {
            fprintf(stderr, "%s: %s\n", path, err.message);
            return 77;
        }
        double r = 0;
        for (size_t k = 0; k < gs[i].n; k++) r += (double)gs[i].ref[k] * gs[i].ref[k];
        gs[i].ref_rms = sqrt(r / (double)gs[i].n);
    }
    /* the override changes between decodes of one VAE: a recorded chunk graph would replay the old choice */
    tsr_test_setenv("TSR_CUDA_GRAPHS", "0");
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CUDA;
    ep.precision = TSR_PRECISION_BF16;
    ep.memory_budget = 8ull << 30; /* goldens are small; leaves room for a second model's weights (step 4) */
    tsr_engine *eng = NULL;
    tsr_status st = tsr_engine_create(&ep, &eng, &err);
    if (st == TSR_ERR_NO_DEVICE || st == TSR_ERR_UNSUPPORTED) {
        fprintf(stderr, "skip: %s\n", err.message);
        return 77;
    }
    tsr_model *model = NULL;
    if (st || tsr_model_builtin(NULL, &model, &err) || tsr_vae_create(eng, model, &vae, &err)) {
        fprintf(stderr, "setup: %s\n", err.message);
        return 1;
    }
    double t0 = tsr_now();
    double e0[2], p0[2], e, p;
    tsr_test_setenv("TSR_FP8_SCALE", "two-pass"); /* the scan's figures: per-call amax (as measured in run 1) */
    tsr_fp8_override_set("none");
    for (int i = 0; i < 2; i++)
        if (measure(vae, &gs[i], &e0[i], &p0[i])) return 1;
    printf("## policies (rel RMS / PSNR dB on %s | on %s)\n\n", gs[0].file, gs[1].file);
    printf("| TSR_FP8 | FP8 convs | rel RMS | PSNR | rel RMS (small) | PSNR (small) |\n|---|---|---|---|---|---|\n");
    printf("| none (bf16) | 0 | %.4f | %.2f | %.4f | %.2f |\n", e0[0], p0[0], e0[1], p0[1]);
    const char *pols[] = {"all", "fast", "quality"};
    for (int k = 0; k < 3; k++) {
        tsr_fp8_override_set(pols[k]);
        double e1, p1;
        if (measure(vae, &gs[0], &e, &p) || measure(vae, &gs[1], &e1, &p1)) return 1;
        printf("| %s (table) | | %.4f | %.2f | %.4f | %.2f |\n", pols[k], e, p, e1, p1);
    }
    fflush(stdout);
    if (argc > 3 && !strcmp(argv[3], "policies")) {
        printf("\n## 1-frame chunks (causal state), two-pass vs delayed activation scale\n\n"
               "| TSR_FP8 | scale | rel RMS | PSNR | rel RMS (small) | PSNR (small) |\n|---|---|---|---|---|---|\n");
        chunk_frames = 1;
        const char *pc[] = {"none", "all", "fast", "quality"};
        for (int k = 0; k < 4; k++)
            for (int dl = 0; dl < 2; dl++) {
                tsr_test_setenv("TSR_FP8_SCALE", dl ? "delayed" : "two-pass");
                tsr_fp8_override_set(pc[k]);
                double e1, p1;
                if (measure(vae, &gs[0], &e, &p) || measure(vae, &gs[1], &e1, &p1)) return 1;
                printf("| %s | %s | %.4f | %.2f | %.4f | %.2f |\n", pc[k], dl ? "delayed" : "two-pass", e, p, e1, p1);
                tsr_test_setenv("TSR_FP8_SCALE", NULL);
            }
        printf("\nscan wall %.1f s\n", tsr_now() - t0);
        return 0;
    }

    /* per-layer scan */
    int n_all = tsr_layer_precisions(TSR_PRECISION_BF16, tsr_model_config(model), NULL, 0);
    tsr_layer_prec_info *li = calloc((size_t)n_all, sizeof *li);
    layer *ls = calloc((size_t)n_all, sizeof *ls);
    layer **order = calloc((size_t)n_all, sizeof *order);
    if (!li || !ls || !order) return 1;
    tsr_layer_precisions(TSR_PRECISION_BF16, tsr_model_config(model), li, n_all);
    int n = 0;
    for (int i = 0; i < n_all; i++)
        if (!strncmp(li[i].name, "decoder.", 8)) {
            ls[n].info = li[i];
            ls[n].gflop = gflop_720p17(&li[i]);
            total_gflop += ls[n].gflop;
            n++;
        }
    printf("\n## per-layer sensitivity (one decoder conv in FP8, all else bf16; %s; baseline rel RMS %.4f)\n\n",
           gs[0].file, e0[0]);
    printf("| conv | GFLOP @720p17 | share | rel RMS cuDNN FP8 | added (quadrature) | rel RMS own FP8 kernel |\n"
           "|---|---|---|---|---|---|\n");
    char *spec = malloc(16384);
    if (!spec) return 1;
    for (int i = 0; i < n; i++) {
        snprintf(spec, 16384, "layers:%s", ls[i].info.name);
        tsr_fp8_override_set(spec);
        if (measure(vae, &gs[0], &ls[i].e_dnn, &p)) return 1;
        tsr_test_setenv("TSR_FP8_KERNEL", "own");
        if (measure(vae, &gs[0], &ls[i].e_own, &p)) return 1;
        tsr_test_setenv("TSR_FP8_KERNEL", NULL);
        ls[i].add2 = ls[i].e_dnn * ls[i].e_dnn - e0[0] * e0[0];
        if (ls[i].add2 < 1e-8) ls[i].add2 = 1e-8; /* below the measurement's resolution */
        printf("| %s | %.0f | %.1f %% | %.4f | %.4f | %.4f |\n", ls[i].info.name, ls[i].gflop,
               100 * ls[i].gflop / total_gflop, ls[i].e_dnn, sqrt(ls[i].add2), ls[i].e_own);
        fflush(stdout);
        order[i] = &ls[i];
    }
    qsort(order, (size_t)n, sizeof *order, cmp_ratio);

    /* greedy sets */
    printf("\n## greedy policies (added error per FLOP ascending; predicted from the scan, then measured)\n\n");
    printf("| target dB | layers | FP8 share of conv FLOPs | predicted PSNR | rel RMS | PSNR | rel RMS (small) | "
           "PSNR (small) |\n|---|---|---|---|---|---|---|---|\n");
    const double targets[] = {41.0, 40.0, 38.0, 36.0, 34.0};
    for (size_t ti = 0; ti < TSR_ARRAY_LEN(targets); ti++) {
        double tgt = targets[ti];
        double sum2 = e0[0] * e0[0], pred = p0[0];
        int k = 0;
        for (; k < n; k++) {
            double s2 = sum2 + order[k]->add2;
            double rmse = sqrt(s2) * gs[0].ref_rms, pp = 10 * log10(4.0 / (rmse * rmse));
            if (pp < tgt + 0.3) break; /* margin for the prediction */
            sum2 = s2, pred = pp;
        }
        double e1 = 0, p1 = 0;
        for (;;) { /* measure; trim from the end while the measurement misses the target */
            set_string(order, k, spec, 16384);
            tsr_fp8_override_set(k ? spec : "none");
            if (measure(vae, &gs[0], &e, &p) || measure(vae, &gs[1], &e1, &p1)) return 1;
            if ((p >= tgt && p1 >= tgt) || k == 0) break;
            k--;
        }
        double g = 0;
        for (int i = 0; i < k; i++) g += order[i]->gflop;
        printf("| %.0f | %d | %.1f %% | %.2f | %.4f | %.2f | %.4f | %.2f |\n", tgt, k, 100 * g / total_gflop, pred, e,
               p, e1, p1);
        char path[1024];
        snprintf(path, sizeof path, "%s/set_%.0f.txt", argv[1], tgt);
        FILE *f = fopen(path, "w");
        if (f) fprintf(f, "%s\n", spec), fclose(f);
        fflush(stdout);
    }
    printf("\nOrder (added error per GFLOP ascending):");
    for (int i = 0; i < n; i++) printf(" %s", order[i]->info.name + 8);
    printf("\n");

    /* weights alone: e4m3 weights (quantised file), bf16 convs */
    if (argc > 2 && strcmp(argv[2], "-")) {
        tsr_model *qm = NULL;
        tsr_vae *qv = NULL;
        if (tsr_model_open(argv[2], &qm, &err) || tsr_vae_create(eng, qm, &qv, &err)) {
            fprintf(stderr, "%s: %s\n", argv[2], err.message);
            return 1;
        }
        printf("\n## weights alone vs FP8 (%s)\n\n| model | TSR_FP8 | rel RMS | PSNR |\n|---|---|---|---|\n",
               gs[0].file);
        const char *ov[] = {"none", "all", "fast"};
        for (int k = 0; k < 3; k++) {
            tsr_fp8_override_set(ov[k]);
            if (measure(qv, &gs[0], &e, &p)) return 1;
            printf("| quantised file (e4m3 weights) | %s | %.4f | %.2f |\n", ov[k], e, p);
        }
        tsr_vae_destroy(&qv);
        tsr_model_destroy(&qm);
    }
    printf("\nscan wall %.1f s\n", tsr_now() - t0);
    tsr_fp8_override_set(NULL);
    tsr_vae_destroy(&vae);
    tsr_model_destroy(&model);
    tsr_engine_destroy(&eng);
    free(spec), free(li), free(ls), free(order);
    for (int i = 0; i < 2; i++) free(gs[i].ref);
    return 0;
}
