#pragma once
#include <stdint.h>
#include <stddef.h>
// SIMD kernels with run-time instruction-set dispatch. Each has a Swift reference twin in Kernels.

// Returns a bitmask of what this CPU supports (1 = AVX2+FMA+F16C, 2 = AVX-512F/BW/VL/VNNI).
int ck_cpu_features(void);
// Restricts dispatch to the levels in `mask` (for tests of every path); returns the mask in effect.
int ck_set_feature_mask(int mask);
// Name of the instruction set used by the kernels now ("avx512vnni", "avx2", "scalar").
const char *ck_isa_name(void);

// ---- thread pool ----
typedef struct ck_pool ck_pool;
typedef void (*ck_task_fn)(void *ctx, int worker, int nworkers);
ck_pool *ck_pool_create(int nthreads);
void ck_pool_destroy(ck_pool *pool);
int ck_pool_threads(const ck_pool *pool);
void ck_pool_set_spin(ck_pool *pool, long spin_ns, long yield_ns);
// Runs fn(ctx, w, n) on every worker w in 0..<n (the caller is worker 0); returns when all are done.
void ck_pool_run(ck_pool *pool, ck_task_fn fn, void *ctx);
long ck_atomic_fetch_add(long *p, long v);
