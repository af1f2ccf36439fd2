/* Internal: quantization variants over one calibration (sensitivity analysis, mixed precision).
 * A first eo_quantize_variant run with cache_out calibrates every activation any variant could
 * need and keeps the raw ranges; later runs with cache_in skip calibration and only re-plan which
 * nodes are quantized (the union-find groups and parameters are recomputed from the raw ranges). */
#ifndef EO_QUANT_INTERNAL_H
#define EO_QUANT_INTERNAL_H

#include <stdbool.h>

#include "edgeopt/quant.h"
#include "edgeopt/runtime.h"

typedef struct eo_quant_cache {
  int nt;                 /* tensors of the prepared graph */
  float *lo, *hi;         /* raw observed range per tensor */
  bool *seen;
  double **chsum;         /* bias correction: per-channel input sums per tensor (NULL when off) */
  int64_t *chcnt;
  int calib_items;
  int n_items, cap_items;
  eo_tensor_view *items;  /* the first calibration items (owned data), for output SQNR */
} eo_quant_cache;

void eo_quant_cache_free(eo_quant_cache *c);

typedef struct eo_quant_variant {
  const eo_quant_cache *cache_in;  /* NULL: calibrate */
  eo_quant_cache *cache_out;       /* zeroed by the caller; filled by a calibrating run */
  int keep_items;                  /* calibration items kept in cache_out */
  const char *const *skip;         /* node names (or first output names) also kept in float */
  int n_skip;
  int no_layer_report;             /* skip the per-layer SQNR probe */
  /* set: only list the quantized nodes (no calibration, nothing written; out_path may be NULL) */
  char ***cand_names;
  const char ***cand_ops;
  int *n_cand;
} eo_quant_variant;

/* eo_quantize with the variant's extras (opts->mode must be EO_QUANT_INT8 when a cache is used). */
eo_status eo_quantize_variant(const char *in_path, const char *out_path, const eo_quant_options *opts,
                              const eo_quant_variant *v, eo_quant_report **report);

/* Names and op types of the nodes static INT8 quantizes under opts (exclusions, recipe skips and
 * the output-tail rule applied), in graph order. *names (each string too) is the caller's. */
eo_status eo_quant_candidates(const char *in_path, const eo_quant_options *opts, char ***names,
                              const char ***ops, int *n);

#endif
