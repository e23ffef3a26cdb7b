/* The golden vectors (../shared/fixtures, fp32 reference) decoded and encoded on the CUDA backend in bf16:
 * relative RMS error <= 1.8 % (the reference's own bf16 error is 1.77 %), and every chunking equal to the first
 * (relative RMS <= 1e-3). test_cuda_golden decode|encode FILE CHUNK...; exits 77 without a GPU. */
#include "../golden/golden_harness.h"

int main(int argc, char **argv)
{
    const golden_cfg cfg = {TSR_BACKEND_CUDA, "cuda", "rel rms error", tsr_test_rel_rms, 0.018, 1e-3};
    return golden_main(argc, argv, &cfg);
}
