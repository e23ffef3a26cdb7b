/* tsr_job_run: synchronous file -> file jobs (decode, encode, roundtrip, transcode).
 * The calling thread computes; a writer thread encodes and muxes frames taken from a bounded queue, so
 * FFmpeg work overlaps compute and host memory stays at queue-depth frames whatever the clip length. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/common.h"
#include "job/frame_queue.h"
#include "job/runner.h"
#include "tsr_config.h"

#if !TSR_HAVE_MEDIA
tsr_status tsr_job_run_cb(tsr_engine *engine, const tsr_job_spec *spec, const tsr_job_callbacks *cb, tsr_error *err)
{
    (void)engine, (void)spec, (void)cb;
    return tsr_fail(err, TSR_ERR_UNSUPPORTED, "this build has no FFmpeg support (media disabled)");
}

tsr_status tsr_job_run(tsr_engine *engine, const tsr_job_spec *spec, tsr_progress_fn progress, void *user,
                       tsr_error *err)
{
    tsr_job_callbacks cb = {.progress = progress, .user = user};
    return tsr_job_run_cb(engine, spec, &cb, err);
}
#else
#include "core/file.h"
#include "media/latent_io.h"
#include "media/media.h"

typedef struct job {
    const tsr_job_spec *spec;
    const char *codec, *audio_from;
    tsr_job_kind kind;
    tsr_model *model;
    tsr_engine *own_engine;
    tsr_engine *engine;
    tsr_job_callbacks cb;
    tsr_progress p;
    double t0;
    int cancelled;
    /* output side */
    tsr_media_writer *writer;
    tsr_frame_queue queue;
    pthread_t thread;
    int thread_started;
    int out_w, out_h, max_frames;
    float *crop;               /* one frame, when the sink must crop */
    int fps_num, fps_den;      /* the latent's recorded rate (decode), 0 = none */
    uint8_t *preview;          /* RGB8 staging of the preview, lazily allocated */
    size_t preview_cap;
    double preview_last;       /* tsr_now() of the last preview, < 0 before the first */
    /* input side */
    tsr_media_reader *reader;
} job;

/* Report progress; returns 1 when the listener asked to cancel. */
static int report(job *j, const char *stage)
{
    j->p.stage = stage;
    j->p.elapsed_s = tsr_now() - j->t0;
    if (j->cb.progress && j->cb.progress(j->cb.user, &j->p)) j->cancelled = 1;
    return j->cancelled;
}

/* The VAE's own progress events are forwarded with the job's frame counts. */
static int forward_progress(void *user, const tsr_progress *vp)
{
    job *j = user;
    int fd = j->p.frames_done, ft = j->p.frames_total;
    j->p = *vp;
    j->p.frames_done = fd;
    j->p.frames_total = ft;
    return report(j, vp->stage ? vp->stage : "compute");
}

static void *writer_main(void *arg)
{
    job *j = arg;
    float *f;
    while ((f = tsr_frame_queue_peek(&j->queue)) != NULL) {
        tsr_error e = {0};
        tsr_status st = tsr_media_write(j->writer, f, &e);
        tsr_frame_queue_pop_done(&j->queue);
        if (st != TSR_OK) {
            tsr_frame_queue_fail(&j->queue, &e);
            break;
        }
    }
    return NULL;
}

static tsr_status start_writer(job *j, int w, int h, const tsr_media_info *src, tsr_error *err)
{
    const tsr_job_spec *s = j->spec;
    tsr_media_writer_params wp;
    tsr_media_writer_params_default(&wp);
    wp.width = w;
    wp.height = h;
    if (s->fps_num > 0) wp.fps_num = s->fps_num, wp.fps_den = s->fps_den > 0 ? s->fps_den : 1;
    else if (src) wp.fps_num = src->fps_num, wp.fps_den = src->fps_den;
    else if (j->fps_num > 0) wp.fps_num = j->fps_num, wp.fps_den = j->fps_den > 0 ? j->fps_den : 1;
    if (src) {
        wp.sar_num = src->sar_num, wp.sar_den = src->sar_den;
        wp.color_space = src->color_space, wp.color_primaries = src->color_primaries;
        wp.color_trc = src->color_trc;
    }
    wp.codec = j->codec;
    wp.crf = s->crf;
    wp.bitrate = s->bitrate;
    wp.ten_bit = s->ten_bit;
    wp.audio_from = s->no_audio ? NULL : j->audio_from ? j->audio_from : (src && src->has_audio) ? s->input : NULL;
    tsr_status st = tsr_media_writer_open(s->output, &wp, &j->writer, err);
    if (st != TSR_OK) return st;
    j->out_w = w;
    j->out_h = h;
    st = tsr_frame_queue_init(&j->queue, s->queue_frames, (size_t)3 * w * h, err);
    if (st != TSR_OK) return st;
    if (pthread_create(&j->thread, NULL, writer_main, j) != 0)
        return tsr_fail(err, TSR_ERR_INTERNAL, "cannot start the writer thread");
    j->thread_started = 1;
    return TSR_OK;
}

/* Join the writer; commit the output when everything succeeded, else remove it. */
static tsr_status stop_writer(job *j, tsr_status st, tsr_error *err)
{
    if (j->thread_started) {
        if (st != TSR_OK) tsr_frame_queue_fail(&j->queue, NULL);
        else tsr_frame_queue_close(&j->queue);
        pthread_join(j->thread, NULL);
        j->thread_started = 0;
        if (st == TSR_OK && j->queue.failed) {
            if (err) *err = j->queue.err;
            st = j->queue.err.status != TSR_OK ? j->queue.err.status : TSR_ERR_INTERNAL;
        }
        tsr_log(TSR_LOG_DEBUG, "writer queue (%d frames): producer blocked %.2f s, writer idle %.2f s, job %.2f s",
                j->queue.cap, j->queue.wait_push_s, j->queue.wait_pop_s, tsr_now() - j->t0);
    }
    if (j->writer) {
        if (st == TSR_OK) st = tsr_media_writer_finish(&j->writer, err);
        else tsr_media_writer_abort(&j->writer);
    }
    tsr_frame_queue_destroy(&j->queue);
    return st;
}

/* Offer frame f ([3][h][w] in [-1, 1], rows of `stride` floats) as a preview: nearest-neighbour straight from
 * the floats into at most TSR_PREVIEW_MAX_WIDTH px wide RGB8, so the cost is the preview's pixels only, and
 * at most once per interval (the first frame always). */
static void offer_preview(job *j, const float *f, int h, int w, int stride)
{
    if (!j->cb.preview || w <= 0 || h <= 0) return;
    double now = tsr_now(), every = j->cb.preview_interval_s > 0 ? j->cb.preview_interval_s : 0.25;
    if (j->preview_last >= 0 && now - j->preview_last < every) return;
    int ow, oh;
    tsr_preview_size(w, h, TSR_PREVIEW_MAX_WIDTH, &ow, &oh);
    if ((size_t)ow * oh * 3 > j->preview_cap) {
        free(j->preview);
        j->preview_cap = 0;
        if (!(j->preview = malloc((size_t)ow * oh * 3))) return;
        j->preview_cap = (size_t)ow * oh * 3;
    }
    size_t plane = (size_t)h * stride;
    for (int y = 0; y < oh; y++) {
        size_t row = (size_t)((int64_t)y * h / oh) * stride;
        for (int x = 0; x < ow; x++) {
            size_t at = row + (size_t)((int64_t)x * w / ow);
            for (int c = 0; c < 3; c++) {
                float v = (f[c * plane + at] + 1.0f) * 127.5f + 0.5f;
                j->preview[((size_t)y * ow + x) * 3 + c] = (uint8_t)(v <= 0 ? 0 : v >= 255 ? 255 : v);
            }
        }
    }
    j->preview_last = now;
    j->cb.preview(j->cb.user, j->preview, ow, oh, 3 * ow);
}

/* tsr_frame_sink: crop/trim defensively, queue each frame for the writer, report, honour cancel. */
static tsr_status sink(void *user, const float *frames, int n, int first, int height, int width, tsr_error *err)
{
    job *j = user;
    if (height < j->out_h || width < j->out_w)
        return tsr_fail(err, TSR_ERR_INTERNAL, "decoded frames %dx%d smaller than the output %dx%d", width, height,
                        j->out_w, j->out_h);
    for (int i = 0; i < n; i++) {
        if (j->max_frames > 0 && first + i >= j->max_frames) break;
        const float *f = frames + (size_t)i * 3 * height * width;
        if (height != j->out_h || width != j->out_w) {
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < j->out_h; y++)
                    memcpy(j->crop + ((size_t)c * j->out_h + y) * j->out_w,
                           f + ((size_t)c * height + y) * width, (size_t)j->out_w * sizeof(float));
            f = j->crop;
        }
        tsr_status st = tsr_frame_queue_push(&j->queue, f, err);
        if (st != TSR_OK) return st;
        j->p.frames_done++;
        offer_preview(j, f, j->out_h, j->out_w, j->out_w); /* f is out_h x out_w here (cropped above) */
    }
    if (report(j, "write")) return tsr_fail(err, TSR_ERR_CANCELLED, "cancelled");
    return TSR_OK;
}

/* tsr_frame_source over the reader, with progress and cancel. */
static int source(void *user, float *frames, int max, tsr_error *err)
{
    job *j = user;
    if (report(j, "read")) {
        tsr_fail(err, TSR_ERR_CANCELLED, "cancelled");
        return -1;
    }
    int n = tsr_media_read(j->reader, frames, max, err);
    if (n > 0) j->p.frames_done += n;
    return n;
}

static tsr_status run_transcode(job *j, tsr_error *err)
{
    const tsr_media_info *in = tsr_media_reader_info(j->reader);
    tsr_status st = start_writer(j, in->width, in->height, in, err);
    float *frame = st == TSR_OK ? tsr_malloc((size_t)3 * in->width * in->height * sizeof(float), err) : NULL;
    if (st == TSR_OK && !frame) st = TSR_ERR_NOMEM;
    j->p.frames_total = (int)in->frames;
    while (st == TSR_OK) {
        int n = source(j, frame, 1, err);
        if (n < 0) st = err ? err->status : TSR_ERR_INTERNAL;
        if (n <= 0) break;
        j->p.frames_done--; /* counted again by the sink */
        st = sink(j, frame, 1, j->p.frames_done, in->height, in->width, err);
    }
    free(frame);
    return stop_writer(j, st, err);
}

/* Tiles per frame of a frame of h x w at tile edge `tile` (output pixels; 0 = untiled), as vae_tiled.c's
 * grid() lays them out at full resolution. */
static void tile_grid(int tile, int h, int w, int *nx, int *ny)
{
    int e = tile > 0 ? TSR_MIN(tile, TSR_MAX(h, w)) : TSR_MAX(h, w);
    *nx = e > 0 ? (w + e - 1) / e : 1;
    *ny = e > 0 ? (h + e - 1) / e : 1;
}

static void announce_plan(job *j, int tile, int h, int w, int chunks)
{
    if (!j->cb.plan) return;
    int nx, ny;
    tile_grid(tile, h, w, &nx, &ny);
    j->cb.plan(j->cb.user, nx, ny, chunks);
}

typedef struct planned_decode {
    job *j;
    int h, w, t;
    const tsr_plan *tuned;      /* the start plan from the store, or NULL */
} planned_decode;

/* tsr_decode_params.on_plan: the planner's plan (and every re-plan after running out of device memory)
 * becomes the job's plan event. */
static void on_decode_plan(void *user, const tsr_plan *pl, const char *why)
{
    planned_decode *d = user;
    int chunk = pl->chunk > 0 ? pl->chunk : 1;
    if (why) tsr_log(TSR_LOG_WARN, "out of device memory, continuing with a smaller plan (%s): %s",
                     tsr_plan_kind_name(pl->kind), why);
    else if (d->tuned && tsr_plan_same_settings(pl, d->tuned))
        tsr_log(TSR_LOG_INFO, "tuned plan from the store: %s, chunk %d, frame group %d, tile %d px",
                tsr_plan_kind_name(pl->kind), pl->chunk, pl->frame_group, pl->tile_w);
    announce_plan(d->j, pl->kind == TSR_PLAN_TILED || pl->kind == TSR_PLAN_DEEP_TILES ? pl->tile_w : 0, d->h, d->w, (d->t + chunk - 1) / chunk);
}

/* Round trips do not hold the clip's latent in host memory: the encoder streams it, frame by frame
 * ([t][c][h][w] fp32), into a spool file beside the output ("<output>.tmp-*": removed when the job ends, and by
 * the store's recovery after a crash), and the decoder reads it back chunk by chunk. */
typedef struct spool {
    tsr_atomic_file f;          /* the file while it is written; its temp_path names it throughout */
    FILE *rd;
    int c, h, w;
} spool;

#ifdef _WIN32
#define spool_seek _fseeki64
#else
#define spool_seek fseeko
#endif

static tsr_status spool_write(void *user, const float *frames, int c, int t0, int n, int h, int w, tsr_error *err)
{
    spool *sp = user;
    size_t hw = (size_t)h * w;
    sp->c = c, sp->h = h, sp->w = w;
    for (int f = 0; f < n; f++)
        for (int ci = 0; ci < c; ci++)
            if (fwrite(frames + ((size_t)ci * n + f) * hw, sizeof(float), hw, sp->f.fp) != hw)
                return tsr_fail(err, TSR_ERR_IO, "%s: cannot write the latent of frame %d (disk full?)",
                                sp->f.temp_path, t0 + f);
    return TSR_OK;
}

static tsr_status spool_read(void *user, float *dst, int t0, int n, tsr_error *err)
{
    spool *sp = user;
    size_t hw = (size_t)sp->h * sp->w;
    for (int f = 0; f < n; f++) {
        int64_t at = (int64_t)(t0 + f) * sp->c * (int64_t)hw * (int64_t)sizeof(float);
        int bad = spool_seek(sp->rd, at, SEEK_SET) != 0;
        for (int ci = 0; ci < sp->c && !bad; ci++)
            bad = fread(dst + ((size_t)ci * n + f) * hw, sizeof(float), hw, sp->rd) != hw;
        if (bad)
            return tsr_fail(err, TSR_ERR_IO, "%s: cannot read back the latent of frame %d", sp->f.temp_path, t0 + f);
    }
    return TSR_OK;
}

/* Beside the output; a frame folder's spool goes beside the folder, not into it. */
static tsr_status spool_open(spool *sp, const char *output, tsr_error *err)
{
    memset(sp, 0, sizeof *sp);
    char base[TSR_PATH_MAX];
    snprintf(base, sizeof base, "%s", output);
    for (size_t n = strlen(base); n > 1 && (base[n - 1] == '/' || base[n - 1] == '\\'); n--) base[n - 1] = 0;
    return tsr_atomic_open(&sp->f, base, err);
}

/* Written: close it for writing and open it for reading. */
static tsr_status spool_rewind(spool *sp, tsr_error *err)
{
    int bad = ferror(sp->f.fp) != 0;
    bad |= fclose(sp->f.fp) != 0;
    sp->f.fp = NULL;
    if (!bad) sp->rd = tsr_fopen(sp->f.temp_path, "rb");
    if (bad || !sp->rd) return tsr_fail(err, TSR_ERR_IO, "%s: the latent spool file failed", sp->f.temp_path);
    return TSR_OK;
}

static void spool_close(spool *sp)
{
    if (sp->rd) fclose(sp->rd);
    sp->rd = NULL;
    tsr_atomic_abort(&sp->f); /* closes the writer if still open and deletes the file */
}

/* The plan `tessera-cli tune` stored for this decode's key in the caller's store (tsr_job_callbacks.tuned_store), if
 * any: the decode starts from it (and plans afresh when it does not fit). A store that cannot be read costs the
 * tuning, not the job. */
static int tuned_plan(const job *j, tsr_vae *vae, const tsr_latent *l, tsr_plan *out)
{
    if (!j->cb.tuned_store) return 0;
    tsr_store_params sp;
    tsr_store_params_default(&sp);
    sp.path = j->cb.tuned_store;
    sp.recover_interrupted = 0; /* a second handle beside the app's */
    tsr_store *s = NULL;
    tsr_error e = {0};
    int found = 0;
    if (tsr_store_open(&sp, &s, &e) == TSR_OK) {
        tsr_plan_request r;
        tsr_vae_plan_request(vae, l->t, l->h, l->w, j->spec->memory_budget, j->spec->chunk, &r);
        if (tsr_tuned_plan_lookup(s, vae, &r, out, &found, &e) != TSR_OK) found = 0;
        tsr_store_close(&s);
    }
    if (e.message[0]) tsr_log(TSR_LOG_WARN, "tuned plans not read (%s): planning for the budget", e.message);
    return found;
}

static tsr_status decode_to_writer(job *j, tsr_vae *vae, const tsr_latent *l, const tsr_media_info *src,
                                   spool *sp, tsr_error *err)
{
    int oh = l->height > 0 ? l->height : 8 * l->h, ow = l->width > 0 ? l->width : 8 * l->w;
    j->max_frames = l->frames > 0 ? l->frames : 4 * l->t - 3;
    j->p.frames_total = j->max_frames;
    j->p.frames_done = 0;
    tsr_status st = start_writer(j, ow, oh, src, err);
    if (st == TSR_OK && !(j->crop = tsr_malloc((size_t)3 * ow * oh * sizeof(float), err))) st = TSR_ERR_NOMEM;
    if (st == TSR_OK) {
        tsr_decode_params dp;
        tsr_decode_params_default(&dp);
        dp.chunk = j->spec->chunk;
        dp.tile = j->spec->tile > 0 ? j->spec->tile : 0;
        dp.crop_height = oh;
        dp.crop_width = ow;
        dp.max_frames = j->max_frames;
        dp.progress = forward_progress;
        dp.progress_user = j;
        planned_decode pd = {j, 8 * l->h, 8 * l->w, l->t, NULL};
        tsr_plan tuned;
        if (j->spec->memory_budget > 0 && dp.tile == 0) { /* the planner decides; re-plans on device OOM */
            dp.memory_budget = j->spec->memory_budget;
            dp.host_budget = j->spec->host_budget ? j->spec->host_budget : tsr_plan_default_host_budget();
            if (tuned_plan(j, vae, l, &tuned)) dp.start_plan = pd.tuned = &tuned;
            dp.on_plan = on_decode_plan;
            dp.plan_user = &pd;
        } else {
            int chunk = dp.chunk > 0 ? dp.chunk : 1; /* tsr_vae_decode's automatic chunk */
            announce_plan(j, dp.tile, 8 * l->h, 8 * l->w, (l->t + chunk - 1) / chunk);
        }
        j->preview_last = -1;
        if (sp) st = tsr_vae_decode_from(vae, spool_read, sp, l->c, l->t, l->h, l->w, &dp, sink, j, err);
        else st = tsr_vae_decode(vae, l->data, l->c, l->t, l->h, l->w, &dp, sink, j, err);
        if (st == TSR_OK && j->cancelled) st = tsr_fail(err, TSR_ERR_CANCELLED, "cancelled");
    }
    return stop_writer(j, st, err);
}

static tsr_status encode_from_reader(job *j, tsr_vae *vae, tsr_latent *out, spool *sp, int tile, int group,
                                     tsr_error *err)
{
    const tsr_media_info *in = tsr_media_reader_info(j->reader);
    j->p.frames_total = (int)in->frames;
    tsr_encode_params ep;
    tsr_encode_params_default(&ep);
    ep.chunk = j->spec->chunk;
    ep.tile = tile;
    ep.frame_group = tile ? 0 : group;
    ep.progress = forward_progress;
    ep.progress_user = j;
    if (sp) ep.latent_sink = spool_write, ep.latent_sink_user = sp;
    /* tsr_vae_encode's chunks: 1 + chunk frames, then chunk (0 = 4), over frames padded to 4k+1 */
    int chunk = ep.chunk > 0 ? ep.chunk : 4, padded = in->frames > 0 ? (int)((in->frames + 2) / 4 * 4 + 1) : 0;
    announce_plan(j, ep.tile, (in->height + 15) / 16 * 16, (in->width + 15) / 16 * 16,
                  padded > 0 ? TSR_MAX(1, (padded - 1 + chunk - 1) / chunk) : 0);
    tsr_status st = tsr_vae_encode(vae, in->height, in->width, source, j, &ep, out, err);
    if (st == TSR_OK && j->cancelled) st = tsr_fail(err, TSR_ERR_CANCELLED, "cancelled");
    if (st == TSR_OK) {
        out->frames = (int)tsr_media_reader_frames_read(j->reader);
        out->height = in->height;
        out->width = in->width;
        out->fps_num = in->fps_num;
        out->fps_den = in->fps_den;
    }
    return st;
}

/* The next smaller encoder tile (input pixels) after `cur` for frames of h x w: 0 = untiled -> the largest
 * power of two from 512 below the frame's longer side, then halves, down to 64; 0 when none is left. */
static int next_encode_tile(int cur, int h, int w)
{
    int t = cur > 0 ? cur / 2 : 512;
    while (cur == 0 && t >= TSR_MAX(h, w) && t > 64) t /= 2;
    return t >= 64 && t < TSR_MAX(h, w) ? t : 0;
}

/* Encode with the spec's tile, or untiled. With a VRAM budget and tiling left to Tessera, the encoder's memory
 * model (tsr_vae_encode_peak) decides before the first frame is read: whole frames, whole frames with the
 * full-resolution stages in frame groups of 2 or 1 (exact), or, when none of them fits, tiles from the start.
 * When the device runs out of memory anyway (a small card, or a model that under-counts), read the clip again
 * from the start and encode in exact spatial tiles, smaller each time (the encoder's peak scales with the tile's
 * pixels; the result is the same up to rounding). The spool of a round trip starts over too. */
static tsr_status encode_within_budget(job *j, tsr_vae *vae, tsr_latent *lat, spool *sp, tsr_error *err)
{
    const tsr_media_info *in = tsr_media_reader_info(j->reader);
    int h = in->height, w = in->width, tile = j->spec->tile > 0 ? j->spec->tile : 0, group = 0;
    if (j->spec->memory_budget > 0 && !tile) {
        static const int groups[] = {0, 2, 1};
        int frames = in->frames > 0 && in->frames < (1 << 30) ? (int)in->frames : 0, fits = 0;
        for (size_t i = 0; i < TSR_ARRAY_LEN(groups) && !fits; i++)
            if (tsr_vae_encode_peak(vae, h, w, frames, j->spec->chunk, groups[i]) <= j->spec->memory_budget)
                fits = 1, group = groups[i];
        if (!fits) tile = next_encode_tile(0, h, w);
        tsr_log(TSR_LOG_INFO, "encode within %.1f MiB: %s", (double)j->spec->memory_budget / 1048576.0,
                !fits ? "tiles from the start" : group ? "whole frames in frame groups" : "whole frames");
        if (group) tsr_log(TSR_LOG_INFO, "encode frame groups of %d", group);
    }
    for (;;) {
        tsr_status st = encode_from_reader(j, vae, lat, sp, tile, group, err);
        int next = j->spec->tile > 0 || st != TSR_ERR_DEVICE_OOM ? 0 : next_encode_tile(tile, h, w);
        if (!next) return st;
        tsr_log(TSR_LOG_WARN, "out of device memory while encoding %s; starting over in %d px tiles: %s",
                tile ? "in tiles" : "whole frames", next, err ? err->message : "");
        tsr_latent_free(lat);
        tsr_media_reader_close(&j->reader);
        st = tsr_media_reader_open(j->spec->input, &j->reader, err);
        if (st == TSR_OK && sp) {
            spool_close(sp);
            st = spool_open(sp, j->spec->output, err);
        }
        if (st != TSR_OK) return st;
        tile = next;
    }
}

static tsr_status run_vae_job(job *j, tsr_error *err)
{
    const tsr_job_spec *s = j->spec;
    tsr_vae *vae = NULL;
    tsr_latent lat = {0};
    tsr_status st = tsr_vae_create(j->engine, j->model, &vae, err);
    if (st == TSR_OK && j->kind == TSR_JOB_DECODE) {
        st = tsr_latent_read_as(s->input, s->latent_raw, &lat, err);
        j->fps_num = lat.fps_num, j->fps_den = lat.fps_den;
        if (st == TSR_OK) st = decode_to_writer(j, vae, &lat, NULL, NULL, err);
    } else if (st == TSR_OK && j->kind == TSR_JOB_ENCODE) {
        st = encode_within_budget(j, vae, &lat, NULL, err);
        if (st == TSR_OK) st = tsr_latent_write(s->output, &lat, s->latent_f16, s->latent_raw, err);
    } else if (st == TSR_OK) { /* round trip through the spool file */
        spool sp;
        st = spool_open(&sp, s->output, err);
        if (st == TSR_OK) st = encode_within_budget(j, vae, &lat, &sp, err);
        if (st == TSR_OK) st = spool_rewind(&sp, err);
        if (st == TSR_OK) st = decode_to_writer(j, vae, &lat, tsr_media_reader_info(j->reader), &sp, err);
        spool_close(&sp);
    }
    tsr_latent_free(&lat);
    tsr_vae_destroy(&vae);
    return st;
}

static int is_latent_path(const char *p)
{
    const char *dot = strrchr(p, '.');
    return dot && (strcasecmp(dot, ".safetensors") == 0 || strcasecmp(dot, ".latent") == 0 ||
                   strcasecmp(dot, ".npy") == 0);
}

/* "mp4-h264" -> "h264", but only when the output is of that container: the runner's default format must
 * not force H.264 onto a .mov or a frame directory (those then get their own defaults). */
static const char *codec_from_format(const char *format, const char *output)
{
    const char *dash = strchr(format, '-');
    if (!dash) return NULL;
    const char *slash = strrchr(output, '/');
    const char *dot = strrchr(slash ? slash : output, '.');
    size_t n = (size_t)(dash - format);
    if (tsr_media_path_is_dir_target(output)) return strncmp(format, "dir", 3) == 0 ? dash + 1 : NULL;
    return dot && strlen(dot + 1) == n && strncasecmp(dot + 1, format, n) == 0 ? dash + 1 : NULL;
}

/* The spec's strings and defaults resolved into the job. */
static tsr_status resolve(job *j, const tsr_job_spec *s, tsr_error *err)
{
    if (!s->input[0] || !s->output[0]) return tsr_fail(err, TSR_ERR_INVALID_ARG, "job: input and output are required");
    j->kind = s->kind;
    if (j->kind == TSR_JOB_AUTO)
        j->kind = is_latent_path(s->input) ? TSR_JOB_DECODE
                  : is_latent_path(s->output) || strcmp(s->format, "latent") == 0 ? TSR_JOB_ENCODE : TSR_JOB_ROUNDTRIP;
    if (j->kind < TSR_JOB_DECODE || j->kind > TSR_JOB_TRANSCODE)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "job: unknown kind %d", (int)s->kind);
    j->codec = s->codec[0] ? s->codec : codec_from_format(s->format, s->output);
    j->audio_from = s->audio_from[0] ? s->audio_from : NULL;
    return TSR_OK;
}

/* Model from spec->model and, when the caller gave none, an engine from the spec. */
static tsr_status open_compute(job *j, const tsr_job_spec *s, tsr_error *err)
{
    const char *m = s->model[0] ? s->model : "builtin:small";
    tsr_status st;
    if (strcmp(m, "builtin") == 0 || strcmp(m, "builtin:full") == 0) {
        st = tsr_model_builtin(NULL, &j->model, err);
    } else if (strcmp(m, "builtin:small") == 0) { /* scaled-down SeedVR2 (32/32/64/64), as the CLI's */
        tsr_vae_config c;
        tsr_vae_config_seedvr2(&c);
        static const int ch[4] = {32, 32, 64, 64};
        memcpy(c.block_out, ch, sizeof ch);
        st = tsr_model_builtin(&c, &j->model, err);
    } else {
        st = tsr_model_open(m, &j->model, err);
    }
    if (st != TSR_OK || j->engine) return st;
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = s->backend;
    ep.device = s->device;
    ep.precision = s->precision;
    ep.memory_budget = s->memory_budget;
    st = tsr_engine_create(&ep, &j->own_engine, err);
    j->engine = j->own_engine;
    return st;
}

tsr_status tsr_job_run(tsr_engine *engine, const tsr_job_spec *spec, tsr_progress_fn progress, void *user,
                       tsr_error *err)
{
    tsr_job_callbacks cb = {.progress = progress, .user = user};
    return tsr_job_run_cb(engine, spec, &cb, err);
}

tsr_status tsr_job_run_cb(tsr_engine *engine, const tsr_job_spec *spec, const tsr_job_callbacks *cb, tsr_error *err)
{
    if (!spec) return tsr_fail(err, TSR_ERR_INVALID_ARG, "job: no spec");
    job j;
    memset(&j, 0, sizeof j);
    j.spec = spec;
    j.engine = engine;
    if (cb) j.cb = *cb;
    j.preview_last = -1;
    j.t0 = tsr_now();
    tsr_status st = resolve(&j, spec, err);
    if (st == TSR_OK && j.kind != TSR_JOB_TRANSCODE) st = open_compute(&j, spec, err);
    if (st == TSR_OK && j.kind != TSR_JOB_DECODE) st = tsr_media_reader_open(spec->input, &j.reader, err);
    if (st == TSR_OK) st = j.kind == TSR_JOB_TRANSCODE ? run_transcode(&j, err) : run_vae_job(&j, err);
    if (st == TSR_OK) {
        j.p.frames_done = j.p.frames_total > 0 ? j.p.frames_total : j.p.frames_done;
        report(&j, "done");
        j.cancelled = 0;
    }
    tsr_media_reader_close(&j.reader);
    tsr_engine_destroy(&j.own_engine);
    tsr_model_destroy(&j.model);
    free(j.crop);
    free(j.preview);
    return st;
}
#endif
