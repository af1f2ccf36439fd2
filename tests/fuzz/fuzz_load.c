/* libFuzzer target for the model loader and everything load runs (protobuf decode, tensor decode,
 * graph build, cycle check, shape inference with folding), plus prepare + run on small graphs. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "edgeopt/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  eo_model *m = NULL;
  if (eo_model_load_buffer(data, size, NULL, "fuzz", NULL, &m) != EO_OK) return 0;
  eo_model_info info;
  eo_model_inspect(m, &info);
  // Run only graphs whose inputs are small once symbolic dims are bound to 1.
  eo_input_shape shapes[16];
  int64_t dims[16][EO_MAX_RANK];
  int n = eo_model_num_inputs(m);
  bool small = n <= 16;
  for (int i = 0; small && i < n; i++) {
    const eo_value_desc *d = eo_model_input(m, i);
    int64_t numel = 1;
    for (int k = 0; k < d->rank; k++) {
      dims[i][k] = d->dims[k] < 0 ? 1 : d->dims[k];
      numel *= dims[i][k] ? dims[i][k] : 1;
      if (numel > (1 << 16)) small = false;
    }
    shapes[i] = (eo_input_shape){d->name, d->rank, dims[i], 0, NULL};
  }
  eo_session *s = NULL;
  eo_session_options opts = {.max_arena_bytes = 64u << 20};
  if (small && info.flops < 50000000 && eo_session_create(m, &opts, &s) == EO_OK &&
      eo_session_prepare(s, n, shapes) == EO_OK)
    eo_session_run(s);  // inputs are the arena's zeros
  eo_session_free(s);
  eo_model_free(m);
  return 0;
}
