/* CUDA ops of the table: conv3d (causal state in place, fused GroupNorm prologue), GroupNorm, attention,
 * depth-to-space, add. Everything is queued on the backend's one stream; scratch comes from the arena. */
#include <math.h>
#include <string.h>

#include "backend/cuda/cuda_internal.h"
#include "core/common.h"

static unsigned grid_for(long long n, unsigned block, unsigned cap)
{
    long long g = (n + block - 1) / block;
    if (g < 1) g = 1;
    return g > cap ? cap : (unsigned)g;
}

/* GroupNorm statistics: blocks of 256 threads over (pixel slice, frame), per-channel partials {n, mean, M2} merged
 * in a fixed order (deterministic), then per group. */
#define GN_BATCH 4
tsr_status tsr_cuda_gn_affine(tsr_cuda *cu, const tsr_wt *norm, const tsr_act *in, CUdeviceptr *affine,
                              tsr_error *err)
{
    if (!norm || (norm->kind != WT_NORM && norm->kind != WT_ATTN) || norm->channels != in->c)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "group norm of %d channels on a %d-channel input",
                        norm ? norm->channels : 0, in->c);
    int cp = in->buf->cp, hw = in->h * in->w, groups = norm->groups, c = in->c, t = in->t;
    int vecs = cp / 8;
    if (groups < 1 || groups > 512 || c % groups)
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "group norm of %d channels in %d groups", c, groups);
    if (vecs > 256) return tsr_fail(err, TSR_ERR_UNSUPPORTED, "group norm over %d channels", c);
    if ((long long)hw * vecs > 0x7fffffffLL)
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "group norm over a %dx%d frame", in->h, in->w);
    /* The slices depend on the frame only (never on the number of frames), so a chunked run sums in the same
     * order as the whole clip and gives bit-identical statistics; up to 256 slices per frame. */
    int ppi = 256 / vecs;
    int per = TSR_MAX((hw + 255) / 256, ppi * GN_BATCH * 2);
    int splits = (hw + per - 1) / per;
    /* finalize: 32-channel slices when groups do not straddle them, else one block per frame */
    int cg = c / groups, width = 32 % cg == 0 ? 32 : cp, slices = (cp + width - 1) / width;
    CUdeviceptr partial = 0;
    tsr_status st = tsr_cuda_arena_alloc(cu, (uint64_t)t * splits * cp * 16, &partial, err);
    if (!st) st = tsr_cuda_arena_alloc(cu, (uint64_t)t * cp * 8, affine, err);
    if (!st) {
        void *a1[] = {&in->buf->p, &hw, &cp, &per, &partial};
        st = tsr_cuda_launch(cu, K_GN_STATS, (unsigned)splits, (unsigned)t, 1, 256, a1, err);
    }
    if (!st) {
        float eps = norm->eps;
        void *a2[] = {&partial, &splits, &groups, &c, &cp, &hw, &width, &eps, (void *)&norm->gamma, (void *)&norm->beta,
                      affine};
        st = tsr_cuda_launch(cu, K_GN_FINALIZE, (unsigned)slices, (unsigned)t, 1, 256, a2, err);
    }
    tsr_cuda_arena_free(cu, partial);
    if (st && *affine) {
        tsr_cuda_arena_free(cu, *affine);
        *affine = 0;
    }
    return st;
}

static int gcd_int(int a, int b) { return b ? gcd_int(b, a % b) : a; }

/* y = x*scale + shift (+SiLU) over t frames; raw frames >= copy_from are also copied to `copy` (0: none); the
 * result of frame 0 is also written to the `rep` frames in front of `out`. */
static tsr_status gn_apply_raw(tsr_cuda *cu, CUdeviceptr x, CUdeviceptr affine, int hw, int cp, int t, int silu,
                               int copy_from, CUdeviceptr copy, int rep, CUdeviceptr out, tsr_error *err)
{
    int vecs = cp / 8;
    if ((long long)hw * vecs > 0x7fffffffLL) return tsr_fail(err, TSR_ERR_UNSUPPORTED, "group norm over %d pixels", hw);
    long long nv = (long long)hw * vecs;
    /* a grid-stride multiple of vecs keeps each thread on one channel vector (its affine stays in registers) */
    int unit = vecs / gcd_int(vecs, 256);
    long long gx = (nv + 256LL * GN_BATCH - 1) / (256LL * GN_BATCH);
    long long cap = TSR_MAX(1, (long long)cu->sm_count * 8 / TSR_MAX(t, 1));
    if (gx > cap) gx = cap;
    gx = (gx + unit - 1) / unit * unit;
    void *a[] = {&x, &affine, &hw, &cp, &silu, &copy_from, &copy, &rep, &out};
    return tsr_cuda_launch(cu, K_GN_APPLY, (unsigned)gx, (unsigned)t, 1, 256, a, err);
}

static tsr_status gn_apply(tsr_cuda *cu, const tsr_act *in, CUdeviceptr affine, int silu, CUdeviceptr out,
                           tsr_error *err)
{
    return gn_apply_raw(cu, in->buf->p, affine, in->h * in->w, in->buf->cp, in->t, silu, 0, 0, 0, out, err);
}

tsr_status tsr_cuda_op_group_norm(tsr_backend *be, const tsr_wt *norm, const tsr_act *in, int silu, tsr_act *out,
                                  tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    tsr_status st = tsr_cuda_act_ensure(cu, out, in->c, in->t, in->h, in->w, err);
    if (st) return st;
    CUdeviceptr aff = 0;
    st = tsr_cuda_gn_affine(cu, norm, in, &aff, err);
    if (!st) st = gn_apply(cu, in, aff, silu, out->buf->p, err);
    tsr_cuda_arena_free(cu, aff);
    return st;
}

/* ------------------------------------------------------------------ conv3d */

/* Keep the last `keep` frames of the extended input (prefix + in) as the new state, in place. frames_done: the
 * norm pass already copied the raw frames (only the affines are left). */
static tsr_status state_update(tsr_cuda *cu, tsr_state *s, const tsr_act *in, CUdeviceptr in_aff, int prefix,
                               int rep, int frames_done, tsr_error *err)
{
    uint64_t fbytes = (uint64_t)s->h * s->w * s->cp * 2, abytes = (uint64_t)s->cp * 8;
    int ext = prefix + in->t;
    tsr_status st = TSR_OK;
    for (int j = 0; j < s->keep && !st; j++) {
        int e = ext - s->keep + j;
        CUdeviceptr src, asrc = 0;
        if (e >= prefix) {
            src = in->buf->p + (uint64_t)(e - prefix) * fbytes;
            if (in_aff) asrc = in_aff + (uint64_t)(e - prefix) * abytes;
        } else if (rep) {
            src = in->buf->p;
            asrc = in_aff;
        } else {
            src = s->frames + (uint64_t)e * fbytes;
            asrc = s->aff + (uint64_t)e * abytes;
        }
        if (!frames_done && src != s->frames + (uint64_t)j * fbytes)
            st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(s->frames + (uint64_t)j * fbytes, src, fbytes, cu->stream),
                                err, "state update");
        if (!st && in_aff && asrc != s->aff + (uint64_t)j * abytes)
            st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(s->aff + (uint64_t)j * abytes, asrc, abytes, cu->stream),
                                err, "state update");
    }
    s->filled = 1;
    s->has_aff = in_aff != 0;
    return st;
}

static tsr_status run_conv(tsr_cuda *cu, const tsr_cuda_conv_problem *p, tsr_error *err)
{
    /* a narrow conv goes to the built-in kernels (their narrow kernel measured faster than cuDNN's plans for 3
     * outputs, which also need [prefix | input] materialised); so does one for the wg kernel (Hopper), which
     * fuses the GroupNorm apply and reads the state in place */
    int builtin = tsr_cuda_conv_narrow_fits(cu, p->desc, p->cin_p, p->cout_p) ||
                  tsr_cuda_conv_wg_fits(cu, p->desc, p->cin_p, p->cout_p);
    for (int i = cu->impl_count - 1; i >= 0 && !builtin; i--) {
        if (cu->impl_prec[i] != TSR_LP_DEFAULT && cu->impl_prec[i] != p->desc->precision) continue;
        tsr_status st = cu->impls[i].run(cu->impls[i].user, cu, p, err);
        if (st != TSR_ERR_UNSUPPORTED) return st;
    }
    return tsr_cuda_conv_builtin(cu, p, err);
}

/* The frames in front of a temporal conv's input: the state's (kt - st) once it is filled, else kt - 1 copies of
 * frame 0. */
static int conv_prefix(const tsr_conv_desc *d, const tsr_state *state)
{
    return d->kt <= 1 ? 0 : state && state->filled ? d->kt - d->st : d->kt - 1;
}

static tsr_status conv3d_plain(tsr_backend *be, const tsr_wt *conv, const tsr_act *in, tsr_state *state,
                               const tsr_wt *pre_norm, int pre_silu, const tsr_act *residual, tsr_act *out,
                               tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    const tsr_conv_desc *d = &conv->desc;
    if (in->c != d->cin) return tsr_fail(err, TSR_ERR_INVALID_ARG, "%s: input has %d channels, conv wants %d",
                                         d->name, in->c, d->cin);
    int temporal = d->kt > 1;
    if (temporal && (!d->causal || !state))
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "%s: temporal conv needs causal mode and a state", d->name);
    if (state && (state->h != in->h || state->w != in->w || state->kt != d->kt || state->st != d->st))
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "%s: state made for another shape", d->name);
    int filled = temporal && state->filled;
    int prefix = conv_prefix(d, state);
    int t_out = tsr_conv_out_len(in->t + prefix, d->kt, d->st, 0, 0);
    int h_out = tsr_conv_out_len(in->h, d->kh, d->sh, d->pad_top, d->pad_bottom);
    int w_out = tsr_conv_out_len(in->w, d->kw, d->sw, d->pad_left, d->pad_right);
    if (t_out <= 0 || h_out <= 0 || w_out <= 0) return tsr_fail(err, TSR_ERR_INPUT, "%s: input too small", d->name);
    if (filled && pre_norm && !state->has_aff)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "%s: state was filled without the norm", d->name);
    tsr_status st = tsr_cuda_act_ensure(cu, out, d->cout, t_out, h_out, w_out, err);
    if (st) return st;
    if (residual && (residual->c != d->cout || residual->t != t_out || residual->h != h_out || residual->w != w_out))
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "%s: residual shape differs from the output", d->name);

    /* GroupNorm(+SiLU) is applied in one pass before the conv (measured: applying it inside the conv's
     * loads, once per tap, cost more than the conv itself); the state keeps raw frames + their affine.
     * The normalised input goes to xn after `pre` frames that hold the normalised causal prefix (the state's
     * frames, or input frame 0 replicated by the same pass), so [prefix | input] is one contiguous tensor and an
     * implementation that needs it materialised (cuDNN) reads it in place. With a norm the conv never reads
     * state->frames, so the apply pass, which reads every input frame anyway, also writes the new state's raw
     * frames (fused_state). */
    CUdeviceptr aff = 0, xn = 0;
    int host = temporal && state->host;
    if (host && (st = tsr_cuda_hs_acquire(cu, state, err))) { /* state->frames: its staging buffer, loaded */
        tsr_cuda_hs_release(cu, state, 0, NULL);
        return st;
    }
    int pr = tsr_cuda_prof_begin(cu);
    if (pre_norm) st = tsr_cuda_gn_affine(cu, pre_norm, in, &aff, err);
    /* a narrow conv (conv_out) and a wg conv (Hopper, kernels/conv_wg.cu) normalise while they stage their
     * input: no normalised copy, the state keeps raw frames and their affines */
    int wg = tsr_cuda_conv_wg_fits(cu, d, conv->cin_p, conv->cout_p);
    int narrow = pre_norm && tsr_cuda_conv_narrow_fits(cu, d, conv->cin_p, conv->cout_p);
    int fused = narrow || (pre_norm && wg);
    int apply = pre_norm && !fused;
    int fused_state = apply && temporal && in->t >= state->keep && state->cp == in->buf->cp;
    int pre = apply ? prefix : 0, hw = in->h * in->w, cp = in->buf->cp;
    uint64_t fbytes = (uint64_t)hw * cp * 2;
    if (apply && !st) {
        st = tsr_cuda_arena_alloc(cu, (uint64_t)(pre + in->t) * fbytes, &xn, err);
        if (!st && filled)
            st = gn_apply_raw(cu, state->frames, state->aff, hw, state->cp, pre, pre_silu, 0, 0, 0, xn, err);
        if (!st)
            st = gn_apply_raw(cu, in->buf->p, aff, hw, cp, in->t, pre_silu, fused_state ? in->t - state->keep : 0,
                              fused_state ? state->frames : 0, filled ? 0 : pre, xn + (uint64_t)pre * fbytes, err);
    }
    tsr_cuda_conv_problem p = {
        .desc = d, .cin_p = conv->cin_p, .cout_p = conv->cout_p,
        .in = xn ? xn + (uint64_t)pre * fbytes : in->buf->p, .t_in = in->t, .h_in = in->h, .w_in = in->w,
        .in_affine = fused ? aff : 0, .silu = fused && pre_silu,
        .prefix = prefix, .prefix_ptr = pre ? xn : filled ? state->frames : 0,
        .prefix_affine = fused && filled ? state->aff : 0,
        .weight = conv->w, .weight_wg = conv->wgw, .bias = conv->b,
        .out = out->buf->p, .t_out = t_out, .h_out = h_out, .w_out = w_out,
        .residual = residual ? residual->buf->p : 0, .stream = cu->stream,
    };
    tsr_cuda_prof_end(cu, pr, P_NORM, 0);
    pr = tsr_cuda_prof_begin(cu);
    CUdeviceptr xr = 0;
    /* Without a norm, an input with spare frames in front (a depth-to-space output) takes the causal prefix there,
     * so [prefix | input] is contiguous and cuDNN reads it in place: the state's frames (later chunks) or copies of
     * frame 0 (first chunk; with the frame-0 conv one copy fewer, below), instead of a copy of the whole input. */
    CUdeviceptr hp = in->buf->p - (uint64_t)prefix * fbytes;
    int headed = !st && temporal && !pre_norm && !wg && !in->buf->host && in->buf->head >= prefix && cu->d2s_head;
    if (headed && filled) {
        st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(hp, state->frames, (uint64_t)prefix * fbytes, cu->stream), err,
                            "conv3d prefix");
        p.prefix_ptr = hp;
    } else if (headed && !conv->w0) {
        for (int e = 0; e < prefix && !st; e++)
            st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(hp + (uint64_t)e * fbytes, in->buf->p, fbytes, cu->stream),
                                err, "conv3d prefix");
        p.prefix_ptr = hp;
    }
    if (!st && temporal && !filled && conv->w0 && !narrow) { /* w0: stride 1 in time, not FP8 (upload_frame0) */
        /* the clip's first chunk: output frame 0 sees kt copies of input frame 0, i.e. the kh x kw conv with
         * the weights summed over kt (1/kt of the work) */
        tsr_cuda_conv_problem p0 = p;
        p0.desc = &conv->desc0, p0.weight = conv->w0, p0.weight_wg = conv->wgw0;
        p0.t_in = 1, p0.prefix = 0, p0.prefix_ptr = 0, p0.t_out = 1;
        st = run_conv(cu, &p0, err);
        if (!st && t_out > 1 && wg) { /* the wg kernel reads the kt - 1 copies of frame 0 in place */
            p.t_skip = 1;
            st = run_conv(cu, &p, err);
        } else if (!st && t_out > 1) {
            /* frames 1..: a causal conv of the usual form over [kt - 1 copies of frame 0 | frames 1..], contiguous
             * (cuDNN reads it in place): inside xn after one replicated frame, else copied into xr */
            uint64_t ofb = (uint64_t)h_out * w_out * conv->cout_p * 2;
            if (pre) {
                p.prefix_ptr = xn + fbytes;
            } else if (headed) { /* frame 0 itself is the last copy */
                for (int e = 0; e < prefix - 1 && !st; e++)
                    st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(hp + fbytes + (uint64_t)e * fbytes, in->buf->p,
                                                                      fbytes, cu->stream), err, "conv3d frame-0 prefix");
                p.prefix_ptr = hp + fbytes;
            } else {
                st = tsr_cuda_arena_alloc(cu, (uint64_t)(prefix + in->t - 1) * fbytes, &xr, err);
                for (int e = 0; e < prefix && !st; e++)
                    st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(xr + (uint64_t)e * fbytes, in->buf->p, fbytes,
                                                                      cu->stream), err, "conv3d frame-0 prefix");
                if (!st)
                    st = tsr_cuda_check(cu, cu->api.cuMemcpyDtoDAsync(xr + (uint64_t)prefix * fbytes, in->buf->p + fbytes,
                                                                      (uint64_t)(in->t - 1) * fbytes, cu->stream),
                                        err, "conv3d frame-0 prefix");
                p.prefix_ptr = xr;
            }
            p.in = p.prefix_ptr + (uint64_t)prefix * fbytes, p.t_in = in->t - 1;
            p.t_out = t_out - 1, p.out += ofb;
            if (p.residual) p.residual += ofb;
            if (!st) st = run_conv(cu, &p, err);
        }
    } else if (!st) {
        st = run_conv(cu, &p, err);
    }
    tsr_cuda_prof_layer(cu, pr, d->name);
    tsr_cuda_prof_end(cu, pr, d->kh * d->kw > 1 ? P_CONV3 : P_CONV_OTHER,
                      2.0 * t_out * h_out * w_out * d->cout * d->cin * d->kt * d->kh * d->kw);
    pr = tsr_cuda_prof_begin(cu);
    if (!st && temporal) st = state_update(cu, state, in, aff, prefix, !filled, fused_state, err);
    if (host) { /* the new frames go home on the download stream */
        tsr_status s2 = tsr_cuda_hs_release(cu, state, !st, err);
        if (!st) st = s2;
    }
    tsr_cuda_prof_end(cu, pr, P_STATE, 0);
    tsr_cuda_arena_free(cu, xr);
    tsr_cuda_arena_free(cu, xn);
    tsr_cuda_arena_free(cu, aff);
    return st;
}

tsr_status tsr_cuda_op_conv3d(tsr_backend *be, const tsr_wt *conv, const tsr_act *in, tsr_state *state,
                              const tsr_wt *pre_norm, int pre_silu, const tsr_act *residual, tsr_act *out,
                              tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    if (!conv || conv->kind != WT_CONV) return tsr_fail(err, TSR_ERR_INVALID_ARG, "conv3d: not a conv");
    const tsr_conv_desc *d = &conv->desc;
    if (!d->shuffle_rt) return conv3d_plain(be, conv, in, state, pre_norm, pre_silu, residual, out, err);
    /* a shuffle conv (backend.h): the conv into z, then the shifted depth-to-space with the edge correction */
    if (pre_norm || pre_silu || residual)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "%s: a shuffle conv takes no norm and no residual", d->name);
    /* the output first, then z above it: z's space goes back to the free end of the first-fit arena */
    int t_z = tsr_conv_out_len(in->t + conv_prefix(d, state), d->kt, d->st, 0, 0);
    int r = d->shuffle_rt, c = d->cout / (4 * r), h = in->h, w = in->w, t_out = t_z * r;
    tsr_act z = {0};
    tsr_status st = tsr_cuda_act_ensure(cu, out, c, t_out, 2 * h, 2 * w, err);
    if (!st) st = conv3d_plain(be, conv, in, state, NULL, 0, NULL, &z, err);
    if (!st && z.t != t_z) st = tsr_fail(err, TSR_ERR_INTERNAL, "%s: %d frames, %d expected", d->name, z.t, t_z);
    long long n = 4LL * h * w * (c / 8);
    if (!st && (n > 0x7fffffffLL || (long long)(h + 1) * (w + 1) * d->cout > 0x7fffffffLL))
        st = tsr_fail(err, TSR_ERR_UNSUPPORTED, "%s: a %dx%d frame", d->name, h, w);
    if (!st && t_out > 0) {
        CUdeviceptr edge = conv->edge;
        void *a[] = {&z.buf->p, &h, &w, &c, &r, &edge, &out->buf->p};
        int pr = tsr_cuda_prof_begin(cu);
        long long cap = TSR_MAX(1, (long long)cu->sm_count * 8 / t_out);
        st = tsr_cuda_launch(cu, K_UPSHUFFLE, grid_for(n, 256, (unsigned)TSR_MIN(cap, 65535)), (unsigned)t_out, 1, 256, a,
                             err);
        tsr_cuda_prof_end(cu, pr, P_D2S, 0);
    }
    be->ops->act_free(be, &z);
    return st;
}

/* ------------------------------------------------------------------ attention */

tsr_status tsr_cuda_op_attention(tsr_backend *be, const tsr_wt *attn, const tsr_act *in, tsr_act *out,
                                 tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    if (!attn || attn->kind != WT_ATTN || in->c != attn->channels)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "attention: weights do not fit the input");
    int c = in->c, t = in->t, n = in->h * in->w;
    if (n % 8) return tsr_fail(err, TSR_ERR_UNSUPPORTED, "attention: %d tokens per frame (multiple of 8 needed)", n);
    tsr_status st = tsr_cuda_act_ensure(cu, out, c, t, in->h, in->w, err);
    if (st) return st;
    uint64_t tok = (uint64_t)t * n, fe = (uint64_t)n * c;
    /* query chunk: scores fp32 + probabilities bf16 for all frames at once under ~1 GiB */
    uint64_t qc = ((uint64_t)1 << 30) / ((uint64_t)t * n * 6);
    qc = qc < 128 ? 128 : qc / 128 * 128;
    if (qc > (uint64_t)n) qc = (uint64_t)n;
    CUdeviceptr aff = 0, u = 0, q = 0, k = 0, vt = 0, o = 0, s = 0, pr = 0;
    int prof = tsr_cuda_prof_begin(cu);
    st = tsr_cuda_gn_affine(cu, attn, in, &aff, err);
    if (!st) st = tsr_cuda_arena_alloc(cu, tok * c * 2, &u, err);
    if (!st) st = tsr_cuda_arena_alloc(cu, tok * c * 2, &q, err);
    if (!st) st = tsr_cuda_arena_alloc(cu, tok * c * 2, &k, err);
    if (!st) st = tsr_cuda_arena_alloc(cu, tok * c * 2, &vt, err);
    if (!st) st = tsr_cuda_arena_alloc(cu, tok * c * 2, &o, err);
    if (!st) st = tsr_cuda_arena_alloc(cu, (uint64_t)t * qc * n * 4, &s, err);
    if (!st) st = tsr_cuda_arena_alloc(cu, (uint64_t)t * qc * n * 2, &pr, err);
    if (!st) st = gn_apply(cu, in, aff, 0, u, err);
    tsr_cuda_gemm g;
    if (!st) { /* q = u Wq^T + bq ; k likewise (all frames: M = t*n) */
        g = (tsr_cuda_gemm){.a = u, .b = attn->wq, .c = q, .bias = attn->bq, .m = (long long)tok, .n = c, .k = c,
                            .ldc = c, .batch = 1, .alpha = 1.f};
        st = tsr_cuda_gemm_run(cu, &g, err);
    }
    if (!st) {
        g.b = attn->wk, g.c = k, g.bias = attn->bk;
        st = tsr_cuda_gemm_run(cu, &g, err);
    }
    if (!st) { /* v^T per frame = Wv u^T + bv (row bias) */
        g = (tsr_cuda_gemm){.a = attn->wv, .b = u, .c = vt, .bias = attn->bv, .m = c, .n = n, .k = c, .ldc = n,
                            .batch = t, .bias_row = 1, .sa = 0, .sb = (long long)fe, .sc = (long long)fe, .alpha = 1.f};
        st = tsr_cuda_gemm_run(cu, &g, err);
    }
    float scale = 1.0f / sqrtf((float)c);
    /* the softmax holds a row in registers where it fits (n % 8 == 0 above), else reads it three times */
    int sm_kernel = n <= 16384 ? K_SOFTMAX4 : n <= 32768 ? K_SOFTMAX8 : K_SOFTMAX;
    for (uint64_t q0 = 0; q0 < (uint64_t)n && !st; q0 += qc) {
        int rows = (int)((uint64_t)n - q0 < qc ? (uint64_t)n - q0 : qc);
        /* scores unscaled in fp32 (a plain GEMM: cuDNN takes it), scaled inside the softmax */
        g = (tsr_cuda_gemm){.a = q + q0 * c * 2, .b = k, .c = s, .m = rows, .n = n, .k = c, .ldc = n, .batch = t,
                            .sa = (long long)fe, .sb = (long long)fe, .sc = (long long)qc * n, .f32_out = 1,
                            .alpha = 1.f};
        st = tsr_cuda_gemm_run(cu, &g, err);
        for (int f = 0; f < t && !st; f++) {
            CUdeviceptr sf = s + (uint64_t)f * qc * n * 4, pf = pr + (uint64_t)f * qc * n * 2;
            int ld = n;
            void *a[] = {&sf, &n, &ld, &scale, &pf};
            st = tsr_cuda_launch(cu, sm_kernel, (unsigned)rows, 1, 1, 1024, a, err);
        }
        if (!st) {
            g = (tsr_cuda_gemm){.a = pr, .b = vt, .c = o + q0 * c * 2, .m = rows, .n = c, .k = n, .ldc = c,
                                .batch = t, .sa = (long long)qc * n, .sb = (long long)fe, .sc = (long long)fe,
                                .alpha = 1.f};
            st = tsr_cuda_gemm_run(cu, &g, err);
        }
    }
    if (!st) { /* out = o Wo^T + bo + in */
        g = (tsr_cuda_gemm){.a = o, .b = attn->wo, .c = out->buf->p, .bias = attn->bo, .res = in->buf->p,
                            .m = (long long)tok, .n = c, .k = c, .ldc = c, .batch = 1, .alpha = 1.f};
        st = tsr_cuda_gemm_run(cu, &g, err);
    }
    tsr_cuda_prof_end(cu, prof, P_ATTN, 4.0 * t * (double)n * n * c + 8.0 * t * (double)n * c * c);
    CUdeviceptr all[] = {aff, u, q, k, vt, o, s, pr};
    for (size_t i = 0; i < TSR_ARRAY_LEN(all); i++) tsr_cuda_arena_free(cu, all[i]);
    return st;
}

/* ------------------------------------------------------------------ depth-to-space, add */

tsr_status tsr_cuda_op_d2s(tsr_backend *be, const tsr_act *in, int rt, int rs, int drop_first, tsr_act *out,
                           tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    if (rt < 1 || rs < 1 || in->c % (rt * rs * rs)) return tsr_fail(err, TSR_ERR_INVALID_ARG, "depth_to_space");
    int c = in->c / (rt * rs * rs);
    if (c % 8 || in->c != in->buf->cp)
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "depth_to_space to %d channels (multiple of 8 needed)", c);
    int drop = drop_first && rt == 2;
    int t_out = in->t * rt - drop;
    /* spare frames in front for the causal prefix of the conv that reads it (tsr_cuda_op_conv3d) */
    tsr_status st = tsr_cuda_act_ensure_head(cu, out, c, t_out, in->h * rs, in->w * rs, cu->d2s_head ? TSR_CUDA_D2S_HEAD : 0,
                                             err);
    if (st) return st;
    int t_in = in->t, h = in->h, w = in->w;
    long long n = (long long)h * rs * w * rs * (c / 8); /* per output frame */
    if (n > 0x7fffffffLL || (long long)h * w * in->c / 8 > 0x7fffffffLL)
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "depth_to_space of a %dx%d frame", in->h, in->w);
    void *a[] = {&in->buf->p, &t_in, &h, &w, &c, &rt, &rs, &drop, &t_out, &out->buf->p};
    int pr = tsr_cuda_prof_begin(cu);
    long long cap = TSR_MAX(1, (long long)cu->sm_count * 8 / TSR_MAX(t_out, 1));
    st = tsr_cuda_launch(cu, K_D2S, grid_for(n, 256, (unsigned)TSR_MIN(cap, 65535)), (unsigned)t_out, 1, 256, a, err);
    tsr_cuda_prof_end(cu, pr, P_D2S, 0);
    return st;
}

tsr_status tsr_cuda_op_add(tsr_backend *be, const tsr_act *a, const tsr_act *b, tsr_act *out, tsr_error *err)
{
    tsr_cuda *cu = (tsr_cuda *)be;
    if (a->c != b->c || a->t != b->t || a->h != b->h || a->w != b->w)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "add: shapes differ");
    tsr_status st = tsr_cuda_act_ensure(cu, out, a->c, a->t, a->h, a->w, err);
    if (st) return st;
    long long nvec = (long long)a->t * a->h * a->w * a->buf->cp / 8;
    void *args[] = {&a->buf->p, &b->buf->p, &nvec, &out->buf->p};
    int pr = tsr_cuda_prof_begin(cu);
    st = tsr_cuda_launch(cu, K_ADD, grid_for(nvec, 256, 65535), 1, 1, 256, args, err);
    tsr_cuda_prof_end(cu, pr, P_ADD, 0);
    return st;
}
