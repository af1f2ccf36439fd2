/* Calibration observers against numpy: the data are generated here, written as .npy, and
 * /usr/bin/python3 computes the thresholds from the full sample (np.histogram for percentile as
 * ONNX Runtime does, TensorRT's KL search in numpy for entropy (MXNet's smoothing), the exact squared error over the
 * samples for MSE, symmetric int8 and uint8 asymmetric with edgeopt's zero-point-aligned grid, also on
 * a ReLU output with its exact zeros). The observer sees the same data in batches, with a range that grows between
 * batches (rebinning), and must agree within one histogram bin (two after rebinning). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/npy.h"
#include "quant/observer.h"
#include "test.h"

#define N 60013 /* no sample count lands exactly on the 0.005% tail (a floating tie) */

static uint64_t rng = 88172645463325252ull;
static double gauss(void) { return eo_test_gauss(&rng); }

static const char *oracle =
    "import sys, numpy as np\n"
    "x = np.load(sys.argv[1]).astype(np.float64); out = open(sys.argv[2], 'w')\n"
    "R = np.abs(x).max(); B = 4096; H = B // 2\n"
    "h, e = np.histogram(x, B, range=(-R, R)); c = np.cumsum(h) / h.sum()\n"
    "p = 0.9999; cut = (1 - p) / 2\n"
    "lo = max(e[np.searchsorted(c, cut)], x.min()); hi = min(e[np.searchsorted(c, 1 - cut)], x.max())\n"
    "ah, ae = np.histogram(np.abs(x), H, range=(0, R)); ac = np.cumsum(ah) / ah.sum()\n"
    "sym = ae[np.searchsorted(ac, p)]\n"
    "ah, _ = np.histogram(np.abs(x[x != 0]), H, range=(0, R))  # entropy skips exact zeros\n"
    "def smooth(d, eps=1e-4):\n"
    "    z = d == 0; nz = (~z).sum()\n"
    "    if nz == 0: return None\n"
    "    return d + eps * z - eps * z.sum() / nz * (~z)\n"
    "best, bi = np.inf, H\n"
    "for i in range(128, H + 1):\n"
    "    sl = ah[:i].astype(np.float64); P = sl.copy(); P[-1] += ah[i:].sum()\n"
    "    if ah[i:].sum() > 0.01 * ah.sum(): continue  # clips more than 1%\n"
    "    m = i // 128; Q = np.zeros(i)\n"
    "    for j in range(128):\n"
    "        s = j * m; t = i if j == 127 else s + m; nz = np.count_nonzero(P[s:t])\n"
    "        if nz: Q[s:t] = np.where(P[s:t] != 0, sl[s:t].sum() / nz, 0)\n"
    "    P = smooth(P); Q = smooth(Q)\n"
    "    if P is None or Q is None: continue\n"
    "    Pn = P / P.sum(); Qn = Q / Q.sum(); k = (Pn > 0) & (Qn > 0)\n"
    "    kl = np.sum(Pn[k] * np.log(Pn[k] / Qn[k]))\n"
    "    if kl < best: best, bi = kl, i\n"
    "ent = bi * R / H\n"
    "ax = np.abs(x)\n"
    "def mse(T):\n"
    "    s = T / 127; q = np.clip(np.round(ax / s), 0, 127) * s; return np.mean((ax - q) ** 2)\n"
    "grid = np.linspace(R / 128, R, 400); errs = [mse(T) for T in grid]\n"
    "def mse8(v, lo, hi):  # uint8 asymmetric: quantize.c's qparams\n"
    "    s = (hi - lo) / 255; z = min(max(np.round(-lo / s), 0), 255)\n"
    "    q = np.clip(np.round(v / s) + z, 0, 255); return np.mean(((q - z) * s - v) ** 2)\n"
    "his = np.linspace(x.max() / 64, x.max(), 300); e8 = [mse8(x, x.min(), h) for h in his]; hb = his[int(np.argmin(e8))]\n"
    "best8 = min(min(e8), min(mse8(x, l, hb) for l in np.linspace(x.min(), 0, 100)[:-1]))\n"
    "r = np.maximum(x, 0); bestr = min(mse8(r, 0, h) for h in np.linspace(r.max() / 64, r.max(), 400))\n"
    "out.write('%.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g %.9g\\n' % (x.min(), x.max(), lo, hi, sym, ent, min(errs), R, best8, bestr))\n";

static double mse_at(const float *x, int n, double t) {
  double s = t / 127, e = 0;
  for (int i = 0; i < n; i++) {
    double a = fabs(x[i]), q = fmin(nearbyint(a / s), 127) * s;
    e += (a - q) * (a - q);
  }
  return e / n;
}

/* Mean squared error of x quantized to uint8 with [lo, hi] as quantize.c's qparams does. */
static double mse8_at(const float *x, int n, double lo, double hi) {
  double s = (hi - lo) / 255, z = fmin(fmax(nearbyint(-lo / s), 0), 255), e = 0;
  for (int i = 0; i < n; i++) {
    double q = fmin(fmax(nearbyint(x[i] / s) + z, 0), 255), d = (q - z) * s - x[i];
    e += d * d;
  }
  return e / n;
}

int main(void) {
  float *x = malloc(N * sizeof(float));
  // a ReLU-like skewed distribution with a long tail; the last batch holds the largest values
  for (int i = 0; i < N; i++) {
    double g = gauss();
    x[i] = (float)(i < N / 4 ? fmax(g, 0) : i < N / 2 ? fmax(g, -0.3) : (g > 2.5 ? g * 3 : g * 1.2 + 0.4));
  }
  x[N - 1] = 25.f;
  char dir[] = "/tmp/eo_test_obs_XXXXXX";
  EO_CHECK(mkdtemp(dir) != NULL);
  char npy[256], py[256], res[256], cmd[1024];
  snprintf(npy, sizeof npy, "%s/x.npy", dir);
  snprintf(py, sizeof py, "%s/oracle.py", dir);
  snprintf(res, sizeof res, "%s/res.txt", dir);
  int64_t dims[1] = {N};
  EO_CHECK(eo_npy_write(npy, EO_FLOAT, 1, dims, x) == EO_OK);
  FILE *f = fopen(py, "w");
  fputs(oracle, f);
  fclose(f);
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s %s", py, npy, res);
  EO_CHECK(system(cmd) == 0);
  double mn = 0, mx = 0, plo = 0, phi = 0, psym = 0, ent = 0, best_mse = 0, R = 0, best8 = 0, bestr = 0;
  f = fopen(res, "r");
  EO_CHECK(f && fscanf(f, "%lf %lf %lf %lf %lf %lf %lf %lf %lf %lf", &mn, &mx, &plo, &phi, &psym, &ent, &best_mse, &R,
                       &best8, &bestr) == 10);
  if (f) fclose(f);
  double w = 2 * R / EO_OBS_BINS;

  // batches: the range grows at the second and the last batch (rebinning)
  const int cuts[] = {0, 20000, 40000, N};
  float lo, hi;
  for (int m = EO_CALIB_MINMAX; m <= EO_CALIB_MSE; m++) {
    for (int single = 0; single < 2; single++) {
      eo_observer *o;
      EO_CHECK(eo_observer_create((eo_calib_method)m, 99.99, &o) == EO_OK);
      if (single) EO_CHECK(eo_observer_add(o, x, N) == EO_OK);
      else
        for (int b = 0; b < 3; b++) EO_CHECK(eo_observer_add(o, x + cuts[b], cuts[b + 1] - cuts[b]) == EO_OK);
      double tol = single ? 1.001 * w : 2.001 * w;
      switch (m) {
        case EO_CALIB_MINMAX:
          EO_CHECK(eo_observer_range(o, false, &lo, &hi) == EO_OK);
          EO_CHECK(lo == (float)mn && hi == (float)mx);
          break;
        case EO_CALIB_PERCENTILE:
          EO_CHECK(eo_observer_range(o, false, &lo, &hi) == EO_OK);
          EO_CHECK_NEAR(lo, plo, tol);
          EO_CHECK_NEAR(hi, phi, tol);
          EO_CHECK(eo_observer_range(o, true, &lo, &hi) == EO_OK);
          EO_CHECK_NEAR(hi, psym, tol);
          EO_CHECK(lo == -hi);
          break;
        case EO_CALIB_ENTROPY:
          EO_CHECK(eo_observer_range(o, false, &lo, &hi) == EO_OK);
          // threshold T gives [max(min, -T), min(max, T)]; single pass: numpy's bin exactly
          EO_CHECK_NEAR(hi, fmin(ent, mx), single ? 1e-4 * R : 8 * w);
          EO_CHECK_NEAR(lo, fmax(-ent, mn), single ? 1e-4 * R : 8 * w);
          break;
        case EO_CALIB_MSE: {
          EO_CHECK(eo_observer_range(o, true, &lo, &hi) == EO_OK);
          double e = mse_at(x, N, hi);
          EO_CHECK_MSG(e <= best_mse * 1.05, "mse at T=%g: %g, numpy's best %g", hi, e, best_mse);
          EO_CHECK(hi < mx);  // clipping the tail pays here
          // uint8 asymmetric: numpy's best over a grid of ranges (the observer searches both ends)
          EO_CHECK(eo_observer_range(o, false, &lo, &hi) == EO_OK);
          e = mse8_at(x, N, lo, hi);
          EO_CHECK_MSG(e <= best8 * 1.03, "uint8 mse at [%g, %g]: %g, numpy's best %g", lo, hi, e, best8);
          EO_CHECK(lo >= mn && lo <= 0 && hi > 0 && hi < mx);
          // a ReLU output: its exact zeros cost nothing (they must not pull the range in)
          eo_observer *orl;
          EO_CHECK(eo_observer_create(EO_CALIB_MSE, 0, &orl) == EO_OK);
          for (int b = 0; b < 3; b++) {
            float *xr = malloc((size_t)(cuts[b + 1] - cuts[b]) * sizeof(float));
            for (int i = cuts[b]; i < cuts[b + 1]; i++) xr[i - cuts[b]] = fmaxf(x[i], 0.f);
            EO_CHECK(eo_observer_add(orl, xr, cuts[b + 1] - cuts[b]) == EO_OK);
            free(xr);
          }
          EO_CHECK(eo_observer_range(orl, false, &lo, &hi) == EO_OK);
          float *xr = malloc(N * sizeof(float));
          for (int i = 0; i < N; i++) xr[i] = fmaxf(x[i], 0.f);
          e = mse8_at(xr, N, lo, hi);
          free(xr);
          EO_CHECK_MSG(lo == 0 && e <= bestr * 1.03, "ReLU uint8 mse at [%g, %g]: %g, numpy's best %g", lo, hi, e, bestr);
          eo_observer_free(orl);
          break;
        }
      }
      eo_observer_free(o);
    }
  }
  // bad input
  eo_observer *o;
  EO_CHECK(eo_observer_create(EO_CALIB_PERCENTILE, 20, &o) == EO_ERR_INVALID && o == NULL);
  EO_CHECK(eo_observer_create(EO_CALIB_MINMAX, 0, &o) == EO_OK);
  EO_CHECK(eo_observer_range(o, false, &lo, &hi) == EO_ERR_INVALID);
  float bad[2] = {1.f, NAN};
  EO_CHECK(eo_observer_add(o, bad, 2) == EO_ERR_INVALID && strstr(eo_last_error(), "NaN"));
  eo_observer_free(o);
  unlink(npy), unlink(py), unlink(res), rmdir(dir);
  free(x);
  return eo_test_finish();
}
