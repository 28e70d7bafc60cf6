#ifndef ZEN_KERNELS_H
#define ZEN_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// What Swift cannot express at full speed or reach at all: a float32 GEMM for few rows, the C
/// library's allocator settings, and CRC-32 with carry-less multiplication.

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
