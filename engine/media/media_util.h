/* Helpers shared by the FFmpeg reader and writer (internal to engine/media). */
#ifndef TSR_MEDIA_UTIL_H
#define TSR_MEDIA_UTIL_H
#include "core/common.h"

/* tsr_fail with the FFmpeg error text appended: "<msg>: <av_err2str(rc)>". */
tsr_status tsr_av_fail(tsr_error *err, int averr, tsr_status status, const char *fmt, ...) TSR_PRINTF(4, 5);
/* The matrix to use for a stream: its tag, else BT.709 for >= 720 lines and BT.601 below (FFmpeg's and
 * players' convention for untagged video). */
int tsr_media_default_colorspace(int tagged, int height);
/* The range to use: its tag, else full for yuvj and RGB formats, limited otherwise. */
int tsr_media_default_range(int tagged, int pix_fmt);
/* Remove a directory and the plain files in it (image-sequence temp directories). */
void tsr_media_remove_tree(const char *dir);
/* FFmpeg's own log: fatal only (TESSERA_FFMPEG_LOG=1 keeps its default verbosity). Once per process. */
void tsr_media_quiet_logs(void);
#endif
