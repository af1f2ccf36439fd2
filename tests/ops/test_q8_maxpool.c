/* The 8-bit MaxPool kernel (kernels/q8-maxpool.c) against the scalar references eo_u8_maxpool__ref /
 * eo_s8_maxpool__ref, byte for byte: 1-D and 2-D, kernels 1..7, strides 1..3, dilations 1..2,
 * asymmetric padding up to windows that lie wholly in the padding, uint8 and int8 data that include
 * the type's extremes, pools of 1 and 2 workers (which must agree too). Both paths of the kernel:
 * rows (stride 2 phases, other strides) and blocks of padded planes (stride 1, small planes). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#include "runtime/kernels/q8-maxpool.h"
#include "runtime/kernels/ref/pool_kernels.h"
#include "test.h"

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
  rs ^= rs << 13, rs ^= rs >> 7, rs ^= rs << 17;
  return (uint32_t)(rs >> 11);
}

typedef struct mcase {
  int nd;
  int64_t nc, ih, iw, kh, kw, sh, sw, dh, dw, pt, pl, pb, pr;
} mcase;

static void run_case(const mcase *m, bool is_signed, eo_threadpool *pools[2]) {
  eo_pool_params p = {.nd = m->nd, .nc = m->nc};
  int64_t in[2] = {m->ih, m->iw}, k[2] = {m->kh, m->kw}, s[2] = {m->sh, m->sw}, d[2] = {m->dh, m->dw};
  int64_t pb[2] = {m->pt, m->pl}, pe[2] = {m->pb, m->pr};
  int o = 2 - m->nd;  // 1-D uses the second (column) entries
  for (int i = 0; i < m->nd; i++) {
    p.in[i] = in[o + i], p.kernel[i] = k[o + i], p.stride[i] = s[o + i], p.dilation[i] = d[o + i];
    p.pad_begin[i] = pb[o + i], p.pad_end[i] = pe[o + i];
    p.out[i] = (p.in[i] + p.pad_begin[i] + p.pad_end[i] - (p.kernel[i] - 1) * p.dilation[i] - 1) / p.stride[i] + 1;
  }
  int64_t oh = m->nd == 2 ? p.out[0] : 1, ow = p.out[m->nd - 1], ih = m->nd == 2 ? m->ih : 1;
  eo_q8_maxpool_plan pl = {.ih = ih, .iw = m->iw, .oh = oh, .ow = ow, .kh = m->nd == 2 ? m->kh : 1, .kw = m->kw,
                           .sh = m->nd == 2 ? m->sh : 1, .sw = m->sw, .dh = m->nd == 2 ? m->dh : 1, .dw = m->dw,
                           .pad_t = m->nd == 2 ? m->pt : 0, .pad_l = m->pl, .is_signed = is_signed};
  eo_q8_maxpool_plan_init(&pl);
  size_t nx = (size_t)(m->nc * ih * m->iw), ny = (size_t)(m->nc * oh * ow);
  uint8_t *x = malloc(nx), *ref = malloc(ny), *got = malloc(ny), *ws = malloc(2 * pl.ws_bytes);
  for (size_t i = 0; i < nx; i++) {
    uint32_t r = rnd() % 16;  // extremes often: the padding value must never win over them
    x[i] = r == 0 ? 0 : r == 1 ? 255 : r == 2 ? 128 : r == 3 ? 127 : (uint8_t)rnd();
  }
  if (is_signed)
    eo_s8_maxpool__ref(&p, (const int8_t *)x, (int8_t *)ref, NULL);
  else
    eo_u8_maxpool__ref(&p, x, ref, NULL);
  char what[200];
  snprintf(what, sizeof what, "%s %dD nc=%lld in=%lldx%lld k=%lldx%lld s=%lld,%lld d=%lld,%lld pad=%lld,%lld,%lld,%lld",
           is_signed ? "int8" : "uint8", m->nd, (long long)m->nc, (long long)ih, (long long)m->iw, (long long)pl.kh,
           (long long)m->kw, (long long)pl.sh, (long long)m->sw, (long long)pl.dh, (long long)m->dw,
           (long long)pl.pad_t, (long long)m->pl, (long long)m->pb, (long long)m->pr);
  for (int t = 0; t < 2; t++) {
    memset(got, 0xA5, ny);
    eo_q8_maxpool2d(&pl, m->nc, x, got, ws, pools[t]);
    size_t bad = 0;
    for (size_t i = 0; i < ny; i++) bad += got[i] != ref[i];
    EO_CHECK_MSG(bad == 0, "%s, %d worker(s): %zu of %zu bytes differ from the reference", what, t + 1, bad, ny);
  }
  free(x), free(ref), free(got), free(ws);
}

int main(void) {
  eo_threadpool *pools[2] = {NULL, NULL};
  EO_CHECK(eo_threadpool_create(1, &pools[0]) == EO_OK && eo_threadpool_create(2, &pools[1]) == EO_OK);
  const mcase cases[] = {
      {2, 3, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},  // ResNet stem pool
      {2, 4, 20, 20, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},    // YOLO SPPF
      {2, 5, 17, 23, 2, 2, 2, 2, 1, 1, 0, 0, 0, 0},    // 2x2 stride 2, odd sizes (last column unused)
      {2, 2, 9, 11, 3, 2, 3, 1, 2, 1, 1, 0, 2, 1},     // stride 3, dilation 2, asymmetric pads
      {2, 2, 4, 5, 7, 7, 1, 2, 1, 1, 6, 6, 0, 0},      // windows wholly in the padding
      {2, 1, 70, 150, 3, 3, 1, 1, 1, 2, 1, 2, 1, 2},   // rows of 150 (several vectors), dilation 2
      {1, 6, 1, 33, 1, 4, 1, 2, 1, 1, 0, 1, 0, 2},     // 1-D
      {1, 3, 1, 7, 1, 1, 1, 3, 1, 1, 0, 0, 0, 0},      // 1-D kernel 1 stride 3
      // stride 2 (even/odd phases of each row's vertical maximum), odd sizes
      {2, 5, 111, 111, 3, 3, 2, 2, 1, 1, 1, 1, 1, 1},  // stem pool on an odd map
      {2, 3, 9, 15, 3, 3, 2, 2, 1, 1, 0, 0, 0, 0},     // no padding, last columns unused
      {2, 2, 33, 17, 2, 3, 2, 2, 1, 2, 1, 0, 0, 1},    // dilation 2 along a stride-2 row
      {2, 2, 7, 9, 1, 1, 2, 2, 1, 1, 0, 0, 0, 0},      // kernel 1 (a single tap)
      {2, 2, 19, 21, 3, 5, 4, 4, 1, 1, 1, 2, 1, 2},    // stride 4: four phases
      {2, 2, 10, 31, 4, 6, 1, 2, 1, 1, 3, 2, 0, 3},    // stride (1, 2), kernels 4 and 6 (odd tap counts)
      // stride 1, small planes: blocks of zero-padded planes (SPPF), many channels split over workers
      {2, 48, 5, 5, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},     // the detector's SPPF pools
      {2, 200, 7, 7, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},
      {2, 37, 1, 1, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},     // 1x1 planes: every tap but the centre is padding
      {2, 130, 3, 4, 2, 2, 1, 1, 1, 1, 0, 0, 0, 0},    // kernel 2, no padding
      {2, 9, 13, 13, 3, 3, 1, 1, 2, 2, 3, 1, 0, 2},    // dilation 2, asymmetric pads
      {2, 11, 12, 12, 6, 4, 1, 1, 1, 1, 2, 3, 3, 0},   // kernels 6 and 4
      {2, 3, 6, 6, 7, 7, 1, 1, 1, 1, 6, 6, 0, 0},      // windows wholly in the padding
      {2, 5, 70, 70, 5, 5, 1, 1, 1, 1, 2, 2, 2, 2},    // plane too large for a block (74x74 padded): row path
      {1, 70, 1, 33, 1, 4, 1, 1, 1, 1, 0, 1, 0, 2},    // 1-D stride 1
  };
  for (int sgn = 0; sgn < 2; sgn++)
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) run_case(&cases[i], sgn, pools);
  eo_threadpool_free(pools[0]);
  eo_threadpool_free(pools[1]);
  return eo_test_finish();
}
