/* QDQ fixture models for the fuse_qdq tests (tests/unit/test_fuse_qdq.c, tests/ops/test_qlinear_fuse.c):
 * a Python script writes them into the test's temporary folder (tests/tmpdir.h), each is loaded from
 * ONNX as the session loads it and run through the default passes on a copy of its graph.
 * Header-only (static inline) on purpose: the checks it makes must count in the including test's
 * own counters of test.h, which a separately compiled helper would not see. Include test.h first. */
#ifndef EO_TEST_QDQ_FIXTURES_H
#define EO_TEST_QDQ_FIXTURES_H

#include <stdio.h>
#include <stdlib.h>

#include "edgeopt/model.h"
#include "ir/passes/passes.h"
#include "onnx/onnx_internal.h"
#include "tmpdir.h"

/* Makes the test's tmpdir (tmpdir.h: /tmp/eo_TAG_XXXXXX) and runs `/usr/bin/python3 SCRIPT TMPDIR`
 * (SCRIPT relative to the repository root, the tests' working folder). Returns -1 when no folder could
 * be made (nothing to remove), 1 when the script failed (a failed check), 0 when the fixtures are
 * there. tmpdir_remove() removes them. */
static inline int qdq_fixtures_make(const char *tag, const char *script) {
  if (tmpdir_make(tag)) return -1;
  char cmd[512];
  snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s %s", script, tmpdir);
  int rc = system(cmd);
  EO_CHECK_MSG(rc == 0, "fixture generation failed: %s", cmd);
  return rc == 0 ? 0 : 1;
}

/* Loads TMPDIR/NAME.onnx into *m and runs the default passes on a copy of its graph in *g (stats into
 * *ps, which may be NULL). Returns 0 when *m and *g are to be freed (eo_graph_free, eo_model_free),
 * -1 when the model did not load (nothing to free). */
static inline int qdq_fixture_load(const char *name, eo_model **m, eo_graph *g, eo_pass_stats *ps) {
  char file[128];
  snprintf(file, sizeof file, "%s.onnx", name);
  const char *path = tmp(file);
  *m = NULL;
  eo_status st = eo_model_load(path, NULL, m);
  EO_CHECK_MSG(st == EO_OK, "%s: %s", name, eo_last_error());
  if (st) return -1;
  EO_CHECK(eo_graph_clone(&(*m)->graph, g) == EO_OK);
  st = eo_passes_run_default(g, ps);
  EO_CHECK_MSG(st == EO_OK, "%s: %s", name, eo_last_error());
  return 0;
}

/* live nodes of `op` */
static inline int qdq_count_op(const eo_graph *g, int op) {
  int k = 0;
  for (int i = 0; i < g->n_nodes; i++) k += !g->nodes[i].dead && g->nodes[i].op == op;
  return k;
}

#endif
