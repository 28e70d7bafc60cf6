#include "zen_kernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

static inline uint16_t to_bf16(float value) {
    uint32_t bits;
    memcpy(&bits, &value, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((bits >> 16) | 0x40);   // quiet NaN
    bits += 0x7fffu + ((bits >> 16) & 1u);                                              // nearest even
    return (uint16_t)(bits >> 16);
}

static inline float from_bf16(uint16_t half) {
    uint32_t bits = (uint32_t)half << 16;
    float value;
    memcpy(&value, &bits, 4);
    return value;
}

int zen_has_avx512_bf16(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512f");
#else
    return 0;
#endif
}

static inline int pairs_of(int k) { return (k + 1) / 2; }
static inline int blocks_of(int n) { return (n + 15) / 16; }

int64_t zen_bf16_packed_size(int n, int k) {
    return (int64_t)blocks_of(n) * pairs_of(k) * 32 * (int64_t)sizeof(uint16_t);
}

void zen_bf16_pack(const float *w, int n, int k, uint16_t *packed, int block_begin, int block_end) {
    const int pairs = pairs_of(k);
    if (block_end > blocks_of(n)) block_end = blocks_of(n);
    for (int block = block_begin; block < block_end; block++) {
        uint16_t *out = packed + (int64_t)block * pairs * 32;
        memset(out, 0, (size_t)pairs * 32 * sizeof(uint16_t));
        // Rows are read contiguously; each lands in every pair's slot 2j, 2j + 1.
        for (int j = 0; j < 16 && block * 16 + j < n; j++) {
            const float *row = w + (int64_t)(block * 16 + j) * k;
            for (int col = 0; col < k; col++) out[(int64_t)(col / 2) * 32 + 2 * j + (col & 1)] = to_bf16(row[col]);
        }
    }
}

static void convert_rows_portable(const float *a, int k, int lda, uint32_t *rows, int row_begin, int row_end) {
    const int pairs = pairs_of(k);
    for (int i = row_begin; i < row_end; i++) {
        for (int p = 0; p < pairs; p++) {
            const uint16_t lo = to_bf16(a[(int64_t)i * lda + 2 * p]);
            const uint16_t hi = 2 * p + 1 < k ? to_bf16(a[(int64_t)i * lda + 2 * p + 1]) : 0;
            rows[(int64_t)i * pairs + p] = (uint32_t)lo | ((uint32_t)hi << 16);
        }
    }
}

#if defined(__x86_64__)
/// 32 floats at a time with vcvtne2ps2bf16 (round to nearest even).
__attribute__((target("avx512f,avx512bf16")))
static void convert_rows_avx512_bf16(const float *a, int k, int lda, uint32_t *rows, int row_begin, int row_end) {
    const int pairs = pairs_of(k);
    for (int i = row_begin; i < row_end; i++) {
        const float *source = a + (int64_t)i * lda;
        uint32_t *target = rows + (int64_t)i * pairs;
        for (int col = 0; col < k; col += 32) {
            const int left = k - col;
            const __mmask16 low = left >= 16 ? 0xffff : (__mmask16)((1u << left) - 1);
            const __mmask16 high = left >= 32 ? 0xffff : left > 16 ? (__mmask16)((1u << (left - 16)) - 1) : 0;
            const __m512bh converted = _mm512_cvtne2ps_pbh(_mm512_maskz_loadu_ps(high, source + col + 16),
                                                           _mm512_maskz_loadu_ps(low, source + col));
            const int count = (left >= 32 ? 32 : left) + 1;
            _mm512_mask_storeu_epi32(target + col / 2, (__mmask16)(count / 2 >= 16 ? 0xffff : (1u << (count / 2)) - 1),
                                     (__m512i)converted);
        }
    }
}
#endif

void zen_bf16_convert_rows(const float *a, int k, int lda, uint32_t *rows, int row_begin, int row_end) {
#if defined(__x86_64__)
    if (zen_has_avx512_bf16()) { convert_rows_avx512_bf16(a, k, lda, rows, row_begin, row_end); return; }
#endif
    convert_rows_portable(a, k, lda, rows, row_begin, row_end);
}

static void gemm_portable(const uint32_t *rows, int m, int k, const uint16_t *packed, int n, int n_begin, int n_end,
                          float *c, int ldc) {
    const int pairs = pairs_of(k);
    for (int i = 0; i < m; i++) {
        for (int col = n_begin; col < n_end && col < n; col++) {
            const uint16_t *w = packed + (int64_t)(col / 16) * pairs * 32 + 2 * (col % 16);
            float sum = 0;
            for (int p = 0; p < pairs; p++) {
                const uint32_t pair = rows[(int64_t)i * pairs + p];
                sum += from_bf16((uint16_t)pair) * from_bf16(w[(int64_t)p * 32])
                     + from_bf16((uint16_t)(pair >> 16)) * from_bf16(w[(int64_t)p * 32 + 1]);
            }
            c[(int64_t)i * ldc + col] += sum;
        }
    }
}

#if defined(__x86_64__)
#define ZEN_ROWS 6

/// acc[r] += row r of A · the 32 packed columns, over all k pairs.
__attribute__((target("avx512f,avx512bf16"), always_inline))
static inline void tile_avx512_bf16(const uint32_t *a, int pairs, const uint32_t *w0, const uint32_t *w1, int height,
                                    __m512 *acc0, __m512 *acc1) {
    for (int p = 0; p < pairs; p++) {
        const __m512bh b0 = (__m512bh)_mm512_loadu_si512(w0 + (int64_t)p * 16);
        const __m512bh b1 = (__m512bh)_mm512_loadu_si512(w1 + (int64_t)p * 16);
        for (int r = 0; r < height; r++) {
            const __m512bh x = (__m512bh)_mm512_set1_epi32((int)a[(int64_t)r * pairs + p]);
            acc0[r] = _mm512_dpbf16_ps(acc0[r], x, b0);
            acc1[r] = _mm512_dpbf16_ps(acc1[r], x, b1);
        }
    }
}

/// Register tile: ZEN_ROWS rows × 32 columns (two 16-column blocks), twelve accumulators.
__attribute__((target("avx512f,avx512bf16")))
static void gemm_avx512_bf16(const uint32_t *rows, int m, int k, const uint16_t *packed, int n, int n_begin, int n_end,
                             float *c, int ldc) {
    const int pairs = pairs_of(k);
    if (n_end > n) n_end = n;
    for (int col = n_begin; col < n_end; col += 32) {
        const int width = n_end - col < 32 ? n_end - col : 32;
        const int blocks = width > 16 ? 2 : 1;
        const uint32_t *w0 = (const uint32_t *)(packed + (int64_t)(col / 16) * pairs * 32);
        const uint32_t *w1 = blocks == 2 ? w0 + (int64_t)pairs * 16 : w0;
        const __mmask16 mask0 = width >= 16 ? 0xffff : (__mmask16)((1u << width) - 1);
        const __mmask16 mask1 = width > 16 ? (width >= 32 ? 0xffff : (__mmask16)((1u << (width - 16)) - 1)) : 0;
        for (int i0 = 0; i0 < m; i0 += ZEN_ROWS) {
            const int height = m - i0 < ZEN_ROWS ? m - i0 : ZEN_ROWS;
            __m512 acc0[ZEN_ROWS], acc1[ZEN_ROWS];
            for (int r = 0; r < ZEN_ROWS; r++) {
                float *out = c + (int64_t)(i0 + (r < height ? r : 0)) * ldc + col;
                acc0[r] = _mm512_maskz_loadu_ps(mask0, out);
                acc1[r] = mask1 ? _mm512_maskz_loadu_ps(mask1, out + 16) : _mm512_setzero_ps();
            }
            const uint32_t *a = rows + (int64_t)i0 * pairs;
            // A full tile passes the constant, so that the compiler unrolls the row loop.
            if (height == ZEN_ROWS) tile_avx512_bf16(a, pairs, w0, w1, ZEN_ROWS, acc0, acc1);
            else tile_avx512_bf16(a, pairs, w0, w1, height, acc0, acc1);
            for (int r = 0; r < height; r++) {
                float *out = c + (int64_t)(i0 + r) * ldc + col;
                _mm512_mask_storeu_ps(out, mask0, acc0[r]);
                if (mask1) _mm512_mask_storeu_ps(out + 16, mask1, acc1[r]);
            }
        }
    }
}
#endif

void zen_bf16_gemm(const uint32_t *rows, int m, int k, const uint16_t *packed, int n, int n_begin, int n_end,
                   float *c, int ldc) {
    if (m <= 0 || n_begin >= n_end) return;
#if defined(__x86_64__)
    if (zen_has_avx512_bf16()) { gemm_avx512_bf16(rows, m, k, packed, n, n_begin, n_end, c, ldc); return; }
#endif
    gemm_portable(rows, m, k, packed, n, n_begin, n_end, c, ldc);
}

void zen_bf16_gemm_portable(const uint32_t *rows, int m, int k, const uint16_t *packed, int n, int n_begin, int n_end,
                            float *c, int ldc) {
    if (m <= 0 || n_begin >= n_end) return;
    gemm_portable(rows, m, k, packed, n, n_begin, n_end, c, ldc);
}
