/* Upsample3D composed into convs over its low-resolution input (spec §3.5, rewritten; engine/README.md).
 *
 * The reference runs a 1x1x1 conv P (C -> 4 rt C channels), a depth-to-space by rt x 2 x 2 and a causal 3x3x3 conv W
 * at the high resolution. Nothing non-linear sits between them, and every 3-tap window of the high-resolution grid
 * covers 2 low-resolution pixels per upsampled axis, so each output phase (k, a, b) is a conv of the low-resolution
 * input with a 2-tap kernel per upsampled axis whose weights are sums of products W_tap * P_phase:
 *   spatial axis, output phase a, tap offset d in {-1, 0, 1}: source phase (a + d) & 1, kernel index
 *   ((a + d + 2) >> 1) - a of a 2-tap kernel with zero padding 1 on both sides (its output is one pixel larger;
 *   the shuffle conv's shift picks the right one, backend.h conv3d);
 *   time, rt = 2, output phase k (frame 2k'-1+k of the clip for low-res frame k'): tap dt in {0, 1, 2} reads low-res
 *   frame k'-1+((k + dt) >> 1), phase (k + dt) & 1: a causal conv with kt 2. rt = 1: the 3 taps as they are.
 * The work is 8/28 (rt = 2) or 12/28 (rt = 1) of the reference's per output pixel; nothing at the high resolution is
 * materialised but the output.
 * P's bias becomes a conv bias; where a tap of W falls on the high-resolution zero padding the reference adds no
 * bias, which the shuffle's edge table takes back on the output's first and last rows and columns.
 * The clip's first frames differ (the dropped frame and the replicated head, spec §3.1/§3.5): low-res frame 0 gives
 * output frame 0 alone, from [frame 0, phase 0] x 3 (variant ZERO: kt 1); low-res frame 1 reads phase 0 of frame 0
 * where a later frame reads phase 1 of its predecessor (variant PAIR: the generic weights with s = 0 on tap 0). */
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/threadpool.h"
#include "vae/vae_internal.h"

/* One 3x3x3 tap of W times the phases of P, for every output channel: m[ph][o][cin]. */
typedef struct tap_job {
    const float *a;     /* [C][C]: W[o][c'] of the tap */
    const float *p;     /* [nph][C][cin]: P's weight */
    float *m;           /* [nph][C][cin] */
    int c, cin, nph;
} tap_job;

/* Rows [begin, end) of m, 8 at a time: each row of P is read once per 8 output rows (it stays in L1) instead of once
 * per row from the outer caches (P of all phases: 8 x C x cin floats, 8 MiB at C = 512), and the sizes are locals so
 * the inner loop vectorises (with j->cin read through the pointer GCC could not count its iterations). Every element
 * still sums over k in order with the zero weights skipped: the same result to the bit as row by row. */
enum { TAP_ROWS = 8 };

static void tap_rows(void *user, long begin, long end, int worker)
{
    (void)worker;
    const tap_job *j = user;
    const int c = j->c, cin = j->cin, nph = j->nph;
    const size_t cc = (size_t)c * cin;
    for (long o0 = begin; o0 < end; o0 += TAP_ROWS) {
        const int nr = (int)(end - o0 < TAP_ROWS ? end - o0 : TAP_ROWS);
        for (int ph = 0; ph < nph; ph++) {
            float *m = j->m + ph * cc + (size_t)o0 * cin;
            memset(m, 0, sizeof(float) * (size_t)nr * cin);
            for (int k = 0; k < c; k++) {
                const float *restrict pr = j->p + ph * cc + (size_t)k * cin;
                for (int r = 0; r < nr; r++) {
                    const float a = j->a[(size_t)(o0 + r) * c + k];
                    if (a == 0.0f) continue;
                    float *restrict mr = m + (size_t)r * cin;
                    for (int i = 0; i < cin; i++) mr[i] += a * pr[i];
                }
            }
        }
    }
}

/* The source of output phase (k, a, b) through tap (dt, dy, dx) in variant `var`: kernel position and P row block. */
static void tap_map(int var, int rt, int k, int a, int b, int dt, int dy, int dx, int *tau, int *ny, int *nx, int *ph)
{
    int s = 0;
    if (rt == 1) *tau = dt;
    else if (var == TSR_UPC_ZERO) *tau = 0;
    else {
        *tau = (k + dt) >> 1;
        s = (var == TSR_UPC_PAIR && *tau == 0) ? 0 : (k + dt) & 1;
    }
    int py = (a + dy + 2) & 1, px = (b + dx + 2) & 1;
    *ny = ((a + dy + 2) >> 1) - a;
    *nx = ((b + dx + 2) >> 1) - b;
    *ph = (py * 2 + px) * rt + s;
}

tsr_status tsr_vae_upcompose(const float *pw, const float *pb, const float *cw, const float *cb, int c, int rt,
                             int threads, tsr_upcomposed out[TSR_UPC_VARIANTS], tsr_error *err)
{
    memset(out, 0, sizeof(tsr_upcomposed) * TSR_UPC_VARIANTS);
    if (c < 1 || (rt != 1 && rt != 2)) return tsr_fail(err, TSR_ERR_INVALID_ARG, "upcompose: %d channels, rt %d", c, rt);
    int nvar = rt == 2 ? TSR_UPC_VARIANTS : 1, nph = 4 * rt;
    for (int v = 0; v < nvar; v++) {
        tsr_upcomposed *u = &out[v];
        u->rt = v == TSR_UPC_ZERO ? 1 : rt;
        u->kt = rt == 1 ? 3 : v == TSR_UPC_ZERO ? 1 : 2;
        u->cout = 4 * u->rt * c;
        u->w = tsr_calloc((size_t)u->cout * c * u->kt * 4, sizeof(float), err);
        u->b = tsr_calloc((size_t)u->cout + (size_t)16 * u->rt * c, sizeof(float), err);
        if (!u->w || !u->b) {
            tsr_vae_upcompose_free(out);
            return TSR_ERR_NOMEM;
        }
    }
    size_t cc = (size_t)c * c;
    float *a = tsr_malloc(cc * sizeof(float), err), *m = tsr_malloc(cc * nph * sizeof(float), err);
    double *vb = tsr_calloc((size_t)27 * nph * c, sizeof(double), err); /* W_tap * P's bias per phase: [tap][ph][o] */
    tsr_threadpool *pool = NULL;
    tsr_status st = a && m && vb ? tsr_threadpool_create(threads, &pool, err) : TSR_ERR_NOMEM;
    for (int tap = 0; tap < 27 && st == TSR_OK; tap++) {
        int dt = tap / 9, dy = tap / 3 % 3 - 1, dx = tap % 3 - 1;
        for (int o = 0; o < c; o++)
            for (int k = 0; k < c; k++) a[(size_t)o * c + k] = cw[((size_t)o * c + k) * 27 + tap];
        tap_job j = {a, pw, m, c, c, nph};
        tsr_parallel_for(pool, c, 4, tap_rows, &j);
        for (int ph = 0; ph < nph; ph++)
            for (int o = 0; o < c; o++) {
                double s = 0;
                for (int k = 0; k < c; k++) s += (double)a[(size_t)o * c + k] * pb[(size_t)ph * c + k];
                vb[((size_t)tap * nph + ph) * c + o] = s;
            }
        for (int v = 0; v < nvar; v++) {
            tsr_upcomposed *u = &out[v];
            for (int k = 0; k < u->rt; k++)
                for (int ab = 0; ab < 4; ab++) {
                    int tau, ny, nx, ph;
                    tap_map(v, rt, k, ab >> 1, ab & 1, dt, dy, dx, &tau, &ny, &nx, &ph);
                    int kk = (tau * 2 + ny) * 2 + nx, taps = u->kt * 4;
                    for (int o = 0; o < c; o++) {
                        float *dst = u->w + (size_t)((ab * u->rt + k) * c + o) * c * taps + kk;
                        const float *src = m + (size_t)ph * cc + (size_t)o * c;
                        for (int i = 0; i < c; i++) dst[(size_t)i * taps] += src[i];
                    }
                }
        }
    }
    /* biases: the interior one (every tap), and the edge table (minus the taps on the zero padding) */
    for (int v = 0; v < nvar && st == TSR_OK; v++) {
        tsr_upcomposed *u = &out[v];
        float *edge = u->b + u->cout;
        for (int k = 0; k < u->rt; k++)
            for (int ey = 0; ey < 4; ey++)
                for (int ex = 0; ex < 4; ex++)
                    for (int o = 0; o < c; o++) {
                        int a0 = ey >= 2, b0 = ex >= 2; /* rows 0 / even: phase 0; odd / last: phase 1 */
                        double in = 0, off = 0;
                        for (int tap = 0; tap < 27; tap++) {
                            int dt = tap / 9, dy = tap / 3 % 3 - 1, dx = tap % 3 - 1, tau, ny, nx, ph;
                            tap_map(v, rt, k, a0, b0, dt, dy, dx, &tau, &ny, &nx, &ph);
                            double x = vb[((size_t)tap * nph + ph) * c + o];
                            in += x;
                            if ((ey == 0 && dy < 0) || (ey == 3 && dy > 0) || (ex == 0 && dx < 0) || (ex == 3 && dx > 0))
                                off += x;
                        }
                        if ((ey == 1 || ey == 2) && (ex == 1 || ex == 2)) /* an interior pixel of phase (a0, b0) */
                            u->b[((a0 * 2 + b0) * u->rt + k) * c + o] = (float)(in + (cb ? cb[o] : 0.0));
                        edge[((size_t)(k * 4 + ey) * 4 + ex) * c + o] = (float)-off;
                    }
    }
    tsr_threadpool_destroy(&pool);
    free(a), free(m), free(vb);
    if (st != TSR_OK) tsr_vae_upcompose_free(out);
    return st;
}

void tsr_vae_upcompose_free(tsr_upcomposed u[TSR_UPC_VARIANTS])
{
    for (int v = 0; v < TSR_UPC_VARIANTS; v++) {
        free(u[v].w), free(u[v].b);
        u[v].w = u[v].b = NULL;
    }
}
