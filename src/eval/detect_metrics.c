/* COCO-style detection AP, streaming. Each image is matched when it is added (pycocotools'
 * evaluateImg for one area range, no crowd): per class, detections in descending score order
 * (stable) take the unmatched GT with the highest IoU >= t. Only (score, class, 10 match bits)
 * is kept per detection; the report ranks them per class (pycocotools' accumulate). */
#include <math.h>
#include <string.h>

#include "eval/eval_internal.h"

typedef struct det_rec {
  float score;
  int32_t cls;
  uint32_t tp; /* bit t: true positive at IoU threshold t */
} det_rec;

typedef struct sort_key {
  int cls;
  float score;
  int idx;
} sort_key;

struct eo_det_metrics {
  int nc;
  float op_conf;
  det_rec *recs;
  size_t n, cap;
  int64_t *num_gt;
  int64_t images;
  /* per-image scratch, grown as needed */
  sort_key *dk, *gk;
  int dk_cap, gk_cap;
  unsigned char *matched;
  int matched_cap;
};

double eo_iou_threshold(int i) {
  // numpy.linspace(0.5, 0.95, 10): i * step + start, and the last value set to stop exactly.
  if (i >= EO_NUM_IOU_THRESHOLDS - 1) return 0.95;
  double step = (0.95 - 0.5) / (double)(EO_NUM_IOU_THRESHOLDS - 1);
  return (double)i * step + 0.5;
}

/* numpy.linspace(0, 1, 101)[r]. */
static double recall_point(int r) { return r >= 100 ? 1.0 : (double)r * 0.01; }

eo_status eo_det_metrics_create(int num_classes, float operating_conf, eo_det_metrics **out) {
  *out = NULL;
  if (num_classes < 1 || num_classes > (1 << 20))
    return eo_error(EO_ERR_INVALID, "detection metrics: num_classes %d must be in 1..%d", num_classes, 1 << 20);
  if (operating_conf != operating_conf)
    return eo_error(EO_ERR_INVALID, "detection metrics: operating confidence is NaN");
  eo_det_metrics *m = eo_calloc(1, sizeof *m);
  if (!m) return eo_error(EO_ERR_NOMEM, "out of memory");
  m->nc = num_classes;
  m->op_conf = operating_conf;
  m->num_gt = eo_calloc((size_t)num_classes, sizeof *m->num_gt);
  if (!m->num_gt) {
    free(m);
    return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  *out = m;
  return EO_OK;
}

void eo_det_metrics_free(eo_det_metrics *m) {
  if (!m) return;
  free(m->recs);
  free(m->num_gt);
  free(m->dk);
  free(m->gk);
  free(m->matched);
  free(m);
}

static int cmp_key(const void *pa, const void *pb) {
  const sort_key *a = pa, *b = pb;
  if (a->cls != b->cls) return a->cls < b->cls ? -1 : 1;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  return (a->idx > b->idx) - (a->idx < b->idx);
}

static int finite4(float a, float b, float c, float d) { return isfinite(a) && isfinite(b) && isfinite(c) && isfinite(d); }

eo_status eo_det_metrics_add(eo_det_metrics *m, const eo_detection *dets, int ndet, const eo_gt_box *gts,
                             int ngt) {
  if (ndet < 0 || ngt < 0 || (ndet && !dets) || (ngt && !gts))
    return eo_error(EO_ERR_INVALID, "detection metrics: %d detections, %d GT boxes (or NULL arrays)", ndet, ngt);
  // Validate everything before touching the accumulator.
  for (int i = 0; i < ndet; i++) {
    const eo_detection *d = &dets[i];
    if (d->class_id < 0 || d->class_id >= m->nc)
      return eo_error(EO_ERR_INVALID, "detection %d of image %lld has class %d, expected 0..%d", i,
                      (long long)m->images, d->class_id, m->nc - 1);
    if (!isfinite(d->score) || !finite4(d->x1, d->y1, d->x2, d->y2))
      return eo_error(EO_ERR_INVALID, "detection %d of image %lld has a non-finite score or coordinate", i,
                      (long long)m->images);
  }
  for (int i = 0; i < ngt; i++) {
    const eo_gt_box *g = &gts[i];
    if (g->class_id < 0 || g->class_id >= m->nc)
      return eo_error(EO_ERR_INVALID, "GT box %d of image %lld has class %d, expected 0..%d", i,
                      (long long)m->images, g->class_id, m->nc - 1);
    if (!finite4(g->x1, g->y1, g->x2, g->y2))
      return eo_error(EO_ERR_INVALID, "GT box %d of image %lld has a non-finite coordinate", i, (long long)m->images);
  }
  eo_status st;
  if ((st = eo_grow((void **)&m->dk, &m->dk_cap, ndet, sizeof *m->dk)) ||
      (st = eo_grow((void **)&m->gk, &m->gk_cap, ngt, sizeof *m->gk)) ||
      (st = eo_grow((void **)&m->matched, &m->matched_cap, ngt, 1)))
    return st;
  if (m->n + (size_t)ndet > m->cap) {
    size_t cap = m->cap ? m->cap : 1024;
    while (cap < m->n + (size_t)ndet) cap *= 2;
    size_t bytes;
    if (!eo_mul_size(cap, sizeof *m->recs, &bytes)) return eo_error(EO_ERR_NOMEM, "too many detections");
    det_rec *r = realloc(m->recs, bytes);
    if (!r) return eo_error(EO_ERR_NOMEM, "out of memory for %zu detections", cap);
    m->recs = r;
    m->cap = cap;
  }

  for (int i = 0; i < ndet; i++) m->dk[i] = (sort_key){dets[i].class_id, dets[i].score, i};
  for (int i = 0; i < ngt; i++) m->gk[i] = (sort_key){gts[i].class_id, 0.f, i};
  if (ndet > 1) qsort(m->dk, (size_t)ndet, sizeof *m->dk, cmp_key);
  if (ngt > 1) qsort(m->gk, (size_t)ngt, sizeof *m->gk, cmp_key);
  for (int i = 0; i < ngt; i++) m->num_gt[gts[i].class_id]++;

  int g0 = 0;
  for (int d0 = 0; d0 < ndet;) {
    const int c = m->dk[d0].cls;
    int d1 = d0;
    while (d1 < ndet && m->dk[d1].cls == c) d1++;
    while (g0 < ngt && m->gk[g0].cls < c) g0++;
    int g1 = g0;
    while (g1 < ngt && m->gk[g1].cls == c) g1++;
    for (int k = d0; k < d1; k++) m->recs[m->n + (size_t)k] = (det_rec){m->dk[k].score, c, 0};
    for (int t = 0; t < EO_NUM_IOU_THRESHOLDS; t++) {
      const double thr = eo_iou_threshold(t);
      if (g1 > g0) memset(m->matched, 0, (size_t)(g1 - g0));
      for (int k = d0; k < d1; k++) {
        const eo_detection *d = &dets[m->dk[k].idx];
        const float db[4] = {d->x1, d->y1, d->x2, d->y2};
        int best = -1;
        double best_iou = 0;
        for (int j = g0; j < g1; j++) {
          if (m->matched[j - g0]) continue;
          const eo_gt_box *g = &gts[m->gk[j].idx];
          const float gb[4] = {g->x1, g->y1, g->x2, g->y2};
          double iou = eo_box_iou(db, gb);
          if (iou < thr) continue;
          if (best < 0 || iou > best_iou) best = j, best_iou = iou;
        }
        if (best >= 0) {
          m->matched[best - g0] = 1;
          m->recs[m->n + (size_t)k].tp |= 1u << t;
        }
      }
    }
    d0 = d1;
    g0 = g1;
  }
  m->n += (size_t)ndet;
  m->images++;
  return EO_OK;
}

typedef struct rank_key {
  float score;
  size_t idx;
} rank_key;

static int cmp_rank(const void *pa, const void *pb) {
  const rank_key *a = pa, *b = pb;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  return (a->idx > b->idx) - (a->idx < b->idx);
}

/* AP at the 101 recall points from tp flags in rank order (pycocotools accumulate). pr is scratch. */
static double average_precision(const det_rec *recs, const rank_key *order, size_t nd, uint32_t bit, int64_t npig,
                                double *pr, double *rc) {
  size_t tp = 0;
  for (size_t i = 0; i < nd; i++) {
    tp += (recs[order[i].idx].tp & bit) != 0;
    rc[i] = (double)tp / (double)npig;
    pr[i] = (double)tp / (double)(i + 1);
  }
  for (size_t i = nd; i-- > 1;)
    if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
  double sum = 0;
  size_t j = 0;
  for (int r = 0; r <= 100; r++) {
    double thr = recall_point(r);
    while (j < nd && rc[j] < thr) j++;
    if (j == nd) break;
    sum += pr[j];
  }
  return sum / 101.0;
}

eo_status eo_det_metrics_report(const eo_det_metrics *m, eo_det_report **out) {
  *out = NULL;
  const int nc = m->nc;
  eo_det_report *r = eo_calloc(1, sizeof *r);
  size_t *start = eo_calloc((size_t)nc + 1, sizeof *start);
  rank_key *order = eo_calloc(m->n + 1, sizeof *order);
  double *pr = eo_calloc(m->n + 1, sizeof *pr), *rc = eo_calloc(m->n + 1, sizeof *rc);
  if (r) r->per_class = eo_calloc((size_t)nc, sizeof *r->per_class);
  if (!r || !start || !order || !pr || !rc || !r->per_class) {
    free(start), free(order), free(pr), free(rc);
    eo_det_report_free(r);
    return eo_error(EO_ERR_NOMEM, "detection metrics: out of memory for the report (%zu detections)", m->n);
  }
  // Bucket the records by class, keeping insertion order (counting sort), then rank each bucket.
  for (size_t i = 0; i < m->n; i++) start[m->recs[i].cls + 1]++;
  for (int c = 0; c < nc; c++) start[c + 1] += start[c];
  {
    size_t *fill = eo_calloc((size_t)nc + 1, sizeof *fill);
    if (!fill) {
      free(start), free(order), free(pr), free(rc);
      eo_det_report_free(r);
      return eo_error(EO_ERR_NOMEM, "out of memory");
    }
    memcpy(fill, start, sizeof *fill * (size_t)nc);
    for (size_t i = 0; i < m->n; i++) order[fill[m->recs[i].cls]++] = (rank_key){m->recs[i].score, i};
    free(fill);
  }
  r->num_classes = nc;
  r->num_images = m->images;
  r->num_det = (int64_t)m->n;
  r->operating_conf = m->op_conf;
  double sum_p = 0, sum_r = 0;
  int64_t all_tp = 0, all_fp = 0;
  for (int c = 0; c < nc; c++) {
    eo_class_ap *ca = &r->per_class[c];
    rank_key *o = order + start[c];
    size_t nd = start[c + 1] - start[c];
    if (nd > 1) qsort(o, nd, sizeof *o, cmp_rank);
    ca->num_gt = m->num_gt[c];
    ca->num_det = (int64_t)nd;
    for (size_t i = 0; i < nd && o[i].score >= m->op_conf; i++) {
      if (m->recs[o[i].idx].tp & 1u)
        ca->tp++;
      else
        ca->fp++;
    }
    all_tp += ca->tp;
    all_fp += ca->fp;
    r->num_gt += ca->num_gt;
    if (ca->num_gt == 0) {
      ca->ap50 = ca->ap75 = ca->ap = ca->precision = ca->recall = -1;
      for (int t = 0; t < EO_NUM_IOU_THRESHOLDS; t++) ca->ap_at[t] = -1;
      continue;
    }
    r->classes_with_gt++;
    double s = 0;
    for (int t = 0; t < EO_NUM_IOU_THRESHOLDS; t++) {
      ca->ap_at[t] = average_precision(m->recs, o, nd, 1u << t, ca->num_gt, pr, rc);
      s += ca->ap_at[t];
      r->map_at[t] += ca->ap_at[t];
    }
    ca->ap = s / EO_NUM_IOU_THRESHOLDS;
    ca->ap50 = ca->ap_at[0];
    ca->ap75 = ca->ap_at[5];
    ca->precision = ca->tp + ca->fp ? (double)ca->tp / (double)(ca->tp + ca->fp) : 0.0;
    ca->recall = (double)ca->tp / (double)ca->num_gt;
    sum_p += ca->precision;
    sum_r += ca->recall;
    r->map += ca->ap;
  }
  if (r->classes_with_gt) {
    double k = r->classes_with_gt;
    for (int t = 0; t < EO_NUM_IOU_THRESHOLDS; t++) r->map_at[t] /= k;
    r->map /= k;
    r->map50 = r->map_at[0];
    r->map75 = r->map_at[5];
    r->precision = sum_p / k;
    r->recall = sum_r / k;
  } else {
    r->map = r->map50 = r->map75 = r->precision = r->recall = -1;
    for (int t = 0; t < EO_NUM_IOU_THRESHOLDS; t++) r->map_at[t] = -1;
  }
  r->tp = all_tp;
  r->fp = all_fp;
  r->fn = r->num_gt - all_tp;
  r->precision_micro = all_tp + all_fp ? (double)all_tp / (double)(all_tp + all_fp) : 0.0;
  r->recall_micro = r->num_gt ? (double)all_tp / (double)r->num_gt : 0.0;
  free(start), free(order), free(pr), free(rc);
  *out = r;
  return EO_OK;
}

void eo_det_report_free(eo_det_report *r) {
  if (!r) return;
  free(r->per_class);
  free(r);
}
