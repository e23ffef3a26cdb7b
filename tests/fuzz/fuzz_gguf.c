/* libFuzzer target: GGUF header, KV metadata rendering, tensor table, then use of every tensor. */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_common.h"
#include "model/gguf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tsr_weights w;
    tsr_error err;
    if (tsr_gguf_parse(data, size, "fuzz", &w, &err) == TSR_OK) fuzz_use(&w);
    return 0;
}
