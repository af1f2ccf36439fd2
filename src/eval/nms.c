/* Greedy NMS as torchvision.ops.nms / Ultralytics' non_max_suppression: best first, a box is
 * suppressed when its IoU with an already kept box of the same class (any class when agnostic)
 * is > the threshold. Checking each candidate against the kept list (at most max_detections)
 * gives the same result as suppressing forward, in O(n * kept). */
#include <math.h>

#include "eval/eval_internal.h"

double eo_box_iou(const float a[4], const float b[4]) {
  double aw = (double)a[2] - a[0], ah = (double)a[3] - a[1];
  double bw = (double)b[2] - b[0], bh = (double)b[3] - b[1];
  double area_a = (aw > 0 ? aw : 0) * (ah > 0 ? ah : 0);
  double area_b = (bw > 0 ? bw : 0) * (bh > 0 ? bh : 0);
  double iw = fmin((double)a[2], (double)b[2]) - fmax((double)a[0], (double)b[0]);
  double ih = fmin((double)a[3], (double)b[3]) - fmax((double)a[1], (double)b[1]);
  double inter = (iw > 0 ? iw : 0) * (ih > 0 ? ih : 0);
  double uni = area_a + area_b - inter;
  return uni > 0 ? inter / uni : 0.0;
}

/* Total order: score descending, then class, then coordinates. Equal keys mean equal detections,
 * so qsort's instability cannot change the result. */
static int cmp_det(const void *pa, const void *pb) {
  const eo_detection *a = pa, *b = pb;
  if (a->score != b->score) return a->score > b->score ? -1 : 1;
  if (a->class_id != b->class_id) return a->class_id < b->class_id ? -1 : 1;
  const float ka[4] = {a->x1, a->y1, a->x2, a->y2}, kb[4] = {b->x1, b->y1, b->x2, b->y2};
  for (int i = 0; i < 4; i++)
    if (ka[i] != kb[i]) return ka[i] < kb[i] ? -1 : 1;
  return 0;
}

/* Moves the k best detections (in cmp_det order) to dets[0..k), in any order: quickselect, so a
 * model that scores everything above conf (a broken quantized model) costs O(n), not a full sort. */
static void select_best(eo_detection *dets, int n, int k) {
  int lo = 0, hi = n - 1;
  while (lo < hi) {
    // Median of three as the pivot, then Hoare partition.
    int mid = lo + (hi - lo) / 2;
    if (cmp_det(&dets[mid], &dets[lo]) < 0) { eo_detection t = dets[mid]; dets[mid] = dets[lo]; dets[lo] = t; }
    if (cmp_det(&dets[hi], &dets[lo]) < 0) { eo_detection t = dets[hi]; dets[hi] = dets[lo]; dets[lo] = t; }
    if (cmp_det(&dets[hi], &dets[mid]) < 0) { eo_detection t = dets[hi]; dets[hi] = dets[mid]; dets[mid] = t; }
    const eo_detection pivot = dets[mid];
    int i = lo, j = hi;
    while (i <= j) {
      while (cmp_det(&dets[i], &pivot) < 0) i++;
      while (cmp_det(&dets[j], &pivot) > 0) j--;
      if (i <= j) {
        eo_detection t = dets[i];
        dets[i++] = dets[j];
        dets[j--] = t;
      }
    }
    if (k - 1 <= j)
      hi = j;
    else if (k - 1 >= i)
      lo = i;
    else
      return;
  }
}

eo_status eo_nms(eo_detection *dets, int n, const eo_nms_options *o, int *kept) {
  *kept = 0;
  if (n < 0 || (n > 0 && !dets)) return eo_error(EO_ERR_INVALID, "nms: %d detections, pointer %p", n, (void *)dets);
  if (!(o->iou_threshold >= 0.f))
    return eo_error(EO_ERR_INVALID, "nms: IoU threshold %g must be >= 0", (double)o->iou_threshold);
  int m = 0;
  for (int i = 0; i < n; i++) {
    const eo_detection *e = &dets[i];
    // Non-finite coordinates would make IoU meaningless (NaN compares false): drop them with the NaN scores.
    if (e->score > o->conf_threshold && isfinite(e->x1) && isfinite(e->y1) && isfinite(e->x2) && isfinite(e->y2))
      dets[m++] = *e;
  }
  if (o->max_candidates > 0 && m > o->max_candidates) {
    select_best(dets, m, o->max_candidates);
    m = o->max_candidates;
  }
  if (m > 1) qsort(dets, (size_t)m, sizeof *dets, cmp_det);
  int limit = o->max_detections > 0 ? o->max_detections : m;
  int k = 0;
  for (int i = 0; i < m && k < limit; i++) {
    const float bi[4] = {dets[i].x1, dets[i].y1, dets[i].x2, dets[i].y2};
    int keep = 1;
    if (isfinite(o->iou_threshold)) {
      for (int j = 0; j < k && keep; j++) {
        if (!o->class_agnostic && dets[j].class_id != dets[i].class_id) continue;
        const float bj[4] = {dets[j].x1, dets[j].y1, dets[j].x2, dets[j].y2};
        if (eo_box_iou(bi, bj) > o->iou_threshold) keep = 0;
      }
    }
    if (keep) dets[k++] = dets[i];
  }
  *kept = k;
  return EO_OK;
}
