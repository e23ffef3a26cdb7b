/* A bounded queue of frames between the compute thread and the writer thread: the producer blocks when
 * `cap` frames are waiting, so host memory stays at cap frames whatever the clip length. */
#ifndef TSR_JOB_FRAME_QUEUE_H
#define TSR_JOB_FRAME_QUEUE_H
#include <pthread.h>
#include "tessera.h"

typedef struct tsr_frame_queue {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    float **slots;             /* cap free/filled buffers of frame_floats each */
    int cap, head, count;
    size_t frame_floats;
    int closed;                /* producer is done */
    int failed;                /* consumer failed (err holds why) */
    tsr_error err;
    double wait_push_s, wait_pop_s;  /* time blocked on each side (overlap measurement) */
} tsr_frame_queue;

tsr_status tsr_frame_queue_init(tsr_frame_queue *q, int cap, size_t frame_floats, tsr_error *err);
void tsr_frame_queue_destroy(tsr_frame_queue *q);
/* Copy one frame in (blocks while full). Fails with the consumer's error when it has failed. */
tsr_status tsr_frame_queue_push(tsr_frame_queue *q, const float *frame, tsr_error *err);
/* Oldest frame, or NULL at the end (closed and empty) or after tsr_frame_queue_fail. Release with _pop_done. */
float *tsr_frame_queue_peek(tsr_frame_queue *q);
void tsr_frame_queue_pop_done(tsr_frame_queue *q);
void tsr_frame_queue_close(tsr_frame_queue *q);
void tsr_frame_queue_fail(tsr_frame_queue *q, const tsr_error *why);
#endif
