/* Arena planner: buffers with overlapping lifetimes never overlap in memory; disjoint ones share. */
#include <stdlib.h>

#include "runtime/planner.h"
#include "test.h"

static int overlaps(const eo_buffer_req *a, const eo_buffer_req *b) {
  bool time = !(a->last < b->first || b->last < a->first);
  bool space = a->offset < b->offset + b->size && b->offset < a->offset + a->size;
  return time && space && a->size && b->size;
}

int main(void) {
  // A chain a -> b -> c: a and c can share memory, b cannot share with either.
  eo_buffer_req chain[3] = {{1000, 0, 1, 0}, {1000, 1, 2, 0}, {1000, 2, 3, 0}};
  size_t total;
  EO_CHECK(eo_plan_arena(chain, 3, &total) == EO_OK);
  EO_CHECK(total == 2048);  // two 64-aligned 1000-byte slots
  EO_CHECK(chain[0].offset == chain[2].offset || chain[0].last < chain[2].first);
  EO_CHECK(!overlaps(&chain[0], &chain[1]) && !overlaps(&chain[1], &chain[2]));

  // Random lifetimes: never an overlap in both time and space; offsets 64-byte aligned.
  srand(7);
  for (int trial = 0; trial < 200; trial++) {
    int n = 1 + rand() % 60;
    eo_buffer_req r[60];
    size_t naive = 0;
    for (int i = 0; i < n; i++) {
      r[i].first = rand() % 40;
      r[i].last = r[i].first + rand() % 10;
      r[i].size = (size_t)(rand() % 5000);
      naive += (r[i].size + 63) / 64 * 64 + (r[i].size ? 0 : 64);
    }
    EO_CHECK(eo_plan_arena(r, n, &total) == EO_OK);
    int bad = 0;
    for (int i = 0; i < n; i++) {
      if (r[i].offset % 64) bad++;
      if (r[i].offset + r[i].size > total) bad++;
      for (int j = i + 1; j < n; j++) bad += overlaps(&r[i], &r[j]);
    }
    EO_CHECK_MSG(bad == 0, "trial %d: %d violations", trial, bad);
    EO_CHECK(total <= naive);
  }
  return eo_test_finish();
}
