/* CPU GroupNorm (per frame, two-pass statistics in double) and mid-block attention (per frame, exact
 * softmax, queries in blocks so memory is O(block * N)). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"
#include "core/common.h"

typedef struct gn_job {
    const cpu_norm *n;
    const float *in;
    float *out;
    int c, t, hw, silu;
} gn_job;

static inline float silu_f(float x) { return x / (1.0f + expf(-x)); }

/* One (frame, group): mean and biased variance in double, two passes, as exact as PyTorch's fp32 path. */
static void gn_item(const gn_job *j, int t, int g)
{
    int cpg = j->c / j->n->groups;
    size_t plane = (size_t)j->t * j->hw;
    double sum = 0.0, sq = 0.0, cnt = (double)cpg * j->hw;
    for (int c = g * cpg; c < (g + 1) * cpg; c++) {
        const float *x = j->in + c * plane + (size_t)t * j->hw;
        for (int p = 0; p < j->hw; p++) sum += x[p];
    }
    double mean = sum / cnt;
    for (int c = g * cpg; c < (g + 1) * cpg; c++) {
        const float *x = j->in + c * plane + (size_t)t * j->hw;
        for (int p = 0; p < j->hw; p++) {
            double dv = x[p] - mean;
            sq += dv * dv;
        }
    }
    double rstd = 1.0 / sqrt(sq / cnt + (double)j->n->eps);
    for (int c = g * cpg; c < (g + 1) * cpg; c++) {
        const float *x = j->in + c * plane + (size_t)t * j->hw;
        float *y = j->out + c * plane + (size_t)t * j->hw;
        float a = (float)(rstd * j->n->gamma[c]);
        float b = (float)(j->n->beta[c] - mean * rstd * j->n->gamma[c]);
        if (j->silu)
            for (int p = 0; p < j->hw; p++) y[p] = silu_f(x[p] * a + b);
        else
            for (int p = 0; p < j->hw; p++) y[p] = x[p] * a + b;
    }
}

static void gn_range(void *user, long b, long e, int worker)
{
    const gn_job *j = user;
    for (long i = b; i < e; i++) gn_item(j, (int)(i / j->n->groups), (int)(i % j->n->groups));
}

void tsr_cpu_group_norm_run(tsr_cpu_backend *be, const cpu_norm *n, const float *in, int c, int t, int hw, int silu,
                            float *out)
{
    gn_job j = {n, in, out, c, t, hw, silu};
    tsr_parallel_for(be->pool, (long)t * n->groups, 1, gn_range, &j);
}

/* ------------------------------------------------------------------ attention */

#define QB 16   /* queries per block */
#define KB 256  /* keys per score tile */

typedef struct attn_job {
    const float *q, *k, *vt; /* q, k: [C][N]; vt: [N][C] */
    float *o;                /* [C][N] */
    float *work;             /* per worker: QB*N scores + QB*C outputs */
    int c, n;
    float scale;
} attn_job;

static void softmax_rows(float *s, int rows, int n)
{
    for (int r = 0; r < rows; r++) {
        float *row = s + (size_t)r * n, mx = row[0];
        for (int j = 1; j < n; j++) mx = row[j] > mx ? row[j] : mx;
        double sum = 0.0;
        for (int j = 0; j < n; j++) {
            row[j] = expf(row[j] - mx);
            sum += row[j];
        }
        float inv = (float)(1.0 / sum);
        for (int j = 0; j < n; j++) row[j] *= inv;
    }
}

static void attn_block(const attn_job *a, int i0, int worker)
{
    int n = a->n, C = a->c, rows = TSR_MIN(QB, n - i0);
    float *s = a->work + (size_t)worker * ((size_t)QB * n + (size_t)QB * C), *o = s + (size_t)QB * n;
    memset(s, 0, (size_t)rows * n * sizeof(float));
    /* keys in blocks so the rows x KB score tile being accumulated stays in L1 over all channels */
    for (int j0 = 0; j0 < n; j0 += KB) {
        int jn = TSR_MIN(KB, n - j0);
        for (int c = 0; c < C; c++) {
            const float *kr = a->k + (size_t)c * n + j0;
            for (int r = 0; r < rows; r++) {
                float qv = a->q[(size_t)c * n + i0 + r] * a->scale;
                float *sr = s + (size_t)r * n + j0;
                for (int j = 0; j < jn; j++) sr[j] += qv * kr[j];
            }
        }
    }
    softmax_rows(s, rows, n);
    memset(o, 0, (size_t)rows * C * sizeof(float));
    for (int j = 0; j < n; j++) {
        const float *vr = a->vt + (size_t)j * C;
        for (int r = 0; r < rows; r++) {
            float p = s[(size_t)r * n + j];
            float *orow = o + (size_t)r * C;
            for (int c = 0; c < C; c++) orow[c] += p * vr[c];
        }
    }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < C; c++) a->o[(size_t)c * n + i0 + r] = o[(size_t)r * C + c];
}

static void attn_range(void *user, long b, long e, int worker)
{
    for (long i = b; i < e; i++) attn_block(user, (int)i * QB, worker);
}

/* 1x1 conv (a linear over tokens) of one [C][N] frame. */
static tsr_status linear(tsr_cpu_backend *be, const cpu_conv *l, const float *x, int n, float *y,
                         const float *residual, tsr_error *err)
{
    const float *base[1] = {x};
    size_t cs[1] = {(size_t)n};
    cpu_frames f = {1, base, cs};
    return tsr_cpu_conv_run(be, l, &f, 1, n, y, 1, 1, n, residual, err);
}

static tsr_status attn_frame(tsr_cpu_backend *be, const cpu_attn *at, float *x, float *bufs[5], int n,
                             float *work, tsr_error *err)
{
    int C = at->channels;
    float *u = bufs[0], *q = bufs[1], *k = bufs[2], *v = bufs[3], *vt = bufs[4];
    tsr_cpu_group_norm_run(be, &at->norm, x, C, 1, n, 0, u);
    tsr_status st = linear(be, &at->q, u, n, q, NULL, err);
    if (st == TSR_OK) st = linear(be, &at->k, u, n, k, NULL, err);
    if (st == TSR_OK) st = linear(be, &at->v, u, n, v, NULL, err);
    if (st != TSR_OK) return st;
    for (int c = 0; c < C; c++)
        for (int j = 0; j < n; j++) vt[(size_t)j * C + c] = v[(size_t)c * n + j];
    attn_job a = {q, k, vt, u, work, C, n, (float)(1.0 / sqrt((double)C))};
    tsr_parallel_for(be->pool, (n + QB - 1) / QB, 1, attn_range, &a);
    /* u now holds the attention output; project and add the residual (the frame itself) */
    return linear(be, &at->o, u, n, q, x, err);
}

tsr_status tsr_cpu_attention_run(tsr_cpu_backend *be, const cpu_attn *at, const float *in, int t, int h, int w,
                                 float *out, tsr_error *err)
{
    int C = at->channels, n = h * w;
    size_t fr = (size_t)C * n, plane = (size_t)t * n;
    size_t work_n = (size_t)be->threads * ((size_t)QB * n + (size_t)QB * C);
    float *mem = tsr_malloc((6 * fr + work_n) * sizeof(float), err);
    if (!mem) return TSR_ERR_NOMEM;
    float *x = mem, *bufs[5] = {mem + fr, mem + 2 * fr, mem + 3 * fr, mem + 4 * fr, mem + 5 * fr};
    tsr_status st = TSR_OK;
    for (int f = 0; f < t && st == TSR_OK; f++) {
        for (int c = 0; c < C; c++) memcpy(x + (size_t)c * n, in + c * plane + (size_t)f * n, n * sizeof(float));
        st = attn_frame(be, at, x, bufs, n, mem + 6 * fr, err);
        for (int c = 0; c < C && st == TSR_OK; c++)
            memcpy(out + c * plane + (size_t)f * n, bufs[1] + (size_t)c * n, n * sizeof(float));
    }
    free(mem);
    return st;
}
