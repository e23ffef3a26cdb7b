/* GroupNorm statistics gathered tile by tile (backend.h "GroupNorm over a frame processed in spatial
 * tiles"): the fp32 reference. Sums in double per (frame, group), so accumulating a frame's tiles in any
 * order gives its whole-frame statistics up to double rounding. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"
#include "core/common.h"

struct tsr_gnstats {
    int t, channels, groups;
    double *acc;               /* [t][groups][3]: count, sum, sum of squares */
};

tsr_status tsr_cpu_gn_stats_create(tsr_backend *be, int t, int channels, int groups, tsr_gnstats **out, tsr_error *err)
{
    (void)be;
    *out = NULL;
    if (t < 1 || groups < 1 || channels < groups || channels % groups)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "gn_stats: %d frames, %d channels in %d groups is invalid", t,
                        channels, groups);
    tsr_gnstats *s = tsr_calloc(1, sizeof *s, err);
    if (!s) return TSR_ERR_NOMEM;
    s->acc = tsr_calloc((size_t)t * groups * 3, sizeof(double), err);
    if (!s->acc) {
        free(s);
        return TSR_ERR_NOMEM;
    }
    s->t = t, s->channels = channels, s->groups = groups;
    *out = s;
    return TSR_OK;
}

void tsr_cpu_gn_stats_reset(tsr_backend *be, tsr_gnstats *s)
{
    (void)be;
    if (s) memset(s->acc, 0, (size_t)s->t * s->groups * 3 * sizeof(double));
}

void tsr_cpu_gn_stats_free(tsr_backend *be, tsr_gnstats *s)
{
    (void)be;
    if (!s) return;
    free(s->acc);
    free(s);
}

typedef struct acc_job {
    const float *x;
    int c, t, h, w, groups, f0, y0, x0, y1, x1;
    double *acc;
} acc_job;

static void acc_range(void *user, long b, long e, int worker)
{
    (void)worker;
    const acc_job *j = user;
    int cpg = j->c / j->groups;
    for (long i = b; i < e; i++) {
        int f = (int)(i / j->groups), g = (int)(i % j->groups);
        double sum = 0, sq = 0;
        for (int ch = g * cpg; ch < (g + 1) * cpg; ch++)
            for (int y = j->y0; y < j->y1; y++) {
                const float *row = j->x + (((size_t)ch * j->t + j->f0 + f) * j->h + y) * j->w;
                for (int x = j->x0; x < j->x1; x++) {
                    sum += row[x];
                    sq += (double)row[x] * row[x];
                }
            }
        double *a = j->acc + ((size_t)f * j->groups + g) * 3;
        a[0] += (double)cpg * (j->y1 - j->y0) * (j->x1 - j->x0);
        a[1] += sum;
        a[2] += sq;
    }
}

tsr_status tsr_cpu_gn_stats_accum(tsr_backend *be, const tsr_act *in, int f0, int y0, int x0, int y1, int x1, tsr_gnstats *s,
                                  tsr_error *err)
{
    if (!s) return tsr_fail(err, TSR_ERR_INVALID_ARG, "gn_stats_accum: no input or statistics");
    tsr_status st = tsr_backend_check_gn_region(in, s->channels, s->t, f0, y0, x0, y1, x1, err);
    if (st != TSR_OK) return st;
    acc_job j = {in->buf->data, in->c, in->t, in->h, in->w, s->groups, f0, y0, x0, y1, x1, s->acc};
    tsr_parallel_for(((tsr_cpu_backend *)be)->pool, (long)s->t * s->groups, 1, acc_range, &j);
    return TSR_OK;
}

typedef struct apply_job {
    const float *x;
    float *y;
    int c, t, groups, silu;
    size_t hw;
    const double *acc;
    const cpu_norm *n;
} apply_job;

static void apply_range(void *user, long b, long e, int worker)
{
    (void)worker;
    const apply_job *j = user;
    int cpg = j->c / j->groups;
    for (long ch = b; ch < e; ch++)
        for (int f = 0; f < j->t; f++) {
            const double *a = j->acc + ((size_t)f * j->groups + ch / cpg) * 3;
            double mean = a[1] / a[0], var = a[2] / a[0] - mean * mean;
            double rstd = 1.0 / sqrt((var > 0 ? var : 0) + j->n->eps);
            float sc = (float)(rstd * j->n->gamma[ch]), sh = (float)(j->n->beta[ch] - mean * rstd * j->n->gamma[ch]);
            const float *x = j->x + ((size_t)ch * j->t + f) * j->hw;
            float *y = j->y + ((size_t)ch * j->t + f) * j->hw;
            for (size_t p = 0; p < j->hw; p++) {
                float v = x[p] * sc + sh;
                y[p] = j->silu ? v / (1.0f + expf(-v)) : v;
            }
        }
}

tsr_status tsr_cpu_gn_stats_apply(tsr_backend *be, const tsr_wt *norm, const tsr_act *in, const tsr_gnstats *s,
                                  int silu, tsr_act *out, tsr_error *err)
{
    if (!norm || norm->kind != CPU_WT_NORM || !s || !in || !in->buf)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "gn_stats_apply: norm, input and statistics are required");
    const cpu_norm *n = &norm->u.norm;
    if (n->channels != in->c || in->c != s->channels || in->t != s->t || n->groups != s->groups)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "gn_stats_apply: norm (%d channels, %d groups), input (%dx%d) and "
                        "statistics (%dx%d) do not match", n->channels, n->groups, in->c, in->t, s->channels, s->t);
    for (int i = 0; i < s->t * s->groups; i++)
        if (!(s->acc[(size_t)i * 3] > 0))
            return tsr_fail(err, TSR_ERR_INVALID_ARG, "gn_stats_apply: no statistics gathered for frame %d group %d",
                            i / s->groups, i % s->groups);
    tsr_status st = tsr_cpu_ensure_out(be, out, in->c, in->t, in->h, in->w, "gn_stats_apply", err);
    if (st != TSR_OK) return st;
    apply_job j = {in->buf->data, out->buf->data, in->c, in->t, s->groups, silu, (size_t)in->h * in->w, s->acc, n};
    tsr_parallel_for(((tsr_cpu_backend *)be)->pool, in->c, 1, apply_range, &j);
    return TSR_OK;
}

tsr_status tsr_cpu_act_copy_region(tsr_backend *be, const tsr_act *src, int sf, int sy, int sx, tsr_act *dst, int df,
                                   int dy, int dx, int t, int h, int w, tsr_error *err)
{
    (void)be;
    tsr_status st = tsr_backend_check_copy_region(src, sf, sy, sx, dst, df, dy, dx, t, h, w, err);
    if (st != TSR_OK) return st;
    for (int c = 0; c < src->c; c++)
        for (int f = 0; f < t; f++)
            for (int y = 0; y < h; y++)
                memcpy(dst->buf->data + (((size_t)c * dst->t + df + f) * dst->h + dy + y) * dst->w + dx,
                       src->buf->data + (((size_t)c * src->t + sf + f) * src->h + sy + y) * src->w + sx,
                       (size_t)w * sizeof(float));
    return TSR_OK;
}
