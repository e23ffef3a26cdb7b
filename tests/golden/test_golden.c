/* The reference's golden vectors (../shared/fixtures) reproduced on the CPU backend in fp32 from the
 * deterministic weights, whole clip and streamed in chunks: max abs error <= 5e-5, every chunking within
 * 1e-5 of the first. test_golden decode|encode FILE CHUNK... (driver: golden_harness.h). */
#include "golden_harness.h"

int main(int argc, char **argv)
{
    const golden_cfg cfg = {TSR_BACKEND_CPU, "cpu", "max abs error", tsr_test_max_abs, 5e-5, 1e-5};
    return golden_main(argc, argv, &cfg);
}
