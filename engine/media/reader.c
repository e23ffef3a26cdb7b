/* FFmpeg reader: clips, stills and image sequences to [3][H][W] fp32 RGB in [-1, 1], pulled on demand.
 * Conversion: swscale to planar 16-bit GBR with the source's matrix and range (tags, else BT.709 for HD and
 * BT.601 below 720 lines, limited range unless the format is full-range), then to float here. */
#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "core/common.h"
#include "media/media.h"
#include "media/media_util.h"

struct tsr_media_reader {
    AVFormatContext *fmt;
    AVCodecContext *dec;
    AVPacket *pkt;
    AVFrame *frame;
    struct SwsContext *sws;
    int sws_w, sws_h, sws_fmt;
    uint16_t *planes;          /* GBRP16 scratch of one frame */
    int stream;
    int eof_sent, done, decode_errors;
    int64_t delivered;
    char *label;
    tsr_media_info info;
};

/* A directory input becomes an image2 glob over the extension of its first image file. */
static char *dir_glob_pattern(const char *dir, tsr_error *err)
{
    static const char *exts[] = {".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp", ".exr", ".webp"};
    DIR *d = opendir(dir);
    if (!d) return tsr_fail(err, TSR_ERR_IO, "%s: cannot open directory", dir), NULL;
    const char *found = NULL;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        const char *dot = strrchr(e->d_name, '.');
        for (size_t i = 0; dot && !found && i < TSR_ARRAY_LEN(exts); i++)
            if (strcasecmp(dot, exts[i]) == 0) found = exts[i];
    }
    closedir(d);
    if (!found) return tsr_fail(err, TSR_ERR_INPUT, "%s: directory holds no image files", dir), NULL;
    size_t n = strlen(dir) + strlen(found) + 4;
    char *pat = tsr_malloc(n, err);
    if (pat) snprintf(pat, n, "%s%s*%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", found);
    return pat;
}

static tsr_status open_input(tsr_media_reader *r, const char *path, tsr_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0 && !strchr(path, '%'))
        return tsr_fail(err, TSR_ERR_IO, "%s: no such file", path);
    AVDictionary *opt = NULL;
    const AVInputFormat *ifmt = NULL;
    char *pattern = NULL;
    if (!strchr(path, '%') && S_ISDIR(st.st_mode)) {
        if (!(pattern = dir_glob_pattern(path, err))) return err ? err->status : TSR_ERR_INPUT;
        ifmt = av_find_input_format("image2");
        av_dict_set(&opt, "pattern_type", "glob", 0);
    } else if (!strchr(path, '%') && st.st_size == 0) {
        return tsr_fail(err, TSR_ERR_INPUT, "%s: file is empty (zero length)", path);
    }
    int rc = avformat_open_input(&r->fmt, pattern ? pattern : path, ifmt, &opt);
    av_dict_free(&opt);
    free(pattern);
    if (rc < 0) return tsr_av_fail(err, rc, TSR_ERR_FORMAT, "%s: not a readable video or image", path);
    if ((rc = avformat_find_stream_info(r->fmt, NULL)) < 0)
        return tsr_av_fail(err, rc, TSR_ERR_FORMAT, "%s: cannot read stream information", path);
    return TSR_OK;
}

static tsr_status open_decoder(tsr_media_reader *r, tsr_error *err)
{
    const AVCodec *codec = NULL;
    int idx = av_find_best_stream(r->fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    if (idx == AVERROR_STREAM_NOT_FOUND)
        return tsr_fail(err, TSR_ERR_INPUT, "%s: has no video stream (audio-only or data file?)", r->label);
    if (idx < 0 || !codec)
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "%s: no decoder for its video stream (%s)", r->label,
                        idx >= 0 ? avcodec_get_name(r->fmt->streams[idx]->codecpar->codec_id) : "unknown");
    r->stream = idx;
    AVStream *s = r->fmt->streams[idx];
    if (!(r->dec = avcodec_alloc_context3(codec))) return tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    int rc = avcodec_parameters_to_context(r->dec, s->codecpar);
    if (rc >= 0) {
        r->dec->thread_count = 0;
        r->dec->pkt_timebase = s->time_base;
        rc = avcodec_open2(r->dec, codec, NULL);
    }
    if (rc < 0) return tsr_av_fail(err, rc, TSR_ERR_UNSUPPORTED, "%s: cannot open the %s decoder", r->label,
                                   codec->name);
    if (s->codecpar->width <= 0 || s->codecpar->height <= 0)
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: video stream has no frame size (corrupt?)", r->label);
    return TSR_OK;
}

static void fill_info(tsr_media_reader *r)
{
    AVStream *s = r->fmt->streams[r->stream];
    AVCodecParameters *cp = s->codecpar;
    tsr_media_info *in = &r->info;
    in->width = cp->width;
    in->height = cp->height;
    AVRational fps = s->avg_frame_rate.num > 0 ? s->avg_frame_rate : s->r_frame_rate;
    if (fps.num <= 0 || fps.den <= 0) fps = (AVRational){25, 1};
    in->fps_num = fps.num;
    in->fps_den = fps.den;
    in->tb_num = s->time_base.num;
    in->tb_den = s->time_base.den;
    AVRational sar = av_guess_sample_aspect_ratio(r->fmt, s, NULL);
    in->sar_num = sar.num > 0 ? sar.num : 1;
    in->sar_den = sar.num > 0 ? sar.den : 1;
    in->frames = s->nb_frames > 0 ? s->nb_frames : -1;
    if (in->frames < 0 && s->duration > 0)
        in->frames = av_rescale_q(s->duration, s->time_base, av_inv_q(fps));
    in->color_space = tsr_media_default_colorspace(cp->color_space, cp->height);
    in->color_range = tsr_media_default_range(cp->color_range, cp->format);
    in->color_primaries = cp->color_primaries;
    in->color_trc = cp->color_trc;
    in->has_audio = av_find_best_stream(r->fmt, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0) >= 0;
    const char *iname = r->fmt->iformat->name;
    in->is_image = strstr(iname, "image2") != NULL || strstr(iname, "_pipe") != NULL;
    if (in->is_image && in->frames <= 0) in->frames = -1;
    snprintf(in->codec, sizeof in->codec, "%s", avcodec_get_name(cp->codec_id));
    for (unsigned i = 0; i < r->fmt->nb_streams; i++)
        if ((int)i != r->stream) r->fmt->streams[i]->discard = AVDISCARD_ALL;
}

tsr_status tsr_media_reader_open(const char *path, tsr_media_reader **out, tsr_error *err)
{
    *out = NULL;
    if (!path || !*path) return tsr_fail(err, TSR_ERR_INVALID_ARG, "no input path");
    tsr_media_quiet_logs();
    tsr_media_reader *r = tsr_calloc(1, sizeof *r, err);
    if (!r) return TSR_ERR_NOMEM;
    r->label = tsr_strdup(path);
    r->stream = -1;
    tsr_status st = open_input(r, path, err);
    if (st == TSR_OK) st = open_decoder(r, err);
    if (st == TSR_OK && (!(r->pkt = av_packet_alloc()) || !(r->frame = av_frame_alloc())))
        st = tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    if (st == TSR_OK) {
        fill_info(r);
        size_t n = (size_t)3 * r->info.width * r->info.height;
        if (!(r->planes = tsr_malloc(n * sizeof(uint16_t), err))) st = TSR_ERR_NOMEM;
    }
    if (st != TSR_OK) {
        tsr_media_reader_close(&r);
        return st;
    }
    *out = r;
    return TSR_OK;
}

const tsr_media_info *tsr_media_reader_info(const tsr_media_reader *r) { return &r->info; }
int64_t tsr_media_reader_frames_read(const tsr_media_reader *r) { return r->delivered; }

/* Next decoded frame into r->frame: 1 = got one, 0 = end of stream, < 0 = error (err filled). */
static int next_frame(tsr_media_reader *r, tsr_error *err)
{
    for (;;) {
        int rc = avcodec_receive_frame(r->dec, r->frame);
        if (rc == 0) return 1;
        if (rc == AVERROR_EOF) return 0;
        if (rc != AVERROR(EAGAIN))
            return tsr_av_fail(err, rc, TSR_ERR_FORMAT, "%s: decoding failed", r->label), -1;
        if (r->eof_sent) return 0;
        rc = av_read_frame(r->fmt, r->pkt);
        if (rc == AVERROR_EOF || rc == AVERROR(EIO) || (rc < 0 && avio_feof(r->fmt->pb))) {
            r->eof_sent = 1;
            avcodec_send_packet(r->dec, NULL);
            continue;
        }
        if (rc < 0) return tsr_av_fail(err, rc, TSR_ERR_FORMAT, "%s: reading failed", r->label), -1;
        if (r->pkt->stream_index == r->stream) {
            rc = avcodec_send_packet(r->dec, r->pkt);
            if (rc < 0 && rc != AVERROR(EAGAIN)) r->decode_errors++;
        }
        av_packet_unref(r->pkt);
    }
}

static tsr_status ensure_sws(tsr_media_reader *r, const AVFrame *f, tsr_error *err)
{
    if (r->sws && r->sws_w == f->width && r->sws_h == f->height && r->sws_fmt == f->format) return TSR_OK;
    sws_freeContext(r->sws);
    r->sws = sws_getContext(f->width, f->height, f->format, r->info.width, r->info.height, AV_PIX_FMT_GBRP16,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, NULL, NULL, NULL);
    if (!r->sws)
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "%s: cannot convert pixel format %s to RGB", r->label,
                        av_get_pix_fmt_name(f->format));
    int space = f->colorspace != AVCOL_SPC_UNSPECIFIED ? tsr_media_default_colorspace(f->colorspace, f->height)
                                                       : r->info.color_space;
    int range = f->color_range != AVCOL_RANGE_UNSPECIFIED ? (int)f->color_range : r->info.color_range;
    const int *coef = sws_getCoefficients(space);
    sws_setColorspaceDetails(r->sws, coef, range == AVCOL_RANGE_JPEG, coef, 1, 0, 1 << 16, 1 << 16);
    r->sws_w = f->width;
    r->sws_h = f->height;
    r->sws_fmt = f->format;
    return TSR_OK;
}

static tsr_status convert_frame(tsr_media_reader *r, float *dst, tsr_error *err)
{
    tsr_status st = ensure_sws(r, r->frame, err);
    if (st != TSR_OK) return st;
    size_t hw = (size_t)r->info.width * r->info.height;
    /* GBRP16 plane order is G, B, R */
    uint8_t *planes[4] = {(uint8_t *)(r->planes + hw), (uint8_t *)(r->planes + 2 * hw), (uint8_t *)r->planes,
                          NULL};
    int strides[4] = {r->info.width * 2, r->info.width * 2, r->info.width * 2, 0};
    sws_scale(r->sws, (const uint8_t *const *)r->frame->data, r->frame->linesize, 0, r->frame->height, planes,
              strides);
    const float k = 2.0f / 65535.0f;
    for (size_t i = 0; i < 3 * hw; i++) dst[i] = (float)r->planes[i] * k - 1.0f;
    return TSR_OK;
}

int tsr_media_read(void *reader, float *frames, int max, tsr_error *err)
{
    tsr_media_reader *r = reader;
    size_t fsz = (size_t)3 * r->info.width * r->info.height;
    int n = 0;
    while (n < max && !r->done) {
        int got = next_frame(r, err);
        if (got < 0) return -1;
        if (got == 0) {
            r->done = 1;
            if (r->decode_errors && r->info.frames > r->delivered + 1)
                tsr_log(TSR_LOG_WARN, "%s: %d damaged packets; read %lld of %lld frames (truncated?)", r->label,
                        r->decode_errors, (long long)r->delivered, (long long)r->info.frames);
            break;
        }
        tsr_status st = convert_frame(r, frames + (size_t)n * fsz, err);
        av_frame_unref(r->frame);
        if (st != TSR_OK) return -1;
        n++;
        r->delivered++;
    }
    if (n == 0 && r->delivered == 0) {
        tsr_fail(err, TSR_ERR_FORMAT, "%s: contains no decodable video frames (corrupt or truncated?)",
                 r->label);
        return -1;
    }
    return n;
}

void tsr_media_reader_close(tsr_media_reader **pr)
{
    tsr_media_reader *r = pr ? *pr : NULL;
    if (!r) return;
    sws_freeContext(r->sws);
    av_frame_free(&r->frame);
    av_packet_free(&r->pkt);
    avcodec_free_context(&r->dec);
    avformat_close_input(&r->fmt);
    free(r->planes);
    free(r->label);
    free(r);
    *pr = NULL;
}
