/* The per-layer precision policy as data: which convs of the network run in FP8 (e4m3) under an engine precision
 * (TSR_PRECISION_FP8_FAST / _QUALITY), and why. The table in precision.c is derived from the measured per-layer
 * sensitivity scan (tests/bench/fp8_scan.c, figures in tests/bench/RESULTS.md "FP8 precision policy").
 *
 * vae_load.c sets each conv's desc.precision from tsr_layer_precision_for(); a backend that can run FP8 (CUDA,
 * sm_89+) does so for the layers marked TSR_LP_FP8, the others stay in the backend default (bf16). The CPU backend
 * computes everything in fp32 and ignores the marks.
 *
 * Diagnostic override (scans, A/B runs): the environment variable TSR_FP8, or tsr_fp8_override_set() between runs
 * (not while a decode runs; with TSR_CUDA_GRAPHS=0, since a recorded chunk replays the choice it was recorded
 * with), replaces the marks inside the CUDA FP8 implementation:
 *   unset, "" or "off"  no override: the marks decide
 *   "none"              no conv in FP8
 *   "all"               every conv the FP8 kernels can run
 *   "fast", "quality"   the table's policy of that name (whatever the engine precision)
 *   "name:S"            convs whose name contains S
 *   "layers:A,B,..."    exactly the convs named (full names, e.g. decoder.up_blocks.3.resnets.0.conv2) */
#ifndef TSR_VAE_PRECISION_H
#define TSR_VAE_PRECISION_H
#include <stddef.h>

#include "backend/backend.h"
#include "tessera.h"

/* The precision of conv `name` (e.g. "decoder.up_blocks.2.resnets.1.conv2") under engine precision `p`:
 * TSR_LP_FP8 or TSR_LP_DEFAULT. `why` (may be NULL) receives the table's reason (static text). */
tsr_layer_precision tsr_layer_precision_for(tsr_precision p, const char *name, const char **why);

/* Simple glob: '*' matches any run of characters (dots included); everything else literally. */
int tsr_glob_match(const char *pattern, const char *s);

/* One conv of a configuration with its precision under a policy (for `bench` and the scan). */
typedef struct tsr_layer_prec_info {
    char name[96];
    int cin, cout, kt, kh, kw;
    tsr_layer_precision precision;
    const char *why;
} tsr_layer_prec_info;

/* Every conv (5-D weight) of the configuration's decoder and encoder in state-dict order. Returns the count
 * (writes at most `cap`; `out` may be NULL to count). */
int tsr_layer_precisions(tsr_precision p, const tsr_vae_config *cfg, tsr_layer_prec_info *out, int cap);

/* The override (see above). set(NULL) drops it and re-reads TSR_FP8 at the next query. */
void tsr_fp8_override_set(const char *spec);
/* -1: no override (use the layer's mark); 0/1: the override says bf16/FP8 for this conv. */
int tsr_fp8_override_for(const char *name);
/* Whether the override string is understood (0 for an unknown word: it is then ignored with a warning). */
int tsr_fp8_override_valid(const char *spec);

/* "bf16", "fp8-fast", ... for messages. */
const char *tsr_precision_name(tsr_precision p);
#endif
