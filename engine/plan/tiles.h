/* Tile geometry of a TILED plan, in output pixels: cores partition the frame; each tile is computed over its
 * core plus `halo` (clipped to the frame) and contributes to its core widened by blend/2 toward every
 * neighbour, with raised-cosine weights that sum to 1 across each seam. At a stage of scale s (out_scale = 8)
 * every coordinate is multiplied by s/8; cores are multiples of tile_align so that they stay integral. */
#ifndef TSR_PLAN_TILES_H
#define TSR_PLAN_TILES_H
#include "tessera.h"

typedef struct tsr_tile {
    int ty, tx;
    int y0, x0, y1, x1;     /* core [y0, y1) x [x0, x1) */
    int hy0, hx0, hy1, hx1; /* computed region: core + halo, clipped */
    int wy0, wx0, wy1, wx1; /* region with non-zero blend weight */
} tsr_tile;

/* Tile `index` (row-major over tiles_y x tiles_x) of a frame of out_h x out_w. Returns 0 when out of range. */
int tsr_plan_tile(const tsr_plan *p, int out_h, int out_w, int index, tsr_tile *t);
/* Blend weight of output pixel (y, x) in tile t: 0 outside [wy0, wy1) x [wx0, wx1). */
float tsr_plan_tile_weight(const tsr_plan *p, const tsr_tile *t, int y, int x);
#endif
