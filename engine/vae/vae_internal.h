/* The VAE network as layers over backend.h: weights bound to one backend, causal states per temporal conv. */
#ifndef TSR_VAE_INTERNAL_H
#define TSR_VAE_INTERNAL_H
#include "backend/backend.h"
#include "model/model.h"

struct tsr_engine {
    tsr_backend *be;
    tsr_engine_params params;
    char description[160];
    char fallback_reason[TSR_ERROR_MESSAGE_MAX];
    int tuning_in_store;        /* the backend's tuning is read from / written to the store (engine.c) */
    char tuning_store[1024];    /* its path ("" = the default store) */
    char tuning_device[192];    /* the store's key: GPU name and compute capability */
    char *tuning_text;          /* what was read (written back only when it changed) */
};

typedef struct vae_conv {
    char name[96];
    tsr_conv_desc d;
    tsr_wt *w;
    tsr_state *state;          /* created lazily at the first chunk (its frame size is known then) */
    int host_state;            /* decode with offload_states: `state` lives in host memory (state_create_host) */
    struct vae_conv *next_host;/* host_state: the next host-state conv in execution order (prefetched before
                                * this conv runs), or NULL */
    tsr_state **tile_states;   /* tiled decode: one state per tile (its region incl. halo), lazily */
    float **tile_hist;         /* tiled decode, states on the host: last 2 input frames per tile */
    int tile_count;
    int low_res;               /* a composed upsampler conv (vae_upcompose.c): its frames are half the size of the
                                * memory model's conv at its place (tsr_mm_causal.scale) */
} vae_conv;

typedef struct vae_resnet {
    tsr_wt *norm1, *norm2;
    vae_conv conv1, conv2, shortcut; /* shortcut.w == NULL when cin == cout */
} vae_resnet;

/* vae_upcompose.c: Upsample3D composed into shuffle convs over its input (backend.h conv3d). Variants: the generic
 * conv (causal; rt = 2: kt 2, rt = 1: kt 3) and, for rt = 2, the clip's low-res frame 1 (PAIR, causal kt 2: its
 * first output is not used) and frame 0 (ZERO, kt 1, one output frame). */
enum { TSR_UPC_GEN, TSR_UPC_PAIR, TSR_UPC_ZERO, TSR_UPC_VARIANTS };
typedef struct tsr_upcomposed {
    float *w;                  /* [cout][C][kt][2][2] */
    float *b;                  /* [cout] + the edge table [rt][4][4][C] */
    int cout, kt, rt;          /* cout = 4 rt C; rt: the shuffle's (ZERO: 1) */
} tsr_upcomposed;
/* From the 1x1 conv (pw [4 rt c][c], pb) and the 3x3x3 conv (cw [c][c][27], cb); threads <= 0: every core. */
tsr_status tsr_vae_upcompose(const float *pw, const float *pb, const float *cw, const float *cb, int c, int rt,
                             int threads, tsr_upcomposed out[TSR_UPC_VARIANTS], tsr_error *err);
void tsr_vae_upcompose_free(tsr_upcomposed u[TSR_UPC_VARIANTS]);

typedef struct vae_half {
    vae_conv conv_in, conv_out;
    vae_resnet *resnets;       /* [num_blocks][layers] */
    int layers;
    vae_conv resample[TSR_MAX_BLOCKS];          /* encoder: downsampler conv; decoder: upsampler conv */
    vae_conv upscale[TSR_MAX_BLOCKS];           /* decoder: upscale_conv (1x1x1) */
    int rt[TSR_MAX_BLOCKS];                     /* decoder: temporal factor of upsampler i */
    int composed;                               /* decoder: the upsamplers run as upc (untiled and deep decodes; the
                                                 * tiled executor keeps upscale + resample) */
    vae_conv upc[TSR_MAX_BLOCKS][TSR_UPC_VARIANTS]; /* decoder: the composed convs (vae_upcompose.c) */
    int up_seen[TSR_MAX_BLOCKS];                /* decoder, composed: low-res frames upsampler i has seen this clip */
    vae_resnet mid[2];
    tsr_wt *attn_norm, *attn;
    tsr_wt *norm_out;
} vae_half;

struct tsr_vae {
    tsr_engine *engine;
    tsr_backend *be;
    tsr_vae_config cfg;
    char model_digest[72];     /* tsr_model_digest of the model it was made from (the autotuner's key) */
    vae_half enc, dec;
    int tile_local_norm;       /* tests: per-tile GroupNorm statistics (the reference's approximation) */
    uint64_t tile_state_bytes; /* fp32 bytes of the per-tile causal states created in this clip */
    uint64_t tile_hist_bytes;  /* fp32 bytes of host-side state history (host_state mode) */
    uint64_t tile_resident_cap, tile_resident_used; /* device bytes whole-frame tiled tensors may take / take */
    uint64_t tile_resident_peak;                   /* high-water of tile_resident_used (tests, benchmarks) */
    vae_conv *dec_first_host;  /* the first decoder conv with a host state (prefetched when a chunk starts) */
};

/* vae_load.c */
tsr_status tsr_vae_load_half(tsr_vae *v, const tsr_weights *w, int encoder, tsr_error *err);
void tsr_vae_free_half(tsr_vae *v, vae_half *h);
void tsr_vae_reset_states(tsr_vae *v, vae_half *h);

/* vae_forward.c: one chunk through the network; `x` is consumed (freed), the result lands in `out`. */
tsr_status tsr_vae_conv(tsr_vae *v, vae_conv *c, tsr_act *x, const tsr_wt *pre_norm, int pre_silu,
                        const tsr_act *residual, tsr_act *out, tsr_error *err);
/* `group` > 0: the frame-local stages (tsr_vae_decoder_frame_local_from on) run over groups of that many frames of
 * the chunk, one after another with the same causal states (exact; smaller activations); 0 = the whole chunk. */
tsr_status tsr_vae_decoder_forward(tsr_vae *v, tsr_act *x, int first_chunk, int group, tsr_act *out, tsr_error *err);
/* The first up block after the last upsampler that changes the frame count: from there on every stage is
 * frame-local (per-frame GroupNorm, causal convs with explicit state, spatial upsampling only). */
int tsr_vae_decoder_frame_local_from(const tsr_vae *v);
/* conv_in, the mid block and up blocks [0, blocks) with their upsamplers; *x is replaced in place. */
tsr_status tsr_vae_decoder_head(tsr_vae *v, tsr_act *x, int first_chunk, int blocks, tsr_error *err);

/* vae_tiled.c: the decoder from up block `from` on, over a host [C][T][H][W] activation, in spatial tiles of
 * `tile` output pixels (exact: halos + whole-frame GroupNorm statistics). `x` is consumed; the result is
 * a host [3][T'][H'][W'] array in *out (free()). `tick` is called once per tile step (non-zero: cancel). */
typedef struct tsr_tiled_out {
    float *d;
    int c, t, h, w;
    tsr_gnstats *gs;           /* its GroupNorm statistics per (frame, group), gathered on the device, or NULL */
    tsr_act dev;               /* kept on the device instead (d == NULL) while the resident allowance lasts */
} tsr_tiled_out;
typedef int (*tsr_tile_tick)(void *user, int step, int steps);
typedef struct tsr_tiling {
    int from, tile, out_h;     /* first tiled up block, tile edge and frame height in output pixels */
    int host_state;            /* causal states on the host, history frames re-run (vae_tiled.c) */
    tsr_tile_tick tick;
    void *tick_user;
} tsr_tiling;
tsr_status tsr_vae_decode_tiled(tsr_vae *v, tsr_tiled_out *x, int first_chunk, const tsr_tiling *t,
                                tsr_tiled_out *out, tsr_error *err);
/* The tiled decode's input from the untiled head: x (device, consumed) kept on the device when `resident`
 * bytes (the allowance for whole-frame tensors of the tiled layers this chunk) hold it, else downloaded; its
 * GroupNorm statistics gathered on the device first. */
tsr_status tsr_vae_tiled_input(tsr_vae *v, tsr_act *x, uint64_t resident, tsr_tiled_out *out, tsr_error *err);
void tsr_vae_tiled_free(tsr_vae *v, tsr_tiled_out *t);
/* Encoder conv_in and down blocks over a host [3][T][H][W] chunk in tiles of `tile` input pixels; the
 * result (input of the mid block) lands in *out. `x` is consumed. */
tsr_status tsr_vae_encode_tiled(tsr_vae *v, tsr_tiled_out *x, int first_chunk, int tile, tsr_tiled_out *out,
                                tsr_error *err);

/* Where a decode reads its latent: chunk by chunk through `read` (an array or a file behind it). `check`:
 * scan each chunk for NaN/Inf (a whole array is scanned once up front instead). */
typedef struct tsr_latent_src {
    tsr_latent_reader read;
    void *user;
    int check;
} tsr_latent_src;
/* vae_decode.c: the chunk loop with fixed settings; frames below *emitted are re-computed, not re-delivered. */
tsr_status tsr_vae_decode_pass(tsr_vae *vae, const tsr_latent_src *src, int c, int t, int h, int w,
                               const tsr_decode_params *p, tsr_frame_sink sink, void *sink_user, int *emitted,
                               tsr_error *err);
/* vae_decode.c: every value of latent frames t0 .. t0+n-1 ([c][n][hw]) finite, else TSR_ERR_INPUT naming one. */
tsr_status tsr_vae_check_values(const float *x, int c, int n, size_t hw, int t0, tsr_error *err);
/* vae_deep.c: tsr_decode_params.deep_tile: per tile the whole clip (head on the whole frame, the rest on the
 * tile's region), the output kept in host memory and delivered after the last tile; frames below *emitted are not
 * delivered again. */
tsr_status tsr_vae_decode_deep(tsr_vae *vae, const tsr_latent_src *src, int c, int t, int h, int w,
                               const tsr_decode_params *p, tsr_frame_sink sink, void *sink_user, int *emitted,
                               tsr_error *err);
/* vae_plan.c, deep tiles: the head's states (convs of memory-model stages < `from`; host states first; only when
 * `head`) over the whole latent h x w and the tail's over a tile's region of rh x rw head-output pixels (at each
 * conv's scale), created by the first tile, reset by the later ones (every region has the same size), before the
 * tile's first chunk. tsr_vae_deep_drop_head frees the head's states (its output is cached: no more head runs). */
tsr_status tsr_vae_deep_states(tsr_vae *v, int h, int w, int rh, int rw, int head, tsr_error *err);
void tsr_vae_deep_drop_head(tsr_vae *v);
/* vae_forward.c: 0 while a composed decoder's next chunk still takes the clip's first-frame variants (its ops differ
 * from a steady chunk's of the same shape: no graph replay). */
int tsr_vae_decoder_steady(const tsr_vae *v);
/* vae_forward.c: Upsample3D i of half h (1x1 conv, depth-to-space, causal 3x3x3 conv); *x replaced in place. */
tsr_status tsr_vae_upsample(tsr_vae *v, vae_half *h, int i, tsr_act *x, int first_chunk, tsr_error *err);
/* vae_plan.c: tsr_decode_params.memory_budget — run the planner's plan, re-plan smaller on device OOM. */
tsr_status tsr_vae_decode_planned(tsr_vae *vae, const tsr_latent_src *src, int c, int t, int h, int w,
                                  const tsr_decode_params *p, tsr_frame_sink sink, void *sink_user, tsr_error *err);
/* vae_plan.c: keep the causal states of the `count` largest decoder convs (the planner's order; `head_only`: of
 * the deep tiles' head, tsr_mm_deep_from) in host memory from their next creation on, each prefetched one
 * host-state conv ahead; 0 = all on the device. */
tsr_status tsr_vae_offload_mark(tsr_vae *v, int count, int head_only, tsr_error *err);
/* vae_forward.c: start the copy of the chunk's first host state (tsr_vae_offload_mark) to the device. */
tsr_status tsr_vae_prefetch_first(tsr_vae *v, tsr_error *err);
/* Create every decoder state for a latent of h x w now (untiled decodes), host states first (execution
 * order), so that the staging buffers and the states sit below the activations in a first-fit arena (no
 * fragmentation from states created between a chunk's activations) and the peak is the memory model's
 * activations + states from the first chunk on. */
tsr_status tsr_vae_decoder_states_create(tsr_vae *v, int h, int w, tsr_error *err);
/* An array [c][t][h][w] as a latent source (user = tsr_latent_array). */
typedef struct tsr_latent_array {
    const float *data;
    int c, t, h, w;
} tsr_latent_array;
tsr_status tsr_latent_array_read(void *user, float *dst, int t0, int n, tsr_error *err);

/* `group` > 0: the frame-local front (conv_in .. the down block before the first temporal downsampler) runs over
 * groups of that many frames, written into one tensor the downsampler reads (exact); 0 = the whole chunk. */
tsr_status tsr_vae_encoder_forward(tsr_vae *v, tsr_act *x, int group, tsr_act *out, tsr_error *err);
/* The down block whose downsampler is the encoder's first temporal one (num_blocks - 1 when none): conv_in and
 * the down blocks up to it (without that downsampler) are frame-local. */
int tsr_vae_encoder_frame_local_to(const tsr_vae *v);

/* vae_chunk.c: one chunk as a backend graph when possible. `input` makes the chunk's input activation (it may
 * be called twice: a graph that could not run is redone eagerly), `body` runs the ops (consuming x). `key`
 * names the chunk's shapes (tsr_vae_chunk_key), 0 = always eager (first chunks: states start there). */
typedef tsr_status (*tsr_chunk_input)(void *user, tsr_act *x, tsr_error *err);
typedef tsr_status (*tsr_chunk_body)(void *user, tsr_act *x, tsr_act *y, tsr_error *err);
uint64_t tsr_vae_chunk_key(const tsr_vae *v, int kind, int c, int t, int h, int w);
tsr_status tsr_vae_run_chunk(tsr_vae *v, uint64_t key, tsr_chunk_input input, tsr_chunk_body body, void *user,
                             tsr_act *y, tsr_error *err);
/* The encoder's mid block, conv_norm_out and conv_out (what follows the tiled part). */
tsr_status tsr_vae_encoder_tail(tsr_vae *v, tsr_act *x, tsr_act *out, tsr_error *err);
#endif
