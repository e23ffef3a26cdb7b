/* cudnn.h — 3D convolution forward through cuDNN's graph (backend descriptor) API, opened at run time.
 *
 * libcudnn.so.9 / cudnn64_9.dll is dlopen'd / LoadLibrary'd when first needed (TSR_CUDNN_LIB overrides the
 * name); without it every call fails with TSR_ERR_UNSUPPORTED and the engine runs its own kernels. No CUDA
 * headers are needed: device pointers and the stream travel as void *.
 *
 * Tensors are NDHWC (channels last), batch 1:
 *   X  [t][h][w][cin]          bf16 or e4m3        (the caller materialises any causal prefix: pt = 0)
 *   W  [cout][kt][kh][kw][cin] bf16 or e4m3
 *   Y  [t_out][h_out][w_out][cout] bf16 (fp32 with TSR_CUDNN_BF16_YF32)
 * Graph: Y = conv(X, W) (fp32 compute) [* xscale (scalar)] [* wscale (scalar or [cout])] [+ bias[cout]] [+ R],
 * with xscale / wscale / bias fp32 device tensors and R bf16 shaped like Y. Plans: heuristics mode A plus the
 * fallback list, every config that finalises on this GPU (check_support) is a candidate (TSR_CUDNN_PLANS, default
 * 6); tsr_cudnn_conv_tune times them and keeps the fastest. Plans are cached per shape inside the tsr_cudnn
 * handle; the winners can be exported and imported (below) so that a later start needs no timing.
 * Thread safety: one tsr_cudnn per thread/stream. */
#ifndef TSR_CUDA_CUDNN_H
#define TSR_CUDA_CUDNN_H

#include <stddef.h>
#include <stdint.h>

#include "core/common.h"

typedef struct tsr_cudnn tsr_cudnn;
typedef struct tsr_cudnn_conv tsr_cudnn_conv;

/* X and W types, and Y's: bf16 (Y bf16), e4m3 (Y bf16), or bf16 with an fp32 Y (GEMM scores that feed a softmax) */
typedef enum tsr_cudnn_dtype { TSR_CUDNN_BF16 = 0, TSR_CUDNN_FP8_E4M3 = 1, TSR_CUDNN_BF16_YF32 = 2 } tsr_cudnn_dtype;

typedef struct tsr_cudnn_conv_shape {
    tsr_cudnn_dtype dtype;        /* X and W */
    int t, h, w, cin, cout;
    int kt, kh, kw;
    int pt, ph, pw;               /* symmetric zero padding (pt normally 0: causal prefix is materialised) */
    int has_xscale;               /* multiply by a scalar fp32 (FP8: descale_x) */
    int wscale;                   /* 0 none, 1 scalar, 2 per output channel [cout] */
    int has_bias, has_residual;
} tsr_cudnn_conv_shape;

typedef struct tsr_cudnn_conv_args {
    void *x, *w, *y;
    void *xscale, *wscale, *bias, *residual;  /* device pointers, as the shape asks */
    void *workspace;
    size_t workspace_size;
} tsr_cudnn_conv_args;

/* Open cuDNN on the calling thread's current CUDA context and bind `stream` (CUstream, may be NULL). */
tsr_status tsr_cudnn_open(void *stream, tsr_cudnn **out, tsr_error *err);
void tsr_cudnn_close(tsr_cudnn **c);
/* cudnnGetVersion(), e.g. 91400. */
size_t tsr_cudnn_version(const tsr_cudnn *c);

/* Build (or find in the cache) the candidate plans for a shape. TSR_ERR_UNSUPPORTED when no engine of this
 * cuDNN supports it on this GPU (e.g. FP8 on a GPU without FP8 engines). */
tsr_status tsr_cudnn_conv_get(tsr_cudnn *c, const tsr_cudnn_conv_shape *s, tsr_cudnn_conv **out, tsr_error *err);
int tsr_cudnn_conv_candidates(const tsr_cudnn_conv *cv);
int tsr_cudnn_conv_is_tuned(const tsr_cudnn_conv *cv);
/* Largest workspace among the candidates (tune skips those that do not fit args->workspace_size). */
size_t tsr_cudnn_conv_workspace(const tsr_cudnn_conv *cv);

/* Time every candidate on real buffers and keep the fastest. `sync_now` synchronises the stream and returns a
 * host clock in seconds (the caller owns the CUDA API). Returns the best time per call in *best_ms. */
tsr_status tsr_cudnn_conv_tune(tsr_cudnn *c, tsr_cudnn_conv *cv, const tsr_cudnn_conv_args *a, int reps,
                               double (*sync_now)(void *user), void *user, double *best_ms, tsr_error *err);
/* Run with the chosen plan (the first candidate until tuned). */
tsr_status tsr_cudnn_conv_run(tsr_cudnn *c, tsr_cudnn_conv *cv, const tsr_cudnn_conv_args *a, tsr_error *err);

/* Remembered plan choices. A timed winner is recorded as its engine's global index and the engine config's
 * knob choices (plus, for the record, the heuristics mode and list index it came from) per (device, cuDNN
 * version, shape); a shape with an imported choice builds exactly that config, without heuristics or timing
 * (if it no longer builds, the candidates are timed as usual). The choices travel as text, one line per shape,
 * so the store or a plain file can keep them:
 *   tessera-cudnn-plans 2
 *   <device> <cudnn version> dtype t h w cin cout kt kh kw pt ph pw xscale wscale bias residual mode index engine ms
 *     nknobs [knob_type knob_value]...
 * A version-1 text (no knobs) imports nothing and marks the choices changed, so they are timed and rewritten.
 * Import keeps the lines of this device and version, ignores the others and fails with TSR_ERR_FORMAT (naming the
 * line) on a malformed text. Set the device before importing. */
void tsr_cudnn_set_device(tsr_cudnn *c, const char *gpu_name, int cc_major, int cc_minor);
/* A handle that only holds choices (no library, no GPU: conv_get fails): for tools and tests of the text. */
tsr_status tsr_cudnn_choices_open(const char *gpu_name, int cc_major, int cc_minor, size_t version, tsr_cudnn **out,
                                  tsr_error *err);
char *tsr_cudnn_choices_export(const tsr_cudnn *c); /* malloc'd; NULL when out of memory */
tsr_status tsr_cudnn_choices_import(tsr_cudnn *c, const char *text, int *imported, tsr_error *err);
int tsr_cudnn_choices_changed(const tsr_cudnn *c);   /* a choice was timed since the import */
int tsr_cudnn_conv_is_remembered(const tsr_cudnn_conv *cv);

#endif
