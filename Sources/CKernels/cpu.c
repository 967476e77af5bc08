#include "ckernels.h"
static int detected = -1;
static int mask = 3;
int ck_cpu_features(void) {
    if (detected >= 0) return detected;
    int f = 0;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c")) f |= 1;
    if ((f & 1) && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni")) f |= 2;
#endif
    detected = f;
    return f;
}
int ck_set_feature_mask(int m) { mask = m; return ck_cpu_features() & mask; }
int ck_active_features(void) { return ck_cpu_features() & mask; }
const char *ck_isa_name(void) {
    int f = ck_active_features();
    if (f & 2) return "avx512vnni";
    if (f & 1) return "avx2";
    return "scalar";
}
