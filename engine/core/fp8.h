/* FP8 e4m3 (OCP "E4M3FN": bias 7, no infinities, S.1111.111 = NaN, max 448) conversions on the host. */
#ifndef TSR_CORE_FP8_H
#define TSR_CORE_FP8_H
#include <stdint.h>
float tsr_e4m3_to_f32(uint8_t v);
/* Round to nearest even, saturating to +-448; NaN -> 0x7f. */
uint8_t tsr_f32_to_e4m3(float f);
#endif
