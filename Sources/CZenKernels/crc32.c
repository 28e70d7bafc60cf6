#include "zen_kernels.h"

#include <stddef.h>

// CRC-32 of ZIP: reflected polynomial 0xEDB88320, register inverted before and after.

/// One byte at a time, bit by bit: the yardstick, the tails, and CPUs without a faster way.
static uint32_t crc32_bits(uint32_t crc, const uint8_t *data, size_t length) {
    for (size_t i = 0; i < length; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
    }
    return crc;
}

#if defined(__x86_64__)
#include <immintrin.h>

/// Folding with carry-less multiplication (Gopal et al., "Fast CRC Computation for Generic
/// Polynomials Using PCLMULQDQ Instruction", Intel, 2009), in the bit-reflected domain: four
/// 128-bit lanes are folded 512 bits ahead per step, then into one lane, then reduced to 32 bits
/// (Barrett). Each constant is a power of x modulo the polynomial, reflected and shifted left by
/// one as the paper's appendix gives them. `length` is a multiple of 16, at least 64.
__attribute__((target("pclmul,sse4.1")))
static uint32_t crc32_fold(uint32_t crc, const uint8_t *data, size_t length) {
    const __m128i fold512 = _mm_set_epi64x(0x01c6e41596, 0x0154442bd4);   // x^(512+32), x^(512-32)
    const __m128i fold128 = _mm_set_epi64x(0x00ccaa009e, 0x01751997d0);   // x^(128+32), x^(128-32)
    const __m128i fold64 = _mm_set_epi64x(0, 0x0163cd6124);               // x^64
    const __m128i barrett = _mm_set_epi64x(0x01f7011641, 0x01db710641);   // mu, P
    const __m128i low32 = _mm_setr_epi32(~0, 0, ~0, 0);

    __m128i lane[4];
    for (int i = 0; i < 4; i++) lane[i] = _mm_loadu_si128((const __m128i *)(data + 16 * i));
    lane[0] = _mm_xor_si128(lane[0], _mm_cvtsi32_si128((int)crc));
    data += 64;
    length -= 64;

    // x · k: the lane's high half times one constant plus its low half times the other.
#define FOLD(x, k) _mm_xor_si128(_mm_clmulepi64_si128((x), (k), 0x00), _mm_clmulepi64_si128((x), (k), 0x11))
    for (; length >= 64; data += 64, length -= 64) {
        for (int i = 0; i < 4; i++) lane[i] = _mm_xor_si128(FOLD(lane[i], fold512), _mm_loadu_si128((const __m128i *)(data + 16 * i)));
    }
    __m128i x = lane[0];
    for (int i = 1; i < 4; i++) x = _mm_xor_si128(FOLD(x, fold128), lane[i]);
    for (; length >= 16; data += 16, length -= 16) x = _mm_xor_si128(FOLD(x, fold128), _mm_loadu_si128((const __m128i *)data));
#undef FOLD

    // 128 bits to 64, then to 32 (with x^64), then Barrett's reduction modulo P.
    x = _mm_xor_si128(_mm_srli_si128(x, 8), _mm_clmulepi64_si128(x, fold128, 0x10));
    x = _mm_xor_si128(_mm_srli_si128(x, 4), _mm_clmulepi64_si128(_mm_and_si128(x, low32), fold64, 0x00));
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x, low32), barrett, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), barrett, 0x00);
    return (uint32_t)_mm_extract_epi32(_mm_xor_si128(x, t), 1);
}

uint32_t zen_crc32(uint32_t crc, const void *bytes, size_t length) {
    const uint8_t *data = bytes;
    crc = ~crc;
    __builtin_cpu_init();
    if (length >= 64 && __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1")) {
        size_t folded = length & ~(size_t)15;
        crc = crc32_fold(crc, data, folded);
        data += folded;
        length -= folded;
    }
    return ~crc32_bits(crc, data, length);
}

#elif defined(__aarch64__) && defined(__ARM_FEATURE_CRC32)
#include <arm_acle.h>

/// ARMv8's CRC32 instructions compute this very polynomial, 8 bytes at a time.
uint32_t zen_crc32(uint32_t crc, const void *bytes, size_t length) {
    const uint8_t *data = bytes;
    crc = ~crc;
    for (; length >= 8; data += 8, length -= 8) {
        uint64_t word;
        __builtin_memcpy(&word, data, 8);
        crc = __crc32d(crc, word);
    }
    return ~crc32_bits(crc, data, length);
}

#else
uint32_t zen_crc32(uint32_t crc, const void *bytes, size_t length) { return ~crc32_bits(~crc, bytes, length); }
#endif

uint32_t zen_crc32_portable(uint32_t crc, const void *bytes, size_t length) { return ~crc32_bits(~crc, bytes, length); }

/// a · b modulo the polynomial, both reflected (bit 31 is x^0).
static uint32_t multiply_modulo(uint32_t a, uint32_t b) {
    uint32_t product = 0;
    for (uint32_t bit = 1u << 31; bit != 0; bit >>= 1) {
        if (a & bit) product ^= b;
        b = (b >> 1) ^ (0xEDB88320u & (0u - (b & 1)));   // b · x
    }
    return product;
}

uint32_t zen_crc32_combine(uint32_t first, uint32_t second, size_t second_length) {
    // first · x^(8 · second_length), by squaring x^8.
    uint32_t shift = 1u << 31, power = 1u << 23;
    for (size_t n = second_length; n != 0; n >>= 1) {
        if (n & 1) shift = multiply_modulo(shift, power);
        power = multiply_modulo(power, power);
    }
    return multiply_modulo(shift, first) ^ second;
}
