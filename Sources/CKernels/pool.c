// Persistent thread pool: workers spin (pause), then yield, then sleep on a condition variable.
#define _GNU_SOURCE
#include "ckernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#if defined(__linux__)
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#define CK_FUTEX 1
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CK_PAUSE() _mm_pause()
#else
#define CK_PAUSE() ((void)0)
#endif

struct ck_pool {
    int nthreads;                 // including the caller (worker 0)
    pthread_t *threads;
    _Atomic long generation;      // bumped for each job
    _Atomic uint64_t join;        // open jobs: (generation << 32) | closed bit 31 | number of workers that joined
    _Atomic int done;             // open jobs: joined workers that finished
    _Atomic int caller_sleeping;  // the caller waits for `done` on a futex (CK_FUTEX)
    int wait_mode;                // 0: the caller spins, then yields; 1: spins, then sleeps on a futex (default)
    int all_workers;              // 1: every worker runs fn; 0: only workers that join before the caller finishes
    _Atomic int sleepers;
    _Atomic int stop;
    ck_task_fn fn;
    void *ctx;
    pthread_mutex_t mu;           // for sleeping
    pthread_cond_t cv;
    pthread_mutex_t run_mu;       // serializes ck_pool_run callers
    long spin_ns, yield_ns;
};

static _Thread_local struct ck_pool *tl_pool = NULL;
static _Thread_local int tl_index = 0;   // worker index of this thread in tl_pool

static inline long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000000000L + ts.tv_nsec;
}

typedef struct { struct ck_pool *pool; int index; } worker_arg;

static void *worker_main(void *p) {
    worker_arg *wa = (worker_arg *)p;
    struct ck_pool *pool = wa->pool;
    int index = wa->index;
    free(wa);
    tl_pool = pool;
    tl_index = index;
    long seen = 0;   // the generation at creation: a worker that starts late must still run the first job
    for (;;) {
        // Wait for a new generation: spin, then yield, then sleep.
        long start = now_ns();
        long g;
        int iter = 0;
        for (;;) {
            g = atomic_load_explicit(&pool->generation, memory_order_acquire);
            if (g != seen || atomic_load_explicit(&pool->stop, memory_order_relaxed)) break;
            long el = 0;
            if ((++iter & 63) == 0) el = now_ns() - start;
            if (el < pool->spin_ns) {
                CK_PAUSE();
            } else if (el < pool->spin_ns + pool->yield_ns) {
                sched_yield();
            } else {
                pthread_mutex_lock(&pool->mu);
                atomic_fetch_add(&pool->sleepers, 1);
                while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->stop))
                    pthread_cond_wait(&pool->cv, &pool->mu);
                atomic_fetch_sub(&pool->sleepers, 1);
                pthread_mutex_unlock(&pool->mu);
                start = now_ns();
                iter = 0;
            }
        }
        if (atomic_load(&pool->stop)) break;
        seen = g;
        // Join job g (only it, and only while it is open). A successful join pins the job: the caller waits for
        // every joined worker, so fn/ctx stay those of job g while we run it.
        uint64_t j = atomic_load(&pool->join);
        int joined = 0;
        while ((j >> 32) == ((uint64_t)g & 0xffffffffu) && !(j & 0x80000000u)) {
            if (atomic_compare_exchange_weak(&pool->join, &j, j + 1)) { joined = 1; break; }
        }
        if (joined) {
            pool->fn(pool->ctx, index, pool->nthreads);
            atomic_fetch_add(&pool->done, 1);   // seq_cst: pairs with the caller's caller_sleeping store
#ifdef CK_FUTEX
            if (atomic_load(&pool->caller_sleeping))
                syscall(SYS_futex, (int *)&pool->done, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
#endif
        }
    }
    return NULL;
}

ck_pool *ck_pool_create(int nthreads) {
    if (nthreads < 1) nthreads = 1;
    struct ck_pool *pool = calloc(1, sizeof(struct ck_pool));
    if (!pool) return NULL;
    pool->nthreads = nthreads;
    pool->spin_ns = 300000;    // 0.3 ms of spinning covers the gaps between matvecs in a forward pass
    pool->yield_ns = 2000000;  // then 2 ms of sched_yield, then sleep
    atomic_init(&pool->generation, 0);
    atomic_init(&pool->join, 0);
    atomic_init(&pool->done, 0);
    atomic_init(&pool->caller_sleeping, 0);
    {
        const char *e = getenv("CMAT_POOL_WAIT");
        pool->wait_mode = (e && e[0] == '0') ? 0 : 1;
    }
    atomic_init(&pool->sleepers, 0);
    atomic_init(&pool->stop, 0);
    pthread_mutex_init(&pool->mu, NULL);
    pthread_cond_init(&pool->cv, NULL);
    pthread_mutex_init(&pool->run_mu, NULL);
    pool->threads = calloc((size_t)nthreads, sizeof(pthread_t));
    for (int i = 1; i < nthreads; i++) {
        worker_arg *wa = malloc(sizeof(worker_arg));
        wa->pool = pool;
        wa->index = i;
        if (pthread_create(&pool->threads[i], NULL, worker_main, wa) != 0) {
            free(wa);
            pool->nthreads = i;   // run with fewer threads
            break;
        }
    }
    return pool;
}

int ck_pool_threads(const ck_pool *pool) { return pool->nthreads; }

void ck_pool_set_spin(ck_pool *pool, long spin_ns, long yield_ns) {
    pool->spin_ns = spin_ns;
    pool->yield_ns = yield_ns;
}

void ck_pool_destroy(ck_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mu);
    atomic_store(&pool->stop, 1);
    pthread_cond_broadcast(&pool->cv);
    pthread_mutex_unlock(&pool->mu);
    for (int i = 1; i < pool->nthreads; i++) pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->mu);
    pthread_cond_destroy(&pool->cv);
    pthread_mutex_destroy(&pool->run_mu);
    free(pool->threads);
    free(pool);
}

void ck_pool_run(ck_pool *pool, ck_task_fn fn, void *ctx) { ck_pool_run_mode(pool, fn, ctx, 1); }

// The caller waits until `target` joined workers have finished. It spins first (a worker is usually a few µs
// behind); then, by default, it sleeps on a futex, so that a worker descheduled by another process in the middle of
// its chunk can be moved by the kernel onto the caller's now idle core (sched_yield keeps that core busy).
// CMAT_POOL_WAIT=0: spin, then sched_yield (the behaviour before session 7).
static void wait_done(struct ck_pool *pool, int target) {
    int iter = 0;
    for (;;) {
        const int d = atomic_load_explicit(&pool->done, memory_order_acquire);
        if (d >= target) return;
        if (++iter < 4000) { CK_PAUSE(); continue; }
#ifdef CK_FUTEX
        if (pool->wait_mode == 1) {
            atomic_store(&pool->caller_sleeping, 1);   // seq_cst: a worker's done increment after this sees it
            const int d2 = atomic_load(&pool->done);
            if (d2 < target) {
                struct timespec ts = {0, 2000000};    // 2 ms: a safety net, not needed for correctness
                syscall(SYS_futex, (int *)&pool->done, FUTEX_WAIT_PRIVATE, d2, &ts, NULL, 0);
            }
            atomic_store(&pool->caller_sleeping, 0);
            continue;
        }
#endif
        if (iter < 20000) CK_PAUSE(); else sched_yield();
    }
}

void ck_pool_run_mode(ck_pool *pool, ck_task_fn fn, void *ctx, int all_workers) {
    if (pool->nthreads == 1 || tl_pool == pool) {   // single thread, or nested call from inside a job
        fn(ctx, ck_pool_current_worker(pool), 1);
        return;
    }
    pthread_mutex_lock(&pool->run_mu);
    struct ck_pool *saved = tl_pool;
    int saved_index = tl_index;
    tl_pool = pool;
    tl_index = 0;
    pool->fn = fn;
    pool->ctx = ctx;
    pool->all_workers = all_workers;
    long g = atomic_load(&pool->generation) + 1;
    atomic_store(&pool->done, 0);
    atomic_store(&pool->join, ((uint64_t)g & 0xffffffffu) << 32);
    atomic_store(&pool->generation, g);                // seq_cst: pairs with the sleepers check below
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->mu);
        pthread_cond_broadcast(&pool->cv);
        pthread_mutex_unlock(&pool->mu);
    }
    fn(ctx, 0, pool->nthreads);
    int target;
    if (all_workers) {
        target = pool->nthreads - 1;
    } else {
        // Close the job: workers that have not joined yet (descheduled, asleep) will skip it.
        uint64_t j = atomic_fetch_or(&pool->join, 0x80000000u);
        target = (int)(j & 0x7fffffffu);
    }
    wait_done(pool, target);
    tl_pool = saved;
    tl_index = saved_index;
    pthread_mutex_unlock(&pool->run_mu);
}

int ck_pool_current_worker(const ck_pool *pool) { return tl_pool == pool ? tl_index : 0; }

long ck_atomic_fetch_add(long *p, long v) { return atomic_fetch_add((_Atomic long *)p, v); }

void ck_atomic_wait_ge(long *p, long target) {
    int iter = 0;
    while (atomic_load_explicit((_Atomic long *)p, memory_order_acquire) < target) {
        if (++iter < 4000) CK_PAUSE(); else sched_yield();
    }
}
