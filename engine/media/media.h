/* FFmpeg reading and writing of clips, stills and image sequences (built only when TSR_HAVE_MEDIA).
 *
 * Frames cross this interface as the engine's frames do: [3][height][width] fp32 RGB in [-1, 1].
 * The reader pulls frames on demand (tsr_media_read has the tsr_frame_source signature), so a clip is
 * never held whole in memory. The writer encodes frame by frame into a temporary file (or directory,
 * for image sequences) beside the target, renamed on tsr_media_writer_finish, removed on abort. */
#ifndef TSR_MEDIA_MEDIA_H
#define TSR_MEDIA_MEDIA_H
#include <stdint.h>
#include "tessera.h"

typedef struct tsr_media_info {
    int width, height;
    int64_t frames;            /* best estimate of the frame count, -1 when the container does not say */
    int fps_num, fps_den;      /* frame rate (avg_frame_rate, else r_frame_rate, else 25/1) */
    int tb_num, tb_den;        /* stream time base */
    int sar_num, sar_den;      /* sample aspect ratio (1:1 when unknown) */
    int color_space;           /* AVColorSpace used for the conversion (BT.709 / BT.601 ...) */
    int color_range;           /* AVColorRange used: 1 = limited (MPEG), 2 = full (JPEG) */
    int color_primaries, color_trc;  /* tags passed on to the writer */
    int has_audio;
    int is_image;              /* a still or an image sequence */
    char codec[32];
} tsr_media_info;

typedef struct tsr_media_reader tsr_media_reader;

/* Open a clip, a still image, an image-sequence pattern ("dir/frame_%04d.png") or a directory of images
 * (sorted by name). Fails with TSR_ERR_FORMAT / TSR_ERR_INPUT and a clear message for corrupt, empty,
 * audio-only or unsupported files. */
tsr_status tsr_media_reader_open(const char *path, tsr_media_reader **out, tsr_error *err);
const tsr_media_info *tsr_media_reader_info(const tsr_media_reader *r);
/* tsr_frame_source: up to `max` frames of info.height x info.width; 0 = end, < 0 = error (err filled). */
int tsr_media_read(void *reader, float *frames, int max, tsr_error *err);
/* Frames delivered so far. */
int64_t tsr_media_reader_frames_read(const tsr_media_reader *r);
void tsr_media_reader_close(tsr_media_reader **r);

typedef struct tsr_media_writer_params {
    int width, height;
    int fps_num, fps_den;      /* 0 = 25/1 */
    int sar_num, sar_den;      /* 0 = 1:1 */
    const char *codec;         /* NULL/"auto": by extension (mp4/mkv: h264, mov: prores, dir: png). Also
                                  h264, hevc, h264_nvenc, hevc_nvenc, prores (422 HQ), prores4444, ffv1,
                                  png, tiff (16-bit) */
    int crf;                   /* -1 = codec default (x264 18, x265 20, nvenc cq 20) */
    int64_t bitrate;           /* bits/s; > 0 selects ABR instead of CRF */
    int ten_bit;               /* 10-bit (16-bit for png/tiff) where the codec allows it */
    int color_space, color_range, color_primaries, color_trc; /* 0 = BT.709 limited (tags and matrix) */
    const char *audio_from;    /* clip whose first audio stream is muxed in; NULL = none */
} tsr_media_writer_params;

void tsr_media_writer_params_default(tsr_media_writer_params *p);

typedef struct tsr_media_writer tsr_media_writer;

/* `path` ending in '/' or naming an existing directory, or without an extension, is an image-sequence
 * directory (frame_000000.png ...). */
tsr_status tsr_media_writer_open(const char *path, const tsr_media_writer_params *p, tsr_media_writer **out,
                                 tsr_error *err);
/* One frame [3][h][w] in [-1, 1]. */
tsr_status tsr_media_write(tsr_media_writer *w, const float *frame, tsr_error *err);
/* Flush the encoder, mux the remaining audio, write the trailer and rename into place. Frees `*w`. */
tsr_status tsr_media_writer_finish(tsr_media_writer **w, tsr_error *err);
/* Drop everything: no output and no temporary file remain. Frees `*w`. */
void tsr_media_writer_abort(tsr_media_writer **w);

/* Is this encoder present and does it open (NVENC needs a driver and a GPU)? Probed once, cached. */
int tsr_media_encoder_usable(const char *name);
/* Output is an image-sequence directory? */
int tsr_media_path_is_dir_target(const char *path);
#endif
