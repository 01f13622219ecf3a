// 256-entry byte lookups: a scalar loop, and 64 bytes per step with two VBMI two-table permutes (vpermi2b
// reads 128 entries) blended on each index's top bit, chosen once at run time from the CPU's features.
#include "runtime/cpu/byte_table.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define ORTOOL_BYTE_TABLE_VBMI 1
#endif

namespace ortool::rt::cpu {
namespace {

void lookup_scalar(const uint8_t* in, uint8_t* out, int64_t n, const uint8_t* table) {
  for (int64_t i = 0; i < n; ++i) out[i] = table[in[i]];
}

#ifdef ORTOOL_BYTE_TABLE_VBMI
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) void lookup_vbmi(const uint8_t* in, uint8_t* out, int64_t n,
                                                                           const uint8_t* table) {
  const __m512i t0 = _mm512_loadu_si512(table), t1 = _mm512_loadu_si512(table + 64);
  const __m512i t2 = _mm512_loadu_si512(table + 128), t3 = _mm512_loadu_si512(table + 192);
  int64_t i = 0;
  for (; i + 64 <= n; i += 64) {
    const __m512i x = _mm512_loadu_si512(in + i);
    const __m512i lo = _mm512_permutex2var_epi8(t0, x, t1);  // entries 0..127 (index bit 7 ignored)
    const __m512i hi = _mm512_permutex2var_epi8(t2, x, t3);  // entries 128..255
    _mm512_storeu_si512(out + i, _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi));
  }
  if (i < n) {
    const __mmask64 m = ~0ULL >> (64 - (n - i));  // the tail in one masked step
    const __m512i x = _mm512_maskz_loadu_epi8(m, in + i);
    const __m512i lo = _mm512_permutex2var_epi8(t0, x, t1), hi = _mm512_permutex2var_epi8(t2, x, t3);
    _mm512_mask_storeu_epi8(out + i, m, _mm512_mask_blend_epi8(_mm512_movepi8_mask(x), lo, hi));
  }
}

bool has_vbmi() {
  static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                          __builtin_cpu_supports("avx512vbmi");
  return yes;
}
#endif

}  // namespace

bool lookup_bytes_vectorized() {
#ifdef ORTOOL_BYTE_TABLE_VBMI
  return has_vbmi();
#else
  return false;
#endif
}

void lookup_bytes(const uint8_t* in, uint8_t* out, int64_t n, const uint8_t* table) {
#ifdef ORTOOL_BYTE_TABLE_VBMI
  if (has_vbmi()) return lookup_vbmi(in, out, n, table);
#endif
  lookup_scalar(in, out, n, table);
}

}  // namespace ortool::rt::cpu
