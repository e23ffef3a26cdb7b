/* Private types of the CPU reference backend (fp32, planar [C][T][H][W] activations, threaded). */
#ifndef TSR_BACKEND_CPU_INTERNAL_H
#define TSR_BACKEND_CPU_INTERNAL_H
#include <stddef.h>

#include "backend/backend.h"
#include "core/threadpool.h"

/* GEMM register block: MR output channels x NR output pixels per micro-kernel call. */
#define TSR_CPU_MR 6
#define TSR_CPU_NR 16

/* c[i][j] += sum_k a[k][i] * b[k][j], i < mr, j < nr: kc steps over MR-row panel a and NR-column panel b. */
typedef void (*tsr_cpu_kernel_fn)(int kc, const float *a, const float *b, float *c, size_t ldc, int mr, int nr);

typedef struct tsr_cpu_backend {
    tsr_backend base;
    tsr_cpu_kernel_fn kernel;   /* the micro-kernel for this CPU (tsr_cpu_kernel_select) */
    const char *kernel_isa;     /* "avx512", "avx2" or "baseline" */
    tsr_threadpool *pool;
    int threads;
    float **scratch;            /* per worker: im2col panel */
    size_t *scratch_len;        /* floats */
    uint64_t in_use, peak;      /* device-side bytes: activations, device states, staging buffers */
    uint64_t budget;            /* emulated device cap on those bytes, 0 = none */
    uint64_t host_in_use;       /* act_alloc_host bytes */
    uint64_t host_cap;          /* TSR_CPU_PINNED_CAP: emulated pinned-memory cap on them (tests of running out), 0 = none */
    /* host states (state_create_host): their frames in ordinary memory outside the cap, copied through one of
     * two staging buffers (counted in the cap, as on a device) around each conv that uses them; host states
     * alternate between the buffers in creation order, each buffer the size of the largest state using it */
    float *stage[2];
    size_t stage_floats[2];
    struct tsr_state *stage_owner[2]; /* the state whose frames a buffer holds for its next conv, or NULL */
    int stage_created, host_count;
    uint64_t host_bytes, host_peak;
} tsr_cpu_backend;

struct tsr_buf {
    float *data;                /* [c][t][h][w] */
    size_t n;
    int host;                   /* act_alloc_host: not counted against the emulated device cap */
};

typedef enum cpu_wt_kind { CPU_WT_CONV = 1, CPU_WT_NORM, CPU_WT_ATTN } cpu_wt_kind;

typedef struct cpu_conv {
    tsr_conv_desc d;
    int mpanels;                /* ceil(cout / MR) */
    float *packed;              /* [mpanels][K][MR], zero-padded rows */
    float *bias;                /* [cout] (zeros when none) */
    float *edge;                /* shuffle conv: [rt][4][4][cout / (4 rt)] (backend.h conv3d), else NULL */
} cpu_conv;

typedef struct cpu_norm {
    int channels, groups;
    float eps;
    float *gamma, *beta;
} cpu_norm;

typedef struct cpu_attn {
    int channels;
    cpu_norm norm;
    cpu_conv q, k, v, o;        /* the linears as 1x1x1 convs over a frame's tokens */
} cpu_attn;

struct tsr_wt {
    cpu_wt_kind kind;
    union {
        cpu_conv conv;
        cpu_norm norm;
        cpu_attn attn;
    } u;
};

struct tsr_state {
    int frames;                 /* kt - st frames kept */
    int valid;                  /* 0: fresh (first chunk replicates frame 0) */
    int c, h, w;
    float *data;                /* [c][frames][h][w] */
    int host;                   /* state_create_host: data is "host memory" (outside the emulated cap) */
    int slot;                   /* host: staging buffer holding its frames for the next conv, or -1 */
    int home;                   /* host: the staging buffer it uses */
};

/* Conv over an input given as a list of frames (state frames then chunk frames), see cpu_conv.c. */
typedef struct cpu_frames {
    int n;                      /* frames in the (extended) sequence */
    const float **base;         /* per frame: pointer to channel 0 of that frame */
    size_t *cstride;            /* per frame: floats between channels */
} cpu_frames;

/* The best micro-kernel this CPU runs (cpuid, once per backend); *isa (optional) names it. */
tsr_cpu_kernel_fn tsr_cpu_kernel_select(const char **isa);
tsr_status tsr_cpu_conv_pack(const tsr_conv_desc *d, const float *weight, const float *bias, cpu_conv *out,
                             tsr_error *err);
void tsr_cpu_conv_free(cpu_conv *c);
/* out[cout][tout][ho][wo] = bias + conv over `in` (frames already extended), plus residual if non-NULL. */
tsr_status tsr_cpu_conv_run(tsr_cpu_backend *be, const cpu_conv *c, const cpu_frames *in, int h, int w,
                            float *out, int tout, int ho, int wo, const float *residual, tsr_error *err);

/* Allocate `out` with the given shape, or check that a caller-provided one has it (cpu_backend.c). */
tsr_status tsr_cpu_ensure_out(tsr_backend *be, tsr_act *out, int c, int t, int h, int w, const char *op,
                              tsr_error *err);
/* The tiled-GroupNorm statistics ops of backend.h (cpu_gnstats.c). */
tsr_status tsr_cpu_gn_stats_create(tsr_backend *be, int t, int channels, int groups, tsr_gnstats **out, tsr_error *err);
void tsr_cpu_gn_stats_reset(tsr_backend *be, tsr_gnstats *s);
void tsr_cpu_gn_stats_free(tsr_backend *be, tsr_gnstats *s);
tsr_status tsr_cpu_gn_stats_accum(tsr_backend *be, const tsr_act *in, int f0, int y0, int x0, int y1, int x1, tsr_gnstats *s,
                                  tsr_error *err);
tsr_status tsr_cpu_gn_stats_apply(tsr_backend *be, const tsr_wt *norm, const tsr_act *in, const tsr_gnstats *s,
                                  int silu, tsr_act *out, tsr_error *err);

tsr_status tsr_cpu_act_copy_region(tsr_backend *be, const tsr_act *src, int sf, int sy, int sx, tsr_act *dst, int df,
                                   int dy, int dx, int t, int h, int w, tsr_error *err);

void tsr_cpu_group_norm_run(tsr_cpu_backend *be, const cpu_norm *n, const float *in, int c, int t, int hw, int silu,
                            float *out);
tsr_status tsr_cpu_attention_run(tsr_cpu_backend *be, const cpu_attn *a, const float *in, int t, int h, int w,
                                 float *out, tsr_error *err);
#endif
