/* Per-channel int8 weight scales (src/quant/wclip.c) against a numpy float32 oracle written here:
 * for each channel, the clip ratio r_k = (100 - k) / 100 (k = 0..50) whose scale (max|w| * r) / 127
 * gives the smallest sum of squared rounding errors (first minimum = largest ratio), and minmax's
 * max|w| / 127. The scales must be bit-equal. Then end to end: `weight: {observer: mse}` in a recipe
 * must give a Conv (axis 0) and a Gemm without transB (axis 1, a strided channel) exactly the
 * oracle's scales in the written file, and no recipe exactly minmax's. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/npy.h"
#include "edgeopt/quant.h"
#include "quant/wclip.h"
#include "test.h"

#define CH 12
#define N 2048 /* clipping pays only for large channels: 8-bit steps are fine already */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static double urand(void) { return eo_test_urand(&rng); }
static double gauss(void) { return eo_test_gauss(&rng); }

/* argv: W.npy (rows = channels) out.txt -> per channel: minmax scale, mse scale, minmax error, mse error */
static const char *oracle =
    "import sys, numpy as np\n"
    "def scales(w):  # w: float32 [n]\n"
    "    m = np.abs(w).max()\n"
    "    if not m > 0: return np.float32(1), np.float32(1)\n"
    "    best, bs = None, None\n"
    "    for k in range(51):\n"
    "        r = np.float32(100 - k) / np.float32(100); s = (m * r) / np.float32(127)\n"
    "        q = np.clip(np.round(w / s), -127, 127).astype(np.float32)\n"
    "        e = np.sum((w.astype(np.float64) - (q * s).astype(np.float64)) ** 2)\n"
    "        if best is None or e < best: best, bs = e, s\n"
    "    return m / np.float32(127), bs\n"
    "def err(w, s):\n"
    "    q = np.clip(np.round(w / s), -127, 127).astype(np.float32)\n"
    "    return np.sum((w.astype(np.float64) - (q * s).astype(np.float64)) ** 2)\n"
    "if sys.argv[1] == 'kernel':\n"
    "    W = np.load(sys.argv[2]); out = open(sys.argv[3], 'w')\n"
    "    for w in W:\n"
    "        a, b = scales(w); out.write('%.9g %.9g %.17g %.17g\\n' % (a, b, err(w, a), err(w, b)))\n"
    "elif sys.argv[1] == 'model':  # a Conv [4,128,3,3] and a Gemm B [K=2048, N=6] (axis 1: strided channels)\n"
    "    import onnx\n"
    "    from onnx import helper as h, TensorProto as T, numpy_helper as nh\n"
    "    g = np.random.default_rng(5)\n"
    "    wc = (g.standard_normal((4, 128, 3, 3)) * 0.2).astype(np.float32)\n"
    "    wg = (g.laplace(size=(2048, 6)) * 0.1).astype(np.float32)\n"
    "    nodes = [h.make_node('Conv', ['x', 'wc'], ['c'], name='conv', pads=[1, 1, 1, 1]),\n"
    "             h.make_node('Flatten', ['c'], ['f'], name='flat'),\n"
    "             h.make_node('Gemm', ['f', 'wg'], ['y'], name='gemm')]\n"
    "    gr = h.make_graph(nodes, 'wclip', [h.make_tensor_value_info('x', T.FLOAT, [1, 128, 1, 512])],\n"
    "                      [h.make_tensor_value_info('y', T.FLOAT, [1, 6])], [nh.from_array(wc, 'wc'), nh.from_array(wg, 'wg')])\n"
    "    m = h.make_model(gr, opset_imports=[h.make_opsetid('', 13)]); onnx.checker.check_model(m); onnx.save(m, sys.argv[2])\n"
    "else:  # check ORIG OUT MSE(0/1) RESULT: max |scale - oracle| over both weights, and channels clipped\n"
    "    import onnx\n"
    "    from onnx import numpy_helper as nh\n"
    "    orig = {i.name: nh.to_array(i) for i in onnx.load(sys.argv[2]).graph.initializer}\n"
    "    got = {i.name: nh.to_array(i) for i in onnx.load(sys.argv[3]).graph.initializer}\n"
    "    mse = sys.argv[4] == '1'; worst, clipped, n = 0.0, 0, 0\n"
    "    for name, chans in (('wc', list(orig['wc'].reshape(4, -1))), ('wg', list(orig['wg'].T))):\n"
    "        s = got[name + '_scale']\n"
    "        for c, w in enumerate(chans):\n"
    "            a, b = scales(np.ascontiguousarray(w)); want = b if mse else a\n"
    "            worst = max(worst, abs(float(s[c]) - float(want))); clipped += int(b < a); n += 1\n"
    "    open(sys.argv[5], 'w').write('%.9g %d %d\\n' % (worst, clipped, n))\n";

static int run(const char *cmd) { return system(cmd); }

int main(void) {
  char dir[] = "/tmp/eo_test_wclip_XXXXXX";
  EO_ASSERT(mkdtemp(dir) != NULL);
  char py[256], npy[256], res[256], model[256], out[256], recipe[256], cmd[2048];
  snprintf(py, sizeof py, "%s/oracle.py", dir);
  snprintf(npy, sizeof npy, "%s/w.npy", dir);
  snprintf(res, sizeof res, "%s/res.txt", dir);
  snprintf(model, sizeof model, "%s/m.onnx", dir);
  snprintf(out, sizeof out, "%s/q.onnx", dir);
  snprintf(recipe, sizeof recipe, "%s/r.yaml", dir);
  FILE *f = fopen(py, "w");
  EO_ASSERT(f);
  fputs(oracle, f);
  fclose(f);

  // channels: gaussian and Laplace (clipping 1-4% usually pays at this size), uniform (it rarely
  // does), a single value, zeros
  static float w[CH * N];
  for (int c = 0; c < CH; c++)
    for (int i = 0; i < N; i++) {
      float *v = &w[c * N + i];
      double sc = 0.01 * (c + 1);
      switch (c % 4) {
        case 0: *v = (float)(gauss() * sc); break;
        case 1: *v = (float)((urand() < 0.5 ? 1 : -1) * log(urand() + 1e-12) * sc); break;
        case 2: *v = (float)((2 * urand() - 1) * sc); break;
        default: *v = c == 3 ? 0.f : (i == 5 ? (float)-sc : 0.f); break;  // channel 3 all zeros
      }
    }
  int64_t dims[2] = {CH, N};
  EO_CHECK(eo_npy_write(npy, EO_FLOAT, 2, dims, w) == EO_OK);
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s kernel %s %s", py, npy, res);
  EO_ASSERT(run(cmd) == 0);
  f = fopen(res, "r");
  EO_ASSERT(f);
  int clipped = 0;
  for (int c = 0; c < CH; c++) {
    double mm, ms, em, es;
    EO_ASSERT(fscanf(f, "%lf %lf %lf %lf", &mm, &ms, &em, &es) == 4);
    float smm = eo_weight_scale(w + c * N, N, EO_WCLIP_MINMAX), sms = eo_weight_scale(w + c * N, N, EO_WCLIP_MSE);
    EO_CHECK_MSG(smm == (float)mm, "channel %d minmax: %.9g vs numpy %.9g", c, smm, mm);
    EO_CHECK_MSG(sms == (float)ms, "channel %d mse: %.9g vs numpy %.9g", c, sms, ms);
    // the weight error: numpy's, and never above minmax's
    EO_CHECK_NEAR(eo_weight_error(w + c * N, N, sms), es, 1e-9 * (es + 1e-30));
    EO_CHECK(es <= em);
    clipped += sms < smm;
  }
  fclose(f);
  EO_CHECK(eo_weight_scale(w + 3 * N, N, EO_WCLIP_MSE) == 1.f);  // an all-zero channel
  EO_CHECK(eo_weight_scale(w, 0, EO_WCLIP_MSE) == 1.f);
  EO_CHECK_MSG(clipped >= 2 && clipped < CH, "%d of %d channels clipped", clipped, CH);

  // end to end, weight-int8 (no calibration needed): recipe mse vs default minmax
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s model %s", py, model);
  EO_ASSERT(run(cmd) == 0);
  f = fopen(recipe, "w");
  EO_ASSERT(f);
  fputs("weight:\n  observer: mse\n", f);
  fclose(f);
  for (int mse = 0; mse < 2; mse++) {
    eo_quant_options o;
    eo_quant_options_init(&o);
    o.mode = EO_QUANT_WEIGHT_INT8;
    o.recipe_path = mse ? recipe : NULL;
    EO_CHECK_MSG(eo_quantize(model, out, &o, NULL) == EO_OK, "%s", eo_last_error());
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s check %s %s %d %s", py, model, out, mse, res);
    EO_ASSERT(run(cmd) == 0);
    f = fopen(res, "r");
    EO_ASSERT(f);
    double worst = 1;
    int nclip = 0, n = 0;
    EO_CHECK(fscanf(f, "%lf %d %d", &worst, &nclip, &n) == 3);
    fclose(f);
    EO_CHECK_MSG(worst == 0 && n == 10, "recipe mse %d: scales off numpy's by up to %g over %d channels", mse, worst, n);
    EO_CHECK_MSG(nclip >= 2, "recipe mse %d: only %d channels where clipping pays", mse, nclip);
  }
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (run(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
  return eo_test_finish();
}
