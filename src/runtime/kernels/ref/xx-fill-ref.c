#include <string.h>

#include "runtime/kernels/ref/move_kernels.h"

void eo_xx_fill__ref(size_t es, int64_t n, const void *value, void *y) {
  if (n <= 0) return;
  size_t total = (size_t)n * es, done = es;
  memcpy(y, value, es);
  while (done < total) {  // double the filled prefix: log2(n) memcpy calls
    size_t k = done < total - done ? done : total - done;
    memcpy((char *)y + done, y, k);
    done += k;
  }
}
