/* Detection mAP, classification top-k and agreement metrics: hand-computed cases, then randomized
 * cases checked against independent numpy implementations (scripts/oracle_map.py,
 * scripts/oracle_metrics.py, run with /usr/bin/python3) to 1e-6. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/npy.h"
#include "edgeopt/eval.h"
#include "test.h"
#include "tmpdir.h"

static int run_oracle(const char *script, const char *mode) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 scripts/%s %s %s", script, mode, tmpdir);
  return system(cmd);
}

/* Reads a float64 .npy written by an oracle; NULL (and a failed check) if it is missing. */
static double *read_f64(const char *name, size_t expect) {
  int dt = 0, rank = 0;
  int64_t dims[EO_MAX_RANK];
  void *data = NULL;
  size_t nb = 0;
  eo_status st = eo_npy_read(tmp(name), &dt, &rank, dims, &data, &nb);
  EO_CHECK_MSG(st == EO_OK && dt == EO_DOUBLE && nb == expect * sizeof(double), "%s: %s, %zu bytes", name,
               eo_last_error(), nb);
  if (st != EO_OK || dt != EO_DOUBLE || nb != expect * sizeof(double)) {
    free(data);
    return NULL;
  }
  return data;
}

/* xorshift64*: the tests' own deterministic generator. */
static uint64_t rng_state = 88172645463325252ull;
static double urand(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}
static int irand(int n) { return (int)(urand() * n) % n; }

static eo_det_report *report_of(eo_det_metrics *m) {
  eo_det_report *r = NULL;
  EO_CHECK_MSG(eo_det_metrics_report(m, &r) == EO_OK, "%s", eo_last_error());
  return r;
}

#define DET(x1, y1, x2, y2, s, c) ((eo_detection){(float)(x1), (float)(y1), (float)(x2), (float)(y2), (float)(s), (c)})
#define GT(x1, y1, x2, y2, c) ((eo_gt_box){(float)(x1), (float)(y1), (float)(x2), (float)(y2), (c)})

static void test_iou(void) {
  const float a[4] = {0, 0, 10, 10}, b[4] = {5, 0, 15, 10}, c[4] = {20, 20, 30, 30}, z[4] = {3, 3, 3, 3};
  EO_CHECK_NEAR(eo_box_iou(a, b), 50.0 / 150.0, 1e-15);
  EO_CHECK(eo_box_iou(a, c) == 0.0);
  EO_CHECK(eo_box_iou(a, a) == 1.0);
  EO_CHECK(eo_box_iou(z, z) == 0.0);  // zero union
  const float inv[4] = {10, 10, 0, 0};  // inverted box: zero area
  EO_CHECK(eo_box_iou(inv, a) == 0.0);
  for (int i = 0; i < EO_NUM_IOU_THRESHOLDS; i++) EO_CHECK_NEAR(eo_iou_threshold(i), 0.5 + 0.05 * i, 1e-15);
}

static void test_perfect_empty_fp(void) {
  // Two images, three classes, detections equal to the GT.
  eo_gt_box g0[] = {GT(0, 0, 10, 10, 0), GT(20, 20, 40, 50, 1), GT(5, 5, 25, 25, 2)};
  eo_gt_box g1[] = {GT(100, 100, 150, 120, 1), GT(0, 0, 8, 8, 0)};
  eo_detection d0[] = {DET(0, 0, 10, 10, .9, 0), DET(20, 20, 40, 50, .8, 1), DET(5, 5, 25, 25, .7, 2)};
  eo_detection d1[] = {DET(100, 100, 150, 120, .6, 1), DET(0, 0, 8, 8, .95, 0)};
  eo_det_metrics *m = NULL;
  EO_CHECK(eo_det_metrics_create(3, 0.5f, &m) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, d0, 3, g0, 3) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, d1, 2, g1, 2) == EO_OK);
  eo_det_report *r = report_of(m);
  if (r) {
    EO_CHECK(r->map50 == 1.0 && r->map == 1.0 && r->map75 == 1.0);
    EO_CHECK(r->precision == 1.0 && r->recall == 1.0 && r->tp == 5 && r->fp == 0 && r->fn == 0);
    EO_CHECK(r->num_images == 2 && r->num_gt == 5 && r->num_det == 5 && r->classes_with_gt == 3);
    for (int c = 0; c < 3; c++) EO_CHECK(r->per_class[c].ap == 1.0);
    EO_CHECK(r->per_class[1].num_gt == 2 && r->per_class[1].num_det == 2);
  }
  eo_det_report_free(r);
  eo_det_metrics_free(m);

  // Empty predictions: AP 0 for every class with GT; P = R = 0.
  EO_CHECK(eo_det_metrics_create(3, 0.5f, &m) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, NULL, 0, g0, 3) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, NULL, 0, g1, 2) == EO_OK);
  r = report_of(m);
  if (r) {
    EO_CHECK(r->map50 == 0.0 && r->map == 0.0 && r->precision == 0.0 && r->recall == 0.0);
    EO_CHECK(r->fn == 5 && r->classes_with_gt == 3);
  }
  eo_det_report_free(r);
  eo_det_metrics_free(m);

  // All false positives: right classes, wrong places (IoU 0), and right places, wrong classes.
  eo_detection fp0[] = {DET(50, 50, 60, 60, .9, 0), DET(20, 20, 40, 50, .8, 2), DET(5, 5, 25, 25, .7, 1)};
  EO_CHECK(eo_det_metrics_create(3, 0.1f, &m) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, fp0, 3, g0, 3) == EO_OK);
  r = report_of(m);
  if (r) {
    EO_CHECK(r->map50 == 0.0 && r->map == 0.0);
    EO_CHECK(r->tp == 0 && r->fp == 3 && r->precision == 0.0 && r->precision_micro == 0.0 && r->recall == 0.0);
  }
  eo_det_report_free(r);
  eo_det_metrics_free(m);

  // No GT at all: nothing to measure (-1), detections are still false positives.
  EO_CHECK(eo_det_metrics_create(2, 0.1f, &m) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, fp0, 1, NULL, 0) == EO_OK);
  r = report_of(m);
  if (r) {
    EO_CHECK(r->map50 == -1.0 && r->map == -1.0 && r->per_class[0].ap == -1.0 && r->classes_with_gt == 0);
    EO_CHECK(r->fp == 1 && r->precision_micro == 0.0);
  }
  eo_det_report_free(r);
  eo_det_metrics_free(m);
}

static void test_duplicates_and_crowds(void) {
  // One GT; the exact box twice (0.9, 0.8): the second is a false positive. Precision at 0.5 drops to
  // 1/2, recall stays 1, and AP stays 1 (precision at recall 1 is reached at rank 1).
  eo_gt_box g[] = {GT(10, 10, 50, 50, 0)};
  eo_detection d[] = {DET(10, 10, 50, 50, .8, 0), DET(10, 10, 50, 50, .9, 0)};
  eo_det_metrics *m = NULL;
  EO_CHECK(eo_det_metrics_create(1, 0.5f, &m) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, d, 2, g, 1) == EO_OK);
  eo_det_report *r = report_of(m);
  if (r) {
    EO_CHECK(r->tp == 1 && r->fp == 1);
    EO_CHECK(r->precision == 0.5 && r->recall == 1.0 && r->map50 == 1.0);
  }
  eo_det_report_free(r);
  eo_det_metrics_free(m);
  // Duplicate ranked above the match (a worse box with a higher score): the first takes the GT at
  // IoU 0.5 (it has IoU 0.64 >= 0.5), the exact box is then a duplicate at 0.5 but the only match
  // at thresholds above 0.64.
  eo_detection d2[] = {DET(10, 10, 50, 35.6, .9, 0), DET(10, 10, 50, 50, .8, 0)};
  EO_CHECK(eo_det_metrics_create(1, 0.5f, &m) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, d2, 2, g, 1) == EO_OK);
  r = report_of(m);
  if (r) {
    double iou = 40.0 * 25.6 / 1600.0;  // 0.64
    for (int t = 0; t < EO_NUM_IOU_THRESHOLDS; t++) {
      // t with threshold <= IoU: rank 1 matches (AP 1); above: rank 2 matches, precision 1/2 at recall 1.
      double expect = eo_iou_threshold(t) <= iou ? 1.0 : 0.5;
      EO_CHECK_NEAR(r->per_class[0].ap_at[t], expect, 1e-12);
    }
    EO_CHECK(r->precision == 0.5 && r->recall == 1.0);
  }
  eo_det_report_free(r);
  eo_det_metrics_free(m);

  // Crowded classes: three GT of three classes on the same spot, plus two of class 0 side by side.
  eo_gt_box cg[] = {GT(0, 0, 20, 20, 0), GT(0, 0, 20, 20, 1), GT(0, 0, 20, 20, 2), GT(30, 0, 50, 20, 0),
                    GT(52, 0, 72, 20, 0)};
  eo_detection right[] = {DET(0, 0, 20, 20, .9, 2), DET(0, 0, 20, 20, .9, 1), DET(0, 0, 20, 20, .9, 0),
                          DET(31, 0, 51, 20, .7, 0), DET(51, 0, 71, 20, .6, 0)};
  EO_CHECK(eo_det_metrics_create(3, 0.5f, &m) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, right, 5, cg, 5) == EO_OK);
  r = report_of(m);
  if (r) {
    EO_CHECK(r->map50 == 1.0 && r->tp == 5 && r->fp == 0);
    EO_CHECK(r->per_class[0].num_gt == 3 && r->per_class[1].num_gt == 1);
  }
  eo_det_report_free(r);
  eo_det_metrics_free(m);
  // One GT of class 0; detections on its spot with classes 1 and 2, and class 0 elsewhere:
  // class-aware matching gives nothing.
  eo_detection w[] = {DET(0, 0, 20, 20, .9, 1), DET(0, 0, 20, 20, .9, 2), DET(100, 100, 120, 120, .9, 0)};
  eo_gt_box cg2[] = {GT(0, 0, 20, 20, 0)};
  EO_CHECK(eo_det_metrics_create(3, 0.5f, &m) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, w, 3, cg2, 1) == EO_OK);
  r = report_of(m);
  if (r) EO_CHECK(r->map50 == 0.0 && r->classes_with_gt == 1 && r->fp == 3 && r->per_class[1].ap == -1.0);
  eo_det_report_free(r);
  eo_det_metrics_free(m);
}

static void test_interpolation_by_hand(void) {
  // One class, 4 GT over two images; ranked detections TP, FP, TP, FP, TP (scores .9 .8 .7 .6 .5).
  // precision 1, 1/2, 2/3, 1/2, 3/5 at recall .25, .25, .5, .5, .75; monotone envelope
  // 1, 2/3, 2/3, 3/5, 3/5. Recall points 0..0.25 (26 of them) -> 1, 0.26..0.50 (25) -> 2/3,
  // 0.51..0.75 (25) -> 3/5, 0.76..1 (25) -> 0.  AP = (26 + 25*2/3 + 25*3/5) / 101 = 0.570957...
  eo_gt_box g0[] = {GT(0, 0, 10, 10, 0), GT(20, 0, 30, 10, 0)};
  eo_gt_box g1[] = {GT(0, 0, 10, 10, 0), GT(20, 20, 30, 30, 0)};
  eo_detection d0[] = {DET(0, 0, 10, 10, .9, 0), DET(50, 50, 60, 60, .8, 0), DET(20, 0, 30, 10, .5, 0)};
  eo_detection d1[] = {DET(0, 0, 10, 10, .7, 0), DET(50, 50, 60, 60, .6, 0)};
  eo_det_metrics *m = NULL;
  EO_CHECK(eo_det_metrics_create(1, 0.55f, &m) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, d0, 3, g0, 2) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, d1, 2, g1, 2) == EO_OK);
  eo_det_report *r = report_of(m);
  double expect = (26.0 + 25.0 * 2.0 / 3.0 + 25.0 * 3.0 / 5.0) / 101.0;
  if (r) {
    EO_CHECK_NEAR(r->map50, expect, 1e-12);
    EO_CHECK_NEAR(r->map, expect, 1e-12);  // exact boxes: the same at every threshold
    // Operating threshold 0.55: the top 4 (TP FP TP FP) count.
    EO_CHECK(r->tp == 2 && r->fp == 2 && r->precision == 0.5 && r->recall == 0.5);
  }
  eo_det_report_free(r);
  eo_det_metrics_free(m);
  // The numpy oracle gets the same hand-worked number (so it is anchored to hand computation too).
  const double od[5][7] = {{0, 0, .9, 0, 0, 10, 10}, {0, 0, .8, 50, 50, 60, 60}, {0, 0, .5, 20, 0, 30, 10},
                           {1, 0, .7, 0, 0, 10, 10}, {1, 0, .6, 50, 50, 60, 60}};
  const double og[4][6] = {{0, 0, 0, 0, 10, 10}, {0, 0, 20, 0, 30, 10}, {1, 0, 0, 0, 10, 10}, {1, 0, 20, 20, 30, 30}};
  const double op[3] = {1, 0.55, 2};
  EO_CHECK(eo_npy_write(tmp("dets.npy"), EO_DOUBLE, 2, (int64_t[]){5, 7}, od) == EO_OK);
  EO_CHECK(eo_npy_write(tmp("gts.npy"), EO_DOUBLE, 2, (int64_t[]){4, 6}, og) == EO_OK);
  EO_CHECK(eo_npy_write(tmp("params.npy"), EO_DOUBLE, 1, (int64_t[]){3}, op) == EO_OK);
  unlink(tmp("map.npy"));
  EO_CHECK(run_oracle("oracle_map.py", "") == 0);
  double *o = read_f64("map.npy", 2 * 14);
  if (o) {
    EO_CHECK_NEAR(o[0], expect, 1e-12);        // class 0, AP@0.5
    EO_CHECK_NEAR(o[14 + 0], expect, 1e-12);   // mAP@0.5
    EO_CHECK(o[10] == 2 && o[11] == 2 && o[12] == 0.5 && o[13] == 0.5);
  }
  free(o);

  // IoU exactly at a threshold counts (>=): [0,0,10,7.5] vs [0,0,10,10] has IoU 0.75 = threshold 5,
  // so it matches at 0.50..0.75 (6 thresholds) and misses at 0.80..0.95: AP 6/10.
  eo_gt_box g[] = {GT(0, 0, 10, 10, 0)};
  eo_detection d[] = {DET(0, 0, 10, 7.5, .9, 0)};
  EO_CHECK(eo_det_metrics_create(1, 0.5f, &m) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, d, 1, g, 1) == EO_OK);
  r = report_of(m);
  if (r) {
    EO_CHECK(r->map50 == 1.0 && r->map75 == 1.0 && r->map_at[6] == 0.0);
    EO_CHECK_NEAR(r->map, 0.6, 1e-15);
  }
  eo_det_report_free(r);
  eo_det_metrics_free(m);

  // Greedy by score, GT matched once: a high-scoring detection overlapping two GT takes the better
  // one; the lower-scoring one then gets the other.
  eo_gt_box gg[] = {GT(0, 0, 10, 10, 0), GT(4, 0, 14, 10, 0)};
  eo_detection dd[] = {DET(3, 0, 13, 10, .6, 0), DET(1, 0, 11, 10, .9, 0)};
  EO_CHECK(eo_det_metrics_create(1, 0.5f, &m) == EO_OK);
  EO_CHECK(eo_det_metrics_add(m, dd, 2, gg, 2) == EO_OK);
  r = report_of(m);
  if (r) EO_CHECK(r->tp == 2 && r->map50 == 1.0);
  eo_det_report_free(r);
  eo_det_metrics_free(m);
}

static void test_bad_input(void) {
  eo_det_metrics *m = NULL;
  EO_CHECK(eo_det_metrics_create(0, 0.5f, &m) == EO_ERR_INVALID && m == NULL);
  EO_CHECK(eo_det_metrics_create(2, 0.5f, &m) == EO_OK);
  eo_detection bad[] = {DET(0, 0, 1, 1, .5, 2)};
  eo_gt_box g[] = {GT(0, 0, 1, 1, 0)};
  EO_CHECK(eo_det_metrics_add(m, bad, 1, g, 1) == EO_ERR_INVALID);
  EO_CHECK(strstr(eo_last_error(), "class 2") != NULL);
  bad[0] = DET(0, 0, 1, 1, NAN, 0);
  EO_CHECK(eo_det_metrics_add(m, bad, 1, g, 1) == EO_ERR_INVALID);
  eo_gt_box bg[] = {GT(0, 0, 1, 1, -1)};
  EO_CHECK(eo_det_metrics_add(m, NULL, 0, bg, 1) == EO_ERR_INVALID);
  eo_det_report *r = report_of(m);  // refusals left the accumulator unchanged
  if (r) EO_CHECK(r->num_images == 0 && r->num_gt == 0 && r->num_det == 0);
  eo_det_report_free(r);
  eo_det_metrics_free(m);
  eo_det_metrics_free(NULL);
  eo_det_report_free(NULL);
}

/* ---- randomized detection case vs oracle_map.py ---- */

static void random_box(float *b, float maxxy) {
  float w = (float)(4 + urand() * 120), h = (float)(4 + urand() * 120);
  float x = (float)(urand() * maxxy), y = (float)(urand() * maxxy);
  b[0] = x, b[1] = y, b[2] = x + w, b[3] = y + h;
}

static void test_map_vs_oracle(int trial, int n_images, int nc, float op_conf) {
  eo_det_metrics *m = NULL;
  EO_CHECK(eo_det_metrics_create(nc, op_conf, &m) == EO_OK);
  if (!m) return;
  size_t dcap = 0, gcap = 0, nd_all = 0, ng_all = 0;
  double *dall = NULL, *gall = NULL;
  eo_detection dets[200];
  eo_gt_box gts[30];
  for (int img = 0; img < n_images; img++) {
    int ngt = irand(12), nd = 0;
    int coarse = img % 3 == 0;  // coarse scores: many exact ties
    for (int i = 0; i < ngt; i++) {
      float b[4];
      if (i > 0 && urand() < 0.25) {  // crowding: on top of the previous GT, maybe another class
        memcpy(b, &gts[i - 1], sizeof b);
        b[0] += (float)(urand() * 6 - 3), b[2] += (float)(urand() * 6 - 3);
      } else {
        random_box(b, 500);
      }
      // The last class never gets GT: its detections must count only as false positives.
      gts[i] = GT(b[0], b[1], b[2], b[3], irand(nc - 1));
      int copies = urand() < 0.15 ? 0 : 1 + irand(3);
      for (int k = 0; k < copies && nd < 190; k++) {
        float w = b[2] - b[0], h = b[3] - b[1], j = (float)(urand() * 0.35);
        float jx = (float)(urand() * 2 - 1) * j * w, jy = (float)(urand() * 2 - 1) * j * h;
        float sx = 1 + (float)(urand() * 2 - 1) * j, sy = 1 + (float)(urand() * 2 - 1) * j;
        float s = (float)urand();
        if (coarse) s = (float)(irand(8) / 8.0);
        int c = urand() < 0.9 ? gts[i].class_id : irand(nc);
        dets[nd++] = DET(b[0] + jx, b[1] + jy, b[0] + jx + w * sx, b[1] + jy + h * sy, s, c);
      }
    }
    for (int k = irand(6); k > 0 && nd < 200; k--) {
      float b[4];
      random_box(b, 500);
      dets[nd++] = DET(b[0], b[1], b[2], b[3], coarse ? irand(8) / 8.0 : urand() * 0.6, irand(nc));
    }
    // Shuffled: the oracle sees the same order (it only matters between equal scores).
    for (int i = nd - 1; i > 0; i--) {
      int j = irand(i + 1);
      eo_detection t = dets[i];
      dets[i] = dets[j], dets[j] = t;
    }
    EO_CHECK(eo_det_metrics_add(m, dets, nd, gts, ngt) == EO_OK);
    if (nd_all + (size_t)nd > dcap) dcap = (nd_all + (size_t)nd) * 2, dall = realloc(dall, dcap * 7 * sizeof *dall);
    if (ng_all + (size_t)ngt > gcap) gcap = (ng_all + (size_t)ngt) * 2 + 1, gall = realloc(gall, gcap * 6 * sizeof *gall);
    for (int i = 0; i < nd; i++) {
      double *p = dall + 7 * nd_all++;
      p[0] = img, p[1] = dets[i].class_id, p[2] = dets[i].score;
      p[3] = dets[i].x1, p[4] = dets[i].y1, p[5] = dets[i].x2, p[6] = dets[i].y2;
    }
    for (int i = 0; i < ngt; i++) {
      double *p = gall + 6 * ng_all++;
      p[0] = img, p[1] = gts[i].class_id, p[2] = gts[i].x1, p[3] = gts[i].y1, p[4] = gts[i].x2, p[5] = gts[i].y2;
    }
  }
  double params[3] = {nc, op_conf, n_images};
  EO_CHECK(eo_npy_write(tmp("dets.npy"), EO_DOUBLE, 2, (int64_t[]){(int64_t)nd_all, 7}, dall) == EO_OK);
  EO_CHECK(eo_npy_write(tmp("gts.npy"), EO_DOUBLE, 2, (int64_t[]){(int64_t)ng_all, 6}, gall) == EO_OK);
  EO_CHECK(eo_npy_write(tmp("params.npy"), EO_DOUBLE, 1, (int64_t[]){3}, params) == EO_OK);
  unlink(tmp("map.npy"));
  EO_CHECK(run_oracle("oracle_map.py", "") == 0);
  double *o = read_f64("map.npy", (size_t)(nc + 1) * 14);
  eo_det_report *r = report_of(m);
  if (o && r) {
    double worst = 0;
    int checked = 0;
    for (int c = 0; c < nc; c++) {
      const eo_class_ap *a = &r->per_class[c];
      const double *row = o + 14 * c;
      for (int t = 0; t < 10; t++) worst = fmax(worst, fabs(a->ap_at[t] - row[t]));
      EO_CHECK_MSG(a->tp == (int64_t)row[10] && a->fp == (int64_t)row[11], "class %d tp %lld/%g fp %lld/%g", c,
                   (long long)a->tp, row[10], (long long)a->fp, row[11]);
      worst = fmax(worst, fabs(a->precision - row[12]));
      worst = fmax(worst, fabs(a->recall - row[13]));
      checked++;
    }
    const double *s = o + 14 * nc;
    for (int t = 0; t < 10; t++) worst = fmax(worst, fabs(r->map_at[t] - s[t]));
    worst = fmax(worst, fabs(r->precision - s[10]));
    worst = fmax(worst, fabs(r->recall - s[11]));
    worst = fmax(worst, fabs(r->precision_micro - s[12]));
    worst = fmax(worst, fabs(r->recall_micro - s[13]));
    EO_CHECK_MSG(worst <= 1e-6, "trial %d: largest difference from the numpy oracle %.3g", trial, worst);
    EO_CHECK(r->per_class[nc - 1].ap == -1.0 && checked == nc);
    // The case must exercise the metric: neither trivially perfect nor empty.
    EO_CHECK_MSG(r->map50 > 0.2 && r->map50 < 0.95 && r->map < r->map50, "trial %d map50 %.4f map %.4f", trial,
                 r->map50, r->map);
    double omap = 0;
    for (int t = 0; t < 10; t++) omap += s[t] / 10;
    printf("mAP trial %d: %lld images, %lld det, %lld GT: mAP@0.5 %.6f mAP@0.5:0.95 %.6f (oracle %.6f %.6f), "
           "max diff %.2g\n",
           trial, (long long)r->num_images, (long long)r->num_det, (long long)r->num_gt, r->map50, r->map, s[0], omap,
           worst);
  }
  free(o);
  eo_det_report_free(r);
  eo_det_metrics_free(m);
  free(dall);
  free(gall);
}

/* ---- classification ---- */

static void test_classify_by_hand(void) {
  eo_cls_metrics *m = NULL;
  EO_CHECK(eo_cls_metrics_create(6, &m) == EO_OK);
  const float s0[6] = {.1f, .7f, .2f, 0, 0, 0};       // label 1: top-1
  const float s1[6] = {.5f, .1f, .4f, .3f, .2f, .0f};  // label 4: rank 4 (0,2,3 above) -> top-5 only
  const float s2[6] = {.5f, .5f, .5f, .5f, .5f, .5f};  // label 5: all tied -> rank 5 -> miss
  const float s3[6] = {.3f, .3f, 0, 0, 0, 0};          // label 0: tie with class 1, lower index wins
  EO_CHECK(eo_cls_metrics_add(m, s0, 6, 1) == EO_OK);
  EO_CHECK(eo_cls_metrics_add(m, s1, 6, 4) == EO_OK);
  EO_CHECK(eo_cls_metrics_add(m, s2, 6, 5) == EO_OK);
  EO_CHECK(eo_cls_metrics_add(m, s3, 6, 0) == EO_OK);
  EO_CHECK(eo_cls_metrics_add(m, s3, 5, 0) == EO_ERR_SHAPE);
  EO_CHECK(eo_cls_metrics_add(m, s3, 6, 6) == EO_ERR_INVALID);
  const float sn[6] = {0, NAN, 0, 0, 0, 0};
  EO_CHECK(eo_cls_metrics_add(m, sn, 6, 0) == EO_ERR_INVALID);
  eo_cls_report *r = NULL;
  EO_CHECK(eo_cls_metrics_report(m, &r) == EO_OK);
  if (r) {
    EO_CHECK(r->num_samples == 4 && r->top5_k == 5);
    EO_CHECK(r->top1 == 0.5 && r->top5 == 0.75);
    EO_CHECK(r->confusion[1 * 6 + 1] == 1 && r->confusion[4 * 6 + 0] == 1 && r->confusion[5 * 6 + 0] == 1 &&
             r->confusion[0 * 6 + 0] == 1);
    EO_CHECK(r->per_class_acc[0] == 1.0 && r->per_class_acc[4] == 0.0 && r->per_class_acc[2] == -1.0);
    EO_CHECK(r->per_class_count[5] == 1 && r->mean_class_acc == 0.5);
  }
  eo_cls_report_free(r);
  eo_cls_metrics_free(m);
  EO_CHECK(eo_argmax((const float[]){1, 3, 3, 2}, 4) == 1);
}

static void test_classify_vs_oracle(int nc, int S) {
  eo_cls_metrics *m = NULL;
  EO_CHECK(eo_cls_metrics_create(nc, &m) == EO_OK);
  if (!m) return;
  float *sc = malloc(sizeof *sc * (size_t)(S * nc));
  int64_t *lab = malloc(sizeof *lab * (size_t)S);
  for (int i = 0; i < S; i++) {
    lab[i] = irand(nc);
    for (int c = 0; c < nc; c++) {
      float v = (float)urand();
      if (i % 4 == 0) v = (float)(irand(4) / 4.0);  // ties
      if (c == lab[i] && urand() < 0.5) v += 0.5f;   // a classifier better than chance
      sc[i * nc + c] = v;
    }
    EO_CHECK(eo_cls_metrics_add(m, sc + i * nc, nc, (int)lab[i]) == EO_OK);
  }
  EO_CHECK(eo_npy_write(tmp("scores.npy"), EO_FLOAT, 2, (int64_t[]){S, nc}, sc) == EO_OK);
  EO_CHECK(eo_npy_write(tmp("labels.npy"), EO_INT64, 1, (int64_t[]){S}, lab) == EO_OK);
  unlink(tmp("cls.npy"));
  EO_CHECK(run_oracle("oracle_metrics.py", "cls") == 0);
  double *o = read_f64("cls.npy", (size_t)(3 + nc + nc * nc));
  eo_cls_report *r = NULL;
  EO_CHECK(eo_cls_metrics_report(m, &r) == EO_OK);
  if (o && r) {
    EO_CHECK_NEAR(r->top1, o[0], 1e-12);
    EO_CHECK_NEAR(r->top5, o[1], 1e-12);
    EO_CHECK_NEAR(r->mean_class_acc, o[2], 1e-12);
    int same = 1;
    for (int c = 0; c < nc; c++) same &= fabs(r->per_class_acc[c] - o[3 + c]) <= 1e-12;
    for (int c = 0; c < nc * nc; c++) same &= (double)r->confusion[c] == o[3 + nc + c];
    EO_CHECK_MSG(same, "per-class accuracy or confusion differs from the oracle (nc %d)", nc);
    EO_CHECK(r->top1 > 0.3 && r->top1 < 0.95 && r->top5 >= r->top1);
    printf("top-k vs oracle (%d classes, %d samples): top-1 %.4f / %.4f, top-%d %.4f / %.4f\n", nc, S, r->top1, o[0],
           r->top5_k, r->top5, o[1]);
  }
  free(o);
  eo_cls_report_free(r);
  eo_cls_metrics_free(m);
  free(sc);
  free(lab);
}

/* ---- agreement ---- */

static void test_agree_by_hand(void) {
  eo_agree_options ao = {.num_outputs = 2, .num_classes = 2, .pseudo_label_conf = 0.25f, .operating_conf = 0.25f};
  eo_agree_metrics *a = NULL;
  EO_CHECK(eo_agree_metrics_create(&ao, &a) == EO_OK);
  if (!a) return;
  const float ref[4] = {1, -2, 3, 4}, same[4] = {1, -2, 3, 4}, cand[4] = {1.5f, -2, 2, 4};
  EO_CHECK(eo_agree_metrics_add(a, 0, ref, same, 4) == EO_OK);
  EO_CHECK(eo_agree_metrics_set_classes(a, 1, 2) == EO_OK);
  EO_CHECK(eo_agree_metrics_add(a, 1, ref, cand, 4) == EO_OK);
  EO_CHECK(eo_agree_metrics_add(a, 1, ref, cand, 3) == EO_ERR_SHAPE);
  EO_CHECK(eo_agree_metrics_add(a, 2, ref, cand, 4) == EO_ERR_INVALID);
  // Detections: reference has 2 boxes above 0.25 (pseudo-labels) and one below.
  eo_detection rd[] = {DET(0, 0, 10, 10, .9, 0), DET(20, 20, 30, 30, .3, 1), DET(50, 50, 60, 60, .1, 0)};
  eo_detection cd[] = {DET(0, 0, 10, 10, .8, 0), DET(20, 20, 30, 30, .5, 1)};
  EO_CHECK(eo_agree_metrics_add_detections(a, rd, 3, cd, 2) == EO_OK);
  eo_agree_report *r = NULL;
  EO_CHECK(eo_agree_metrics_report(a, &r) == EO_OK);
  if (r) {
    const eo_output_agreement *o0 = &r->outputs[0], *o1 = &r->outputs[1];
    EO_CHECK(o0->mean_abs_diff == 0 && o0->max_abs_diff == 0 && isinf(o0->sqnr_db) && o0->sqnr_db > 0);
    EO_CHECK(o0->cosine == 1.0 && o0->top1_agreement == -1.0);
    // diffs: -0.5, 0, 1, 0 -> mean abs 1.5/4, rel 1.5/10, max 1; SQNR 10 log10(30 / 1.25).
    EO_CHECK_NEAR(o1->mean_abs_diff, 0.375, 1e-15);
    EO_CHECK_NEAR(o1->mean_rel_diff, 0.15, 1e-15);
    EO_CHECK(o1->max_abs_diff == 1.0);
    EO_CHECK_NEAR(o1->sqnr_db, 10 * log10(30.0 / 1.25), 1e-12);
    EO_CHECK_NEAR(o1->cosine, (1.5 + 4 + 6 + 16) / sqrt(30.0 * (2.25 + 4 + 4 + 16)), 1e-12);
    // rows {1,-2} vs {1.5,-2}: argmax 0 = 0; {3,4} vs {2,4}: 1 = 1.
    EO_CHECK(o1->top1_rows == 2 && o1->top1_agree == 2 && o1->top1_agreement == 1.0);
    EO_CHECK(r->detection && r->detection->num_gt == 2 && r->detection->map50 == 1.0);
  }
  eo_agree_report_free(r);
  eo_agree_metrics_free(a);

  // All-zero reference: SQNR -inf, cosine 0; no detections added -> no detection report.
  ao.num_outputs = 1, ao.num_classes = 0;
  EO_CHECK(eo_agree_metrics_create(&ao, &a) == EO_OK);
  const float zero[2] = {0, 0}, one[2] = {1, 0};
  EO_CHECK(eo_agree_metrics_add(a, 0, zero, one, 2) == EO_OK);
  EO_CHECK(eo_agree_metrics_add_detections(a, rd, 1, cd, 1) == EO_ERR_STATE);
  EO_CHECK(eo_agree_metrics_report(a, &r) == EO_OK);
  if (r) EO_CHECK(isinf(r->outputs[0].sqnr_db) && r->outputs[0].sqnr_db < 0 && r->outputs[0].cosine == 0 && !r->detection);
  eo_agree_report_free(r);
  eo_agree_metrics_free(a);
}

static void test_agree_vs_oracle(void) {
  const int S = 24, n = 600, classes = 10;
  eo_agree_options ao = {.num_outputs = 1};
  eo_agree_metrics *a = NULL;
  EO_CHECK(eo_agree_metrics_create(&ao, &a) == EO_OK);
  if (!a) return;
  EO_CHECK(eo_agree_metrics_set_classes(a, 0, classes) == EO_OK);
  float *ref = malloc(sizeof *ref * (size_t)(S * n)), *cand = malloc(sizeof *cand * (size_t)(S * n));
  for (int s = 0; s < S; s++) {
    double noise = 0.02 + 0.3 * urand();
    for (int i = 0; i < n; i++) {
      float r = (float)((urand() - 0.3) * 8);
      ref[s * n + i] = r;
      cand[s * n + i] = r + (float)((urand() - 0.5) * noise * 8);
    }
    if (s == 3) cand[s * n + 7] = NAN, ref[s * n + 9] = INFINITY;  // left out and counted
    EO_CHECK(eo_agree_metrics_add(a, 0, ref + s * n, cand + s * n, (size_t)n) == EO_OK);
  }
  int64_t cls_arr[1] = {classes};
  EO_CHECK(eo_npy_write(tmp("ref.npy"), EO_FLOAT, 2, (int64_t[]){S, n}, ref) == EO_OK);
  EO_CHECK(eo_npy_write(tmp("cand.npy"), EO_FLOAT, 2, (int64_t[]){S, n}, cand) == EO_OK);
  EO_CHECK(eo_npy_write(tmp("classes.npy"), EO_INT64, 1, (int64_t[]){1}, cls_arr) == EO_OK);
  unlink(tmp("agree.npy"));
  EO_CHECK(run_oracle("oracle_metrics.py", "agree") == 0);
  double *o = read_f64("agree.npy", 9);
  eo_agree_report *r = NULL;
  EO_CHECK(eo_agree_metrics_report(a, &r) == EO_OK);
  if (o && r) {
    const eo_output_agreement *g = &r->outputs[0];
    EO_CHECK(g->count == (int64_t)o[0] && g->nonfinite == (int64_t)o[1] && g->nonfinite == 2);
    EO_CHECK_NEAR(g->mean_abs_diff, o[2], 1e-6 * fabs(o[2]));
    EO_CHECK_NEAR(g->mean_rel_diff, o[3], 1e-6 * fabs(o[3]));
    EO_CHECK(g->max_abs_diff == o[4]);
    EO_CHECK_NEAR(g->cosine, o[5], 1e-9);
    EO_CHECK_NEAR(g->min_cosine, o[6], 1e-9);
    EO_CHECK_NEAR(g->sqnr_db, o[7], 1e-6);
    EO_CHECK_NEAR(g->top1_agreement, o[8], 1e-12);
    EO_CHECK(g->top1_agreement > 0.3 && g->top1_agreement < 1.0 && g->min_cosine < g->cosine);
    printf("agreement vs oracle: mean abs %.6g/%.6g rel %.6g/%.6g cos %.9f/%.9f SQNR %.4f/%.4f dB top-1 %.4f/%.4f\n",
           g->mean_abs_diff, o[2], g->mean_rel_diff, o[3], g->cosine, o[5], g->sqnr_db, o[7], g->top1_agreement, o[8]);
  }
  free(o);
  eo_agree_report_free(r);
  eo_agree_metrics_free(a);
  free(ref);
  free(cand);
}

int main(void) {
  if (tmpdir_make("metrics")) return 1;
  test_iou();
  test_perfect_empty_fp();
  test_duplicates_and_crowds();
  test_interpolation_by_hand();
  test_bad_input();
  test_map_vs_oracle(0, 40, 4, 0.3f);
  test_map_vs_oracle(1, 150, 8, 0.5f);
  test_map_vs_oracle(2, 25, 2, 0.1f);
  test_classify_by_hand();
  test_classify_vs_oracle(10, 700);
  test_classify_vs_oracle(3, 200);
  test_agree_by_hand();
  test_agree_vs_oracle();
  tmpdir_remove();
  return eo_test_finish();
}
