/* Reference NonMaxSuppression (greedy, per batch and class), with the box and tie rules of
 * ONNX Runtime: scores strictly above the threshold, equal scores in ascending box order,
 * suppression when IoU is strictly above iou_threshold, degenerate boxes never suppress. */
#include "runtime/kernels/ref/resize_kernels.h"

size_t eo_nms_scratch_bytes(int64_t boxes) { return (size_t)(boxes > 0 ? boxes : 1) * 3 * sizeof(int64_t); }

typedef struct nms_box {
  float x0, y0, x1, y1;
} nms_box;

static nms_box box_corners(const float *b, bool center) {
  nms_box r;
  if (center) {
    r.x0 = b[0] - b[2] / 2;
    r.x1 = b[0] + b[2] / 2;
    r.y0 = b[1] - b[3] / 2;
    r.y1 = b[1] + b[3] / 2;
  } else {
    /* [y1, x1, y2, x2] with any diagonal pair of corners */
    r.y0 = b[0] < b[2] ? b[0] : b[2];
    r.y1 = b[0] < b[2] ? b[2] : b[0];
    r.x0 = b[1] < b[3] ? b[1] : b[3];
    r.x1 = b[1] < b[3] ? b[3] : b[1];
  }
  return r;
}

static bool suppresses(nms_box a, nms_box b, float iou_threshold) {
  float ix0 = a.x0 > b.x0 ? a.x0 : b.x0, ix1 = a.x1 < b.x1 ? a.x1 : b.x1;
  float iy0 = a.y0 > b.y0 ? a.y0 : b.y0, iy1 = a.y1 < b.y1 ? a.y1 : b.y1;
  if (ix1 <= ix0 || iy1 <= iy0) return false;
  float inter = (ix1 - ix0) * (iy1 - iy0);
  float area_a = (a.x1 - a.x0) * (a.y1 - a.y0), area_b = (b.x1 - b.x0) * (b.y1 - b.y0);
  float uni = area_a + area_b - inter;
  if (inter <= 0 || area_a <= 0 || area_b <= 0 || uni <= 0) return false;
  return inter / uni > iou_threshold;
}

int64_t eo_f32_nms__ref(const eo_nms_params *p, const float *boxes, const float *scores,
                        int64_t *sel, int64_t cap, void *scratch) {
  int64_t total = 0;
  int64_t *cand = scratch, *tmp = cand + p->boxes, *kept = tmp + p->boxes;
  if (p->max_per_class <= 0) return 0;
  for (int64_t b = 0; b < p->batches; b++) {
    const float *bx = boxes + b * p->boxes * 4;
    for (int64_t c = 0; c < p->classes; c++) {
      const float *sc = scores + (b * p->classes + c) * p->boxes;
      int64_t n = 0;
      for (int64_t i = 0; i < p->boxes; i++)
        if (!p->has_score_threshold || sc[i] > p->score_threshold) cand[n++] = i;
      /* stable merge sort by descending score */
      int64_t *a = cand, *t = tmp;
      for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
          int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
          int64_t l = lo, r = mid, d = lo;
          while (l < mid && r < hi) t[d++] = sc[a[r]] > sc[a[l]] ? a[r++] : a[l++];
          while (l < mid) t[d++] = a[l++];
          while (r < hi) t[d++] = a[r++];
        }
        int64_t *s = a;
        a = t;
        t = s;
      }
      int64_t nk = 0;
      for (int64_t j = 0; j < n && nk < p->max_per_class; j++) {
        nms_box cb = box_corners(bx + a[j] * 4, p->center_point_box);
        bool keep = true;
        for (int64_t q = 0; q < nk && keep; q++)
          if (suppresses(box_corners(bx + kept[q] * 4, p->center_point_box), cb, p->iou_threshold))
            keep = false;
        if (!keep) continue;
        kept[nk++] = a[j];
        if (total < cap) {
          sel[total * 3 + 0] = b;
          sel[total * 3 + 1] = c;
          sel[total * 3 + 2] = a[j];
        }
        total++;
      }
    }
  }
  return total;
}
