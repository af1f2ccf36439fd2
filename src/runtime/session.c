/* Session: prepare (bind shapes, passes, infer + fold, kernels, arena plan) then run. */
#include <stdlib.h>
#include <string.h>

#include "edgeopt/runtime.h"
#include "onnx/onnx_internal.h"
#include "ir/passes/passes.h"
#include "runtime/infer.h"
#include "runtime/planner.h"
#include "runtime/tune.h"
#include "core/threads.h"
#include "core/sysinfo.h"

struct eo_session {
  const eo_model *model;
  eo_session_options opts;
  bool prepared;
  eo_graph g;            /* the model's graph after passes, folding and shape binding */
  int n_steps;
  int *steps;            /* node index per step */
  eo_op_ctx *ctx;        /* per step */
  eo_tview *views;       /* per tensor */
  eo_tview **ptrs;       /* ctx in/out pointer arrays */
  uint8_t *arena;
  eo_plan_stats stats;
  eo_threadpool *pool;   /* opts.threads workers, started at create (run never creates threads) */
  bool profile;          /* EO_PROFILE=1: time every step, print the totals per step at free */
  uint64_t *prof_ns;     /* per step, summed over runs */
  int prof_runs;
  uint64_t *tune_ns;     /* thread tuning (see tune_run): per step, the best time on the workers [2k]
                          * and on the caller alone [2k + 1]; NULL when not tuning */
  int tune_runs;         /* runs the initial tuning has seen */
  eo_tune_step *tune;    /* per step, its re-checks after the initial tuning (see run_steps) */
  uint64_t tune_after;   /* runs since the initial tuning */
  uint64_t tune_probes, tune_switches; /* for EO_PROFILE: probes and switches since then, */
  int64_t tune_extra_ns;               /* and what probes cost: flipped minus current time */
  uint64_t tune_whole_ns[2]; /* initial tuning: the best whole run on the workers [0], alone [1] */
  eo_tune_step whole;        /* the whole-run check (run_tuned): the tuned steps against all alone */
  bool whole_alone;          /* every step runs on the caller; the workers sleep */
  uint64_t whole_runs;       /* runs since the initial tuning: the whole-run check's clock */
  uint64_t whole_probes, whole_switches, runs_alone; /* for EO_PROFILE */
};

/* Thread tuning. On 2 vCPUs a small op loses more to its hand-off, and to reading what the other
 * core just wrote, than splitting it gains: measured on the INT8 example detector, whose ops mostly
 * take 1-50 us, most ops ran slower at 2 threads than at 1 (1-5 us ops at 0.25-0.5x, its convolutions
 * together at 0.87x), so the whole model was slower on 2 threads than on 1. Where the crossover lies
 * depends on the machine (cache sharing, the hypervisor) and on what else runs, so it is measured
 * rather than modelled: after one warm run, the next runs alternate between every step on the
 * workers and every step on the caller alone, timing each step; then each step runs on the workers
 * only if their best time beats the caller's by more than 10%, or for a step over 50 us alone, unless
 * they are more than 5% slower (eo_tune_pool_wins). Kernels give the same results either way.
 *
 * Why the margin and the later re-checks (runtime/tune.h): the tuning runs last ~10 ms, and on a
 * shared 2-vCPU VM the worker's CPU is then often busy elsewhere; the caller does not wait for a
 * worker that is not running, so the step takes its single-thread time "on the workers" and the
 * choice is a coin toss that then held for the session's life. Measured on the INT8 detector at 2
 * threads, 12 sessions at load 4.7-5.7 under the former rule (lower best time wins, decided once):
 * they disagreed on 191 of 207 steps, 47 of them over 5 us (its first convolution, ~60 us either
 * way, went to the workers in 7 of 12), and p50 ranged 1.16-1.49 ms while 1 thread gave 1.02-1.07
 * ms: a tie left on the workers still costs the hand-off and the next step's cross-core reads,
 * which its own time does not show. So ties go to the caller, and every step is re-checked now and
 * then (a probe: timed as it runs, the other way, as it runs again; first within 16 runs, or 64
 * for a clear choice, then backing off to every 512 while the choice holds); two probes in a row
 * against the choice switch it, so a preempted sample or a short burst does not, while a choice
 * made in a noisy moment, or overtaken by a change of load, is undone within two probes. 2 x 10
 * sessions of 110 runs with it, interleaved with the former rule (load 7-12): 3 and 6 steps over
 * 5 us differed at the end, each in 1 or 2 of 10 sessions; p50 1.07-1.14 ms (median 1.11) against
 * 1.07-1.25 (1.13). Probes cost, as probes made times each step's gap between its ways, ~1 us a
 * run on that detector (0.1%), 3.5 us on mobilenet_v3_small FP32 (0.15%), 0.1-0.2 ms on resnet18
 * FP32 (0.3-0.7%) over the first 110 runs, and less once they back off. */
#define TUNE_SAMPLES 4                    /* timed runs of each way */
#define TUNE_RUNS (1 + 2 * TUNE_SAMPLES)  /* the warm run, then alternating */

/* Per-step times (EO_PROFILE=1) on stderr: a developer's view of where a run's time goes. */
static void profile_dump(const eo_session *s) {
  if (!s->prof_ns || s->prof_runs == 0) return;
  uint64_t total = 0;
  for (int k = 0; k < s->n_steps; k++) total += s->prof_ns[k];
  fprintf(stderr, "EO_PROFILE: %d runs, %d threads, %.3f ms/run\n", s->prof_runs, eo_threadpool_size(s->pool),
          (double)total / 1e6 / s->prof_runs);
  if (s->tune) {
    fprintf(stderr, "EO_PROFILE: thread tuner: %llu probes after the first %d runs, %llu switches, flipped minus as-run time %.4f ms/run\n",
            (unsigned long long)s->tune_probes, TUNE_RUNS, (unsigned long long)s->tune_switches,
            (double)s->tune_extra_ns / 1e6 / s->prof_runs);
    fprintf(stderr, "EO_PROFILE: whole runs: %llu checks, %llu switches, %llu of %llu runs all on the caller%s\n",
            (unsigned long long)s->whole_probes, (unsigned long long)s->whole_switches,
            (unsigned long long)s->runs_alone, (unsigned long long)s->whole_runs, s->whole_alone ? " (now)" : "");
  }
  for (int k = 0; k < s->n_steps; k++) {
    const eo_node *n = &s->g.nodes[s->steps[k]];
    fprintf(stderr, "EO_PROFILE: %4d %-20s %-40s %9.4f ms %5.1f%%%s\n", k, n->op_type, n->name,
            (double)s->prof_ns[k] / 1e6 / s->prof_runs, total ? 100.0 * (double)s->prof_ns[k] / (double)total : 0.0,
            s->tune && !s->ctx[k].pool ? "  1 thread" : "");
  }
}

static void release(eo_session *s) {
  profile_dump(s);
  free(s->prof_ns);
  s->prof_ns = NULL;
  s->prof_runs = 0;
  free(s->tune_ns);
  s->tune_ns = NULL;
  s->tune_runs = 0;
  free(s->tune);
  s->tune = NULL;
  s->tune_after = s->tune_probes = s->tune_switches = 0;
  s->tune_extra_ns = 0;
  s->whole_alone = false;
  s->whole_runs = s->whole_probes = s->whole_switches = s->runs_alone = 0;
  s->tune_whole_ns[0] = s->tune_whole_ns[1] = 0;
  for (int i = 0; s->ctx && i < s->n_steps; i++) {
    const eo_op_def *def = eo_op_get(s->g.nodes[s->steps[i]].op);
    if (def && def->release && s->ctx[i].state) def->release(s->ctx[i].state);
  }
  free(s->steps);
  free(s->ctx);
  free(s->views);
  free(s->ptrs);
  free(s->arena);
  eo_graph_free(&s->g);
  s->steps = NULL;
  s->ctx = NULL;
  s->views = NULL;
  s->ptrs = NULL;
  s->arena = NULL;
  s->n_steps = 0;
  s->prepared = false;
  memset(&s->stats, 0, sizeof s->stats);
}

eo_status eo_session_create(const eo_model *m, const eo_session_options *opts, eo_session **out) {
  *out = NULL;
  if (!m) return eo_error(EO_ERR_INVALID, "eo_session_create: model is NULL");
  if (!m->runnable)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: the model has ops edgeopt does not run; it can be inspected and saved only",
                    m->path);
  eo_session *s = eo_calloc(1, sizeof *s);
  if (!s) return eo_error(EO_ERR_NOMEM, "out of memory");
  s->model = m;
  if (opts) s->opts = *opts;
  if (eo_env_flag("EO_FORCE_REF")) s->opts.force_ref = 1;
  s->profile = eo_env_flag("EO_PROFILE");
  const char *tuning = getenv("EO_THREAD_TUNING");
  if (tuning && strcmp(tuning, "0") == 0) s->opts.no_thread_tuning = 1;
  eo_status st = eo_threadpool_create(s->opts.threads, &s->pool);
  if (st) {
    free(s);
    return st;
  }
  *out = s;
  return EO_OK;
}

void eo_session_free(eo_session *s) {
  if (!s) return;
  release(s);
  eo_threadpool_free(s->pool);
  free(s);
}

static eo_status bind_shapes(eo_session *s, int n, const eo_input_shape *shapes) {
  eo_graph *g = &s->g;
  for (int k = 0; k < n; k++) {
    int t = eo_graph_find(g, shapes[k].name ? shapes[k].name : "");
    if (t < 0 || !(g->tensors[t].flags & EO_T_INPUT))
      return eo_error(EO_ERR_INVALID, "no graph input named '%s'", shapes[k].name ? shapes[k].name : "(null)");
    eo_tensor *ti = &g->tensors[t];
    if (shapes[k].rank != ti->rank)
      return eo_error(EO_ERR_SHAPE, "input '%s' has rank %d in the model, got a shape of rank %d", ti->name, ti->rank,
                      shapes[k].rank);
    for (int d = 0; d < ti->rank; d++) {
      if (shapes[k].dims[d] < 0)
        return eo_error(EO_ERR_SHAPE, "input '%s' dim %d: negative size %lld", ti->name, d, (long long)shapes[k].dims[d]);
      if (ti->dims[d] >= 0 && ti->dims[d] != shapes[k].dims[d])
        return eo_error(EO_ERR_SHAPE, "input '%s' dim %d is %lld in the model, got %lld", ti->name, d,
                        (long long)ti->dims[d], (long long)shapes[k].dims[d]);
      ti->dims[d] = shapes[k].dims[d];
    }
    if (shapes[k].value) {  // frozen: becomes a constant, no longer an input
      if (shapes[k].dtype != ti->dtype)
        return eo_error(EO_ERR_SHAPE, "input '%s': expected %s, got a %s value", ti->name, eo_dtype_name(ti->dtype),
                        eo_dtype_name(shapes[k].dtype));
      size_t bytes;
      if (!eo_dtype_bytes(ti->dtype, eo_numel(ti->rank, ti->dims), &bytes) || !(ti->data = eo_malloc(bytes)))
        return eo_error(EO_ERR_NOMEM, "out of memory for the value of input '%s'", ti->name);
      memcpy(ti->data, shapes[k].value, bytes);
      ti->nbytes = bytes;
      ti->flags &= ~(unsigned)EO_T_INPUT;
      int j = 0;
      for (int i = 0; i < g->n_inputs; i++)
        if (g->inputs[i] != t) g->inputs[j++] = g->inputs[i];
      g->n_inputs = j;
    }
  }
  for (int i = 0; i < g->n_inputs; i++) {
    const eo_tensor *t = &g->tensors[g->inputs[i]];
    for (int d = 0; d < t->rank; d++)
      if (t->dims[d] < 0)
        return eo_error(EO_ERR_SHAPE, "input '%s' dim %d is symbolic ('%s'): give its size when preparing", t->name, d,
                        t->dim_param[d] ? t->dim_param[d] : "unnamed");
  }
  return EO_OK;
}

/* freed[t]: a constant freed after packing (no data, and no arena slot either). */
static eo_status plan(eo_session *s, const bool *freed) {
  eo_graph *g = &s->g;
  int nt = g->n_tensors, nreq = 0;
  eo_buffer_req *reqs = eo_calloc((size_t)(nt + s->n_steps) + 1, sizeof *reqs);
  int *req_of = eo_calloc((size_t)nt + 1, sizeof(int));
  if (!reqs || !req_of) {
    free(reqs);
    free(req_of);
    return eo_error(EO_ERR_NOMEM, "out of memory planning the arena");
  }
  for (int t = 0; t < nt; t++) req_of[t] = -1;
  // A tensor lives from the step that writes it (inputs: before step 0) to its last reader.
  for (int k = 0; k < s->n_steps; k++) {
    const eo_node *n = &g->nodes[s->steps[k]];
    for (int pass = 0; pass < 2; pass++) {
      int cnt = pass ? n->n_out : n->n_in;
      const int *ids = pass ? n->out : n->in;
      for (int i = 0; i < cnt; i++) {
        int t = ids[i];
        if (t < 0 || g->tensors[t].data || freed[t]) continue;
        if (req_of[t] < 0) {
          req_of[t] = nreq;
          reqs[nreq].first = (g->tensors[t].flags & EO_T_INPUT) ? 0 : k;
          eo_dtype_bytes(g->tensors[t].dtype, eo_numel(g->tensors[t].rank, g->tensors[t].dims), &reqs[nreq].size);
          nreq++;
        }
        reqs[req_of[t]].last = k;
      }
    }
  }
  for (int i = 0; i < g->n_inputs + g->n_outputs; i++) {
    int t = i < g->n_inputs ? g->inputs[i] : g->outputs[i - g->n_inputs];
    if (g->tensors[t].data) continue;
    if (req_of[t] < 0) {  // an input nobody reads, still settable
      req_of[t] = nreq;
      eo_dtype_bytes(g->tensors[t].dtype, eo_numel(g->tensors[t].rank, g->tensors[t].dims), &reqs[nreq].size);
      nreq++;
    }
    // Outputs outlive the run. Inputs too: a set input stays valid for every later run (bench sets
    // it once; before, its memory went to later tensors and the second run read their values).
    reqs[req_of[t]].last = s->n_steps;
    if (i < g->n_inputs) reqs[req_of[t]].first = 0;
  }
  int first_scratch = nreq;
  for (int k = 0; k < s->n_steps; k++) {
    reqs[nreq].size = s->ctx[k].scratch_bytes;
    reqs[nreq].first = reqs[nreq].last = k;
    nreq++;
  }
  size_t total;
  eo_status st = eo_plan_arena(reqs, nreq, &total);
  if (!st && s->opts.max_arena_bytes && total > s->opts.max_arena_bytes)
    st = eo_error(EO_ERR_NOMEM, "the planned arena (%zu bytes) exceeds the limit of %zu bytes", total,
                  s->opts.max_arena_bytes);
  if (!st && !(s->arena = aligned_alloc(64, total ? total : 64)))
    st = eo_error(EO_ERR_NOMEM, "cannot allocate the %zu-byte arena", total);
  if (!st) {
    memset(s->arena, 0, total);
    s->stats.arena_bytes = total;
    for (int t = 0; t < nt; t++) {
      if (req_of[t] >= 0) s->views[t].data = s->arena + reqs[req_of[t]].offset;
      if (req_of[t] >= 0) s->stats.naive_bytes += reqs[req_of[t]].size;
      if (g->tensors[t].data) s->stats.constant_bytes += g->tensors[t].nbytes;
    }
    size_t local = 0;
    for (int k = 0; k < s->n_steps; k++) {
      s->ctx[k].scratch = s->ctx[k].scratch_bytes ? s->arena + reqs[first_scratch + k].offset : NULL;
      s->stats.naive_bytes += s->ctx[k].scratch_bytes;
      s->stats.packed_bytes += s->ctx[k].packed_bytes;
      if (s->ctx[k].local_bytes > local) local = s->ctx[k].local_bytes;
    }
    // Out of memory here only means the kernels use their scratch slices instead.
    if (!eo_threadpool_reserve_local(s->pool, local) && eo_threadpool_size(s->pool) > 1)
      s->stats.worker_bytes = local * (size_t)eo_threadpool_size(s->pool);
  }
  free(reqs);
  free(req_of);
  return st;
}

/* Constants the passes left unchanged read the model's bytes instead of the session's copy: the
 * weights then sit in memory once (plus what prepare packs), and the copy is freed before any op
 * packs, so the two never add up at the peak. The model is borrowed for the session's life and
 * never changed; ops only read their constant inputs. */
static void share_model_constants(eo_session *s) {
  const eo_graph *mg = &s->model->graph;
  for (int i = 0; i < s->g.n_tensors; i++) {
    eo_tensor *t = &s->g.tensors[i];
    if (!t->data || (t->flags & EO_T_BORROWED) || !*t->name) continue;
    int j = eo_graph_find(mg, t->name);
    if (j < 0) continue;
    const eo_tensor *o = &mg->tensors[j];
    if (!o->data || o->dtype != t->dtype || o->rank != t->rank || o->nbytes != t->nbytes) continue;
    bool same = true;
    for (int d = 0; same && d < t->rank; d++) same = o->dims[d] == t->dims[d];
    if (!same || (t->nbytes && memcmp(o->data, t->data, t->nbytes) != 0)) continue;
    free(t->data);
    t->data = o->data;
    t->flags |= EO_T_BORROWED;
  }
}

/* Per tensor: 1 when it has readers and each splits its work by output positions across the
 * workers (eo_op_ctx.readers_split_rows): a Conv of one group (its GEMM paths split output
 * positions), or a binary elementwise op whose inputs have the same shape (ops/binary.c: bands of
 * every plane); 0 no reader, -1 another reader. One pass over the steps; NULL when out of memory
 * (the hint is then off). */
static signed char *readers_split_rows(const eo_session *s) {
  signed char *state = eo_calloc((size_t)s->g.n_tensors + 1, 1);
  if (!state) return NULL;
  for (int k = 0; k < s->n_steps; k++) {
    const eo_node *nd = &s->g.nodes[s->steps[k]];
    bool split = nd->op == EO_OP_CONV && eo_attr_i(nd, "group", 1) == 1;
    if ((nd->op == EO_OP_ADD || nd->op == EO_OP_SUB || nd->op == EO_OP_MUL || nd->op == EO_OP_DIV) && nd->n_in == 2 &&
        nd->in[0] >= 0 && nd->in[1] >= 0) {
      const eo_tview *a = &s->views[nd->in[0]], *b = &s->views[nd->in[1]];
      split = a->rank == b->rank && !memcmp(a->dims, b->dims, (size_t)a->rank * sizeof a->dims[0]);
    }
    for (int i = 0; i < nd->n_in; i++)
      if (nd->in[i] >= 0) state[nd->in[i]] = state[nd->in[i]] >= 0 && split ? 1 : -1;
  }
  return state;
}

/* Readers left per tensor while steps prepare: a constant the session owns is freed once every
 * reader captured it in packed state (eo_op_ctx.captured_inputs); a reader that reads it at run,
 * or being a graph output, pins it (-1). Never the model's bytes (borrowed). Under force_ref the
 * ops run reference kernels on the raw weights and capture nothing, so nothing is freed. */
static int *constant_readers(const eo_session *s) {
  const eo_graph *g = &s->g;
  int *left = eo_calloc((size_t)g->n_tensors + 1, sizeof(int));
  if (!left) return NULL;
  for (int k = 0; k < s->n_steps; k++) {
    const eo_node *n = &g->nodes[s->steps[k]];
    for (int i = 0; i < n->n_in; i++) {
      int t = n->in[i];
      if (t >= 0 && left[t] >= 0) left[t] = i < 32 ? left[t] + 1 : -1;  // captured_inputs has 32 bits
    }
  }
  for (int i = 0; i < g->n_outputs; i++) left[g->outputs[i]] = -1;
  for (int t = 0; t < g->n_tensors; t++)
    if (!g->tensors[t].data || (g->tensors[t].flags & (EO_T_BORROWED | EO_T_OUTPUT))) left[t] = -1;
  return left;
}

/* After step k prepared: counts its reads down and frees the constants nobody reads any more. */
static void free_captured(eo_session *s, int k, int *left, bool *freed) {
  const eo_op_ctx *c = &s->ctx[k];
  const eo_node *n = c->node;
  for (int i = 0; i < n->n_in; i++) {
    int t = n->in[i];
    if (t < 0 || left[t] < 0) continue;
    if (!(c->captured_inputs >> i & 1u)) {
      left[t] = -1;
      continue;
    }
    if (--left[t] > 0) continue;
    eo_tensor *tt = &s->g.tensors[t];
    s->stats.freed_constant_bytes += tt->nbytes;
    free(tt->data);
    tt->data = NULL;
    s->views[t].data = NULL;  // a forward that read it after all would fault here, not read freed memory
    freed[t] = true;
    left[t] = -1;
  }
}

static bool outputs_empty(const eo_graph *g, const eo_node *n) {
  for (int o = 0; o < n->n_out; o++)
    if (n->out[o] >= 0 && eo_numel(g->tensors[n->out[o]].rank, g->tensors[n->out[o]].dims) != 0) return false;
  return true;
}

/* Outputs whose row count is only known at run time (NonMaxSuppression) may only be graph
 * outputs: every op downstream sizes its work at prepare. */
static eo_status check_data_dependent(const eo_session *s) {
  const eo_graph *g = &s->g;
  for (int k = 0; k < s->n_steps; k++) {
    const eo_node *n = &g->nodes[s->steps[k]];
    if (!eo_op_get(n->op)->data_dependent_rows || n->out[0] < 0) continue;
    for (int j = k + 1; j < s->n_steps; j++) {
      const eo_node *r = &g->nodes[s->steps[j]];
      for (int i = 0; i < r->n_in; i++)
        if (r->in[i] == n->out[0])
          return eo_error(EO_ERR_UNSUPPORTED,
                          "node '%s' (%s) reads '%s', whose row count node '%s' (%s) decides at run time; edgeopt "
                          "runs such outputs only as graph outputs (end the graph at %s)",
                          r->name, r->op_type, g->tensors[n->out[0]].name, n->name, n->op_type, n->op_type);
    }
  }
  return EO_OK;
}

eo_status eo_session_prepare(eo_session *s, int n, const eo_input_shape *shapes) {
  release(s);
  eo_status st = eo_graph_clone(&s->model->graph, &s->g);
  if (st) return st;
  eo_graph *g = &s->g;
  if ((st = bind_shapes(s, n, shapes))) goto fail;
  eo_pass_stats ps = {0};
  if (!s->opts.no_passes && ((st = eo_passes_run_default(g, &ps)) || (st = eo_pass_fuse_silu(g, &ps)) ||
                              (st = eo_pass_fuse_qlut(g, s->opts.force_ref, &ps)) || (st = eo_graph_compact(g))))
    goto fail;
  int live_before = 0;
  for (int i = 0; i < g->n_nodes; i++) live_before += !g->nodes[i].dead;
  if ((st = eo_graph_infer(g, EO_INFER_FOLD, NULL))) goto fail;
  if (!s->opts.no_passes) {  // needs the inferred shapes; the nodes it removes were not folded
    int live = 0;
    for (int i = 0; i < g->n_nodes; i++) live += !g->nodes[i].dead;
    if ((st = eo_pass_fuse_residual(g, &ps))) goto fail;
    for (int i = 0; i < g->n_nodes; i++) live -= !g->nodes[i].dead;
    live_before -= live;
  }
  share_model_constants(s);
  int max_io = 0, total_io = 0;
  s->steps = eo_calloc((size_t)g->n_nodes + 1, sizeof(int));
  s->views = eo_calloc((size_t)g->n_tensors + 1, sizeof(eo_tview));
  if (!s->steps || !s->views) goto nomem;
  if ((st = eo_graph_topo_order(g, s->steps, &s->n_steps))) goto fail;
  // A node whose outputs are all empty has nothing to compute (and kernels need not handle it).
  int kept = 0;
  for (int k = 0; k < s->n_steps; k++)
    if (!outputs_empty(g, &g->nodes[s->steps[k]])) s->steps[kept++] = s->steps[k];
  s->n_steps = kept;
  for (int k = 0; k < s->n_steps; k++) {
    const eo_node *nd = &g->nodes[s->steps[k]];
    total_io += nd->n_in + nd->n_out;
    if (nd->n_in + nd->n_out > max_io) max_io = nd->n_in + nd->n_out;
  }
  s->ctx = eo_calloc((size_t)s->n_steps + 1, sizeof(eo_op_ctx));
  s->ptrs = eo_calloc((size_t)total_io + 1, sizeof(eo_tview *));
  if (!s->ctx || !s->ptrs) goto nomem;
  for (int t = 0; t < g->n_tensors; t++) eo_tview_from_tensor(&g->tensors[t], &s->views[t]);
  int *left = constant_readers(s);
  bool *freed = eo_calloc((size_t)g->n_tensors + 1, sizeof(bool));
  if (!left || !freed) {
    free(left);
    free(freed);
    goto nomem;
  }
  eo_tview **p = s->ptrs;
  signed char *rows = readers_split_rows(s);
  for (int k = 0; k < s->n_steps; k++) {
    const eo_node *nd = &g->nodes[s->steps[k]];
    eo_op_ctx *c = &s->ctx[k];
    *c = (eo_op_ctx){.node = nd, .opset = g->opset, .n_in = nd->n_in, .n_out = nd->n_out, .in = p,
                     .out = p + nd->n_in, .force_ref = s->opts.force_ref, .pool = s->pool};
    for (int i = 0; i < nd->n_in; i++) c->in[i] = nd->in[i] >= 0 ? &s->views[nd->in[i]] : NULL;
    for (int o = 0; o < nd->n_out; o++) c->out[o] = nd->out[o] >= 0 ? &s->views[nd->out[o]] : NULL;
    c->readers_split_rows = rows && nd->n_out > 0 && nd->out[0] >= 0 && rows[nd->out[0]] == 1;
    p += nd->n_in + nd->n_out;
    const eo_op_def *def = eo_op_get(nd->op);
    if (def->prepare && (st = def->prepare(c))) {
      s->n_steps = k;  // release only what was prepared
      free(left);
      free(freed);
      free(rows);
      goto fail;
    }
    free_captured(s, k, left, freed);
  }
  free(left);
  free(rows);
  if ((st = check_data_dependent(s)) || (st = plan(s, freed))) {
    free(freed);
    goto fail;
  }
  free(freed);
  s->stats.num_steps = s->n_steps;
  s->stats.nodes_folded = ps.nodes_folded + live_before - s->n_steps;
  s->stats.identity_removed = ps.identity_removed;
  s->stats.bn_folded = ps.bn_folded;
  s->stats.act_fused = ps.act_fused;
  s->stats.residual_fused = ps.residual_fused;
  s->stats.dead_removed = ps.dead_removed;
  if (s->profile && !(s->prof_ns = eo_calloc((size_t)s->n_steps + 1, sizeof *s->prof_ns))) goto nomem;
  if (eo_threadpool_size(s->pool) > 1 && !s->opts.no_thread_tuning) {
    if (!(s->tune_ns = eo_calloc(2 * (size_t)s->n_steps + 1, sizeof *s->tune_ns)) ||
        !(s->tune = eo_calloc((size_t)s->n_steps + 1, sizeof *s->tune)))
      goto nomem;
  }
  s->prepared = true;
  return EO_OK;
nomem:
  st = eo_error(EO_ERR_NOMEM, "out of memory preparing the session");
fail:
  st = eo_error_wrap(st, "%s", s->model->path);
  release(s);
  return st;
}

eo_status eo_session_set_input(eo_session *s, const char *name, int dtype, int rank, const int64_t *dims,
                               const void *data) {
  if (!s->prepared) return eo_error(EO_ERR_STATE, "set_input before prepare");
  int t = eo_graph_find(&s->g, name ? name : "");
  if (t < 0 || !(s->g.tensors[t].flags & EO_T_INPUT))
    return eo_error(EO_ERR_INVALID, "no graph input named '%s'", name ? name : "(null)");
  eo_tview *v = &s->views[t];
  if (dtype != v->dtype)
    return eo_error(EO_ERR_SHAPE, "input '%s': expected %s, got %s", name, eo_dtype_name(v->dtype), eo_dtype_name(dtype));
  bool same = rank == v->rank;
  for (int d = 0; same && d < rank; d++) same = dims[d] == v->dims[d];
  if (!same) {
    char a[128], b[128];
    return eo_error(EO_ERR_SHAPE, "input '%s': prepared for shape %s, got %s (prepare again for a new shape)", name,
                    eo_shape_str(v->rank, v->dims, a, sizeof a), eo_shape_str(rank, dims, b, sizeof b));
  }
  size_t bytes;
  eo_dtype_bytes(v->dtype, eo_numel(v->rank, v->dims), &bytes);
  if (bytes) memcpy(v->data, data, bytes);
  return EO_OK;
}

/* One run of the initial thread tuning (see TUNE_RUNS); the last one settles every step's pool and
 * starts the whole-run check. */
static void tune_run(eo_session *s) {
  int r = s->tune_runs++;
  bool alone = r % 2 == 0;  // r = 0 is the warm run, on the workers, untimed
  uint64_t whole = 0;
  for (int k = 0; k < s->n_steps; k++) {
    eo_op_ctx *c = &s->ctx[k];
    c->pool = alone ? NULL : s->pool;
    uint64_t t0 = eo_clock_ns();
    eo_op_get(s->g.nodes[s->steps[k]].op)->forward(c);
    uint64_t t = eo_clock_ns() - t0, *best = &s->tune_ns[2 * k + alone];
    if (r > 0 && (*best == 0 || t < *best)) *best = t;
    whole += t;
  }
  uint64_t *best_whole = &s->tune_whole_ns[alone];
  if (r > 0 && (*best_whole == 0 || whole < *best_whole)) *best_whole = whole;
  if (s->tune_runs < TUNE_RUNS) return;
  for (int k = 0; k < s->n_steps; k++) {
    s->ctx[k].pool = eo_tune_pool_wins(s->tune_ns[2 * k], s->tune_ns[2 * k + 1]) ? s->pool : NULL;
    eo_tune_step_init(&s->tune[k], k, s->tune_ns[2 * k], s->tune_ns[2 * k + 1]);
  }
  eo_tune_whole_init(&s->whole, s->tune_whole_ns[0], s->tune_whole_ns[1]);
}

/* Every step, in order: on the caller alone, or each the way the tuning chose. After the initial
 * tuning each step is re-checked now and then (tune.h: a probe times it the way it runs, the other
 * way, then the way it runs again, in three runs); the choice switches after EO_TUNE_STREAK probes
 * in a row favour the other way. Steps not probing, in a session not profiling, are not timed. */
static void run_steps(eo_session *s, bool alone) {
  uint64_t r = s->tune && !alone ? s->tune_after++ : 0;
  for (int k = 0; k < s->n_steps; k++) {
    eo_op_ctx *c = &s->ctx[k];
    void (*forward)(eo_op_ctx *) = eo_op_get(s->g.nodes[s->steps[k]].op)->forward;
    uint64_t probe = s->tune && !alone ? r - s->tune[k].next : 3;  // 0, 2: as it runs; 1: the other way
    eo_threadpool *way = c->pool;
    if (alone) c->pool = NULL;
    if (probe >= 3 && !s->prof_ns) {
      forward(c);
      c->pool = way;
      continue;
    }
    if (probe == 1) c->pool = way ? NULL : s->pool;
    uint64_t t0 = eo_clock_ns();
    forward(c);
    uint64_t t = eo_clock_ns() - t0;
    c->pool = way;
    if (s->prof_ns) s->prof_ns[k] += t;
    if (probe >= 3) continue;
    eo_tune_step *ts = &s->tune[k];
    if (probe == 0 || (probe == 2 && t < ts->cur_ns)) ts->cur_ns = t;
    if (probe == 1) ts->other_ns = t;
    if (probe != 2) continue;
    s->tune_probes++;
    s->tune_extra_ns += (int64_t)ts->other_ns - (int64_t)ts->cur_ns;
    if (eo_tune_probe(ts, way != NULL, ts->cur_ns, ts->other_ns)) {
      c->pool = way ? NULL : s->pool;
      s->tune_switches++;
    }
  }
  if (s->prof_ns) s->prof_runs++;
}

/* A run after the initial tuning. Whole runs are checked the way steps are (the same probe schedule,
 * tune.h; leaving the tuned steps needs every step alone more than 5% faster, twice in a row, and one
 * probe brings them back): the tuned steps against every step on the caller alone. Why steps alone
 * do not settle it: a step's own time does not show what its hand-off costs the next steps, which
 * read what the other core wrote. Measured on the INT8 example
 * detector at 2 threads: its steps run alone took 3-4x longer in a 2-thread session than in a
 * 1-thread one (10 Splits 0.011 -> 0.048 ms, 57 Q8Luts 0.016 -> 0.071 ms), and the session took
 * 1.09-1.5 ms against 0.96 ms at 1 thread; with this check, 0.90-0.91 ms (3 sessions of 400 runs:
 * 381 runs all alone each). Models where the workers win clearly (resnet18: 15 ms against 29 alone)
 * are checked only every EO_TUNE_MAX_INTERVAL runs. While alone the workers are not woken, so they
 * sleep; a probe wakes them a run ahead of its run on them. */
static void run_tuned(eo_session *s) {
  uint64_t probe = s->whole_runs++ - s->whole.next;  // 0, 2: as it runs; 1: the other way
  bool alone = s->whole_alone != (probe == 1);
  if (!alone || (s->whole_alone && probe == 0)) eo_threadpool_wake(s->pool);
  s->runs_alone += alone;
  if (probe >= 3) {
    run_steps(s, alone);
    return;
  }
  uint64_t t0 = eo_clock_ns();
  run_steps(s, alone);
  uint64_t t = eo_clock_ns() - t0;
  eo_tune_step *w = &s->whole;
  if (probe == 0 || (probe == 2 && t < w->cur_ns)) w->cur_ns = t;
  if (probe == 1) w->other_ns = t;
  if (probe != 2) return;
  s->whole_probes++;
  if (eo_tune_whole_probe(w, !s->whole_alone, w->cur_ns, w->other_ns)) {
    s->whole_alone = !s->whole_alone;
    s->whole_switches++;
  }
}

eo_status eo_session_run(eo_session *s) {
  if (!s->prepared) return eo_error(EO_ERR_STATE, "run before prepare");
  // workers asleep since the last run (a camera's next frame, a peer engine's turn) wake while the
  // first steps run instead of when the first job is handed out
  if (s->tune_ns && s->tune_runs < TUNE_RUNS) {
    eo_threadpool_wake(s->pool);
    tune_run(s);
  } else if (s->tune) {
    run_tuned(s);
  } else {
    eo_threadpool_wake(s->pool);
    run_steps(s, false);
  }
  return EO_OK;
}

int eo_session_num_outputs(const eo_session *s) { return s->model->graph.n_outputs; }

eo_status eo_session_output(const eo_session *s, int i, eo_tensor_view *out) {
  memset(out, 0, sizeof *out);
  if (!s->prepared) return eo_error(EO_ERR_STATE, "output requested before prepare");
  if (i < 0 || i >= s->g.n_outputs) return eo_error(EO_ERR_INVALID, "output index %d out of range (%d outputs)", i, s->g.n_outputs);
  int t = s->g.outputs[i];
  const eo_tview *v = &s->views[t];
  out->name = s->g.tensors[t].name;
  out->dtype = v->dtype;
  out->rank = v->rank;
  memcpy(out->dims, v->dims, sizeof out->dims);
  out->data = v->data;
  eo_dtype_bytes(v->dtype, eo_numel(v->rank, v->dims), &out->nbytes);
  return EO_OK;
}

eo_status eo_session_plan_stats(const eo_session *s, eo_plan_stats *out) {
  if (!s->prepared) return eo_error(EO_ERR_STATE, "plan stats requested before prepare");
  *out = s->stats;
  return EO_OK;
}
