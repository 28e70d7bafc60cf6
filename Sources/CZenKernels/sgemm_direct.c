#include "zen_kernels.h"

#if defined(__x86_64__)
#include <immintrin.h>

int zen_has_avx512f(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f");
}

#define DIRECT_ROWS 6
#define DIRECT_COLUMNS 4

/// Tile: up to DIRECT_ROWS rows of A against DIRECT_COLUMNS rows of W, 24 accumulators over k.
__attribute__((target("avx512f,fma"), always_inline))
static inline void direct_tile(const float *a, int rows, int lda, const float *w, int columns, int ldw, int k,
                               float *c, int ldc) {
    __m512 acc[DIRECT_COLUMNS][DIRECT_ROWS];
    for (int j = 0; j < DIRECT_COLUMNS; j++)
        for (int r = 0; r < DIRECT_ROWS; r++) acc[j][r] = _mm512_setzero_ps();
    for (int kk = 0; kk < k; kk += 16) {
        const __mmask16 mask = k - kk >= 16 ? 0xffff : (__mmask16)((1u << (k - kk)) - 1);
        __m512 wv[DIRECT_COLUMNS];
        for (int j = 0; j < DIRECT_COLUMNS; j++)
            wv[j] = j < columns ? _mm512_maskz_loadu_ps(mask, w + (int64_t)j * ldw + kk) : _mm512_setzero_ps();
        for (int r = 0; r < rows; r++) {
            const __m512 x = _mm512_maskz_loadu_ps(mask, a + (int64_t)r * lda + kk);
            for (int j = 0; j < DIRECT_COLUMNS; j++) acc[j][r] = _mm512_fmadd_ps(wv[j], x, acc[j][r]);
        }
    }
    for (int r = 0; r < rows; r++)
        for (int j = 0; j < columns; j++) c[(int64_t)r * ldc + j] += _mm512_reduce_add_ps(acc[j][r]);
}

__attribute__((target("avx512f,fma")))
void zen_sgemm_nt_direct(const float *a, int m, int k, int lda, const float *w, int ldw, int n_begin, int n_end,
                         float *c, int ldc) {
    for (int n0 = n_begin; n0 < n_end; n0 += DIRECT_COLUMNS) {
        const int columns = n_end - n0 < DIRECT_COLUMNS ? n_end - n0 : DIRECT_COLUMNS;
        for (int i0 = 0; i0 < m; i0 += DIRECT_ROWS) {
            const int rows = m - i0 < DIRECT_ROWS ? m - i0 : DIRECT_ROWS;
            const float *tile_a = a + (int64_t)i0 * lda;
            const float *tile_w = w + (int64_t)n0 * ldw;
            float *tile_c = c + (int64_t)i0 * ldc + n0;
            if (rows == DIRECT_ROWS) direct_tile(tile_a, DIRECT_ROWS, lda, tile_w, columns, ldw, k, tile_c, ldc);
            else direct_tile(tile_a, rows, lda, tile_w, columns, ldw, k, tile_c, ldc);
        }
    }
}
#else
int zen_has_avx512f(void) { return 0; }
void zen_sgemm_nt_direct(const float *a, int m, int k, int lda, const float *w, int ldw, int n_begin, int n_end,
                         float *c, int ldc) {
    for (int i = 0; i < m; i++)
        for (int n = n_begin; n < n_end; n++) {
            float sum = 0;
            for (int p = 0; p < k; p++) sum += a[(int64_t)i * lda + p] * w[(int64_t)n * ldw + p];
            c[(int64_t)i * ldc + n] += sum;
        }
}
#endif
