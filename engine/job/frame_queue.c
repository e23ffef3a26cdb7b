/* Bounded frame queue (see frame_queue.h). */
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "job/frame_queue.h"

tsr_status tsr_frame_queue_init(tsr_frame_queue *q, int cap, size_t frame_floats, tsr_error *err)
{
    memset(q, 0, sizeof *q);
    q->cap = cap > 0 ? cap : 8;
    q->frame_floats = frame_floats;
    if (!(q->slots = tsr_calloc((size_t)q->cap, sizeof *q->slots, err))) return TSR_ERR_NOMEM;
    for (int i = 0; i < q->cap; i++)
        if (!(q->slots[i] = tsr_malloc(frame_floats * sizeof(float), err))) {
            tsr_frame_queue_destroy(q);
            return TSR_ERR_NOMEM;
        }
    pthread_mutex_init(&q->mu, NULL);
    pthread_cond_init(&q->changed, NULL);
    return TSR_OK;
}

void tsr_frame_queue_destroy(tsr_frame_queue *q)
{
    if (!q->slots) return;
    for (int i = 0; i < q->cap; i++) free(q->slots[i]);
    free(q->slots);
    q->slots = NULL;
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->changed);
}

tsr_status tsr_frame_queue_push(tsr_frame_queue *q, const float *frame, tsr_error *err)
{
    pthread_mutex_lock(&q->mu);
    double t0 = tsr_now();
    while (q->count == q->cap && !q->failed) pthread_cond_wait(&q->changed, &q->mu);
    q->wait_push_s += tsr_now() - t0;
    if (q->failed) {
        if (err) *err = q->err;
        pthread_mutex_unlock(&q->mu);
        return q->err.status != TSR_OK ? q->err.status : TSR_ERR_INTERNAL;
    }
    float *slot = q->slots[(q->head + q->count) % q->cap];
    pthread_mutex_unlock(&q->mu);
    memcpy(slot, frame, q->frame_floats * sizeof(float)); /* the slot is ours until count grows */
    pthread_mutex_lock(&q->mu);
    q->count++;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->mu);
    return TSR_OK;
}

float *tsr_frame_queue_peek(tsr_frame_queue *q)
{
    pthread_mutex_lock(&q->mu);
    double t0 = tsr_now();
    while (q->count == 0 && !q->closed && !q->failed) pthread_cond_wait(&q->changed, &q->mu);
    q->wait_pop_s += tsr_now() - t0;
    float *f = q->count > 0 && !q->failed ? q->slots[q->head] : NULL;
    pthread_mutex_unlock(&q->mu);
    return f;
}

void tsr_frame_queue_pop_done(tsr_frame_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->head = (q->head + 1) % q->cap;
    q->count--;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->mu);
}

void tsr_frame_queue_close(tsr_frame_queue *q)
{
    pthread_mutex_lock(&q->mu);
    q->closed = 1;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->mu);
}

void tsr_frame_queue_fail(tsr_frame_queue *q, const tsr_error *why)
{
    pthread_mutex_lock(&q->mu);
    if (!q->failed && why) q->err = *why;
    q->failed = 1;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->mu);
}
