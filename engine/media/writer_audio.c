/* Audio for the writer: the first audio stream of a clip, stream-copied (FFmpeg doc/examples/remux.c),
 * shifted to start at 0 and cut at the end of the video; re-encoded to AAC (writer_aac.c) when the
 * container cannot hold its codec. */
#include <string.h>

#include "media/writer_impl.h"

tsr_status tsr_writer_audio_open(tsr_media_writer *w, const char *path, tsr_error *err)
{
    if (w->is_dir) {
        tsr_log(TSR_LOG_WARN, "%s: image sequences carry no audio; audio of %s not written", w->final_path, path);
        return TSR_OK;
    }
    int rc = avformat_open_input(&w->audio_in, path, NULL, NULL);
    if (rc < 0) return tsr_av_fail(err, rc, TSR_ERR_FORMAT, "%s: cannot open for audio", path);
    if ((rc = avformat_find_stream_info(w->audio_in, NULL)) < 0)
        return tsr_av_fail(err, rc, TSR_ERR_FORMAT, "%s: cannot read stream information", path);
    int idx = av_find_best_stream(w->audio_in, AVMEDIA_TYPE_AUDIO, -1, -1, NULL, 0);
    if (idx < 0) {
        tsr_log(TSR_LOG_INFO, "%s: no audio stream; output has none", path);
        avformat_close_input(&w->audio_in);
        return TSR_OK;
    }
    AVStream *in = w->audio_in->streams[idx];
    w->audio_index = idx;
    w->audio_start = in->start_time != AV_NOPTS_VALUE ? in->start_time : 0;
    for (unsigned i = 0; i < w->audio_in->nb_streams; i++)
        if ((int)i != idx) w->audio_in->streams[i]->discard = AVDISCARD_ALL;
    if (!(w->apkt = av_packet_alloc())) return tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    if (avformat_query_codec(w->oc->oformat, in->codecpar->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
        tsr_log(TSR_LOG_INFO, "%s: audio %s cannot go into %s; re-encoding to AAC", path,
                avcodec_get_name(in->codecpar->codec_id), w->oc->oformat->name);
        tsr_status st = tsr_writer_aac_open(w, in, err);
        if (st != TSR_OK) tsr_error_prefix(err, "%s", path);
        return st;
    }
    if (!(w->ast = avformat_new_stream(w->oc, NULL))) return tsr_fail(err, TSR_ERR_NOMEM, "out of memory");
    if ((rc = avcodec_parameters_copy(w->ast->codecpar, in->codecpar)) < 0)
        return tsr_av_fail(err, rc, TSR_ERR_INTERNAL, "audio parameters");
    w->ast->codecpar->codec_tag = 0;
    w->ast->time_base = in->time_base;
    return TSR_OK;
}

/* Next audio packet into w->apkt (pending); 0 at the end of the input. */
static int read_audio(tsr_media_writer *w)
{
    while (!w->apkt_pending && !w->audio_done) {
        if (av_read_frame(w->audio_in, w->apkt) < 0) {
            w->audio_done = 1;
            break;
        }
        if (w->apkt->stream_index == w->audio_index && w->apkt->pts != AV_NOPTS_VALUE) w->apkt_pending = 1;
        else av_packet_unref(w->apkt);
    }
    return w->apkt_pending;
}

tsr_status tsr_writer_audio_pump(tsr_media_writer *w, int64_t until_us, tsr_error *err)
{
    if (!w->audio_in || !w->ast) return TSR_OK;
    AVRational in_tb = w->audio_in->streams[w->audio_index]->time_base;
    while (read_audio(w)) {
        int64_t t = w->apkt->pts - w->audio_start;
        if (av_rescale_q(t, in_tb, AV_TIME_BASE_Q) >= until_us) return TSR_OK;
        if (w->aenc) {
            tsr_status st = tsr_writer_aac_packet(w, w->apkt, err);
            av_packet_unref(w->apkt);
            w->apkt_pending = 0;
            if (st != TSR_OK) return st;
            continue;
        }
        w->apkt->pts = t;
        if (w->apkt->dts != AV_NOPTS_VALUE) w->apkt->dts -= w->audio_start;
        av_packet_rescale_ts(w->apkt, in_tb, w->ast->time_base);
        w->apkt->stream_index = w->ast->index;
        w->apkt->pos = -1;
        w->apkt_pending = 0;
        int rc = av_interleaved_write_frame(w->oc, w->apkt);
        if (rc < 0) return tsr_av_fail(err, rc, TSR_ERR_IO, "%s: writing audio failed", w->final_path);
    }
    return TSR_OK;
}

tsr_status tsr_writer_audio_finish(tsr_media_writer *w, int64_t end_us, tsr_error *err)
{
    tsr_status st = tsr_writer_audio_pump(w, end_us, err);
    if (st == TSR_OK && w->aenc) st = tsr_writer_aac_packet(w, NULL, err);
    return st;
}

void tsr_writer_audio_close(tsr_media_writer *w)
{
    tsr_writer_aac_close(w);
    av_packet_free(&w->apkt);
    avformat_close_input(&w->audio_in);
}
