/* Fast float32 convolution, planned at prepare time.
 *
 * Paths (chosen once, per node):
 *   depthwise  one input and one output channel per group, up to 2-D: the ISA's depthwise kernels,
 *              bias and activation fused: 16 channels at once where it has that kernel (3x3 / 5x5,
 *              strides 1-2: the planes transposed to [position][16 channels] in per-worker scratch),
 *              else plane by plane (a zero-padded copy in scratch, vectorized over positions);
 *              blocks of channels split across threads.
 *   pointwise  1x1, stride 1, no padding: the input already is the GEMM's B matrix [C_in, H*W].
 *   shifted    up to 2-D: the input is copied once, zero-padded, into SH*SW phase planes per
 *              channel (phase (py, px) holds padded rows py, py+SH, ... and columns px, px+SW, ...)
 *              of width Wq = OW + (KW-1)*DW/SW, and the output is computed on the "wide" grid
 *              j = oy*Wq + ox (ox < Wq; the Wq - OW extra columns are discarded). There every im2col
 *              row (c, ky, kx) is a contiguous run of one phase plane (phase (ky*DH % SH, kx*DW % SW),
 *              offset (ky*DH / SH)*Wq + kx*DW / SW), so packing B is plain vector copies instead of
 *              per-tap index arithmetic and masked gathers (which cost as much as the GEMM itself
 *              on 16-48-channel 3x3 convolutions). Stride 1 is the single-phase case. Taken when
 *              the extra columns are at most a quarter of the wide grid; same products in the same
 *              order as im2col, so the same results.
 *   winograd   3x3, stride 1, one group, enough channels and tiles (wino_pays; AVX-512 only):
 *              F(2x2, 3x3) (winograd.h), 2.25x fewer multiply-adds. Per task, a block of tiles:
 *              its input transform, 16 GEMMs with the transformed weights packed here, the output
 *              transform with bias and activation. resnet18's 3x3 layers at 1 thread (thread CPU
 *              time, 64/128/256 channels on 56/28/14 maps): 2.27/2.31/2.18 -> 1.32/1.27/1.47 ms;
 *              its 7x7 maps (16 tiles in a 32-lane panel) stay shifted.
 *   im2col     everything else: im2col rows are written straight into the GEMM's packed B panels,
 *              one KC x NC block at a time (never the whole column matrix).
 *   direct     few input channels (a CNN's first layer, K = 27..147), where the ISA has
 *              kr->conv_direct: bands of output rows, each task copying its input rows into the
 *              shifted path's padded phase planes, then FMAs straight from them into registers
 *              (16 positions x 8 channels per vector tile; no B packing, no C reloads). Shapes:
 *              direct_ok.
 * GEMM paths use weights packed into MR-row panels here, per group, and the GEMM epilogue adds the
 * bias and applies the activation while the tile is in registers.
 *
 * Few output positions (7x7 maps, and 1x1 ones in squeeze-excitation blocks) would leave most of
 * the NR-wide column tiles empty, so those convolutions run transposed: Y^T = X^T W^T, output
 * positions as the GEMM's rows and channels as its vector columns (weights packed as NR-column
 * panels), into a scratch Y^T that starts as the bias and is transposed into Y at the end. Each
 * element still sums bias, then its K blocks in order: the result is the same as untransposed.
 * The shifted path runs transposed too ("shifted-t"): the rows of A are the output positions of the
 * phase planes (no wide-grid columns to waste), each panel row packed by two loads and a permute.
 */
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "runtime/kernels/fast.h"
#include "runtime/kernels/winograd.h"

typedef enum conv_path { PATH_DEPTHWISE, PATH_POINTWISE, PATH_SHIFTED, PATH_IM2COL, PATH_WINOGRAD, PATH_DIRECT } conv_path;

struct eo_f32_conv_plan {
  const eo_f32_kernels_t *kr;
  eo_conv_params p;
  conv_path path;
  bool transposed;        /* GEMM paths: Y^T = X^T W^T (few output positions) */
  int threads;
  int64_t cg, mg, kg, np;
  float *w;               /* packed: groups x packed_a(mg, kg); depthwise: a copy [c_out, kvol] */
  size_t w_group_floats;  /* packed floats per group */
  size_t w_bytes;
  size_t scratch;
  size_t local;           /* bytes of each worker's own buffer the run uses (eo_threadpool_local) */
  eo_f32_dw_args dw;      /* depthwise geometry (act set at run) */
  size_t dw_worker_floats;
  bool dw_c16;            /* depthwise: 16 channels at once (kr->dwconv_c16) for full blocks */
  bool rows_downstream;   /* the output's readers split by positions (eo_f32_conv_plan_readers_split_rows) */
  int64_t hq, wq, nw;     /* shifted: phase plane rows, columns; wide-grid columns */
  int64_t *row_off;       /* shifted: per im2col row, its offset in the phase planes */
  int64_t *pos;           /* shifted, transposed: per output position, its offset in a phase plane */
  size_t xp_floats, yw_floats; /* shifted: scratch for the padded input and the wide output */
  /* winograd: tw tiles per row, nt tiles in all; tasks are blocks of nb tiles x chunks of the output
   * channels' MR-row panels; per worker, the block's V (16 x cg x nb, packed) and M (16 x rows x nb) */
  int64_t tw, nt, nb, n_blocks, n_chunks;
  size_t wino_worker_floats;
  int64_t direct_rows;    /* direct: output rows per band (hq: a band's phase-plane rows) */
};

static int64_t vol3(const int64_t *d) { return d[0] * d[1] * d[2]; }

/* FMA work of m GEMM rows in MR-row tiles, in rows: a partial tile costs its own rows (each row is
 * its own accumulators), but at least 2: one row's two accumulator chains wait on FMA latency. */
static int64_t rows_cost(int64_t m, int64_t mr) { return m / mr * mr + (m % mr ? (m % mr > 2 ? m % mr : 2) : 0); }

static bool is_pointwise(const eo_conv_params *p) {
  for (int d = 0; d < EO_CONV_MAX_SPATIAL; d++)
    if (p->k[d] != 1 || p->stride[d] != 1 || p->pad[d] != 0 || p->in[d] != p->out[d]) return false;
  return true;
}

/* Winograd F(2x2, 3x3) (winograd.h) where it pays: a 2-D 3x3 stride-1 convolution, one group. It
 * does 16 multiply-adds per 2x2 tile and channel pair, over NR-lane panels of tiles (partly empty
 * when the tiles are few), the direct GEMM 9 per output position and channel pair; the transforms
 * cost about 14 multiply-adds' time per tile and channel (in or out). Fitted on thread CPU time at 1
 * thread, direct / winograd: 64->64 56x56 2.27 / 1.32 ms, 48->48 20x20 0.183 / 0.148, 32->32 10x10
 * 0.027 / 0.029, 24->24 20x20 0.052 / 0.053, 16->16 40x40 0.090 / 0.089. */
static bool wino_pays(const eo_f32_kernels_t *kr, const eo_conv_params *p, int threads, eo_f32_conv_plan *pl) {
  const int64_t cg = p->c_in, mg = p->c_out;
  if (!kr->wino_in || p->groups != 1 || p->in[0] != 1 || p->k[0] != 1 || p->out[0] != 1 || p->pad[0] != 0 ||
      p->k[1] != 3 || p->k[2] != 3 || p->stride[1] != 1 || p->stride[2] != 1 || p->dil[1] != 1 || p->dil[2] != 1 ||
      cg < 16 || mg < 16)
    return false;
  const int nr = kr->nr, mr = kr->mr;
  const int64_t tw = (p->out[2] + 1) / 2, nt = (p->out[1] + 1) / 2 * tw;
  // Tiles per block: as many as keep the block's V and M (16 x (cg + mg) x nb floats) within
  // 0.75 MiB, in this host's 1 MiB L2. Every task streams its share of the transformed weights
  // (16 x mg x cg) once, so larger blocks reuse them more, until V and M leave L2. At 2 threads:
  // 128->128 28x28 took 1.27 ms in blocks of 32 tiles, 0.82 in blocks of 96; 64->64 56x56 0.67 ms
  // in blocks of 96, 0.78 in blocks of 160 (1.25 MiB), 0.88 in blocks of 256.
  int64_t nb_max = 12288 / (cg + mg) / nr * nr;
  nb_max = nb_max < nr ? nr : nb_max;
  // Then the block size with the smallest span (dynamic claiming: the total over the workers plus,
  // at worst, most of one task), each task counting 16 tiles more for that stream. Output channels
  // are split into chunks only when the blocks are fewer than the workers: each chunk repeats the
  // input transform, a share fi of a tile's work in the cost model of wino_pays (4 chunks of a 28x28
  // layer: 1.4x slower than 2; 48->32 20x20 at 2 threads: 0.089 ms as 2 chunks of one block, 0.064
  // as 2 blocks).
  const int64_t panels = (mg + mr - 1) / mr;
  const double fi = 14.0 * (double)cg / ((double)(cg * mg) + 14.0 * (double)(cg + mg));
  double best = 1e300;
  for (int64_t nb = nb_max; nb >= nr; nb -= nr) {
    const int64_t blocks = (nt + nb - 1) / nb, padded = nt / nb * nb + (nt % nb + nr - 1) / nr * nr;
    const int64_t chunks = blocks >= threads ? 1 : threads < panels ? threads : panels;
    const double total = (double)padded * (1.0 + fi * (double)(chunks - 1)) + 16.0 * (double)(blocks * chunks);
    const double task = (double)nb * (fi + (1.0 - fi) / (double)chunks) + 16;
    const double span = total / threads + task * (threads - 1) / threads;
    if (span < best) {
      best = span;
      pl->nb = nb;
      pl->n_blocks = blocks;
      pl->n_chunks = chunks;
    }
  }
  pl->tw = tw;
  pl->nt = nt;
  // tiles computed, counted with the largest blocks: the choice must not depend on the thread count
  const int64_t padded = nt / nb_max * nb_max + (nt % nb_max + nr - 1) / nr * nr;
  const double wino = 16.0 * (double)padded * (double)(cg * mg + 14 * (cg + mg));
  return wino < 9.0 * (double)(p->out[1] * p->out[2]) * (double)(cg * mg);
}

/* Floats between consecutive V_xi (and M_xi) beyond their size: sizes like 48 x 128 put the 16
 * matrices a multiple of 4 KiB apart, and the transforms' 16 streams then fight over the same L1
 * sets (48->32 20x20, 1 thread: 0.105 ms, 0.091 with this). A multiple of 16 keeps V_xi aligned. */
#define WINO_PAD 16

/* Packs U_xi (winograd.h) per xi as MR-row panels, sizes the scratch; nonzero when out of memory. */
static int wino_prepare(eo_f32_conv_plan *pl, const float *w) {
  const eo_f32_kernels_t *kr = pl->kr;
  const eo_conv_params *p = &pl->p;
  const int64_t cg = pl->cg, mg = pl->mg, panels = (mg + kr->mr - 1) / kr->mr;
  pl->path = PATH_WINOGRAD;
  pl->w_group_floats = eo_f32_gemm_packed_a_bytes(kr, mg, cg) / sizeof(float);  // per xi
  pl->w_bytes = 16 * pl->w_group_floats * sizeof(float);
  float *u = malloc((size_t)(16 * mg * cg) * sizeof(float));
  if (!u || !(pl->w = aligned_alloc(64, (pl->w_bytes + 63) / 64 * 64))) {
    free(u);
    return 1;
  }
  eo_f32_wino_weights(mg, cg, w, u);
  for (int xi = 0; xi < 16; xi++)
    eo_f32_gemm_pack_a(kr, mg, cg, u + xi * mg * cg, cg, 1, pl->w + xi * pl->w_group_floats);
  free(u);
  // the padded input: tile rows and columns cover 2 * tiles + 2 rows / columns (wide_copy's planes)
  pl->hq = (p->out[1] + 1) / 2 * 2 + 2;
  pl->wq = pl->tw * 2 + 2;
  pl->xp_floats = (size_t)((cg * pl->hq * pl->wq + 15) / 16 * 16);
  const int64_t rows = (panels + pl->n_chunks - 1) / pl->n_chunks * kr->mr;
  pl->wino_worker_floats = (size_t)(16 * (cg * ((pl->nb + kr->nr - 1) / kr->nr * kr->nr) + rows * pl->nb + 2 * WINO_PAD));
  pl->scratch = (pl->xp_floats + pl->wino_worker_floats * (size_t)pl->threads) * sizeof(float) + 64;
  pl->local = pl->wino_worker_floats * sizeof(float);
  return 0;
}

/* GEMM arguments of one (image, group) with the plan's geometry; pointers filled at run. */
static eo_f32_gemm_args gemm_args(const eo_f32_conv_plan *pl) {
  if (pl->path == PATH_SHIFTED && pl->transposed)  // A(output positions of the padded input) x W^T into Y^T
    return (eo_f32_gemm_args){.m = pl->np, .n = pl->mg, .k = pl->kg, .b_packed = pl->w, .a_row_off = pl->row_off,
                              .a_pos = pl->pos, .ldc = pl->mg, .alpha = 1.0f,
                              .act = {pl->p.act_op, pl->p.act_alpha, pl->p.act_beta}};
  if (pl->path == PATH_SHIFTED) {  // [mg, kg] x B(wide rows of the padded input) into the wide Y
    return (eo_f32_gemm_args){.m = pl->mg, .n = pl->nw, .k = pl->kg, .a_packed = pl->w, .b_row_off = pl->row_off,
                              .ldc = pl->nw, .alpha = 1.0f, .act = {pl->p.act_op, pl->p.act_alpha, pl->p.act_beta}};
  }
  if (pl->transposed) {  // [np, kg] x [kg, mg] into Y^T (ldc mg), the bias per column
    eo_f32_gemm_args g = {.m = pl->np, .n = pl->mg, .k = pl->kg, .b_packed = pl->w, .ldc = pl->mg, .alpha = 1.0f,
                          .act = {pl->p.act_op, pl->p.act_alpha, pl->p.act_beta}};
    if (pl->path == PATH_POINTWISE) {
      g.a_rs = 1;
      g.a_cs = pl->np;
    } else {
      g.conv = &pl->p;
      g.conv_is_a = true;
    }
    return g;
  }
  eo_f32_gemm_args g = {.m = pl->mg, .n = pl->np, .k = pl->kg, .a_packed = pl->w, .ldc = pl->np, .alpha = 1.0f,
                        .act = {pl->p.act_op, pl->p.act_alpha, pl->p.act_beta}};
  if (pl->path == PATH_POINTWISE) {
    g.b_rs = pl->np;
    g.b_cs = 1;
  } else {
    g.conv = &pl->p;
  }
  return g;
}

/* The direct kernel's shapes: 2-D, groups 1, at most 4 input channels, dilation 1, strides 1-2,
 * kernels up to 7x7. Taken where measured faster than the shifted GEMM path (1 thread, best of 150
 * runs alternating the two plans in one process, this Zen 4 EPYC): every stride-2 shape measured
 * (mobilenet_v2's 3->32 3x3 on 224x224 0.331 -> 0.279 ms, mobilenet_v3_small's 3->16 0.207 ->
 * 0.155, efficientnet_b0's 0.46 -> 0.37, resnet18's 3->64 7x7 2.39 -> 2.17, BlazeFace's 3->24 5x5
 * 0.182 -> 0.153, the detector's 3->16 on 160x160 0.139 -> 0.103, even 3->3 on 60x60 0.0086 ->
 * 0.0066); at stride 1 only with at least 90% of the tiles' lanes used (16 positions x 8 channels):
 * 3->32 on 112x112 0.275 -> 0.250, tiny_cnn's 3->8 on 32x32 0.0077 -> 0.0059, but 3->64 on 56x56
 * (87.5%) 0.136 -> 0.144, 3->9 on 32x32 0.0084 -> 0.0102, 3->3 on 30x30 0.0040 -> 0.0049. */
static bool direct_ok(const eo_f32_kernels_t *kr, const eo_conv_params *p) {
  const int64_t ow = p->out[2], m = p->c_out;
  const double used = (double)ow / (double)((ow + 15) / 16 * 16) * (double)m / (double)((m + 7) / 8 * 8);
  return kr->conv_direct && p->groups == 1 && p->c_in <= 4 && p->in[0] == 1 && p->k[0] == 1 && p->out[0] == 1 &&
         p->pad[0] == 0 && p->dil[1] == 1 && p->dil[2] == 1 && p->stride[1] >= 1 && p->stride[1] <= 2 &&
         p->stride[2] >= 1 && p->stride[2] <= 2 && p->k[1] <= 7 && p->k[2] <= 7 && !is_pointwise(p) &&
         (p->stride[1] == 2 || p->stride[2] == 2 || used >= 0.9);
}

/* Direct path: bands of output rows, each copied by its task into per-worker phase planes (the
 * shifted path's layout over the band's rows, then the kernel's slack), weights as ceil(c_out / CB)
 * blocks of [taps][CB] (zero past c_out). false: out of memory. */
static bool direct_setup(eo_f32_conv_plan *pl, const float *w) {
  const eo_conv_params *p = &pl->p;
  const int64_t sh = p->stride[1], sw = p->stride[2], kw = p->k[2], kvol = p->k[1] * kw, taps = pl->kg, oh = p->out[1];
  const int64_t cb = EO_F32_DIRECT_CB, mp = (pl->mg + cb - 1) / cb * cb, th = pl->threads;
  pl->path = PATH_DIRECT;
  pl->wq = p->out[2] + (kw - 1) / sw;
  // Band rows: about 4 bands per worker for balance, planes within ~128 KiB (L2-resident while the
  // channel blocks re-read them), but at least ~64K FMAs per band (a task hand-out is ~1 us).
  const int64_t row_planes = pl->cg * sh * sw * pl->wq, row_fmas = p->out[2] * mp * taps;
  int64_t rows = th > 1 ? (oh + 4 * th - 1) / (4 * th) : oh, fit = 32768 / row_planes, least = 65536 / row_fmas;
  rows = rows < fit ? rows : fit;
  rows = rows > least ? rows : least;
  pl->direct_rows = rows < 1 ? 1 : rows > oh ? oh : rows;
  pl->hq = pl->direct_rows + (p->k[1] - 1) / sh;  // a band's plane rows
  if (!(pl->row_off = malloc((size_t)taps * sizeof(int64_t)))) return false;
  for (int64_t r = 0; r < taps; r++) {
    int64_t c = r / kvol, ty = r % kvol / kw, tx = r % kw;
    pl->row_off[r] = ((c * sh + ty % sh) * sw + tx % sw) * pl->hq * pl->wq + ty / sh * pl->wq + tx / sw;
  }
  const eo_f32_direct_args da = {p, pl->hq, pl->wq, pl->row_off, NULL};
  pl->xp_floats = (eo_f32_direct_xp_floats(&da) + 15) / 16 * 16;
  pl->w_bytes = (size_t)(mp * taps) * sizeof(float);
  if (!(pl->w = aligned_alloc(64, (pl->w_bytes + 63) / 64 * 64))) return false;
  for (int64_t m = 0; m < mp; m++)
    for (int64_t t = 0; t < taps; t++) pl->w[(m / cb * taps + t) * cb + m % cb] = m < pl->mg ? w[m * taps + t] : 0.0f;
  pl->scratch = pl->xp_floats * sizeof(float) * (size_t)th + 64;
  pl->local = pl->xp_floats * sizeof(float);
  return true;
}

eo_status eo_f32_conv_plan_create(const eo_f32_kernels_t *kr, const eo_conv_params *p, const float *w, int threads,
                                  eo_f32_conv_plan **out) {
  *out = NULL;
  if (!kr || !eo_f32_act_supported(p->act_op))
    return eo_error(EO_ERR_UNSUPPORTED, "no fast convolution kernel for this ISA or activation");
  eo_f32_conv_plan *pl = eo_calloc(1, sizeof *pl);
  if (!pl) return eo_error(EO_ERR_NOMEM, "out of memory planning a convolution");
  pl->kr = kr;
  pl->p = *p;
  pl->threads = threads < 1 ? 1 : threads;
  pl->cg = p->c_in / p->groups;
  pl->mg = p->c_out / p->groups;
  pl->kg = pl->cg * vol3(p->k);
  pl->np = vol3(p->out);
  bool dw = p->groups == p->c_in && p->groups == p->c_out && p->in[0] == 1 && p->k[0] == 1 && p->out[0] == 1 &&
            p->pad[0] == 0;
  if (dw) {
    pl->path = PATH_DEPTHWISE;
    int64_t kvol = vol3(p->k);
    pl->w_bytes = (size_t)(p->c_out * kvol) * sizeof(float);
    pl->dw = (eo_f32_dw_args){.ih_n = p->in[1], .iw_n = p->in[2], .oh_n = p->out[1], .ow_n = p->out[2], .kh = p->k[1],
                              .kw = p->k[2], .sh = p->stride[1], .sw = p->stride[2], .dh = p->dil[1], .dw = p->dil[2],
                              .pad_t = p->pad[1], .pad_l = p->pad[2]};
    size_t dwf = eo_f32_dw_pad_geometry(&pl->dw);
    // 16 channels at once where the ISA has it: measured faster than plane by plane at every
    // MobileNet / EfficientNet shape (7x7 to 112x112; 2-5x on maps of 28x28 and less), but for
    // 3x3 stride 2 on wide maps, which the AVX-512 entry runs plane by plane in registers
    pl->dw_c16 = kr->dwconv_c16 && eo_f32_dw_c16_ok(&pl->dw) && p->c_out >= 16;
    if (pl->dw_c16 && eo_f32_dw_c16_floats(&pl->dw) > dwf) dwf = eo_f32_dw_c16_floats(&pl->dw);
    pl->dw_worker_floats = (dwf + 15) / 16 * 16;
    pl->scratch = pl->dw_worker_floats * sizeof(float) * (size_t)pl->threads;
    pl->local = pl->dw_worker_floats * sizeof(float);
    if (!(pl->w = malloc(pl->w_bytes ? pl->w_bytes : 1))) goto nomem;
    memcpy(pl->w, w, pl->w_bytes);
  } else if (direct_ok(kr, p)) {
    if (!direct_setup(pl, w)) goto nomem;
  } else if (wino_pays(kr, p, pl->threads, pl)) {
    if (wino_prepare(pl, w)) goto nomem;
  } else {
    pl->path = is_pointwise(p) ? PATH_POINTWISE : PATH_IM2COL;
    // Transposed when the column tiles would be mostly empty: compare the padded work both ways
    // (the 1.15 covers the transposed path's extra pass over Y).
    int64_t nr = kr->nr, mg = pl->mg, np = pl->np;
    pl->transposed = (double)((mg + nr - 1) / nr * nr) * (double)np * 1.15 < (double)((np + nr - 1) / nr * nr) * (double)mg;
    // 2-D (or 1-D) only: a leading spatial dim of 1 that padding does not widen
    const int64_t sh = p->stride[1], sw = p->stride[2], wq = p->out[2] + (p->k[2] - 1) * p->dil[2] / sw;
    const bool shifted_ok = pl->path == PATH_IM2COL && p->in[0] == 1 && p->k[0] == 1 && p->out[0] == 1 &&
                            p->pad[0] == 0 && p->out[2] * 4 >= wq * 3;  // at most a quarter of the grid wasted
    if (shifted_ok) {
      // Both orientations run over the padded phase planes. Untransposed, the GEMM's columns are the
      // wide grid (its extra columns are work); transposed, its rows are the output positions, each
      // element of A packed from the planes for about a vector FMA's time (16 / nt), and every
      // element of Y^T is set to the bias, loaded and stored per K block and transposed at the end
      // (32 / K). Fitted on resnet18 and the example detector; their 7x7 and 14x14 maps: 10-20% faster.
      const int64_t mr = kr->mr, nw = (p->out[1] - 1) * wq + p->out[2], nt = (mg + nr - 1) / nr * nr;
      double work_shifted = (double)rows_cost(mg, mr) * (double)((nw + nr - 1) / nr * nr);
      double work_t = (double)rows_cost(np, mr) * (double)nt * (1.0 + 32.0 / (double)pl->kg) * (1.0 + 16.0 / (double)nt);
      pl->transposed = work_t < work_shifted;
    }
    if (shifted_ok) {
      pl->path = PATH_SHIFTED;
      pl->wq = wq;
      pl->hq = p->out[1] + (p->k[1] - 1) * p->dil[1] / sh;
      pl->nw = (p->out[1] - 1) * wq + p->out[2];
      if (!(pl->row_off = malloc((size_t)pl->kg * sizeof(int64_t)))) goto nomem;
      for (int64_t r = 0, kvol = p->k[1] * p->k[2]; r < pl->kg; r++) {
        int64_t c = r / kvol, ty = r % kvol / p->k[2] * p->dil[1], tx = r % p->k[2] * p->dil[2];
        pl->row_off[r] = ((c * sh + ty % sh) * sw + tx % sw) * pl->hq * wq + ty / sh * wq + tx / sw;
      }
      pl->xp_floats = (size_t)((pl->cg * sh * sw * pl->hq * wq + 15) / 16 * 16);
      if (pl->transposed) {  // Y^T instead of the wide output
        if (!(pl->pos = malloc((size_t)np * sizeof(int64_t)))) goto nomem;
        for (int64_t j = 0; j < np; j++) pl->pos[j] = j / p->out[2] * wq + j % p->out[2];
      } else {
        pl->yw_floats = (size_t)((mg * pl->nw + 15) / 16 * 16);
      }
    }
    size_t gbytes = pl->transposed ? eo_f32_gemm_packed_b_bytes(kr, pl->kg, mg) : eo_f32_gemm_packed_a_bytes(kr, mg, pl->kg);
    pl->w_group_floats = gbytes / sizeof(float);
    pl->w_bytes = gbytes * (size_t)p->groups;
    if (!(pl->w = aligned_alloc(64, (pl->w_bytes + 63) / 64 * 64))) goto nomem;
    for (int64_t g = 0; g < p->groups; g++) {
      const float *wg = w + g * mg * pl->kg;
      if (pl->transposed)  // W^T [kg, mg]: W^T(k, m) = wg[m * kg + k]
        eo_f32_gemm_pack_b(kr, pl->kg, mg, wg, 1, pl->kg, pl->w + g * pl->w_group_floats);
      else
        eo_f32_gemm_pack_a(kr, mg, pl->kg, wg, pl->kg, 1, pl->w + g * pl->w_group_floats);
    }
    eo_f32_gemm_args ga = gemm_args(pl);
    pl->scratch = eo_f32_gemm_workspace(kr, &ga, pl->threads);
    pl->local = eo_f32_gemm_local(kr, &ga);
    if (pl->transposed) pl->scratch += (size_t)(np * mg) * sizeof(float) + 64;  // Y^T, 64-aligned
    if (pl->path == PATH_SHIFTED) pl->scratch += (pl->xp_floats + pl->yw_floats) * sizeof(float) + 64;
  }
  *out = pl;
  return EO_OK;
nomem:
  eo_f32_conv_plan_free(pl);
  return eo_error(EO_ERR_NOMEM, "out of memory packing convolution weights");
}

void eo_f32_conv_plan_free(eo_f32_conv_plan *pl) {
  if (!pl) return;
  free(pl->w);
  free(pl->row_off);
  free(pl->pos);
  free(pl);
}

size_t eo_f32_conv_plan_scratch(const eo_f32_conv_plan *pl) { return pl->scratch; }
size_t eo_f32_conv_plan_local(const eo_f32_conv_plan *pl) { return pl->local; }
void eo_f32_conv_plan_readers_split_rows(eo_f32_conv_plan *pl, bool yes) { pl->rows_downstream = yes; }
size_t eo_f32_conv_plan_packed_bytes(const eo_f32_conv_plan *pl) { return pl->w_bytes; }

const char *eo_f32_conv_plan_path(const eo_f32_conv_plan *pl) {
  if (pl->path == PATH_DEPTHWISE) return "depthwise";
  if (pl->path == PATH_DIRECT) return "direct";
  if (pl->path == PATH_POINTWISE) return pl->transposed ? "pointwise-t" : "pointwise";
  if (pl->path == PATH_SHIFTED) return pl->transposed ? "shifted-t" : "shifted";
  if (pl->path == PATH_WINOGRAD) return "winograd";
  return pl->transposed ? "im2col-t" : "im2col";
}

size_t eo_f32_dw_pad_geometry(eo_f32_dw_args *a) {
  // Rows: every tap row of every output row. Columns: a whole last vector block (16 outputs) of
  // taps, plus one vector for stride 2's second load.
  int64_t rows = (a->oh_n - 1) * a->sh + (a->kh - 1) * a->dh + 1;
  int64_t need = ((a->ow_n + 15) / 16 * 16) * a->sw + (a->kw - 1) * a->dw + 16;
  a->xp_h = rows > a->pad_t + a->ih_n ? rows : a->pad_t + a->ih_n;
  a->xp_w = (need > a->pad_l + a->iw_n ? need : a->pad_l + a->iw_n);
  a->xp_w = (a->xp_w + 15) / 16 * 16;
  size_t floats = (size_t)(a->xp_h * a->xp_w);
  int64_t hq, wq;
  if (eo_f32_dw_wide(a, &hq, &wq)) {  // phase planes + 16, then (AVX2) the wide output + 16
    size_t wide = (size_t)(a->sh * a->sw * hq * wq + 16 + (a->oh_n - 1) * wq + a->ow_n + 16);
    floats = wide > floats ? wide : floats;
  }
  return floats;
}

typedef struct dw_job {
  const eo_f32_conv_plan *pl;
  const float *x, *bias;
  float *y;
  float *ws;
  int64_t per, n;  /* work units per task, and in all */
  int64_t blk, upi; /* per image: blocks of 16 channels (dw_c16), units (blocks, then single planes) */
  int64_t bands;    /* > 1: one task per (image, band of output rows, block), band-major (dw_bands) */
  eo_threadpool *pool;  /* its per-worker buffers, when it has them, instead of ws */
} dw_job;

/* Bands of output rows at several workers, one per worker, when every channel is in a block of 16
 * and the output's readers split by positions too. Split by channels, each worker read the half of
 * its input the other core had written (the pointwise convolution before splits its output
 * positions, so by rows), and so did the one after: on a VM whose two vCPUs sit on two core
 * complexes, mobilenet_v2 at 2 threads took 3.66 ms against 3.49 in bands. Where the readers split
 * by channels (a squeeze-excitation block's pooling and scale: efficientnet_b0), channels stay
 * faster there (5.5 ms in bands against 5.3). A band reads its own rows but for those at its edges,
 * which both bands transpose: only where that is at most a quarter more (band rows x stride >=
 * 4 x (kernel - stride)) and a band has 256 outputs or more, as each call also gathers its weights
 * (efficientnet_b0's 5x5 on 7x7 maps took 1.5x as long in bands). */
static int64_t dw_bands(const eo_f32_conv_plan *pl, int workers) {
  const eo_conv_params *p = &pl->p;
  const int64_t rows = p->out[1] / (workers > 0 ? workers : 1), s = p->stride[1], k = p->k[1];
  return workers > 1 && pl->rows_downstream && pl->dw_c16 && p->c_out % 16 == 0 && rows * s >= 4 * (k - s) &&
                 rows * p->out[2] >= 256
             ? workers
             : 1;
}

/* Units [index*per, (index+1)*per): per image, its blocks of 16 channels (dw_c16), then its other
 * channels one plane at a time; or with bands, one block's rows of one band. */
static void dw_task(void *ctx, size_t index, int worker) {
  const dw_job *J = ctx;
  const eo_f32_conv_plan *pl = J->pl;
  const eo_conv_params *p = &pl->p;
  const int64_t kvol = p->k[1] * p->k[2], i0 = (int64_t)index * J->per, plane_in = p->in[1] * p->in[2];
  const int64_t i1 = i0 + J->per < J->n ? i0 + J->per : J->n;
  eo_f32_act act = {p->act_op, p->act_alpha, p->act_beta};
  eo_f32_dw_args a = pl->dw;
  a.act = p->act_op >= 0 ? &act : NULL;
  float *ws = eo_threadpool_local(J->pool, worker, pl->local, J->ws + (size_t)worker * pl->dw_worker_floats);
  if (J->bands > 1) {
    const int64_t b = (int64_t)index / (J->bands * J->blk), band = (int64_t)index / J->blk % J->bands;
    const int64_t ch = 16 * ((int64_t)index % J->blk), plane = b * p->c_out + ch, oh = p->out[1];
    pl->kr->dwconv_c16(&a, J->x + plane * plane_in, plane_in, pl->w + ch * kvol, J->bias ? J->bias + ch : NULL,
                       J->y + plane * pl->np, pl->np, ws, band * oh / J->bands, (band + 1) * oh / J->bands);
    return;
  }
  for (int64_t i = i0; i < i1; i++) {
    const int64_t b = i / J->upi, k = i % J->upi;
    if (k < J->blk) {
      const int64_t ch = 16 * k, plane = b * p->c_out + ch;
      pl->kr->dwconv_c16(&a, J->x + plane * plane_in, plane_in, pl->w + ch * kvol, J->bias ? J->bias + ch : NULL,
                         J->y + plane * pl->np, pl->np, ws, 0, p->out[1]);
      continue;
    }
    const int64_t ch = 16 * J->blk + (k - J->blk), plane = b * p->c_out + ch;
    pl->kr->dwconv(&a, J->x + plane * plane_in, pl->w + ch * kvol, J->bias ? J->bias[ch] : 0.0f,
                   J->y + plane * pl->np, ws);
  }
}

/* Shifted path: channel planes into the zero-padded input (to_wide) or out of the wide output. */
typedef struct wide_job {
  const eo_f32_conv_plan *pl;
  bool to_wide;
  int64_t n_ch, per_task;
  const float *src;
  float *dst;
} wide_job;

static void wide_task(void *ctx, size_t index, int worker) {
  const wide_job *J = ctx;
  const eo_f32_conv_plan *pl = J->pl;
  const eo_conv_params *p = &pl->p;
  const int64_t wq = pl->wq, hq = pl->hq, ih = p->in[1], iw = p->in[2], oh = p->out[1], ow = p->out[2];
  const int64_t sh = p->stride[1], sw = p->stride[2];
  int64_t c0 = (int64_t)index * J->per_task, c1 = c0 + J->per_task < J->n_ch ? c0 + J->per_task : J->n_ch;
  for (int64_t c = c0; c < c1; c++) {
    if (!J->to_wide) {  // wide row oy holds output row oy in its first ow columns
      const float *s = J->src + c * pl->nw;
      float *d = J->dst + c * oh * ow;
      for (int64_t oy = 0; oy < oh; oy++) memcpy(d + oy * ow, s + oy * wq, (size_t)ow * sizeof(float));
      continue;
    }
    const float *s = J->src + c * ih * iw;
    for (int64_t py = 0; py < sh; py++)
      for (int64_t px = 0; px < sw; px++) {
        // unread planes stay unset (a 1x1 stride-2 conv: copying all 4 was most of its time)
        if (!eo_conv_phase_used(p->k[1], p->dil[1], sh, py) || !eo_conv_phase_used(p->k[2], p->dil[2], sw, px))
          continue;
        float *d = J->dst + ((c * sh + py) * sw + px) * hq * wq;
        // columns q whose input column q*sw + px - pad_l lies in [0, iw): [q0, q1)
        int64_t lo = p->pad[2] - px, hi = iw + p->pad[2] - px;
        int64_t q0 = lo > 0 ? (lo + sw - 1) / sw : 0, q1 = hi > 0 ? (hi + sw - 1) / sw : 0;
        q0 = q0 < wq ? q0 : wq;
        q1 = q1 < q0 ? q0 : q1 < wq ? q1 : wq;
        for (int64_t r = 0; r < hq; r++) {
          int64_t iy = r * sh + py - p->pad[1];
          float *dr = d + r * wq;
          if (iy < 0 || iy >= ih) {
            memset(dr, 0, (size_t)wq * sizeof(float));
            continue;
          }
          const int64_t base = iy * iw + px - p->pad[2];  // s[base + q * sw] is column q
          memset(dr, 0, (size_t)q0 * sizeof(float));
          if (sw == 1)
            memcpy(dr + q0, s + base + q0, (size_t)(q1 - q0) * sizeof(float));
          else
            for (int64_t q = q0; q < q1; q++) dr[q] = s[base + q * sw];
          memset(dr + q1, 0, (size_t)(wq - q1) * sizeof(float));
        }
      }
  }
}

static void wide_copy(const eo_f32_conv_plan *pl, bool to_wide, int64_t n_ch, const float *src, float *dst,
                      eo_threadpool *pool) {
  const eo_conv_params *p = &pl->p;
  int64_t plane = to_wide ? p->stride[1] * p->stride[2] * pl->hq * pl->wq : pl->nw;
  int64_t per = 8192 / (plane > 0 ? plane : 1);  // ~32 KiB per task
  wide_job J = {pl, to_wide, n_ch, per < 1 ? 1 : per, src, dst};
  eo_threadpool_run(pool, (size_t)((n_ch + J.per_task - 1) / J.per_task), wide_task, &J);
}

/* Transposed paths: the GEMM writes Y^T [np, mg] (its bias per column, so Y^T needs no setting
 * first), transposed into Y after it; split across the pool when large (a 7x7 map with 1280
 * channels is 63K floats). */
typedef struct yt_job {
  const eo_f32_kernels_t *kr;
  int64_t np, mg, per;  /* per: channels per task */
  const float *yt;
  float *y;
} yt_job;

static void yt_task(void *ctx, size_t index, int worker) {
  (void)worker;
  const yt_job *J = ctx;
  const int64_t np = J->np, mg = J->mg, a = (int64_t)index * J->per, e = a + J->per < mg ? a + J->per : mg;
  if (J->kr->transpose) {
    J->kr->transpose(np, e - a, J->yt + a, mg, J->y + a * np, np);
    return;
  }
  for (int64_t i = 0; i < np; i++)  // each row of Y^T feeds e - a output planes
    for (int64_t m = a; m < e; m++) J->y[m * np + i] = J->yt[i * mg + m];
}

static void yt_transpose(const eo_f32_kernels_t *kr, int64_t np, int64_t mg, const float *yt, float *y,
                         eo_threadpool *pool) {
  int64_t per = np * mg < 32768 ? mg : 16;  // small: one task, on the caller
  yt_job J = {kr, np, mg, per, yt, y};
  eo_threadpool_run(pool, (size_t)((mg + per - 1) / per), yt_task, &J);
}

static void run_shifted(const eo_f32_conv_plan *pl, const float *x, const float *bias, float *y, eo_threadpool *pool,
                        void *scratch) {
  const eo_conv_params *p = &pl->p;
  // the padded planes, then the wide output (or Y^T), then the GEMM's workspace
  float *xp = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63), *yw = xp + pl->xp_floats;
  float *ws = yw + (pl->transposed ? pl->np * pl->mg : (int64_t)pl->yw_floats);
  eo_f32_gemm_args g = gemm_args(pl);
  if (pl->transposed) g.a = xp;
  else g.b = xp;
  g.c = yw;
  for (int64_t b = 0; b < p->batch; b++)
    for (int64_t gi = 0; gi < p->groups; gi++) {
      const float *bg = bias ? bias + gi * pl->mg : NULL;
      float *yg = y + (b * p->c_out + gi * pl->mg) * pl->np;
      wide_copy(pl, true, pl->cg, x + (b * p->c_in + gi * pl->cg) * p->in[1] * p->in[2], xp, pool);
      if (pl->transposed) {
        g.b_packed = pl->w + gi * pl->w_group_floats;
        g.bias_n = bg;
        eo_f32_gemm(pl->kr, &g, pool, ws);
        yt_transpose(pl->kr, pl->np, pl->mg, yw, yg, pool);
        continue;
      }
      g.a_packed = pl->w + gi * pl->w_group_floats;
      g.bias = bg;
      eo_f32_gemm(pl->kr, &g, pool, ws);
      wide_copy(pl, false, pl->mg, yw, yg, pool);
    }
}

typedef struct wino_job {
  const eo_f32_conv_plan *pl;
  const float *xp, *bias;
  float *y, *ws;
  eo_threadpool *pool;  /* its per-worker buffers, when it has them, instead of ws */
} wino_job;

/* One block of tiles for one chunk of output channels: input transform, 16 GEMMs, output transform. */
static void wino_task(void *ctx, size_t index, int worker) {
  const wino_job *J = ctx;
  const eo_f32_conv_plan *pl = J->pl;
  const eo_f32_kernels_t *kr = pl->kr;
  const eo_conv_params *p = &pl->p;
  const int mr = kr->mr, nr = kr->nr;
  const int64_t blk = (int64_t)index / pl->n_chunks, chunk = (int64_t)index % pl->n_chunks, cg = pl->cg;
  const int64_t t0 = blk * pl->nb, nt = pl->nt - t0 < pl->nb ? pl->nt - t0 : pl->nb;
  const int64_t panels = (pl->mg + mr - 1) / mr, i0 = chunk * panels / pl->n_chunks * mr;
  int64_t i1 = (chunk + 1) * panels / pl->n_chunks * mr;
  i1 = i1 < pl->mg ? i1 : pl->mg;
  const int64_t vs = cg * ((pl->nb + nr - 1) / nr * nr) + WINO_PAD, ms = (i1 - i0) * pl->nb + WINO_PAD;
  float *v = eo_threadpool_local(J->pool, worker, pl->local, J->ws + (size_t)worker * pl->wino_worker_floats);
  float *m = v + 16 * vs;
  kr->wino_in(J->xp, cg, pl->hq * pl->wq, pl->wq, pl->tw, t0, nt, nr, v, vs);
  eo_f32_gemm_tile_ep ep = {.alpha = 1.0f};
  for (int xi = 0; xi < 16; xi++)
    for (int64_t pc = 0; pc < cg; pc += EO_F32_GEMM_KC) {
      const int64_t kc = cg - pc < EO_F32_GEMM_KC ? cg - pc : EO_F32_GEMM_KC;
      ep.flags = pc > 0 ? EO_GEMM_LOAD_C : 0;
      for (int64_t ir = i0; ir < i1; ir += mr) {
        const float *ap = pl->w + xi * pl->w_group_floats + ir * cg + pc * mr;  // panel ir / mr
        const int rows = (int)(i1 - ir < mr ? i1 - ir : mr);
        for (int64_t jr = 0; jr < nt; jr += nr)
          kr->gemm(rows, (int)(nt - jr < nr ? nt - jr : nr), kc, ap, v + xi * vs + jr * cg + pc * nr,
                   m + xi * ms + (ir - i0) * pl->nb + jr, pl->nb, &ep);
      }
    }
  const eo_f32_act act = {p->act_op, p->act_alpha, p->act_beta};
  kr->wino_out(m, ms, pl->nb, i1 - i0, pl->tw, t0, nt, nr, J->bias ? J->bias + i0 : NULL, p->out[1], p->out[2],
               J->y + i0 * pl->np, &act);
}

static void run_winograd(const eo_f32_conv_plan *pl, const float *x, const float *bias, float *y, eo_threadpool *pool,
                         void *scratch) {
  const eo_conv_params *p = &pl->p;
  float *xp = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
  for (int64_t b = 0; b < p->batch; b++) {
    wide_copy(pl, true, pl->cg, x + b * p->c_in * p->in[1] * p->in[2], xp, pool);
    wino_job J = {pl, xp, bias, y + b * p->c_out * pl->np, xp + pl->xp_floats, pool};
    eo_threadpool_run(pool, (size_t)(pl->n_blocks * pl->n_chunks), wino_task, &J);
  }
}

typedef struct direct_job {
  const eo_f32_conv_plan *pl;
  eo_f32_direct_args a;
  const float *x, *bias;
  float *y, *xp;
  eo_threadpool *pool;  /* its per-worker buffers, when it has them, instead of xp */
} direct_job;

static void direct_task(void *ctx, size_t index, int worker) {
  const direct_job *J = ctx;
  const eo_f32_conv_plan *pl = J->pl;
  const int64_t oy0 = (int64_t)index * pl->direct_rows, oh = pl->p.out[1];
  const int64_t oy1 = oy0 + pl->direct_rows < oh ? oy0 + pl->direct_rows : oh;
  float *xp = eo_threadpool_local(J->pool, worker, pl->local, J->xp + (size_t)worker * pl->xp_floats);
  pl->kr->conv_direct(&J->a, J->x, J->bias, J->y, oy0, oy1, xp);
}

/* Direct path, per image: bands of output rows across the pool (each output element is computed
 * whole by one task, so any split gives the same bits). */
static void run_direct(const eo_f32_conv_plan *pl, const float *x, const float *bias, float *y, eo_threadpool *pool,
                       void *scratch) {
  const eo_conv_params *p = &pl->p;
  float *xp = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
  direct_job J = {pl, {p, pl->hq, pl->wq, pl->row_off, pl->w}, NULL, bias, NULL, xp, pool};
  for (int64_t b = 0; b < p->batch; b++) {
    J.x = x + b * p->c_in * p->in[1] * p->in[2];
    J.y = y + b * p->c_out * pl->np;
    eo_threadpool_run(pool, (size_t)((p->out[1] + pl->direct_rows - 1) / pl->direct_rows), direct_task, &J);
  }
}

void eo_f32_conv_run(const eo_f32_conv_plan *pl, const float *x, const float *bias, float *y, eo_threadpool *pool,
                     void *scratch) {
  const eo_conv_params *p = &pl->p;
  if (pl->path == PATH_DEPTHWISE) {
    // Tasks of several planes when planes are small (a 7x7 plane is ~0.1 us of work, about a task
    // hand-out), but at least 4 per worker so two workers stay balanced.
    const int64_t blk = pl->dw_c16 ? p->c_out / 16 : 0, upi = blk + p->c_out - 16 * blk;
    const int64_t n = p->batch * upi, workers = eo_threadpool_size(pool);
    int64_t per = 4096 / (pl->np * (blk ? 16 : 1) > 0 ? pl->np * (blk ? 16 : 1) : 1);
    int64_t fair = (n + 4 * workers - 1) / (4 * workers);
    per = per < fair ? per : fair;
    per = per < 1 ? 1 : per;
    dw_job J = {pl, x, bias, y, (float *)scratch, per, n, blk, upi, dw_bands(pl, (int)workers), pool};
    eo_threadpool_run(pool, J.bands > 1 ? (size_t)(p->batch * J.bands * blk) : (size_t)((n + per - 1) / per), dw_task,
                      &J);
    return;
  }
  if (pl->path == PATH_SHIFTED) {
    run_shifted(pl, x, bias, y, pool, scratch);
    return;
  }
  if (pl->path == PATH_DIRECT) {
    run_direct(pl, x, bias, y, pool, scratch);
    return;
  }
  if (pl->path == PATH_WINOGRAD) {
    run_winograd(pl, x, bias, y, pool, scratch);
    return;
  }
  eo_f32_gemm_args g = gemm_args(pl);
  const int64_t plane_in = vol3(p->in), mg = pl->mg, np = pl->np;
  float *yt = NULL;
  void *ws = scratch;
  if (pl->transposed) {
    yt = (float *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    ws = yt + np * mg;
  }
  for (int64_t b = 0; b < p->batch; b++)
    for (int64_t gi = 0; gi < p->groups; gi++) {
      const float *xg = x + (b * p->c_in + gi * pl->cg) * plane_in;
      float *yg = y + (b * p->c_out + gi * mg) * np;
      const float *bg = bias ? bias + gi * mg : NULL;
      if (pl->transposed) {
        g.b_packed = pl->w + gi * pl->w_group_floats;
        if (pl->path == PATH_POINTWISE) g.a = xg;
        else g.conv_x = xg;
        g.c = yt;
        g.bias_n = bg;
        eo_f32_gemm(pl->kr, &g, pool, ws);
        yt_transpose(pl->kr, np, mg, yt, yg, pool);
        continue;
      }
      g.a_packed = pl->w + gi * pl->w_group_floats;
      if (pl->path == PATH_POINTWISE) g.b = xg;
      else g.conv_x = xg;
      g.c = yg;
      g.bias = bg;
      eo_f32_gemm(pl->kr, &g, pool, scratch);
    }
}

typedef struct mp_job {
  const eo_f32_kernels_t *kr;
  const eo_f32_dw_args *a;
  const float *x;
  float *y;
} mp_job;

static void mp_task(void *ctx, size_t index, int worker) {
  const mp_job *J = ctx;
  const eo_f32_dw_args *a = J->a;
  J->kr->maxpool(a, J->x + (int64_t)index * a->ih_n * a->iw_n, J->y + (int64_t)index * a->oh_n * a->ow_n);
}

void eo_f32_maxpool2d(const eo_f32_kernels_t *kr, const eo_f32_dw_args *a, int64_t nc, const float *x, float *y,
                      eo_threadpool *pool) {
  mp_job J = {kr, a, x, y};
  eo_threadpool_run(pool, (size_t)nc, mp_task, &J);
}
