#include "CGlimpseKernels.h"
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define CPU_RELAX() __asm__ __volatile__("yield")
#else
#define CPU_RELAX() ((void)0)
#endif

// One job at a time: the caller publishes it by bumping `generation`; workers that are spinning see it within
// a few hundred nanoseconds, workers that went to sleep are woken through the condition variable. Every thread,
// the caller included, takes chunk indices from `next` until none are left; the caller returns once every chunk
// is done and every worker has acknowledged the job, so no worker can still be reading it when the next one is
// written.

#define MAX_WORKERS 256

static struct {
    pthread_mutex_t submit;           // held by the thread whose job runs; others run inline
    pthread_mutex_t lock;             // guards sleeping + the condition variable
    pthread_cond_t wake;
    _Atomic unsigned long generation;
    _Atomic long next, done;
    long count;
    void (*body)(void *, long);
    void *context;
    int sleeping;
    int workers;
    _Atomic unsigned long acknowledged[MAX_WORKERS];
    long spin_ns;
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static pthread_once_t pool_once = PTHREAD_ONCE_INIT;

static long now_ns(void) {
    struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}

static void relax(long *spins) {
    if (++*spins < 4096) CPU_RELAX(); else sched_yield();
}

static void run_chunks(void) {
    long i;
    while ((i = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed)) < pool.count) {
        pool.body(pool.context, i);
        atomic_fetch_add_explicit(&pool.done, 1, memory_order_release);
    }
}

static void *worker(void *slot) {
    long me = (long)slot;
    unsigned long seen = 0;  // jobs start at generation 1, possibly before this thread first runs
    for (;;) {
        // Spin a little: a model's next layer usually arrives within microseconds.
        long deadline = now_ns() + pool.spin_ns;
        unsigned long g;
        int spins = 0;
        while ((g = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen) {
            CPU_RELAX();
            if (++spins % 64 == 0 && now_ns() > deadline) {
                pthread_mutex_lock(&pool.lock);
                pool.sleeping++;
                while ((g = atomic_load_explicit(&pool.generation, memory_order_acquire)) == seen)
                    pthread_cond_wait(&pool.wake, &pool.lock);
                pool.sleeping--;
                pthread_mutex_unlock(&pool.lock);
                break;
            }
        }
        seen = g;
        run_chunks();
        atomic_store_explicit(&pool.acknowledged[me], g, memory_order_release);
    }
    return NULL;
}

static void start_pool(void) {
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    pool.workers = cpus > 1 ? (int)(cpus - 1 < MAX_WORKERS ? cpus - 1 : MAX_WORKERS) : 0;
    pool.spin_ns = 200000;  // 0.2 ms
    const char *spin = getenv("GLIMPSE_POOL_SPIN_US");
    if (spin) pool.spin_ns = atol(spin) * 1000L;
    for (int i = 0; i < pool.workers; i++) {
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, worker, (void *)(long)i) != 0) pool.workers = i;
        pthread_attr_destroy(&attr);
    }
}

int glimpse_pool_run(long count, void (*body)(void *context, long index), void *context) {
    pthread_once(&pool_once, start_pool);
    if (pool.workers == 0 || pthread_mutex_trylock(&pool.submit) != 0) return 0;  // busy (or nested): caller runs it
    pool.body = body; pool.context = context; pool.count = count;
    atomic_store_explicit(&pool.done, 0, memory_order_relaxed);
    atomic_store_explicit(&pool.next, 0, memory_order_relaxed);
    unsigned long generation = atomic_fetch_add_explicit(&pool.generation, 1, memory_order_release) + 1;
    pthread_mutex_lock(&pool.lock);
    if (pool.sleeping) pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    run_chunks();
    // Wait for the other threads' chunks: spin briefly, then yield, so that a worker preempted by other work on
    // an oversubscribed machine gets the core back instead of watching this thread spin out its time slice.
    long spins = 0;
    while (atomic_load_explicit(&pool.done, memory_order_acquire) < count) relax(&spins);
    for (int i = 0; i < pool.workers; i++)
        while (atomic_load_explicit(&pool.acknowledged[i], memory_order_acquire) != generation) relax(&spins);
    pthread_mutex_unlock(&pool.submit);
    return 1;
}
