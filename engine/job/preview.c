/* Preview frames: small RGB8 copies of the latest decoded frame for a UI. */
#include "job/runner.h"

#include "core/common.h"

void tsr_preview_size(int w, int h, int max_w, int *ow, int *oh)
{
    if (w <= max_w) {
        *ow = w, *oh = h;
        return;
    }
    *ow = max_w;
    *oh = (int)((int64_t)h * max_w / w);
    if (*oh < 1) *oh = 1;
}

void tsr_preview_downscale(const uint8_t *src, int w, int h, int stride, int max_w, uint8_t *dst, int *ow, int *oh)
{
    tsr_preview_size(w, h, max_w, ow, oh);
    for (int y = 0; y < *oh; y++) {
        const uint8_t *row = src + (size_t)((int64_t)y * h / *oh) * stride;
        for (int x = 0; x < *ow; x++) {
            const uint8_t *px = row + (size_t)((int64_t)x * w / *ow) * 3;
            uint8_t *d = dst + ((size_t)y * *ow + x) * 3;
            d[0] = px[0], d[1] = px[1], d[2] = px[2];
        }
    }
}

static void forward_plan(void *ctx, int tiles_x, int tiles_y, int chunks_total)
{
    tsr_job_ctx_plan(ctx, tiles_x, tiles_y, chunks_total);
}

static void forward_preview(void *ctx, const uint8_t *rgb, int width, int height, int stride)
{
    tsr_job_ctx_preview(ctx, rgb, width, height, stride);
}

/* The file->file job of engine/job/pipeline.c (fails with TSR_ERR_UNSUPPORTED in builds without FFmpeg), with
 * its plan and previews forwarded as TSR_EVENT_PLAN / TSR_EVENT_PREVIEW and the runner's tuned-plan store. */
tsr_status tsr_runner_default_job(void *user, const tsr_job_spec *spec, tsr_job_ctx *ctx, tsr_error *err)
{
    (void)user;
    tsr_job_callbacks cb = {.progress = tsr_job_ctx_progress, .plan = forward_plan, .preview = forward_preview,
                            .user = ctx, .tuned_store = tsr_job_ctx_tuned_store(ctx)};
    return tsr_job_run_cb(NULL, spec, &cb, err);
}
