#include "plan/tiles.h"

#include <math.h>
#include <string.h>

#include "core/common.h"

int tsr_plan_tile(const tsr_plan *p, int out_h, int out_w, int index, tsr_tile *t)
{
    if (p->kind != TSR_PLAN_TILED || index < 0 || index >= p->tiles_y * p->tiles_x) return 0;
    memset(t, 0, sizeof *t);
    t->ty = index / p->tiles_x;
    t->tx = index % p->tiles_x;
    t->y0 = t->ty * p->tile_h;
    t->x0 = t->tx * p->tile_w;
    t->y1 = TSR_MIN(t->y0 + p->tile_h, out_h);
    t->x1 = TSR_MIN(t->x0 + p->tile_w, out_w);
    if (t->y0 >= out_h || t->x0 >= out_w) return 0;
    t->hy0 = TSR_MAX(t->y0 - p->halo, 0);
    t->hx0 = TSR_MAX(t->x0 - p->halo, 0);
    t->hy1 = TSR_MIN(t->y1 + p->halo, out_h);
    t->hx1 = TSR_MIN(t->x1 + p->halo, out_w);
    int b = p->blend / 2;
    t->wy0 = t->ty > 0 ? t->y0 - b : 0;
    t->wx0 = t->tx > 0 ? t->x0 - b : 0;
    t->wy1 = t->y1 < out_h ? t->y1 + b : out_h;
    t->wx1 = t->x1 < out_w ? t->x1 + b : out_w;
    return 1;
}

/* 0 -> 1 across a seam of `width` pixels starting at `start`; pixel centres, so w(a) + w(mirror a) = 1. */
static float ramp(int v, int start, int width)
{
    if (width <= 0) return v >= start ? 1.0f : 0.0f;
    double t = ((double)(v - start) + 0.5) / (double)width;
    if (t <= 0) return 0.0f;
    if (t >= 1) return 1.0f;
    return (float)(0.5 - 0.5 * cos(3.14159265358979323846 * t));
}

static float axis_weight(int v, int c0, int c1, int lo_seam, int hi_seam, int blend)
{
    int b = blend / 2;
    float w = 1.0f;
    if (lo_seam) w *= ramp(v, c0 - b, 2 * b);
    if (hi_seam) w *= 1.0f - ramp(v, c1 - b, 2 * b);
    return w;
}

float tsr_plan_tile_weight(const tsr_plan *p, const tsr_tile *t, int y, int x)
{
    if (y < t->wy0 || y >= t->wy1 || x < t->wx0 || x >= t->wx1) return 0.0f;
    float wy = axis_weight(y, t->y0, t->y1, t->ty > 0, t->ty < p->tiles_y - 1, p->blend);
    float wx = axis_weight(x, t->x0, t->x1, t->tx > 0, t->tx < p->tiles_x - 1, p->blend);
    return wy * wx;
}
