/* Audio re-encoded to AAC for containers that cannot hold the source's codec (FFmpeg
 * doc/examples/transcode_aac.c is the model: decode, resample to the encoder's format, FIFO into
 * frame_size chunks, encode, timestamps counted in samples and rescaled to the stream). */
#include <libavutil/audio_fifo.h>
#include <libavutil/opt.h>
#include <libswresample/swresample.h>

#include "media/writer_impl.h"

static tsr_status open_codecs(tsr_media_writer *w, const AVStream *in, tsr_error *err)
{
    const AVCodec *dec = avcodec_find_decoder(in->codecpar->codec_id);
    const AVCodec *enc = avcodec_find_encoder(AV_CODEC_ID_AAC);
    if (!dec || !enc) return tsr_fail(err, TSR_ERR_UNSUPPORTED, "no %s decoder or AAC encoder for the audio",
                                      avcodec_get_name(in->codecpar->codec_id));
    if (!(w->adec = avcodec_alloc_context3(dec)) || !(w->aenc = avcodec_alloc_context3(enc)))
        return tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    int rc = avcodec_parameters_to_context(w->adec, in->codecpar);
    if (rc >= 0) w->adec->pkt_timebase = in->time_base, rc = avcodec_open2(w->adec, dec, NULL);
    if (rc < 0) return tsr_av_fail(err, rc, TSR_ERR_UNSUPPORTED, "cannot open the audio decoder");
    AVCodecContext *e = w->aenc;
    e->sample_rate = w->adec->sample_rate > 0 ? w->adec->sample_rate : 48000;
    if (w->adec->ch_layout.nb_channels > 2) av_channel_layout_default(&e->ch_layout, 2);
    else av_channel_layout_default(&e->ch_layout, w->adec->ch_layout.nb_channels > 0 ? w->adec->ch_layout.nb_channels : 2);
    e->sample_fmt = enc->sample_fmts ? enc->sample_fmts[0] : AV_SAMPLE_FMT_FLTP;
    e->bit_rate = 192000;
    e->time_base = (AVRational){1, e->sample_rate};
    if (w->oc->oformat->flags & AVFMT_GLOBALHEADER) e->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if ((rc = avcodec_open2(e, enc, NULL)) < 0) return tsr_av_fail(err, rc, TSR_ERR_UNSUPPORTED, "cannot open the AAC encoder");
    return TSR_OK;
}

tsr_status tsr_writer_aac_open(tsr_media_writer *w, const AVStream *in, tsr_error *err)
{
    tsr_status st = open_codecs(w, in, err);
    if (st != TSR_OK) return st;
    AVCodecContext *e = w->aenc;
    int rc = swr_alloc_set_opts2(&w->swr, &e->ch_layout, e->sample_fmt, e->sample_rate, &w->adec->ch_layout,
                                 w->adec->sample_fmt, w->adec->sample_rate, 0, NULL);
    if (rc < 0 || (rc = swr_init(w->swr)) < 0) return tsr_av_fail(err, rc, TSR_ERR_UNSUPPORTED, "audio resampler");
    if (!(w->fifo = av_audio_fifo_alloc(e->sample_fmt, e->ch_layout.nb_channels, e->frame_size)) ||
        !(w->aframe = av_frame_alloc()) || !(w->ast = avformat_new_stream(w->oc, NULL)))
        return tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    if ((rc = avcodec_parameters_from_context(w->ast->codecpar, e)) < 0)
        return tsr_av_fail(err, rc, TSR_ERR_INTERNAL, "AAC parameters");
    w->ast->time_base = e->time_base;
    return TSR_OK;
}

/* Encode one frame (NULL = flush) and mux what comes out. */
static tsr_status encode_frame(tsr_media_writer *w, AVFrame *f, tsr_error *err)
{
    int rc = avcodec_send_frame(w->aenc, f);
    if (rc < 0 && rc != AVERROR_EOF) return tsr_av_fail(err, rc, TSR_ERR_INTERNAL, "AAC encoding");
    AVPacket *p = av_packet_alloc();
    if (!p) return tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    while ((rc = avcodec_receive_packet(w->aenc, p)) == 0) {
        p->stream_index = w->ast->index;
        av_packet_rescale_ts(p, w->aenc->time_base, w->ast->time_base);
        rc = av_interleaved_write_frame(w->oc, p);
        if (rc < 0) break;
    }
    av_packet_free(&p);
    if (rc < 0 && rc != AVERROR(EAGAIN) && rc != AVERROR_EOF)
        return tsr_av_fail(err, rc, TSR_ERR_IO, "%s: writing audio failed", w->final_path);
    return TSR_OK;
}

/* Move whole encoder frames from the FIFO to the encoder (all that is left when flushing). */
static tsr_status drain_fifo(tsr_media_writer *w, int flush, tsr_error *err)
{
    AVCodecContext *e = w->aenc;
    int fs = e->frame_size > 0 ? e->frame_size : 1024;
    while (av_audio_fifo_size(w->fifo) >= fs || (flush && av_audio_fifo_size(w->fifo) > 0)) {
        AVFrame *f = av_frame_alloc();
        if (!f) return tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
        f->nb_samples = TSR_MIN(fs, av_audio_fifo_size(w->fifo));
        f->format = e->sample_fmt;
        f->sample_rate = e->sample_rate;
        av_channel_layout_copy(&f->ch_layout, &e->ch_layout);
        tsr_status st = av_frame_get_buffer(f, 0) < 0 ? tsr_fail(err, TSR_ERR_NOMEM, "out of memory") : TSR_OK;
        if (st == TSR_OK) {
            av_audio_fifo_read(w->fifo, (void **)f->data, f->nb_samples);
            f->pts = w->aac_pts;
            w->aac_pts += f->nb_samples;
            st = encode_frame(w, f, err);
        }
        av_frame_free(&f);
        if (st != TSR_OK) return st;
    }
    return TSR_OK;
}

static tsr_status resample_into_fifo(tsr_media_writer *w, const AVFrame *in, tsr_error *err)
{
    AVCodecContext *e = w->aenc;
    int out_n = swr_get_out_samples(w->swr, in ? in->nb_samples : 0);
    if (out_n <= 0) return TSR_OK;
    uint8_t **buf = NULL;
    if (av_samples_alloc_array_and_samples(&buf, NULL, e->ch_layout.nb_channels, out_n, e->sample_fmt, 0) < 0)
        return tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    int got = swr_convert(w->swr, buf, out_n, in ? (const uint8_t **)in->extended_data : NULL, in ? in->nb_samples : 0);
    tsr_status st = TSR_OK;
    if (got < 0) st = tsr_av_fail(err, got, TSR_ERR_INTERNAL, "audio resampling");
    else if (got > 0 && av_audio_fifo_write(w->fifo, (void **)buf, got) < got) st = tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    av_freep(&buf[0]);
    av_freep(&buf);
    return st;
}

tsr_status tsr_writer_aac_packet(tsr_media_writer *w, const AVPacket *pkt, tsr_error *err)
{
    int rc = avcodec_send_packet(w->adec, pkt);
    if (rc < 0 && rc != AVERROR_EOF) return TSR_OK; /* a damaged audio packet is skipped, not fatal */
    tsr_status st = TSR_OK;
    while (st == TSR_OK && (rc = avcodec_receive_frame(w->adec, w->aframe)) == 0) {
        st = resample_into_fifo(w, w->aframe, err);
        av_frame_unref(w->aframe);
        if (st == TSR_OK) st = drain_fifo(w, 0, err);
    }
    if (st == TSR_OK && !pkt) {
        st = resample_into_fifo(w, NULL, err);
        if (st == TSR_OK) st = drain_fifo(w, 1, err);
        if (st == TSR_OK) st = encode_frame(w, NULL, err);
    }
    return st;
}

void tsr_writer_aac_close(tsr_media_writer *w)
{
    avcodec_free_context(&w->adec);
    avcodec_free_context(&w->aenc);
    swr_free(&w->swr);
    if (w->fifo) av_audio_fifo_free(w->fifo);
    w->fifo = NULL;
    av_frame_free(&w->aframe);
}
