/* FFmpeg writer: frames [3][H][W] in [-1, 1] -> H.264/HEVC (x264/x265, NVENC when the probe opens it),
 * ProRes 422 HQ / 4444, FFV1, PNG / 16-bit TIFF sequences. Output goes to a temporary file (or directory)
 * beside the target and is renamed on finish. Audio comes from `audio_from` by stream copy
 * (writer_audio.c) or re-encoded to AAC (writer_aac.c). Model: FFmpeg doc/examples/encode_video.c, mux.c (send/receive, rescaled timestamps). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "media/writer_impl.h"

void tsr_media_writer_params_default(tsr_media_writer_params *p)
{
    memset(p, 0, sizeof *p);
    p->fps_num = 25;
    p->fps_den = 1;
    p->crf = -1;
}

static const char *ext_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash : path, '.');
    return dot ? dot + 1 : "";
}

/* Subsampled chroma needs even sizes. x264/x265 switch to 4:4:4 (same size, less player support, warned);
 * the others refuse with the alternatives. */
static tsr_status fit_odd_size(tsr_media_writer *w, const tsr_media_writer_params *p, tsr_error *err)
{
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(w->pix_fmt);
    int odd = (d->log2_chroma_w && (p->width & 1)) || (d->log2_chroma_h && (p->height & 1));
    if (!odd) return TSR_OK;
    if (strncmp(w->encoder, "libx26", 6) == 0) {
        w->pix_fmt = p->ten_bit ? AV_PIX_FMT_YUV444P10LE : AV_PIX_FMT_YUV444P;
        tsr_log(TSR_LOG_WARN, "%s: %dx%d is odd; writing %s 4:4:4 (some players cannot play it)", w->final_path,
                p->width, p->height, w->encoder);
        return TSR_OK;
    }
    return tsr_fail(err, TSR_ERR_INVALID_ARG, "%s: %s cannot encode the odd size %dx%d (use h264, hevc, "
                    "prores4444, ffv1 or an image sequence)", w->final_path, w->encoder, p->width, p->height);
}

/* Resolve codec name + pixel format from the request and the container. */
static tsr_status choose_codec(tsr_media_writer *w, const tsr_media_writer_params *p, tsr_error *err)
{
    const char *c = p->codec && *p->codec && strcmp(p->codec, "auto") != 0 ? p->codec : NULL;
    const char *ext = ext_of(w->final_path);
    if (!c) c = w->is_dir ? "png" : strcasecmp(ext, "mov") == 0 ? "prores" : "h264";
    int hi = p->ten_bit;
    struct { const char *req, *enc; int fmt8, fmt10; } table[] = {
        {"h264", "libx264", AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P10LE},
        {"libx264", "libx264", AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P10LE},
        {"hevc", "libx265", AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P10LE},
        {"h265", "libx265", AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P10LE},
        {"libx265", "libx265", AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P10LE},
        {"h264_nvenc", "h264_nvenc", AV_PIX_FMT_YUV420P, AV_PIX_FMT_YUV420P},
        {"hevc_nvenc", "hevc_nvenc", AV_PIX_FMT_YUV420P, AV_PIX_FMT_P010LE},
        {"prores", "prores_ks", AV_PIX_FMT_YUV422P10LE, AV_PIX_FMT_YUV422P10LE},
        {"prores4444", "prores_ks", AV_PIX_FMT_YUV444P10LE, AV_PIX_FMT_YUV444P10LE},
        {"ffv1", "ffv1", AV_PIX_FMT_GBRP10LE, AV_PIX_FMT_GBRP10LE},
        {"png", "png", AV_PIX_FMT_RGB24, AV_PIX_FMT_RGB48BE},
        {"tiff", "tiff", AV_PIX_FMT_RGB48LE, AV_PIX_FMT_RGB48LE},
    };
    for (size_t i = 0; i < TSR_ARRAY_LEN(table); i++) {
        if (strcasecmp(c, table[i].req) != 0) continue;
        if (w->is_dir != (strcmp(table[i].enc, "png") == 0 || strcmp(table[i].enc, "tiff") == 0))
            return tsr_fail(err, TSR_ERR_INVALID_ARG, "%s: codec '%s' %s", w->final_path, c,
                            w->is_dir ? "cannot write an image sequence (use png or tiff)"
                                      : "writes image sequences: give a directory as output");
        if (!tsr_media_encoder_usable(table[i].enc))
            return tsr_fail(err, TSR_ERR_UNSUPPORTED, "encoder %s is not usable here%s", table[i].enc,
                            strstr(table[i].enc, "nvenc") ? " (no NVIDIA driver/GPU with NVENC)" : "");
        w->encoder = table[i].enc;
        w->pix_fmt = hi ? table[i].fmt10 : table[i].fmt8;
        w->profile4444 = strcmp(table[i].req, "prores4444") == 0;
        return fit_odd_size(w, p, err);
    }
    return tsr_fail(err, TSR_ERR_INVALID_ARG, "unknown codec '%s' (h264, hevc, h264_nvenc, hevc_nvenc, prores, "
                    "prores4444, ffv1, png, tiff)", c);
}

static void set_rate_options(tsr_media_writer *w, const tsr_media_writer_params *p, AVDictionary **opt)
{
    AVCodecContext *e = w->enc;
    char buf[32];
    if (p->bitrate > 0) {
        e->bit_rate = p->bitrate;
        return;
    }
    if (strncmp(w->encoder, "libx26", 6) == 0) {
        snprintf(buf, sizeof buf, "%d", p->crf >= 0 ? p->crf : strcmp(w->encoder, "libx264") == 0 ? 18 : 20);
        av_dict_set(opt, "crf", buf, 0);
        av_dict_set(opt, "preset", "medium", 0);
        if (strcmp(w->encoder, "libx265") == 0) av_dict_set(opt, "x265-params", "log-level=error", 0);
    } else if (strstr(w->encoder, "nvenc")) {
        snprintf(buf, sizeof buf, "%d", p->crf >= 0 ? p->crf : 20);
        av_dict_set(opt, "cq", buf, 0);
        av_dict_set(opt, "rc", "vbr", 0);
    } else if (strcmp(w->encoder, "prores_ks") == 0) {
        av_dict_set(opt, "profile", w->profile4444 ? "4444" : "hq", 0);
    } else if (strcmp(w->encoder, "ffv1") == 0) {
        av_dict_set(opt, "level", "3", 0);
        av_dict_set(opt, "slicecrc", "1", 0);
    }
}

static tsr_status open_video(tsr_media_writer *w, const tsr_media_writer_params *p, tsr_error *err)
{
    const AVCodec *codec = avcodec_find_encoder_by_name(w->encoder);
    AVStream *st = avformat_new_stream(w->oc, NULL);
    if (!codec || !st || !(w->enc = avcodec_alloc_context3(codec))) return tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    AVCodecContext *e = w->enc;
    w->vst = st;
    e->width = p->width;
    e->height = p->height;
    e->framerate = (AVRational){p->fps_num > 0 ? p->fps_num : 25, p->fps_num > 0 ? p->fps_den : 1};
    e->time_base = av_inv_q(e->framerate);
    e->sample_aspect_ratio = (AVRational){p->sar_num > 0 ? p->sar_num : 1, p->sar_num > 0 ? p->sar_den : 1};
    e->pix_fmt = w->pix_fmt;
    const AVPixFmtDescriptor *d = av_pix_fmt_desc_get(w->pix_fmt);
    int rgb = d && (d->flags & AV_PIX_FMT_FLAG_RGB);
    e->colorspace = rgb ? AVCOL_SPC_RGB : (p->color_space ? p->color_space : AVCOL_SPC_BT709);
    e->color_range = rgb ? AVCOL_RANGE_JPEG : AVCOL_RANGE_MPEG;
    e->color_primaries = p->color_primaries ? p->color_primaries : AVCOL_PRI_BT709;
    e->color_trc = p->color_trc ? p->color_trc : AVCOL_TRC_BT709;
    /* 0 = the encoder's own choice (x264/x265: about 1.5 threads per core). TSR_ENCODER_THREADS (measurement
     * knob, like TSR_CUDA_CONV) caps it, to see how much the encoder's threads slow the compute thread. */
    const char *threads = getenv("TSR_ENCODER_THREADS");
    e->thread_count = threads && atoi(threads) > 0 ? atoi(threads) : 0;
    if (w->oc->oformat->flags & AVFMT_GLOBALHEADER) e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    AVDictionary *opt = NULL;
    set_rate_options(w, p, &opt);
    int rc = avcodec_open2(e, codec, &opt);
    av_dict_free(&opt);
    if (rc < 0) return tsr_av_fail(err, rc, TSR_ERR_UNSUPPORTED, "cannot open encoder %s for %dx%d", w->encoder,
                                   p->width, p->height);
    if ((rc = avcodec_parameters_from_context(st->codecpar, e)) < 0)
        return tsr_av_fail(err, rc, TSR_ERR_INTERNAL, "encoder parameters");
    st->time_base = e->time_base;
    st->avg_frame_rate = e->framerate;
    st->sample_aspect_ratio = e->sample_aspect_ratio;
    if (strcmp(w->encoder, "libx265") == 0 && strcasecmp(ext_of(w->final_path), "mp4") == 0)
        st->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');
    return TSR_OK;
}

static tsr_status open_convert(tsr_media_writer *w, const tsr_media_writer_params *p, tsr_error *err)
{
    w->sws = sws_getContext(p->width, p->height, AV_PIX_FMT_GBRP16, p->width, p->height, w->pix_fmt,
                            SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INP, NULL, NULL, NULL);
    if (!w->sws) return tsr_fail(err, TSR_ERR_UNSUPPORTED, "cannot convert RGB to %s", av_get_pix_fmt_name(w->pix_fmt));
    const int *coef = sws_getCoefficients(w->enc->colorspace == AVCOL_SPC_RGB ? AVCOL_SPC_BT709 : w->enc->colorspace);
    sws_setColorspaceDetails(w->sws, coef, 1, coef, w->enc->color_range == AVCOL_RANGE_JPEG, 0, 1 << 16, 1 << 16);
    w->rgb = av_frame_alloc();
    w->frame = av_frame_alloc();
    w->pkt = av_packet_alloc();
    if (!w->rgb || !w->frame || !w->pkt) return tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    w->rgb->format = AV_PIX_FMT_GBRP16;
    w->rgb->width = p->width;
    w->rgb->height = p->height;
    w->frame->format = w->pix_fmt;
    w->frame->colorspace = w->enc->colorspace;
    w->frame->color_range = w->enc->color_range;
    w->frame->color_primaries = w->enc->color_primaries;
    w->frame->color_trc = w->enc->color_trc;
    w->frame->width = p->width;
    w->frame->height = p->height;
    if (av_frame_get_buffer(w->rgb, 0) < 0 || av_frame_get_buffer(w->frame, 0) < 0)
        return tsr_fail(err, TSR_ERR_NOMEM, "out of memory for a %dx%d frame", p->width, p->height);
    return TSR_OK;
}

/* Temporary target beside the final one: "<out>.tmp-XXXXXX" (a file, or a directory for sequences). */
static tsr_status make_temp(tsr_media_writer *w, tsr_error *err)
{
    size_t n = strlen(w->final_path);
    while (n > 1 && w->final_path[n - 1] == '/') w->final_path[--n] = 0;
    if (!(w->temp_path = tsr_malloc(n + 16, err))) return TSR_ERR_NOMEM;
    snprintf(w->temp_path, n + 16, "%s.tmp-XXXXXX", w->final_path);
    if (w->is_dir) {
        if (!mkdtemp(w->temp_path)) return tsr_fail(err, TSR_ERR_IO, "%s: cannot create a directory beside it", w->final_path);
        w->temp_made = 1;
        return TSR_OK;
    }
    int fd = mkstemp(w->temp_path);
    if (fd < 0) return tsr_fail(err, TSR_ERR_IO, "%s: cannot create a file beside it", w->final_path);
    fchmod(fd, 0644); /* mkstemp makes 0600; outputs are ordinary files */
    close(fd);
    w->temp_made = 1;
    return TSR_OK;
}

static tsr_status open_container(tsr_media_writer *w, tsr_error *err)
{
    int rc;
    if (w->is_dir) {
        char pat[4200];
        snprintf(pat, sizeof pat, "%s/frame_%%06d.%s", w->temp_path, strcmp(w->encoder, "tiff") == 0 ? "tif" : "png");
        rc = avformat_alloc_output_context2(&w->oc, NULL, "image2", pat);
    } else {
        rc = avformat_alloc_output_context2(&w->oc, NULL, NULL, w->final_path);
    }
    if (rc < 0 || !w->oc)
        return tsr_av_fail(err, rc, TSR_ERR_INVALID_ARG, "%s: no container for this file extension (use .mp4, .mov, "
                           ".mkv or a directory)", w->final_path);
    return TSR_OK;
}

static tsr_status write_header(tsr_media_writer *w, tsr_error *err)
{
    int rc = 0;
    if (!(w->oc->oformat->flags & AVFMT_NOFILE) && (rc = avio_open(&w->oc->pb, w->temp_path, AVIO_FLAG_WRITE)) < 0)
        return tsr_av_fail(err, rc, TSR_ERR_IO, "%s: cannot open for writing", w->temp_path);
    AVDictionary *opt = NULL;
    if (w->is_dir) av_dict_set(&opt, "start_number", "0", 0);
    if (strstr(w->oc->oformat->name, "mov") || strstr(w->oc->oformat->name, "mp4"))
        av_dict_set(&opt, "movflags", "+write_colr", 0); /* colour tags in the container, for players */
    rc = avformat_write_header(w->oc, &opt);
    av_dict_free(&opt);
    if (rc < 0)
        return tsr_av_fail(err, rc, TSR_ERR_IO, "%s: cannot write the header", w->final_path);
    w->header_written = 1;
    return TSR_OK;
}

tsr_status tsr_media_writer_open(const char *path, const tsr_media_writer_params *p, tsr_media_writer **out,
                                 tsr_error *err)
{
    *out = NULL;
    if (!path || !*path || !p || p->width <= 0 || p->height <= 0)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "writer: bad path or frame size");
    tsr_media_quiet_logs();
    tsr_media_writer *w = tsr_calloc(1, sizeof *w, err);
    if (!w) return TSR_ERR_NOMEM;
    w->final_path = tsr_strdup(path);
    w->is_dir = tsr_media_path_is_dir_target(path);
    w->width = p->width;
    w->height = p->height;
    tsr_status st = choose_codec(w, p, err);
    if (st == TSR_OK) st = make_temp(w, err);
    if (st == TSR_OK) st = open_container(w, err);
    if (st == TSR_OK) st = open_video(w, p, err);
    if (st == TSR_OK) st = open_convert(w, p, err);
    if (st == TSR_OK && p->audio_from) st = tsr_writer_audio_open(w, p->audio_from, err);
    if (st == TSR_OK) st = write_header(w, err);
    if (st != TSR_OK) {
        tsr_media_writer_abort(&w);
        return st;
    }
    *out = w;
    return TSR_OK;
}

/* Drain encoded packets to the muxer, interleaving audio up to each video packet's time. */
static tsr_status drain(tsr_media_writer *w, tsr_error *err)
{
    for (;;) {
        int rc = avcodec_receive_packet(w->enc, w->pkt);
        if (rc == AVERROR(EAGAIN) || rc == AVERROR_EOF) return TSR_OK;
        if (rc < 0) return tsr_av_fail(err, rc, TSR_ERR_INTERNAL, "%s: encoding failed", w->encoder);
        int64_t pts = w->pkt->pts;
        w->pkt->stream_index = w->vst->index;
        av_packet_rescale_ts(w->pkt, w->enc->time_base, w->vst->time_base);
        rc = av_interleaved_write_frame(w->oc, w->pkt);
        if (rc < 0) return tsr_av_fail(err, rc, TSR_ERR_IO, "%s: writing failed", w->final_path);
        if (w->audio_in) {
            tsr_status st = tsr_writer_audio_pump(w, av_rescale_q(pts + 1, w->enc->time_base, AV_TIME_BASE_Q), err);
            if (st != TSR_OK) return st;
        }
    }
}

tsr_status tsr_media_write(tsr_media_writer *w, const float *src, tsr_error *err)
{
    AVFrame *rgb = w->rgb;
    if (av_frame_make_writable(w->frame) < 0) return tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    size_t hw = (size_t)w->width * w->height;
    static const int plane_of_channel[3] = {2, 0, 1}; /* R -> plane 2, G -> 0, B -> 1 */
    for (int c = 0; c < 3; c++) {
        const float *s = src + c * hw;
        for (int y = 0; y < w->height; y++) {
            uint16_t *d = (uint16_t *)(rgb->data[plane_of_channel[c]] + (size_t)y * rgb->linesize[plane_of_channel[c]]);
            for (int x = 0; x < w->width; x++) {
                float v = (s[(size_t)y * w->width + x] + 1.0f) * 32767.5f;
                d[x] = v <= 0.0f ? 0 : v >= 65535.0f ? 65535 : (uint16_t)(v + 0.5f);
            }
        }
    }
    sws_scale(w->sws, (const uint8_t *const *)rgb->data, rgb->linesize, 0, w->height, w->frame->data,
              w->frame->linesize);
    w->frame->pts = w->frames++;
    int rc = avcodec_send_frame(w->enc, w->frame);
    if (rc < 0) return tsr_av_fail(err, rc, TSR_ERR_INTERNAL, "%s: encoding failed", w->encoder);
    return drain(w, err);
}

static tsr_status finish_stream(tsr_media_writer *w, tsr_error *err)
{
    int rc = avcodec_send_frame(w->enc, NULL);
    if (rc < 0 && rc != AVERROR_EOF) return tsr_av_fail(err, rc, TSR_ERR_INTERNAL, "flushing %s", w->encoder);
    tsr_status st = drain(w, err);
    if (st == TSR_OK && w->audio_in)
        st = tsr_writer_audio_finish(w, av_rescale_q(w->frames, w->enc->time_base, AV_TIME_BASE_Q), err);
    if (st != TSR_OK) return st;
    if ((rc = av_write_trailer(w->oc)) < 0) return tsr_av_fail(err, rc, TSR_ERR_IO, "%s: writing the trailer", w->final_path);
    w->header_written = 0;
    if (w->oc->pb && !(w->oc->oformat->flags & AVFMT_NOFILE)) {
        rc = avio_closep(&w->oc->pb);
        if (rc < 0) return tsr_av_fail(err, rc, TSR_ERR_IO, "%s: closing failed", w->final_path);
    }
    return TSR_OK;
}

static tsr_status commit(tsr_media_writer *w, tsr_error *err)
{
    if (w->is_dir) {
        struct stat sb;
        if (stat(w->final_path, &sb) == 0 && S_ISDIR(sb.st_mode) && rmdir(w->final_path) != 0)
            return tsr_fail(err, TSR_ERR_IO, "%s: directory exists and is not empty", w->final_path);
        chmod(w->temp_path, 0755);
    }
    if (tsr_rename_replace(w->temp_path, w->final_path) != 0)
        return tsr_fail(err, TSR_ERR_IO, "%s: cannot rename the finished output into place", w->final_path);
    w->temp_made = 0;
    return TSR_OK;
}

tsr_status tsr_media_writer_finish(tsr_media_writer **pw, tsr_error *err)
{
    tsr_media_writer *w = *pw;
    if (!w) return tsr_fail(err, TSR_ERR_INVALID_ARG, "writer: already finished");
    tsr_status st = w->frames > 0 ? TSR_OK : tsr_fail(err, TSR_ERR_INPUT, "%s: no frames to write", w->final_path);
    if (st == TSR_OK) st = finish_stream(w, err);
    if (st == TSR_OK) st = commit(w, err);
    tsr_media_writer_abort(pw);
    return st;
}

void tsr_media_writer_abort(tsr_media_writer **pw)
{
    tsr_media_writer *w = pw ? *pw : NULL;
    if (!w) return;
    tsr_writer_audio_close(w);
    if (w->oc) {
        if (w->oc->pb && !(w->oc->oformat->flags & AVFMT_NOFILE)) avio_closep(&w->oc->pb);
        avformat_free_context(w->oc);
    }
    if (w->temp_made) {
        if (w->is_dir) tsr_media_remove_tree(w->temp_path);
        else tsr_remove(w->temp_path);
    }
    avcodec_free_context(&w->enc);
    sws_freeContext(w->sws);
    av_frame_free(&w->rgb);
    av_frame_free(&w->frame);
    av_packet_free(&w->pkt);
    free(w->final_path);
    free(w->temp_path);
    free(w);
    *pw = NULL;
}
