#ifndef EO_RUNTIME_PLANNER_H
#define EO_RUNTIME_PLANNER_H

#include "core/core.h"

/* One buffer to place in the arena: live from step `first` to step `last` inclusive. */
typedef struct eo_buffer_req {
  size_t size;
  int first, last;
  size_t offset;  /* result */
} eo_buffer_req;

/* Greedy by size (largest first), each buffer at the lowest 64-byte-aligned offset that overlaps
 * no placed buffer whose lifetime intersects its own (TFLite's "greedy by size" arena planner).
 * Sets every offset and *total (the arena size). */
eo_status eo_plan_arena(eo_buffer_req *reqs, int n, size_t *total);

#endif
