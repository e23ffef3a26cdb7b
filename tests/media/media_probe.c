/* tsr_probe FILE...: what `ffprobe -count_frames` says about a file, for machines without ffprobe (the GPU
 * machine): one line per file with the size in bytes, the first video stream's codec, width, height, frames
 * decoded, r_frame_rate, pix_fmt, and the audio streams' codecs. The media suite checks it against ffprobe.
 * A test tool: plain libavformat/libavcodec, independent of the engine's reader. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/pixdesc.h>

static long long count_frames(AVFormatContext *fmt, int vi, const AVCodec *codec)
{
    AVCodecContext *dec = avcodec_alloc_context3(codec);
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    long long n = -1;
    if (dec && pkt && frame && avcodec_parameters_to_context(dec, fmt->streams[vi]->codecpar) >= 0 &&
        avcodec_open2(dec, codec, NULL) >= 0) {
        n = 0;
        int eof = 0;
        while (!eof) {
            int rc = av_read_frame(fmt, pkt);
            if (rc < 0) eof = 1, rc = avcodec_send_packet(dec, NULL);
            else if (pkt->stream_index == vi) rc = avcodec_send_packet(dec, pkt);
            av_packet_unref(pkt);
            while (avcodec_receive_frame(dec, frame) == 0) n++, av_frame_unref(frame);
        }
    }
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&dec);
    return n;
}

static int probe(const char *path)
{
    struct stat st;
    AVFormatContext *fmt = NULL;
    if (stat(path, &st) != 0 || avformat_open_input(&fmt, path, NULL, NULL) < 0) {
        printf("%s: cannot open\n", path);
        return 1;
    }
    if (avformat_find_stream_info(fmt, NULL) < 0) {
        printf("%s: no stream information\n", path);
        avformat_close_input(&fmt);
        return 1;
    }
    const AVCodec *codec = NULL;
    int vi = av_find_best_stream(fmt, AVMEDIA_TYPE_VIDEO, -1, -1, &codec, 0);
    char audio[256] = "";
    int na = 0;
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        if (fmt->streams[i]->codecpar->codec_type == AVMEDIA_TYPE_AUDIO) {
            size_t used = strlen(audio);
            snprintf(audio + used, sizeof audio - used, "%s%s", na++ ? "," : "",
                     avcodec_get_name(fmt->streams[i]->codecpar->codec_id));
        }
    if (vi < 0 || !codec) {
        printf("%s: size=%lld video=none audio=%d:%s\n", path, (long long)st.st_size, na, na ? audio : "-");
        avformat_close_input(&fmt);
        return 1;
    }
    AVStream *s = fmt->streams[vi];
    AVCodecParameters *cp = s->codecpar;
    const char *pix = av_get_pix_fmt_name(cp->format);
    int w = cp->width, h = cp->height, rn = s->r_frame_rate.num, rd = s->r_frame_rate.den;
    for (unsigned i = 0; i < fmt->nb_streams; i++)
        if ((int)i != vi) fmt->streams[i]->discard = AVDISCARD_ALL;
    long long frames = count_frames(fmt, vi, codec);
    printf("%s: size=%lld video=%s %dx%d frames=%lld fps=%d/%d pix_fmt=%s audio=%d:%s\n", path, (long long)st.st_size,
           avcodec_get_name(cp->codec_id), w, h, frames, rn, rd, pix ? pix : "?", na, na ? audio : "-");
    avformat_close_input(&fmt);
    return frames > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: tsr_probe FILE...\n");
        return 2;
    }
    av_log_set_level(AV_LOG_FATAL);
    int bad = 0;
    for (int i = 1; i < argc; i++) bad |= probe(argv[i]);
    return bad;
}
