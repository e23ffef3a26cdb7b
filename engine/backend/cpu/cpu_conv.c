/* The CPU convolution: implicit GEMM. Per work item (output frame, pixel tile, output-channel group) the
 * input patch of a block of input channels is gathered (im2col) into a per-worker panel laid out for the
 * micro-kernel, then out[cout][pixels] += W[cout][K] * P[K][pixels] with an MR x NR register block.
 * Weights keep PyTorch's K order (cin, kt, kh, kw) and are packed in MR-row panels at upload. */
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_internal.h"
#include "core/common.h"

#define MR TSR_CPU_MR
#define NR TSR_CPU_NR
#define PANEL_FLOATS (64 * 1024)   /* target im2col panel size: 256 KiB, about an L2 */

tsr_status tsr_cpu_conv_pack(const tsr_conv_desc *d, const float *weight, const float *bias, cpu_conv *out,
                             tsr_error *err)
{
    memset(out, 0, sizeof *out);
    out->d = *d;
    out->d.name = NULL; /* the caller's string may not outlive the upload */
    size_t k = (size_t)d->cin * d->kt * d->kh * d->kw;
    out->mpanels = (d->cout + MR - 1) / MR;
    out->packed = tsr_calloc((size_t)out->mpanels * k * MR, sizeof(float), err);
    out->bias = tsr_calloc((size_t)d->cout, sizeof(float), err);
    if (!out->packed || !out->bias) {
        tsr_cpu_conv_free(out);
        return TSR_ERR_NOMEM;
    }
    for (int co = 0; co < d->cout; co++) {
        float *dst = out->packed + (size_t)(co / MR) * k * MR + co % MR;
        const float *src = weight + (size_t)co * k;
        for (size_t i = 0; i < k; i++) dst[i * MR] = src[i];
        out->bias[co] = bias ? bias[co] : 0.0f;
    }
    if (d->shuffle_rt > 0) { /* the edge table after the bias (backend.h conv3d) */
        size_t ne = (size_t)16 * (d->cout / 4);
        out->edge = tsr_calloc(ne, sizeof(float), err);
        if (!out->edge) {
            tsr_cpu_conv_free(out);
            return TSR_ERR_NOMEM;
        }
        if (bias) memcpy(out->edge, bias + d->cout, ne * sizeof(float));
    }
    return TSR_OK;
}

void tsr_cpu_conv_free(cpu_conv *c)
{
    free(c->edge);
    free(c->packed);
    free(c->bias);
    c->packed = c->bias = c->edge = NULL;
}

#if defined(__GNUC__) && MR == 6 && NR == 16
typedef float v8f __attribute__((vector_size(32), aligned(4)));
#endif

/* One micro-kernel per ISA, all from cpu_kernel.inc; tsr_cpu_kernel_select picks one at backend creation
 * (cpuid through __builtin_cpu_supports: no ifunc, so it works in Windows PE executables as well). */
#define TSR_KNAME micro_kernel_base
#define TSR_KATTR
#include "backend/cpu/cpu_kernel.inc"

#if defined(__GNUC__) && defined(__x86_64__)
#define TSR_CPU_X86_DISPATCH 1
#define TSR_KNAME micro_kernel_avx2
#define TSR_KATTR __attribute__((target("avx2,fma")))
#include "backend/cpu/cpu_kernel.inc"
#define TSR_KNAME micro_kernel_avx512
#define TSR_KATTR __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))
#include "backend/cpu/cpu_kernel.inc"
#endif

tsr_cpu_kernel_fn tsr_cpu_kernel_select(const char **isa)
{
    const char *name = "baseline";
    tsr_cpu_kernel_fn fn = micro_kernel_base;
#ifdef TSR_CPU_X86_DISPATCH
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
        __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        name = "avx512", fn = micro_kernel_avx512;
    else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        name = "avx2", fn = micro_kernel_avx2;
#endif
    if (isa) *isa = name;
    return fn;
}

typedef struct conv_job {
    tsr_cpu_backend *be;
    const cpu_conv *cv;
    const cpu_frames *in;
    int h, w, tout, ho, wo;
    float *out;
    const float *residual;
    int tile, ntiles, mgroups, cchunk;
} conv_job;

/* For each spatial tap s and tile pixel j: the input offset in a frame plane, or -1 for zero padding.
 * run[s][b] = 1 when the NR offsets of block b are valid and consecutive (a plain copy in im2col). */
static void tile_offsets(const conv_job *jb, int p0, int n, int *off, int *run)
{
    const tsr_conv_desc *d = &jb->cv->d;
    int nb = (n + NR - 1) / NR;
    for (int dy = 0; dy < d->kh; dy++)
        for (int dx = 0; dx < d->kw; dx++) {
            int s = dy * d->kw + dx, *o = off + (size_t)s * jb->tile;
            for (int j = 0; j < n; j++) {
                int yo = (p0 + j) / jb->wo, xo = (p0 + j) % jb->wo;
                int iy = yo * d->sh - d->pad_top + dy, ix = xo * d->sw - d->pad_left + dx;
                o[j] = (iy >= 0 && iy < jb->h && ix >= 0 && ix < jb->w) ? iy * jb->w + ix : -1;
            }
            for (int b = 0; b < nb; b++) {
                int ok = (b + 1) * NR <= n && o[b * NR] >= 0;
                for (int jj = 1; ok && jj < NR; jj++) ok = o[b * NR + jj] == o[b * NR] + jj;
                run[s * nb + b] = ok;
            }
        }
}

/* Gather input channels [c0, c1) of output frame `to` into panel [n/NR][kc][NR]. */
static void im2col(const conv_job *jb, int to, int c0, int c1, const int *off, const int *run, int n, float *panel)
{
    const tsr_conv_desc *d = &jb->cv->d;
    int khw = d->kh * d->kw, kc = (c1 - c0) * d->kt * khw, nb = (n + NR - 1) / NR;
    for (int ci = c0; ci < c1; ci++)
        for (int dt = 0; dt < d->kt; dt++) {
            int f = to * d->st + dt;
            const float *plane = jb->in->base[f] + (size_t)ci * jb->in->cstride[f];
            for (int s = 0; s < khw; s++) {
                int k = ((ci - c0) * d->kt + dt) * khw + s;
                const int *o = off + (size_t)s * jb->tile;
                for (int b = 0; b < nb; b++) {
                    float *dst = panel + ((size_t)b * kc + k) * NR;
                    if (run[s * nb + b]) { /* interior: a contiguous row segment */
                        memcpy(dst, plane + o[b * NR], NR * sizeof(float));
                        continue;
                    }
                    for (int jj = 0; jj < NR; jj++) {
                        int j = b * NR + jj;
                        dst[jj] = (j < n && o[j] >= 0) ? plane[o[j]] : 0.0f;
                    }
                }
            }
        }
}

static void conv_item(conv_job *jb, long item, int worker)
{
    const cpu_conv *cv = jb->cv;
    const tsr_conv_desc *d = &cv->d;
    int mg = (int)(item % jb->mgroups), tt = (int)(item / jb->mgroups % jb->ntiles);
    int to = (int)(item / jb->mgroups / jb->ntiles);
    int hwo = jb->ho * jb->wo, p0 = tt * jb->tile, n = TSR_MIN(jb->tile, hwo - p0);
    int per = (cv->mpanels + jb->mgroups - 1) / jb->mgroups;
    int mp0 = mg * per, mp1 = TSR_MIN(cv->mpanels, mp0 + per);
    if (mp0 >= mp1) return;
    int taps = d->kt * d->kh * d->kw;
    size_t K = (size_t)d->cin * taps, plane_out = (size_t)jb->tout * hwo;
    float *panel = jb->be->scratch[worker];
    int *off = (int *)(panel + (size_t)jb->cchunk * taps * ((jb->tile + NR - 1) / NR * NR));
    int *run = off + (size_t)d->kh * d->kw * jb->tile;
    tile_offsets(jb, p0, n, off, run);
    tsr_cpu_kernel_fn kernel = jb->be->kernel;
    float *obase = jb->out + (size_t)to * hwo + p0;
    for (int co = mp0 * MR; co < TSR_MIN(d->cout, mp1 * MR); co++)
        for (int j = 0; j < n; j++) obase[co * plane_out + j] = cv->bias[co];
    for (int c0 = 0; c0 < d->cin; c0 += jb->cchunk) {
        int c1 = TSR_MIN(d->cin, c0 + jb->cchunk), kc = (c1 - c0) * taps;
        im2col(jb, to, c0, c1, off, run, n, panel);
        for (int mp = mp0; mp < mp1; mp++) {
            const float *a = cv->packed + ((size_t)mp * K + (size_t)c0 * taps) * MR;
            int mr = TSR_MIN(MR, d->cout - mp * MR);
            for (int b = 0; b * NR < n; b++)
                kernel(kc, a, panel + (size_t)b * kc * NR, obase + (size_t)mp * MR * plane_out + b * NR,
                             plane_out, mr, TSR_MIN(NR, n - b * NR));
        }
    }
    if (jb->residual)
        for (int co = mp0 * MR; co < TSR_MIN(d->cout, mp1 * MR); co++) {
            const float *r = jb->residual + co * plane_out + (size_t)to * hwo + p0;
            for (int j = 0; j < n; j++) obase[co * plane_out + j] += r[j];
        }
}

static void conv_range(void *user, long b, long e, int worker)
{
    for (long i = b; i < e; i++) conv_item(user, i, worker);
}

static tsr_status ensure_scratch(tsr_cpu_backend *be, size_t floats, tsr_error *err)
{
    for (int i = 0; i < be->threads; i++) {
        if (be->scratch_len[i] >= floats) continue;
        free(be->scratch[i]);
        be->scratch[i] = tsr_malloc(floats * sizeof(float), err);
        be->scratch_len[i] = be->scratch[i] ? floats : 0;
        if (!be->scratch[i]) return TSR_ERR_NOMEM;
    }
    return TSR_OK;
}

tsr_status tsr_cpu_conv_run(tsr_cpu_backend *be, const cpu_conv *c, const cpu_frames *in, int h, int w,
                            float *out, int tout, int ho, int wo, const float *residual, tsr_error *err)
{
    const tsr_conv_desc *d = &c->d;
    conv_job jb = {be, c, in, h, w, tout, ho, wo, out, residual, 0, 0, 1, 1};
    int hwo = ho * wo, taps = d->kt * d->kh * d->kw;
    if (tout <= 0 || hwo <= 0) return TSR_OK;
    jb.tile = hwo < 128 ? (hwo + NR - 1) / NR * NR : 128;
    jb.ntiles = (hwo + jb.tile - 1) / jb.tile;
    jb.cchunk = TSR_MAX(1, TSR_MIN(d->cin, PANEL_FLOATS / (taps * jb.tile)));
    long items = (long)tout * jb.ntiles;
    if (items < 4L * be->threads) /* small frames: also split output channels across workers */
        jb.mgroups = (int)TSR_MIN((long)c->mpanels, (4L * be->threads + items - 1) / items);
    size_t need = (size_t)jb.cchunk * taps * jb.tile + (size_t)d->kh * d->kw * (jb.tile + jb.tile / NR + 1) + 64;
    tsr_status st = ensure_scratch(be, need, err);
    if (st != TSR_OK) return st;
    tsr_parallel_for(be->pool, items * jb.mgroups, 1, conv_range, &jb);
    return TSR_OK;
}
