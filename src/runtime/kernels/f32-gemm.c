/* Fast float32 GEMM driver (portable C; the micro-kernels it calls are ISA-specific).
 *
 * GotoBLAS/BLIS blocking with the roles set for NCHW convolution, C[M = out channels, N = pixels]:
 * A (weights) is packed once at prepare into MR-row panels over the whole K; B (activations,
 * im2col rows or a 1x1 conv's input) is packed per call, one KC x NC block at a time, into
 * NR-column panels that stay in L2. For each KC block, an MR x KC micro-panel of A stays in L1
 * while the micro-kernel sweeps the NR panels of the block.
 *
 * Threads split C into column chunks (and row chunks when there are few columns); each task packs
 * its own B block into per-worker scratch, so tasks never wait on each other. K is always cut the
 * same way, so results do not depend on the split.
 *
 * Kernel table: AVX-512 12x32 and AVX2 6x16. On this project's Zen 4 host both micro-kernels reach
 * about 115 GFLOP/s on one core with hot caches (the CPU's peak: 512-bit FMAs run as two 256-bit
 * halves, so AVX-512 has no FLOP advantage there); AVX-512 is preferred for its 32 registers (a
 * larger tile, half the loads per FMA) and is 5-10% faster on whole GEMMs.
 * OpenBLAS's sgemm was not adopted (and not linked: installing it would switch the machine-wide
 * libblas alternative under NumPy): shared/RESOURCES.md records ~129 GFLOP/s for it on both cores,
 * about what these kernels do on one core and a half, and its interface can neither keep weights
 * packed between runs nor fuse the bias and activation into the store of C.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "runtime/activation.h"
#include "runtime/kernels/fast.h"
#include "runtime/kernels/x86/x86_kernels.h"
#include "runtime/op.h"

#define NC_MAX 512 /* columns per task chunk: a KC x NC B block is 512 KiB, half an L2 */
#define MC_MAX 144 /* rows of A packed per call when A is not prepacked (a multiple of 6 and 12) */

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }
static int64_t cdiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
static int64_t round_up(int64_t a, int64_t b) { return cdiv(a, b) * b; }

#if defined(__x86_64__) || defined(__i386__)
static const eo_f32_kernels_t k_avx512 = {"avx512", 12, 32, eo_f32_gemm_12x32__avx512f, eo_f32_vact__avx512f,
                                          eo_f32_dwconv2d__avx512f, eo_f32_maxpool2d__avx512f,
                                          eo_f32_pack_im2col__avx512f, eo_f32_mean__avx512f,
                                          eo_f32_pack_rows__avx512f, eo_f32_dwconv2d_c16__avx512f,
                                          eo_f32_pack_a_rows__avx512f, eo_f32_wino_input__avx512f,
                                          eo_f32_wino_output__avx512f, eo_f32_gemm_row_panels__avx512f,
                                          eo_f32_transpose__avx512f, eo_f32_conv_direct__avx512f,
                                          eo_f32_gemm_12x32_b__avx512f};
static const eo_f32_kernels_t k_avx2 = {"avx2", 6, 16, eo_f32_gemm_6x16__avx2_fma, eo_f32_vact__avx2_fma,
                                        eo_f32_dwconv2d__avx2_fma, eo_f32_maxpool2d__avx2_fma,
                                        eo_f32_pack_im2col__avx2_fma, eo_f32_mean__avx2_fma,
                                        eo_f32_pack_rows__avx2_fma, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
#endif

const eo_f32_kernels_t *eo_f32_kernels(eo_isa isa) {
  if (isa > eo_cpu_isa_max()) isa = eo_cpu_isa_max();
#if defined(__x86_64__) || defined(__i386__)
  if (isa == EO_ISA_AVX512) return &k_avx512;
  if (isa == EO_ISA_AVX2) return &k_avx2;
#endif
  return NULL;
}

bool eo_f32_act_supported(int op) { return op < 0 || eo_activation_fusable(op); }

#define VACT_CHUNK 16384 /* floats per task: 64 KiB in, 64 KiB out */

typedef struct vact_job {
  const eo_f32_kernels_t *kr;
  const eo_f32_act *act;
  const float *x;
  float *y;
  int64_t n;
} vact_job;

static void vact_task(void *ctx, size_t index, int worker) {
  const vact_job *J = ctx;
  int64_t i = (int64_t)index * VACT_CHUNK;
  J->kr->vact(J->act, J->x + i, J->y + i, min64(VACT_CHUNK, J->n - i));
}

void eo_f32_vact(const eo_f32_kernels_t *kr, const eo_f32_act *act, const float *x, float *y, int64_t n,
                 eo_threadpool *pool) {
  vact_job J = {kr, act, x, y, n};
  eo_threadpool_run(pool, (size_t)cdiv(n, VACT_CHUNK), vact_task, &J);
}

typedef struct mean_job {
  const eo_f32_kernels_t *kr;
  int64_t nc, spatial;
  const float *x;
  float *y;
} mean_job;

#define MEAN_PLANES 16 /* planes per task */

static void mean_task(void *ctx, size_t index, int worker) {
  const mean_job *J = ctx;
  for (int64_t i = (int64_t)index * MEAN_PLANES, e = min64(J->nc, i + MEAN_PLANES); i < e; i++)
    J->y[i] = J->kr->mean(J->x + i * J->spatial, J->spatial);
}

void eo_f32_global_avgpool(const eo_f32_kernels_t *kr, int64_t nc, int64_t spatial, const float *x, float *y,
                           eo_threadpool *pool) {
  mean_job J = {kr, nc, spatial, x, y};
  eo_threadpool_run(pool, (size_t)cdiv(nc, MEAN_PLANES), mean_task, &J);
}

/* ---- packing ---------------------------------------------------------------------------------- */

size_t eo_f32_gemm_packed_a_bytes(const eo_f32_kernels_t *kr, int64_t m, int64_t k) {
  return (size_t)(round_up(m, kr->mr) * max64(k, 1)) * sizeof(float);
}

size_t eo_f32_gemm_packed_b_bytes(const eo_f32_kernels_t *kr, int64_t k, int64_t n) {
  return (size_t)(round_up(n, kr->nr) * max64(k, 1)) * sizeof(float);
}

static inline void copy16(float *restrict d, const float *restrict s) {
  for (int l = 0; l < 16; l++) d[l] = s[l];
}
static inline void copy12(float *restrict d, const float *restrict s) {
  for (int l = 0; l < 12; l++) d[l] = s[l];
}
static inline void copy32(float *restrict d, const float *restrict s) {
  copy16(d, s);
  copy16(d + 16, s + 16);
}

/* Panels of `w` lanes along the panel dimension (rows of A or columns of B): panel q holds
 * src(q*w + l, p) at dst[q*k*w + p*w + l]; lanes past `len` are zero. src(l, p) = s[l*ls + p*ps]. */
static void pack_panels(int w, int64_t len, int64_t k, const float *s, int64_t ls, int64_t ps, float *restrict dst) {
  for (int64_t q = 0; q < len; q += w) {
    int64_t nl = min64(w, len - q);
    float *d = dst + q * k;
    const float *sq = s + q * ls;
    if (ls == 1 && nl == w && (w == 32 || w == 16 || w == 12)) {  // fixed-size copies: inline moves, no memcpy call per row
      if (w == 32)
        for (int64_t p = 0; p < k; p++) copy32(d + p * 32, sq + p * ps);
      else if (w == 16)
        for (int64_t p = 0; p < k; p++) copy16(d + p * 16, sq + p * ps);
      else  // the 12-row A panels of a transposed pointwise convolution (rows: output positions)
        for (int64_t p = 0; p < k; p++) copy12(d + p * 12, sq + p * ps);
    } else if (ls == 1 && nl == w) {
      for (int64_t p = 0; p < k; p++)
        for (int l = 0; l < w; l++) d[p * w + l] = sq[p * ps + l];
    } else {
      for (int64_t p = 0; p < k; p++) {
        int64_t l = 0;
        for (; l < nl; l++) d[p * w + l] = sq[l * ls + p * ps];
        for (; l < w; l++) d[p * w + l] = 0.0f;
      }
    }
  }
}

void eo_f32_gemm_pack_a(const eo_f32_kernels_t *kr, int64_t m, int64_t k, const float *a, int64_t rs, int64_t cs,
                        float *dst) {
  pack_panels(kr->mr, m, k, a, rs, cs, dst);
}

void eo_f32_gemm_pack_b(const eo_f32_kernels_t *kr, int64_t k, int64_t n, const float *b, int64_t rs, int64_t cs,
                        float *dst) {
  pack_panels(kr->nr, n, k, b, cs, rs, dst);
}

float *eo_f32_gemm_pack_b_new(const eo_f32_kernels_t *kr, int64_t k, int64_t n, const float *b, int64_t rs, int64_t cs) {
  size_t bytes = eo_f32_gemm_packed_b_bytes(kr, k, n);
  float *dst = aligned_alloc(64, (bytes + 63) / 64 * 64);  // aligned_alloc wants a multiple of 64
  if (dst) eo_f32_gemm_pack_b(kr, k, n, b, rs, cs, dst);
  return dst;
}

void eo_f32_pack_a_rows_any(int mr, int64_t m, int64_t kc, const float *a, const int64_t *off, const int64_t *pos,
                            float *dst) {
  for (int64_t i0 = 0; i0 < m; i0 += mr, dst += kc * mr) {
    const int rows = (int)min64(mr, m - i0);
    for (int64_t kk = 0; kk < kc; kk++) {
      const float *ak = a + off[kk];
      float *d = dst + kk * mr;
      int l = 0;
      for (; l < rows; l++) d[l] = ak[pos[i0 + l]];
      for (; l < mr; l++) d[l] = 0.0f;
    }
  }
}

/* ---- driver ----------------------------------------------------------------------------------- */

typedef struct gemm_split {
  int64_t nt_n, nt_m; /* tasks along the columns and the rows; task t of nt over P panels covers
                       * panels [t * P / nt, (t + 1) * P / nt), so chunks differ by one panel at most */
} gemm_split;

/* Tasks over `panels`: at least `want` where there are that many panels, a multiple of the worker
 * count: 15 equal tasks (resnet18's 56x56 layers had 15) on 2 workers leave one doing 8, 7% over the mean. */
static int64_t task_count(int64_t panels, int64_t want, int threads) {
  int64_t t = min64(panels, max64(want, 1));
  if (threads > 1 && t > threads) t = min64(panels, cdiv(t, threads) * threads);
  return t;
}

/* Tiles of the product, enough to balance the workers: 8 per worker where there are that many
 * panels (with dynamic claiming, a worker that starts late or is preempted then costs at most a small
 * tile). An operand that is not prepacked is packed inside every task for that task's own rows (A)
 * or columns (B), so the split runs along that operand: splitting the other dimension would pack it
 * again in each task (a transposed convolution's im2col rows were packed once per column tile: 60%
 * more im2col at 2 threads). A column chunk stays within NC_MAX (its packed B block fits L2). */
static gemm_split split_work(const eo_f32_kernels_t *kr, const eo_f32_gemm_args *g, int threads) {
  const int64_t pm = cdiv(g->m, kr->mr), pn = cdiv(g->n, kr->nr), l2 = cdiv(pn * kr->nr, NC_MAX);
  gemm_split s = {.nt_n = task_count(pn, l2, 1), .nt_m = 1};
  if (threads < 2) return s;
  if (!g->a_packed && g->b_packed) {  // A packed per task: split its rows
    s.nt_m = task_count(pm, 8 * threads, threads);
    if (s.nt_m * s.nt_n < 2 * threads) s.nt_n = task_count(pn, max64(l2, cdiv(2 * threads, s.nt_m)), 1);  // few rows
    return s;
  }
  // one row (a matrix-vector product, gemm_row): tasks of 4 panels or more, for its 4 streams
  s.nt_n = task_count(pn, max64(l2, (g->m == 1 && g->b_packed && kr->gemm_row ? 2 : 8) * threads), threads);
  if (s.nt_n < 2 * threads) s.nt_m = task_count(pm, cdiv(2 * threads, s.nt_n), 1);  // few columns
  return s;
}

/* First row (column) of task t of nt over `panels` panels of `unit`, clamped to `lim`. */
static int64_t task_start(int64_t t, int64_t nt, int64_t panels, int unit, int64_t lim) {
  return min64(lim, t * panels / nt * unit);
}

static size_t ws_b_floats(const eo_f32_kernels_t *kr, const eo_f32_gemm_args *g) {
  if (g->b_packed) return 0;
  return (size_t)(min64(max64(g->k, 1), EO_F32_GEMM_KC) * min64(round_up(g->n, kr->nr), NC_MAX));
}

static size_t ws_a_floats(const eo_f32_kernels_t *kr, const eo_f32_gemm_args *g) {
  if (g->a_packed) return 0;
  return (size_t)(min64(max64(g->k, 1), EO_F32_GEMM_KC) * min64(round_up(g->m, kr->mr), MC_MAX));
}

static size_t ws_per_worker(const eo_f32_kernels_t *kr, const eo_f32_gemm_args *g) {
  size_t bytes = (ws_b_floats(kr, g) + ws_a_floats(kr, g)) * sizeof(float);
  return (bytes + 63) / 64 * 64;
}

/* When the columns are too few to give every worker its own and B is packed on the fly, tasks split
 * the rows and each would pack the same B: then B is packed once, by all workers, before the
 * product (detector at 2 threads: 1.5x the im2col work otherwise). Floats of that B, or 0. */
static size_t shared_b_floats(const eo_f32_kernels_t *kr, const eo_f32_gemm_args *g, int threads) {
  if (threads < 2 || g->b_packed || g->k <= 0) return 0;
  gemm_split sp = split_work(kr, g, threads);
  if (sp.nt_m < 2 || sp.nt_n > 1) return 0;
  return (size_t)(round_up(g->n, kr->nr) * g->k);
}

/* A packed per task against a large prepacked B (a transposed convolution's weights, over 1 MiB)
 * with several workers and more than one panel of A: A is packed once, by all of them, and the
 * product then splits along B's columns. Split along A's rows, every task streamed the whole
 * prepacked B: resnet18's 7x7 layers read their 9 MiB of weights five times (2 threads: 1.4x slower
 * than one), mobilenet_v2's 960->320 and 320->1280 pointwise on 7x7 maps their 1.2 and 1.6 MiB five
 * times (with the two vCPUs on two core complexes: 0.142 and 0.201 ms, shared 0.121 and 0.154).
 * Floats of that A, or 0. */
static size_t shared_a_floats(const eo_f32_kernels_t *kr, const eo_f32_gemm_args *g, int threads) {
  if (threads < 2 || g->a_packed || !g->b_packed || g->k <= 0 || g->m <= kr->mr) return 0;
  if (!g->a_row_off && g->k * g->n * (int64_t)sizeof(float) <= 1024 * 1024) return 0;
  return (size_t)(round_up(g->m, kr->mr) * g->k);
}

size_t eo_f32_gemm_local(const eo_f32_kernels_t *kr, const eo_f32_gemm_args *g) {
  return g->m <= 0 || g->n <= 0 ? 0 : ws_per_worker(kr, g);
}

size_t eo_f32_gemm_workspace(const eo_f32_kernels_t *kr, const eo_f32_gemm_args *g, int threads) {
  if (g->m <= 0 || g->n <= 0) return 0;
  // + 64: ws is aligned up here
  return ws_per_worker(kr, g) * (size_t)(threads < 1 ? 1 : threads) +
         (shared_b_floats(kr, g, threads) + shared_a_floats(kr, g, threads)) * sizeof(float) + 64;
}

typedef struct gemm_job {
  const eo_f32_kernels_t *kr;
  const eo_f32_gemm_args *g;
  gemm_split sp;
  uint8_t *ws;
  size_t ws_worker;
  eo_threadpool *pool;  /* its per-worker buffers, when it has them, instead of ws */
} gemm_job;

/* B read in place instead of packed: a row-major B (a pointwise conv's input) feeding few rows of A,
 * where packing (a read and a write of B) is a large share of the work (its rows stream from L1/L2
 * with a fixed stride instead). 1 thread CPU, 12x32 kernel: 32->16 at 112x112 0.160 -> 0.132 ms,
 * 144->24 at 56x56 0.235 -> 0.198, 192->64 at 28x28 0.182 -> 0.175; 128 rows and more gain nothing
 * (32->192 at 28x28: 0.091 -> 0.092). */
static bool b_direct(const eo_f32_kernels_t *kr, const eo_f32_gemm_args *g) {
  return kr->gemm_b && !g->b_packed && !g->b_row_off && !g->conv && g->b_cs == 1 && g->m < 128;
}

static void gemm_task(void *ctx, size_t index, int worker) {
  const gemm_job *J = ctx;
  const eo_f32_kernels_t *kr = J->kr;
  const eo_f32_gemm_args *g = J->g;
  const int mr = kr->mr, nr = kr->nr;
  int64_t tm = (int64_t)index / J->sp.nt_n, tn = (int64_t)index % J->sp.nt_n;
  const int64_t pm = cdiv(g->m, mr), pn = cdiv(g->n, nr);
  int64_t m0 = task_start(tm, J->sp.nt_m, pm, mr, g->m), m1 = task_start(tm + 1, J->sp.nt_m, pm, mr, g->m);
  int64_t n0 = task_start(tn, J->sp.nt_n, pn, nr, g->n), n1 = task_start(tn + 1, J->sp.nt_n, pn, nr, g->n);
  float *wsb = eo_threadpool_local(J->pool, worker, J->ws_worker, J->ws + (size_t)worker * J->ws_worker);
  float *wsa = wsb + ws_b_floats(kr, g);
  const int64_t K = g->k;
  eo_f32_gemm_tile_ep ep = {.alpha = g->alpha, .act = &g->act};
  const bool direct = b_direct(kr, g);
  int64_t pc = 0;
  do {  // once even when K == 0: the epilogue (bias, activation) still runs
    int64_t kc = min64(K - pc, EO_F32_GEMM_KC);
    ep.flags = (pc > 0 || g->accumulate ? EO_GEMM_LOAD_C : 0) | (pc + kc >= K && g->act.op >= 0 ? EO_GEMM_ACT : 0);
    if (!g->b_packed && !direct) {
      if (g->b_row_off)
        kr->pack_rows(n1 - n0, kc, g->b + n0, g->b_row_off + pc, wsb);
      else if (g->conv && !g->conv_is_a)
        kr->pack_im2col(g->conv, g->conv_x, nr, pc, kc, n0, n1 - n0, wsb);
      else
        pack_panels(nr, n1 - n0, kc, g->b + pc * g->b_rs + n0 * g->b_cs, g->b_cs, g->b_rs, wsb);
    }
    for (int64_t ic = m0; ic < m1; ic += g->a_packed ? m1 - m0 : MC_MAX) {
      int64_t mc = g->a_packed ? m1 - m0 : min64(MC_MAX, m1 - ic);
      if (g->a_row_off && kr->pack_a_rows)
        kr->pack_a_rows(mc, kc, g->a, g->a_row_off + pc, g->a_pos + ic, wsa);
      else if (g->a_row_off)
        eo_f32_pack_a_rows_any(mr, mc, kc, g->a, g->a_row_off + pc, g->a_pos + ic, wsa);
      else if (!g->a_packed && g->conv_is_a)
        kr->pack_im2col(g->conv, g->conv_x, mr, pc, kc, ic, mc, wsa);
      else if (!g->a_packed)
        pack_panels(mr, mc, kc, g->a + ic * g->a_rs + pc * g->a_cs, g->a_rs, g->a_cs, wsa);
      for (int64_t ir = ic; ir < ic + mc; ir += mr) {
        const float *ap = g->a_packed ? g->a_packed + (ir / mr) * K * mr + pc * mr : wsa + (ir - ic) * kc;
        ep.bias = g->bias ? g->bias + ir : NULL;
        int rows = (int)min64(mr, m1 - ir);
        if (rows == 1 && g->b_packed && kr->gemm_row) {  // a matrix-vector product: several panels at once
          ep.bias_n = g->bias_n ? g->bias_n + n0 : NULL;
          kr->gemm_row(n1 - n0, kc, ap, g->b_packed + (n0 / nr) * K * nr + pc * nr, K * nr, g->c + ir * g->ldc + n0, &ep);
          continue;
        }
        for (int64_t jr = n0; jr < n1; jr += nr) {
          ep.bias_n = g->bias_n ? g->bias_n + jr : NULL;
          if (direct) {
            kr->gemm_b(rows, (int)min64(nr, n1 - jr), kc, ap, g->b + pc * g->b_rs + jr, g->b_rs, g->c + ir * g->ldc + jr,
                       g->ldc, &ep);
            continue;
          }
          const float *bp = g->b_packed ? g->b_packed + (jr / nr) * K * nr + pc * nr : wsb + (jr - n0) * kc;
          kr->gemm(rows, (int)min64(nr, n1 - jr), kc, ap, bp, g->c + ir * g->ldc + jr, g->ldc, &ep);
        }
      }
    }
    pc += kc;
  } while (pc < K);
}

/* Prepacking B for shared_b_floats: one task per NR panel and KC block, laid out as a prepacked B. */
typedef struct packb_job {
  const eo_f32_kernels_t *kr;
  const eo_f32_gemm_args *g;
  float *dst;
  int64_t n_kb;
} packb_job;

static void packb_task(void *ctx, size_t index, int worker) {
  (void)worker;
  const packb_job *J = ctx;
  const eo_f32_gemm_args *g = J->g;
  const int nr = J->kr->nr;
  const int64_t jr = (int64_t)index / J->n_kb * nr, pc = (int64_t)index % J->n_kb * EO_F32_GEMM_KC;
  const int64_t kc = min64(g->k - pc, EO_F32_GEMM_KC), nc = min64(nr, g->n - jr);
  float *d = J->dst + jr * g->k + pc * nr;  // panel jr / nr, rows pc..: one panel, so its stride is nr
  if (g->b_row_off)
    J->kr->pack_rows(nc, kc, g->b + jr, g->b_row_off + pc, d);
  else if (g->conv && !g->conv_is_a)
    J->kr->pack_im2col(g->conv, g->conv_x, nr, pc, kc, jr, nc, d);
  else
    pack_panels(nr, nc, kc, g->b + pc * g->b_rs + jr * g->b_cs, g->b_cs, g->b_rs, d);
}

/* Prepacking A for shared_a_floats: one task per MR panel and KC block, laid out as a prepacked A. */
static void packa_task(void *ctx, size_t index, int worker) {
  (void)worker;
  const packb_job *J = ctx;
  const eo_f32_gemm_args *g = J->g;
  const int mr = J->kr->mr;
  const int64_t ir = (int64_t)index / J->n_kb * mr, pc = (int64_t)index % J->n_kb * EO_F32_GEMM_KC;
  const int64_t kc = min64(g->k - pc, EO_F32_GEMM_KC), rows = min64(mr, g->m - ir);
  float *d = J->dst + ir * g->k + pc * mr;  // panel ir / mr, rows pc..
  if (g->a_row_off && J->kr->pack_a_rows)
    J->kr->pack_a_rows(rows, kc, g->a, g->a_row_off + pc, g->a_pos + ir, d);
  else if (g->a_row_off)
    eo_f32_pack_a_rows_any(mr, rows, kc, g->a, g->a_row_off + pc, g->a_pos + ir, d);
  else if (g->conv_is_a)
    J->kr->pack_im2col(g->conv, g->conv_x, mr, pc, kc, ir, rows, d);
  else
    pack_panels(mr, rows, kc, g->a + ir * g->a_rs + pc * g->a_cs, g->a_rs, g->a_cs, d);
}

void eo_f32_gemm(const eo_f32_kernels_t *kr, const eo_f32_gemm_args *g, eo_threadpool *pool, void *ws) {
  if (g->m <= 0 || g->n <= 0) return;
  const int threads = eo_threadpool_size(pool);
  uint8_t *aligned = (uint8_t *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);  // panels are loaded aligned
  // both decided on the caller's arguments, as eo_f32_gemm_workspace sized them (B packed here
  // would otherwise make A look shareable)
  size_t ws_worker = ws_per_worker(kr, g), shared_b = shared_b_floats(kr, g, threads),
         shared_a = shared_a_floats(kr, g, threads);
  eo_f32_gemm_args with_b, with_a;
  if (shared_b) {
    packb_job P = {kr, g, (float *)(aligned + ws_worker * (size_t)threads), cdiv(g->k, EO_F32_GEMM_KC)};
    eo_threadpool_run(pool, (size_t)(cdiv(g->n, kr->nr) * P.n_kb), packb_task, &P);
    with_b = *g;
    with_b.b_packed = P.dst;
    g = &with_b;
  }
  if (shared_a) {
    packb_job P = {kr, g, (float *)(aligned + ws_worker * (size_t)threads) + shared_b, cdiv(g->k, EO_F32_GEMM_KC)};
    eo_threadpool_run(pool, (size_t)(cdiv(g->m, kr->mr) * P.n_kb), packa_task, &P);
    with_a = *g;
    with_a.a_packed = P.dst;
    with_a.a_row_off = with_a.a_pos = NULL;
    with_a.conv_is_a = false;
    g = &with_a;
  }
  gemm_job J = {kr, g, split_work(kr, g, threads), aligned, ws_worker, pool};
  eo_threadpool_run(pool, (size_t)(J.sp.nt_m * J.sp.nt_n), gemm_task, &J);
}
