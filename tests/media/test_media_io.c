/* Media reader/writer and latent files on their own, with synthetic frames (no VAE needed). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "media/media.h"
#include "media/npy.h"
#include "tsr_config.h"
#include "tsr_test.h"

#ifdef __SANITIZE_ADDRESS__
/* libx265 keeps a small allocation per bit depth for the process's lifetime (not ours to free). */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libx265\n"; }
#endif

static char tmpdir[256];
static double last_mean_error;

static void synth(float *f, int w, int h, int k)
{
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                f[((size_t)c * h + y) * w + x] = 0.9f * sinf(0.21f * x * (c + 1) + 0.13f * y + 0.3f * k + c);
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n;
}

/* Write `frames` synthetic frames of w x h, read them back, return the largest error (or 99 on failure). */
static float write_read(const char *name, const char *codec, int ten_bit, int w, int h, int frames)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    tsr_media_writer_params p;
    tsr_media_writer_params_default(&p);
    p.width = w, p.height = h, p.codec = codec, p.ten_bit = ten_bit, p.fps_num = 24, p.fps_den = 1;
    tsr_error err = {0};
    tsr_media_writer *wr = NULL;
    float *f = malloc(sizeof(float) * 3 * w * h), *g = malloc(sizeof(float) * 3 * w * h);
    tsr_status st = tsr_media_writer_open(path, &p, &wr, &err);
    for (int k = 0; st == TSR_OK && k < frames; k++) synth(f, w, h, k), st = tsr_media_write(wr, f, &err);
    if (st == TSR_OK) st = tsr_media_writer_finish(&wr, &err);
    CHECKF(st == TSR_OK, "%s: %s", name, err.message);
    float worst = st == TSR_OK ? 0 : 99;
    tsr_media_reader *r = NULL;
    if (st == TSR_OK && tsr_media_reader_open(path, &r, &err) != TSR_OK) worst = 99;
    if (r) {
        const tsr_media_info *in = tsr_media_reader_info(r);
        CHECKF(in->width == w && in->height == h, "%s: %dx%d", name, in->width, in->height);
        int k = 0, n;
        double sum = 0;
        while ((n = tsr_media_read(r, g, 1, &err)) == 1) {
            synth(f, w, h, k++);
            for (size_t i = 0; i < (size_t)3 * w * h; i++) worst = fmaxf(worst, fabsf(f[i] - g[i])), sum += fabsf(f[i] - g[i]);
        }
        last_mean_error = k ? sum / (3.0 * w * h * k) : 99;
        CHECKF(n == 0, "%s: %s", name, err.message);
        CHECKF(k == frames, "%s: read %d frames of %d", name, k, frames);
        if (!in->is_image) CHECKF(in->fps_num == 24 && in->fps_den == 1, "%s: fps %d/%d", name, in->fps_num, in->fps_den);
        tsr_media_reader_close(&r);
    }
    free(f), free(g);
    fprintf(stderr, "%-12s %-10s max error %.5f, mean %.5f\n", name, codec, worst, last_mean_error);
    return worst;
}

static void test_formats(void)
{
    CHECK(write_read("a.mkv", "ffv1", 0, 37, 29, 5) < 0.003f);
    CHECK(write_read("seq16/", "png", 1, 37, 29, 3) < 0.0002f);
    CHECK(write_read("seq8/", "png", 0, 37, 29, 3) < 0.01f);
    CHECK(write_read("tif/", "tiff", 0, 37, 29, 2) < 0.0002f);
    CHECK(write_read("b.mov", "prores4444", 0, 38, 30, 3) < 0.05f);
    /* 4:2:2 / 4:2:0: the test pattern's fast chroma changes cost up to ~0.5 at edges; the mean stays small */
    CHECK(write_read("b2.mov", "prores", 1, 38, 30, 3) < 0.6f && last_mean_error < 0.03);
    CHECK(write_read("c.mp4", "h264", 0, 64, 48, 9) < 0.6f && last_mean_error < 0.06);
    CHECK(write_read("d.mkv", "hevc", 1, 64, 48, 5) < 0.6f && last_mean_error < 0.06);
    CHECK(write_read("odd.mp4", "h264", 0, 53, 31, 3) < 0.6f && last_mean_error < 0.06); /* 4:4:4 fallback */
}

static void test_abort_leaves_nothing(void)
{
    char sub[512], path[600];
    snprintf(sub, sizeof sub, "%s/abort", tmpdir);
    mkdir(sub, 0755);
    const char *names[] = {"x.mp4", "frames/"};
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", sub, names[i]);
        tsr_media_writer_params p;
        tsr_media_writer_params_default(&p);
        p.width = 32, p.height = 32;
        tsr_media_writer *w = NULL;
        tsr_error err = {0};
        float f[3 * 32 * 32];
        synth(f, 32, 32, 0);
        REQUIRE(tsr_media_writer_open(path, &p, &w, &err) == TSR_OK);
        CHECK(tsr_media_write(w, f, &err) == TSR_OK && tsr_media_write(w, f, &err) == TSR_OK);
        tsr_media_writer_abort(&w);
        CHECK(w == NULL);
    }
    CHECKF(count_entries(sub) == 0, "abort left %d entries in %s", count_entries(sub), sub);
}

static void expect_read_error(const char *path, tsr_status want, const char *what)
{
    tsr_media_reader *r = NULL;
    tsr_error err = {0};
    tsr_status st = tsr_media_reader_open(path, &r, &err);
    if (st == TSR_OK) {
        float *f = malloc(sizeof(float) * 3 * tsr_media_reader_info(r)->width * tsr_media_reader_info(r)->height);
        st = tsr_media_read(r, f, 1, &err) < 0 ? err.status : TSR_OK;
        free(f);
        tsr_media_reader_close(&r);
    }
    CHECKF(st == want, "%s: status %s, want %s (%s)", what, tsr_status_name(st), tsr_status_name(want), err.message);
    CHECKF(strlen(err.message) > 10, "%s: no message", what);
    fprintf(stderr, "%-10s -> %s\n", what, err.message);
}

static void write_bytes(const char *path, const void *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    REQUIRE(f);
    fwrite(b, 1, n, f);
    fclose(f);
}

static void test_bad_inputs(void)
{
    char p[512];
    snprintf(p, sizeof p, "%s/empty.mp4", tmpdir);
    write_bytes(p, "", 0);
    expect_read_error(p, TSR_ERR_INPUT, "empty");
    snprintf(p, sizeof p, "%s/garbage.mp4", tmpdir);
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 131 + 7);
    write_bytes(p, junk, sizeof junk);
    expect_read_error(p, TSR_ERR_FORMAT, "garbage");
    snprintf(p, sizeof p, "%s/missing.mp4", tmpdir);
    expect_read_error(p, TSR_ERR_IO, "missing");
    expect_read_error(tmpdir, TSR_ERR_INPUT, "no-images"); /* a directory with no images at the top... */
}

static void test_npy(void)
{
    char p[512];
    float data[2 * 3 * 4], back;
    for (int i = 0; i < 24; i++) data[i] = (float)i * 0.25f - 2.0f;
    int64_t shape[3] = {2, 3, 4};
    tsr_error err = {0};
    for (int f16 = 0; f16 < 2; f16++) {
        snprintf(p, sizeof p, "%s/t%d.npy", tmpdir, f16);
        REQUIRE(tsr_npy_write(p, data, 3, shape, f16, &err) == TSR_OK);
        tsr_npy n;
        REQUIRE(tsr_npy_read(p, &n, &err) == TSR_OK);
        CHECK(n.ndim == 3 && n.shape[0] == 2 && n.shape[2] == 4 && n.was_f16 == f16);
        back = n.data[23];
        CHECK(back == data[23]);
        tsr_npy_free(&n);
    }
    /* truncation and a bad dtype are refused */
    static const char bad[] = "\x93NUMPY\x01\x00\x36\x00{'descr': '>i8', 'fortran_order': False, 'shape': (1,), }";
    tsr_npy n;
    CHECK(tsr_npy_parse(bad, sizeof bad - 1, "bad", &n, &err) != TSR_OK);
    FILE *f = fopen(p, "rb");
    char buf[256];
    size_t len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    CHECK(tsr_npy_parse(buf, len - 2, "short", &n, &err) == TSR_ERR_FORMAT);
}

static void test_latent_files(void)
{
    const char *exts[] = {"npy", "safetensors", "latent"};
    tsr_latent l = {0};
    l.c = 16, l.t = 3, l.h = 5, l.w = 7, l.frames = 8, l.height = 37, l.width = 50;
    size_t n = (size_t)16 * 3 * 5 * 7;
    l.data = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) l.data[i] = sinf((float)i);
    for (int e = 0; e < 3; e++)
        for (int f16 = 0; f16 < 2; f16++) {
            char p[512];
            snprintf(p, sizeof p, "%s/lat%d.%s", tmpdir, f16, exts[e]);
            tsr_error err = {0};
            tsr_status st = tsr_latent_write(p, &l, f16, 0, &err);
            if (st == TSR_ERR_UNSUPPORTED) {
                fprintf(stderr, "latent .%s: %s (skipped)\n", exts[e], err.message);
                continue;
            }
            CHECKF(st == TSR_OK, "%s: %s", p, err.message);
            tsr_latent r = {0};
            st = tsr_latent_read(p, &r, &err);
            CHECKF(st == TSR_OK, "%s: %s", p, err.message);
            if (st != TSR_OK) continue;
            CHECK(r.c == 16 && r.t == 3 && r.h == 5 && r.w == 7);
            if (e > 0) CHECK(r.frames == 8 && r.height == 37 && r.width == 50);
            float worst = 0;
            for (size_t i = 0; i < n; i++) worst = fmaxf(worst, fabsf(r.data[i] - l.data[i]));
            CHECKF(worst < (f16 ? 2e-3f : 1e-6f), "%s: error %g", p, worst);
            free(r.data);
        }
    free(l.data);
}

int main(void)
{
#if !TSR_HAVE_MEDIA
    SKIP("built without FFmpeg");
#endif
    snprintf(tmpdir, sizeof tmpdir, "%s/tsr-media-XXXXXX", tsr_test_env("TMPDIR", "/tmp"));
    REQUIRE(mkdtemp(tmpdir));
    test_formats();
    test_abort_leaves_nothing();
    test_bad_inputs();
    test_npy();
    test_latent_files();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (!tsr_test_failures && system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return tsr_test_done();
}
