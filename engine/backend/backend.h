/* backend.h — the one op table every compute backend implements (ggml_backend_i is the model).
 *
 * The VAE graph (engine/vae) is written once against this table. The CPU backend is the fp32 reference;
 * the CUDA backend implements the same ops in bf16/fp8 and is checked against the CPU op by op.
 *
 * Activations are logical [C][T][H][W] tensors (batch 1). Their memory layout is the backend's business
 * (CUDA: channels-last NDHWC bf16); they cross the table only through act_upload / act_download, which
 * take host fp32 in [C][T][H][W] order.
 *
 * Fusion is expressed in the op arguments, not in extra ops: conv3d takes an optional GroupNorm(+SiLU)
 * applied to its input and an optional residual added to its output. A backend may run them fused (CUDA)
 * or one after another (CPU); the result must be the same function.
 *
 * Causal temporal convolutions carry an explicit state object (the last kt - st frames of the conv's
 * *input after the optional norm*, as the reference keeps it). A fresh or reset state means "first chunk":
 * the conv then extends its input by replicating frame 0 (2 copies for kt = 3), exactly as spec §3.1.
 * The state's memory layout is private to the backend (CUDA may keep raw input + per-frame norm affine).
 *
 * Output activations: an op whose `out->buf` is NULL allocates it with the op's output shape (the usual
 * way, engine/vae does this); a caller-provided `out` must already have that shape. group_norm may run in
 * place (out == in). wt_free, state_free and act_free accept NULL.
 *
 * Threading: one thread per backend instance. Errors never abort: every op returns a status.
 */
#ifndef TSR_BACKEND_H
#define TSR_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "tessera.h"

#define TSR_BACKEND_ABI_VERSION 5

typedef struct tsr_backend tsr_backend;   /* a backend instance: first member is `const tsr_backend_ops *ops` */
typedef struct tsr_buf tsr_buf;           /* backend-private activation storage */
typedef struct tsr_wt tsr_wt;             /* backend-private uploaded parameters of one layer */
typedef struct tsr_state tsr_state;       /* backend-private causal state of one temporal conv */
typedef struct tsr_gnstats tsr_gnstats;   /* backend-private GroupNorm sums per (frame, group) */

typedef struct tsr_act {
    tsr_buf *buf;
    int c, t, h, w;
} tsr_act;

/* Per-layer numeric precision (a backend may support only some; CPU computes everything in fp32). */
typedef enum tsr_layer_precision {
    TSR_LP_DEFAULT = 0,  /* the backend's default (CPU fp32, CUDA bf16) */
    TSR_LP_FP32,
    TSR_LP_BF16,
    TSR_LP_FP16,
    TSR_LP_FP8           /* e4m3 weights per output channel, activations per tensor */
} tsr_layer_precision;

typedef struct tsr_conv_desc {
    int cin, cout;
    int kt, kh, kw;
    int st, sh, sw;                 /* strides */
    int pad_top, pad_bottom;        /* zero padding rows (3x3: 1,1; encoder downsampler: 0,1) */
    int pad_left, pad_right;        /* zero padding cols (3x3: 1,1; encoder downsampler: 0,1) */
    int causal;                     /* kt > 1: causal temporal extension/state of kt - st frames */
    tsr_layer_precision precision;
    const char *name;               /* layer name for errors and profiles, e.g. "decoder.conv_in" */
    int shuffle_rt;                 /* ABI 5, > 0: a composed upsampler conv (engine/vae/vae_upcompose.c), its output
                                     * shuffled by depth-to-space (conv3d below); 0: a plain conv */
} tsr_conv_desc;

/* Output size of a conv along one axis (same formula for every axis; time uses the causal extension). */
static inline int tsr_conv_out_len(int in, int k, int s, int pad0, int pad1)
{
    int n = in + pad0 + pad1 - k;
    return n < 0 ? 0 : n / s + 1;
}

typedef struct tsr_backend_ops {
    int abi_version;                /* TSR_BACKEND_ABI_VERSION */
    const char *name;               /* "cpu", "cuda" */

    void (*destroy)(tsr_backend *be);

    /* --- activations --- */
    tsr_status (*act_alloc)(tsr_backend *be, int c, int t, int h, int w, tsr_act *out, tsr_error *err);
    void (*act_free)(tsr_backend *be, tsr_act *a);          /* NULL-safe; sets a->buf = NULL */
    tsr_status (*act_upload)(tsr_backend *be, tsr_act *dst, const float *host_cthw, tsr_error *err);
    tsr_status (*act_download)(tsr_backend *be, const tsr_act *src, float *host_cthw, tsr_error *err);

    /* --- parameters (host fp32 in PyTorch layout) --- */
    tsr_status (*conv_upload)(tsr_backend *be, const tsr_conv_desc *d, const float *weight /* [cout][cin][kt][kh][kw] */,
                              const float *bias /* [cout] or NULL */, tsr_wt **out, tsr_error *err);
    tsr_status (*norm_upload)(tsr_backend *be, int channels, int groups, float eps, const float *gamma,
                              const float *beta, tsr_wt **out, tsr_error *err);
    /* Mid-block attention: GroupNorm, q/k/v/out linears [c][c] (+bias [c]); one head, head_dim = c. */
    tsr_status (*attn_upload)(tsr_backend *be, int channels, const tsr_wt *norm, const float *const wq[2],
                              const float *const wk[2], const float *const wv[2], const float *const wo[2],
                              tsr_wt **out, tsr_error *err);
    void (*wt_free)(tsr_backend *be, tsr_wt *w);

    /* --- causal state of a temporal conv for frames of size h x w --- */
    tsr_status (*state_create)(tsr_backend *be, const tsr_conv_desc *d, int h, int w, tsr_state **out, tsr_error *err);
    void (*state_reset)(tsr_backend *be, tsr_state *s);      /* back to "first chunk" */
    void (*state_free)(tsr_backend *be, tsr_state *s);

    /* --- ops --- */
    /* out = conv(silu?(norm?(in))) + bias (+ residual). `state` is required iff d->causal && kt > 1.
     * Output T: first chunk tsr_conv_out_len(T, kt, st, kt-1, 0); later chunks (state full)
     * tsr_conv_out_len(T + kt - st, kt, st, 0, 0).
     * A shuffle conv (d->shuffle_rt = r > 0: kh = kw = 2, every zero padding 1, strides 1, cout = 4 r C, no norm, no
     * residual) is that conv, z = conv(in) + bias of [4 r C][T'][H+1][W+1], then depth-to-space with a one-pixel
     * shift and an edge correction: out [C][r T'][2H][2W],
     *   out[c][r f + k][2i + a][2j + b] = z[((a * 2 + b) * r + k) * C + c][f][i + a][j + b] + edge[k][e(2i+a)][e(2j+b)][c]
     * with e(y) = 0 on the first row (column), 3 on the last, else 1 + (y & 1); edge [r][4][4][C] follows the
     * [cout] bias in conv_upload's `bias` (both zero when it is NULL). */
    tsr_status (*conv3d)(tsr_backend *be, const tsr_wt *conv, const tsr_act *in, tsr_state *state,
                         const tsr_wt *pre_norm, int pre_silu, const tsr_act *residual, tsr_act *out,
                         tsr_error *err);
    /* Per-frame GroupNorm (statistics over (C/groups) x H x W per frame and group, fp32) with optional SiLU. */
    tsr_status (*group_norm)(tsr_backend *be, const tsr_wt *norm, const tsr_act *in, int silu, tsr_act *out,
                             tsr_error *err);
    /* out = in + to_out(softmax(q k^T / sqrt(c)) v) per frame, q/k/v from GroupNorm(in). */
    tsr_status (*attention)(tsr_backend *be, const tsr_wt *attn, const tsr_act *in, tsr_act *out, tsr_error *err);
    /* Depth-to-space (spec §3.5 channel order ch = ((i*rs + j)*rt + k)*C + c); drop_first drops output
     * frame 1 (the second time phase of input frame 0) when rt == 2. out: C/(rs*rs*rt) channels. */
    tsr_status (*depth_to_space)(tsr_backend *be, const tsr_act *in, int rt, int rs, int drop_first, tsr_act *out,
                                 tsr_error *err);
    tsr_status (*add)(tsr_backend *be, const tsr_act *a, const tsr_act *b, tsr_act *out, tsr_error *err);

    /* Wait for queued work; report asynchronous errors. */
    tsr_status (*sync)(tsr_backend *be, tsr_error *err);

    /* Optional (may be NULL): bytes of device memory in use / high-water mark, profile labels. */
    void (*memory)(tsr_backend *be, uint64_t *in_use, uint64_t *peak, uint64_t *total);
    void (*profile_mark)(tsr_backend *be, const char *label);

    /* --- asynchronous transfers (ABI 2; every backend implements them, the CPU one synchronously) ---
     * act_upload returns once `host_cthw` may be reused; the copy itself may still be in flight, ordered
     * before every later op of the backend (so `dst` is ready for them). */

    /* Upload `n` frames, frame-major host fp32 (frames[i]: [dst->c][h][w], pointers may repeat: mirrored
     * padding frames) into dst frames 0..n-1, top-left aligned; dst pixels outside h x w are set to `fill`.
     * h <= dst->h, w <= dst->w, n == dst->t. Returns once the host frames may be reused. */
    tsr_status (*act_upload_frames)(tsr_backend *be, tsr_act *dst, const float *const *frames, int n, int h, int w,
                                    float fill, tsr_error *err);
    /* Queue the download of `src` to host fp32 [C][T][H][W] at `host_cthw` and return at once with a ticket.
     * `src` may be freed or overwritten right after the call. The data is in `host_cthw` (which must stay
     * valid until then) only once download_wait(ticket) returns TSR_OK: that is the completion point, and
     * where errors of the queued work are reported. At most TSR_BACKEND_MAX_DOWNLOADS may be in flight; the
     * tickets must be waited for in the order they were given. A ticket of a failed start is never waited. */
    tsr_status (*act_download_start)(tsr_backend *be, const tsr_act *src, float *host_cthw, int *ticket,
                                     tsr_error *err);
    tsr_status (*download_wait)(tsr_backend *be, int ticket, tsr_error *err);
    /* Counters for benchmarks (tessera.h tsr_engine_stats); `reset` clears the since-reset parts after
     * filling `out` (out may be NULL). */
    void (*stats)(tsr_backend *be, tsr_engine_stats *out, int reset);

    /* --- per-chunk graphs (ABI 2, optional: NULL = always eager) ---
     * graph_begin opens one chunk's op sequence, `key` naming its shapes (same key = same ops on same-shaped
     * data; 0 = run eagerly). The backend runs the ops eagerly, or records them into a graph while doing
     * their host bookkeeping, or replays the graph recorded for the key (the ops then do their host
     * bookkeeping only, checked against the recording). No transfer, download or sync between begin and end.
     * graph_end(ok = the ops succeeded) launches what was recorded or replayed. *ran = 0: nothing ran on
     * the device (recording failed, bookkeeping differed): free the chunk's outputs and run the chunk
     * again (its input re-made) without graph_begin; the device state is as before the chunk. */
    tsr_status (*graph_begin)(tsr_backend *be, uint64_t key, tsr_error *err);
    tsr_status (*graph_end)(tsr_backend *be, int ok, int *ran, tsr_error *err);
    /* --- GroupNorm over a frame processed in spatial tiles (vae/vae_tiled.c; ABI 2, both backends implement
     * them: vae_tiled.c fails with TSR_ERR_UNSUPPORTED on a backend without them) ---
     * A tsr_gnstats holds, per (frame, group), the element count, sum and sum of squares (double on the
     * CPU; fp32 partials merged into double on the GPU) of everything accumulated since the last reset, so a
     * frame's statistics can be gathered tile by tile (each tile's core once) on the device and then applied
     * as the norm's affine to any tile: the same function as group_norm over the whole frame. */
    tsr_status (*gn_stats_create)(tsr_backend *be, int t, int channels, int groups, tsr_gnstats **out,
                                  tsr_error *err);
    void (*gn_stats_reset)(tsr_backend *be, tsr_gnstats *s);
    void (*gn_stats_free)(tsr_backend *be, tsr_gnstats *s);                     /* NULL-safe */
    /* Add rows [y0, y1) x columns [x0, x1) of frames [f0, f0 + t) of `in` (t and channels as created). */
    tsr_status (*gn_stats_accum)(tsr_backend *be, const tsr_act *in, int f0, int y0, int x0, int y1, int x1,
                                 tsr_gnstats *s, tsr_error *err);
    /* out = silu?(in * a + b) per (frame, channel): a = gamma / sqrt(var + eps), b = beta - mean * a, mean and
     * var of the channel's group from `s` (population variance). out may be in. */
    tsr_status (*gn_stats_apply)(tsr_backend *be, const tsr_wt *norm, const tsr_act *in, const tsr_gnstats *s,
                                 int silu, tsr_act *out, tsr_error *err);
    /* Copy a box of t frames x h rows x w columns (every channel) from src at (sf, sy, sx) into dst at
     * (df, dy, dx); same channel count. Tiles cut from / put into whole frames kept on the device, and frame
     * ranges (whole frames: h, w = both tensors' size) cut from / put into a chunk (vae_forward.c frame
     * groups). No host synchronisation: usable inside a recorded chunk (graph_begin). */
    tsr_status (*act_copy_region)(tsr_backend *be, const tsr_act *src, int sf, int sy, int sx, tsr_act *dst, int df,
                                  int dy, int dx, int t, int h, int w, tsr_error *err);
    /* --- what the backend learnt by timing (ABI 3; NULL where it learns nothing, e.g. the CPU) ---
     * As text the caller may keep (the engine keeps it in the store): export is malloc'd, NULL when there is
     * nothing; import adds the text's choices (those of other devices or library versions are ignored) and
     * fails with TSR_ERR_FORMAT on a malformed text, changing nothing. */
    char *(*tuning_export)(tsr_backend *be);
    tsr_status (*tuning_import)(tsr_backend *be, const char *text, tsr_error *err);

    /* --- causal states in host memory (ABI 3; every backend implements them) ---
     * state_create_host: a state like state_create's whose frames live in host memory (CUDA: pinned, the same
     * bf16 bytes the device state would hold; CPU: ordinary memory outside its emulated device cap). The
     * backend keeps two device staging buffers (device memory: in the arena / the cap); host states alternate
     * between them in creation order (create them in execution order: consecutive host convs then use different
     * buffers) and each buffer grows to the largest state using it, so the two hold the largest even-numbered
     * plus the largest odd-numbered host state. Before a conv3d reads a host state, its frames are copied into
     * its staging buffer; the conv reads and updates them there and the new frames go back to host memory, asynchronously
     * (no host wait). Results are bit-identical to a device state; state_reset / state_free as for any state.
     * state_prefetch: start that copy now, for the state's next conv3d, so that it overlaps the ops queued
     * before that conv (the VAE issues it one temporal conv ahead). No-op for a device state and for a fresh
     * or reset one (nothing to copy). A prefetched state whose buffer another state takes before its conv ran
     * is copied again by its conv: correct, only slower. Allowed between graph_begin and
     * graph_end: the copies become part of the chunk's graph. */
    tsr_status (*state_create_host)(tsr_backend *be, const tsr_conv_desc *d, int h, int w, tsr_state **out,
                                    tsr_error *err);
    tsr_status (*state_prefetch)(tsr_backend *be, tsr_state *s, tsr_error *err);

    /* --- activations in host memory (ABI 4; every backend implements it) ---
     * An activation of the same layout as act_alloc's whose storage lives in host memory (CUDA: pinned and mapped
     * into the device's address space; CPU: ordinary memory outside its emulated device cap), for tensors that
     * outlive a chunk and do not fit the device: the deep tiles' cache of the head's output. Only act_copy_region
     * (either side; CUDA copies over the bus) and act_free take it. act_free waits for the copies queued on it. */
    tsr_status (*act_alloc_host)(tsr_backend *be, int c, int t, int h, int w, tsr_act *out, tsr_error *err);
} tsr_backend_ops;

#define TSR_BACKEND_MAX_DOWNLOADS 2

/* The most scratch memory one conv3d may take beside its operands (e.g. a cuDNN plan's workspace; plans that
 * want more are not used). The memory planner reserves it (plan/planner.c, the plan's workspace term). */
#define TSR_BACKEND_CONV_WORKSPACE_MAX (256ull << 20)

/* A shuffle conv's descriptor is what conv3d expects (backend.c), shared by the implementations. */
tsr_status tsr_backend_check_shuffle(const tsr_conv_desc *d, tsr_error *err);
/* The edge-table row (or column) class of output row y of a shuffled frame of `n` rows (conv3d above). */
static inline int tsr_shuffle_edge(int y, int n) { return y == 0 ? 0 : y == n - 1 ? 3 : 1 + (y & 1); }

/* state_create / state_create_host's argument check (backend.c): a causal temporal conv that keeps frames
 * (kt > st) over frames of h x w > 0. */
tsr_status tsr_backend_check_state(const tsr_conv_desc *d, int h, int w, const char *op, tsr_error *err);

/* gn_stats_accum's argument check (backend.c), shared by the implementations: `in` holds `channels` and
 * frames [f0, f0 + t), and the region is inside it and not empty. */
tsr_status tsr_backend_check_gn_region(const tsr_act *in, int channels, int t, int f0, int y0, int x0, int y1, int x1,
                                       tsr_error *err);

/* act_copy_region's argument check (backend.c), shared by the implementations: both tensors exist with the same
 * channels and the box is inside both and not empty. */
tsr_status tsr_backend_check_copy_region(const tsr_act *src, int sf, int sy, int sx, const tsr_act *dst, int df, int dy,
                                         int dx, int t, int h, int w, tsr_error *err);

struct tsr_backend {
    const tsr_backend_ops *ops;
};

typedef struct tsr_backend_params {
    int threads;                    /* CPU: worker threads (0 = all cores) */
    int device;                     /* CUDA: device ordinal */
    tsr_layer_precision precision;  /* default precision for layers that do not say */
    uint64_t memory_budget;         /* bytes, 0 = backend decides. CPU: a cap on its device-side bytes (activations,
                                     * device causal states, host-state staging buffers; not weights, not host
                                     * states) that emulates a device of that size (an allocation past it fails
                                     * with TSR_ERR_DEVICE_OOM) */
    int tuning_external;            /* the caller keeps the tuning (tuning_export / _import): no default cache
                                     * file (an explicit TSR_CUDNN_CACHE path still applies) */
} tsr_backend_params;

tsr_status tsr_cpu_backend_create(const tsr_backend_params *p, tsr_backend **out, tsr_error *err);
/* Returns TSR_ERR_NO_DEVICE / TSR_ERR_UNSUPPORTED with a reason when CUDA cannot be used. */
tsr_status tsr_cuda_backend_create(const tsr_backend_params *p, tsr_backend **out, tsr_error *err);
/* tsr_devices_list (tessera.h) for the CUDA backend: the driver's devices, or none with the reason. */
tsr_status tsr_cuda_devices(tsr_device_info *out, int max, int *count, tsr_error *err);

#endif
