#ifndef ZEN_ENGINE_H
#define ZEN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

/// The GEMM engine: oneDNN, which picks its kernel for the CPU it runs on (AMX tiles, AVX-512
/// BF16/VNNI, AVX2). Every product of the model goes through here. Threads are the caller's:
/// each call runs on the calling thread alone (oneDNN's OpenMP team is kept at one), and the
/// caller splits large products over its own threads by output columns.

/// What a packed weight holds, and what its products compute in.
typedef enum {
    ZEN_F32 = 0,
    /// bfloat16 weights and activations, float32 accumulation. On CPUs without a bfloat16
    /// kernel, the same bfloat16-rounded values in a float32 product (the same numbers, slowly).
    ZEN_BF16 = 1,
    /// Weights symmetric int8 per output channel (scale max|w| / 127), activations symmetric int8
    /// per row at run time, int32 accumulation.
    ZEN_INT8 = 2,
} zen_dtype;

/// oneDNN's version, e.g. "oneDNN 2.6.3".
const char *zen_engine_version(void);

/// The instruction set oneDNN dispatches to here, in its own words: "avx512_core_amx",
/// "avx512_core_bf16", "avx512_core_vnni", "avx512_core", "avx2_vnni", "avx2", ...
const char *zen_engine_isa(void);

/// Whether products in `dtype` run on a kernel of their own here (bfloat16 needs AVX-512 BF16
/// or AMX; the others always do).
int zen_engine_native(zen_dtype dtype);

/// C = alpha · op(A) · op(B) + beta · C, row-major, float32 (BLAS's sgemm); 0 on success.
int zen_sgemm(int transpose_a, int transpose_b, int64_t m, int64_t n, int64_t k, float alpha,
              const float *a, int64_t lda, const float *b, int64_t ldb, float beta, float *c, int64_t ldc);

/// A weight W [n, k] (PyTorch's [out, in], row stride ldw) in `dtype`, reordered once into the
/// layout oneDNN's kernel for this CPU prefers. NULL with `error` set (a message) on failure.
typedef struct zen_weight zen_weight;
zen_weight *zen_weight_create(const float *w, int64_t n, int64_t k, int64_t ldw, zen_dtype dtype, const char **error);
void zen_weight_destroy(zen_weight *weight);
/// The kernel oneDNN chose, e.g. "brg:avx512_core_amx_bf16".
const char *zen_weight_implementation(const zen_weight *weight);
/// Bytes the packed weight occupies.
int64_t zen_weight_bytes(const zen_weight *weight);

/// Activations converted once for every packed weight of one input width: rows of x f32
/// [m, k] (row stride lda) as the weights' dtype wants them. `zen_source_bytes` is the size of
/// `source`; `row_scales` holds m floats (int8 only). Rows [row_begin, row_end) are converted,
/// so that threads can share the work. float32 needs no conversion (0 bytes): its source is x
/// itself, contiguous (lda = k).
int64_t zen_source_bytes(zen_dtype dtype, int64_t m, int64_t k);
void zen_source_convert(zen_dtype dtype, const float *x, int64_t k, int64_t lda, void *source, float *row_scales,
                        int64_t row_begin, int64_t row_end);

/// C [m, n] (row stride ldc) += source · Wᵀ, source converted by `zen_source_convert` for this
/// weight's dtype and width; 0 on success, else a oneDNN status.
int zen_weight_gemm(const zen_weight *weight, const void *source, const float *row_scales, int64_t m, float *c,
                    int64_t ldc);

#endif
