/* cuda_internal.h — the CUDA backend instance, shared by cuda_backend.c (device, memory, parameters),
 * cuda_ops.c (ops) and cuda_conv.c (the built-in conv). */
#ifndef TSR_CUDA_INTERNAL_H
#define TSR_CUDA_INTERNAL_H

#include "backend/backend.h"
#include "backend/cuda/cuda_conv.h"
#include "backend/cuda/cuda_driver.h"

enum {
    K_CONV_BN128, K_CONV_BN64, K_GEMM_F32, K_GN_STATS, K_GN_FINALIZE, K_GN_APPLY, K_D2S, K_ADD, K_SOFTMAX,
    K_CONV_ASYNC_BN128, K_CONV_ASYNC_BN64, K_GEMM_ASYNC_F32, K_CONV_ASYNC_BN256, K_CONV_ASYNC_K64, K_TO_PLANAR, K_FROM_PLANAR,
    K_FRAMES_TO_ACT, K_TO_PLANAR_F32, K_PROF_GATE, K_CONV_NARROW, K_UPSHUFFLE, K_CONV_NARROW_333, K_SOFTMAX4,
    K_SOFTMAX8, K_CONV_WG8, K_CONV_WG16, K_COUNT
};
/* kernels of optional modules (conv_wg: sm_90a code only): NULL where the module does not load */
#define TSR_CUDA_OPTIONAL_KERNEL(k) ((k) == K_CONV_WG8 || (k) == K_CONV_WG16)

/* One asynchronous download in flight (act_download_start / download_wait): the activation converted to
 * planar fp32 in `dev` on the compute stream, copied to `pinned` on the copy stream once `ready` fires;
 * `done` marks the copy's end. `dev` is the slot's own allocation outside the arena (grown on demand), so
 * that a download in flight never changes the arena's layout between chunks (graph replays need it). */
typedef struct tsr_dl_slot {
    int busy, ticket;
    float *host;                    /* caller's destination */
    size_t n;                       /* floats */
    CUdeviceptr dev;
    size_t dev_bytes;
    void *pinned;
    size_t pinned_bytes;
    CUevent ready, done;
} tsr_dl_slot;

typedef struct tsr_arena_block {
    uint64_t off, size;
    int used;
} tsr_arena_block;

typedef struct tsr_arena {
    CUdeviceptr base;
    uint64_t size, in_use, peak;
    tsr_arena_block *blocks;
    int count, cap;
} tsr_arena;

#define TSR_CUDA_MAX_IMPLS 4

/* Optional per-op profile (TSR_CUDA_PROFILE=1): device events around each op part, printed at destroy;
 * TSR_CUDA_PROFILE=2 also sums the conv parts per layer (tsr_cuda_prof_layer) and prints that table. */
enum { P_CONV3, P_CONV_OTHER, P_NORM, P_STATE, P_ATTN, P_D2S, P_ADD, P_COPY, P_KINDS };
#define TSR_PROF_CAP 512
typedef struct tsr_prof_rec {
    CUevent a, b;
    int kind;
    double flop;
    const char *layer;              /* profile 2: the conv's name, or NULL */
} tsr_prof_rec;
#define TSR_PROF_LAYERS 256
typedef struct tsr_prof_layer {
    char name[112];                 /* a copy: the weights may be gone when the table is printed */
    long calls;
    double ms, flop;
} tsr_prof_layer;

struct tsr_cuda {
    tsr_backend be;                 /* first member: ops table */
    tsr_cu_api api;
    CUdevice dev;
    CUcontext ctx;
    CUstream stream;
    CUmodule modules[8];
    const char *module_names[8];    /* the fatbin each came from (optional ones may be missing) */
    int module_count;
    CUfunction fn[K_COUNT];
    int sm_count, cc_major, cc_minor, driver_version;
    char name[128];
    int conv_async;                 /* cp.async pipelined conv (default; TSR_CUDA_CONV=sync: the simple one) */
    int conv_wide;                  /* 128x256 tiles where cout >= 256 (TSR_CUDA_CONV=wide) */
    int conv_k64;                   /* BK = 64, 3 stages where cin >= 64 (default; TSR_CUDA_CONV=k32: BK = 32) */
    int conv_narrow;                /* tsr_conv_narrow for cout <= 8, GroupNorm fused: 1 (default; conv_out's shape by
                                     * tsr_conv_narrow_333), 2 (TSR_CUDA_NARROW=generic: never _333), 0 (=0: off) */
    int conv_wg;                    /* kernels/conv_wg.cu (sm_90 warpgroup MMAs, GroupNorm fused) for the 3x3 convs
                                     * it fits: 1 (TSR_CUDA_WG=1) those with 128 outputs, 2 (=all) every one, 0
                                     * (default, or no sm_90a code for this GPU) none */
    int conv_wg_tile;               /* its tile width: 16 (default; 256 pixels a block) or 8 (TSR_CUDA_WG_TILE=8) */
    long conv_wg_calls;             /* launches so far (tests check that the kernel ran) */
    int gemm_dnn;                   /* GEMMs through cuDNN where it can (default; TSR_CUDA_GEMM=builtin: never) */
    int d2s_head;                   /* depth-to-space outputs get spare frames for the next conv's prefix (default;
                                     * TSR_CUDA_D2S_HEAD=0: off) */
    tsr_arena arena;
    uint64_t free_low;              /* device free-memory low-water (bytes) */
    int tuning_external;            /* backend params: the caller keeps the cuDNN choices (no default file) */
    tsr_cuda_conv_impl impls[TSR_CUDA_MAX_IMPLS];
    tsr_layer_precision impl_prec[TSR_CUDA_MAX_IMPLS];
    int impl_count;
    void *stage;                    /* pinned host staging buffer for transfers */
    struct tsr_threadpool *pool;    /* host threads for the fp32<->bf16 conversion of transfers (may be NULL) */
    size_t stage_bytes;
    CUevent stage_ev;               /* recorded after the last copy out of `stage`; waited before reuse */
    int stage_pending;
    CUstream copy_stream;           /* device-to-host copies of act_download_start, beside the compute */
    tsr_dl_slot dl[TSR_BACKEND_MAX_DOWNLOADS];
    int dl_seq;
    double upload_s, download_s, wait_s; /* host seconds since the last stats reset (tsr_engine_stats) */
    uint64_t free_total;
    int profile;
    tsr_prof_rec *prof;
    int prof_n;
    double prof_ms[P_KINDS], prof_flop[P_KINDS];
    long prof_calls[P_KINDS];
    tsr_prof_layer *prof_layers;    /* profile 2: per-conv sums since the last reset */
    int prof_nlayers;
    unsigned *gate;                 /* profile: pinned word the gate kernel polls; released at each part's end */
    CUdeviceptr gate_dev;
    unsigned gate_seq;
    /* CUDA graphs (cuda_graph.c) */
    int graphs;                     /* enabled (TSR_CUDA_GRAPHS != 0, no profile, no FP8) */
    int frame0;                     /* output frame 0 by the summed-weight conv (tsr_wt.w0; TSR_CUDA_FRAME0=0: off) */
    int gmode;                      /* 0 eager, 1 recording, 2 replaying (ops only do host bookkeeping) */
    int gcur, gpos, gmismatch;
    tsr_cu_api api_live;            /* the real entry points while replaying swaps in no-op stubs */
    struct tsr_graph_ent *gent;
    long graph_captures, graph_replays, graph_fallbacks;
    /* causal states in pinned host memory (cuda_hoststate.c) */
    struct tsr_hs *hs;              /* NULL until the first host state */
};

/* cuda_graph.c: per-chunk CUDA graphs (see there) */
#define TSR_GRAPH_CAP 8
typedef struct tsr_graph_ent {
    uint64_t key, layout;           /* chunk key, arena block list hash at the recording's start */
    int seen;                       /* runs of this key so far (-1: recording failed, never again) */
    CUgraphExec exec;
    uint64_t *log;                  /* arena allocations and frees of the recording: {off*2 + free, size} */
    int nlog, caplog;
} tsr_graph_ent;
tsr_status tsr_cuda_graph_init(tsr_cuda *cu, tsr_error *err);
void tsr_cuda_graph_destroy(tsr_cuda *cu);
void tsr_cuda_graph_invalidate(tsr_cuda *cu);
void tsr_cuda_graph_log(tsr_cuda *cu, uint64_t off, uint64_t size, int is_free);
tsr_status tsr_cuda_graph_begin(tsr_backend *be, uint64_t key, tsr_error *err);
tsr_status tsr_cuda_graph_end(tsr_backend *be, int ok, int *ran, tsr_error *err);
/* Replaying: nothing may reach the device (cuDNN is called outside the driver table: it asks this). */
static inline int tsr_cuda_graph_dry(const tsr_cuda *cu) { return cu->gmode == 2; }
static inline void tsr_cuda_graph_mismatch(tsr_cuda *cu) { cu->gmismatch = 1; }

struct tsr_buf {
    CUdeviceptr p;                  /* frame 0 */
    CUdeviceptr base;               /* the arena block: `head` spare frames before p (tsr_cuda_act_ensure_head) */
    int head;
    uint64_t bytes;                 /* the t frames from p */
    int cp;
    void *host;                     /* act_alloc_host: the pinned block (p is its device address), else NULL */
};

enum { WT_CONV = 1, WT_NORM, WT_ATTN };
struct tsr_wt {
    int kind;
    tsr_conv_desc desc;             /* WT_CONV */
    char name[96];
    int cin_p, cout_p;
    CUdeviceptr w, b;               /* conv: bf16 weights, fp32 bias */
    CUdeviceptr edge;               /* shuffle conv: fp32 edge table [rt][4][4][C] (backend.h conv3d), else 0 */
    CUdeviceptr w0;                 /* causal conv, stride 1 in time, not FP8: the weights summed over kt, bf16
                                     * [cout_p][kh*kw][cin_p]: output frame 0 of a clip sees kt copies of input
                                     * frame 0, so it is this 1 x kh x kw conv (1/kt of the work); else 0 */
    tsr_conv_desc desc0;            /* that conv (kt 1, not causal), named name0 */
    CUdeviceptr wgw, wgw0;          /* w / w0 for kernels/conv_wg.cu where it runs the conv (tsr_cuda_conv_wg_fits):
                                     * 16 KiB blocks [cout_p / 128][taps][cin_p / 64], each 128 output channels x 64
                                     * inputs in 128-byte rows, 16-byte chunk c of row n at c ^ (n % 8); else 0 */
    char name0[112];
    int channels, groups;           /* WT_NORM / WT_ATTN */
    float eps;
    CUdeviceptr gamma, beta;        /* fp32 [cp] */
    CUdeviceptr wq, wk, wv, wo;     /* attention: bf16 [c][c] */
    CUdeviceptr bq, bk, bv, bo;     /* fp32 [c] */
};

struct tsr_state {
    int kt, st, keep, h, w, cp;
    int filled, has_aff;
    CUdeviceptr frames;             /* bf16 [keep][h][w][cp] raw conv input (host state: its staging buffer while a
                                     * conv uses it, else 0) */
    CUdeviceptr aff;                /* float2 [keep][cp] prologue affine of those frames (always on the device) */
    void *host;                     /* state_create_host: pinned bf16 [keep][h][w][cp], the frames between convs */
    int slot;                       /* host: staging buffer holding its frames for the next conv, or -1 */
    int home;                       /* host: the staging buffer it uses (creation order, alternating) */
};

/* cuda_hoststate.c: host states (backend.h state_create_host / state_prefetch). acquire before a conv reads
 * or writes s->frames (the staging buffer, loaded if the state is filled; the compute stream waits for the
 * copy), release after it (the new frames copied back to host memory on the download stream). join: the
 * copy streams' work so far ordered before the compute stream's next work (graph_begin / graph_end). */
tsr_status tsr_cuda_state_create_host(tsr_backend *be, const tsr_conv_desc *d, int h, int w, tsr_state **out,
                                      tsr_error *err);
tsr_status tsr_cuda_state_prefetch(tsr_backend *be, tsr_state *s, tsr_error *err);
void tsr_cuda_host_state_free(tsr_cuda *cu, tsr_state *s);
void tsr_cuda_host_state_reset(tsr_cuda *cu, tsr_state *s);
tsr_status tsr_cuda_hs_acquire(tsr_cuda *cu, tsr_state *s, tsr_error *err);
tsr_status tsr_cuda_hs_release(tsr_cuda *cu, tsr_state *s, int ok, tsr_error *err);
tsr_status tsr_cuda_hs_join(tsr_cuda *cu, tsr_error *err);
void tsr_cuda_hs_destroy(tsr_cuda *cu);
void tsr_cuda_hs_bytes(const tsr_cuda *cu, uint64_t *in_use, uint64_t *peak);

/* profile: begin returns a record index (or -1 when off); end records the stop event */
int tsr_cuda_prof_begin(tsr_cuda *cu);
void tsr_cuda_prof_end(tsr_cuda *cu, int rec, int kind, double flop);
void tsr_cuda_prof_layer(tsr_cuda *cu, int rec, const char *name);

/* A kernel of kernels/<module>.cu by name, or NULL. */
CUfunction tsr_cuda_find_kernel(tsr_cuda *cu, const char *module, const char *name);
/* Register the FP8 conv (cuda_conv_fp8.c) when the GPU has FP8 tensor cores and a policy asks for it. */
tsr_status tsr_cuda_conv_fp8_install(tsr_cuda *cu, tsr_error *err);
/* cuDNN convs (cuda_conv_cudnn.c), opt-in with TSR_CUDNN=1: bf16 for every conv it can run; FP8 through it. */
struct tsr_cudnn;
int tsr_cuda_cudnn_enabled(void);
tsr_status tsr_cuda_conv_cudnn_install(tsr_cuda *cu, tsr_error *err);
/* backend ops tuning_export / tuning_import: the cuDNN bf16 plan choices (cudnn.h text) */
char *tsr_cuda_tuning_export(tsr_backend *be);
tsr_status tsr_cuda_tuning_import(tsr_backend *be, const char *text, tsr_error *err);
/* One conv through cuDNN on a materialised [prefix | input] tensor x_ext; dtype: a tsr_cudnn_dtype (cudnn.h): bf16,
 * e4m3 with scales, or bf16 with an fp32 output. */
tsr_status tsr_cuda_cudnn_conv(tsr_cuda *cu, struct tsr_cudnn *dnn, const tsr_cuda_conv_problem *p, int dtype,
                               uint64_t x_ext, uint64_t weight, uint64_t xscale, uint64_t wscale, tsr_error *err);

/* memory */
tsr_status tsr_cuda_arena_alloc(tsr_cuda *cu, uint64_t bytes, CUdeviceptr *out, tsr_error *err);
void tsr_cuda_arena_free(tsr_cuda *cu, CUdeviceptr p);
tsr_status tsr_cuda_launch(tsr_cuda *cu, int k, unsigned gx, unsigned gy, unsigned gz, unsigned block, void **args,
                           tsr_error *err);
tsr_status tsr_cuda_launch_smem(tsr_cuda *cu, int k, unsigned gx, unsigned gy, unsigned gz, unsigned block,
                                unsigned smem, void **args, tsr_error *err);
/* dynamic shared memory of the pipelined conv kernels (kernels/conv_bf16.cu: STAGES x (BM + BN) x 40 x 2 bytes) */
#define TSR_CONV_ASYNC_SMEM(bn) (4u * (128u + (unsigned)(bn)) * 40u * 2u)
#define TSR_CONV_K64_SMEM (3u * 256u * 72u * 2u)
/* tsr_conv_narrow (cout_p == 8): one (8 + 2) x (32 + 2) pixel patch of 32 channels, rows of 40 halves, plus the
 * weights; 96 KiB fits every supported GPU's opt-in limit (sm_86 / sm_89 / sm_120: 99 KiB) */
#define TSR_CONV_NARROW_PATCH (10u * 34u * 40u * 2u)
#define TSR_CONV_NARROW_SMEM_MAX (96u * 1024u)
/* tsr_conv_wg8/16 (kernels/conv_wg.cu WgShape::SMEM): two 18-row patches of 64 channels, rows padded to a multiple of
 * 8 pixels, + six 16 KiB weight slots + 1 KiB to align them to the swizzle atom + 16 mbarriers */
#define TSR_CONV_WG_SMEM(segs) (1024u + 2u * 18u * ((8u * (unsigned)(segs) + 2u + 7u) / 8u * 8u) * 128u + 6u * 16384u + 128u)
tsr_status tsr_cuda_check(tsr_cuda *cu, CUresult r, tsr_error *err, const char *what);
/* A new activation (when out has none) with `head` spare frames in front of frame 0: a causal conv that reads
 * [prefix | input] in place writes its prefix there (depth-to-space outputs, which feed the upsamplers' convs). */
tsr_status tsr_cuda_act_ensure_head(tsr_cuda *cu, tsr_act *out, int c, int t, int h, int w, int head, tsr_error *err);
#define TSR_CUDA_D2S_HEAD 2

/* GroupNorm statistics of `in` -> per-(frame, channel) affine float2 [t][cp] (allocated from the arena). */
tsr_status tsr_cuda_gn_affine(tsr_cuda *cu, const tsr_wt *norm, const tsr_act *in, CUdeviceptr *affine,
                              tsr_error *err);

/* Plain GEMM through the conv kernel: C[m][n] = alpha * sum_k A[m][k] B[n][k] (+bias) (+res), batched. */
typedef struct tsr_cuda_gemm {
    CUdeviceptr a, b, c, bias, res;
    long long m;
    int n, k, ldc, batch, bias_row, f32_out;
    long long sa, sb, sc;
    float alpha;
} tsr_cuda_gemm;
tsr_status tsr_cuda_gemm_run(tsr_cuda *cu, const tsr_cuda_gemm *g, tsr_error *err);
/* The same GEMM through cuDNN (cuda_conv_cudnn.c); TSR_ERR_UNSUPPORTED where it cannot run it (gemm_run then
 * uses the built-in kernel). */
tsr_status tsr_cuda_cudnn_gemm(tsr_cuda *cu, const tsr_cuda_gemm *g, tsr_error *err);

/* ops (cuda_ops.c) */
extern const tsr_backend_ops tsr_cuda_ops;
tsr_status tsr_cuda_op_conv3d(tsr_backend *be, const tsr_wt *conv, const tsr_act *in, tsr_state *state,
                              const tsr_wt *pre_norm, int pre_silu, const tsr_act *residual, tsr_act *out,
                              tsr_error *err);
tsr_status tsr_cuda_op_group_norm(tsr_backend *be, const tsr_wt *norm, const tsr_act *in, int silu, tsr_act *out,
                                  tsr_error *err);
tsr_status tsr_cuda_op_attention(tsr_backend *be, const tsr_wt *attn, const tsr_act *in, tsr_act *out,
                                 tsr_error *err);
tsr_status tsr_cuda_op_d2s(tsr_backend *be, const tsr_act *in, int rt, int rs, int drop_first, tsr_act *out,
                           tsr_error *err);
tsr_status tsr_cuda_op_add(tsr_backend *be, const tsr_act *a, const tsr_act *b, tsr_act *out, tsr_error *err);
tsr_status tsr_cuda_act_alloc(tsr_backend *be, int c, int t, int h, int w, tsr_act *out, tsr_error *err);
/* Allocate `out` when out->buf is NULL, else check its shape. */
tsr_status tsr_cuda_act_ensure(tsr_cuda *cu, tsr_act *out, int c, int t, int h, int w, tsr_error *err);

#endif
