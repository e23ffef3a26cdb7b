/* GroupNorm over a frame processed in spatial tiles (backend.h gn_stats_*) on the device: the sums of each
 * tile's core accumulate in a double [t][groups][3] buffer in the arena (kernels/gn_tiles.cu), so the tiled
 * decode never moves a frame to the host for its statistics. */
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "backend/cuda/cuda_tiled.h"
#include "core/common.h"

#define GNT_MAX_GROUPS 64 /* kernels/gn_tiles.cu */

struct tsr_gnstats {
    int t, channels, groups;
    CUdeviceptr acc;            /* double [t][groups][3]: count, sum, sum of squares */
};

static tsr_status launch(tsr_cuda *cu, const char *name, unsigned gx, unsigned gy, unsigned block, void **args,
                         tsr_error *err)
{
    CUfunction f = tsr_cuda_find_kernel(cu, "gn_tiles", name);
    if (!f) return tsr_fail(err, TSR_ERR_BACKEND, "kernel %s missing from the fatbin", name);
    return tsr_cuda_check(cu, cu->api.cuLaunchKernel(f, gx, gy, 1, block, 1, 1, 0, cu->stream, args, NULL), err, name);
}

tsr_status tsr_cuda_gn_stats_create(tsr_backend *be, int t, int channels, int groups, tsr_gnstats **out,
                                    tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    *out = NULL;
    if (t < 1 || groups < 1 || groups > GNT_MAX_GROUPS || channels < groups || channels % groups)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "gn_stats: %d frames, %d channels in %d groups is unsupported", t,
                        channels, groups);
    tsr_gnstats *s = tsr_calloc(1, sizeof *s, err);
    if (!s) return TSR_ERR_NOMEM;
    *s = (tsr_gnstats){t, channels, groups, 0};
    tsr_status st = tsr_cuda_arena_alloc(cu, (uint64_t)t * groups * 3 * sizeof(double), &s->acc, err);
    if (!st) st = tsr_cuda_check(cu, cu->api.cuMemsetD8Async(s->acc, 0, (size_t)t * groups * 3 * sizeof(double),
                                                             cu->stream), err, "gn_stats reset");
    if (st) {
        tsr_cuda_arena_free(cu, s->acc);
        free(s);
        return st;
    }
    *out = s;
    return TSR_OK;
}

void tsr_cuda_gn_stats_reset(tsr_backend *be, tsr_gnstats *s)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    if (s) cu->api.cuMemsetD8Async(s->acc, 0, (size_t)s->t * s->groups * 3 * sizeof(double), cu->stream);
}

void tsr_cuda_gn_stats_free(tsr_backend *be, tsr_gnstats *s)
{
    if (!s) return;
    tsr_cuda_arena_free((tsr_cuda *)be, s->acc); /* stream-ordered reuse: later work queues after the kernels */
    free(s);
}

tsr_status tsr_cuda_gn_stats_accum(tsr_backend *be, const tsr_act *in, int f0, int y0, int x0, int y1, int x1,
                                   tsr_gnstats *s, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    if (!s) return tsr_fail(err, TSR_ERR_INVALID_ARG, "gn_stats_accum: no input or statistics");
    tsr_status st = tsr_backend_check_gn_region(in, s->channels, s->t, f0, y0, x0, y1, x1, err);
    if (st != TSR_OK) return st;
    int cp = in->buf->cp, c = in->c, h = in->h, w = in->w, groups = s->groups;
    if (cp / 8 > 256) return tsr_fail(err, TSR_ERR_UNSUPPORTED, "gn_stats_accum over %d channels", c);
    long long npix = (long long)(y1 - y0) * (x1 - x0), lanes = 256 / (cp / 8);
    long long splits = (npix + lanes * 64 - 1) / (lanes * 64); /* ~64 pixels per thread */
    splits = TSR_MAX(1, TSR_MIN(splits, 2048));
    void *a[] = {&in->buf->p, &h, &w, &cp, &c, &groups, &f0, &y0, &x0, &y1, &x1, &s->acc};
    return launch(cu, "tsr_gnt_accum", (unsigned)splits, (unsigned)s->t, 256, a, err);
}

tsr_status tsr_cuda_gn_stats_apply(tsr_backend *be, const tsr_wt *norm, const tsr_act *in, const tsr_gnstats *s,
                                   int silu, tsr_act *out, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    if (!norm || norm->kind != WT_NORM || !s || !in || !in->buf)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "gn_stats_apply: norm, input and statistics are required");
    if (norm->channels != in->c || in->c != s->channels || in->t != s->t || norm->groups != s->groups)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "gn_stats_apply: norm (%d channels, %d groups), input (%dx%d) and "
                        "statistics (%dx%d) do not match", norm->channels, norm->groups, in->c, in->t, s->channels, s->t);
    tsr_status st = tsr_cuda_act_ensure(cu, out, in->c, in->t, in->h, in->w, err);
    if (st) return st;
    int c = in->c, cp = in->buf->cp, groups = s->groups, t = in->t;
    float eps = norm->eps;
    CUdeviceptr aff = 0;
    st = tsr_cuda_arena_alloc(cu, (uint64_t)t * cp * 8, &aff, err);
    if (!st) {
        void *a[] = {(void *)&s->acc, &c, &cp, &groups, &eps, (void *)&norm->gamma, (void *)&norm->beta, &aff};
        st = launch(cu, "tsr_gnt_affine", (unsigned)t, 1, 256, a, err);
    }
    if (!st) {
        long long hw = (long long)in->h * in->w, nvec = (long long)t * hw * cp / 8;
        long long blocks = TSR_MAX(1, TSR_MIN((nvec + 255) / 256, 65535));
        void *a[] = {&in->buf->p, &aff, &hw, &cp, &t, &silu, &out->buf->p};
        st = launch(cu, "tsr_gnt_apply", (unsigned)blocks, 1, 256, a, err);
    }
    tsr_cuda_arena_free(cu, aff);
    return st;
}

tsr_status tsr_cuda_act_copy_region(tsr_backend *be, const tsr_act *src, int sf, int sy, int sx, tsr_act *dst, int df,
                                    int dy, int dx, int t, int h, int w, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    tsr_status st = tsr_backend_check_copy_region(src, sf, sy, sx, dst, df, dy, dx, t, h, w, err);
    if (st != TSR_OK) return st;
    if (src->buf->cp != dst->buf->cp)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "act_copy_region: padded channels %d into %d", src->buf->cp,
                        dst->buf->cp);
    int cp = src->buf->cp, sh = src->h, sw = src->w, dh = dst->h, dw = dst->w;
    if (sy == 0 && sx == 0 && dy == 0 && dx == 0 && h == sh && h == dh && w == sw && w == dw) {
        /* whole frames: NDHWC keeps a frame range contiguous, one device copy on the stream */
        uint64_t fbytes = (uint64_t)h * w * cp * 2;
        return tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(dst->buf->p + (uint64_t)df * fbytes,
                                                             src->buf->p + (uint64_t)sf * fbytes, (uint64_t)t * fbytes,
                                                             cu->stream),
                              err, "act_copy_region");
    }
    void *a[] = {&src->buf->p, &sf, &sy, &sx, &sh, &sw, &dst->buf->p, &df, &dy, &dx, &dh, &dw, &h, &w, &cp};
    return launch(cu, "tsr_copy_region", (unsigned)h, (unsigned)t, 256, a, err);
}
