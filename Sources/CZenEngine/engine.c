#include "zen_engine.h"

#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// oneDNN runs on libgomp here; its team is kept at one thread per caller (see the header).
extern int omp_get_max_threads(void);
extern void omp_set_num_threads(int threads);

static void single_thread(void) {
    if (omp_get_max_threads() != 1) omp_set_num_threads(1);
}

// MARK: - Engine

static dnnl_engine_t engine;
static int bf16_native;
static int int8_full_range;
static char version[32];

static dnnl_memory_desc_t plain(int64_t rows, int64_t columns, int64_t row_stride, dnnl_data_type_t type) {
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {rows, columns}, strides = {row_stride, 1};
    dnnl_memory_desc_init_by_strides(&md, 2, dims, type, strides);
    return md;
}

/// W as matmul's [k, n] weights, from W [n, k] row-major with row stride ldw.
static dnnl_memory_desc_t transposed(int64_t n, int64_t k, int64_t ldw, dnnl_data_type_t type) {
    dnnl_memory_desc_t md;
    dnnl_dims_t dims = {k, n}, strides = {1, ldw};
    dnnl_memory_desc_init_by_strides(&md, 2, dims, type, strides);
    return md;
}

static void initialize(void) {
    single_thread();
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) {
        fprintf(stderr, "zen: oneDNN found no CPU engine\n");
        abort();
    }
    const dnnl_version_t *v = dnnl_version();
    snprintf(version, sizeof version, "oneDNN %d.%d.%d", v->major, v->minor, v->patch);
    // bfloat16 is native where oneDNN has a bfloat16 matmul for this CPU.
    dnnl_memory_desc_t src = plain(16, 64, 64, dnnl_bf16), dst = plain(16, 64, 64, dnnl_f32), wei;
    dnnl_dims_t dims = {64, 64};
    dnnl_memory_desc_init_by_tag(&wei, 2, dims, dnnl_bf16, dnnl_format_tag_any);
    dnnl_matmul_desc_t desc;
    dnnl_primitive_desc_t pd = NULL;
    bf16_native = dnnl_matmul_desc_init(&desc, &src, &wei, NULL, &dst) == dnnl_success
        && dnnl_primitive_desc_create(&pd, &desc, NULL, engine, NULL) == dnnl_success;
    if (pd) dnnl_primitive_desc_destroy(pd);
    // Without VNNI (or AMX) the int8 kernels add pairs of u8·s8 products in int16, which
    // saturates: activations then keep 7 bits (as PyTorch's reduce_range on such CPUs).
    const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
    int8_full_range = (isa & dnnl_cpu_isa_avx512_core_vnni & ~dnnl_cpu_isa_avx512_core) != 0
        || (isa & dnnl_cpu_isa_avx2_vnni & ~dnnl_cpu_isa_avx2) != 0;
}

static pthread_once_t once = PTHREAD_ONCE_INIT;
static void ready(void) { pthread_once(&once, initialize); }

const char *zen_engine_version(void) {
    ready();
    return version;
}

const char *zen_engine_isa(void) {
    ready();
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_sse41: return "sse41";
    default: return "other";
    }
}

int zen_engine_native(zen_dtype dtype) {
    ready();
    return dtype == ZEN_BF16 ? bf16_native : 1;
}

/// One stream per thread: products run on the calling thread, several at once.
static dnnl_stream_t stream(void) {
    static __thread dnnl_stream_t mine;
    if (!mine) dnnl_stream_create(&mine, engine, dnnl_stream_default_flags);
    return mine;
}

int zen_sgemm(int transpose_a, int transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc) {
    ready();
    single_thread();
    return dnnl_sgemm(transpose_a ? 'T' : 'N', transpose_b ? 'T' : 'N', m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// MARK: - Conversions

static inline uint16_t to_bf16(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40);   // quiet NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);                                              // nearest even
    return (uint16_t)(bits >> 16);
}

static inline float bf16_rounded(float value) {
    const uint32_t bits = (uint32_t)to_bf16(value) << 16;
    float rounded;
    memcpy(&rounded, &bits, 4);
    return rounded;
}

/// The activations' int8 range and the offset that makes them unsigned for the u8·s8 kernels.
static inline int int8_limit(void) { return int8_full_range ? 127 : 63; }
static inline int int8_offset(void) { return int8_full_range ? 128 : 64; }

int64_t zen_source_bytes(zen_dtype dtype, int64_t m, int64_t k) {
    ready();
    switch (dtype) {
    case ZEN_F32: return 0;
    case ZEN_BF16: return m * k * (bf16_native ? 2 : 4);
    case ZEN_INT8: return m * k;
    }
    return 0;
}

void zen_source_convert(zen_dtype dtype, const float *x, int64_t k, int64_t lda, void *source, float *row_scales,
                        int64_t row_begin, int64_t row_end) {
    ready();
    for (int64_t row = row_begin; row < row_end; row++) {
        const float *in = x + row * lda;
        switch (dtype) {
        case ZEN_F32:
            return;
        case ZEN_BF16:
            if (bf16_native) {
                uint16_t *out = (uint16_t *)source + row * k;
                for (int64_t i = 0; i < k; i++) out[i] = to_bf16(in[i]);
            } else {
                float *out = (float *)source + row * k;
                for (int64_t i = 0; i < k; i++) out[i] = bf16_rounded(in[i]);
            }
            break;
        case ZEN_INT8: {
            float maximum = 0;
            for (int64_t i = 0; i < k; i++) maximum = fmaxf(maximum, fabsf(in[i]));
            const int limit = int8_limit(), offset = int8_offset();
            const float scale = maximum > 0 ? maximum / (float)limit : 1, inverse = 1 / scale;
            uint8_t *out = (uint8_t *)source + row * k;
            for (int64_t i = 0; i < k; i++) out[i] = (uint8_t)((int)nearbyintf(in[i] * inverse) + offset);
            row_scales[row] = scale;
            break;
        }
        }
    }
}

// MARK: - Primitives, one per product shape, shared by every weight of that shape

typedef struct {
    zen_dtype dtype;
    int64_t n, k, m, ldc;
} shape;

typedef struct entry {
    shape key;
    dnnl_primitive_t primitive;
    /// Its memory descriptors, queried once: a product only binds new pointers to them.
    dnnl_memory_desc_t source, destination, scratchpad;
    size_t scratchpad_bytes;
    struct entry *next;
} entry;

#define BUCKETS 4096
static entry *buckets[BUCKETS];
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static size_t bucket_of(shape s) {
    uint64_t h = (uint64_t)s.dtype * 0x9e3779b97f4a7c15ull;
    h = (h ^ (uint64_t)s.n) * 0xbf58476d1ce4e5b9ull;
    h = (h ^ (uint64_t)s.k) * 0x94d049bb133111ebull;
    h = (h ^ (uint64_t)s.m) * 0x9e3779b97f4a7c15ull;
    h = (h ^ (uint64_t)s.ldc) * 0xbf58476d1ce4e5b9ull;
    return (size_t)(h >> 52) % BUCKETS;
}

/// The matmul descriptor of a shape: weights in `weights` (format_tag_any to let oneDNN choose).
static dnnl_status_t describe(shape s, const dnnl_memory_desc_t *weights, dnnl_primitive_desc_t *pd) {
    const int native = s.dtype != ZEN_BF16 || bf16_native;
    const dnnl_data_type_t source_type = s.dtype == ZEN_INT8 ? dnnl_u8 : (s.dtype == ZEN_BF16 && native ? dnnl_bf16 : dnnl_f32);
    dnnl_memory_desc_t src = plain(s.m, s.k, s.k, source_type);
    // int8 products land in int32 (the caller's scratch), the others add onto C.
    dnnl_memory_desc_t dst = s.dtype == ZEN_INT8 ? plain(s.m, s.n, s.n, dnnl_s32) : plain(s.m, s.n, s.ldc, dnnl_f32);
    dnnl_matmul_desc_t desc;
    dnnl_status_t status = dnnl_matmul_desc_init(&desc, &src, weights, NULL, &dst);
    if (status != dnnl_success) return status;
    dnnl_primitive_attr_t attr;
    dnnl_primitive_attr_create(&attr);
    dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    if (s.dtype != ZEN_INT8) {
        dnnl_post_ops_t post_ops;
        dnnl_post_ops_create(&post_ops);
        dnnl_post_ops_append_sum(post_ops, 1.0f);
        dnnl_primitive_attr_set_post_ops(attr, post_ops);
        dnnl_post_ops_destroy(post_ops);
    }
    status = dnnl_primitive_desc_create(pd, &desc, attr, engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    return status;
}

static entry *primitive_for(shape s, const dnnl_memory_desc_t *weights, dnnl_status_t *status) {
    const size_t bucket = bucket_of(s);
    pthread_mutex_lock(&cache_lock);
    for (entry *e = buckets[bucket]; e; e = e->next)
        if (memcmp(&e->key, &s, sizeof s) == 0) {
            pthread_mutex_unlock(&cache_lock);
            return e;
        }
    pthread_mutex_unlock(&cache_lock);
    // Created outside the lock (it takes tens of microseconds); a thread that lost the race
    // drops its copy.
    dnnl_primitive_desc_t pd;
    if ((*status = describe(s, weights, &pd)) != dnnl_success) return NULL;
    entry *made = calloc(1, sizeof *made);
    made->key = s;
    made->source = *dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    made->destination = *dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    made->scratchpad = *dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    made->scratchpad_bytes = dnnl_memory_desc_get_size(&made->scratchpad);
    *status = dnnl_primitive_create(&made->primitive, pd);
    dnnl_primitive_desc_destroy(pd);
    if (*status != dnnl_success) {
        free(made);
        return NULL;
    }
    pthread_mutex_lock(&cache_lock);
    for (entry *e = buckets[bucket]; e; e = e->next)
        if (memcmp(&e->key, &s, sizeof s) == 0) {
            pthread_mutex_unlock(&cache_lock);
            dnnl_primitive_destroy(made->primitive);
            free(made);
            return e;
        }
    made->next = buckets[bucket];
    buckets[bucket] = made;
    pthread_mutex_unlock(&cache_lock);
    return made;
}

// MARK: - Packed weights

struct zen_weight {
    zen_dtype dtype;
    int64_t n, k;
    dnnl_memory_desc_t layout;
    void *data;
    /// int8: each output channel's scale and the sum of its quantized weights (the offset's
    /// share of every product).
    float *scales;
    int32_t *sums;
    char implementation[64];
};

/// The layout oneDNN prefers for this weight, asked of a product with a typical row count.
static dnnl_status_t preferred_layout(zen_weight *weight) {
    dnnl_memory_desc_t any;
    dnnl_dims_t dims = {weight->k, weight->n};
    const dnnl_data_type_t type = weight->dtype == ZEN_INT8 ? dnnl_s8 : (weight->dtype == ZEN_BF16 && bf16_native ? dnnl_bf16 : dnnl_f32);
    dnnl_memory_desc_init_by_tag(&any, 2, dims, type, dnnl_format_tag_any);
    shape probe = {weight->dtype, weight->n, weight->k, 128, weight->n};
    dnnl_primitive_desc_t pd;
    dnnl_status_t status = describe(probe, &any, &pd);
    if (status != dnnl_success) return status;
    weight->layout = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const char *implementation = "";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &implementation);
    snprintf(weight->implementation, sizeof weight->implementation, "%s", implementation);
    dnnl_primitive_desc_destroy(pd);
    return dnnl_success;
}

/// Reorders `from` (described by `source`) into the weight's layout.
static dnnl_status_t reorder_into(zen_weight *weight, const dnnl_memory_desc_t *source, const void *from) {
    dnnl_primitive_desc_t pd;
    dnnl_status_t status = dnnl_reorder_primitive_desc_create(&pd, source, engine, &weight->layout, engine, NULL);
    if (status != dnnl_success) return status;
    dnnl_primitive_t reorder;
    status = dnnl_primitive_create(&reorder, pd);
    dnnl_primitive_desc_destroy(pd);
    if (status != dnnl_success) return status;
    dnnl_memory_t in, out;
    dnnl_memory_create(&in, source, engine, (void *)from);
    dnnl_memory_create(&out, &weight->layout, engine, weight->data);
    dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, in}, {DNNL_ARG_TO, out}};
    status = dnnl_primitive_execute(reorder, stream(), 2, args);
    dnnl_stream_wait(stream());
    dnnl_memory_destroy(in);
    dnnl_memory_destroy(out);
    dnnl_primitive_destroy(reorder);
    return status;
}

zen_weight *zen_weight_create(const float *w, int64_t n, int64_t k, int64_t ldw, zen_dtype dtype, const char **error) {
    ready();
    single_thread();
    zen_weight *weight = calloc(1, sizeof *weight);
    weight->dtype = dtype;
    weight->n = n;
    weight->k = k;
    if (preferred_layout(weight) != dnnl_success) {
        *error = "oneDNN has no matmul for this weight";
        free(weight);
        return NULL;
    }
    weight->data = aligned_alloc(64, (dnnl_memory_desc_get_size(&weight->layout) + 63) / 64 * 64);
    dnnl_status_t status;
    if (dtype == ZEN_INT8) {
        // Symmetric per output channel, so that a product needs one scale per row and column.
        int8_t *quantized = malloc((size_t)(n * k));
        weight->scales = malloc((size_t)n * sizeof(float));
        weight->sums = malloc((size_t)n * sizeof(int32_t));
        for (int64_t j = 0; j < n; j++) {
            const float *row = w + j * ldw;
            float maximum = 0;
            for (int64_t i = 0; i < k; i++) maximum = fmaxf(maximum, fabsf(row[i]));
            const float scale = maximum > 0 ? maximum / 127 : 1, inverse = 1 / scale;
            int32_t sum = 0;
            for (int64_t i = 0; i < k; i++) {
                const int q = (int)nearbyintf(row[i] * inverse);
                quantized[j * k + i] = (int8_t)q;
                sum += q;
            }
            weight->scales[j] = scale;
            weight->sums[j] = sum;
        }
        const dnnl_memory_desc_t source = transposed(n, k, k, dnnl_s8);
        status = reorder_into(weight, &source, quantized);
        free(quantized);
    } else if (dtype == ZEN_BF16 && !bf16_native) {
        float *rounded = malloc((size_t)(n * k) * sizeof(float));
        for (int64_t j = 0; j < n; j++)
            for (int64_t i = 0; i < k; i++) rounded[j * k + i] = bf16_rounded(w[j * ldw + i]);
        const dnnl_memory_desc_t source = transposed(n, k, k, dnnl_f32);
        status = reorder_into(weight, &source, rounded);
        free(rounded);
    } else {
        // float32 into a float32 or bfloat16 layout: the reorder converts, to nearest even.
        const dnnl_memory_desc_t source = transposed(n, k, ldw, dnnl_f32);
        status = reorder_into(weight, &source, w);
    }
    if (status != dnnl_success) {
        *error = "oneDNN could not reorder the weight";
        zen_weight_destroy(weight);
        return NULL;
    }
    return weight;
}

void zen_weight_destroy(zen_weight *weight) {
    if (!weight) return;
    free(weight->data);
    free(weight->scales);
    free(weight->sums);
    free(weight);
}

const char *zen_weight_implementation(const zen_weight *weight) { return weight->implementation; }

int64_t zen_weight_bytes(const zen_weight *weight) {
    return (int64_t)dnnl_memory_desc_get_size(&weight->layout) + (weight->scales ? weight->n * 8 : 0);
}

/// The calling thread's workspace (the int8 products and the primitive's scratchpad), grown to
/// the largest product it has run and kept: a product of the 668M shape needs megabytes, which
/// malloc would hand back to the kernel and fault in again on every call.
static void *workspace(size_t bytes) {
    static __thread void *buffer;
    static __thread size_t capacity;
    if (bytes > capacity) {
        free(buffer);
        capacity = (bytes + 4095) / 4096 * 4096;
        buffer = aligned_alloc(64, capacity);
    }
    return buffer;
}

int zen_weight_gemm(const zen_weight *weight, const void *source, const float *row_scales, int64_t m, float *c,
                    int64_t ldc) {
    if (m == 0) return dnnl_success;
    single_thread();
    const int int8 = weight->dtype == ZEN_INT8;
    const shape s = {weight->dtype, weight->n, weight->k, m, int8 ? weight->n : ldc};
    dnnl_status_t status;
    const entry *e = primitive_for(s, &weight->layout, &status);
    if (!e) return status;
    const size_t product_bytes = int8 ? ((size_t)(m * weight->n) * sizeof(int32_t) + 63) / 64 * 64 : 0;
    char *scratch = workspace(product_bytes + e->scratchpad_bytes);
    int32_t *products = (int32_t *)scratch;
    dnnl_memory_t src, wei, dst, pad = NULL;
    dnnl_memory_create(&src, &e->source, engine, (void *)source);
    dnnl_memory_create(&wei, &weight->layout, engine, weight->data);
    dnnl_memory_create(&dst, &e->destination, engine, int8 ? (void *)products : c);
    dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, wei}, {DNNL_ARG_DST, dst}};
    int count = 3;
    if (e->scratchpad_bytes) {
        dnnl_memory_create(&pad, &e->scratchpad, engine, scratch + product_bytes);
        args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, pad};
    }
    status = dnnl_primitive_execute(e->primitive, stream(), count, args);
    dnnl_stream_wait(stream());
    if (int8 && status == dnnl_success) {
        // Exact in int32 (|product| < 2^31 for k up to 2^17), then scaled.
        const int32_t offset = int8_offset();
        for (int64_t row = 0; row < m; row++) {
            const int32_t *p = products + row * weight->n;
            float *out = c + row * ldc;
            for (int64_t j = 0; j < weight->n; j++)
                out[j] += (float)(p[j] - offset * weight->sums[j]) * row_scales[row] * weight->scales[j];
        }
    }
    dnnl_memory_destroy(src);
    dnnl_memory_destroy(wei);
    dnnl_memory_destroy(dst);
    if (pad) dnnl_memory_destroy(pad);
    return status;
}
