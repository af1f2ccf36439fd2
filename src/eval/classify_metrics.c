/* Top-1 / top-5 accuracy, per-class accuracy and the confusion matrix, streaming. A label's rank
 * is its position in a stable descending sort of the scores: the classes scoring higher, plus
 * those scoring equal with a lower index. */
#include <math.h>
#include <string.h>

#include "eval/eval_internal.h"

struct eo_cls_metrics {
  int nc;
  int64_t samples, top1, top5;
  int64_t *confusion; /* nc x nc */
};

int eo_argmax(const float *s, int n) {
  if (n <= 0) return -1;
  int best = 0;
  for (int i = 1; i < n; i++)
    if (s[i] > s[best]) best = i;
  return best;
}

eo_status eo_cls_metrics_create(int num_classes, eo_cls_metrics **out) {
  *out = NULL;
  if (num_classes < 1 || num_classes > 65536)
    return eo_error(EO_ERR_INVALID, "classification metrics: num_classes %d must be in 1..65536", num_classes);
  eo_cls_metrics *m = eo_calloc(1, sizeof *m);
  if (m) m->confusion = eo_calloc((size_t)num_classes * (size_t)num_classes, sizeof *m->confusion);
  if (!m || !m->confusion) {
    eo_cls_metrics_free(m);
    return eo_error(EO_ERR_NOMEM, "classification metrics: out of memory for %d classes", num_classes);
  }
  m->nc = num_classes;
  *out = m;
  return EO_OK;
}

void eo_cls_metrics_free(eo_cls_metrics *m) {
  if (!m) return;
  free(m->confusion);
  free(m);
}

eo_status eo_cls_metrics_add(eo_cls_metrics *m, const float *scores, int n, int label) {
  if (n != m->nc || !scores)
    return eo_error(EO_ERR_SHAPE, "classification metrics: sample %lld has %d scores, expected %d",
                    (long long)m->samples, n, m->nc);
  if (label < 0 || label >= m->nc)
    return eo_error(EO_ERR_INVALID, "classification metrics: sample %lld has label %d, expected 0..%d",
                    (long long)m->samples, label, m->nc - 1);
  for (int i = 0; i < n; i++)
    if (isnan(scores[i]))
      return eo_error(EO_ERR_INVALID, "classification metrics: sample %lld has a NaN score (class %d)",
                      (long long)m->samples, i);
  const float sl = scores[label];
  int rank = 0;
  for (int i = 0; i < n; i++) rank += scores[i] > sl || (scores[i] == sl && i < label);
  int k5 = m->nc < 5 ? m->nc : 5;
  m->top1 += rank == 0;
  m->top5 += rank < k5;
  m->confusion[(size_t)label * (size_t)m->nc + (size_t)eo_argmax(scores, n)]++;
  m->samples++;
  return EO_OK;
}

eo_status eo_cls_metrics_report(const eo_cls_metrics *m, eo_cls_report **out) {
  *out = NULL;
  const size_t nc = (size_t)m->nc;
  eo_cls_report *r = eo_calloc(1, sizeof *r);
  if (r) {
    r->per_class_count = eo_calloc(nc, sizeof *r->per_class_count);
    r->per_class_acc = eo_calloc(nc, sizeof *r->per_class_acc);
    r->confusion = eo_calloc(nc * nc, sizeof *r->confusion);
  }
  if (!r || !r->per_class_count || !r->per_class_acc || !r->confusion) {
    eo_cls_report_free(r);
    return eo_error(EO_ERR_NOMEM, "classification metrics: out of memory for the report");
  }
  r->num_classes = m->nc;
  r->num_samples = m->samples;
  r->top5_k = m->nc < 5 ? m->nc : 5;
  r->top1 = m->samples ? (double)m->top1 / (double)m->samples : 0.0;
  r->top5 = m->samples ? (double)m->top5 / (double)m->samples : 0.0;
  memcpy(r->confusion, m->confusion, nc * nc * sizeof *r->confusion);
  double sum = 0;
  int with = 0;
  for (size_t c = 0; c < nc; c++) {
    int64_t row = 0;
    for (size_t j = 0; j < nc; j++) row += m->confusion[c * nc + j];
    r->per_class_count[c] = row;
    r->per_class_acc[c] = row ? (double)m->confusion[c * nc + c] / (double)row : -1.0;
    if (row) sum += r->per_class_acc[c], with++;
  }
  r->mean_class_acc = with ? sum / with : 0.0;
  *out = r;
  return EO_OK;
}

void eo_cls_report_free(eo_cls_report *r) {
  if (!r) return;
  free(r->per_class_count);
  free(r->per_class_acc);
  free(r->confusion);
  free(r);
}
