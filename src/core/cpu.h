/* Run-time CPU feature detection, so that one portable build picks the fastest kernels the machine
 * has (XNNPACK's cpuinfo, ggml's ggml_cpu_has_*). Detection runs once (cpuid + xgetbv: a feature
 * counts only when the OS also saves its registers); the ISA the kernels use can be lowered for
 * testing and comparison with the environment variable EO_ISA=ref|avx2|avx512.
 *
 *   const eo_cpu_info *ci = eo_cpu_info_get();
 *   if (eo_cpu_isa() >= EO_ISA_AVX512) ...   // pick the AVX-512 kernel at prepare time
 *
 * On non-x86 machines every flag is false and eo_cpu_isa() is EO_ISA_REF.
 */
#ifndef EO_CORE_CPU_H
#define EO_CORE_CPU_H

#include <stdbool.h>

typedef struct eo_cpu_info {
  bool avx2, fma, f16c;
  bool avx512f;      /* with the AVX-512 state enabled by the OS */
  bool avx512vnni;   /* VPDPBUSD on zmm */
  bool avx512bw, avx512vbmi; /* byte ops on zmm; VPERMB / VPERMI2B (64-byte table lookups) */
  int cores;         /* online logical CPUs (>= 1) */
} eo_cpu_info;

/* Kernel families, ordered: a family needs every feature of the ones below it. */
typedef enum eo_isa {
  EO_ISA_REF = 0,    /* portable C (the _ref kernels) */
  EO_ISA_AVX2 = 1,   /* AVX2 + FMA (+ F16C) */
  EO_ISA_AVX512 = 2  /* AVX-512F on top of EO_ISA_AVX2 */
} eo_isa;

/* The detected features (computed once, thread-safe; never NULL). */
const eo_cpu_info *eo_cpu_info_get(void);
/* Highest ISA the CPU supports. */
eo_isa eo_cpu_isa_max(void);
/* ISA the kernels should use: eo_cpu_isa_max(), lowered by EO_ISA=ref|avx2|avx512 (a request above
 * what the CPU has is capped to it; an unknown value is ignored). Reads the environment on every
 * call: call it at prepare time, not per run. */
eo_isa eo_cpu_isa(void);
/* "ref", "avx2", "avx512". */
const char *eo_isa_name(eo_isa isa);

#endif
