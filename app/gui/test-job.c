/* The copy job for UI tests. */
#include "test-job.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNKS 16

static void fake_preview(tsr_job_ctx *ctx, int chunk)
{
    static uint8_t rgb[96 * 54 * 3];
    for (int y = 0; y < 54; y++)
        for (int x = 0; x < 96; x++) {
            uint8_t *p = rgb + (y * 96 + x) * 3;
            p[0] = (uint8_t)(x * 255 / 95), p[1] = (uint8_t)(y * 255 / 53), p[2] = (uint8_t)(chunk * 255 / CHUNKS);
        }
    tsr_job_ctx_preview(ctx, rgb, 96, 54, 96 * 3);
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static tsr_status copy_chunks(FILE *in, FILE *out, long size, const tsr_job_spec *spec, tsr_job_ctx *ctx, int delay)
{
    char buf[65536];
    long per = size / CHUNKS + 1;
    for (int c = 0; c < CHUNKS; c++) {
        for (long left = per; left > 0;) {
            size_t n = fread(buf, 1, left < (long)sizeof buf ? (size_t)left : sizeof buf, in);
            if (n == 0) break;
            if (fwrite(buf, 1, n, out) != n) return TSR_ERR_IO;
            left -= (long)n;
        }
        if (delay) sleep_ms(delay);
        tsr_progress p = {.stage = "copy (UI test job)", .chunks_done = c + 1, .chunks_total = CHUNKS,
                          .frames_done = (c + 1) * 4, .frames_total = CHUNKS * 4, .tile = 4, .tiles = 4,
                          .mem_in_use = (uint64_t)(c + 1) << 26, .mem_budget = spec->memory_budget ? spec->memory_budget
                                                                                                   : 2ull << 30};
        fake_preview(ctx, c);
        if (tsr_job_ctx_progress(ctx, &p)) return TSR_ERR_CANCELLED;
    }
    return TSR_OK;
}

tsr_status tessera_test_copy_job(void *user, const tsr_job_spec *spec, tsr_job_ctx *ctx, tsr_error *err)
{
    (void)user;
    const char *d = getenv("TESSERA_TEST_JOB_DELAY_MS");
    int delay = d ? atoi(d) : 20;
    char part[TSR_PATH_MAX + 8];
    tsr_job_partial_path(spec->output, part, sizeof part);
    FILE *in = fopen(spec->input, "rb");
    if (!in) {
        snprintf(err->message, sizeof err->message, "%s: %s", spec->input, strerror(errno));
        return TSR_ERR_IO;
    }
    FILE *out = fopen(part, "wb");
    if (!out) {
        fclose(in);
        snprintf(err->message, sizeof err->message, "%s: %s", part, strerror(errno));
        return TSR_ERR_IO;
    }
    fseek(in, 0, SEEK_END);
    long size = ftell(in);
    fseek(in, 0, SEEK_SET);
    tsr_job_ctx_plan(ctx, 4, 2, CHUNKS);
    tsr_status st = copy_chunks(in, out, size, spec, ctx, delay);
    fclose(in);
    if (fclose(out) != 0 && st == TSR_OK) st = TSR_ERR_IO;
    if (st == TSR_OK && rename(part, spec->output) != 0) st = TSR_ERR_IO;
    if (st != TSR_OK) {
        remove(part);
        if (st != TSR_ERR_CANCELLED) snprintf(err->message, sizeof err->message, "%s: write failed", part);
    }
    return st;
}
