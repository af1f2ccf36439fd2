/* QLinearConv: the op, with its fast kernel and with EO_FORCE_REF (reference kernel), against an
 * independent naive loop on random geometries and dtypes and against each other (all exact), a hand-computed case for MLAS's requantization (ties to even, saturation,
 * per-channel scales and weight zero points), and the errors for bad inputs. */
#define _DEFAULT_SOURCE
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "ops/op_test.h"
#include "test.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
  rng_state ^= rng_state << 13, rng_state ^= rng_state >> 7, rng_state ^= rng_state << 17;
  return (uint32_t)(rng_state >> 11);
}
static int rnd_in(int lo, int hi) { return lo + (int)(rnd() % (uint32_t)(hi - lo + 1)); }

static int32_t get8(bool s, const void *p, int64_t i) { return s ? ((const int8_t *)p)[i] : ((const uint8_t *)p)[i]; }

typedef struct geo {
  int nsp, batch, cin, cout, group;
  int64_t in[3], k[3], stride[3], dil[3], pb[3], pe[3];
} geo;

/* Naive QLinearConv: x copied into a buffer padded with x_zp, int64 sums of the dequantized-integer
 * products, requantization as lrintf of the float product then clamp (same result as MLAS's clamp
 * then round, since the bounds are integers). */
static void naive(const geo *G, bool xs8, bool ws8, bool ys8, const void *x, int32_t xzp, const void *w,
                  const int32_t *wzp, const int32_t *bias, const float *scale, int32_t yzp, const int64_t *out,
                  int32_t *y) {
  int64_t pin[3] = {1, 1, 1}, in[3] = {1, 1, 1}, k[3] = {1, 1, 1}, s[3] = {1, 1, 1}, d[3] = {1, 1, 1}, o[3] = {1, 1, 1},
          pb[3] = {0, 0, 0};
  for (int i = 0; i < G->nsp; i++) {
    int j = 3 - G->nsp + i;
    in[j] = G->in[i], k[j] = G->k[i], s[j] = G->stride[i], d[j] = G->dil[i], o[j] = out[i], pb[j] = G->pb[i];
    pin[j] = G->in[i] + G->pb[i] + G->pe[i];
  }
  int64_t plane = pin[0] * pin[1] * pin[2];
  int32_t *px = malloc((size_t)(G->batch * G->cin * plane) * sizeof *px);
  for (int64_t i = 0; i < G->batch * G->cin * plane; i++) px[i] = xzp;
  for (int64_t nc = 0; nc < G->batch * G->cin; nc++)
    for (int64_t a = 0; a < in[0]; a++)
      for (int64_t b = 0; b < in[1]; b++)
        for (int64_t e = 0; e < in[2]; e++)
          px[nc * plane + ((a + pb[0]) * pin[1] + b + pb[1]) * pin[2] + e + pb[2]] =
              get8(xs8, x, nc * in[0] * in[1] * in[2] + (a * in[1] + b) * in[2] + e);
  int cig = G->cin / G->group, cog = G->cout / G->group;
  int32_t lo = ys8 ? -128 : 0, hi = ys8 ? 127 : 255;
  int64_t yi = 0;
  for (int n = 0; n < G->batch; n++)
    for (int oc = 0; oc < G->cout; oc++)
      for (int64_t a = 0; a < o[0]; a++)
        for (int64_t b = 0; b < o[1]; b++)
          for (int64_t e = 0; e < o[2]; e++) {
            int64_t acc = bias ? bias[oc] : 0;
            for (int ic = 0; ic < cig; ic++)
              for (int64_t ka = 0; ka < k[0]; ka++)
                for (int64_t kb = 0; kb < k[1]; kb++)
                  for (int64_t ke = 0; ke < k[2]; ke++) {
                    int64_t xv = px[(int64_t)(n * G->cin + oc / cog * cig + ic) * plane +
                                    ((a * s[0] + ka * d[0]) * pin[1] + b * s[1] + kb * d[1]) * pin[2] + e * s[2] + ke * d[2]];
                    int64_t wv = get8(ws8, w, (((int64_t)oc * cig + ic) * k[0] + ka) * k[1] * k[2] + kb * k[2] + ke);
                    acc += (xv - xzp) * (wv - wzp[oc]);
                  }
            long r = lrintf((float)acc * scale[oc]) + yzp;
            y[yi++] = (int32_t)(r < lo ? lo : r > hi ? hi : r);
          }
  free(px);
}

static void random_case(int iter) {
  geo G;
  memset(&G, 0, sizeof G);
  G.nsp = rnd_in(1, 3);
  if (iter % 3 == 0) G.nsp = 2;
  G.batch = rnd_in(1, 2);
  G.group = rnd_in(0, 2) == 0 ? 1 : rnd_in(1, 3);
  bool depthwise = iter % 5 == 1;
  G.cin = depthwise ? rnd_in(2, 6) : G.group * rnd_in(1, 4);
  if (depthwise) G.group = G.cin;
  G.cout = G.group * rnd_in(1, 3);
  for (int i = 0; i < G.nsp; i++) {
    G.in[i] = rnd_in(G.nsp == 3 ? 2 : 3, G.nsp == 3 ? 5 : 9);
    G.k[i] = rnd_in(1, 3);
    G.stride[i] = rnd_in(1, 2);
    G.dil[i] = rnd_in(1, 2);
    G.pb[i] = rnd_in(0, 2);
    G.pe[i] = rnd_in(0, 2);
    if (G.in[i] + G.pb[i] + G.pe[i] < (G.k[i] - 1) * G.dil[i] + 1) G.pe[i] += (G.k[i] - 1) * G.dil[i] + 1;
  }
  bool xs8 = rnd() & 1, ws8 = (rnd() % 4) != 0, per_ch = rnd() & 1, has_b = rnd() & 1, has_wzp = rnd() & 1;
  int rank = G.nsp + 2;
  int64_t xd[5] = {G.batch, G.cin}, wd[5] = {G.cout, G.cin / G.group}, od[3];
  int64_t nx = G.batch * G.cin, nw = G.cout * (G.cin / G.group), ny = G.batch * G.cout;
  for (int i = 0; i < G.nsp; i++) {
    xd[2 + i] = G.in[i], wd[2 + i] = G.k[i];
    od[i] = (G.in[i] + G.pb[i] + G.pe[i] - ((G.k[i] - 1) * G.dil[i] + 1)) / G.stride[i] + 1;
    nx *= G.in[i], nw *= G.k[i], ny *= od[i];
  }
  uint8_t *x = malloc((size_t)nx), *w = malloc((size_t)nw);
  for (int64_t i = 0; i < nx; i++) x[i] = (uint8_t)rnd();
  for (int64_t i = 0; i < nw; i++) w[i] = (uint8_t)rnd();
  int32_t *bias = malloc((size_t)G.cout * 4), *wzp = calloc((size_t)G.cout, 4);
  float *wsc = malloc((size_t)G.cout * 4), *scale = malloc((size_t)G.cout * 4);
  uint8_t wzp8[64];
  float xsc = 0.01f + (float)(rnd() % 1000) * 1e-4f, ysc = 0.05f + (float)(rnd() % 1000) * 1e-3f;
  uint8_t xzp8 = (uint8_t)rnd(), yzp8 = (uint8_t)rnd();
  int32_t xzp = get8(xs8, &xzp8, 0), yzp = get8(xs8, &yzp8, 0);
  int nsc = per_ch ? G.cout : 1;
  for (int i = 0; i < G.cout; i++) {
    bias[i] = rnd_in(-20000, 20000);
    if (i < nsc) {
      wsc[i] = 0.001f + (float)(rnd() % 1000) * 1e-5f;
      wzp8[i] = has_wzp ? (uint8_t)rnd() : 0;
    }
  }
  for (int i = 0; i < G.cout; i++) {
    wzp[i] = get8(ws8, wzp8, per_ch ? i : 0);
    scale[i] = xsc * wsc[per_ch ? i : 0] / ysc;
  }
  eo_node *n = optest_node("QLinearConv");
  int64_t pads[6];
  for (int i = 0; i < G.nsp; i++) pads[i] = G.pb[i], pads[G.nsp + i] = G.pe[i];
  optest_attr_ints(n, "strides", G.nsp, G.stride);
  optest_attr_ints(n, "dilations", G.nsp, G.dil);
  optest_attr_ints(n, "pads", 2 * G.nsp, pads);
  if (iter & 1) optest_attr_ints(n, "kernel_shape", G.nsp, G.k);
  optest_attr_i(n, "group", G.group);
  int dx = xs8 ? EO_INT8 : EO_UINT8, dw = ws8 ? EO_INT8 : EO_UINT8;
  int64_t one = 1, m = G.cout, nscd = nsc;
  eo_tview tx = optest_view(dx, rank, xd, x), tw = optest_view(dw, rank, wd, w);
  eo_tview txs = optest_view(EO_FLOAT, 0, &one, &xsc), txz = optest_view(dx, 0, &one, &xzp8);
  eo_tview tws = optest_view(EO_FLOAT, 1, &nscd, wsc), twz = optest_view(dw, 1, &nscd, wzp8);
  eo_tview tys = optest_view(EO_FLOAT, 0, &one, &ysc), tyz = optest_view(dx, 0, &one, &yzp8);
  eo_tview tb = optest_view(EO_INT32, 1, &m, bias), ty;
  eo_tview *ins[9] = {&tx, &txs, &txz, &tw, &tws, &twz, &tys, &tyz, has_b ? &tb : NULL};
  int32_t *ref = malloc((size_t)ny * 4);
  naive(&G, xs8, ws8, xs8, x, xzp, w, wzp, has_b ? bias : NULL, scale, yzp, od, ref);
  uint8_t *prev = NULL;
  // mode 0: the fast kernel where the CPU has one; mode 1: EO_FORCE_REF, the reference kernel
  for (int mode = 0; mode < 2; mode++) {
    if (mode) setenv("EO_FORCE_REF", "1", 1);
    eo_status st = optest_run(n, 10, 9, ins, 1, (eo_tview *[]){&ty}, iter & 1);
    unsetenv("EO_FORCE_REF");
    EO_CHECK_MSG(st == EO_OK, "case %d mode %d: %s", iter, mode, eo_last_error());
    if (st) continue;
    EO_CHECK(ty.dtype == dx && ty.rank == rank && eo_tview_numel(&ty) == ny);
    int64_t bad = 0, first = -1;
    for (int64_t i = 0; i < ny; i++)
      if (get8(xs8, ty.data, i) != ref[i]) bad++, first = first < 0 ? i : first;
    EO_CHECK_MSG(bad == 0, "case %d mode %d (nsp %d group %d cin %d cout %d xs8 %d ws8 %d per_ch %d): %lld of %lld differ, first at %lld",
                 iter, mode, G.nsp, G.group, G.cin, G.cout, xs8, ws8, per_ch, (long long)bad, (long long)ny, (long long)first);
    if (prev) EO_CHECK_MSG(memcmp(prev, ty.data, (size_t)ny) == 0, "case %d: fast and reference kernels differ", iter);
    free(prev);
    prev = ty.data;
  }
  free(prev);
  free(ref);
  optest_node_free(n);
  free(x), free(w), free(bias), free(wzp), free(wsc), free(scale);
}

/* 1x1 conv, 2 output channels, u8: values worked out by hand. */
static void hand_case(void) {
  uint8_t x[6] = {11, 13, 15, 9, 10, 200};  // x_zp 10: x - zp = 1, 3, 5, -1, 0, 190
  int8_t w[2] = {1, -2};                    // w_zp per channel {0, 1}: effective 1, -3
  int8_t wzp[2] = {0, 1};
  float xs = 1.0f, ws[2] = {1.0f, 0.25f}, ys = 2.0f;  // scales 0.5 and 0.125
  uint8_t xz = 10, yz = 3;
  int32_t b[2] = {0, 4};
  int64_t xd[3] = {1, 1, 6}, wd[3] = {2, 1, 1}, one = 1, two = 2;
  eo_node *n = optest_node("QLinearConv");
  eo_tview tx = optest_view(EO_UINT8, 3, xd, x), tw = optest_view(EO_INT8, 3, wd, w);
  eo_tview txs = optest_view(EO_FLOAT, 0, &one, &xs), txz = optest_view(EO_UINT8, 0, &one, &xz);
  eo_tview tws = optest_view(EO_FLOAT, 1, &two, ws), twz = optest_view(EO_INT8, 1, &two, wzp);
  eo_tview tys = optest_view(EO_FLOAT, 0, &one, &ys), tyz = optest_view(EO_UINT8, 0, &one, &yz);
  eo_tview tb = optest_view(EO_INT32, 1, &two, b), ty;
  eo_status st = optest_run(n, 10, 9, (eo_tview *[]){&tx, &txs, &txz, &tw, &tws, &twz, &tys, &tyz, &tb}, 1,
                            (eo_tview *[]){&ty}, true);
  EO_CHECK_MSG(st == EO_OK, "%s", eo_last_error());
  if (st == EO_OK) {
    // channel 0: acc 1,3,5,-1,0,190 * 0.5 = 0.5,1.5,2.5,-0.5,0,95 -> ties to even 0,2,2,0,0,95; + 3
    // channel 1: acc 4 - 3*(1,3,5,-1,0,190) = 1,-5,-11,7,4,-566; * 0.125 = 0.125,-0.625,-1.375,0.875,0.5,-70.75
    //            -> 0,-1,-1,1,0,(clamped to -3) ; + 3
    const uint8_t want[12] = {3, 5, 5, 3, 3, 98, 3, 2, 2, 4, 3, 0};
    EO_CHECK(ty.dtype == EO_UINT8 && ty.dims[1] == 2 && ty.dims[2] == 6);
    for (int i = 0; i < 12; i++) EO_CHECK_MSG(((uint8_t *)ty.data)[i] == want[i], "y[%d] = %d, want %d", i, ((uint8_t *)ty.data)[i], want[i]);
    free(ty.data);
  }
  // errors: float x, a w_scale of the wrong length, a zero point dtype differing from x's
  float fx[6] = {0};
  eo_tview tfx = optest_view(EO_FLOAT, 3, xd, fx);
  st = optest_run(n, 10, 8, (eo_tview *[]){&tfx, &txs, &txz, &tw, &tws, &twz, &tys, &tyz}, 1, (eo_tview *[]){&ty}, true);
  EO_CHECK(st == EO_ERR_SHAPE && strstr(eo_last_error(), "int8 or uint8"));
  float ws3[3] = {1, 1, 1};
  int64_t three = 3;
  eo_tview tws3 = optest_view(EO_FLOAT, 1, &three, ws3);
  st = optest_run(n, 10, 8, (eo_tview *[]){&tx, &txs, &txz, &tw, &tws3, &twz, &tys, &tyz}, 1, (eo_tview *[]){&ty}, true);
  EO_CHECK(st == EO_ERR_SHAPE && strstr(eo_last_error(), "w_scale"));
  int8_t sz = 0;
  eo_tview txz8 = optest_view(EO_INT8, 0, &one, &sz);
  st = optest_run(n, 10, 8, (eo_tview *[]){&tx, &txs, &txz8, &tw, &tws, &twz, &tys, &tyz}, 1, (eo_tview *[]){&ty}, true);
  EO_CHECK(st == EO_ERR_SHAPE && strstr(eo_last_error(), "x_zero_point"));
  optest_node_free(n);
}

int main(void) {
  hand_case();
  for (int i = 0; i < 200; i++) random_case(i);
  return eo_test_finish();
}
