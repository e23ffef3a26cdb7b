/* Argument checks shared by the backends' implementations of the op table (backend.h). */
#include "backend/backend.h"
#include "core/common.h"

tsr_status tsr_backend_check_gn_region(const tsr_act *in, int channels, int t, int f0, int y0, int x0, int y1, int x1,
                                       tsr_error *err)
{
    if (!in || !in->buf) return tsr_fail(err, TSR_ERR_INVALID_ARG, "gn_stats_accum: no input or statistics");
    if (in->c != channels || f0 < 0 || f0 + t > in->t)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "gn_stats_accum: input %dx%d (channels x frames) from frame %d does "
                        "not hold %dx%d", in->c, in->t, f0, channels, t);
    if (y0 < 0 || x0 < 0 || y1 > in->h || x1 > in->w || y0 >= y1 || x0 >= x1)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "gn_stats_accum: region [%d,%d)x[%d,%d) outside %dx%d", y0, y1, x0,
                        x1, in->h, in->w);
    return TSR_OK;
}

tsr_status tsr_backend_check_state(const tsr_conv_desc *d, int h, int w, const char *op, tsr_error *err)
{
    if (!d) return tsr_fail(err, TSR_ERR_INVALID_ARG, "%s: no conv", op);
    if (d->kt <= 1 || d->kt <= d->st || !d->causal || h <= 0 || w <= 0)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "%s: conv %s (kt %d, stride %d, %s) over %dx%d keeps no causal frames",
                        op, d->name ? d->name : "?", d->kt, d->st, d->causal ? "causal" : "not causal", h, w);
    return TSR_OK;
}
