#pragma once
#include <stdint.h>
#include <stddef.h>
// SIMD kernels with run-time instruction-set dispatch. Each has a Swift reference twin in Kernels.
// Returns a bitmask of what this CPU supports (1 = AVX2+FMA, 2 = AVX-512F/BW/VNNI).
int ck_cpu_features(void);
