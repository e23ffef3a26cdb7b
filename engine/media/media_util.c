/* Shared FFmpeg helpers: error text, colour defaults, encoder probing, output-path kinds. */
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavutil/pixdesc.h>

#include "media/media.h"
#include "media/media_util.h"

tsr_status tsr_av_fail(tsr_error *err, int averr, tsr_status status, const char *fmt, ...)
{
    char msg[TSR_ERROR_MESSAGE_MAX], av[AV_ERROR_MAX_STRING_SIZE] = {0};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    av_strerror(averr, av, sizeof av);
    return tsr_fail(err, status, "%s: %s", msg, av);
}

static pthread_once_t quiet_once = PTHREAD_ONCE_INIT;
static void quiet(void)
{
    const char *v = getenv("TESSERA_FFMPEG_LOG");
    if (!v || !*v || strcmp(v, "0") == 0) av_log_set_level(AV_LOG_FATAL); /* our own errors say what failed */
}
void tsr_media_quiet_logs(void) { pthread_once(&quiet_once, quiet); }

int tsr_media_default_colorspace(int tagged, int height)
{
    switch (tagged) {
    case AVCOL_SPC_BT709: case AVCOL_SPC_BT470BG: case AVCOL_SPC_SMPTE170M: case AVCOL_SPC_SMPTE240M:
    case AVCOL_SPC_FCC: case AVCOL_SPC_BT2020_NCL: case AVCOL_SPC_BT2020_CL:
        return tagged;
    default:
        return height >= 720 ? AVCOL_SPC_BT709 : AVCOL_SPC_SMPTE170M;
    }
}

int tsr_media_default_range(int tagged, int pix_fmt)
{
    if (tagged == AVCOL_RANGE_MPEG || tagged == AVCOL_RANGE_JPEG) return tagged;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(pix_fmt);
    if (d && ((d->flags & AV_PIX_FMT_FLAG_RGB) || strncmp(d->name, "yuvj", 4) == 0 || d->nb_components < 3))
        return AVCOL_RANGE_JPEG;
    return AVCOL_RANGE_MPEG;
}

void tsr_media_remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[4096];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            remove(path);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* Opening an encoder on a tiny frame is the only reliable probe (NVENC is listed without a GPU). */
static int probe_encoder(const char *name)
{
    const AVCodec *c = avcodec_find_encoder_by_name(name);
    if (!c) return 0;
    AVCodecContext *ctx = avcodec_alloc_context3(c);
    if (!ctx) return 0;
    ctx->width = 256;
    ctx->height = 256;
    ctx->time_base = (AVRational){1, 25};
    ctx->framerate = (AVRational){25, 1};
    ctx->pix_fmt = c->pix_fmts ? c->pix_fmts[0] : AV_PIX_FMT_YUV420P;
    AVDictionary *opt = NULL;
    if (strcmp(name, "libx265") == 0) av_dict_set(&opt, "x265-params", "log-level=error", 0);
    int ok = avcodec_open2(ctx, c, &opt) >= 0; /* logs only at error level (tsr_media_quiet_logs) */
    av_dict_free(&opt);
    avcodec_free_context(&ctx);
    return ok;
}

static pthread_mutex_t probe_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { char name[32]; int usable; } probe_cache[16];
static int probe_count;

int tsr_media_encoder_usable(const char *name)
{
    int usable = -1;
    pthread_mutex_lock(&probe_lock);
    for (int i = 0; i < probe_count; i++)
        if (strcmp(probe_cache[i].name, name) == 0) usable = probe_cache[i].usable;
    if (usable < 0) {
        usable = probe_encoder(name);
        if (probe_count < (int)TSR_ARRAY_LEN(probe_cache)) {
            snprintf(probe_cache[probe_count].name, sizeof probe_cache[0].name, "%s", name);
            probe_cache[probe_count++].usable = usable;
        }
    }
    pthread_mutex_unlock(&probe_lock);
    return usable;
}

int tsr_media_path_is_dir_target(const char *path)
{
    size_t n = strlen(path);
    if (n == 0) return 0;
    if (path[n - 1] == '/') return 1;
    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) return 1;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    return strchr(base, '.') == NULL;
}
