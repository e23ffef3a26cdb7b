/* A small pthreads pool: parallel-for over an index range. Used by the CPU backend.
 * One caller at a time per pool (the backend is single-threaded from the outside). */
#ifndef TSR_CORE_THREADPOOL_H
#define TSR_CORE_THREADPOOL_H
#include "tessera.h"

typedef struct tsr_threadpool tsr_threadpool;

/* fn(user, begin, end, worker) processes items [begin, end); worker is in [0, threads). */
typedef void (*tsr_range_fn)(void *user, long begin, long end, int worker);

/* threads <= 0: one per online core. A pool of 1 runs everything on the calling thread. */
tsr_status tsr_threadpool_create(int threads, tsr_threadpool **out, tsr_error *err);
void tsr_threadpool_destroy(tsr_threadpool **pool);
int tsr_threadpool_size(const tsr_threadpool *pool);

/* Split [0, n) into contiguous pieces of at least `grain` items and run them on all workers (the caller
 * is worker 0). Returns when every item is done. */
void tsr_parallel_for(tsr_threadpool *pool, long n, long grain, tsr_range_fn fn, void *user);
#endif
