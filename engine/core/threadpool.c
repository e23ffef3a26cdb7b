#include "core/threadpool.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/common.h"

/* Work is handed out as atomic-free chunks under one mutex: items are coarse (a conv tile, a frame),
 * so the lock is never hot, and a mutex keeps the code portable to MinGW's winpthreads. */
struct tsr_threadpool {
    int n;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t work_cv, done_cv;
    /* current job */
    tsr_range_fn fn;
    void *user;
    long total, next, chunk;
    int active;          /* workers still inside the current job */
    unsigned long generation;
    int quit;
};

typedef struct worker_arg {
    tsr_threadpool *pool;
    int index;
} worker_arg;

/* Take pieces until the range is exhausted. Called with the mutex unlocked. */
static void run_pieces(tsr_threadpool *p, int worker)
{
    for (;;) {
        pthread_mutex_lock(&p->mu);
        long b = p->next;
        long e = b + p->chunk < p->total ? b + p->chunk : p->total;
        p->next = e;
        tsr_range_fn fn = p->fn;
        void *user = p->user;
        pthread_mutex_unlock(&p->mu);
        if (b >= e) return;
        fn(user, b, e, worker);
    }
}

static void *worker_main(void *arg)
{
    worker_arg wa = *(worker_arg *)arg;
    free(arg);
    tsr_threadpool *p = wa.pool;
    unsigned long seen = 0;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->quit && p->generation == seen) pthread_cond_wait(&p->work_cv, &p->mu);
        if (p->quit) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_pieces(p, wa.index);
        pthread_mutex_lock(&p->mu);
        if (--p->active == 0) pthread_cond_signal(&p->done_cv);
        pthread_mutex_unlock(&p->mu);
    }
}

tsr_status tsr_threadpool_create(int threads, tsr_threadpool **out, tsr_error *err)
{
    *out = NULL;
    if (threads <= 0) threads = tsr_cpu_count();
    tsr_threadpool *p = tsr_calloc(1, sizeof *p, err);
    if (!p) return TSR_ERR_NOMEM;
    p->threads = tsr_calloc((size_t)threads, sizeof *p->threads, err);
    if (!p->threads) {
        free(p);
        return TSR_ERR_NOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work_cv, NULL);
    pthread_cond_init(&p->done_cv, NULL);
    p->n = 1;
    for (int i = 1; i < threads; i++) {
        worker_arg *wa = malloc(sizeof *wa);
        if (!wa) break;
        wa->pool = p;
        wa->index = i;
        if (pthread_create(&p->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            break; /* run with the threads we got */
        }
        p->n++;
    }
    *out = p;
    return TSR_OK;
}

void tsr_threadpool_destroy(tsr_threadpool **pool)
{
    if (!pool || !*pool) return;
    tsr_threadpool *p = *pool;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 1; i < p->n; i++) pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->work_cv);
    pthread_cond_destroy(&p->done_cv);
    free(p->threads);
    free(p);
    *pool = NULL;
}

int tsr_threadpool_size(const tsr_threadpool *pool) { return pool ? pool->n : 1; }

void tsr_parallel_for(tsr_threadpool *p, long n, long grain, tsr_range_fn fn, void *user)
{
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (!p || p->n == 1 || n <= grain) {
        fn(user, 0, n, 0);
        return;
    }
    /* ~4 pieces per worker balances uneven items without much locking */
    long chunk = n / ((long)p->n * 4);
    if (chunk < grain) chunk = grain;
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->user = user;
    p->total = n;
    p->next = 0;
    p->chunk = chunk;
    p->active = p->n - 1;
    p->generation++;
    pthread_cond_broadcast(&p->work_cv);
    pthread_mutex_unlock(&p->mu);
    run_pieces(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->active > 0) pthread_cond_wait(&p->done_cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
