#ifndef ZEN_KERNELS_H
#define ZEN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// What Swift cannot express at full speed or reach at all: a bfloat16 GEMM on AVX-512 BF16,
/// the C library's allocator settings, and CRC-32 with carry-less multiplication.

/// Whether this CPU has AVX-512F.
int zen_has_avx512f(void);

/// C[:, n_begin..<n_end] += A · Wᵀ in float32 without packing either operand, for products with
/// few rows (a batch of one), where BLAS spends its time repacking the weights: A [m, k] (row
/// stride lda), W [n, k] (row stride ldw). AVX-512F.
void zen_sgemm_nt_direct(const float *a, int m, int k, int lda, const float *w, int ldw, int n_begin, int n_end,
                         float *c, int ldc);

/// Keeps freed large blocks in the process (glibc's mmap and trim thresholds raised to 1 GiB),
/// so that activations reuse warm pages; does nothing elsewhere.
void zen_retain_freed_memory(void);

/// Hands the free memory the process keeps back to the system, once (glibc's malloc_trim):
/// for a server after a surge of connections, whose buffers would otherwise stay resident.
void zen_release_freed_memory(void);

/// Whether this CPU has AVX-512 BF16 (vdpbf16ps); without it the GEMM below runs a portable
/// loop that computes the same products, slowly.
int zen_has_avx512_bf16(void);

/// Bytes that `zen_bf16_pack` writes for an [n, k] weight.
int64_t zen_bf16_packed_size(int n, int k);

/// Packs blocks [block_begin, block_end) of a row-major float32 weight W [n, k] (PyTorch's
/// [out, in]) into bfloat16, rounded to nearest even. Block b holds 16 output rows with k in
/// pairs: pair p holds W[16b + j][2p], W[16b + j][2p + 1] for j = 0..15 (zero-padded past n, k).
/// There are (n + 15) / 16 blocks.
void zen_bf16_pack(const float *w, int n, int k, uint16_t *packed, int block_begin, int block_end);

/// Rows [row_begin, row_end) of A float32 [m, k] (row stride lda), rounded to bfloat16 (nearest
/// even) as (k + 1) / 2 pairs per row, one uint32 each (low half the even column): the operand
/// layout of `zen_bf16_gemm`.
void zen_bf16_convert_rows(const float *a, int k, int lda, uint32_t *rows, int row_begin, int row_end);

/// C[:, n_begin..<n_end] += A · Wᵀ, A given as `zen_bf16_convert_rows` rows [m, (k + 1) / 2], W
/// packed by `zen_bf16_pack`, products accumulated in float32. n_begin is a multiple of 16.
void zen_bf16_gemm(const uint32_t *rows, int m, int k, const uint16_t *packed, int n, int n_begin, int n_end,
                   float *c, int ldc);

/// The portable loop of `zen_bf16_gemm`, whatever the CPU: the yardstick for its tests.
void zen_bf16_gemm_portable(const uint32_t *rows, int m, int k, const uint16_t *packed, int n, int n_begin, int n_end,
                            float *c, int ldc);

/// The CRC-32 of ZIP (and zlib's `crc32`) of `length` bytes, continuing from `crc` (0 to start):
/// carry-less multiplication folding on x86-64 (PCLMULQDQ), the CRC32 instructions on ARMv8,
/// else bit by bit.
uint32_t zen_crc32(uint32_t crc, const void *bytes, size_t length);

/// The same, bit by bit whatever the CPU: the yardstick for its tests.
uint32_t zen_crc32_portable(uint32_t crc, const void *bytes, size_t length);

/// The CRC-32 of A followed by B from the CRC-32s of A and B and the length of B (zlib's
/// `crc32_combine`): parts of one buffer can be checked on several threads.
uint32_t zen_crc32_combine(uint32_t first, uint32_t second, size_t second_length);

#endif
