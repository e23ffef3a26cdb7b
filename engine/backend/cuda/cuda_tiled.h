/* The CUDA implementation of backend.h's tiled GroupNorm statistics ops (cuda_tiled.c, kernels/gn_tiles.cu). */
#ifndef TSR_CUDA_TILED_H
#define TSR_CUDA_TILED_H
#include "backend/backend.h"

tsr_status tsr_cuda_gn_stats_create(tsr_backend *be, int t, int channels, int groups, tsr_gnstats **out,
                                    tsr_error *err);
void tsr_cuda_gn_stats_reset(tsr_backend *be, tsr_gnstats *s);
void tsr_cuda_gn_stats_free(tsr_backend *be, tsr_gnstats *s);
tsr_status tsr_cuda_gn_stats_accum(tsr_backend *be, const tsr_act *in, int f0, int y0, int x0, int y1, int x1,
                                   tsr_gnstats *s, tsr_error *err);
tsr_status tsr_cuda_gn_stats_apply(tsr_backend *be, const tsr_wt *norm, const tsr_act *in, const tsr_gnstats *s,
                                   int silu, tsr_act *out, tsr_error *err);
tsr_status tsr_cuda_act_copy_region(tsr_backend *be, const tsr_act *src, int sf, int sy, int sx, tsr_act *dst, int df,
                                    int dy, int dx, int t, int h, int w, tsr_error *err);
#endif
