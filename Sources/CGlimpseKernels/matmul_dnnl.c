#include "CGlimpseKernels.h"
#include <dlfcn.h>
#include <dnnl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MAX_CACHED 256

struct cached { long m; dnnl_primitive_t prim; };

struct glimpse_matmul {
    long N, K;
    int bf16;
    dnnl_memory_desc_t weight_md;   // blocked layout chosen by oneDNN
    dnnl_memory_t weight_mem;       // owns the packed weights
    dnnl_memory_t bias_mem;         // NULL without bias
    pthread_mutex_t lock;
    struct cached cache[MAX_CACHED];
    int cached_count;
};

static dnnl_engine_t engine = NULL;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;
static void create_engine(void) { dnnl_engine_create(&engine, dnnl_cpu, 0); }
static dnnl_engine_t shared_engine(void) { pthread_once(&engine_once, create_engine); return engine; }

static dnnl_primitive_desc_t make_pd(const glimpse_matmul *m, long M, const dnnl_memory_desc_t *weight_md) {
    dnnl_data_type_t dt = m->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t src_md, dst_md, bias_md;
    dnnl_dims_t src_dims = {M, m->K}, dst_dims = {M, m->N}, bias_dims = {1, m->N};
    if (dnnl_memory_desc_init_by_tag(&src_md, 2, src_dims, dt, dnnl_ab) != dnnl_success) return NULL;
    if (dnnl_memory_desc_init_by_tag(&dst_md, 2, dst_dims, dnnl_f32, dnnl_ab) != dnnl_success) return NULL;
    if (dnnl_memory_desc_init_by_tag(&bias_md, 2, bias_dims, dnnl_f32, dnnl_ab) != dnnl_success) return NULL;
    dnnl_matmul_desc_t desc;
    if (dnnl_matmul_desc_init(&desc, &src_md, weight_md, m->bias_mem ? &bias_md : NULL, &dst_md) != dnnl_success) return NULL;
    // The caller supplies scratch memory on each call: the library's own scratchpad is shared by every thread
    // unless oneDNN was built for concurrent execution, and callers run one primitive on several threads at once.
    dnnl_primitive_attr_t attr = NULL;
    if (dnnl_primitive_attr_create(&attr) != dnnl_success) return NULL;
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t status = dnnl_primitive_desc_create(&pd, &desc, attr, shared_engine(), NULL);
    dnnl_primitive_attr_destroy(attr);
    if (status != dnnl_success) return NULL;
    return pd;
}

/// oneDNN runs single-threaded on each calling thread: callers split rows across the kernels' worker pool.
/// (This oneDNN uses OpenMP; its threads would otherwise spin after every call, taking the cores the pool needs.)
static void single_threaded_openmp(void) {
    static __thread int done = 0;
    if (done) return;
    done = 1;
    void (*set_threads)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    if (set_threads) set_threads(1);
}

glimpse_matmul *glimpse_matmul_create(const float *weight, const float *bias, long N, long K, long hint_m, int use_bf16) {
    single_threaded_openmp();
    dnnl_engine_t eng = shared_engine();
    if (!eng) return NULL;
    glimpse_matmul *m = calloc(1, sizeof(glimpse_matmul));
    m->N = N; m->K = K; m->bf16 = use_bf16;
    pthread_mutex_init(&m->lock, NULL);
    dnnl_dims_t bias_dims = {1, N};
    if (bias) {
        dnnl_memory_desc_t bias_md;
        dnnl_memory_desc_init_by_tag(&bias_md, 2, bias_dims, dnnl_f32, dnnl_ab);
        dnnl_memory_create(&m->bias_mem, &bias_md, eng, DNNL_MEMORY_ALLOCATE);
        void *handle; dnnl_memory_get_data_handle(m->bias_mem, &handle);
        memcpy(handle, bias, sizeof(float) * N);
    }
    // Let oneDNN pick the weights layout for the typical row count, then pack the weights into it once.
    dnnl_memory_desc_t any_md;
    dnnl_dims_t weight_dims = {K, N};
    dnnl_memory_desc_init_by_tag(&any_md, 2, weight_dims, use_bf16 ? dnnl_bf16 : dnnl_f32, dnnl_format_tag_any);
    dnnl_primitive_desc_t pd = make_pd(m, hint_m > 0 ? hint_m : 1, &any_md);
    if (!pd) { glimpse_matmul_destroy(m); return NULL; }
    m->weight_md = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    dnnl_primitive_desc_destroy(pd);

    // Source: float32 weight (N, K) row-major is the (K, N) matrix in "ba" order.
    dnnl_memory_desc_t plain_md;
    dnnl_memory_desc_init_by_tag(&plain_md, 2, weight_dims, dnnl_f32, dnnl_ba);
    dnnl_memory_t plain = NULL;
    dnnl_memory_create(&plain, &plain_md, eng, (void *)weight);
    dnnl_memory_create(&m->weight_mem, &m->weight_md, eng, DNNL_MEMORY_ALLOCATE);
    dnnl_primitive_desc_t reorder_pd = NULL;
    dnnl_primitive_t reorder = NULL;
    dnnl_stream_t stream = NULL;
    int ok = dnnl_reorder_primitive_desc_create(&reorder_pd, &plain_md, eng, &m->weight_md, eng, NULL) == dnnl_success
        && dnnl_primitive_create(&reorder, reorder_pd) == dnnl_success
        && dnnl_stream_create(&stream, eng, dnnl_stream_default_flags) == dnnl_success;
    if (ok) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, plain}, {DNNL_ARG_TO, m->weight_mem}};
        ok = dnnl_primitive_execute(reorder, stream, 2, args) == dnnl_success && dnnl_stream_wait(stream) == dnnl_success;
    }
    if (stream) dnnl_stream_destroy(stream);
    if (reorder) dnnl_primitive_destroy(reorder);
    if (reorder_pd) dnnl_primitive_desc_destroy(reorder_pd);
    dnnl_memory_destroy(plain);
    if (!ok) { glimpse_matmul_destroy(m); return NULL; }
    return m;
}

static dnnl_primitive_t primitive_for(glimpse_matmul *m, long M) {
    pthread_mutex_lock(&m->lock);
    for (int i = 0; i < m->cached_count; i++) {
        if (m->cache[i].m == M) { dnnl_primitive_t p = m->cache[i].prim; pthread_mutex_unlock(&m->lock); return p; }
    }
    dnnl_primitive_t prim = NULL;
    dnnl_primitive_desc_t pd = make_pd(m, M, &m->weight_md);
    if (pd) {
        if (dnnl_primitive_create(&prim, pd) != dnnl_success) prim = NULL;
        dnnl_primitive_desc_destroy(pd);
    }
    if (prim) {
        if (m->cached_count == MAX_CACHED) {  // evict the oldest
            dnnl_primitive_destroy(m->cache[0].prim);
            memmove(&m->cache[0], &m->cache[1], sizeof(struct cached) * (MAX_CACHED - 1));
            m->cached_count--;
        }
        m->cache[m->cached_count++] = (struct cached){M, prim};
    }
    pthread_mutex_unlock(&m->lock);
    return prim;
}

int glimpse_matmul_run(glimpse_matmul *m, float *out, const float *inp, long M) {
    single_threaded_openmp();
    dnnl_primitive_t prim = primitive_for(m, M);
    if (!prim) return -1;
    dnnl_engine_t eng = shared_engine();
    dnnl_data_type_t dt = m->bf16 ? dnnl_bf16 : dnnl_f32;
    dnnl_memory_desc_t src_md, dst_md;
    dnnl_dims_t src_dims = {M, m->K}, dst_dims = {M, m->N};
    dnnl_memory_desc_init_by_tag(&src_md, 2, src_dims, dt, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&dst_md, 2, dst_dims, dnnl_f32, dnnl_ab);
    void *src_data = (void *)inp;
    uint16_t *converted = NULL;
    if (m->bf16) {
        converted = aligned_alloc(64, ((sizeof(uint16_t) * M * m->K + 63) / 64) * 64);
        glimpse_f32_to_bf16(converted, inp, M * m->K);
        src_data = converted;
    }
    dnnl_memory_t src = NULL, dst = NULL, scratch = NULL;
    dnnl_stream_t stream = NULL;
    const_dnnl_primitive_desc_t pd = NULL;
    void *scratch_data = NULL;
    int status = -1;
    if (dnnl_primitive_get_primitive_desc(prim, &pd) != dnnl_success) pd = NULL;
    const dnnl_memory_desc_t *scratch_md = pd ? dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0) : NULL;
    size_t scratch_bytes = scratch_md ? dnnl_memory_desc_get_size(scratch_md) : 0;
    if (scratch_bytes) scratch_data = aligned_alloc(64, (scratch_bytes + 63) / 64 * 64);
    if (pd && (!scratch_bytes || (scratch_data && dnnl_memory_create(&scratch, scratch_md, eng, scratch_data) == dnnl_success))
        && dnnl_memory_create(&src, &src_md, eng, src_data) == dnnl_success
        && dnnl_memory_create(&dst, &dst_md, eng, out) == dnnl_success
        && dnnl_stream_create(&stream, eng, dnnl_stream_default_flags) == dnnl_success) {
        dnnl_exec_arg_t args[5] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, m->weight_mem}, {DNNL_ARG_DST, dst}};
        int count = 3;
        if (m->bias_mem) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, m->bias_mem};
        if (scratch) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, scratch};
        if (dnnl_primitive_execute(prim, stream, count, args) == dnnl_success && dnnl_stream_wait(stream) == dnnl_success) status = 0;
    }
    if (stream) dnnl_stream_destroy(stream);
    if (src) dnnl_memory_destroy(src);
    if (dst) dnnl_memory_destroy(dst);
    if (scratch) dnnl_memory_destroy(scratch);
    free(scratch_data);
    free(converted);
    return status;
}

void glimpse_matmul_destroy(glimpse_matmul *m) {
    if (!m) return;
    for (int i = 0; i < m->cached_count; i++) dnnl_primitive_destroy(m->cache[i].prim);
    if (m->weight_mem) dnnl_memory_destroy(m->weight_mem);
    if (m->bias_mem) dnnl_memory_destroy(m->bias_mem);
    pthread_mutex_destroy(&m->lock);
    free(m);
}

int glimpse_cpu_has_bf16(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
#else
    return 0;
#endif
}

int glimpse_cpu_has_avx2_fma(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return 0;
#endif
}

/// Row-major single-precision GEMM on the calling thread, C = alpha·op(A)·op(B) + beta·C ('N' or 'T'), by oneDNN's
/// sgemm, whose JIT picks this CPU's best kernel (the distribution's OpenBLAS may not know the CPU and fall back to
/// SSE3 kernels). Returns 0, or -1 when oneDNN refuses the call (the caller falls back).
int glimpse_sgemm(char transa, char transb, long M, long N, long K, float alpha, const float *A, long lda,
                  const float *B, long ldb, float beta, float *C, long ldc) {
    single_threaded_openmp();
    return dnnl_sgemm(transa, transb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == dnnl_success ? 0 : -1;
}
