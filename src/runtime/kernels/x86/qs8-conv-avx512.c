/* Integer convolution with AVX-512 VNNI (VPDPBUSD) and the exact depthwise paths; see
 * qs8-fast.h for the arithmetic. Everything here runs only when eo_cpu_isa() >= EO_ISA_AVX512 and
 * the CPU has VNNI (the caller checks). */
#include <immintrin.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "core/cpu.h"
#include "runtime/kernels/x86/dw-phase.h"
#include "runtime/kernels/x86/qs8-fast.h"
#include "runtime/kernels/x86/transpose-avx512.h"

#define EO_VNNI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

enum { MR = 8, NR = 32 };
enum { LV = 3, LC = 16 * LV, LP = 7 };  /* lanes plans: vectors per block, channels per block, positions per group */

/* acc += u8 c x s8 w. Inline asm: GCC 12 spills and reloads the shared operands around every
 * _mm512_dpbusd_epi32 of a register-blocked tile (seen in the disassembly), halving the rate. */
#define EO_DPBUSD(acc, c, w) __asm__("vpdpbusd %2, %1, %0" : "+v"(acc) : "v"(c), "v"(w))

static int64_t up(int64_t n, int64_t a) { return (n + a - 1) / a * a; }
static int64_t out_p(const eo_conv_params *p) { return p->out[0] * p->out[1] * p->out[2]; }
static int64_t planes_bytes(const eo_qs8_conv_plan *pl) {  // + 64: a tile's loads run up to 63 bytes on
  return up(pl->p.c_in / pl->p.groups * pl->p.stride[1] * pl->p.stride[2] * pl->plane_bytes + 64, 64);
}

bool eo_qs8_vnni_ok(const eo_conv_params *p, bool w_signed, const int32_t *w_zp) {
  if (!w_signed) return false;
  for (int64_t oc = 0; oc < p->c_out; oc++)
    if (w_zp[oc] != 0) return false;
  return true;
}

bool eo_qs8_dw_ok(const eo_conv_params *p) {
  return p->groups == p->c_in && p->c_out == p->c_in && p->in[0] == 1 && p->out[0] == 1 && p->k[0] == 1 &&
         p->k[1] * p->k[2] <= 256;
}

static int64_t out_p(const eo_conv_params *p);
static bool lanes_pick(const eo_conv_params *p);

/* Phase planes (the scheme of the float shifted path, f32-conv-fast.c): plane (c, py, px) holds padded
 * input rows py, py + sh, ... and columns px, px + sw, ..., so tap (c, ky, kx) of output position
 * (oy, ox) is byte tap_off[k] + oy * wq + ox. The 32 positions of a tile then lie within 64 bytes of
 * their first (at most a few row ends, each skipping wq - ow bytes), and one tile row of the patch
 * matrix is four 64-byte loads and two byte permutes, instead of copying tap rows, interleaving and
 * copying again (21% of resnet18's INT8 time, 34% of the detector's). Maps where 32 positions span more
 * than 64 bytes keep the general build. */
static bool phase_plan(eo_qs8_conv_plan *pl) {
  const eo_conv_params *p = &pl->p;
  if (!eo_cpu_info_get()->avx512vbmi || p->in[0] != 1 || p->k[0] != 1 || p->out[0] != 1 || p->pad[0] != 0 ||
      p->stride[2] > 8)  // planes_task keeps 8 column phases
    return true;
  const int64_t sh = p->stride[1], sw = p->stride[2], oh = p->out[1], ow = p->out[2], P = out_p(p);
  const int64_t hq = oh + (p->k[1] - 1) * p->dil[1] / sh, wq = ow + (p->k[2] - 1) * p->dil[2] / sw;
  const int64_t nt = (P + NR - 1) / NR;
  for (int64_t t = 0; t < nt; t++) {  // the span of every tile's positions, last one clamped to P
    int64_t a = t * NR, b = (t + 1) * NR < P ? (t + 1) * NR - 1 : P - 1;
    if (b / ow * wq + b % ow - (a / ow * wq + a % ow) >= 64) return true;
  }
  int64_t cig = p->c_in / p->groups, kvol = p->k[1] * p->k[2];
  pl->tap_off = eo_calloc((size_t)(pl->K4 * 4), sizeof(int64_t));
  pl->tile_base = eo_malloc((size_t)nt * sizeof(int64_t));
  pl->tile_idx = eo_malloc((size_t)nt * 64);
  if (!pl->tap_off || !pl->tile_base || !pl->tile_idx) return false;
  for (int64_t k = 0; k < cig * kvol; k++) {
    int64_t c = k / kvol, ty = k % kvol / p->k[2] * p->dil[1], tx = k % p->k[2] * p->dil[2];
    pl->tap_off[k] = ((c * sh + ty % sh) * sw + tx % sw) * hq * wq + ty / sh * wq + tx / sw;
  }
  for (int64_t t = 0; t < nt; t++) {
    int64_t a = t * NR, base = a / ow * wq + a % ow;
    pl->tile_base[t] = base;
    for (int64_t l = 0; l < NR; l++) {  // positions past P repeat the last: read inside, never stored
      int64_t q = a + l < P ? a + l : P - 1, d = q / ow * wq + q % ow - base;
      pl->tile_idx[t * 64 + 2 * l] = (uint8_t)d;
      pl->tile_idx[t * 64 + 2 * l + 1] = (uint8_t)(64 + d);
    }
  }
  pl->hq = hq;
  pl->wq = wq;
  pl->plane_bytes = hq * wq;
  // a pointwise conv's one plane per channel is x itself (uint8: nothing to flip; no padding)
  pl->x_is_planes = !pl->x_signed && sh == 1 && sw == 1 && p->k[1] == 1 && p->k[2] == 1 && p->pad[1] == 0 &&
                    p->pad[2] == 0 && hq == p->in[1] && wq == p->in[2];
  return true;
}

bool eo_qs8_conv_plan_init(eo_qs8_conv_plan *pl, int kind, const eo_conv_params *p, bool x_signed, bool w_signed,
                           const void *w, const int32_t *w_zp, int nworkers) {
  memset(pl, 0, sizeof *pl);
  pl->kind = kind;
  pl->p = *p;
  pl->x_signed = x_signed;
  pl->nworkers = nworkers < 1 ? 1 : nworkers;
  int64_t cog = p->c_out / p->groups, K = p->c_in / p->groups * p->k[0] * p->k[1] * p->k[2];
  pl->K = K;
  const int8_t *ws = w;
  const uint8_t *wu = w;
  if (kind == EO_QS8_DW_AVX512) {
    pl->wdw = eo_malloc((size_t)(p->c_out * K) * sizeof(float));
    if (!pl->wdw) return false;
    for (int64_t i = 0; i < p->c_out * K; i++)
      pl->wdw[i] = (float)((w_signed ? ws[i] : wu[i]) - w_zp[i / K]);
    return true;
  }
  pl->K4 = (K + 3) / 4;
  if (kind == EO_QS8_GEMM_VNNI && lanes_pick(p)) {  // [block][K4][vectors of the block][16][4], zeros past c_out and K
    pl->lanes = true;
    pl->ocb = (cog + LC - 1) / LC;
    pl->wpk = eo_calloc((size_t)(pl->ocb * pl->K4 * LC), sizeof(int32_t));
    pl->wsum = eo_calloc((size_t)p->c_out, sizeof(int32_t));
    if (!pl->wpk || !pl->wsum) return false;
    int8_t *dst = (int8_t *)pl->wpk;
    for (int64_t oc = 0; oc < p->c_out; oc++) {
      const int64_t b = oc / LC, v = oc % LC / 16, rest = p->c_out - b * LC, nvb = rest >= LC ? LV : (rest + 15) / 16;
      int32_t s = 0;
      for (int64_t k = 0; k < K; k++) {
        const int8_t wv = ws[oc * K + k];
        s += wv;
        dst[b * pl->K4 * LC * 4 + ((k / 4 * nvb + v) * 16 + oc % 16) * 4 + k % 4] = wv;
      }
      pl->wsum[oc] = s;
    }
    return phase_plan(pl);
  }
  pl->ocb = (cog + MR - 1) / MR;
  size_t nw = (size_t)(p->groups * pl->ocb * pl->K4 * MR);
  pl->wpk = eo_calloc(nw, sizeof(int32_t));
  pl->wsum = eo_calloc((size_t)p->c_out, sizeof(int32_t));
  if (!pl->wpk || !pl->wsum) return false;
  int8_t *dst = (int8_t *)pl->wpk;
  for (int64_t oc = 0; oc < p->c_out; oc++) {
    int64_t g = oc / cog, j = oc % cog, b = g * pl->ocb + j / MR;
    int32_t s = 0;
    for (int64_t k = 0; k < K; k++) {
      int8_t v = ws[oc * K + k];
      s += v;
      dst[((b * pl->K4 + k / 4) * MR + j % MR) * 4 + k % 4] = v;
    }
    pl->wsum[oc] = s;
  }
  return phase_plan(pl);
}

bool eo_qs8_conv_plan_init_i32(eo_qs8_conv_plan *pl, int kind, const eo_conv_params *p, bool x_signed, bool w_signed,
                               const void *w, const int32_t *w_zp, int nworkers) {
  bool ok = eo_qs8_conv_plan_init(pl, kind, p, x_signed, w_signed, w, w_zp, nworkers);
  pl->out_i32 = true;
  return ok;
}

void eo_qs8_conv_plan_free(eo_qs8_conv_plan *pl) {
  free(pl->wpk);
  free(pl->wsum);
  free(pl->wdw);
  free(pl->tap_off);
  free(pl->tile_base);
  free(pl->tile_idx);
  pl->wpk = pl->wsum = NULL;
  pl->wdw = NULL;
  pl->tap_off = pl->tile_base = NULL;
  pl->tile_idx = NULL;
}

size_t eo_qs8_conv_plan_packed_bytes(const eo_qs8_conv_plan *pl) {
  if (pl->kind == EO_QS8_DW_AVX512) return (size_t)(pl->p.c_out * pl->K) * sizeof(float);
  if (pl->lanes) return (size_t)(pl->ocb * pl->K4 * LC + pl->p.c_out) * sizeof(int32_t);
  return (size_t)(pl->p.groups * pl->ocb * pl->K4 * MR + pl->p.c_out) * sizeof(int32_t);
}

/* Floats after a depthwise plane that the last vectors may read (32 per stride-2 load pair, plus
 * taps; the general-stride gather reaches 15 * stride). */
static int64_t dw_slack(const eo_conv_params *p, bool out_i32) {
  int64_t pw = (p->out[2] - 1) * p->stride[2] + (p->k[2] - 1) * p->dil[2] + 1;
  // reads past the plane, then (stride 1) the outputs at plane stride: out[1] * pw + 64 bytes, or
  // int32s (out[1] * pw + 16 of them)
  int64_t outs = out_i32 ? p->out[1] * pw + 16 : (p->out[1] * pw + 64) / 4;
  return 64 + 16 * (p->stride[2] > 2 ? p->stride[2] : 2) + (p->k[2] - 1) * p->dil[2] + outs + 16;
}

static int64_t dw_plane(const eo_conv_params *p, int64_t *ph, int64_t *pw) {
  *ph = (p->out[1] - 1) * p->stride[1] + (p->k[1] - 1) * p->dil[1] + 1;
  *pw = (p->out[2] - 1) * p->stride[2] + (p->k[2] - 1) * p->dil[2] + 1;
  return *ph * *pw;
}

static int64_t dw_wide_floats(const eo_conv_params *p, bool out_i32);

/* Floats of depthwise scratch per worker: the larger of the row and the wide-grid layouts. */
static int64_t dw_c16_floats(const eo_conv_params *p);

static int64_t dw_per(const eo_conv_params *p, bool out_i32) {
  int64_t ph, pw, rows = dw_plane(p, &ph, &pw) + dw_slack(p, out_i32), wide = dw_wide_floats(p, out_i32);
  int64_t c16 = dw_c16_floats(p), m = rows > wide ? rows : wide;
  return up(m > c16 ? m : c16, 16);
}

static size_t vnni_scratch(const eo_qs8_conv_plan *pl);

size_t eo_qs8_conv_plan_scratch(const eo_qs8_conv_plan *pl) {
  const eo_conv_params *p = &pl->p;
  if (pl->kind == EO_QS8_DW_AVX512) return (size_t)(pl->nworkers * dw_per(p, pl->out_i32)) * sizeof(float);
  return vnni_scratch(pl);
}

/* ---- VNNI GEMM ----
 * The whole patch matrix is built first (tasks: k-quads), laid out [tile of 32 positions][K4][32][4]
 * so the GEMM reads each tile sequentially, then multiplied (tasks: 8-channel block x 4 tiles).
 * (Building per chunk of positions inside each GEMM task, to keep the matrix in cache, measured
 * slower: ~1.6 vs ~1.45x ORT on resnet18, as every chunk then streams all the weights.) */

typedef struct vjob {
  const eo_qs8_conv_plan *pl;
  const eo_qconv_quant *q;
  const uint8_t *x;  /* image n, group g's first channel */
  const uint8_t *planes;   /* phase planes of x (pl->tap_off set), or x itself (pl->x_is_planes) */
  const uint8_t *pend;     /* x_is_planes: the end of x (a tile's 64-byte loads must stop there) */
  uint8_t *col;      /* the patch matrix */
  uint8_t *rows;     /* per worker: 8 rows of rowlen bytes (interleaved row, then 4 tap rows) */
  int64_t rowlen;
  const int32_t *corr;
  void *y;           /* image n, group g's first output channel */
  int64_t g, P, nrows, ow;  /* positions, output rows, positions per row */
  bool flat;         /* plane mode: one row of P positions */
  int64_t ts, ks;    /* patch matrix byte strides: tile to tile, k-quad to k-quad */
  int64_t fuse;      /* fused_task: tiles per task (0: the whole patch matrix first) */
  int64_t kq_per;    /* phase_cols_task, im2col_task: k-quads per task (quads_per_task) */
  uint8_t *stage;    /* lanes: per worker, stage_bytes of int32 sums */
  int64_t stage_bytes;
  uint8_t xzp;       /* x_zp as a uint8 (shifted for int8 x) */
  eo_threadpool *pool;  /* its per-worker buffers hold col (fused), rows and stage when it has them */
} vjob;

/* One tap (row k of the patch matrix): where it reads x for an output row. */
typedef struct tap {
  bool real;              /* k < K (else the row is zero padding) */
  int64_t ic, i0o, i1o;   /* channel; input row = o * stride - pad + k * dil, per dim 0 and 1 */
  int64_t off;            /* input column of output column o: o * stride2 + off */
  int64_t lo, hi;         /* output columns that read inside x */
} tap;

static tap tap_of(const vjob *J, int64_t k) {
  const eo_conv_params *p = &J->pl->p;
  tap t = {.real = k < J->pl->K};
  if (!t.real) return t;
  int64_t k2 = k % p->k[2], k1 = k / p->k[2] % p->k[1], k0 = k / (p->k[2] * p->k[1]) % p->k[0];
  t.ic = k / (p->k[2] * p->k[1] * p->k[0]);
  t.i0o = k0 * p->dil[0] - p->pad[0];
  t.i1o = k1 * p->dil[1] - p->pad[1];
  t.off = k2 * p->dil[2] - p->pad[2];
  int64_t s2 = p->stride[2], in2 = p->in[2], off = t.off;  // valid o: 0 <= o * s2 + off < in2
  t.lo = off >= 0 ? 0 : (-off + s2 - 1) / s2;
  t.hi = in2 - off <= 0 ? 0 : (in2 - off + s2 - 1) / s2;
  if (t.hi > J->ow) t.hi = J->ow;
  if (t.lo > t.hi) t.lo = t.hi;
  return t;
}

/* Tap row: t[o] for o in [0, ow) = x byte at column o * s2 of src (flipped to uint8), fill
 * outside [lo, hi). Strides 1 and 2 by masked vectors (2: the even bytes by VPMOVWB); masked-off
 * bytes are neither read nor written. */
EO_VNNI static inline __attribute__((always_inline)) void tap_row(uint8_t *t, const uint8_t *src, int64_t lo,
                                                                  int64_t hi, int64_t ow, int64_t s2, uint8_t fill,
                                                                  uint8_t flip) {
  for (int64_t o = 0; o < lo; o++) t[o] = fill;
  int64_t o = lo;
  if (s2 == 1) {
    __m512i vf = _mm512_set1_epi8((char)flip);
    for (; o < hi; o += 64) {
      __mmask64 m = hi - o >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (hi - o)) - 1;
      _mm512_mask_storeu_epi8(t + o, m, _mm512_xor_si512(_mm512_maskz_loadu_epi8(m, src + o), vf));
    }
  } else if (s2 == 2) {
    __m256i vf = _mm256_set1_epi8((char)flip);
    for (; o < hi; o += 32) {
      int64_t n = hi - o < 32 ? hi - o : 32;  // outputs; the last reads byte 2 * (n - 1)
      __mmask64 ml = 2 * n - 1 >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (2 * n - 1)) - 1;
      __m256i v = _mm256_xor_si256(_mm512_cvtepi16_epi8(_mm512_maskz_loadu_epi8(ml, src + 2 * o)), vf);
      _mm256_mask_storeu_epi8(t + o, n == 32 ? ~(__mmask32)0 : ((__mmask32)1 << n) - 1, v);
    }
  } else {
    for (; o < hi; o++) t[o] = src[o * s2] ^ flip;
  }
  for (o = hi; o < ow; o++) t[o] = fill;
}

/* Copies n <= 128 bytes with two masked vectors (GCC turns a short memcpy into a slow REP MOVSQ). */
EO_VNNI static inline void copy128(uint8_t *d, const uint8_t *s, int64_t n) {
  __mmask64 m0 = n >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
  _mm512_mask_storeu_epi8(d, m0, _mm512_maskz_loadu_epi8(m0, s));
  if (n > 64) {
    __mmask64 m1 = n >= 128 ? ~(__mmask64)0 : ((__mmask64)1 << (n - 64)) - 1;
    _mm512_mask_storeu_epi8(d + 64, m1, _mm512_maskz_loadu_epi8(m1, s + 64));
  }
}

/* Plane mode: t[pos] for every output position pos = r * ow + o of the tap: x[ic][r + i1o][o + off]
 * (flipped to uint8), x_zp outside x. As ow = in2, x's index is pos + i1o * in2 + off: one
 * contiguous copy, then the columns that fall outside the row are set to x_zp. */
EO_VNNI static void tap_plane(const vjob *J, const tap *tp, uint8_t *t) {
  const eo_conv_params *p = &J->pl->p;
  int64_t ow = p->out[2], in2 = p->in[2], nr = p->out[1], P = J->P, shift = tp->i1o * in2 + tp->off;
  int64_t rlo = tp->i1o < 0 ? -tp->i1o : 0, rhi = p->in[1] - tp->i1o < nr ? p->in[1] - tp->i1o : nr;
  if (rhi < rlo) rhi = rlo;
  int64_t a = rlo * ow, b = rhi * ow;  // rows inside x; then positions whose index is inside the plane
  if (a < -shift) a = -shift;
  if (b > in2 * p->in[1] - shift) b = in2 * p->in[1] - shift;
  if (b < a) b = a;
  uint8_t fill = J->xzp, flip = J->pl->x_signed ? 0x80 : 0;
  memset(t, fill, (size_t)a);
  tap_row(t + a, J->x + tp->ic * p->in[1] * in2 + a + shift, 0, b - a, b - a, 1, fill, flip);
  memset(t + b, fill, (size_t)(P - b));
  if (tp->off != 0)  // border columns of the rows in [rlo, rhi) that read the neighbouring row
    for (int64_t r = rlo; r < rhi; r++) {
      int64_t c0 = tp->off < 0 ? 0 : in2 - tp->off, c1 = tp->off < 0 ? -tp->off : ow;
      if (c0 < 0) c0 = 0;
      if (c1 > ow) c1 = ow;
      for (int64_t c = c0; c < c1; c++) t[r * ow + c] = fill;
    }
}

/* Patch matrix rows kq in [kq0, kq1) for output rows [r0, r1) into col (positions counted from
 * row r0's first, tiles of NR). Per output row: the 4 tap rows, interleaved 16 positions at a time
 * into a row buffer (its last vector may run past the row), then copied into the tiles. */
EO_VNNI static void fill_cols(const vjob *J, uint8_t *col, int64_t kq0, int64_t kq1, int64_t r0, int64_t r1,
                              int worker) {
  const eo_conv_params *p = &J->pl->p;
  int64_t ow = J->ow, s2 = p->stride[2], in2 = p->in[2], np = (r1 - r0) * ow;
  uint8_t flip = J->pl->x_signed ? 0x80 : 0;
  uint8_t *t[4], *il = eo_threadpool_local(J->pool, worker, (size_t)(8 * J->rowlen), J->rows + worker * 8 * J->rowlen);
  for (int j = 0; j < 4; j++) t[j] = il + (4 + j) * J->rowlen;
  for (int64_t kq = kq0; kq < kq1; kq++) {
    tap tp[4];
    for (int j = 0; j < 4; j++) tp[j] = tap_of(J, kq * 4 + j);
    for (int64_t r = r0; r < r1; r++) {
      int64_t o0 = r / p->out[1], o1 = r % p->out[1], pi = (r - r0) * ow;
      for (int j = 0; j < 4; j++) {
        if (J->flat) {
          if (tp[j].real)
            tap_plane(J, &tp[j], t[j]);
          else
            memset(t[j], 0, (size_t)ow);
          continue;
        }
        int64_t i0 = o0 * p->stride[0] + tp[j].i0o, i1 = o1 * p->stride[1] + tp[j].i1o;
        if (!tp[j].real || i0 < 0 || i0 >= p->in[0] || i1 < 0 || i1 >= p->in[1]) {
          memset(t[j], tp[j].real ? J->xzp : 0, (size_t)ow);
          continue;
        }
        tap_row(t[j], J->x + ((tp[j].ic * p->in[0] + i0) * p->in[1] + i1) * in2 + tp[j].off, tp[j].lo, tp[j].hi, ow,
                s2, J->xzp, flip);
      }
      for (int64_t o = 0; o < ow; o += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(t[0] + o)), b = _mm_loadu_si128((const __m128i *)(t[1] + o));
        __m128i c = _mm_loadu_si128((const __m128i *)(t[2] + o)), e = _mm_loadu_si128((const __m128i *)(t[3] + o));
        __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
        __m128i ce0 = _mm_unpacklo_epi8(c, e), ce1 = _mm_unpackhi_epi8(c, e);
        _mm_storeu_si128((__m128i *)(il + o * 4), _mm_unpacklo_epi16(ab0, ce0));
        _mm_storeu_si128((__m128i *)(il + o * 4 + 16), _mm_unpackhi_epi16(ab0, ce0));
        _mm_storeu_si128((__m128i *)(il + o * 4 + 32), _mm_unpacklo_epi16(ab1, ce1));
        _mm_storeu_si128((__m128i *)(il + o * 4 + 48), _mm_unpackhi_epi16(ab1, ce1));
      }
      for (int64_t o = 0; o < ow;) {  // segments of the row inside one tile
        int64_t pp = pi + o, n = NR - pp % NR < ow - o ? NR - pp % NR : ow - o;
        copy128(col + pp / NR * J->ts + kq * J->ks + pp % NR * 4, il + o * 4, n * 4);
        o += n;
      }
    }
    if (np % NR)  // the last tile's positions past the rows: zeros (their sums are never stored)
      memset(col + np / NR * J->ts + kq * J->ks + np % NR * 4, 0, (size_t)(NR - np % NR) * 4);
  }
}

/* eo_qs8_requant on 16 accumulators: lo / hi are qmin - y_zp and qmax - y_zp, zp is y_zp. */
EO_VNNI static inline __m512i requant16(__m512i acc, __m512 scale, __m512 lo, __m512 hi, __m512i zp) {
  const __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(acc), scale), lo), hi);
  return _mm512_add_epi32(_mm512_cvtps_epi32(v), zp);
}

/* v: 16 vectors of [16 channels] for positions 0..15 (those from n on are never stored). Transposed,
 * then channel c < nc stored as n consecutive outputs at y + at + c * cstride: the low bytes, or the
 * int32s (i32). */
EO_VNNI static inline void store_tr16(__m512 v[16], int n, int64_t nc, void *y, int64_t at, int64_t cstride, bool i32) {
  const __mmask16 m = n >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << n) - 1);
  eo_tr16_avx512(v);
  for (int64_t c = 0; c < nc; c++) {
    const __m512i e = _mm512_castps_si512(v[c]);
    if (i32)
      _mm512_mask_storeu_epi32((int32_t *)y + at + c * cstride, m, e);
    else
      _mm_mask_storeu_epi8((uint8_t *)y + at + c * cstride, m, _mm512_cvtepi32_epi8(e));
  }
}

/* Requantizes 16 accumulators of one output channel and stores cnt (<= 16) bytes. */
EO_VNNI static inline void store16(__m512i acc, __m512 scale, __m512 lo, __m512 hi, __m512i zp, uint8_t *y, int cnt) {
  __m128i b = _mm512_cvtepi32_epi8(requant16(acc, scale, lo, hi, zp));
  if (cnt == 16)
    _mm_storeu_si128((__m128i *)y, b);
  else
    _mm_mask_storeu_epi8(y, (__mmask16)((1u << cnt) - 1), b);
}

/* Channel block blk (8 channels) times the tiles [t0, t1) of a patch matrix whose position 0 is
 * output position pbase; np positions in that matrix. */
EO_VNNI static void gemm_block(const vjob *J, const uint8_t *col, int64_t blk, int64_t t0, int64_t t1, int64_t pbase,
                               int64_t np) {
  const eo_qs8_conv_plan *pl = J->pl;
  const eo_qconv_quant *q = J->q;
  int64_t cog = pl->p.c_out / pl->p.groups, oc0 = blk * MR, nb = cog - oc0 < MR ? cog - oc0 : MR;
  int64_t K4 = pl->K4, P = J->P;
  const int32_t *wb = pl->wpk + (J->g * pl->ocb + blk) * K4 * MR;
  int32_t qmin = q->y_signed ? -128 : 0, qmax = q->y_signed ? 127 : 255;
  __m512 lo = _mm512_set1_ps((float)(qmin - q->y_zp)), hi = _mm512_set1_ps((float)(qmax - q->y_zp));
  __m512i zp = _mm512_set1_epi32(q->y_zp);
  int64_t gc = J->g * cog + oc0;  // global channel of the block's first
  int32_t corr[MR];
  for (int j = 0; j < MR; j++) corr[j] = j < nb ? J->corr[gc + j] : 0;
  for (int64_t tl = t0; tl < t1; tl++) {
    // sixteen named accumulators (8 channels x 2 vectors of 16 positions) so they stay in registers
#define EO_ACC(j) __m512i a##j##0 = _mm512_set1_epi32(corr[j]), a##j##1 = a##j##0;
    EO_ACC(0) EO_ACC(1) EO_ACC(2) EO_ACC(3) EO_ACC(4) EO_ACC(5) EO_ACC(6) EO_ACC(7)
#undef EO_ACC
    const uint8_t *cp = col + tl * J->ts;
    const int32_t *w = wb;
    if (np - tl * NR <= 16) {  // a last tile of at most 16 positions (14x14: 196 = 6 x 32 + 4): half the work
      for (int64_t kq = 0; kq < K4; kq++, cp += J->ks, w += MR) {
        __m512i c0 = _mm512_loadu_si512(cp), wv;
#define EO_DOT(j)         \
  wv = _mm512_set1_epi32(w[j]); \
  EO_DPBUSD(a##j##0, c0, wv);
        EO_DOT(0) EO_DOT(1) EO_DOT(2) EO_DOT(3) EO_DOT(4) EO_DOT(5) EO_DOT(6) EO_DOT(7)
#undef EO_DOT
      }
    } else {
      for (int64_t kq = 0; kq < K4; kq++, cp += J->ks, w += MR) {
        __m512i c0 = _mm512_loadu_si512(cp), c1 = _mm512_loadu_si512(cp + 64), wv;
#define EO_DOT(j)         \
  wv = _mm512_set1_epi32(w[j]); \
  EO_DPBUSD(a##j##0, c0, wv);   \
  EO_DPBUSD(a##j##1, c1, wv);
        EO_DOT(0) EO_DOT(1) EO_DOT(2) EO_DOT(3) EO_DOT(4) EO_DOT(5) EO_DOT(6) EO_DOT(7)
#undef EO_DOT
      }
    }
    __m512i acc[MR][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31},
                          {a40, a41}, {a50, a51}, {a60, a61}, {a70, a71}};
    int64_t p0 = tl * NR, n0 = np - p0 < 16 ? np - p0 : 16, n1 = np - p0 - 16 < 16 ? np - p0 - 16 : 16;
    if (pl->out_i32) {
      __mmask16 m0 = n0 == 16 ? (__mmask16)0xffff : (__mmask16)((1u << n0) - 1);
      __mmask16 m1 = n1 >= 16 ? (__mmask16)0xffff : n1 > 0 ? (__mmask16)((1u << n1) - 1) : 0;
      for (int j = 0; j < nb; j++) {
        int32_t *yr = (int32_t *)J->y + (oc0 + j) * P + pbase + p0;
        _mm512_mask_storeu_epi32(yr, m0, acc[j][0]);
        _mm512_mask_storeu_epi32(yr + 16, m1, acc[j][1]);
      }
      continue;
    }
    for (int j = 0; j < nb; j++) {
      __m512 s = _mm512_set1_ps(q->scale[gc + j]);
      uint8_t *yr = (uint8_t *)J->y + (oc0 + j) * P + pbase + p0;
      store16(acc[j][0], s, lo, hi, zp, yr, (int)n0);
      if (n1 > 0) store16(acc[j][1], s, lo, hi, zp, yr + 16, (int)n1);
    }
  }
}

/* K-quads per task of the patch matrix build: about 8 tasks per worker, not one per quad (up to
 * 1152 tasks of ~30 ns on resnet18's 512-channel layers, each claimed from a counter, and a task
 * taken from the other worker's share moves that counter between the cores). resnet18 INT8 at 2
 * threads, back to back: 2.59 -> 2.56 ms, and 3.53 -> 3.50 with the two vCPUs on two core complexes. */
static int64_t quads_per_task(const eo_qs8_conv_plan *pl) {
  const int64_t q = pl->K4 / (8 * (int64_t)pl->nworkers);
  return q > 1 ? q : 1;
}

/* The k-quads [*k0, *k1) of build task `index`. */
static void task_quads(const vjob *J, size_t index, int64_t *k0, int64_t *k1) {
  *k0 = (int64_t)index * J->kq_per;
  *k1 = *k0 + J->kq_per < J->pl->K4 ? *k0 + J->kq_per : J->pl->K4;
}

/* K-quads [index * kq_per, ...) of the patch matrix. */
EO_VNNI static void im2col_task(void *ctx, size_t index, int worker) {
  const vjob *J = ctx;
  int64_t k0, k1;
  task_quads(J, index, &k0, &k1);
  fill_cols(J, J->col, k0, k1, 0, J->nrows, worker);
}

/* A channel block times 4 tiles of the patch matrix. */
EO_VNNI static void gemm_task(void *ctx, size_t index, int worker) {
  (void)worker;
  const vjob *J = ctx;
  int64_t nt = (J->P + NR - 1) / NR, ntc = (nt + 3) / 4, blk = (int64_t)index / ntc, t0 = (int64_t)index % ntc * 4;
  gemm_block(J, J->col, blk, t0, t0 + 4 < nt ? t0 + 4 : nt, 0, J->P);
}

/* Plane mode: a 2-D conv with stride 1 whose output rows are as wide as the input's (pointwise, or
 * "same" padding) reads, for one tap, all output rows as one contiguous stretch of x plus fixed-up
 * border columns: the patch matrix is built a whole plane at a time, without per-row overhead on
 * small feature maps. Planes up to 16384 positions (the per-worker rows stay small). */
static bool plane_mode(const eo_conv_params *p) {
  return p->in[0] == 1 && p->out[0] == 1 && p->stride[1] == 1 && p->stride[2] == 1 && p->out[2] == p->in[2] &&
         out_p(p) <= 16384;
}

static int64_t row_len(const eo_conv_params *p) { return plane_mode(p) ? out_p(p) : p->out[2]; }

/* Tiles per fused_task, or 0 for the two-step scheme: with phase planes, when the packed weights
 * (every channel block) fit in L2 with room for the tiles (resnet18's 56x56 and 28x28 layers: 37 and
 * 147 KiB), in chunks that give every worker at least 4 and stay under 128 KiB. Larger weights would
 * be streamed again by every chunk. */
static int64_t fused_tiles(const eo_qs8_conv_plan *pl) {
  const int64_t nt = (out_p(&pl->p) + NR - 1) / NR, ts = pl->K4 * NR * 4;
  if (pl->lanes || !pl->tap_off || pl->ocb * pl->K4 * MR * 4 > 384 * 1024 || nt < 2 * pl->nworkers) return 0;
  int64_t f = nt / (4 * pl->nworkers), cap = 128 * 1024 / ts;
  f = f < cap ? f : cap;
  return f < 1 ? 1 : f;
}

/* Bytes of the patch matrix: whole, or fused_tiles for every worker. */
/* Bytes of one worker's fused_tiles tiles, and of its 8 patch rows (the row-by-row build). */
static int64_t fused_col_bytes(const eo_qs8_conv_plan *pl) { return fused_tiles(pl) * pl->K4 * NR * 4; }
static int64_t row_buf_bytes(const eo_qs8_conv_plan *pl) { return 8 * up(4 * row_len(&pl->p) + 64, 64); }

static int64_t col_bytes(const eo_qs8_conv_plan *pl) {
  const int64_t whole = pl->K4 * up(out_p(&pl->p), NR) * 4, fused = pl->nworkers * fused_col_bytes(pl);
  return up(whole > fused ? whole : fused, 64);
}

static int64_t lanes_stage_bytes(const eo_qs8_conv_plan *pl);

static int64_t vnni_rows_bytes(const eo_qs8_conv_plan *pl) {
  return pl->tap_off ? planes_bytes(pl) : pl->nworkers * row_buf_bytes(pl);
}

static size_t vnni_scratch(const eo_qs8_conv_plan *pl) {
  return (size_t)(col_bytes(pl) + up(pl->p.c_out * 4, 64) + vnni_rows_bytes(pl) +
                  (pl->lanes ? pl->nworkers * lanes_stage_bytes(pl) : 0));
}

/* Phase planes of channels [index * 8, ...) of the group's input: x_zp everywhere (the padding), then
 * each input row's bytes (flipped to uint8) into the row of each of its column phases. */
EO_VNNI static void planes_task(void *ctx, size_t index, int worker) {
  (void)worker;
  const vjob *J = ctx;
  const eo_qs8_conv_plan *pl = J->pl;
  const eo_conv_params *p = &pl->p;
  const int64_t sh = p->stride[1], sw = p->stride[2], ih = p->in[1], iw = p->in[2], cig = p->c_in / p->groups;
  const int64_t c0 = (int64_t)index * 8, c1 = c0 + 8 < cig ? c0 + 8 : cig, per_c = sh * sw * pl->plane_bytes;
  const uint8_t flip = pl->x_signed ? 0x80 : 0;
  int64_t lo[8], hi[8];  // per column phase px: columns q whose input column q * sw + px - pad_l is in [0, iw)
  for (int64_t px = 0; px < sw && px < 8; px++) {
    int64_t off = px - p->pad[2];
    lo[px] = off >= 0 ? 0 : (-off + sw - 1) / sw;
    hi[px] = iw - off <= 0 ? 0 : (iw - off + sw - 1) / sw;
    hi[px] = hi[px] < pl->wq ? hi[px] : pl->wq;
    lo[px] = lo[px] < hi[px] ? lo[px] : hi[px];
  }
  for (int64_t py = 0; py < sh; py++) {
    if (!eo_conv_phase_used(p->k[1], p->dil[1], sh, py)) continue;  // unread planes stay unset
    // plane rows r whose input row r * sh + py - pad_t lies in [0, ih): [r0, r1)
    const int64_t t = py - p->pad[1], r0 = t >= 0 ? 0 : (-t + sh - 1) / sh;
    int64_t r1 = ih - t <= 0 ? 0 : (ih - t + sh - 1) / sh;
    r1 = r1 < pl->hq ? r1 : pl->hq;
    for (int64_t px = 0; px < sw; px++) {
      if (!eo_conv_phase_used(p->k[2], p->dil[2], sw, px)) continue;
      const int64_t l = lo[px], n = hi[px] - lo[px], off = px - p->pad[2];
      const bool whole = sh == 1 && sw == 1 && n == iw && pl->wq == iw;  // no column padding: one run
      for (int64_t c = c0; c < c1; c++)  // x_zp everywhere (the padding), then the rows
        memset((uint8_t *)J->planes + c * per_c + (py * sw + px) * pl->plane_bytes, J->xzp, (size_t)pl->plane_bytes);
      for (int64_t c = c0; c < c1 && r0 < r1; c++) {
        uint8_t *d = (uint8_t *)J->planes + c * per_c + (py * sw + px) * pl->plane_bytes + l;
        const uint8_t *src = J->x + (c * ih + t) * iw + l * sw + off;
        if (whole) {
          tap_row(d + r0 * iw, src + r0 * iw, 0, (r1 - r0) * iw, (r1 - r0) * iw, 1, J->xzp, flip);
          continue;
        }
        for (int64_t r = r0; r < r1; r++) tap_row(d + r * pl->wq, src + r * sh * iw, 0, n, n, sw, J->xzp, flip);
      }
    }
  }
}

/* The 64 bytes at p, those at or past end read as 0 (never used: past the tile's positions). */
__attribute__((target("avx512f,avx512bw"))) static inline __m512i load_upto(const uint8_t *p, const uint8_t *end) {
  const int64_t n = end - p;
  return n >= 64 ? _mm512_loadu_si512(p) : n <= 0 ? _mm512_setzero_si512() : _mm512_maskz_loadu_epi8(_cvtu64_mask64((1ull << n) - 1), p);
}

/* Tiles [t0, t1) of k-quad kq of the patch matrix from the phase planes into dst (tile t0's quad; tiles
 * J->ts apart): per tile, the four taps' 64 bytes from the tile's first position, pairs of taps
 * gathered and interleaved by VPERMT2B, then the pairs by VPERMT2W (lo_w, hi_w) into
 * [32 positions][4 taps]. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static inline void cols_tiles(const vjob *J, int64_t kq,
                                                                                     int64_t t0, int64_t t1,
                                                                                     uint8_t *dst, __m512i lo_w,
                                                                                     __m512i hi_w) {
  const eo_qs8_conv_plan *pl = J->pl;
  const uint8_t *r0 = J->planes + pl->tap_off[4 * kq], *r1 = J->planes + pl->tap_off[4 * kq + 1];
  const uint8_t *r2 = J->planes + pl->tap_off[4 * kq + 2], *r3 = J->planes + pl->tap_off[4 * kq + 3];
  const uint8_t *rmax = r0 > r1 ? r0 : r1;  // taps past K read offset 0: the order is not fixed
  rmax = rmax > r2 ? rmax : r2;
  rmax = rmax > r3 ? rmax : r3;
  for (int64_t t = t0; t < t1; t++, dst += J->ts) {
    const int64_t b = pl->tile_base[t];
    const __m512i idx = _mm512_loadu_si512(pl->tile_idx + t * 64);
    __m512i a01, a23;
    if (J->pend && J->pend - (rmax + b) < 64) {  // x itself: the last tiles stop at its end
      a01 = _mm512_permutex2var_epi8(load_upto(r0 + b, J->pend), idx, load_upto(r1 + b, J->pend));
      a23 = _mm512_permutex2var_epi8(load_upto(r2 + b, J->pend), idx, load_upto(r3 + b, J->pend));
    } else {
      a01 = _mm512_permutex2var_epi8(_mm512_loadu_si512(r0 + b), idx, _mm512_loadu_si512(r1 + b));
      a23 = _mm512_permutex2var_epi8(_mm512_loadu_si512(r2 + b), idx, _mm512_loadu_si512(r3 + b));
    }
    _mm512_storeu_si512(dst, _mm512_permutex2var_epi16(a01, lo_w, a23));
    _mm512_storeu_si512(dst + 64, _mm512_permutex2var_epi16(a01, hi_w, a23));
  }
}

/* The word permutes of cols_tiles: position pair p -> (tap pair 0, tap pair 1) of positions 2p, 2p + 1. */
__attribute__((target("avx512f,avx512bw"))) static void cols_perms(__m512i *lo_w, __m512i *hi_w) {
  int16_t wl[32], wh[32];
  for (int i = 0; i < 16; i++) {
    wl[2 * i] = (int16_t)i, wl[2 * i + 1] = (int16_t)(32 + i);
    wh[2 * i] = (int16_t)(16 + i), wh[2 * i + 1] = (int16_t)(48 + i);
  }
  *lo_w = _mm512_loadu_si512(wl);
  *hi_w = _mm512_loadu_si512(wh);
}

/* K-quads [index * kq_per, ...) of the whole patch matrix. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void phase_cols_task(void *ctx, size_t index,
                                                                                    int worker) {
  (void)worker;
  const vjob *J = ctx;
  __m512i lo_w, hi_w;
  cols_perms(&lo_w, &hi_w);
  int64_t k0, k1;
  task_quads(J, index, &k0, &k1);
  for (int64_t kq = k0; kq < k1; kq++) cols_tiles(J, kq, 0, (J->P + NR - 1) / NR, J->col + kq * J->ks, lo_w, hi_w);
}

/* Fused build and product: tiles [index * fuse, ...) of the patch matrix (every k-quad) into the
 * worker's own scratch, then every channel block times them while they are in L2. No barrier
 * between the two and no core reads rows another one built. Where the weights stay in L2 beside the
 * tiles (fused_tiles). */
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi"))) static void fused_task(void *ctx,
                                                                                                 size_t index,
                                                                                                 int worker) {
  const vjob *J = ctx;
  const int64_t nt = (J->P + NR - 1) / NR, t0 = (int64_t)index * J->fuse, t1 = t0 + J->fuse < nt ? t0 + J->fuse : nt;
  const int64_t cb = J->fuse * J->ts;
  uint8_t *col = eo_threadpool_local(J->pool, worker, (size_t)cb, J->col + worker * cb);
  __m512i lo_w, hi_w;
  cols_perms(&lo_w, &hi_w);
  for (int64_t kq = 0; kq < J->pl->K4; kq++) cols_tiles(J, kq, t0, t1, col + kq * J->ks, lo_w, hi_w);
  for (int64_t blk = 0; blk < J->pl->ocb; blk++) gemm_block(J, col, blk, 0, t1 - t0, t0 * NR, J->P - t0 * NR);
}

/* ---- channels as lanes (small maps) ----
 * On maps whose 32-position tiles leave many lanes idle (7x7: 49 positions in 64 lanes), the output
 * channels go in the lanes instead: weights packed at prepare as [block of 48 channels][K4][3 vectors
 * of 16 channels][4 bytes] (vectors past c_out absent, channels past it zero), and each of up to 7
 * positions' 4 patch bytes broadcast from the patch matrix the other path builds. A register tile of
 * 3 channel vectors x 7 positions (21 accumulators): per k-quad 3 weight loads and 7 broadcasts for 21
 * VPDPBUSD, every lane useful. The sums are the same integers, requantized as store16: exact. */

/* Position-lane utilization (the last tile of <= 16 positions runs half) below 85% and below the
 * channel-lane one: one group only (the packed blocks hold one group's channels). */
static bool lanes_pick(const eo_conv_params *p) {
  if (p->groups != 1) return false;
  const int64_t P = out_p(p), r = P % NR, lanes = P / NR * NR + (r == 0 ? 0 : r <= 16 ? 16 : NR);
  const double upos = (double)P / (double)lanes * (double)p->c_out / (double)up(p->c_out, MR);
  const double uch = (double)p->c_out / (double)up(p->c_out, 16);
  return upos < 0.85 && uch > upos;
}

/* Positions [pa, pb) split into tasks: groups of LP per block, more than one part per block when
 * there are fewer blocks than 2 tasks per worker. */
static int64_t lanes_parts(const eo_qs8_conv_plan *pl) {
  const int64_t npg = (out_p(&pl->p) + LP - 1) / LP, nb = pl->ocb;
  if (nb >= 2 * pl->nworkers) return 1;
  int64_t parts = (2 * pl->nworkers + nb - 1) / nb;
  return parts < npg ? parts : npg;
}

/* int32 bytes of one worker's staging (the sums of its task: [positions][LC]). */
static int64_t lanes_stage_bytes(const eo_qs8_conv_plan *pl) {
  const int64_t npg = (out_p(&pl->p) + LP - 1) / LP, parts = lanes_parts(pl);
  return up(up((npg + parts - 1) / parts * LP, 16) * LC * 4, 64);  // whole 16-row blocks for the transposes
}

/* nv channel vectors x np positions from p0, every k-quad: raw sums (corr included) into st
 * ([np][LC] int32). The intrinsic, not EO_DPBUSD: here GCC keeps the 21 accumulators in registers
 * with it (the asm version added register copies to the loop; same speed). */
EO_VNNI static inline __attribute__((always_inline)) void lanes_tile(const vjob *J, const int8_t *wb, const int nv,
                                                                     const int np, int64_t p0, const __m512i *cv,
                                                                     int32_t *st) {
  __m512i acc[LV][LP];
  const uint8_t *xp[LP];
#pragma GCC unroll 8
  for (int j = 0; j < np; j++) {
    const int64_t p = p0 + j;
    xp[j] = J->col + p / NR * J->ts + p % NR * 4;
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) acc[v][j] = cv[v];
  }
  const int64_t K4 = J->pl->K4, ks = J->ks;
  for (int64_t kq = 0, off = 0; kq < K4; kq++, off += ks, wb += nv * 64) {
    __m512i w[LV];
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) w[v] = _mm512_loadu_si512(wb + v * 64);
#pragma GCC unroll 8
    for (int j = 0; j < np; j++) {
      int32_t b;
      memcpy(&b, xp[j] + off, 4);
      const __m512i xb = _mm512_set1_epi32(b);
#pragma GCC unroll 4
      for (int v = 0; v < nv; v++) acc[v][j] = _mm512_dpbusd_epi32(acc[v][j], xb, w[v]);
    }
  }
#pragma GCC unroll 8
  for (int j = 0; j < np; j++)
#pragma GCC unroll 4
    for (int v = 0; v < nv; v++) _mm512_storeu_si512(st + j * LC + v * 16, acc[v][j]);
}

typedef void (*lanes_fn)(const vjob *, const int8_t *, int64_t, const __m512i *, int32_t *);
#define EO_LANES(NV, NP)                                                                                      \
  EO_VNNI static void lanes_##NV##_##NP(const vjob *J, const int8_t *wb, int64_t p0, const __m512i *cv,      \
                                        int32_t *st) {                                                       \
    lanes_tile(J, wb, NV, NP, p0, cv, st);                                                                   \
  }
#define EO_LANES_NV(NV) \
  EO_LANES(NV, 1) EO_LANES(NV, 2) EO_LANES(NV, 3) EO_LANES(NV, 4) EO_LANES(NV, 5) EO_LANES(NV, 6) EO_LANES(NV, 7)
EO_LANES_NV(1)
EO_LANES_NV(2)
EO_LANES_NV(3)
#undef EO_LANES_NV
#undef EO_LANES
static const lanes_fn lanes_fns[LV][LP] = {
    {lanes_1_1, lanes_1_2, lanes_1_3, lanes_1_4, lanes_1_5, lanes_1_6, lanes_1_7},
    {lanes_2_1, lanes_2_2, lanes_2_3, lanes_2_4, lanes_2_5, lanes_2_6, lanes_2_7},
    {lanes_3_1, lanes_3_2, lanes_3_3, lanes_3_4, lanes_3_5, lanes_3_6, lanes_3_7}};

/* Block blk (LC channels) x its part of the positions: sums per group of LP positions into the
 * worker's staging, requantized there (as store16) per position, then written to the NCHW rows. */
EO_VNNI static void lanes_task(void *ctx, size_t index, int worker) {
  const vjob *J = ctx;
  const eo_qs8_conv_plan *pl = J->pl;
  const eo_qconv_quant *q = J->q;
  const int64_t P = J->P, parts = lanes_parts(pl), blk = (int64_t)index / parts, part = (int64_t)index % parts;
  const int64_t npg = (P + LP - 1) / LP, pa = part * npg / parts * LP, pe = (part + 1) * npg / parts * LP;
  const int64_t pb = pe < P ? pe : P, oc0 = blk * LC, nch = pl->p.c_out - oc0 < LC ? pl->p.c_out - oc0 : LC;
  const int nv = (int)((nch + 15) / 16);
  const int8_t *wb = (const int8_t *)pl->wpk + blk * pl->K4 * LC * 4;
  int32_t *st = eo_threadpool_local(J->pool, worker, (size_t)J->stage_bytes, J->stage + worker * J->stage_bytes);
  __mmask16 m[LV];
  __m512i cv[LV];
  for (int v = 0; v < LV; v++) {
    const int64_t n = nch - 16 * v;
    m[v] = n >= 16 ? (__mmask16)0xffff : n > 0 ? (__mmask16)((1u << n) - 1) : 0;
    cv[v] = _mm512_maskz_loadu_epi32(m[v], J->corr + oc0 + 16 * v);
  }
  for (int64_t p0 = pa; p0 < pb; p0 += LP) {
    const int64_t np = pb - p0 < LP ? pb - p0 : LP;
    lanes_fns[nv - 1][np - 1](J, wb, p0, cv, st + (p0 - pa) * LC);
  }
  // 16 positions x 16 channels at a time: requantized (channels in lanes), transposed, stored per channel
  const int64_t n = pb - pa;
  const int32_t qmin = q->y_signed ? -128 : 0, qmax = q->y_signed ? 127 : 255;
  const __m512 lo = _mm512_set1_ps((float)(qmin - q->y_zp)), hi = _mm512_set1_ps((float)(qmax - q->y_zp));
  const __m512i zp = _mm512_set1_epi32(q->y_zp);
  for (int v = 0; v < nv; v++) {
    const __m512 s = pl->out_i32 ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m[v], q->scale + oc0 + 16 * v);  // int32: no scale
    const int64_t nc = nch - 16 * v < 16 ? nch - 16 * v : 16;
    for (int64_t i0 = 0; i0 < n; i0 += 16) {
      const int ni = n - i0 < 16 ? (int)(n - i0) : 16;  // rows past n: stale staging, never stored
      __m512 r[16];
      for (int j = 0; j < 16; j++) {
        const __m512i a = _mm512_loadu_si512(st + (i0 + j) * LC + 16 * v);
        r[j] = _mm512_castsi512_ps(pl->out_i32 ? a : requant16(a, s, lo, hi, zp));
      }
      store_tr16(r, ni, nc, J->y, (oc0 + 16 * v) * P + pa + i0, P, pl->out_i32);
    }
  }
}

/* Bytes of each worker's own buffer: its depthwise scratch, or the largest of its fused patch-matrix
 * tiles, patch rows and lanes staging (each a slice of the step's scratch too, for a pool without
 * per-worker buffers). */
size_t eo_qs8_conv_plan_local(const eo_qs8_conv_plan *pl) {
  if (pl->kind == EO_QS8_DW_AVX512) return (size_t)dw_per(&pl->p, pl->out_i32) * sizeof(float);
  int64_t col = fused_col_bytes(pl), rows = pl->tap_off ? 0 : row_buf_bytes(pl);
  int64_t stage = pl->lanes ? lanes_stage_bytes(pl) : 0, m = col > rows ? col : rows;
  return (size_t)(m > stage ? m : stage);
}

static void run_vnni(const eo_qs8_conv_plan *pl, const eo_qconv_quant *q, const void *x, void *y, void *scratch,
                     eo_threadpool *pool) {
  const eo_conv_params *p = &pl->p;
  int64_t P = out_p(p), cig = p->c_in / p->groups, cog = p->c_out / p->groups;
  int64_t insz = p->in[0] * p->in[1] * p->in[2];
  uint8_t *col = scratch;
  int32_t *corr = (int32_t *)(col + col_bytes(pl));
  uint8_t *rows = (uint8_t *)corr + up(p->c_out * 4, 64);  // or the phase planes
  int32_t xzp = pl->x_signed ? q->x_zp + 128 : q->x_zp;
  for (int64_t oc = 0; oc < p->c_out; oc++) corr[oc] = (q->bias ? q->bias[oc] : 0) - xzp * pl->wsum[oc];
  int64_t ow = row_len(p);
  vjob J = {.pl = pl, .q = q, .col = col, .rows = rows, .planes = rows, .pend = NULL, .rowlen = up(4 * ow + 64, 64), .corr = corr, .P = P,
            .pool = pool, .nrows = P / ow, .ow = ow, .flat = plane_mode(p), .xzp = (uint8_t)xzp};
  J.ts = pl->K4 * NR * 4, J.ks = NR * 4, J.fuse = fused_tiles(pl), J.kq_per = quads_per_task(pl);
  J.stage = rows + vnni_rows_bytes(pl), J.stage_bytes = pl->lanes ? lanes_stage_bytes(pl) : 0;
  int64_t ntc = ((P + NR - 1) / NR + 3) / 4, nt = (P + NR - 1) / NR;
  for (int64_t n = 0; n < p->batch; n++)
    for (int64_t g = 0; g < p->groups; g++) {
      J.g = g;
      J.x = (const uint8_t *)x + (n * p->c_in + g * cig) * insz;
      J.y = (uint8_t *)y + (n * p->c_out + g * cog) * P * (pl->out_i32 ? 4 : 1);
      if (pl->x_is_planes)
        J.planes = J.x, J.pend = J.x + cig * insz;
      else if (pl->tap_off)
        eo_threadpool_run(pool, (size_t)((cig + 7) / 8), planes_task, &J);
      if (J.fuse) {
        eo_threadpool_run(pool, (size_t)((nt + J.fuse - 1) / J.fuse), fused_task, &J);
        continue;
      }
      eo_threadpool_run(pool, (size_t)((pl->K4 + J.kq_per - 1) / J.kq_per), pl->tap_off ? phase_cols_task : im2col_task,
                        &J);
      if (pl->lanes)
        eo_threadpool_run(pool, (size_t)(pl->ocb * lanes_parts(pl)), lanes_task, &J);
      else
        eo_threadpool_run(pool, (size_t)(pl->ocb * ntc), gemm_task, &J);
    }
}

/* ---- depthwise ---- */

typedef struct djob {
  const eo_qs8_conv_plan *pl;
  const eo_qconv_quant *q;
  const void *x;
  void *y;
  float *scratch;
  int64_t per;          /* floats of scratch per worker */
  eo_threadpool *pool;  /* its per-worker buffers, when it has them, instead of the scratch */
  int64_t chunk, n;     /* units per task, and in all */
  int64_t blk, upi;     /* per image: blocks of 16 channels, units (blocks, then single planes) */
} djob;

/* Wide-grid depthwise (strides 1 or 2, any dilation; the scheme of f32-dwconv2d-avx512.c): the
 * padded plane of x - x_zp as float, split into SH*SW phase planes of hq x wq, outputs on the wide
 * grid j = oy*wq + ox, so every tap of 16 outputs is one load at a fixed offset of its phase plane,
 * stride 2 included (no per-tap deinterleave). */
static bool dw_wide_geo(const eo_conv_params *p, int64_t *hq, int64_t *wq) {
  const int64_t sh = p->stride[1], sw = p->stride[2];
  *hq = p->out[1] + (p->k[1] - 1) * p->dil[1] / (sh > 0 ? sh : 1);
  *wq = p->out[2] + (p->k[2] - 1) * p->dil[2] / (sw > 0 ? sw : 1);
  return sh >= 1 && sh <= 2 && sw >= 1 && sw <= 2 && p->out[1] >= 1 && p->out[2] >= 1;
}

/* Floats per worker: the phase planes, 64 more (the last 4 vectors, past nw, read up to 63 floats
 * past a plane), then the wide output (bytes, or int32s; 64 past nw) in floats, plus slack. */
static int64_t dw_wide_floats(const eo_conv_params *p, bool out_i32) {
  int64_t hq, wq;
  if (!dw_wide_geo(p, &hq, &wq)) return 0;
  const int64_t nw = (p->out[1] - 1) * wq + p->out[2];
  return p->stride[1] * p->stride[2] * hq * wq + 64 + (out_i32 ? nw + 64 : (nw + 64 + 3) / 4) + 16;
}

/* One (image, channel) plane on the wide grid; KT: taps fixed at compile time (9 or 25), 0: any. */
EO_VNNI static inline __attribute__((always_inline)) void dw_wide_plane(const djob *J, size_t index, int worker,
                                                                const int KT) {
  const eo_conv_params *p = &J->pl->p;
  const eo_qconv_quant *q = J->q;
  const int64_t c = (int64_t)index % p->c_out, ih = p->in[1], iw = p->in[2], oh = p->out[1], ow = p->out[2];
  const int64_t kh = p->k[1], kw = p->k[2], sh = p->stride[1], sw = p->stride[2], dh = p->dil[1], dwl = p->dil[2];
  int64_t hq, wq;
  dw_wide_geo(p, &hq, &wq);
  const int64_t pq = hq * wq, nw = (oh - 1) * wq + ow, nt = kh * kw;
  float *xp = eo_threadpool_local(J->pool, worker, (size_t)(J->per * 4), J->scratch + worker * J->per);
  const uint8_t *xb = (const uint8_t *)J->x + (int64_t)index * ih * iw;
  const __m512i xz = _mm512_set1_epi32(q->x_zp);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  for (int64_t py = 0; py < sh; py++)
    for (int64_t px = 0; px < sw; px++) {
      float *pl = xp + (py * sw + px) * pq;
      // plane column qc holds input column qc*sw + px - pad_l: inside x for qc in [qa, qb)
      int64_t qa, qb;
      eo_dw_phase_range(iw, p->pad[2], sw, px, wq, &qa, &qb);
      for (int64_t r = 0; r < hq; r++) {
        float *d = pl + r * wq;
        const int64_t iy = r * sh + py - p->pad[1];
        if (iy < 0 || iy >= ih || qa == qb) {
          memset(d, 0, (size_t)wq * sizeof(float));
          continue;
        }
        memset(d, 0, (size_t)qa * sizeof(float));
        const uint8_t *s = xb + iy * iw + qa * sw + px - p->pad[2];
        const int64_t n = qb - qa;
        for (int64_t k = 0; k < n; k += 16) {
          const int cnt = n - k < 16 ? (int)(n - k) : 16;
          __m512i e;
          if (sw == 1) {
            __m128i b = _mm_maskz_loadu_epi8((__mmask16)((1u << cnt) - 1), s + k);
            e = q->x_signed ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
          } else {  // even bytes of 2*cnt - 1
            const int span = 2 * cnt - 1;
            __m128i b0 = _mm_maskz_loadu_epi8((__mmask16)((1u << (span < 16 ? span : 16)) - 1), s + 2 * k);
            __m128i b1 = _mm_maskz_loadu_epi8((__mmask16)((1u << (span > 16 ? span - 16 : 0)) - 1), s + 2 * k + 16);
            __m512i e0 = q->x_signed ? _mm512_cvtepi8_epi32(b0) : _mm512_cvtepu8_epi32(b0);
            __m512i e1 = q->x_signed ? _mm512_cvtepi8_epi32(b1) : _mm512_cvtepu8_epi32(b1);
            e = _mm512_permutex2var_epi32(e0, even, e1);
          }
          _mm512_mask_storeu_ps(d + qa + k, (__mmask16)((1u << cnt) - 1), _mm512_cvtepi32_ps(_mm512_sub_epi32(e, xz)));
        }
        memset(d + qb, 0, (size_t)(wq - qb) * sizeof(float));
      }
    }
  memset(xp + sh * sw * pq, 0, 64 * sizeof(float));
  int64_t off[256];
  eo_dw_phase_taps(kh, kw, dh, dwl, sh, sw, pq, wq, off);
  const float *w = J->pl->wdw + c * nt;
  __m512 wv[25];
  if (KT)
    for (int t = 0; t < KT; t++) wv[t] = _mm512_set1_ps(w[t]);
  const int32_t qmin = q->y_signed ? -128 : 0, qmax = q->y_signed ? 127 : 255;
  const bool i32 = J->pl->out_i32;
  const __m512 vs = _mm512_set1_ps(i32 ? 1.0f : q->scale[c]), vlo = _mm512_set1_ps((float)(qmin - q->y_zp)),
               vhi = _mm512_set1_ps((float)(qmax - q->y_zp));
  const __m512i vb = _mm512_set1_epi32(q->bias ? q->bias[c] : 0), vz = _mm512_set1_epi32(q->y_zp);
  uint8_t *tb = (uint8_t *)(xp + sh * sw * pq + 64);  // the wide output
  enum { NB = 4 };
  for (int64_t j = 0; j < nw; j += 16 * NB) {
    __m512 acc[NB];
    for (int b = 0; b < NB; b++) acc[b] = _mm512_setzero_ps();
    const float *xj = xp + j;
    // blocks past nw read up to 63 floats past the last plane's end: computed, never copied out
    if (KT) {
#pragma GCC unroll 25
      for (int t = 0; t < KT; t++)
        for (int b = 0; b < NB; b++) acc[b] = _mm512_fmadd_ps(wv[t], _mm512_loadu_ps(xj + off[t] + 16 * b), acc[b]);
    } else {
      for (int64_t t = 0; t < nt; t++) {
        const __m512 wt = _mm512_set1_ps(w[t]);
        for (int b = 0; b < NB; b++) acc[b] = _mm512_fmadd_ps(wt, _mm512_loadu_ps(xj + off[t] + 16 * b), acc[b]);
      }
    }
    for (int b = 0; b < NB; b++) {
      // requantization as eo_qs8_requant: acc is an exact integer in float
      __m512i a = _mm512_add_epi32(_mm512_cvtps_epi32(acc[b]), vb);
      const int64_t f = j + 16 * b;
      if (i32) {
        _mm512_storeu_si512(tb + f * 4, a);
        continue;
      }
      _mm_storeu_si128((__m128i *)(tb + f), _mm512_cvtepi32_epi8(requant16(a, vs, vlo, vhi, vz)));
    }
  }
  uint8_t *yb = (uint8_t *)J->y + (int64_t)index * oh * ow * (i32 ? 4 : 1);
  if (i32) {
    for (int64_t oy = 0; oy < oh; oy++)
      for (int64_t ox = 0; ox < ow; ox += 16) {
        __mmask16 m = ow - ox >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (ow - ox)) - 1);
        _mm512_mask_storeu_epi32(yb + (oy * ow + ox) * 4, m, _mm512_maskz_loadu_epi32(m, tb + (oy * wq + ox) * 4));
      }
    return;
  }
  for (int64_t oy = 0; oy < oh; oy++)
    for (int64_t ox = 0; ox < ow; ox += 64) {
      __mmask64 m = ow - ox >= 64 ? ~(__mmask64)0 : ((__mmask64)1 << (ow - ox)) - 1;
      _mm512_mask_storeu_epi8(yb + oy * ow + ox, m, _mm512_maskz_loadu_epi8(m, tb + oy * wq + ox));
    }
}

/* One (image, channel) plane, row by row (strides above 2). */
EO_VNNI static void dw_rows_plane(const djob *J, size_t index, int worker) {
  const eo_conv_params *p = &J->pl->p;
  const eo_qconv_quant *q = J->q;
  int64_t c = (int64_t)index % p->c_out, ph, pw;
  dw_plane(p, &ph, &pw);
  float *plane = eo_threadpool_local(J->pool, worker, (size_t)(J->per * 4), J->scratch + worker * J->per);
  int64_t ih = p->in[1], iw = p->in[2], oh = p->out[1], ow = p->out[2], kh = p->k[1], kw = p->k[2];
  int64_t sh = p->stride[1], sw = p->stride[2], dh = p->dil[1], dw = p->dil[2];
  // the padded plane of x - x_zp (0 outside x); the conv may not read x's last rows / columns
  const uint8_t *xb = (const uint8_t *)J->x + (int64_t)index * ih * iw;
  int64_t left = p->pad[2] < pw ? p->pad[2] : pw, ncol = iw < pw - left ? iw : pw - left;
  __m512i xz = _mm512_set1_epi32(q->x_zp);
  for (int64_t r = 0; r < ph; r++) {
    float *d = plane + r * pw;
    int64_t i = r - p->pad[1];
    if (i < 0 || i >= ih) {
      memset(d, 0, (size_t)pw * sizeof(float));
      continue;
    }
    memset(d, 0, (size_t)left * sizeof(float));
    for (int64_t j = 0; j < ncol; j += 16) {
      __mmask16 m = ncol - j >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (ncol - j)) - 1);
      __m128i b = _mm_maskz_loadu_epi8(m, xb + i * iw + j);
      __m512i e = q->x_signed ? _mm512_cvtepi8_epi32(b) : _mm512_cvtepu8_epi32(b);
      _mm512_mask_storeu_ps(d + left + j, m, _mm512_cvtepi32_ps(_mm512_sub_epi32(e, xz)));
    }
    if (left + ncol < pw) memset(d + left + ncol, 0, (size_t)(pw - left - ncol) * sizeof(float));
  }
  const float *w = J->pl->wdw + c * kh * kw;
  int32_t qmin = q->y_signed ? -128 : 0, qmax = q->y_signed ? 127 : 255;
  bool i32 = J->pl->out_i32;
  __m512 vs = _mm512_set1_ps(i32 ? 1.0f : q->scale[c]), lo = _mm512_set1_ps((float)(qmin - q->y_zp)),
         hi = _mm512_set1_ps((float)(qmax - q->y_zp));
  __m512i vb = _mm512_set1_epi32(q->bias ? q->bias[c] : 0), vz = _mm512_set1_epi32(q->y_zp);
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i gidx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32((int)sw));
  uint8_t *yb = (uint8_t *)J->y + (int64_t)index * oh * ow * (i32 ? 4 : 1);
  for (int64_t oy = 0; oy < oh; oy++)
    for (int64_t ox = 0; ox < ow; ox += 16) {
      // lanes past ow read the plane's slack or the next row: computed, never stored
      __m512 acc = _mm512_setzero_ps();
      for (int64_t ky = 0; ky < kh; ky++) {
        const float *row = plane + (oy * sh + ky * dh) * pw + ox * sw;
        for (int64_t kx = 0; kx < kw; kx++) {
          const float *src = row + kx * dw;
          __m512 v = sw == 1   ? _mm512_loadu_ps(src)
                     : sw == 2 ? _mm512_permutex2var_ps(_mm512_loadu_ps(src), even, _mm512_loadu_ps(src + 16))
                               : _mm512_i32gather_ps(gidx, src, 4);
          acc = _mm512_fmadd_ps(_mm512_set1_ps(w[ky * kw + kx]), v, acc);
        }
      }
      // requantization as eo_qs8_requant: acc is an exact integer in float
      __m512i a = _mm512_add_epi32(_mm512_cvtps_epi32(acc), vb);
      __mmask16 m = ow - ox >= 16 ? (__mmask16)0xffff : (__mmask16)((1u << (ow - ox)) - 1);
      if (i32) {
        _mm512_mask_storeu_epi32(yb + (oy * ow + ox) * 4, m, a);
        continue;
      }
      _mm_mask_storeu_epi8(yb + oy * ow + ox, m, _mm512_cvtepi32_epi8(requant16(a, vs, lo, hi, vz)));
    }
}

/* 16 channels at once (3x3 / 5x5, strides 1-2, dilation 1): (x - x_zp) of 16 planes as int16 pairs of
 * adjacent columns, [row][column pair][16 channels][2] for a strip of output rows, and VPDPWSSD
 * multiplying a pair by a pair of weights (one of them 0 where the kernel row has an odd number of
 * taps left): a 3x3 output vector is 6 instructions. The requantized outputs [position][16] are
 * transposed back into the planes. The transposition into the strip works on bytes (4 vectors of 4
 * channels x 16 columns, 8 word permutes) and widens afterwards. (The float version, each column
 * converted and transposed as 16 floats and 9 FMAs per output, was 1.1-1.6x slower on every
 * mobilenet_v2 / efficientnet_b0 layer shape, most at stride 2 where every output reads 4 new
 * inputs.) Exact: |x - x_zp|, |w - w_zp| <= 255 and the 25-tap sums stay far below 2^31.
 * Strip columns are padded ones shifted by d = (pad_l odd), so image column pairs start at even
 * image columns; output ox starts at strip column ox * S + d, and the parity of that picks the
 * weight pairs: even (w0, w1), (w2, w3), ..., (w_{K-1}, 0); odd (0, w0), (w1, w2), ... */
/* Output rows per strip: about 2048 padded columns' worth (64 KiB of column pairs); each strip
 * re-reads K - S rows of the one before (1024: 5% slower at 112x112). */
static int64_t dw_c16_rows(const eo_conv_params *p) {
  const int64_t wp = (p->out[2] - 1) * p->stride[2] + p->k[2], fit = 2048 / wp;
  const int64_t r = (fit - p->k[1]) / p->stride[1] + 1;
  return r < 1 ? 1 : r > p->out[1] ? p->out[1] : r;
}

static bool dw_c16_ok(const eo_conv_params *p) {
  return p->k[1] == p->k[2] && (p->k[1] == 3 || p->k[1] == 5) && p->stride[1] == p->stride[2] &&
         (p->stride[1] == 1 || p->stride[1] == 2) && p->dil[1] == 1 && p->dil[2] == 1 && p->c_out >= 16 &&
         p->out[1] >= 1 && p->out[2] >= 1;
}

/* Column pairs of a strip row: those the outputs read and those holding image columns. */
static int64_t dw_i16_pairs(const eo_conv_params *p) {
  const int64_t d = p->pad[2] & 1, read = ((p->out[2] - 1) * p->stride[2] + d + p->k[2] + 1) / 2 + 1;
  const int64_t image = (p->pad[2] + d + p->in[2] + 1) / 2;
  return read > image ? read : image;
}

/* Scratch per worker in floats: the strip (64 bytes per column pair) and the outputs (64 per
 * position), + 64 bytes to align. */
static int64_t dw_c16_floats(const eo_conv_params *p) {
  if (!dw_c16_ok(p)) return 0;
  const int64_t r = dw_c16_rows(p), hs = (r - 1) * p->stride[1] + p->k[1];
  return (hs * dw_i16_pairs(p) + r * p->out[2]) * 16 + 16;
}

/* 16 channels' bytes of columns [ic, ic + n) of one input row (n <= 16; the rest x_zp) as 8 vectors
 * of int16 pairs (x - x_zp): pair i = columns ic + 2i, ic + 2i + 1, [16 channels][2]. */
EO_VNNI static inline __attribute__((always_inline)) void dw_i16_chunk(const uint8_t *src, int64_t xs, int n,
                                                                       bool sx, __m512i xz16, uint8_t xzb,
                                                                       const __m512i jt[4], __m512i out[8]) {
  const __mmask16 m = (__mmask16)((1u << n) - 1);
  const __m128i fill = _mm_set1_epi8((char)xzb);
  __m512i r[4];
  for (int q = 0; q < 4; q++) {
    __m512i v = _mm512_castsi128_si512(_mm_mask_loadu_epi8(fill, m, src + (4 * q) * xs));
    v = _mm512_inserti32x4(v, _mm_mask_loadu_epi8(fill, m, src + (4 * q + 1) * xs), 1);
    v = _mm512_inserti32x4(v, _mm_mask_loadu_epi8(fill, m, src + (4 * q + 2) * xs), 2);
    r[q] = _mm512_inserti32x4(v, _mm_mask_loadu_epi8(fill, m, src + (4 * q + 3) * xs), 3);
  }
  const __m512i ja = jt[0], ja4 = jt[1], jz0 = jt[2], jz1 = jt[3];
  const __m512i a0 = _mm512_permutex2var_epi16(r[0], ja, r[1]), a1 = _mm512_permutex2var_epi16(r[0], ja4, r[1]);
  const __m512i b0 = _mm512_permutex2var_epi16(r[2], ja, r[3]), b1 = _mm512_permutex2var_epi16(r[2], ja4, r[3]);
  const __m512i z[4] = {_mm512_permutex2var_epi16(a0, jz0, b0), _mm512_permutex2var_epi16(a0, jz1, b0),
                        _mm512_permutex2var_epi16(a1, jz0, b1), _mm512_permutex2var_epi16(a1, jz1, b1)};
  for (int h = 0; h < 4; h++) {
    const __m256i lo = _mm512_castsi512_si256(z[h]), hi = _mm512_extracti64x4_epi64(z[h], 1);
    out[2 * h] = _mm512_sub_epi16(sx ? _mm512_cvtepi8_epi16(lo) : _mm512_cvtepu8_epi16(lo), xz16);
    out[2 * h + 1] = _mm512_sub_epi16(sx ? _mm512_cvtepi8_epi16(hi) : _mm512_cvtepu8_epi16(hi), xz16);
  }
}

/* The permutes of dw_i16_chunk. r[q] word 8 * j + i = channel 4q + j, column pair i; a (b): channels
 * 0-7 (8-15) of 4 pairs as [pair][channel]; z: 2 pairs as [pair][16 channels]. */
EO_VNNI static void dw_i16_perms(__m512i jt[4]) {
  int16_t ia[32], iz0[32], iz1[32];
  for (int t = 0; t < 32; t++) {
    const int i = t / 8, c = t % 8, pr = t / 16, ch = t % 16;
    ia[t] = (int16_t)((c / 4) * 32 + (c % 4) * 8 + i);
    iz0[t] = (int16_t)((ch / 8) * 32 + pr * 8 + ch % 8);
    iz1[t] = (int16_t)((ch / 8) * 32 + (pr + 2) * 8 + ch % 8);
  }
  jt[0] = _mm512_loadu_si512(ia);
  jt[1] = _mm512_add_epi16(jt[0], _mm512_set1_epi16(4));
  jt[2] = _mm512_loadu_si512(iz0);
  jt[3] = _mm512_loadu_si512(iz1);
}

/* Channels [c0, c0 + 16) of image b (the scheme above dw_c16_rows). */
EO_VNNI static inline __attribute__((always_inline)) void dw_i16_block(const djob *J, int64_t b, int64_t c0,
                                                                       int worker, const int K, const int S,
                                                                       const int64_t d) {
  const eo_conv_params *p = &J->pl->p;
  const eo_qconv_quant *q = J->q;
  const int64_t ih = p->in[1], iw = p->in[2], oh = p->out[1], ow = p->out[2], np = oh * ow, xs = ih * iw;
  const int64_t rows = dw_c16_rows(p), npair = dw_i16_pairs(p), hsm = (rows - 1) * S + K;
  const int64_t off = p->pad[2] + d;  // strip column of image column 0 (even)
  float *ws = eo_threadpool_local(J->pool, worker, (size_t)(J->per * 4), J->scratch + worker * J->per);
  __m512i *T = (__m512i *)(((uintptr_t)ws + 63) & ~(uintptr_t)63);
  int32_t *O = (int32_t *)(T + hsm * npair);
  const uint8_t *xb = (const uint8_t *)J->x + (b * p->c_out + c0) * xs;
  const bool i32 = J->pl->out_i32;
  enum { NP = 3 };  // weight pairs per kernel row, at most ((5 + 1) / 2)
  const int P = (K + 1) / 2;
  __m512i we[5][NP], wo[5][NP];  // per kernel row: pairs for an even / odd start column
  {
    int32_t w[16][25];
    for (int c = 0; c < 16; c++)
      for (int t = 0; t < K * K; t++) w[c][t] = (int32_t)J->pl->wdw[(c0 + c) * K * K + t];
    for (int ky = 0; ky < K; ky++)
      for (int j = 0; j < P; j++) {
        int32_t e[16], o[16];
        for (int c = 0; c < 16; c++) {
          const int32_t *wr = w[c] + ky * K;
          const int32_t e0 = wr[2 * j], e1 = 2 * j + 1 < K ? wr[2 * j + 1] : 0;
          const int32_t o0 = j > 0 ? wr[2 * j - 1] : 0, o1 = wr[2 * j];
          e[c] = (int32_t)((uint32_t)(uint16_t)e0 | (uint32_t)(uint16_t)e1 << 16);
          o[c] = (int32_t)((uint32_t)(uint16_t)o0 | (uint32_t)(uint16_t)o1 << 16);
        }
        we[ky][j] = _mm512_loadu_si512(e);
        wo[ky][j] = _mm512_loadu_si512(o);
      }
  }
  const int32_t qmin = q->y_signed ? -128 : 0, qmax = q->y_signed ? 127 : 255;
  const __m512 vs = i32 ? _mm512_set1_ps(1.0f) : _mm512_loadu_ps(q->scale + c0);
  const __m512 vlo = _mm512_set1_ps((float)(qmin - q->y_zp)), vhi = _mm512_set1_ps((float)(qmax - q->y_zp));
  const __m512i vb = q->bias ? _mm512_loadu_si512(q->bias + c0) : _mm512_setzero_si512();
  const __m512i vz = _mm512_set1_epi32(q->y_zp), xz16 = _mm512_set1_epi16((short)q->x_zp);
  const uint8_t xzb = (uint8_t)q->x_zp;  // int8 x: the same bits
  const __m512i zero = _mm512_setzero_si512();
  __m512i jt[4];
  dw_i16_perms(jt);
  const int64_t pl0 = off / 2, pl1 = (off + iw + 1) / 2;  // pairs holding image columns
  for (int64_t oy0 = 0; oy0 < oh; oy0 += rows) {
    const int64_t oy1 = oy0 + rows < oh ? oy0 + rows : oh, hs = (oy1 - oy0 - 1) * S + K;
    for (int64_t r = 0; r < hs; r++) {
      __m512i *tr = T + r * npair;
      const int64_t iy = oy0 * S + r - p->pad[1];
      if (iy < 0 || iy >= ih) {
        for (int64_t c = 0; c < npair; c++) _mm512_store_si512(tr + c, zero);
        continue;
      }
      for (int64_t c = 0; c < pl0; c++) _mm512_store_si512(tr + c, zero);
      for (int64_t c = pl1; c < npair; c++) _mm512_store_si512(tr + c, zero);
      for (int64_t ic = 0; ic < iw; ic += 16) {
        const int n = iw - ic < 16 ? (int)(iw - ic) : 16;
        __m512i v[8];
        dw_i16_chunk(xb + iy * iw + ic, xs, n, q->x_signed, xz16, xzb, jt, v);
        for (int i = 0; i < (n + 1) / 2; i++) _mm512_store_si512(tr + pl0 + ic / 2 + i, v[i]);
      }
    }
    enum { U = 4 };
    for (int64_t oy = oy0; oy < oy1; oy++) {
      const __m512i *t0 = T + (oy - oy0) * S * npair;
      int32_t *orow = O + (oy - oy0) * ow * 16;
      for (int64_t ox = 0; ox < ow; ox += U) {
        const int u_n = ow - ox < U ? (int)(ow - ox) : U;
        __m512i acc[U];
#pragma GCC unroll 4
        for (int u = 0; u < U; u++) {
          acc[u] = vb;
          if (u >= u_n) continue;
          const int64_t col = (ox + u) * S + d;
          const __m512i *tp = t0 + col / 2;
#pragma GCC unroll 5
          for (int ky = 0; ky < K; ky++)
#pragma GCC unroll 3
            for (int j = 0; j < P; j++)
              acc[u] = _mm512_dpwssd_epi32(acc[u], _mm512_load_si512(tp + ky * npair + j), ((u * S + d) & 1) ? wo[ky][j] : we[ky][j]);
        }
#pragma GCC unroll 4
        for (int u = 0; u < U; u++) {
          if (u >= u_n) break;
          _mm512_store_si512(orow + (ox + u) * 16, i32 ? acc[u] : requant16(acc[u], vs, vlo, vhi, vz));
        }
      }
    }
    const int64_t npos = (oy1 - oy0) * ow, yo = oy0 * ow;
    for (int64_t p0 = 0; p0 < npos; p0 += 16) {
      const int n = npos - p0 < 16 ? (int)(npos - p0) : 16;
      __m512 v[16];
      for (int k = 0; k < 16; k++) v[k] = k < n ? _mm512_load_ps((const float *)(O + (p0 + k) * 16)) : _mm512_setzero_ps();
      store_tr16(v, n, 16, J->y, (b * p->c_out + c0) * np + yo + p0, np, i32);
    }
  }
}

/* Units [index*chunk, (index+1)*chunk): per image, its blocks of 16 channels (dw_c16_ok), then its
 * other channels plane by plane. */
EO_VNNI static void dw_task(void *ctx, size_t index, int worker) {
  const djob *J = ctx;
  const eo_conv_params *p = &J->pl->p;
  int64_t hq, wq;
  const bool wide = dw_wide_geo(p, &hq, &wq);
  const int64_t nt = p->k[1] * p->k[2], i0 = (int64_t)index * J->chunk, i1 = i0 + J->chunk < J->n ? i0 + J->chunk : J->n;
  const int k = (int)p->k[1], s = (int)p->stride[1];
  for (int64_t u = i0; u < i1; u++) {
    const int64_t b = u / J->upi, r = u % J->upi;
    if (r < J->blk) {
      const int64_t dd = p->pad[2] & 1;  // compile-time in every instance
      if (k == 3 && s == 1) dd ? dw_i16_block(J, b, 16 * r, worker, 3, 1, 1) : dw_i16_block(J, b, 16 * r, worker, 3, 1, 0);
      else if (k == 3) dd ? dw_i16_block(J, b, 16 * r, worker, 3, 2, 1) : dw_i16_block(J, b, 16 * r, worker, 3, 2, 0);
      else if (s == 1) dd ? dw_i16_block(J, b, 16 * r, worker, 5, 1, 1) : dw_i16_block(J, b, 16 * r, worker, 5, 1, 0);
      else dd ? dw_i16_block(J, b, 16 * r, worker, 5, 2, 1) : dw_i16_block(J, b, 16 * r, worker, 5, 2, 0);
      continue;
    }
    const size_t i = (size_t)(b * p->c_out + 16 * J->blk + (r - J->blk));  // the plane
    if (!wide) dw_rows_plane(J, i, worker);
    else if (nt == 9) dw_wide_plane(J, i, worker, 9);
    else if (nt == 25) dw_wide_plane(J, i, worker, 25);
    else dw_wide_plane(J, i, worker, 0);
  }
}

void eo_qs8_conv_plan_run(const eo_qs8_conv_plan *pl, const eo_qconv_quant *q, const void *x, void *y, void *scratch,
                          eo_threadpool *pool) {
  if (eo_threadpool_size(pool) > pl->nworkers) pool = NULL;  // per-worker scratch was sized for nworkers
  if (pl->kind == EO_QS8_DW_AVX512) {
    // units: blocks of 16 channels, then single planes; several small ones per task (a 7x7 plane
    // is about a task hand-out), >= 4 tasks per worker
    const int64_t blk = dw_c16_ok(&pl->p) ? pl->p.c_out / 16 : 0, upi = blk + pl->p.c_out - 16 * blk;
    const int64_t n = pl->p.batch * upi, np = pl->p.out[1] * pl->p.out[2] * (blk ? 16 : 1);
    const int64_t workers = eo_threadpool_size(pool);
    int64_t chunk = 4096 / (np > 0 ? np : 1), fair = (n + 4 * workers - 1) / (4 * workers);
    chunk = chunk < fair ? chunk : fair;
    djob J = {.pl = pl, .q = q, .x = x, .y = y, .scratch = scratch, .per = dw_per(&pl->p, pl->out_i32), .pool = pool,
              .chunk = chunk < 1 ? 1 : chunk, .n = n, .blk = blk, .upi = upi};
    eo_threadpool_run(pool, (size_t)((n + J.chunk - 1) / J.chunk), dw_task, &J);
    return;
  }
  run_vnni(pl, q, x, y, scratch, pool);
}
