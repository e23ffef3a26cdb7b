/* The pool runs every item exactly once, for several sizes and repeated jobs. */
#include "core/threadpool.h"
#include "tsr_test.h"

static void mark(void *user, long b, long e, int worker)
{
    int *hits = user;
    for (long i = b; i < e; i++) hits[i]++;
}

int main(void)
{
    tsr_threadpool *p = NULL;
    tsr_error err;
    REQUIRE(tsr_threadpool_create(3, &p, &err) == TSR_OK);
    CHECK(tsr_threadpool_size(p) == 3);
    static int hits[10000];
    for (int round = 0; round < 50; round++) {
        long n = (round * 197) % 10000 + 1;
        memset(hits, 0, sizeof hits);
        tsr_parallel_for(p, n, 1 + round % 7, mark, hits);
        int bad = 0;
        for (long i = 0; i < n; i++) bad += hits[i] != 1;
        CHECKF(bad == 0, "round %d: %d items not run exactly once", round, bad);
    }
    tsr_threadpool_destroy(&p);
    CHECK(p == NULL);
    return tsr_test_done();
}
