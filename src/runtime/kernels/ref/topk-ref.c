/* Reference TopK: a stable bottom-up merge sort of the indices of each slice, so equal values keep
 * ascending index order (the tie rule ONNX requires), then the first k are written. */
#include "runtime/kernels/ref/resize_kernels.h"

#define DEF_TOPK(s, dt, T, V, LD, ST)                                                            \
  static void topk_##s(bool largest, int64_t outer, int64_t n, int64_t inner, int64_t k,        \
                       const T *x, T *vals, int64_t *inds, int64_t *scratch) {                   \
    for (int64_t o = 0; o < outer; o++)                                                          \
      for (int64_t i = 0; i < inner; i++) {                                                      \
        const T *p = x + o * n * inner + i;                                                      \
        int64_t *a = scratch, *b = scratch + n;                                                  \
        for (int64_t j = 0; j < n; j++) a[j] = j;                                                \
        for (int64_t w = 1; w < n; w *= 2) {                                                     \
          for (int64_t lo = 0; lo < n; lo += 2 * w) {                                            \
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;         \
            int64_t l = lo, r = mid, d = lo;                                                     \
            while (l < mid && r < hi) {                                                          \
              V vl = LD(p[a[l] * inner]), vr = LD(p[a[r] * inner]);                              \
              /* the right run wins only when strictly better: stability */                      \
              bool right = largest ? vr > vl : vr < vl;                                          \
              b[d++] = right ? a[r++] : a[l++];                                                  \
            }                                                                                    \
            while (l < mid) b[d++] = a[l++];                                                     \
            while (r < hi) b[d++] = a[r++];                                                      \
          }                                                                                      \
          int64_t *t = a;                                                                        \
          a = b;                                                                                 \
          b = t;                                                                                 \
        }                                                                                        \
        for (int64_t j = 0; j < k; j++) {                                                        \
          vals[(o * k + j) * inner + i] = p[a[j] * inner];                                       \
          inds[(o * k + j) * inner + i] = a[j];                                                  \
        }                                                                                        \
      }                                                                                          \
  }
EO_RK_TYPES(DEF_TOPK)
#undef DEF_TOPK

void eo_topk__ref(int dtype, bool largest, int64_t outer, int64_t n, int64_t inner, int64_t k,
                  const void *x, void *values, int64_t *indices, int64_t *scratch) {
  switch (dtype) {
#define X(s, dt, T, V, LD, ST)                                                              \
  case dt:                                                                                  \
    topk_##s(largest, outer, n, inner, k, (const T *)x, (T *)values, indices, scratch);     \
    break;
    EO_RK_TYPES(X)
#undef X
    default: break;
  }
}
