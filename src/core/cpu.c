#include "core/cpu.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>

/* XCR0 through xgetbv, written as raw bytes so this file needs no -mxsave. */
static unsigned long long xgetbv0(void) {
  unsigned int eax, edx;
  __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
  return ((unsigned long long)edx << 32) | eax;
}

static void detect_x86(eo_cpu_info *ci) {
  unsigned int a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return;
  bool osxsave = c & (1u << 27), avx = c & (1u << 28);
  bool fma = c & (1u << 12), f16c = c & (1u << 29);
  if (!osxsave || !avx) return;
  unsigned long long xcr0 = xgetbv0();
  bool ymm_os = (xcr0 & 0x6) == 0x6;             /* SSE + AVX state */
  bool zmm_os = (xcr0 & 0xe6) == 0xe6;           /* + opmask, ZMM_Hi256, Hi16_ZMM */
  if (!ymm_os) return;
  if (__get_cpuid_max(0, NULL) < 7) return;
  __cpuid_count(7, 0, a, b, c, d);
  ci->fma = fma;
  ci->f16c = f16c;
  ci->avx2 = (b & (1u << 5)) != 0;
  ci->avx512f = zmm_os && (b & (1u << 16));
  ci->avx512vnni = ci->avx512f && (c & (1u << 11));
  ci->avx512bw = ci->avx512f && (b & (1u << 30));
  ci->avx512vbmi = ci->avx512bw && (c & (1u << 1));
}
#endif

static eo_cpu_info g_info;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void detect(void) {
  memset(&g_info, 0, sizeof g_info);
#if defined(__x86_64__) || defined(__i386__)
  detect_x86(&g_info);
#endif
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  g_info.cores = n > 0 ? (int)n : 1;
}

const eo_cpu_info *eo_cpu_info_get(void) {
  pthread_once(&g_once, detect);
  return &g_info;
}

eo_isa eo_cpu_isa_max(void) {
  const eo_cpu_info *ci = eo_cpu_info_get();
  if (!ci->avx2 || !ci->fma) return EO_ISA_REF;
  return ci->avx512f ? EO_ISA_AVX512 : EO_ISA_AVX2;
}

eo_isa eo_cpu_isa(void) {
  eo_isa max = eo_cpu_isa_max(), want = max;
  const char *v = getenv("EO_ISA");
  if (v && strcmp(v, "ref") == 0) want = EO_ISA_REF;
  else if (v && strcmp(v, "avx2") == 0) want = EO_ISA_AVX2;
  else if (v && strcmp(v, "avx512") == 0) want = EO_ISA_AVX512;
  return want < max ? want : max;
}

const char *eo_isa_name(eo_isa isa) {
  switch (isa) {
    case EO_ISA_AVX2: return "avx2";
    case EO_ISA_AVX512: return "avx512";
    default: return "ref";
  }
}
