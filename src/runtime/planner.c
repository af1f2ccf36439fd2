#include <stdlib.h>
#include <string.h>

#include "runtime/planner.h"

#define EO_ALIGN 64

static size_t align_up(size_t x) { return (x + EO_ALIGN - 1) & ~(size_t)(EO_ALIGN - 1); }

typedef struct { size_t size; int first, index; } size_key;

static int by_size_desc(const void *a, const void *b) {
  const size_key *x = a, *y = b;
  if (x->size != y->size) return x->size < y->size ? 1 : -1;
  if (x->first != y->first) return x->first - y->first;
  return x->index - y->index;
}

eo_status eo_plan_arena(eo_buffer_req *reqs, int n, size_t *total) {
  *total = 0;
  size_key *keys = eo_calloc((size_t)n + 1, sizeof *keys);
  int *placed = eo_calloc((size_t)n + 1, sizeof(int));  // indices, sorted by offset
  if (!keys || !placed) {
    free(keys);
    free(placed);
    return eo_error(EO_ERR_NOMEM, "out of memory planning the arena");
  }
  for (int i = 0; i < n; i++) keys[i] = (size_key){reqs[i].size, reqs[i].first, i};
  qsort(keys, (size_t)n, sizeof *keys, by_size_desc);
  int n_placed = 0;
  for (int k = 0; k < n; k++) {
    eo_buffer_req *r = &reqs[keys[k].index];
    size_t size = align_up(r->size ? r->size : 1), offset = 0;
    // first fit: the lowest gap between buffers whose lifetimes overlap this one's
    for (int j = 0; j < n_placed; j++) {
      const eo_buffer_req *p = &reqs[placed[j]];
      if (p->last < r->first || p->first > r->last) continue;
      if (offset + size <= p->offset) break;
      size_t end = p->offset + align_up(p->size ? p->size : 1);
      if (end > offset) offset = end;
    }
    r->offset = offset;
    if (offset + size > *total) *total = offset + size;
    int pos = n_placed;
    while (pos > 0 && reqs[placed[pos - 1]].offset > offset) pos--;
    memmove(placed + pos + 1, placed + pos, (size_t)(n_placed - pos) * sizeof(int));
    placed[pos] = keys[k].index;
    n_placed++;
  }
  free(keys);
  free(placed);
  return EO_OK;
}
