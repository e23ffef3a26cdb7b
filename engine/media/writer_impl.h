/* The writer's state, shared by writer.c (video) and writer_audio.c (audio). Internal. */
#ifndef TSR_MEDIA_WRITER_IMPL_H
#define TSR_MEDIA_WRITER_IMPL_H
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>

#include "core/file.h"
#include "media/media.h"
#include "media/media_util.h"

struct tsr_media_writer {
    char *final_path, *temp_path;
    int is_dir, temp_made, header_written;
    int width, height;
    const char *encoder;
    int pix_fmt, profile4444;
    AVFormatContext *oc;
    AVCodecContext *enc;
    AVStream *vst;
    struct SwsContext *sws;
    AVFrame *rgb, *frame;
    AVPacket *pkt;
    int64_t frames;
    /* audio by stream copy */
    AVFormatContext *audio_in;
    AVStream *ast;
    int audio_index;
    int64_t audio_start;       /* first audio timestamp in the input, in its time base */
    AVPacket *apkt;
    int apkt_pending, audio_done;
    /* re-encoding to AAC when the container cannot hold the source codec (writer_aac.c) */
    AVCodecContext *adec, *aenc;
    struct SwrContext *swr;
    struct AVAudioFifo *fifo;
    AVFrame *aframe;
    int64_t aac_pts;           /* samples sent to the encoder */
};

tsr_status tsr_writer_audio_open(tsr_media_writer *w, const char *path, tsr_error *err);
/* Mux audio packets that start before `until_us` (microseconds from the start). */
tsr_status tsr_writer_audio_pump(tsr_media_writer *w, int64_t until_us, tsr_error *err);
/* Pump up to the end of the video and flush the AAC encoder. */
tsr_status tsr_writer_audio_finish(tsr_media_writer *w, int64_t end_us, tsr_error *err);
void tsr_writer_audio_close(tsr_media_writer *w);
/* Set up decoder -> resampler -> AAC encoder for input stream `in`; adds the output stream. */
tsr_status tsr_writer_aac_open(tsr_media_writer *w, const AVStream *in, tsr_error *err);
/* Decode one input packet (NULL = flush at the end) and mux the AAC packets it yields. */
tsr_status tsr_writer_aac_packet(tsr_media_writer *w, const AVPacket *pkt, tsr_error *err);
void tsr_writer_aac_close(tsr_media_writer *w);
#endif
