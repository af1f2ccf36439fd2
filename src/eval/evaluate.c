/* The evaluation loop: data set -> preprocessing -> session(s) -> decoder -> metrics, one item at a
 * time. Everything here goes through the public headers of data/, runtime/ and eval/. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "core/core.h"
#include "core/npy.h"
#include "edgeopt/evaluate.h"

#define EV_MAX_IO 16

/* ---------------------------------------------------------------- names, options */

static const char *task_names[] = {"detect", "classify", "compare"};

eo_status eo_eval_task_from_name(const char *name, eo_eval_task *out) {
  for (int i = 0; i < 3; i++)
    if (name && strcmp(name, task_names[i]) == 0) {
      *out = (eo_eval_task)i;
      return EO_OK;
    }
  return eo_error(EO_ERR_INVALID, "task '%s': expected detect, classify or compare", name ? name : "");
}

const char *eo_eval_task_name(eo_eval_task t) { return (unsigned)t <= EO_EVAL_COMPARE ? task_names[t] : "?"; }

void eo_eval_options_init(eo_eval_options *o) {
  memset(o, 0, sizeof *o);
  o->task = EO_EVAL_DETECT;
  o->data.split = "val";
  eo_decode_options_init(&o->decode);
  o->operating_conf = 0.25f;
  o->pseudo_label_conf = 0.25f;
  o->compare_detections = -1;
}

void eo_eval_result_free(eo_eval_result *r) {
  if (!r) return;
  eo_det_report_free(r->detection);
  eo_cls_report_free(r->classification);
  if (r->output_names && r->agreement)
    for (int i = 0; i < r->agreement->num_outputs; i++) free(r->output_names[i]);
  free(r->output_names);
  eo_agree_report_free(r->agreement);
  if (r->class_names)
    for (int i = 0; i < r->num_classes; i++) free(r->class_names[i]);
  free(r->class_names);
  for (int i = 0; i < r->num_bad_messages; i++) free(r->bad_messages[i]);
  free(r->bad_messages);
  free(r);
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- one model: bind, prepare, run */

/* One .npy per model input or output holding a row per item: [K, <tensor shape>]. Inputs are
 * streamed (the header, written first with K = 0, is rewritten at the end with room to spare);
 * outputs are read whole. */
typedef struct npy_rows {
  FILE *f;
  char *path;
  void *data;      /* read: the whole file's data */
  int dtype, rank; /* of one row */
  int64_t dims[EO_MAX_RANK];
  size_t row_bytes;
  int64_t rows;
} npy_rows;

#define EV_NPY_HEADER 256 /* bytes of a streamed header: magic, length, dict padded with spaces */

typedef struct runner {
  const eo_model *m;
  const char *role; /* "model" / "reference": in messages */
  eo_session *s;
  int n_in, n_out;
  bool prepared;
  int rank[EV_MAX_IO];
  int64_t dims[EV_MAX_IO][EO_MAX_RANK];
  eo_tensor_view outs[EV_MAX_IO];
  double run_s;
  npy_rows dump[EV_MAX_IO];  /* dump_inputs: per input (f == NULL: none) */
  npy_rows from[EV_MAX_IO];  /* outputs_from: per output (data == NULL: run the session) */
  bool dumping, from_files;
  int64_t items;             /* items bound so far */
} runner;

/* `edgeopt run`'s file name rule: characters outside [A-Za-z0-9._-] become '_'. */
static char *npy_path(const char *dir, const char *name, int k) {
  char base[256];
  size_t n = 0;
  for (const char *c = name ? name : ""; *c && n + 1 < sizeof base; c++) {
    bool ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '.' ||
              *c == '_' || *c == '-';
    base[n++] = ok ? *c : '_';
  }
  base[n] = 0;
  if (n == 0 || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) snprintf(base, sizeof base, "tensor_%d", k);
  size_t len = strlen(dir) + strlen(base) + 6;
  char *p = eo_malloc(len);
  if (p) snprintf(p, len, "%s/%s.npy", dir, base);
  return p;
}

/* Writes the .npy 1.0 header of `d` with `rows` rows into a EV_NPY_HEADER-byte block at the file start. */
static eo_status npy_rows_header(npy_rows *d) {
  char h[EV_NPY_HEADER];
  int len = snprintf(h + 10, sizeof h - 10, "{'descr': '%s', 'fortran_order': False, 'shape': (%lld,",
                     eo_npy_descr(d->dtype), (long long)d->rows);
  for (int i = 0; i < d->rank && len > 0 && len < (int)sizeof h - 10; i++)
    len += snprintf(h + 10 + len, sizeof h - 10 - (size_t)len, "%s%lld", i ? ", " : " ", (long long)d->dims[i]);
  if (len > 0 && len < (int)sizeof h - 10) len += snprintf(h + 10 + len, sizeof h - 10 - (size_t)len, "), }");
  if (len <= 0 || len + 11 > (int)sizeof h)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: the .npy header of this shape does not fit %d bytes", d->path,
                    EV_NPY_HEADER);
  memcpy(h, "\x93NUMPY\x01\x00", 8);
  unsigned hl = EV_NPY_HEADER - 10;
  h[8] = (char)(hl & 0xff), h[9] = (char)(hl >> 8);
  memset(h + 10 + len, ' ', (size_t)(EV_NPY_HEADER - 11 - len));
  h[EV_NPY_HEADER - 1] = '\n';
  if (fseek(d->f, 0, SEEK_SET) != 0 || fwrite(h, 1, sizeof h, d->f) != sizeof h || fseek(d->f, 0, SEEK_END) != 0)
    return eo_error(EO_ERR_IO, "%s: cannot write: %s", d->path, strerror(errno));
  return EO_OK;
}

/* Appends one bound input as a row; the first row fixes the file's row shape and dtype. */
static eo_status dump_input(runner *r, int k, const eo_tensor_view *v, const char *dir) {
  npy_rows *d = &r->dump[k];
  char a[128], b[128];
  if (!d->f) {
    if (!eo_npy_descr(v->dtype))
      return eo_error(EO_ERR_UNSUPPORTED, "dump inputs: input '%s' is %s, which .npy cannot hold", v->name,
                      eo_dtype_name(v->dtype));
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
      return eo_error(EO_ERR_IO, "%s: cannot create the input dump folder: %s", dir, strerror(errno));
    if (!(d->path = npy_path(dir, v->name, k))) return eo_error(EO_ERR_NOMEM, "out of memory");
    if (!(d->f = fopen(d->path, "w+b"))) return eo_error(EO_ERR_IO, "%s: cannot create: %s", d->path, strerror(errno));
    d->dtype = v->dtype;
    d->rank = v->rank;
    memcpy(d->dims, v->dims, sizeof d->dims);
    if (!eo_dtype_bytes(v->dtype, eo_numel(v->rank, v->dims), &d->row_bytes))
      return eo_error(EO_ERR_SHAPE, "dump inputs: input '%s' is too large", v->name);
    eo_status st = npy_rows_header(d);
    if (st) return st;
  } else if (v->dtype != d->dtype || v->rank != d->rank ||
             memcmp(v->dims, d->dims, sizeof(int64_t) * (size_t)v->rank) != 0) {
    return eo_error(EO_ERR_SHAPE, "dump inputs: input '%s' is %s %s for this item but %s %s before; the dump "
                    "stacks one shape (fix the size in the preprocessing)", v->name, eo_dtype_name(v->dtype),
                    eo_shape_str(v->rank, v->dims, a, sizeof a), eo_dtype_name(d->dtype),
                    eo_shape_str(d->rank, d->dims, b, sizeof b));
  }
  if (fwrite(v->data, 1, d->row_bytes, d->f) != d->row_bytes)
    return eo_error(EO_ERR_IO, "%s: cannot write: %s", d->path, strerror(errno));
  d->rows++;
  return EO_OK;
}

/* Final headers (the row counts) and close. */
static eo_status dump_inputs_finish(runner *r) {
  eo_status st = EO_OK;
  for (int k = 0; k < r->n_in; k++) {
    npy_rows *d = &r->dump[k];
    if (!d->f) continue;
    if (!st) st = npy_rows_header(d);
    if (fclose(d->f) != 0 && !st) st = eo_error(EO_ERR_IO, "%s: cannot write: %s", d->path, strerror(errno));
    d->f = NULL;
  }
  return st;
}

/* Reads DIR/<output>.npy for every output: [K, <output shape>] with the same K, each row checked
 * against the model's output shape where that is known. */
static eo_status outputs_open(runner *r, const char *dir) {
  char a[128], b[128];
  for (int i = 0; i < r->n_out; i++) {
    const eo_value_desc *o = eo_model_output(r->m, i);
    npy_rows *f = &r->from[i];
    if (!(f->path = npy_path(dir, o->name, i))) return eo_error(EO_ERR_NOMEM, "out of memory");
    int rank;
    int64_t dims[EO_MAX_RANK];
    size_t nbytes;
    eo_status st = eo_npy_read(f->path, &f->dtype, &rank, dims, &f->data, &nbytes);
    if (st) return eo_error_wrap(st, "outputs of '%s'", o->name ? o->name : "?");
    if (rank < 1 || rank - 1 != o->rank)
      return eo_error(EO_ERR_SHAPE, "%s: shape %s, expected [K, <output '%s' shape %s>] (one row per item)", f->path,
                      eo_shape_str(rank, dims, a, sizeof a), o->name, eo_shape_str(o->rank, o->dims, b, sizeof b));
    for (int d = 0; d < o->rank; d++)
      if (o->dims[d] >= 0 && o->dims[d] != dims[d + 1])
        return eo_error(EO_ERR_SHAPE, "%s: rows of shape %s do not fit output '%s' %s", f->path,
                        eo_shape_str(rank - 1, dims + 1, a, sizeof a), o->name,
                        eo_shape_str(o->rank, o->dims, b, sizeof b));
    f->rank = rank - 1;
    memcpy(f->dims, dims + 1, sizeof(int64_t) * (size_t)f->rank);
    f->rows = dims[0];
    f->row_bytes = dims[0] > 0 ? nbytes / (size_t)dims[0] : 0;
    if (i > 0 && f->rows != r->from[0].rows)
      return eo_error(EO_ERR_SHAPE, "%s holds %lld rows but %s %lld; every output needs one row per item", f->path,
                      (long long)f->rows, r->from[0].path, (long long)r->from[0].rows);
  }
  r->from_files = true;
  return EO_OK;
}

/* from_dir: outputs_from (no session). */
static eo_status runner_init(runner *r, const eo_model *m, const char *role, int threads, const char *from_dir) {
  memset(r, 0, sizeof *r);
  r->m = m;
  r->role = role;
  r->n_in = eo_model_num_inputs(m);
  r->n_out = eo_model_num_outputs(m);
  if (r->n_in < 1 || r->n_in > EV_MAX_IO || r->n_out < 1 || r->n_out > EV_MAX_IO)
    return eo_error(EO_ERR_UNSUPPORTED, "%s: %d inputs and %d outputs; evaluation takes 1..%d of each", role,
                    r->n_in, r->n_out, EV_MAX_IO);
  eo_session_options so = {0};
  so.threads = threads;
  if (from_dir) return outputs_open(r, from_dir);
  return eo_session_create(m, &so, &r->s);
}

static void runner_free(runner *r) {
  eo_session_free(r->s);
  for (int k = 0; k < EV_MAX_IO; k++) {
    if (r->dump[k].f) fclose(r->dump[k].f);
    free(r->dump[k].path);
    free(r->from[k].path);
    free(r->from[k].data);
  }
}

/* The item's tensor for model input k, reshaped to the model's rank where only that differs
 * (an image [1,1,28,28] for a flat [N,784] input). */
static eo_status bind_input(const runner *r, int k, const eo_data_item *it, eo_tensor_view *v) {
  const eo_value_desc *in = eo_model_input(r->m, k);
  const eo_tensor_view *src = NULL;
  if (r->n_in == 1 && it->num_tensors == 1) {
    src = &it->tensors[0];
  } else {
    for (int t = 0; t < it->num_tensors; t++)
      if (it->tensors[t].name && strcmp(it->tensors[t].name, in->name) == 0) src = &it->tensors[t];
    if (!src)
      return eo_error(EO_ERR_INVALID, "%s: no tensor for %s input '%s' (the model has %d inputs; .npy items "
                      "name their tensors by file name)", it->path, r->role, in->name, r->n_in);
  }
  *v = *src;
  v->name = in->name;
  if (src->dtype != in->dtype)
    return eo_error(EO_ERR_SHAPE, "%s: the data is %s but %s input '%s' is %s (set dtype in the preprocessing)",
                    it->path, eo_dtype_name(src->dtype), r->role, in->name, eo_dtype_name(in->dtype));
  char a[128], b[128];
  if (src->rank == in->rank) {
    for (int d = 0; d < in->rank; d++)
      if (in->dims[d] >= 0 && in->dims[d] != src->dims[d])
        return eo_error(EO_ERR_SHAPE, "%s: tensor %s does not fit %s input '%s' %s", it->path,
                        eo_shape_str(src->rank, src->dims, a, sizeof a), r->role, in->name,
                        eo_shape_str(in->rank, in->dims, b, sizeof b));
    return EO_OK;
  }
  /* Different rank: the model's shape (a symbolic first dim taken as 1) when the sizes agree. */
  int64_t want[EO_MAX_RANK];
  bool ok = in->rank >= 1;
  for (int d = 0; d < in->rank; d++) {
    want[d] = in->dims[d] >= 0 ? in->dims[d] : (d == 0 ? 1 : -1);
    if (want[d] < 0) ok = false;
  }
  if (!ok || eo_numel(in->rank, want) != eo_numel(src->rank, src->dims))
    return eo_error(EO_ERR_SHAPE, "%s: tensor %s does not fit %s input '%s' %s", it->path,
                    eo_shape_str(src->rank, src->dims, a, sizeof a), r->role, in->name,
                    eo_shape_str(in->rank, in->dims, b, sizeof b));
  v->rank = in->rank;
  memcpy(v->dims, want, sizeof want);
  return EO_OK;
}

/* Sets the inputs (preparing again when a shape changed: *reshaped = true), runs, views the outputs.
 * dump_dir: also append the inputs to the dump (dump_inputs). With outputs_from the outputs are the
 * item's rows of the files instead. */
static eo_status runner_run(runner *r, const eo_data_item *it, const char *dump_dir, bool *reshaped) {
  eo_tensor_view in[EV_MAX_IO];
  eo_status st;
  bool same = r->prepared;
  for (int k = 0; k < r->n_in; k++) {
    if ((st = bind_input(r, k, it, &in[k]))) return st;
    if (dump_dir && (st = dump_input(r, k, &in[k], dump_dir))) return eo_error_wrap(st, "%s", it->path);
    if (same && (in[k].rank != r->rank[k] || memcmp(in[k].dims, r->dims[k], sizeof(int64_t) * (size_t)in[k].rank)))
      same = false;
  }
  int64_t row = r->items++;
  if (r->from_files) {
    *reshaped = !r->prepared;
    r->prepared = true;
    if (row >= r->from[0].rows)
      return eo_error(EO_ERR_SHAPE, "%s: item %lld has no row in %s (%lld rows): the outputs are of fewer items "
                      "than this evaluation visits", it->path, (long long)row + 1, r->from[0].path,
                      (long long)r->from[0].rows);
    for (int i = 0; i < r->n_out; i++) {
      const npy_rows *f = &r->from[i];
      eo_tensor_view *v = &r->outs[i];
      v->name = eo_model_output(r->m, i)->name;
      v->dtype = f->dtype;
      v->rank = f->rank;
      memcpy(v->dims, f->dims, sizeof v->dims);
      v->data = (const char *)f->data + (size_t)row * f->row_bytes;
      v->nbytes = f->row_bytes;
    }
    return EO_OK;
  }
  *reshaped = !same;
  if (!same) {
    eo_input_shape shp[EV_MAX_IO];
    for (int k = 0; k < r->n_in; k++) {
      r->rank[k] = in[k].rank;
      memcpy(r->dims[k], in[k].dims, sizeof r->dims[k]);
      shp[k] = (eo_input_shape){in[k].name, in[k].rank, r->dims[k], 0, NULL};
    }
    r->prepared = false;
    if ((st = eo_session_prepare(r->s, r->n_in, shp))) return eo_error_wrap(st, "%s: preparing the %s", it->path, r->role);
    r->prepared = true;
  }
  for (int k = 0; k < r->n_in; k++)
    if ((st = eo_session_set_input(r->s, in[k].name, in[k].dtype, in[k].rank, in[k].dims, in[k].data)))
      return eo_error_wrap(st, "%s", it->path);
  double t0 = now_s();
  if ((st = eo_session_run(r->s))) return eo_error_wrap(st, "%s: running the %s", it->path, r->role);
  r->run_s += now_s() - t0;
  for (int i = 0; i < r->n_out; i++)
    if ((st = eo_session_output(r->s, i, &r->outs[i]))) return st;
  return EO_OK;
}

/* ---------------------------------------------------------------- growable arrays for the dump */

typedef struct dvec {
  double *v;
  size_t n, cap;
} dvec;

static eo_status dvec_push(dvec *a, const double *x, size_t k) {
  if (a->n + k > a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 1024;
    while (cap < a->n + k) cap *= 2;
    double *p = eo_realloc(a->v, cap * sizeof *p);
    if (!p) return eo_error(EO_ERR_NOMEM, "out of memory (dump of %zu values)", cap);
    a->v = p;
    a->cap = cap;
  }
  memcpy(a->v + a->n, x, k * sizeof *x);
  a->n += k;
  return EO_OK;
}

typedef struct dump {
  const char *dir;
  dvec dets, gts, labels;
  float *scores;
  size_t nscores, scores_cap;
} dump;

static eo_status dump_dets(dump *d, int64_t image, const eo_detection *dets, int nd, const eo_gt_box *g, int ng) {
  if (!d->dir) return EO_OK;
  eo_status st = EO_OK;
  for (int i = 0; i < nd && !st; i++) {
    double row[7] = {(double)image, dets[i].class_id, dets[i].score, dets[i].x1, dets[i].y1, dets[i].x2, dets[i].y2};
    st = dvec_push(&d->dets, row, 7);
  }
  for (int i = 0; i < ng && !st; i++) {
    double row[6] = {(double)image, g[i].class_id, g[i].x1, g[i].y1, g[i].x2, g[i].y2};
    st = dvec_push(&d->gts, row, 6);
  }
  return st;
}

static eo_status dump_scores(dump *d, const float *s, int nc, int label) {
  if (!d->dir) return EO_OK;
  if (d->nscores + (size_t)nc > d->scores_cap) {
    size_t cap = d->scores_cap ? d->scores_cap * 2 : 4096;
    while (cap < d->nscores + (size_t)nc) cap *= 2;
    float *p = eo_realloc(d->scores, cap * sizeof *p);
    if (!p) return eo_error(EO_ERR_NOMEM, "out of memory (dump of %zu scores)", cap);
    d->scores = p;
    d->scores_cap = cap;
  }
  memcpy(d->scores + d->nscores, s, (size_t)nc * sizeof *s);
  d->nscores += (size_t)nc;
  double l = label;
  return dvec_push(&d->labels, &l, 1);
}

static char *join(const char *dir, const char *name) {
  size_t n = strlen(dir) + strlen(name) + 2;
  char *p = eo_malloc(n);
  if (p) snprintf(p, n, "%s/%s", dir, name);
  return p;
}

static eo_status write_npy(const char *dir, const char *name, int dtype, int rank, const int64_t *dims,
                           const void *data) {
  char *p = join(dir, name);
  if (!p) return eo_error(EO_ERR_NOMEM, "out of memory");
  eo_status st = eo_npy_write(p, dtype, rank, dims, data);
  free(p);
  return st;
}

static eo_status dump_write(const dump *d, bool detections, int nc, float op_conf, int64_t n_images) {
  if (mkdir(d->dir, 0777) != 0 && errno != EEXIST)
    return eo_error(EO_ERR_IO, "%s: cannot create the dump folder: %s", d->dir, strerror(errno));
  eo_status st;
  if (detections) {
    static const double none = 0;
    int64_t dd[2] = {(int64_t)(d->dets.n / 7), 7}, gd[2] = {(int64_t)(d->gts.n / 6), 6}, pd[1] = {3};
    double params[3] = {nc, op_conf, (double)n_images};
    if ((st = write_npy(d->dir, "dets.npy", EO_DOUBLE, 2, dd, d->dets.v ? (const void *)d->dets.v : &none))) return st;
    if ((st = write_npy(d->dir, "gts.npy", EO_DOUBLE, 2, gd, d->gts.v ? (const void *)d->gts.v : &none))) return st;
    return write_npy(d->dir, "params.npy", EO_DOUBLE, 1, pd, params);
  }
  int64_t n = (int64_t)d->labels.n, sd[2] = {n, nc}, ld[1] = {n};
  int64_t *lab = eo_calloc((size_t)n + 1, sizeof *lab);
  if (!lab) return eo_error(EO_ERR_NOMEM, "out of memory");
  for (int64_t i = 0; i < n; i++) lab[i] = (int64_t)d->labels.v[i];
  static const float nonef = 0;
  st = write_npy(d->dir, "scores.npy", EO_FLOAT, 2, sd, d->scores ? (const void *)d->scores : &nonef);
  if (!st) st = write_npy(d->dir, "labels.npy", EO_INT64, 1, ld, lab);
  free(lab);
  return st;
}

static void dump_free(dump *d) {
  free(d->dets.v);
  free(d->gts.v);
  free(d->labels.v);
  free(d->scores);
}

/* ---------------------------------------------------------------- the loop */

typedef struct ev {
  const eo_eval_options *o;
  eo_dataset *ds;
  runner cand, ref;             /* ref only for compare */
  eo_decoder *dec, *ref_dec;
  eo_det_metrics *dm;
  eo_cls_metrics *cm;
  eo_agree_metrics *am;
  int nc;                       /* detector / classifier classes */
  int out_map[EV_MAX_IO];       /* compare: reference output for candidate output i */
  bool compare_dets;
  eo_gt_box *gts;
  int gts_cap;
  dump dump;
  int64_t n_images;
  eo_eval_result *res;
} ev;

static const char *outname(const runner *r, int i) {
  const char *n = eo_model_output(r->m, i)->name;
  return n ? n : "?";
}

/* Data set classes vs the model's: a mismatch is a configuration error worth stopping for. */
static eo_status check_classes(ev *e, int model_nc, const char *what) {
  int dnc = eo_dataset_num_classes(e->ds);
  if (dnc > 0 && dnc != model_nc)
    return eo_error(EO_ERR_SHAPE, "the model's %s give %d classes but the data set names %d (%s)", what, model_nc,
                    dnc, eo_dataset_format_name(eo_dataset_get_format(e->ds)));
  if (e->o->num_class_names > 0 && e->o->num_class_names != model_nc)
    return eo_error(EO_ERR_INVALID, "%d class names given for a model with %d classes", e->o->num_class_names,
                    model_nc);
  return EO_OK;
}

static eo_status make_decoder(ev *e, const runner *r, eo_decoder **d) {
  eo_decoder_free(*d);
  *d = NULL;
  eo_status st = eo_decoder_create(&e->o->decode, r->n_out, r->outs, d);
  if (st) return eo_error_wrap(st, "%s", r->role);
  return EO_OK;
}

static eo_status item_gts(ev *e, const eo_data_item *it) {
  eo_status st = eo_grow((void **)&e->gts, &e->gts_cap, it->num_boxes, sizeof *e->gts);
  if (st) return st;
  for (int i = 0; i < it->num_boxes; i++) {
    const eo_data_box *b = &it->boxes[i];
    e->gts[i] = (eo_gt_box){b->x1, b->y1, b->x2, b->y2, b->class_id};
  }
  return EO_OK;
}

static eo_box_transform box_tf(const eo_data_item *it) {
  const eo_img_transform *t = &it->transform;
  eo_box_transform tf = {t->scale_x, t->scale_y, t->pad_x, t->pad_y, (float)t->orig_width, (float)t->orig_height};
  if (!(tf.scale_x > 0) || !(tf.scale_y > 0)) tf = (eo_box_transform){1, 1, 0, 0, 0, 0}; /* .npy items */
  return tf;
}

static eo_status step_detect(ev *e, const eo_data_item *it, bool reshaped) {
  eo_status st;
  if (!e->dec || reshaped) {
    if ((st = make_decoder(e, &e->cand, &e->dec))) return st;
    int nc = eo_decoder_num_classes(e->dec);
    if (e->dm && nc != e->nc) return eo_error(EO_ERR_SHAPE, "%s: the number of classes changed with the input size", it->path);
    if (!e->dm) {
      char what[192], shp[128];
      const eo_tensor_view *v = &e->cand.outs[0];
      snprintf(what, sizeof what, "outputs (%s decoder, output '%s' %s)", eo_decoder_kind_name(eo_decoder_get_kind(e->dec)),
               outname(&e->cand, 0), eo_shape_str(v->rank, v->dims, shp, sizeof shp));
      if ((st = check_classes(e, nc, what))) return st;
      e->nc = nc;
      if ((st = eo_det_metrics_create(nc, e->o->operating_conf, &e->dm))) return st;
    }
  }
  eo_box_transform tf = box_tf(it);
  const eo_detection *dets;
  int nd;
  if ((st = eo_decoder_run(e->dec, e->cand.n_out, e->cand.outs, 0, &tf, &dets, &nd)))
    return eo_error_wrap(st, "%s", it->path);
  if ((st = item_gts(e, it))) return st;
  if ((st = eo_det_metrics_add(e->dm, dets, nd, e->gts, it->num_boxes)))
    return eo_error_wrap(st, "%s", it->label_path ? it->label_path : it->path);
  return dump_dets(&e->dump, e->n_images, dets, nd, e->gts, it->num_boxes);
}

/* The classifier's scores: the first output, one row per item (any shape [1, C], [1, C, 1, 1]...). */
static eo_status step_classify(ev *e, const eo_data_item *it) {
  const eo_tensor_view *v = &e->cand.outs[0];
  eo_status st;
  char shp[128];
  if (v->dtype != EO_FLOAT)
    return eo_error(EO_ERR_UNSUPPORTED, "output '%s' is %s; class scores must be float32", outname(&e->cand, 0),
                    eo_dtype_name(v->dtype));
  int64_t n = eo_numel(v->rank, v->dims);
  int wide = 0; /* dims after the batch dim that are > 1: one for a row of scores */
  for (int d = 1; d < v->rank; d++) wide += v->dims[d] > 1;
  if (n < 2 || n > (1 << 24) || wide != 1 || v->dims[0] != 1)
    return eo_error(EO_ERR_SHAPE, "output '%s' is %s: not one row of class scores ([1, C] or [1, C, 1, 1])%s",
                    outname(&e->cand, 0), eo_shape_str(v->rank, v->dims, shp, sizeof shp),
                    v->rank == 3 && wide == 2 ? "; a detector? (task detect)" : "");
  if (!e->cm) {
    if ((st = check_classes(e, (int)n, "scores"))) return st;
    e->nc = (int)n;
    if ((st = eo_cls_metrics_create(e->nc, &e->cm))) return st;
  } else if (n != e->nc) {
    return eo_error(EO_ERR_SHAPE, "%s: output '%s' now holds %lld scores, earlier %d", it->path, outname(&e->cand, 0),
                    (long long)n, e->nc);
  }
  if (it->class_id < 0)
    return eo_error(EO_ERR_INVALID, "%s: no label (classification needs labelled data: ImageFolder, IDX with its "
                    "labels file)", it->path);
  if (it->class_id >= e->nc)
    return eo_error(EO_ERR_INVALID, "%s: label %d but the model has %d classes", it->path, it->class_id, e->nc);
  if ((st = eo_cls_metrics_add(e->cm, v->data, e->nc, it->class_id))) return eo_error_wrap(st, "%s", it->path);
  return dump_scores(&e->dump, v->data, e->nc, it->class_id);
}

/* Pairs candidate outputs with the reference's: by name when every name matches, else by position. */
static eo_status map_outputs(ev *e) {
  const runner *c = &e->cand, *r = &e->ref;
  if (c->n_out != r->n_out)
    return eo_error(EO_ERR_SHAPE, "the model has %d outputs, the reference %d", c->n_out, r->n_out);
  bool by_name = true;
  for (int i = 0; i < c->n_out && by_name; i++) {
    e->out_map[i] = -1;
    for (int j = 0; j < r->n_out; j++)
      if (strcmp(outname(c, i), outname(r, j)) == 0) e->out_map[i] = j;
    by_name = e->out_map[i] >= 0;
  }
  if (!by_name)
    for (int i = 0; i < c->n_out; i++) e->out_map[i] = i;
  return EO_OK;
}

static eo_status check_pair(ev *e) {
  char a[128], b[128];
  for (int i = 0; i < e->cand.n_out; i++) {
    const eo_tensor_view *c = &e->cand.outs[i], *r = &e->ref.outs[e->out_map[i]];
    if (c->dtype != EO_FLOAT || r->dtype != EO_FLOAT)
      return eo_error(EO_ERR_UNSUPPORTED, "output '%s' is %s in the model and %s in the reference; agreement "
                      "compares float32 outputs", outname(&e->cand, i), eo_dtype_name(c->dtype), eo_dtype_name(r->dtype));
    if (eo_numel(c->rank, c->dims) != eo_numel(r->rank, r->dims))
      return eo_error(EO_ERR_SHAPE, "output '%s' is %s in the model but %s in the reference", outname(&e->cand, i),
                      eo_shape_str(c->rank, c->dims, a, sizeof a), eo_shape_str(r->rank, r->dims, b, sizeof b));
  }
  return EO_OK;
}

static eo_status step_compare(ev *e, const eo_data_item *it, bool reshaped) {
  eo_status st;
  if (reshaped || !e->am) {
    if ((st = check_pair(e))) return eo_error_wrap(st, "%s", it->path);
  }
  if (!e->am) {
    /* Decide once, on the first outputs, whether this is a detector. */
    int want = e->o->compare_detections;
    if (want < 0) {
      eo_decoder_kind k;
      want = e->o->decode.kind != EO_DECODER_AUTO || eo_decoder_guess(e->ref.n_out, e->ref.outs, &k) == EO_OK;
    }
    eo_agree_options ao = {e->cand.n_out, 0, e->o->pseudo_label_conf, e->o->operating_conf};
    if (want) {
      if ((st = make_decoder(e, &e->ref, &e->ref_dec))) return st;
      if ((st = make_decoder(e, &e->cand, &e->dec))) return st;
      e->nc = ao.num_classes = eo_decoder_num_classes(e->ref_dec); /* no labels read: data classes unchecked */
      e->compare_dets = true;
    }
    if ((st = eo_agree_metrics_create(&ao, &e->am))) return st;
    for (int i = 0; i < e->cand.n_out && !want; i++) {
      const eo_tensor_view *v = &e->ref.outs[e->out_map[i]];
      if (v->rank == 2 && v->dims[1] >= 2 && v->dims[1] <= (1 << 24)) {
        if ((st = eo_agree_metrics_set_classes(e->am, i, (int)v->dims[1]))) return st;
        if (e->nc == 0) e->nc = (int)v->dims[1];
      }
    }
  } else if (reshaped && e->compare_dets) {
    if ((st = make_decoder(e, &e->ref, &e->ref_dec))) return st;
    if ((st = make_decoder(e, &e->cand, &e->dec))) return st;
  }
  for (int i = 0; i < e->cand.n_out; i++) {
    const eo_tensor_view *c = &e->cand.outs[i], *r = &e->ref.outs[e->out_map[i]];
    if ((st = eo_agree_metrics_add(e->am, i, r->data, c->data, (size_t)eo_numel(c->rank, c->dims))))
      return eo_error_wrap(st, "%s: output '%s'", it->path, outname(&e->cand, i));
  }
  if (e->compare_dets) {
    eo_box_transform tf = box_tf(it);
    const eo_detection *rd, *cd;
    int nr, ncd;
    if ((st = eo_decoder_run(e->ref_dec, e->ref.n_out, e->ref.outs, 0, &tf, &rd, &nr)))
      return eo_error_wrap(st, "%s: reference", it->path);
    if ((st = eo_decoder_run(e->dec, e->cand.n_out, e->cand.outs, 0, &tf, &cd, &ncd)))
      return eo_error_wrap(st, "%s", it->path);
    if ((st = eo_agree_metrics_add_detections(e->am, rd, nr, cd, ncd))) return eo_error_wrap(st, "%s", it->path);
    if (e->dump.dir) {
      if ((st = eo_grow((void **)&e->gts, &e->gts_cap, nr, sizeof *e->gts))) return st;
      int k = 0;
      for (int i = 0; i < nr; i++)
        if (rd[i].score >= e->o->pseudo_label_conf)
          e->gts[k++] = (eo_gt_box){rd[i].x1, rd[i].y1, rd[i].x2, rd[i].y2, rd[i].class_id};
      if ((st = dump_dets(&e->dump, e->n_images, cd, ncd, e->gts, k))) return st;
    }
  }
  return EO_OK;
}

/* Classify, or compare with a reference whose first output is [N, C] (batch 1 at load). */
static bool is_classifier(const eo_model *m, eo_eval_task task) {
  if (task == EO_EVAL_CLASSIFY) return true;
  const eo_value_desc *o = eo_model_output(m, 0);
  return task == EO_EVAL_COMPARE && o && o->rank == 2 && o->dims[1] >= 2;
}

/* Defaults from the model input, then the file, then the overrides. A model input that is not an
 * image (rank != 4) is fine for .npy data: *deferred keeps that error for image data sets. */
static eo_status build_preprocess(const eo_model *m, const eo_eval_options *o, eo_preprocess *p, bool *deferred) {
  *deferred = false;
  eo_status st = eo_preprocess_from_input(eo_model_input(m, 0), p);
  if (st) {
    eo_preprocess_init(p);
    *deferred = !o->preprocess_file && o->num_sets == 0;
  } else if (p->resize == EO_RESIZE_LETTERBOX && is_classifier(m, o->task)) {
    p->resize = EO_RESIZE_STRETCH; /* classifiers are trained on stretched / cropped images, not letterboxed */
  }
  if (o->preprocess_file && (st = eo_preprocess_load(o->preprocess_file, p))) return st;
  for (int i = 0; i < o->num_sets; i++)
    if ((st = eo_preprocess_set(p, o->sets[i]))) return st;
  return eo_preprocess_validate(p);
}

static eo_status finish(ev *e) {
  eo_eval_result *r = e->res;
  eo_status st = EO_OK;
  if (e->n_images == 0)
    return eo_error(EO_ERR_INVALID, "no item could be evaluated (%lld of %lld were bad and skipped)",
                    (long long)eo_dataset_num_bad(e->ds), (long long)eo_dataset_size(e->ds));
  if (e->dm) st = eo_det_metrics_report(e->dm, &r->detection);
  if (!st && e->cm) st = eo_cls_metrics_report(e->cm, &r->classification);
  if (!st && e->am) st = eo_agree_metrics_report(e->am, &r->agreement);
  if (st) return st;
  if (e->am) {
    r->output_names = eo_calloc((size_t)e->cand.n_out, sizeof *r->output_names);
    if (!r->output_names) return eo_error(EO_ERR_NOMEM, "out of memory");
    for (int i = 0; i < e->cand.n_out; i++)
      if (!(r->output_names[i] = eo_strdup(outname(&e->cand, i)))) return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  r->num_classes = e->nc;
  if (e->nc > 0) {
    r->class_names = eo_calloc((size_t)e->nc, sizeof *r->class_names);
    if (!r->class_names) return eo_error(EO_ERR_NOMEM, "out of memory");
    for (int i = 0; i < e->nc; i++) {
      const char *n = NULL; /* names only from a list of the right length */
      if (e->o->num_class_names == e->nc) n = e->o->class_names[i];
      else if (e->o->num_class_names == 0 && eo_dataset_num_classes(e->ds) == e->nc) n = eo_dataset_class_name(e->ds, i);
      if (n && !(r->class_names[i] = eo_strdup(n))) return eo_error(EO_ERR_NOMEM, "out of memory");
    }
  }
  r->num_bad = eo_dataset_num_bad(e->ds);
  for (int i = 0; eo_dataset_bad_message(e->ds, i); i++) r->num_bad_messages = i + 1;
  if (r->num_bad_messages) {
    r->bad_messages = eo_calloc((size_t)r->num_bad_messages, sizeof *r->bad_messages);
    if (!r->bad_messages) {
      r->num_bad_messages = 0;
      return eo_error(EO_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < r->num_bad_messages; i++)
      if (!(r->bad_messages[i] = eo_strdup(eo_dataset_bad_message(e->ds, i)))) return eo_error(EO_ERR_NOMEM, "out of memory");
  }
  r->num_images = e->n_images;
  r->num_items = e->n_images + r->num_bad;
  if (e->compare_dets) r->pseudo_label_conf = e->o->pseudo_label_conf;
  if (e->dec) {
    r->decoder = eo_decoder_get_kind(e->dec);
    r->num_candidates = eo_decoder_num_candidates(e->dec);
  }
  r->inference_ms = (e->cand.run_s + e->ref.run_s) * 1e3 / (double)e->n_images;
  /* a compare without detections has nothing the oracles read */
  if (e->dump.dir && (e->o->task != EO_EVAL_COMPARE || e->compare_dets))
    st = dump_write(&e->dump, e->o->task != EO_EVAL_CLASSIFY, e->nc, e->o->operating_conf, e->n_images);
  return st;
}

eo_status eo_evaluate(const eo_model *m, const char *data_path, const eo_eval_options *opts, eo_eval_result **out) {
  *out = NULL;
  if (!m || !opts || !data_path) return eo_error(EO_ERR_INVALID, "evaluate: model, data path and options are required");
  if ((unsigned)opts->task > EO_EVAL_COMPARE) return eo_error(EO_ERR_INVALID, "evaluate: unknown task %d", (int)opts->task);
  if (opts->task == EO_EVAL_COMPARE && !opts->reference)
    return eo_error(EO_ERR_INVALID, "compare: a reference model is required");
  if (opts->num_class_names < 0 || (opts->num_class_names > 0 && !opts->class_names))
    return eo_error(EO_ERR_INVALID, "evaluate: %d class names but no array", opts->num_class_names);
  ev e;
  memset(&e, 0, sizeof e);
  e.o = opts;
  e.dump.dir = opts->dump_dir;
  eo_status st;
  eo_eval_result *r = e.res = eo_calloc(1, sizeof *r);
  if (!r) return eo_error(EO_ERR_NOMEM, "out of memory");
  r->task = opts->task;
  r->threads = opts->threads;
  const eo_model *pm = opts->task == EO_EVAL_COMPARE ? opts->reference : m;
  bool deferred = false;
  eo_status pre_st = EO_OK;
  char pre_msg[1024] = "";
  if ((st = build_preprocess(pm, opts, &r->preprocess, &deferred))) goto fail;
  if (deferred) {
    pre_st = eo_preprocess_from_input(eo_model_input(pm, 0), &(eo_preprocess){0});
    snprintf(pre_msg, sizeof pre_msg, "%s", eo_last_error());
  }
  if ((st = eo_dataset_open(data_path, &opts->data, &r->preprocess, &e.ds))) goto fail;
  r->dataset_format = eo_dataset_format_name(eo_dataset_get_format(e.ds));
  r->dataset_total = eo_dataset_total(e.ds);
  if (deferred && eo_dataset_get_format(e.ds) != EO_DATASET_NPY) {
    st = eo_error(pre_st, "%s (give the preprocessing with a file or name=value settings)", pre_msg);
    goto fail;
  }
  if ((st = runner_init(&e.cand, m, "model", opts->threads, opts->outputs_from))) goto fail;
  if (opts->task == EO_EVAL_COMPARE) {
    if ((st = runner_init(&e.ref, opts->reference, "reference", opts->threads, NULL))) goto fail;
    if ((st = map_outputs(&e))) goto fail;
  }
  int64_t total = eo_dataset_size(e.ds);
  double t0 = now_s();
  for (;;) {
    const eo_data_item *it;
    if ((st = eo_dataset_next(e.ds, &it))) goto fail;
    if (!it) break;
    bool reshaped, ref_reshaped = false;
    if ((st = runner_run(&e.cand, it, opts->dump_inputs, &reshaped))) goto fail;
    if (opts->task == EO_EVAL_COMPARE && (st = runner_run(&e.ref, it, NULL, &ref_reshaped))) goto fail;
    reshaped = reshaped || ref_reshaped;
    switch (opts->task) {
      case EO_EVAL_DETECT: st = step_detect(&e, it, reshaped); break;
      case EO_EVAL_CLASSIFY: st = step_classify(&e, it); break;
      case EO_EVAL_COMPARE: st = step_compare(&e, it, reshaped); break;
    }
    if (st) goto fail;
    e.n_images++;
    if (opts->progress) opts->progress(opts->progress_user, e.n_images + eo_dataset_num_bad(e.ds), total);
  }
  r->seconds = now_s() - t0;
  if (e.cand.from_files && e.cand.items != e.cand.from[0].rows) {
    st = eo_error(EO_ERR_SHAPE, "%s holds %lld rows but %lld items were evaluated: the outputs are of other items",
                  e.cand.from[0].path, (long long)e.cand.from[0].rows, (long long)e.cand.items);
    goto fail;
  }
  if ((st = dump_inputs_finish(&e.cand))) goto fail;
  r->images_per_s = r->seconds > 0 ? (double)e.n_images / r->seconds : 0.0;
  if ((st = finish(&e))) goto fail;
  *out = r;
  r = NULL;
fail:
  eo_eval_result_free(r);
  eo_dataset_free(e.ds);
  runner_free(&e.cand);
  runner_free(&e.ref);
  eo_decoder_free(e.dec);
  eo_decoder_free(e.ref_dec);
  eo_det_metrics_free(e.dm);
  eo_cls_metrics_free(e.cm);
  eo_agree_metrics_free(e.am);
  free(e.gts);
  dump_free(&e.dump);
  return st;
}

/* ---------------------------------------------------------------- JSON */

/* A finite number, null for the "not defined" -1 of AP/precision/recall without GT (when
 * minus_one_null), and "inf"/"-inf"/"nan" strings (JSON has no such numbers). */
static cJSON *num(double v, bool minus_one_null) {
  if (minus_one_null && v == -1.0) return cJSON_CreateNull();
  if (isnan(v)) return cJSON_CreateString("nan");
  if (isinf(v)) return cJSON_CreateString(v > 0 ? "inf" : "-inf");
  return cJSON_CreateNumber(v);
}

static void add(cJSON *o, const char *k, cJSON *v) { cJSON_AddItemToObject(o, k, v); }

/* A float threshold as the decimal it was written as (0.25f, 0.001f -> 0.001, not 0.0010000000474974513). */
static cJSON *fnum(float v) {
  char buf[32];
  snprintf(buf, sizeof buf, "%.7g", (double)v);
  return cJSON_CreateNumber(strtod(buf, NULL));
}

static cJSON *det_json(const eo_det_report *d, char *const *names) {
  cJSON *o = cJSON_CreateObject();
  add(o, "num_classes", cJSON_CreateNumber(d->num_classes));
  add(o, "classes_with_gt", cJSON_CreateNumber(d->classes_with_gt));
  add(o, "num_images", cJSON_CreateNumber((double)d->num_images));
  add(o, "num_gt", cJSON_CreateNumber((double)d->num_gt));
  add(o, "num_det", cJSON_CreateNumber((double)d->num_det));
  add(o, "operating_conf", fnum(d->operating_conf));
  add(o, "map50", num(d->map50, true));
  add(o, "map75", num(d->map75, true));
  add(o, "map", num(d->map, true));
  cJSON *at = cJSON_CreateArray();
  for (int t = 0; t < EO_NUM_IOU_THRESHOLDS; t++) cJSON_AddItemToArray(at, num(d->map_at[t], true));
  add(o, "map_at", at);
  add(o, "precision", num(d->precision, true));
  add(o, "recall", num(d->recall, true));
  add(o, "precision_micro", num(d->precision_micro, false));
  add(o, "recall_micro", num(d->recall_micro, false));
  add(o, "tp", cJSON_CreateNumber((double)d->tp));
  add(o, "fp", cJSON_CreateNumber((double)d->fp));
  add(o, "fn", cJSON_CreateNumber((double)d->fn));
  cJSON *pc = cJSON_CreateArray();
  for (int c = 0; c < d->num_classes; c++) {
    const eo_class_ap *a = &d->per_class[c];
    cJSON *x = cJSON_CreateObject();
    add(x, "id", cJSON_CreateNumber(c));
    add(x, "name", names && names[c] ? cJSON_CreateString(names[c]) : cJSON_CreateNull());
    add(x, "num_gt", cJSON_CreateNumber((double)a->num_gt));
    add(x, "num_det", cJSON_CreateNumber((double)a->num_det));
    add(x, "ap50", num(a->ap50, true));
    add(x, "ap75", num(a->ap75, true));
    add(x, "ap", num(a->ap, true));
    cJSON *aa = cJSON_CreateArray();
    for (int t = 0; t < EO_NUM_IOU_THRESHOLDS; t++) cJSON_AddItemToArray(aa, num(a->ap_at[t], true));
    add(x, "ap_at", aa);
    add(x, "tp", cJSON_CreateNumber((double)a->tp));
    add(x, "fp", cJSON_CreateNumber((double)a->fp));
    add(x, "precision", num(a->precision, true));
    add(x, "recall", num(a->recall, true));
    cJSON_AddItemToArray(pc, x);
  }
  add(o, "per_class", pc);
  return o;
}

static cJSON *cls_json(const eo_cls_report *c, char *const *names) {
  cJSON *o = cJSON_CreateObject();
  add(o, "num_classes", cJSON_CreateNumber(c->num_classes));
  add(o, "num_samples", cJSON_CreateNumber((double)c->num_samples));
  add(o, "top1", num(c->top1, false));
  add(o, "top5", num(c->top5, false));
  add(o, "top5_k", cJSON_CreateNumber(c->top5_k));
  add(o, "mean_class_acc", num(c->mean_class_acc, false));
  cJSON *pc = cJSON_CreateArray();
  for (int k = 0; k < c->num_classes; k++) {
    cJSON *x = cJSON_CreateObject();
    add(x, "id", cJSON_CreateNumber(k));
    add(x, "name", names && names[k] ? cJSON_CreateString(names[k]) : cJSON_CreateNull());
    add(x, "count", cJSON_CreateNumber((double)c->per_class_count[k]));
    add(x, "accuracy", num(c->per_class_acc[k], true));
    cJSON_AddItemToArray(pc, x);
  }
  add(o, "per_class", pc);
  cJSON *cm = cJSON_CreateArray();
  for (int i = 0; i < c->num_classes; i++) {
    cJSON *row = cJSON_CreateArray();
    for (int j = 0; j < c->num_classes; j++)
      cJSON_AddItemToArray(row, cJSON_CreateNumber((double)c->confusion[(size_t)i * (size_t)c->num_classes + (size_t)j]));
    cJSON_AddItemToArray(cm, row);
  }
  add(o, "confusion", cm);
  return o;
}

static cJSON *agree_json(const eo_agree_report *a, char *const *onames, char *const *names) {
  cJSON *o = cJSON_CreateObject(), *outs = cJSON_CreateArray();
  for (int i = 0; i < a->num_outputs; i++) {
    const eo_output_agreement *g = &a->outputs[i];
    cJSON *x = cJSON_CreateObject();
    add(x, "name", onames && onames[i] ? cJSON_CreateString(onames[i]) : cJSON_CreateNull());
    add(x, "count", cJSON_CreateNumber((double)g->count));
    add(x, "nonfinite", cJSON_CreateNumber((double)g->nonfinite));
    add(x, "mean_abs_diff", num(g->mean_abs_diff, false));
    add(x, "mean_rel_diff", num(g->mean_rel_diff, false));
    add(x, "max_abs_diff", num(g->max_abs_diff, false));
    add(x, "cosine", num(g->cosine, false));
    add(x, "min_cosine", num(g->min_cosine, false));
    add(x, "sqnr_db", num(g->sqnr_db, false));
    add(x, "top1_rows", cJSON_CreateNumber((double)g->top1_rows));
    add(x, "top1_agree", cJSON_CreateNumber((double)g->top1_agree));
    add(x, "top1_agreement", num(g->top1_agreement, true));
    cJSON_AddItemToArray(outs, x);
  }
  add(o, "outputs", outs);
  add(o, "detection", a->detection ? det_json(a->detection, names) : cJSON_CreateNull());
  return o;
}

eo_status eo_eval_result_to_json(const eo_eval_result *r, char **out) {
  *out = NULL;
  if (!r) return eo_error(EO_ERR_INVALID, "evaluate: no result");
  cJSON *j = cJSON_CreateObject();
  if (!j) return eo_error(EO_ERR_NOMEM, "out of memory");
  add(j, "schema_version", cJSON_CreateNumber(1));
  add(j, "task", cJSON_CreateString(eo_eval_task_name(r->task)));
  cJSON *d = cJSON_CreateObject();
  add(d, "format", cJSON_CreateString(r->dataset_format ? r->dataset_format : "?"));
  add(d, "total", cJSON_CreateNumber((double)r->dataset_total));
  add(d, "items", cJSON_CreateNumber((double)r->num_items));
  add(d, "images", cJSON_CreateNumber((double)r->num_images));
  add(d, "bad", cJSON_CreateNumber((double)r->num_bad));
  cJSON *bm = cJSON_CreateArray();
  for (int i = 0; i < r->num_bad_messages; i++) cJSON_AddItemToArray(bm, cJSON_CreateString(r->bad_messages[i]));
  add(d, "bad_messages", bm);
  add(j, "data", d);
  char *pre = NULL;
  if (eo_preprocess_to_json(&r->preprocess, &pre) == EO_OK) {
    cJSON *p = cJSON_Parse(pre);
    add(j, "preprocess", p ? p : cJSON_CreateNull());
  }
  free(pre);
  add(j, "decoder", r->decoder != EO_DECODER_AUTO ? cJSON_CreateString(eo_decoder_kind_name(r->decoder)) : cJSON_CreateNull());
  if (r->decoder != EO_DECODER_AUTO) add(j, "num_candidates", cJSON_CreateNumber(r->num_candidates));
  cJSON *names = cJSON_CreateArray();
  for (int i = 0; i < r->num_classes; i++)
    cJSON_AddItemToArray(names, r->class_names && r->class_names[i] ? cJSON_CreateString(r->class_names[i]) : cJSON_CreateNull());
  add(j, "class_names", names);
  cJSON *s = cJSON_CreateObject();
  add(s, "seconds", cJSON_CreateNumber(r->seconds));
  add(s, "images_per_s", cJSON_CreateNumber(r->images_per_s));
  add(s, "inference_ms", cJSON_CreateNumber(r->inference_ms));
  add(s, "threads", cJSON_CreateNumber(r->threads));
  add(j, "speed", s);
  if (r->detection) add(j, "detection", det_json(r->detection, r->class_names));
  if (r->classification) add(j, "classification", cls_json(r->classification, r->class_names));
  if (r->agreement) {
    cJSON *a = agree_json(r->agreement, r->output_names, r->class_names);
    if (r->agreement->detection) add(a, "pseudo_label_conf", fnum(r->pseudo_label_conf));
    add(j, "agreement", a);
  }
  *out = cJSON_Print(j);
  cJSON_Delete(j);
  if (!*out) return eo_error(EO_ERR_NOMEM, "out of memory");
  return EO_OK;
}
