/* tessera.h — the one public header of libtessera, the SeedVR2 video-VAE engine.
 *
 * Conventions
 *  - Opaque handles; `tsr_X_create(params, &out, err)` / `tsr_X_destroy(&p)` (sets *p = NULL).
 *  - Every fallible call returns a tsr_status and, when `err` is non-NULL, fills it with a one-line,
 *    human-readable message that names the file / tensor / argument at fault.
 *  - Thread safety is stated per function. "Any thread" = may be called concurrently on different handles;
 *    "one thread per handle" = the caller serialises calls on the same handle.
 *  - Images and videos cross this API as fp32 RGB in [-1, 1]; latents as fp32, decoder-input scale
 *    (the 0.9152 scaling factor is applied at the file boundary, see tsr_latent_*).
 *  - The engine never calls a UI toolkit and never touches the network.
 */
#ifndef TESSERA_H
#define TESSERA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define TSR_VERSION_MAJOR 0
#define TSR_VERSION_MINOR 1
#define TSR_VERSION_PATCH 0
#define TSR_VERSION_STRING "0.1.0"

/* ---------------------------------------------------------------- status and errors */

typedef enum tsr_status {
    TSR_OK = 0,
    TSR_ERR_INVALID_ARG,   /* a caller passed something impossible */
    TSR_ERR_IO,            /* open/read/write/rename failed */
    TSR_ERR_FORMAT,        /* a file is malformed (header, offsets, dtypes, shapes) */
    TSR_ERR_MODEL,         /* a well-formed file that is not (or not enough of) a SeedVR2 VAE */
    TSR_ERR_INPUT,         /* input data unusable: wrong shape, NaN/Inf, too few frames */
    TSR_ERR_UNSUPPORTED,   /* valid but not implemented / not available in this build */
    TSR_ERR_NOMEM,         /* host allocation failed */
    TSR_ERR_DEVICE_OOM,    /* device allocation failed: callers re-plan smaller */
    TSR_ERR_BACKEND,       /* driver / cuDNN / kernel failure */
    TSR_ERR_NO_DEVICE,     /* no usable GPU or driver */
    TSR_ERR_CANCELLED,     /* a progress callback asked to stop */
    TSR_ERR_STORE,         /* the SQLite store failed */
    TSR_ERR_INTERNAL
} tsr_status;

#define TSR_ERROR_MESSAGE_MAX 512
typedef struct tsr_error {
    tsr_status status;
    char message[TSR_ERROR_MESSAGE_MAX];
} tsr_error;

/* Short stable name of a status ("ok", "format", ...). Any thread. */
const char *tsr_status_name(tsr_status s);

/* ---------------------------------------------------------------- logging */

typedef enum tsr_log_level { TSR_LOG_ERROR, TSR_LOG_WARN, TSR_LOG_INFO, TSR_LOG_DEBUG } tsr_log_level;
typedef void (*tsr_log_fn)(void *user, tsr_log_level level, const char *message);
/* Process-wide log sink (default: none). Set it before creating engines. Not thread safe. */
void tsr_set_log_callback(tsr_log_fn fn, void *user, tsr_log_level max_level);

/* ---------------------------------------------------------------- models */

/* The VAE configuration, derived from tensor names and shapes (never hard-coded). */
#define TSR_MAX_BLOCKS 8
typedef struct tsr_vae_config {
    int in_channels;           /* 3 (RGB) */
    int out_channels;          /* 3 */
    int latent_channels;       /* 16 (encoder emits 2x: mean || logvar) */
    int num_blocks;            /* 4 */
    int block_out[TSR_MAX_BLOCKS];      /* 128, 256, 512, 512 */
    int enc_layers_per_block;  /* 2 */
    int dec_layers_per_block;  /* 3 (resnets per decoder up block) */
    int enc_temporal_down[TSR_MAX_BLOCKS]; /* 1 where encoder down block i halves time (blocks 1, 2) */
    int dec_temporal_up[TSR_MAX_BLOCKS];   /* 1 where decoder up block i doubles time (blocks 0, 1) */
    int norm_groups;           /* 32 */
    float norm_eps;            /* 1e-6 */
    float scaling_factor;      /* 0.9152: stored latent = mean * scaling_factor */
    int has_encoder;
    int has_decoder;
} tsr_vae_config;

/* The SeedVR2 configuration (ema_vae_fp16.safetensors). Any thread. */
void tsr_vae_config_seedvr2(tsr_vae_config *cfg);

typedef struct tsr_model tsr_model;

typedef enum tsr_model_format {
    TSR_FORMAT_SAFETENSORS = 1,
    TSR_FORMAT_GGUF = 2,
    TSR_FORMAT_BUILTIN = 3     /* deterministic filler, no file */
} tsr_model_format;

/* Open a model file (safetensors or GGUF, by content). The file is validated completely before any
 * tensor is used; a file that is not a SeedVR2 VAE fails with TSR_ERR_MODEL and an explanation.
 * Any thread. */
tsr_status tsr_model_open(const char *path, tsr_model **out, tsr_error *err);

/* A model built in memory by the deterministic weight filler (../shared/fixtures/README.md).
 * cfg = NULL gives the full SeedVR2 configuration. Any thread. */
tsr_status tsr_model_builtin(const tsr_vae_config *cfg, tsr_model **out, tsr_error *err);

void tsr_model_destroy(tsr_model **model);
const tsr_vae_config *tsr_model_config(const tsr_model *model);

/* ---------------------------------------------------------------- model inspection and discovery (feat/loaders) */

typedef enum tsr_model_kind {
    TSR_MODEL_NOT_VAE = 0,     /* readable, but not (a usable half of) a SeedVR2 VAE: see problems */
    TSR_MODEL_FULL,            /* encoder + decoder */
    TSR_MODEL_DECODER_ONLY,
    TSR_MODEL_ENCODER_ONLY
} tsr_model_kind;
/* "full VAE", "decoder only", "encoder only", "not a SeedVR2 VAE". Any thread. */
const char *tsr_model_kind_name(tsr_model_kind k);
/* "safetensors", "gguf", "builtin". */
const char *tsr_model_format_name(tsr_model_format f);

/* Stable content digest of an open model (16 hex digits; a cache key). */
const char *tsr_model_digest(const tsr_model *model);

#define TSR_REPORT_MAX_DTYPES 8
typedef struct tsr_model_report {
    tsr_model_format format;
    tsr_model_kind kind;
    char explanation[256];        /* one line: why this kind (e.g. "decoder.* tensors only") */
    int64_t file_size;
    int tensor_count;
    int64_t param_count;
    int dtype_count;
    struct {
        char name[12];            /* "F16", "Q8_0", ... */
        int tensors;
        int64_t params;
    } dtypes[TSR_REPORT_MAX_DTYPES];
    int config_valid;             /* config derived (kind != NOT_VAE) */
    tsr_vae_config config;
    int has_encoder, has_decoder; /* halves present and complete */
    char digest[65];              /* empty unless TSR_INSPECT_DIGEST */
    int problem_count;            /* missing / unexpected / wrong-shaped tensors, inconsistent halves */
    char **problems;
    int meta_count;               /* file metadata (safetensors __metadata__, GGUF KV rendered as text) */
    char **meta_keys, **meta_values;
} tsr_model_report;

#define TSR_INSPECT_DIGEST 1u     /* also hash all tensor data (reads the whole file) */
/* Read and validate a model file and describe it, whatever it holds: a well-formed file that is not a
 * SeedVR2 VAE gives TSR_OK with kind NOT_VAE and the reasons in problems. Malformed / unreadable files fail
 * (TSR_ERR_FORMAT / TSR_ERR_IO). Any thread. */
tsr_status tsr_model_inspect(const char *path, unsigned flags, tsr_model_report **out, tsr_error *err);
void tsr_model_report_free(tsr_model_report **report);

/* Default models folder: $XDG_DATA_HOME/tessera/models (or ~/.local/share/tessera/models) on Linux,
 * %LOCALAPPDATA%\Tessera\models on Windows. Not created. Any thread. */
tsr_status tsr_models_default_dir(char *buf, size_t size, tsr_error *err);

typedef struct tsr_model_entry {
    char *path;                   /* UTF-8 */
    int64_t file_size;
    tsr_model_format format;      /* 0 when the file could not be read */
    tsr_model_kind kind;
    char *error;                  /* NULL, or why the file is unusable (one line) */
} tsr_model_entry;
typedef struct tsr_model_list {
    tsr_model_entry *items;
    int count;
} tsr_model_list;
/* Every *.safetensors / *.gguf (not recursive) in the default folder (when include_default) and in `dirs`,
 * sorted by path, each with its kind (no digest: scanning stays fast). Missing folders are skipped. */
tsr_status tsr_models_scan(int include_default, const char *const *dirs, int ndirs, tsr_model_list **out,
                           tsr_error *err);
void tsr_model_list_free(tsr_model_list **list);


/* ---------------------------------------------------------------- engines (a backend + device) */

typedef enum tsr_backend_kind { TSR_BACKEND_AUTO = 0, TSR_BACKEND_CPU, TSR_BACKEND_CUDA } tsr_backend_kind;

typedef enum tsr_precision {
    TSR_PRECISION_AUTO = 0,     /* CPU: fp32; CUDA: bf16 */
    TSR_PRECISION_FP32,
    TSR_PRECISION_BF16,
    TSR_PRECISION_FP16,
    TSR_PRECISION_FP8_FAST,     /* e4m3 everywhere the sensitivity scan allows the "fast" policy */
    TSR_PRECISION_FP8_QUALITY   /* e4m3 only in the least sensitive layers */
} tsr_precision;

typedef struct tsr_engine_params {
    tsr_backend_kind backend;   /* AUTO: CUDA when a driver and GPU are usable, else CPU (reason kept) */
    int device;                 /* CUDA device ordinal */
    int threads;                /* CPU worker threads, 0 = all cores */
    tsr_precision precision;
    uint64_t memory_budget;     /* bytes of device memory the planner may use; 0 = free memory - margin */
    const char *tuning_store;   /* what the backend learns by timing (cuDNN plan choices per conv shape) is read
                                 * from and written back to this SQLite store (tsr_store_backend_tuning_*):
                                 * NULL = tsr_store_default_path(), "off" = kept nowhere. A build without SQLite,
                                 * or TSR_CUDNN_CACHE set, keeps it in a plain file instead (engine/README.md). */
} tsr_engine_params;

typedef struct tsr_engine tsr_engine;

void tsr_engine_params_default(tsr_engine_params *p);
/* Any thread. A CUDA request that cannot be met fails; AUTO falls back to the CPU and records why. */
tsr_status tsr_engine_create(const tsr_engine_params *p, tsr_engine **out, tsr_error *err);
void tsr_engine_destroy(tsr_engine **engine);
/* "cpu (2 threads)" / "cuda: NVIDIA H100 80GB HBM3 (sm_90, driver 580.159)". */
const char *tsr_engine_description(const tsr_engine *e);
/* Why AUTO did not pick CUDA (empty when it did or was not asked). */
const char *tsr_engine_fallback_reason(const tsr_engine *e);

/* The CUDA devices the driver reports, for a device choice (tsr_engine_params.device is the ordinal). Opens
 * the driver and creates no context: cheap, any thread. No driver, no device or a build without CUDA is not
 * an error: *count = 0 and err->message says why. `supported`: sm_80 or newer (what the CUDA backend runs). */
#define TSR_MAX_DEVICES 16
typedef struct tsr_device_info {
    int ordinal;
    char name[128];
    int cc_major, cc_minor;
    uint64_t total_memory;      /* bytes */
    int supported;
} tsr_device_info;
tsr_status tsr_devices_list(tsr_device_info *out, int max, int *count, tsr_error *err);

/* Counters of an engine for benchmarks. "Since reset" fields count from creation or the last
 * tsr_engine_stats(e, 1, ...). Same thread as the engine's VAE calls. */
#define TSR_STATS_PARTS 12
typedef struct tsr_engine_stats {
    uint64_t mem_in_use, mem_peak, mem_budget; /* device arena (CUDA) / activations (CPU): bytes, high-water */
    uint64_t device_free_low;   /* since reset: lowest free device memory (cuMemGetInfo, sampled at every chunk
                                 * boundary and in this call); 0 = not a device backend */
    uint64_t device_total;
    double upload_s;            /* since reset: host time inside uploads (conversion, staging copies) */
    double download_s;          /* since reset: host time copying downloaded data out of staging */
    double wait_s;              /* since reset: host time blocked waiting for the device (syncs, download waits) */
    uint64_t host_state_bytes;  /* causal states kept in host memory (backend.h state_create_host; CUDA: pinned):
                                 * bytes in use now, and the high-water mark since the backend was created */
    uint64_t host_state_peak;
    long graph_captures;        /* since reset: chunk graphs recorded / replayed / not run (chunk redone eagerly) */
    long graph_replays, graph_fallbacks;
    int profiled;               /* TSR_CUDA_PROFILE=1: the fields below are valid */
    double device_busy_ms;      /* since reset: device time of every profiled op part (each part timed alone) */
    int parts;
    struct {
        const char *name;
        long calls;
        double ms, tflop;
    } part[TSR_STATS_PARTS];
} tsr_engine_stats;
/* Fills *out (may be NULL) and, with reset != 0, clears the since-reset counters afterwards. */
void tsr_engine_stats_get(tsr_engine *e, int reset, tsr_engine_stats *out);

/* ---------------------------------------------------------------- running the VAE */

typedef struct tsr_vae tsr_vae;   /* a model's weights bound to an engine; one thread per handle */

tsr_status tsr_vae_create(tsr_engine *engine, const tsr_model *model, tsr_vae **out, tsr_error *err);
void tsr_vae_destroy(tsr_vae **vae);

typedef struct tsr_progress {
    const char *stage;          /* "decode", "encode", ... */
    int chunks_done, chunks_total;
    int frames_done, frames_total;
    int tile, tiles;            /* tile being processed in the current chunk (0 of 1 when untiled); tiled
                                 * decode: tile steps (layers x tiles) done of all in this chunk */
    uint64_t mem_in_use, mem_peak, mem_budget;
    double elapsed_s;
} tsr_progress;

/* Return non-zero to cancel (the call then fails with TSR_ERR_CANCELLED). Called on the working thread. */
typedef int (*tsr_progress_fn)(void *user, const tsr_progress *p);

/* Receives `n` decoded frames, each [3][height][width] fp32 RGB in [-1, 1], frame-major; `first` is
 * the index of the first frame. Return TSR_OK to continue. */
typedef tsr_status (*tsr_frame_sink)(void *user, const float *frames, int n, int first, int height, int width,
                                     tsr_error *err);

struct tsr_plan; /* memory planning, below */

typedef struct tsr_decode_params {
    int chunk;                  /* latent frames per chunk, 0 = automatic (the planner) */
    int crop_height, crop_width;/* crop output to this size (after padding on encode); 0 = no crop */
    int max_frames;             /* trim output to this many frames; 0 = all 4T-3 */
    int tile;                   /* spatial tile edge in output pixels, 0 = untiled. Exact (halos + whole-frame
                                 * GroupNorm statistics): the result equals the untiled decode */
    int tile_from;              /* first decoder up block that runs tiled (0 .. num_blocks; num_blocks = only
                                 * conv_norm_out/conv_out); the blocks before it and the mid block run whole.
                                 * Default 1 (tsr_decode_params_default) */
    int tile_host_state;        /* tiled only: keep each tile's causal state (2 frames per temporal conv) in
                                 * host memory and re-run those 2 frames every later chunk: device memory
                                 * then is bounded by the tile alone, at 2 extra frames of conv work per
                                 * temporal conv and chunk (use larger chunks). Exact either way */
    int offload_states;         /* untiled only: keep the causal states of this many temporal convs (the largest
                                 * first, as the planner orders them) in host memory (pinned on CUDA), each copied
                                 * to the device one conv ahead of its use and back after it (backend.h
                                 * state_create_host). Exact: bit-identical to device states. 0 = none */
    uint64_t tile_resident;     /* tiled only: device bytes the whole-frame tensors of the tiled layers may take
                                 * (kept on the device: tiles are cut and placed by device copies instead of
                                 * host transfers); beyond it they live in host memory. 0 = host only */
    tsr_progress_fn progress;
    void *progress_user;
    /* Planned execution: with memory_budget > 0 and tile == 0 the decode runs the planner's plan for this
     * device budget (tsr_plan_make over the engine's backend: chunk, tiles, per-tile or host-side states;
     * `chunk` > 0 fixes the chunk). On TSR_ERR_DEVICE_OOM it takes tsr_plan_next_smaller, tells on_plan why,
     * and continues: the causal states of the chunk that failed are no longer trustworthy (layers before the
     * failing one have consumed part of it), so the new plan re-derives them by re-running the earlier
     * latent frames without output and then goes on with that chunk; the sink never sees a frame twice.
     * Fails with TSR_ERR_DEVICE_OOM (and the memory the smallest plan needs) when nothing fits. */
    uint64_t memory_budget;
    void (*on_plan)(void *user, const struct tsr_plan *plan, const char *reason); /* reason NULL: the first */
    void *plan_user;
    /* Frame groups (untiled decode): the stages after the decoder's last temporal upsampler are frame-local
     * (per-frame GroupNorm, causal convs with explicit state, spatial upsampling only), so they run over groups
     * of `frame_group` output frames of each chunk, one group after another with the same causal states: the
     * same result bit for bit, with their activations (the full-resolution ones, the largest) scaled by
     * frame_group / the chunk's frames. 0 = the planner's choice (tsr_plan.frame_group) under a memory budget,
     * else the whole chunk; N >= the chunk's frames = the whole chunk. Ignored by the tiled decode. */
    int frame_group;
    /* Deep tiles (engine/README.md "Deep tiles", plan kind TSR_PLAN_DEEP_TILES): tile-outer decode. For each
     * spatial tile of `deep_tile` output pixels (core; plus a halo >= the receptive field of the tiled part) the
     * whole clip streams through time: the head (conv_in, mid block, up_blocks.0 with its upsampler) runs on the
     * whole frame (recomputed per tile), the tile's region is cut from its output and the rest of the decoder
     * runs on that region with the tile's own causal states; only the core is kept, in a host buffer of the whole
     * clip's frames, delivered to the sink after the last tile. Device memory: the head's states and activations
     * plus ONE tile's states and activations, whatever the frame size. GroupNorm statistics in the tiled part:
     * `deep_tile_passes` 2 runs every tile twice, the first pass gathering the statistics of each tile's core per
     * frame, the second normalising with the pooled (whole-frame) ones; 1 uses each tile's own statistics (the
     * reference implementation's approximation); 3 (TSR_DEEP_PASSES_DEFAULT, 0 = it) or 4 iterate (each pass
     * gathers the statistics of activations normalised with the previous pass's: 4K at 768 px measured 48.7, 49.9,
     * 50.2 dB for 1, 2, 3 passes). Under memory_budget, the passes of a planned deep-tile plan (tsr_plan_request.
     * deep_passes). Near-exact, not bit-exact (a single tile
     * covering the frame is bit-exact). 0 = off; exclusive with `tile`. `offload_states` > 0 keeps the causal
     * states of that many of the head's temporal convs (the largest first) in host memory. */
    int deep_tile;
    int deep_tile_passes;
    /* Deep tiles: 0 (default) runs the head once per chunk and keeps its output in host memory (pinned on CUDA;
     * 4K 21 f: 5.8 GiB in bf16) for every tile and pass to cut its region from; 1 runs the head again for every
     * tile and pass (no host memory beyond the output frames). The same frames bit for bit. */
    int deep_head_recompute;
#define TSR_DEEP_MAX_PASSES 4
#define TSR_DEEP_PASSES_DEFAULT 3
    /* Planned execution (memory_budget > 0): host memory the plan may take for its host-side buffers (offloaded
     * states, whole-frame tile tensors, the deep tiles' output frames; tsr_plan_request.host_budget). 0 = no
     * limit (then a tiled plan may need far more host memory than a deep-tile one: at 4K > 100 GiB) */
    uint64_t host_budget;
    /* Planned execution: the planner's policy (tsr_plan_request.tiling): 0 = AUTO (exact, exact tiles, then deep
     * tiles), EXACT_ONLY (no deep tiles), ALWAYS (tiles), DEEP (deep tiles only). FP8_STATE is never planned. */
    int plan_tiling;
    /* Planned execution: start from this plan (a tuned one: tsr_tuned_plan_lookup) instead of tsr_plan_make's. It
     * runs when the request's planner could make it (tsr_plan_adopt: a kind the decode executes, the same chunk,
     * frame group, tiles and offload as a rung of the request's ladder, its predicted peak within memory_budget and
     * its host memory within host_budget), with that rung's prediction, and on TSR_ERR_DEVICE_OOM the decode
     * re-plans smaller from it as from the planner's own choice. Otherwise a warning is logged (tsr_log) and the
     * decode plans as without it. NULL = the planner's choice. Only read during the call. */
    const struct tsr_plan *start_plan;
} tsr_decode_params;

void tsr_decode_params_default(tsr_decode_params *p);

/* Decode a latent [c][t][h][w] (fp32, decoder input scale: already divided by the scaling factor) to
 * 4t-3 frames of 8h x 8w, streamed to `sink` chunk by chunk. */
tsr_status tsr_vae_decode(tsr_vae *vae, const float *latent, int c, int t, int h, int w,
                          const tsr_decode_params *p, tsr_frame_sink sink, void *sink_user, tsr_error *err);

/* Supplies latent frames [t0, t0 + n) of a [c][t][h][w] latent as [c][n][h][w] (fp32, decoder input scale).
 * A frame may be asked for more than once (a re-planned pass re-runs earlier frames). */
typedef tsr_status (*tsr_latent_reader)(void *user, float *dst, int t0, int n, tsr_error *err);

/* tsr_vae_decode with the latent read chunk by chunk (from a file, say) instead of held whole: host memory
 * is independent of the clip's length. Values are checked for NaN/Inf chunk by chunk, so a bad value late
 * in the latent fails the decode after earlier frames reached the sink. */
tsr_status tsr_vae_decode_from(tsr_vae *vae, tsr_latent_reader read, void *read_user, int c, int t, int h, int w,
                               const tsr_decode_params *p, tsr_frame_sink sink, void *sink_user, tsr_error *err);

/* Supplies up to `max` frames, each [3][height][width] in [-1, 1]; returns the count written (0 = end of
 * clip, < 0 = error with err filled). */
typedef int (*tsr_frame_source)(void *user, float *frames, int max, tsr_error *err);

typedef struct tsr_encode_params {
    int chunk;                  /* video frames per chunk after the first (multiple of 4), 0 = automatic */
    int sample;                 /* 0: posterior mean (the ComfyUI node); 1: mean + exp(logvar/2) * N(0,1) */
    uint64_t seed;              /* for sample = 1; the noise of each (channel, frame) plane derives from it
                                 * alone, so chunking and streaming give the same sample */
    int posterior;              /* 1: return the raw 2*latent-channel mean||logvar instead of the latent */
    int tile;                   /* spatial tile edge in input pixels for conv_in and the down blocks (the mid
                                 * block runs whole), 0 = untiled. Exact, like tsr_decode_params.tile */
    tsr_progress_fn progress;
    void *progress_user;
    /* Set: the latent is streamed to latent_sink as each chunk finishes (frames [t0, t0 + n) as
     * [c][n][h][w], the values tsr_vae_encode would otherwise return) and the result's data stays NULL, so
     * host memory is independent of the clip's length. */
    tsr_status (*latent_sink)(void *user, const float *frames, int c, int t0, int n, int h, int w, tsr_error *err);
    void *latent_sink_user;
    /* Frame groups (untiled encode): conv_in and the down blocks before the first temporal downsampler are
     * frame-local (per-frame GroupNorm, causal convs with explicit state, spatial downsampling only), so they run
     * over groups of `frame_group` frames of each chunk, one after another with the same states, into one tensor
     * the downsampler reads: the same result bit for bit, their (full-resolution) activations scaled by
     * frame_group / the chunk's frames. 0 = the whole chunk. Ignored by the tiled encode. */
    int frame_group;
} tsr_encode_params;

void tsr_encode_params_default(tsr_encode_params *p);

typedef struct tsr_latent {
    float *data;                /* [c][t][h][w], malloc'd; free with tsr_latent_free */
    int c, t, h, w;
    int frames;                 /* source frames before padding to 4k+1 */
    int height, width;          /* source size before padding to a multiple of 16 */
    int fps_num, fps_den;       /* source frame rate (latent files: "tessera.fps"), 0 = unknown */
} tsr_latent;

/* Encode frames of `height` x `width` (any size: padded to a multiple of 16, and any count: padded to
 * 4k+1 by mirroring as the reference does). The result is at decoder-input scale (not multiplied by the
 * scaling factor; see tsr_latent_to_file_scale). */
tsr_status tsr_vae_encode(tsr_vae *vae, int height, int width, tsr_frame_source src, void *src_user,
                          const tsr_encode_params *p, tsr_latent *out, tsr_error *err);
void tsr_latent_free(tsr_latent *l);

/* ---------------------------------------------------------------- job specification (what one file -> file
 * job does; run by tsr_runner / tsr_job_run below, kept per queue row by the store) */

typedef enum tsr_job_kind {
    TSR_JOB_AUTO = 0,
    TSR_JOB_DECODE,            /* latent file -> video file or image-sequence directory */
    TSR_JOB_ENCODE,            /* clip / image / sequence -> latent file */
    TSR_JOB_ROUNDTRIP,         /* clip -> encode -> decode -> video */
    TSR_JOB_TRANSCODE          /* clip -> video without the VAE (pipeline and memory tests) */
} tsr_job_kind;

#define TSR_PATH_MAX 4096
#define TSR_NAME_MAX 128

/* What one job does. Strings are copied at submit. */
typedef struct tsr_job_spec {
    char input[TSR_PATH_MAX];   /* a clip or an image (encode) or a latent file (decode) */
    char output[TSR_PATH_MAX];  /* the final file; jobs write beside it and rename on success */
    char model[TSR_PATH_MAX];   /* a model file or "builtin:small" / "builtin:full" */
    char format[TSR_NAME_MAX];  /* output container/codec: "mp4-h264", "mkv-ffv1", "mov-prores", "latent" */
    tsr_backend_kind backend;
    int device;
    tsr_precision precision;
    uint64_t memory_budget;     /* bytes, 0 = automatic */
    uint64_t host_budget;       /* decode with a memory budget: host memory the plan may take for host-side buffers
                                 * (tsr_decode_params.host_budget); 0 = half the physical RAM when the job runs
                                 * (tsr_plan_default_host_budget) */
    int tile;                   /* tile edge in output pixels, 0 = planner decides */
    int chunk;                  /* frames per temporal chunk, 0 = planner decides */
    /* media options (tsr_job_run) */
    tsr_job_kind kind;          /* AUTO: decode when the input is a latent file, encode when the output is
                                   one, else roundtrip */
    char codec[TSR_NAME_MAX];   /* "" = from `format` ("mp4-h264" -> h264 when the output is .mp4; "dir-tiff"
                                   for frame directories), else by the output's extension; see
                                   engine/media/media.h for names */
    int crf;                    /* -1 = codec default */
    int64_t bitrate;            /* > 0: ABR in bits/s */
    int ten_bit;
    char audio_from[TSR_PATH_MAX]; /* clip whose audio is muxed; "": the input clip's own (roundtrip) */
    int no_audio;
    int fps_num, fps_den;       /* decode output rate; 0 = the latent file's "tessera.fps", else 25 */
    int latent_f16, latent_raw; /* encode output: fp16, unscaled; decode input: read as unscaled */
    int queue_frames;           /* writer queue depth in frames, 0 = 8 */
} tsr_job_spec;

void tsr_job_spec_default(tsr_job_spec *spec);
/* JSON object with every field of the spec (keys as the field names; enums as integers). Returns a malloc'd
 * NUL-terminated string (free with free()), NULL when out of memory. Any thread. */
char *tsr_job_spec_to_json(const tsr_job_spec *spec);
/* Parse what tsr_job_spec_to_json wrote: *spec starts from tsr_job_spec_default, known keys are applied,
 * unknown keys are ignored (files from newer builds). TSR_ERR_FORMAT on malformed JSON, a wrong value
 * type or a string too long for its field. Any thread. */
tsr_status tsr_job_spec_from_json(const char *json, tsr_job_spec *spec, tsr_error *err);
/* The temporary path a job writes before the final rename: "<output>.part". */
void tsr_job_partial_path(const char *output, char *buf, size_t n);

/* ---------------------------------------------------------------- store (SQLite: presets, queue, history, tuned)
 *
 * One SQLite file (WAL) per user: tsr_store_default_path(). Every call on one handle is serialised by the
 * caller ("one thread per handle"); several handles — in this process or in others (the GUI and the CLI) —
 * may use the same file at once (WAL + busy_timeout; writes are BEGIN IMMEDIATE transactions).
 * A file that is corrupt, or was written by a newer Tessera, is renamed aside
 * ("<path>.corrupt-<time>" / "<path>.newer-v<N>-<time>") and a fresh store is created; tsr_store_notice()
 * then says so. Built without SQLite, every call fails with TSR_ERR_UNSUPPORTED. */

typedef struct tsr_store tsr_store;

#define TSR_STORE_NAME_MAX 128
#define TSR_STORE_PATH_MAX 1024
#define TSR_STORE_TEXT_MAX 1024

/* "$XDG_DATA_HOME/tessera/tessera.db" (default ~/.local/share), "%LOCALAPPDATA%\Tessera\tessera.db" on
 * Windows. Creates the directory. Any thread. */
tsr_status tsr_store_default_path(char *buf, size_t cap, tsr_error *err);

typedef struct tsr_store_params {
    const char *path;            /* NULL = tsr_store_default_path() */
    int recover_interrupted;     /* 1 (default): jobs left running or paused by a dead process become
                                  * "interrupted" and their partial outputs beside the output ("<output>.part",
                                  * the media writer's "<output>.tmp-*") are deleted.
                                  * 0 for a second, read-mostly handle (CLI inspection) beside a live app. */
} tsr_store_params;

void tsr_store_params_default(tsr_store_params *p);
/* Open (create, migrate) the store. Any thread. */
tsr_status tsr_store_open(const tsr_store_params *p, tsr_store **out, tsr_error *err);
void tsr_store_close(tsr_store **s);
const char *tsr_store_path(const tsr_store *s);
/* Non-empty after open when a damaged/newer file was set aside: one sentence for the user. */
const char *tsr_store_notice(const tsr_store *s);
/* Jobs that open() moved from "running"/"paused" to "interrupted". */
int tsr_store_recovered_jobs(const tsr_store *s);
/* Schema version this build writes (PRAGMA user_version). */
int tsr_store_schema_version(void);
/* Free arrays returned by the *_list functions. */
void tsr_store_free(void *p);

/* --- presets --- */
typedef enum tsr_tiling_policy {
    TSR_TILING_AUTO = 0,     /* least approximate plan that fits the budget (tiles only when needed) */
    TSR_TILING_EXACT_ONLY,   /* never an approximate plan (FP8 state, deep tiles); exact tiles are allowed */
    TSR_TILING_ALWAYS,       /* always exact spatial tiles (smallest VRAM; no deep tiles) */
    TSR_TILING_DEEP          /* deep tiles only (tsr_plan_request; not a preset value) */
} tsr_tiling_policy;

typedef struct tsr_preset {
    int64_t id;                  /* 0 = not stored yet */
    char name[TSR_STORE_NAME_MAX];
    int builtin;                 /* built-in presets are read-only (duplicate them to edit) */
    tsr_precision precision;
    uint64_t vram_budget;        /* bytes, 0 = free VRAM minus a margin */
    tsr_tiling_policy tiling;
    char container[16];          /* "mp4", "mkv", "mov" */
    char codec[32];              /* FFmpeg encoder name: "libx264", "libx265", "prores_ks", "ffv1" */
    int crf;                     /* quality for CRF codecs; ignored by ProRes/FFV1 */
    int bit_depth;               /* 8 or 10 */
    int tile;                    /* tile edge in output pixels, 0 = planner decides (schema 2) */
    char format[32];             /* job output format as tsr_job_spec.format: "mp4-h264", "mp4-hevc",
                                  * "mkv-ffv1", "mov-prores", "latent" (schema 2; what the GUI applies to its
                                  * jobs: container and codec; schema 3 made the x265 built-in "mp4-hevc") */
} tsr_preset;

void tsr_preset_default(tsr_preset *p);
/* All presets, built-ins first then user presets by name. *out: free with tsr_store_free. */
tsr_status tsr_store_presets_list(tsr_store *s, tsr_preset **out, int *count, tsr_error *err);
tsr_status tsr_store_preset_get(tsr_store *s, int64_t id, tsr_preset *out, tsr_error *err);
/* TSR_ERR_INVALID_ARG when no preset has that name. */
tsr_status tsr_store_preset_find(tsr_store *s, const char *name, tsr_preset *out, tsr_error *err);
/* p->id == 0: insert (p->id is set); else update. Names are unique; built-ins cannot be changed. */
tsr_status tsr_store_preset_save(tsr_store *s, tsr_preset *p, tsr_error *err);
/* Copy preset `id` as a user preset named `new_name` (NULL: "<name> (copy)", "<name> (copy 2)", ...). */
tsr_status tsr_store_preset_duplicate(tsr_store *s, int64_t id, const char *new_name, int64_t *new_id,
                                      tsr_error *err);
/* Built-ins cannot be deleted; queue items that used the preset keep running with the defaults. */
tsr_status tsr_store_preset_delete(tsr_store *s, int64_t id, tsr_error *err);

/* --- batch queue --- */
typedef enum tsr_job_state {
    TSR_JOB_QUEUED = 0,
    TSR_JOB_RUNNING,
    TSR_JOB_PAUSED,
    TSR_JOB_DONE,
    TSR_JOB_FAILED,
    TSR_JOB_CANCELLED,
    TSR_JOB_INTERRUPTED      /* was running when the process died; can be re-queued */
} tsr_job_state;
const char *tsr_job_state_name(tsr_job_state s);

typedef struct tsr_queue_item {
    int64_t id;                  /* set by add */
    int position;                /* 0-based order in the queue (set by add/move) */
    tsr_job_state state;
    char input[TSR_STORE_PATH_MAX];
    char output[TSR_STORE_PATH_MAX];
    int64_t preset_id;           /* 0 = none */
    char overrides[TSR_STORE_TEXT_MAX];  /* JSON object of per-job setting overrides, "" = none */
    double progress;             /* 0..1 */
    char error[TSR_ERROR_MESSAGE_MAX];
    int64_t created, started, finished;  /* Unix seconds, 0 = not yet (set by the store on state changes) */
    char preset_name[TSR_STORE_NAME_MAX]; /* the preset's name when the job was queued (kept if it is deleted) */
    /* The full job (schema 2, column `spec` as tsr_job_spec_to_json). spec.input[0] == 0: the item has no
     * spec (CLI items: input, output, preset and overrides define the job). When it has one, add/update
     * write spec.input and spec.output to the input/output columns too, so the spec is the truth. */
    tsr_job_spec spec;
} tsr_queue_item;

/* Append at the end (state queued). Needs input (or spec.input). */
tsr_status tsr_store_queue_add(tsr_store *s, tsr_queue_item *item, tsr_error *err);
/* Write state, progress, error, output, preset, overrides, preset_name and spec of item->id. Entering RUNNING sets `started`,
 * entering DONE/FAILED/CANCELLED/INTERRUPTED sets `finished`. */
tsr_status tsr_store_queue_update(tsr_store *s, const tsr_queue_item *item, tsr_error *err);
/* Cheap progress/state write for the worker (no other column changes). */
tsr_status tsr_store_queue_set_state(tsr_store *s, int64_t id, tsr_job_state state, double progress,
                                     const char *error, tsr_error *err);
tsr_status tsr_store_queue_get(tsr_store *s, int64_t id, tsr_queue_item *out, tsr_error *err);
/* In queue order. *out: free with tsr_store_free. */
tsr_status tsr_store_queue_list(tsr_store *s, tsr_queue_item **out, int *count, tsr_error *err);
/* Move item `id` to `position` (clamped to the queue); the others close up. */
tsr_status tsr_store_queue_move(tsr_store *s, int64_t id, int position, tsr_error *err);
tsr_status tsr_store_queue_remove(tsr_store *s, int64_t id, tsr_error *err);
/* First QUEUED item in order; *found = 0 when none. */
tsr_status tsr_store_queue_next(tsr_store *s, tsr_queue_item *out, int *found, tsr_error *err);

/* --- job history (append-only log of finished jobs) --- */
typedef struct tsr_history_entry {
    int64_t id;
    char input[TSR_STORE_PATH_MAX];
    char output[TSR_STORE_PATH_MAX];
    char preset[TSR_STORE_NAME_MAX];
    tsr_job_state state;         /* DONE, FAILED, CANCELLED, INTERRUPTED */
    int frames;
    double seconds;
    uint64_t peak_vram;
    char error[TSR_ERROR_MESSAGE_MAX];
    int64_t finished;            /* Unix seconds; 0 on append = now */
    tsr_job_spec spec;           /* the job as it ran (schema 3); spec.input[0] == 0: not recorded */
} tsr_history_entry;

tsr_status tsr_store_history_append(tsr_store *s, tsr_history_entry *e, tsr_error *err);
/* Newest first, at most `limit` (0 = all). */
tsr_status tsr_store_history_list(tsr_store *s, int limit, tsr_history_entry **out, int *count, tsr_error *err);
tsr_status tsr_store_history_clear(tsr_store *s, tsr_error *err);

/* --- tuned settings ("tuned once, remembered") --- */
typedef struct tsr_tune_key {
    char gpu[TSR_STORE_NAME_MAX];    /* "NVIDIA H100 80GB HBM3" */
    int cc;                          /* compute capability x10: 90 */
    char driver[32];                 /* "580.159" */
    uint64_t vram;                   /* total device memory, bytes */
    char model_digest[72];           /* hex digest of the weights */
    tsr_precision precision;
    int latent_h, latent_w;
    uint64_t budget;                 /* the planner's budget, bytes */
} tsr_tune_key;

typedef struct tsr_tuned {
    char *plan_json;                 /* the winning plan (tsr_plan_to_json) */
    char *algos_json;                /* per-layer algorithm choices, JSON object "layer": "algo" */
    double time_s;                   /* measured time of the timed unit */
    uint64_t peak;                   /* measured peak device memory, bytes */
} tsr_tuned;

/* *found = 0 when the key has no entry. Strings in *out are malloc'd: tsr_tuned_clear(). */
tsr_status tsr_store_tuned_get(tsr_store *s, const tsr_tune_key *key, tsr_tuned *out, int *found, tsr_error *err);
tsr_status tsr_store_tuned_put(tsr_store *s, const tsr_tune_key *key, const tsr_tuned *t, tsr_error *err);
/* key NULL: forget everything (tessera-cli tune --retune), the backends' tuning below included. */
tsr_status tsr_store_tuned_forget(tsr_store *s, const tsr_tune_key *key, tsr_error *err);
void tsr_tuned_clear(tsr_tuned *t);
/* What a backend learnt by timing, per device (tsr_engine_description): the text of tsr_engine_tuning_export.
 * get: *text = NULL when the device has none; malloc'd otherwise. The engine keeps it here itself
 * (tsr_engine_params.tuning_store). */
tsr_status tsr_store_backend_tuning_get(tsr_store *s, const char *device, char **text, tsr_error *err);
tsr_status tsr_store_backend_tuning_put(tsr_store *s, const char *device, const char *text, tsr_error *err);

/* ---------------------------------------------------------------- memory planning (engine/plan)
 *
 * A memory model of the decoder (every layer's activations, causal state and weights, derived from a
 * tsr_vae_config) turns a VRAM budget into a plan. Plans are ordered from exact to approximate:
 *   EXACT          stream the latent chunk by chunk, every causal state in device memory; the stages after the
 *                  last temporal upsampler in groups of frames (frame_group) when the whole chunk does not fit;
 *   EXACT_OFFLOAD  the same with the causal state of the largest layers in pinned host memory (prefetched);
 *   FP8_STATE      causal state stored as FP8 e4m3 (only with an FP8 precision), plus offload as needed;
 *   TILED          low-resolution stages (conv_in, mid block with attention, up_blocks.0) whole per chunk,
 *                  every later layer in square spatial tiles (core + 1 px halo per layer, exact), GroupNorm
 *                  statistics gathered from all tiles' cores on the device before the next layer normalises
 *                  (vae/vae_tiled.c); causal states per tile on the device, or (offloaded > 0) as history
 *                  frames in host memory. Exact: equal to the untiled decode up to rounding.
 *   DEEP_TILES     tile-outer (vae/vae_deep.c): per output tile (core + a halo >= the receptive field) the whole
 *                  clip, the head on the whole frame (run once per chunk, its output cached in host memory:
 *                  head_cache; or, with head_cache 0, recomputed per tile and pass), the rest on the tile's
 *                  region with one tile's causal states; GroupNorm statistics pooled from earlier passes over the
 *                  tiles' cores (deep_passes, default 3); `offloaded` > 0: that many of the head's causal states
 *                  in pinned host memory. Near-exact (approximate = 1); host memory: the clip's output frames
 *                  and the head cache.
 * The planner returns the least approximate plan that fits, unless that plan's estimated work (work_pct) is more
 * than TSR_PLAN_MAX_SLOWDOWN times the least work of a near-exact plan that fits (exact tiles over host memory
 * at 1080p in 8 GiB: ~90 s per chunk where deep tiles took 27 s for the clip): then the near-exact one (tiling EXACT_ONLY
 * keeps it exact). Among near-exact plans that fit, the least work. Pure functions: any thread. */
#define TSR_PLAN_MAX_SLOWDOWN 4

typedef enum tsr_plan_kind {
    TSR_PLAN_EXACT = 0,
    TSR_PLAN_EXACT_OFFLOAD,
    TSR_PLAN_FP8_STATE,
    TSR_PLAN_TILED,
    TSR_PLAN_DEEP_TILES,        /* tile-outer: per output tile the whole clip, head on the whole frame (near-exact) */
    TSR_PLAN_IMPOSSIBLE         /* nothing fits: tsr_plan.min_needed says how much would */
} tsr_plan_kind;

typedef struct tsr_plan_request {
    const tsr_vae_config *cfg;  /* NULL = SeedVR2 */
    int latent_t, latent_h, latent_w;   /* decoder input (latent channels come from cfg) */
    tsr_precision precision;    /* AUTO = bf16 (the CUDA default); FP32 = 4-byte activations (CPU backend) */
    uint64_t budget;            /* bytes the plan may use (see tsr_plan_default_budget) */
    tsr_tiling_policy tiling;
    int chunk;                  /* latent frames per chunk, 0 = the planner picks (1..4) */
    uint64_t host_budget;       /* host memory for offloaded state / whole-frame tile buffers, 0 = no limit */
    int fused_norm;             /* 1: the backend applies GroupNorm+SiLU inside the conv (CPU backend); 0: it
                                 * writes the normalised conv input to a buffer first (CUDA backend today) */
    int no_offload;             /* 1: no plan that keeps untiled causal states in host memory (EXACT_OFFLOAD,
                                 * FP8_STATE). tsr_vae_decode executes EXACT_OFFLOAD, not FP8_STATE */
    int emulated_cap;           /* 1: the budget is the CPU backend's emulated device cap: it bounds activations
                                 * and device-side causal states (incl. the host states' staging buffers); the
                                 * weights live in ordinary memory and there is no workspace */
    int no_fp8_state;           /* 1: no FP8_STATE plan (tsr_vae_decode does not execute it) whatever `tiling` says */
    int frame_group;            /* output frames per group of the frame-local stages (tsr_decode_params.frame_group):
                                 * 0 = the planner picks (the largest that fits), N = exactly N (N >= the chunk's
                                 * frames: the whole chunk) */
    int deep_passes;            /* passes of deep-tile plans, 1 .. TSR_DEEP_MAX_PASSES; 0 = TSR_DEEP_PASSES_DEFAULT */
} tsr_plan_request;

void tsr_plan_request_default(tsr_plan_request *r);

#define TSR_PLAN_MAX_OFFLOAD 64
typedef struct tsr_plan {
    tsr_plan_kind kind;
    int approximate;            /* 1 when the output may differ from the untiled decode beyond rounding */
    int chunk;                  /* latent frames per chunk */
    int act_bytes;              /* bytes per activation element (2 bf16/fp16, 4 fp32) */
    int state_bytes;            /* bytes per causal-state element (1 when FP8_STATE) */
    int offloaded;              /* causal states kept in host memory: EXACT_OFFLOAD/FP8_STATE the largest first;
                                 * TILED the tiled layers' per-tile history (0: per-tile device states) */
    /* TILED: output-pixel geometry (0 when untiled) */
    int tile_h, tile_w;         /* tile core edge in output pixels (square; the last row/column may be smaller) */
    int tiles_y, tiles_x;
    int halo;                   /* context per layer and side around a core (TILED: 1, the 3x3 convs); DEEP_TILES:
                                 * per side around a tile core, output pixels (>= the receptive field) */
    int blend;                  /* cross-fade width across seams (0: exact tiles need none) */
    int tile_align;
    int tiled_scale;            /* first tiled spatial scale relative to the latent (2) */
    int two_pass_norm;          /* GroupNorm statistics gathered over all tiles before normalising (TILED; DEEP_TILES
                                 * with deep_passes >= 2) */
    int tile_major;             /* DEEP_TILES: 1 (tile-outer order: every tile streams the whole clip) */
    /* predicted device memory, bytes */
    uint64_t weights, state_device, activations, workspace, peak;
    uint64_t state_staging;     /* EXACT_OFFLOAD/FP8_STATE: the two device staging buffers of the largest offloaded
                                 * state (part of state_device) */
    uint64_t state_host;        /* host memory for offloaded state (EXACT_OFFLOAD: pinned; TILED: fp32 history) */
    uint64_t host_boundary;     /* TILED: host memory for the whole-frame fp32 tensors of the tiled layers;
                                 * DEEP_TILES: the clip's output frames (fp32) + head_cache */
    uint64_t resident;          /* TILED: device memory for those tensors when they stay on the device (part of
                                 * activations; 0: they live in host memory) */
    uint64_t budget;
    uint64_t min_needed;        /* IMPOSSIBLE: the smallest peak any plan reaches */
    int rung;                   /* position in the planner's ladder (informational: tsr_plan_next_smaller goes by
                                 * the peak) */
    int frame_group;            /* untiled: the frame-local stages run over groups of this many output frames
                                 * (0 = the whole chunk; tsr_decode_params.frame_group) */
    int deep_passes;            /* DEEP_TILES: 2 = pooled whole-frame GroupNorm statistics from a first pass over
                                 * the tiles, 1 = per-tile statistics, 3-4 gathered again from the previous pass
                                 * (tsr_decode_params.deep_tile_passes) */
    uint64_t head_cache;        /* DEEP_TILES: host bytes of the head's output, kept so that the head runs once per
                                 * chunk (0: it runs again for every tile and pass; tsr_decode_params.
                                 * deep_head_recompute) */
    int work_pct;               /* estimated work in % of the untiled decode's: the multiply-adds it runs (halos,
                                 * re-runs, recomputed heads) plus its host<->device copies at a nominal 8000
                                 * multiply-adds per byte (~200 T MAC/s over ~25 GB/s). Ranks plans by speed; not
                                 * a timing (tests/bench/RESULTS.md compares it with measured times) */
} tsr_plan;

/* free - margin: the default budget when the user sets none. */
uint64_t tsr_plan_default_budget(uint64_t free_bytes, uint64_t total_bytes);
/* Half the physical RAM (0 when the system does not say: no limit): the host budget a planned decode gets when
 * the caller sets none (tsr_job_spec.host_budget 0, tessera-cli plan / decode / tune without --host-budget).
 * Any thread. */
uint64_t tsr_plan_default_host_budget(void);
/* The least approximate (then fastest) plan that fits r->budget. A budget nothing fits returns TSR_OK with
 * kind IMPOSSIBLE and min_needed; invalid requests fail with TSR_ERR_INVALID_ARG. */
tsr_status tsr_plan_make(const tsr_plan_request *r, tsr_plan *out, tsr_error *err);
/* The DEEP_TILES plan (prediction only) for tile edge `tile` output pixels and `passes` (1 .. TSR_DEEP_MAX_PASSES),
 * with the head's output cached, whatever the budget: what tsr_decode_params.deep_tile / deep_tile_passes will
 * take. TSR_ERR_INVALID_ARG when that gives
 * fewer than 2 tiles. */
tsr_status tsr_plan_deep_tiles(const tsr_plan_request *r, int tile, int passes, struct tsr_plan *out, tsr_error *err);
/* After TSR_ERR_DEVICE_OOM under `cur`: a plan predicted at least 10 % smaller (IMPOSSIBLE when none).
 * tsr_vae_decode (memory_budget) then re-derives the causal states and continues with the chunk that failed. */
tsr_status tsr_plan_next_smaller(const tsr_plan_request *r, const tsr_plan *cur, tsr_plan *out, tsr_error *err);
/* 1 when a and b run the same way (kind, chunk, frame group, tile edges, offloaded states, whole-frame tensors
 * resident on the device or not, deep-tile passes), whatever their predictions, budget and `rung`. */
int tsr_plan_same_settings(const tsr_plan *a, const tsr_plan *b);
/* `given` (a stored plan, say, whose `rung` and predictions may come from another request or build) as a plan of
 * request r: the rung of r's ladder with the same settings (tsr_plan_same_settings), with r's prediction and a
 * `rung` that tsr_plan_next_smaller continues from. TSR_ERR_INVALID_ARG with the reason when r's ladder has no
 * such rung (IMPOSSIBLE; FP8_STATE under no_fp8_state; a kind r's tiling policy or no_offload excludes; another
 * fixed chunk or frame group) or when it does not fit r->budget or r->host_budget. Any thread. */
tsr_status tsr_plan_adopt(const tsr_plan_request *r, const tsr_plan *given, tsr_plan *out, tsr_error *err);
const char *tsr_plan_kind_name(tsr_plan_kind k);
/* Compact JSON of the plan (stored by the autotuner); returns the length snprintf would write. */
int tsr_plan_to_json(const tsr_plan *p, char *buf, size_t cap);
tsr_status tsr_plan_from_json(const char *json, tsr_plan *out, tsr_error *err);
/* Multi-line human description ("exact streaming, chunk 1 ... peak 11.2 GiB"). */
int tsr_plan_describe(const tsr_plan *p, char *buf, size_t cap);

/* Autotune: the caller (a GPU backend) times one candidate plan; it may also report per-layer algorithm
 * choices as a JSON object in `algos`. Return TSR_ERR_DEVICE_OOM to skip a candidate. */
typedef tsr_status (*tsr_tune_time_fn)(void *user, const tsr_plan *candidate, double *seconds, uint64_t *peak,
                                       char *algos, size_t algos_cap, tsr_error *err);
/* With a stored winner for `key` (and retune == 0) return it at once (*from_cache = 1). Otherwise time the
 * fitting candidates of the least approximate kind (at most 6), store the fastest and return it.
 * `store` may be NULL (nothing remembered). */
tsr_status tsr_autotune(tsr_store *store, const tsr_tune_key *key, const tsr_plan_request *r, int retune,
                        tsr_tune_time_fn time_fn, void *user, tsr_plan *out, int *from_cache, tsr_error *err);
/* The request tsr_vae_decode's planned execution makes for this VAE on its engine: the backend's accounting
 * (CPU: an activation cap, fp32, fused norm; CUDA: bf16 arena + weights); exact, exact tiles, then deep tiles
 * (no FP8_STATE: not executed). */
void tsr_vae_plan_request(const tsr_vae *vae, int latent_t, int latent_h, int latent_w, uint64_t budget, int chunk,
                          tsr_plan_request *out);
/* The autotuner's key for request r of this VAE (tsr_vae_plan_request): the engine (tsr_engine_description: GPU
 * name, compute capability and driver; or the CPU and its threads), the digest of the VAE's model, r's precision,
 * latent height x width and budget. tessera-cli tune stores its winner under it; tsr_tuned_plan_lookup reads with
 * it, so the two always agree. Any thread. */
void tsr_tune_key_make(const tsr_vae *vae, const tsr_plan_request *r, tsr_tune_key *key);
/* The tuned plan stored for request r of this VAE (the key of tsr_tune_key_make): *found = 1 and *out = the plan
 * as stored (its `rung` and predictions may be another request's: pass it as tsr_decode_params.start_plan, which
 * checks it against the request and re-derives them), else *found = 0 (no entry, or one that no longer parses:
 * logged as a warning). Takes the VAE rather than engine + model so that the host copy of the weights may be gone.
 * Fails only when the store does. `store` follows the store's rule (one thread per handle). */
tsr_status tsr_tuned_plan_lookup(tsr_store *store, const tsr_vae *vae, const tsr_plan_request *r, tsr_plan *out,
                                 int *found, tsr_error *err);
/* The untiled encoder's predicted device peak, bytes, for `frames` source frames (0 = unknown) of height x width
 * (padded as tsr_vae_encode pads them), tsr_encode_params' chunk and frame_group, on this VAE's backend: CPU =
 * fp32 activations alone (its emulated cap; checked equal to the measured peak), CUDA = bf16 activations with
 * normalised-input buffers + causal state + weights + workspace (not yet checked on a GPU). */
uint64_t tsr_vae_encode_peak(const tsr_vae *vae, int height, int width, int frames, int chunk, int group);
/* Autotune's timing source: the backend's measured time of a short probe. Decodes `latent_t` latent frames of
 * latent_h x latent_w (filler data) under the candidate plan, one warm-up and `runs` timed runs (0 = 1, the
 * fastest counts); *peak = the backend's device high-water mark. Pass a tsr_tune_probe as `user` of
 * tsr_autotune. TSR_ERR_DEVICE_OOM when the candidate does not fit (autotune skips it). */
typedef struct tsr_tune_probe {
    tsr_vae *vae;
    int latent_t, latent_h, latent_w;
    int runs;
} tsr_tune_probe;
tsr_status tsr_tune_probe_time(void *probe, const tsr_plan *candidate, double *seconds, uint64_t *peak, char *algos,
                               size_t algos_cap, tsr_error *err);

/* The latent scale at the file boundary: a stored latent is the decoder input times the scaling factor
 * (0.9152 for SeedVR2). to_file multiplies, from_file divides, in place. Any thread. */
void tsr_latent_to_file_scale(float *data, size_t n, float scaling_factor);
void tsr_latent_from_file_scale(float *data, size_t n, float scaling_factor);

/* ---------------------------------------------------------------- latent files and jobs (media) */

/* Latent files. Layouts: .safetensors and ComfyUI .latent hold one fp32/fp16/bf16 tensor, [1,16,T,H,W]
 * (5-D, written) or [T,16,H,W] (4-D, read); .safetensors key "latent" (also read: "latent_tensor",
 * "samples", or a file's only tensor); .latent key "latent_tensor" plus the empty marker
 * "latent_format_version_0" that ComfyUI's SaveLatent writes; .npy is [1,16,T,H,W] or [T,16,H,W], '<f4' or '<f2'.
 * Scale: stored latents are mean * 0.9152 (what the SeedVR2 ComfyUI node hands between nodes) unless the
 * safetensors metadata says "tessera.latent_scale": "unscaled" (or "raw"); written: "scaled" / "unscaled",
 * as the CLI's safetensors-only encode/decode (feat/cpu) do. Reading divides by the factor (decoder-input
 * scale, as tsr_latent holds); writing multiplies. Safetensors metadata also keeps "tessera.frames",
 * "tessera.height", "tessera.width" (the source size before padding), so decode crops and trims back, and
 * "tessera.fps" (the source frame rate as a rational "num/den", e.g. "30000/1001"; written when
 * tsr_latent.fps_num > 0, read into fps_num/fps_den), which a decode job uses when the spec gives no rate.
 * .npy has no metadata: it cannot carry the frame rate (decodes of .npy use the spec's rate, else 25). */
typedef enum tsr_latent_file_format {
    TSR_LATENT_FILE_AUTO = 0,  /* by extension: .safetensors, .latent, .npy */
    TSR_LATENT_FILE_SAFETENSORS,
    TSR_LATENT_FILE_COMFY,
    TSR_LATENT_FILE_NPY
} tsr_latent_file_format;

/* Any thread. */
tsr_status tsr_latent_read(const char *path, tsr_latent *out, tsr_error *err);
/* Atomic. f16 = 1 stores fp16 (else fp32); raw = 1 stores the unscaled mean (safetensors only). Any thread. */
tsr_status tsr_latent_write(const char *path, const tsr_latent *l, int f16, int raw, tsr_error *err);


/* ---------------------------------------------------------------- job runner (engine <-> UI events)
 *
 * A runner owns one worker thread that runs submitted jobs one after another. Progress goes back as events
 * pushed into a queue; whenever the queue becomes non-empty the runner calls the ONE wakeup callback (from
 * any thread, possibly the worker). The callback must not call into the runner: it only schedules a drain
 * (e.g. g_idle_add) on the UI thread, which then calls tsr_runner_poll until it returns 0 (the contract of
 * mpv_set_wakeup_callback). The runner never calls a UI toolkit. */

typedef struct tsr_runner tsr_runner;


typedef enum tsr_event_type {
    TSR_EVENT_NONE = 0,
    TSR_EVENT_QUEUED,
    TSR_EVENT_STARTED,
    TSR_EVENT_PLAN,             /* tiles_x * tiles_y tiles per frame, chunks_total chunks */
    TSR_EVENT_PROGRESS,
    TSR_EVENT_PREVIEW,          /* a new preview frame: fetch it with tsr_runner_preview */
    TSR_EVENT_FINISHED,         /* message = the output path */
    TSR_EVENT_FAILED,           /* message = why */
    TSR_EVENT_CANCELLED
} tsr_event_type;

typedef struct tsr_event {
    tsr_event_type type;
    uint64_t job;
    int chunks_done, chunks_total;
    int frames_done, frames_total;
    int tile, tiles;            /* tile being processed in the current chunk */
    int tiles_x, tiles_y;       /* PLAN only */
    uint64_t mem_in_use, mem_budget;
    double fps, eta_s, elapsed_s;  /* eta_s < 0: unknown */
    int preview_width, preview_height;
    tsr_status status;          /* FAILED */
    char message[TSR_ERROR_MESSAGE_MAX];
} tsr_event;

/* The report side, given to the job function. */
typedef struct tsr_job_ctx tsr_job_ctx;
/* Report progress. Blocks while the runner is paused; returns non-zero when the job is cancelled (the job
 * should then stop and return TSR_ERR_CANCELLED). Signature-compatible with tsr_progress_fn. Worker thread. */
int tsr_job_ctx_progress(void *ctx, const tsr_progress *p);
void tsr_job_ctx_plan(tsr_job_ctx *ctx, int tiles_x, int tiles_y, int chunks_total);
/* Offer a preview frame (RGB8, any size; the runner keeps a copy downscaled to at most 256 px wide). */
void tsr_job_ctx_preview(tsr_job_ctx *ctx, const uint8_t *rgb, int width, int height, int stride);
int tsr_job_ctx_cancelled(const tsr_job_ctx *ctx);

/* Runs one job on the worker thread. The default (NULL) is the engine's file->file job (tsr_job_run) when
 * this build has it, else fails with TSR_ERR_UNSUPPORTED. */
typedef tsr_status (*tsr_job_fn)(void *user, const tsr_job_spec *spec, tsr_job_ctx *ctx, tsr_error *err);
typedef void (*tsr_wakeup_fn)(void *user);

typedef struct tsr_runner_params {
    tsr_job_fn job;
    void *job_user;
    tsr_wakeup_fn wakeup;
    void *wakeup_user;
    const char *tuned_store;    /* the default job's tsr_job_callbacks.tuned_store: the SQLite store whose tuned plans
                                 * decodes with a memory budget start from (the app passes its own store's path);
                                 * NULL = none. Copied at create */
} tsr_runner_params;

/* Any thread. */
tsr_status tsr_runner_create(const tsr_runner_params *p, tsr_runner **out, tsr_error *err);
/* Cancels the running job, drops queued ones, joins the worker. No wakeup after it returns. */
void tsr_runner_destroy(tsr_runner **runner);
/* Queue a job (the spec is copied); *id receives its id (> 0). Any thread. */
tsr_status tsr_runner_submit(tsr_runner *r, const tsr_job_spec *spec, uint64_t *id, tsr_error *err);
/* Cancel a queued or running job; returns 0 when the id is unknown or already over. Any thread. */
int tsr_runner_cancel(tsr_runner *r, uint64_t id);
/* Take back a job that is still waiting (no event follows; the caller may submit an edited spec): 1 when it
 * was waiting, 0 when it has started, is over or is unknown. Any thread. */
int tsr_runner_withdraw(tsr_runner *r, uint64_t id);
/* Pause/resume: the running job blocks at its next progress report; queued jobs wait. Any thread. */
void tsr_runner_set_paused(tsr_runner *r, int paused);
int tsr_runner_paused(const tsr_runner *r);
/* Pop the oldest event into *ev; returns 1, or 0 when the queue is empty. Any thread. */
int tsr_runner_poll(tsr_runner *r, tsr_event *ev);
/* Copy the latest preview of job `id` (RGB8, tightly packed) into rgb (cap bytes); returns the bytes
 * needed (0 when none). Any thread. */
size_t tsr_runner_preview(tsr_runner *r, uint64_t id, uint8_t *rgb, size_t cap, int *width, int *height);
const char *tsr_event_type_name(tsr_event_type t);

/* Run one file -> file job (tsr_job_spec above) synchronously on the calling thread (FFmpeg encoding runs on a helper thread
 * with a bounded frame queue). Host memory is bounded whatever the clip length. Progress is reported
 * through `progress` (stage "read", "encode", "decode", "write"); a non-zero return cancels: the job then
 * fails with TSR_ERR_CANCELLED and leaves neither output nor temporary file. Reentrant: any thread, any
 * number of concurrent jobs on different engines. `engine` NULL: one is made from the spec's backend,
 * device, precision and memory budget for this job. The model comes from spec->model (a file, "builtin",
 * "builtin:small" or "builtin:full"). */
tsr_status tsr_job_run(tsr_engine *engine, const tsr_job_spec *spec, tsr_progress_fn progress, void *user,
                       tsr_error *err);

/* Optional listeners of tsr_job_run_cb (and where tuned plans are kept); any member may be NULL. All are called on
 * the job's thread. */
typedef struct tsr_job_callbacks {
    tsr_progress_fn progress;  /* as tsr_job_run's */
    /* Once per VAE pass, before it starts: tiles per frame (tsr_job_spec.tile geometry, else 1 x 1) and the
     * pass's temporal chunks (0 = unknown). */
    void (*plan)(void *user, int tiles_x, int tiles_y, int chunks_total);
    /* The latest output frame, RGB8 downscaled to at most 256 px wide (stride = 3 * width); the first frame
     * and then at most one per preview_interval_s. The buffer is only valid during the call. */
    void (*preview)(void *user, const uint8_t *rgb, int width, int height, int stride);
    void *user;
    double preview_interval_s; /* <= 0: 0.25 s */
    /* Not a listener: the SQLite store (a path) whose tuned plans (tessera-cli tune, tsr_tuned_plan_lookup) a decode
     * with a memory budget starts from (tsr_decode_params.start_plan); opened on the job's thread for the lookup.
     * NULL = none: the planner plans afresh. */
    const char *tuned_store;
} tsr_job_callbacks;

/* tsr_job_run with plan and preview listeners (cb NULL: none). The runner's default job uses it to emit
 * TSR_EVENT_PLAN and TSR_EVENT_PREVIEW. */
tsr_status tsr_job_run_cb(tsr_engine *engine, const tsr_job_spec *spec, const tsr_job_callbacks *cb, tsr_error *err);

#ifdef __cplusplus
}
#endif
#endif /* TESSERA_H */
