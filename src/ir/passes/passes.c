/* The default pass pipeline. */
#include <string.h>

#include "ir/passes/passes.h"

eo_status eo_passes_run_default(eo_graph *g, eo_pass_stats *stats) {
  if (stats) memset(stats, 0, sizeof *stats);
  eo_status st;
  // identities first so that folding and fusion see direct producer -> consumer edges; constants
  // before BN so Constant-node BN params are data; BN before activations (Conv -> BN -> Relu)
  if ((st = eo_pass_remove_identity(g, stats))) return st;
  if ((st = eo_pass_fold_constants(g, stats))) return st;
  // float16 -> float32 after folding (folded Constants are data to convert) and before the passes
  // that want float32 weights (QDQ, BN, activations). Rounding only at the model's own Casts:
  // rounding every op's output too (round_ops) put edgeopt 1.5-3x further from ORT 1.30's FP16
  // outputs (mean |diff| on classifier, detector, BlazeFace, resnet18) and doubled the steps.
  if ((st = eo_pass_lower_fp16(g, false, stats))) return st;
  // QDQ groups before activation fusion, which would take the Relu/Clip of a Conv away from its Q
  if ((st = eo_pass_fuse_qdq(g, stats))) return st;
  if ((st = eo_pass_fold_batchnorm(g, stats))) return st;
  if ((st = eo_pass_fuse_activation(g, stats))) return st;
  if ((st = eo_pass_dce(g, stats))) return st;
  return eo_graph_compact(g);
}
