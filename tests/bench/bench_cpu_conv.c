/* GFLOP/s of the CPU 3x3x3 causal conv on one shape: bench_cpu_conv [cin cout t h w threads]. */
#include <stdio.h>
#include <stdlib.h>

#include "backend/backend.h"
#include "core/common.h"

int main(int argc, char **argv)
{
    int a[6] = {256, 256, 2, 64, 64, 0};
    for (int i = 1; i < argc && i <= 6; i++) a[i - 1] = atoi(argv[i]);
    tsr_error err;
    tsr_backend *be;
    tsr_backend_params p = {.threads = a[5]};
    if (tsr_cpu_backend_create(&p, &be, &err) != TSR_OK) return 1;
    tsr_conv_desc d = {a[0], a[1], 3, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, TSR_LP_DEFAULT, "bench"};
    size_t nw = (size_t)a[0] * a[1] * 27, nx = (size_t)a[0] * a[2] * a[3] * a[4];
    float *w = calloc(nw, 4), *x = calloc(nx, 4);
    for (size_t i = 0; i < nw; i++) w[i] = (float)(i % 7) * 0.01f;
    for (size_t i = 0; i < nx; i++) x[i] = (float)(i % 5) * 0.1f;
    tsr_wt *cw;
    tsr_state *s;
    tsr_act in, out = {0};
    if (be->ops->conv_upload(be, &d, w, NULL, &cw, &err) || be->ops->state_create(be, &d, a[3], a[4], &s, &err) ||
        be->ops->act_alloc(be, a[0], a[2], a[3], a[4], &in, &err) || be->ops->act_upload(be, &in, x, &err))
        return 1;
    double t0 = tsr_now();
    if (be->ops->conv3d(be, cw, &in, s, NULL, 0, NULL, &out, &err)) return 1;
    double dt = tsr_now() - t0;
    double flop = 2.0 * nw * a[2] * a[3] * a[4];
    printf("conv %dx%d T%d %dx%d: %.3f s, %.1f GFLOP/s\n", a[0], a[1], a[2], a[3], a[4], dt, flop / dt * 1e-9);
    be->ops->destroy(be);
    free(w), free(x);
    return 0;
}
