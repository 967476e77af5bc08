#include "ckernels.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
// CMAT_ISA=scalar|avx2|avx512vnni caps the instruction set at start-up (A/B measurements of the same build; a level
// the CPU lacks falls back to what it has). Anything else is reported and ignored.
__attribute__((constructor)) static void ck_isa_env(void) {
    const char *e = getenv("CMAT_ISA");
    if (!e || !*e) return;
    if (!strcmp(e, "scalar")) mask = 0;
    else if (!strcmp(e, "avx2")) mask = 1;
    else if (!strcmp(e, "avx512vnni")) mask = 3;
    else fprintf(stderr, "cmat: CMAT_ISA=%s is not one of scalar, avx2, avx512vnni; ignored\n", e);
}
