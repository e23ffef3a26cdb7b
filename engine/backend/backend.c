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

tsr_status tsr_backend_check_copy_region(const tsr_act *src, int sf, int sy, int sx, const tsr_act *dst, int df, int dy,
                                         int dx, int t, int h, int w, tsr_error *err)
{
    if (!src || !dst || !src->buf || !dst->buf)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "act_copy_region: no source or destination");
    if (src->c != dst->c)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "act_copy_region: %d channels into %d", src->c, dst->c);
    if (t < 1 || h < 1 || w < 1 || sf < 0 || sy < 0 || sx < 0 || df < 0 || dy < 0 || dx < 0 || sf + t > src->t ||
        sy + h > src->h || sx + w > src->w || df + t > dst->t || dy + h > dst->h || dx + w > dst->w)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "act_copy_region: box %dx%dx%d does not fit the tensors", t, h, w);
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

tsr_status tsr_backend_check_shuffle(const tsr_conv_desc *d, tsr_error *err)
{
    int r = d->shuffle_rt;
    if (r < 1 || r > 2 || d->kh != 2 || d->kw != 2 || d->st != 1 || d->sh != 1 || d->sw != 1 || d->pad_top != 1 ||
        d->pad_bottom != 1 || d->pad_left != 1 || d->pad_right != 1 || d->cout % (4 * r))
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "conv %s: not a shuffle conv (rt %d, %dx%d kernel, %d outputs)",
                        d->name ? d->name : "?", r, d->kh, d->kw, d->cout);
    return TSR_OK;
}
