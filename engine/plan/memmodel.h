/* The decoder's memory model: an ordered list of stages, each declaring its live activation elements per
 * pixel of its own resolution, its spatial halo (3x3 convolutions) and alignment, plus every causal conv's
 * state. Derived from a tsr_vae_config the way model/vae_tensors.c derives the tensor list, so another
 * configuration gets its own model. Everything here is a pure function of the configuration. */
#ifndef TSR_PLAN_MEMMODEL_H
#define TSR_PLAN_MEMMODEL_H
#include <stdint.h>

#include "tessera.h"

#define TSR_MM_MAX_STAGES 64
#define TSR_MM_MAX_CAUSAL 96

typedef struct tsr_mm_stage {
    char name[64];
    int scale;          /* spatial scale of the stage's pixels relative to the latent (1, 2, 4, 8) */
    int tfac;           /* frames per latent frame at this stage (steady-state chunk: 1, 2, 4) */
    int elems;          /* peak live activation elements per pixel-frame of this stage (GN fused into convs) */
    int elems_normbuf;  /* the same when each normalised conv input is first written to its own buffer */
    int nb[2], nb_fixed[2]; /* that buffer holds [causal prefix | input] (2 more frames, whatever the frame count):
                         * with normbuf the stage's peak is max over its conv phases k of nb[k] * frames +
                         * nb_fixed[k] elements per pixel (nb[k] = 0: elems_normbuf * frames) */
    int halo;           /* context pixels per side (at `scale`) its 3x3 convolutions need */
    int out_elems;      /* elements per pixel-frame of the stage's output (what the next stage reads) */
    int attention;      /* needs the whole frame: never tiled */
    int attn_channels;
    int cin, cout;      /* channels in / out of the stage's convolutions */
    int upscale;        /* an upsampler's 1x1 conv + depth-to-space: 4*rt*cin channels at the input scale */
    int rt;             /* upscale: temporal factor */
    int64_t macs;       /* multiply-adds per pixel-frame of the stage (its convs; attention: the projections, the
                         * token-dependent part is tsr_mm_stage_macs') */
} tsr_mm_stage;

typedef struct tsr_mm_causal {
    char name[64];
    int cin, scale;     /* state = 2 frames x cin x (scale*h) x (scale*w) */
    int stage;          /* the stage whose conv it is */
} tsr_mm_causal;

typedef struct tsr_mm {
    tsr_mm_stage stages[TSR_MM_MAX_STAGES];
    int nstages;
    tsr_mm_causal causal[TSR_MM_MAX_CAUSAL];
    int ncausal;
    int frame_local;    /* first stage after the last temporal upsampler: from there on every stage is frame-local
                         * and may run over groups of frames (vae_forward.c, tsr_decode_params.frame_group) */
    int out_scale;      /* final spatial factor (8) */
    int out_tfac;       /* final temporal factor per steady chunk frame (4) */
    int64_t conv_params, other_params;
    int64_t frame0_params;  /* the temporal convs' weights summed over kt (the CUDA backend keeps them too, for a
                             * clip's first output frame: cuda_backend.c upload_frame0) */
    int64_t composed_params; /* the composed upsamplers' convs (vae/vae_upcompose.c: the GPU backend's decoder keeps
                             * them beside the 1x1 and 3x3x3 convs), their frame-0 sums included */
} tsr_mm;

/* Build the decoder model of `cfg`. Returns 0 on an unusable configuration. */
int tsr_mm_decoder(const tsr_vae_config *cfg, tsr_mm *mm);

/* Multiply-adds of stage i per frame for a latent h x w (attention: projections + scores + weighted sum). */
double tsr_mm_stage_macs(const tsr_mm *mm, int i, int h, int w);
/* Causal state elements of conv `i` for a latent h x w (2 frames). */
uint64_t tsr_mm_state_elems(const tsr_mm *mm, int i, int h, int w);
/* The causal convs' indices, largest state first (stable: network order among equals). The order in which
 * EXACT_OFFLOAD plans move states to host memory; the executor (vae/vae_plan.c) uses the same. */
void tsr_mm_state_order(const tsr_mm *mm, int *order);
/* Sum over all causal convs. */
uint64_t tsr_mm_state_total(const tsr_mm *mm, int h, int w);
/* Peak live activation elements per latent pixel per latent frame over stages [from, to) (fused norm). */
uint64_t tsr_mm_act_per_lpx(const tsr_mm *mm, int from, int to);
/* Frames a stage sees in the largest chunk of a clip of `t` latent frames cut into chunks of `chunk`: the first
 * chunk of n frames gives tfac*n - (tfac-1) (the causal head), later ones tfac*n. */
int tsr_mm_stage_frames(const tsr_mm_stage *s, int t, int chunk);
/* Peak live activation elements per latent pixel (one frame's pixels) over stages [from, to) for that clip. */
uint64_t tsr_mm_act_chunk(const tsr_mm *mm, int from, int to, int t, int chunk, int normbuf);
/* The same with the frame-local stages [frame_local, nstages) run over groups of `group` output frames (0 = the
 * whole chunk): their peak at `group` frames, plus the head's output the groups read from and the chunk's
 * output they are written into, both alive while the groups run (vae_forward.c, tail_in_groups). */
uint64_t tsr_mm_act_grouped(const tsr_mm *mm, int t, int chunk, int group, int normbuf);
/* Frames of the frame-local stages in the largest chunk (what a frame group is compared with). */
int tsr_mm_tail_frames(const tsr_mm *mm, int t, int chunk);
/* The encoder (vae_forward.c as it runs one chunk of `frames` padded video frames of h x w pixels, `first`: the
 * clip's first chunk, `group` > 0: the frame-local front in groups of that many frames): peak live activation
 * elements, simulated op by op (inputs freed after each op; `normbuf`: each normalised conv input written to its
 * own buffer first, as the CUDA backend does). The first chunk's figure includes the causal states its convs
 * create as they first run; a later chunk's does not (all tsr_mm_encoder_state elements are alive then). */
uint64_t tsr_mm_encoder_chunk_peak(const tsr_vae_config *cfg, int frames, int h, int w, int first, int group,
                                   int normbuf);
/* Causal state elements of the encoder for frames of h x w pixels (kt - st frames per temporal conv). */
uint64_t tsr_mm_encoder_state(const tsr_vae_config *cfg, int h, int w);
static inline int tsr_mm_elems(const tsr_mm_stage *s, int normbuf) { return normbuf ? s->elems_normbuf : s->elems; }
/* Index of the first stage at a scale >= `scale` (nstages when none). */
int tsr_mm_first_at_scale(const tsr_mm *mm, int scale);
/* Receptive-field halo of stages [from, nstages) in output pixels. */
int tsr_mm_halo_out(const tsr_mm *mm, int from);

/* Deep tiles (vae/vae_deep.c): the head (stages [0, from)) runs on the whole frame, the tail (stages [from,
 * nstages)) per tile on a region of the head's output; geometry in head-output pixels. */
typedef struct tsr_mm_rect {
    int y0, x0, y1, x1;
} tsr_mm_rect;
/* First tail stage: the one after up_blocks.0's upsampler conv (the tiled executor's split); -1 when none. */
int tsr_mm_deep_from(const tsr_mm *mm);
/* The tail's spatial receptive field in head-output pixels (each 3x3 conv: 1 px at its own scale), rounded up. */
int tsr_mm_deep_halo(const tsr_mm *mm, int from);
/* Tiles of edge e over a frame of h x w: ny x nx balanced tiles (sizes differ by at most 1 px). */
int tsr_mm_deep_grid(int h, int w, int e, int *ny, int *nx);
/* Tile k (row-major): its core and its region. Every tile's region has the same size (the largest core + the
 * halo on both sides, clipped to the frame), shifted inwards at the frame's edges: at least `halo` px of context
 * around each core wherever the frame has it, and one set of conv shapes for all tiles (plans, graphs). */
void tsr_mm_deep_tile(int h, int w, int ny, int nx, int k, int halo, tsr_mm_rect *core, tsr_mm_rect *reg);
/* Causal state elements of the tail's convs over a region of rh x rw head-output pixels. */
uint64_t tsr_mm_deep_tail_state(const tsr_mm *mm, int from, int rh, int rw);
typedef struct tsr_mm_deep_opts {
    int rh, rw;         /* the tile's region, head-output pixels */
    int normbuf;        /* the head's (and pass 1's) normalised inputs in buffers of their own (CUDA) */
    int tail_normbuf;   /* the tail's: normbuf, or 1 in pass 2 (gn_stats_apply into a buffer) */
    int ext;            /* pass 2 on a backend that materialises the causal prefix of an input it did not normalise */
} tsr_mm_deep_opts;
/* Peak live activation elements of one tile of a latent h x w over the clip's first chunk and a later one:
 * max(the head on the whole frame, the head's output + the region cut from it, the tail on the region). */
uint64_t tsr_mm_deep_act(const tsr_mm *mm, int from, int t, int chunk, int h, int w, const tsr_mm_deep_opts *o);
#endif
