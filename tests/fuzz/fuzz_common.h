/* Shared body of the loader fuzzers: whatever parses must also be fully usable — every tensor converts to
 * fp32 within its declared bytes, and detection runs — so a validation gap shows up as an ASan report. */
#ifndef TSR_FUZZ_COMMON_H
#define TSR_FUZZ_COMMON_H
#include <stdlib.h>

#include "model/detect.h"
#include "model/weights.h"

static void fuzz_use(tsr_weights *w)
{
    for (int i = 0; i < w->count; i++) {
        const tsr_tensor_info *t = &w->tensors[i];
        /* invariants of a validated file: the bytes match the shape, and they lie inside the input */
        if (t->numel > (1 << 26) || t->nbytes != tsr_dtype_nbytes(t->dtype, t->numel)) abort();
        float *f = malloc((size_t)(t->numel ? t->numel : 1) * sizeof *f);
        if (f) tsr_tensor_read_f32(t, f, NULL);
        free(f);
    }
    tsr_detect_result r;
    if (tsr_detect(w, &r, NULL) == TSR_OK) tsr_detect_result_free(&r);
    tsr_weights_free(w);
}
#endif
