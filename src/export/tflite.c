/* TFLite export: IR (optimized clone) -> TFLite flatbuffer, NHWC.
 *
 * Layout rule, uniform so it is always correct: every rank-4 tensor (activation or constant) is
 * stored NHWC, everything else as in the IR. Ops that depend on memory order (Reshape, Flatten,
 * Transpose, axes of Concat/Softmax/Pad) translate through that rule, inserting a TRANSPOSE only
 * where the NCHW and NHWC orders of the data differ (C > 1 and H*W > 1).
 *
 * Conversion builds everything in memory first (tensors, buffers, operators), collecting every
 * node it cannot express, and only then serializes and writes, so a refused model writes nothing.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "edgeopt/export.h"
#include "export/flatbuffer.h"
#include "ir/passes/passes.h"
#include "onnx/onnx_internal.h"
#include "runtime/activation.h"
#include "runtime/infer.h"
#include "runtime/op.h"

#include "export/tflite_schema.h"

/* ---- in-memory model ---- */
typedef struct {
  char *name;
  int rank;
  int32_t shape[EO_MAX_RANK];
  uint8_t type;
  uint32_t buffer;  /* 0: no data */
  int quant;        /* 1 + index into tfl_ctx.q; 0: not quantized */
  int twin;         /* 1 + index of its DEQUANTIZE'd float32 twin; 0: none yet */
} tfl_tensor;

/* TFLite QuantizationParameters: real = scale * (q - zero_point), per `dim` when n > 1. */
typedef struct {
  int n, dim;
  float *scale;
  int64_t *zp;
} tfl_quant;

/* A DequantizeLinear of a constant (weights, biases, constant operands of a QDQ model): its integer
 * data and parameters, kept by output name since the passes renumber tensors. */
typedef struct {
  char *name;
  int dtype, rank, axis, n_scale;
  int64_t dims[EO_MAX_RANK];
  void *q;        /* integers as stored (int8 / uint8 / int32) */
  float *scale;   /* n_scale values */
  int32_t *zp;    /* n_scale values */
} tfl_dqconst;

typedef struct {
  uint8_t *data;
  size_t n;
} tfl_buffer;

typedef struct {
  uint8_t id, kind; /* kind: 0 u8, 1 i32, 2 f32 */
  int32_t i, dflt;
  float f;
} tfl_optfield;

typedef struct {
  int code;
  int n_in, n_out;
  int in[16], out[16];
  uint8_t opt_type;
  int n_f;
  tfl_optfield f[8];
  int32_t vec[EO_MAX_RANK]; /* ReshapeOptions.new_shape */
  int n_vec;
} tfl_op;

typedef struct {
  eo_graph *g;
  int mode;
  tfl_tensor *t;
  int nt, ct;
  tfl_buffer *b;
  int nb, cb;
  tfl_op *o;
  int no, co;
  int *tmap;       /* IR tensor -> TFLite tensor, -1 before it exists */
  char *errs;      /* "\n  node 'x' (Op): why" per refused node */
  size_t errs_len;
  int n_errs;
  const eo_node *cur;  /* node being converted, for messages */
  bool *alias;         /* per node: a Transpose that becomes an alias of its input */
  /* INT8 / DYNAMIC modes */
  int io;              /* eo_tflite_io */
  tfl_quant *q;
  int nq, cq;
  tfl_dqconst *dq;
  int ndq, cdq;
  bool *skip;          /* per node: absorbed into another node's TFLite op */
  int out_q;           /* quant (1 + index) of the current node's int8 outputs; 0: float32 outputs */
  int q_act;           /* ACT_* fused into the current int8 node (its Relu/Clip before the Q) */
} tfl_ctx;

#define TRY(x)                   \
  do {                           \
    eo_status st_ = (x);         \
    if (st_) return st_;         \
  } while (0)

static eo_status nomem(void) { return eo_error(EO_ERR_NOMEM, "out of memory while exporting TFLite"); }

// A file over the flatbuffer size limit: refused before anything is written.
static eo_status too_big(size_t limit) {
  return eo_error(EO_ERR_UNSUPPORTED, "the TFLite file would be larger than the flatbuffer size limit of %zu bytes%s; "
                  "nothing written", limit, limit == EO_FB_MAX_SIZE ? " (2 GiB - 1: FlatBuffers' offsets are 32-bit)" : "");
}

// Refuses the current node: the reason becomes part of the final list.
static eo_status refuse(tfl_ctx *c, const char *fmt, ...) EO_PRINTF(2, 3);
static eo_status refuse(tfl_ctx *c, const char *fmt, ...) {
  (void)c;
  char why[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(why, sizeof why, fmt, ap);
  va_end(ap);
  return eo_error(EO_ERR_UNSUPPORTED, "%s", why);
}

static eo_status add_buffer(tfl_ctx *c, void *data, size_t n, uint32_t *out) {
  if (eo_grow((void **)&c->b, &c->cb, c->nb + 1, sizeof *c->b)) {
    free(data);
    return nomem();
  }
  c->b[c->nb] = (tfl_buffer){data, n};
  *out = (uint32_t)c->nb++;
  return EO_OK;
}

// Adds a tensor; `data` (owned, may be NULL) becomes its buffer.
static eo_status add_tensor(tfl_ctx *c, const char *name, int rank, const int64_t *dims, int type, void *data,
                            size_t nbytes, int *out) {
  uint32_t buf = 0;
  if (data) TRY(add_buffer(c, data, nbytes, &buf));
  if (eo_grow((void **)&c->t, &c->ct, c->nt + 1, sizeof *c->t)) return nomem();
  tfl_tensor *t = &c->t[c->nt];
  memset(t, 0, sizeof *t);
  if (!(t->name = eo_strdup(name))) return nomem();
  t->rank = rank;
  for (int d = 0; d < rank; d++) {
    if (dims[d] < 0 || dims[d] > INT32_MAX)
      return refuse(c, "tensor '%s' dim %d is %lld (TFLite needs a concrete size below 2^31)", name, d,
                    (long long)dims[d]);
    t->shape[d] = (int32_t)dims[d];
  }
  t->type = (uint8_t)type;
  t->buffer = buf;
  *out = c->nt++;
  return EO_OK;
}

// A QuantizationParameters record; returns 1 + its index (the tensor's `quant`), 0 when out of memory.
static int add_quant(tfl_ctx *c, int n, const float *scale, const int32_t *zp, int dim) {
  if (eo_grow((void **)&c->q, &c->cq, c->nq + 1, sizeof *c->q)) return 0;
  tfl_quant *q = &c->q[c->nq];
  q->n = n, q->dim = dim;
  q->scale = eo_malloc((size_t)n * sizeof *q->scale);
  q->zp = eo_malloc((size_t)n * sizeof *q->zp);
  if (!q->scale || !q->zp) {
    free(q->scale), free(q->zp);
    return 0;
  }
  for (int i = 0; i < n; i++) q->scale[i] = scale[i], q->zp[i] = zp ? zp[i] : 0;
  return ++c->nq;
}

static int quant1(tfl_ctx *c, float scale, int32_t zp) { return add_quant(c, 1, &scale, &zp, 0); }

static bool same_quant(const tfl_ctx *c, int a, int b) {
  if (a == b) return true;
  if (!a || !b) return false;
  const tfl_quant *x = &c->q[a - 1], *y = &c->q[b - 1];
  if (x->n != y->n || x->dim != y->dim) return false;
  for (int i = 0; i < x->n; i++)
    if (x->scale[i] != y->scale[i] || x->zp[i] != y->zp[i]) return false;
  return true;
}

// A tensor of `type` with quantization `quant` (0: none).
static eo_status add_qtensor(tfl_ctx *c, const char *name, int rank, const int64_t *dims, int type, int quant,
                             void *data, size_t nbytes, int *out) {
  TRY(add_tensor(c, name, rank, dims, type, data, nbytes, out));
  c->t[*out].quant = quant;
  return EO_OK;
}

// A new tensor with the type and quantization of tensor `like`.
static eo_status like_tensor(tfl_ctx *c, int like, const char *base, const char *suffix, int rank,
                             const int64_t *dims, int *out) {
  char nm[512];
  snprintf(nm, sizeof nm, "%.400s%.100s", base, suffix);
  int type = c->t[like].type, quant = c->t[like].quant;
  return add_qtensor(c, nm, rank, dims, type, quant, NULL, 0, out);
}

static eo_status add_op(tfl_ctx *c, int code, int n_in, const int *in, int n_out, const int *out, tfl_op **op) {
  if (eo_grow((void **)&c->o, &c->co, c->no + 1, sizeof *c->o)) return nomem();
  tfl_op *o = &c->o[c->no++];
  memset(o, 0, sizeof *o);
  o->code = code;
  o->n_in = n_in;
  o->n_out = n_out;
  memcpy(o->in, in, (size_t)n_in * sizeof *in);
  memcpy(o->out, out, (size_t)n_out * sizeof *out);
  if (op) *op = o;
  return EO_OK;
}

static void opt_i32(tfl_op *o, int id, int32_t v, int32_t dflt) {
  o->f[o->n_f++] = (tfl_optfield){.id = (uint8_t)id, .kind = 1, .i = v, .dflt = dflt};
}
static void opt_u8(tfl_op *o, int id, int v) { o->f[o->n_f++] = (tfl_optfield){.id = (uint8_t)id, .kind = 0, .i = v}; }
static void opt_f32(tfl_op *o, int id, float v) { o->f[o->n_f++] = (tfl_optfield){.id = (uint8_t)id, .kind = 2, .f = v}; }

/* ---- layout helpers ---- */

// Stored (TFLite) dims of an IR shape: rank 4 becomes NHWC.
static void stored_dims(int rank, const int64_t *d, int64_t *out) {
  if (rank == 4) {
    out[0] = d[0], out[1] = d[2], out[2] = d[3], out[3] = d[1];
  } else {
    for (int i = 0; i < rank; i++) out[i] = d[i];
  }
}

// NCHW and NHWC hold the same memory order when C == 1 or H*W == 1.
static bool layout_trivial(const int64_t *nchw) { return nchw[1] == 1 || nchw[2] * nchw[3] == 1; }

// dst = transpose(src, perm): dst dim i is src dim perm[i].
static void permute(const uint8_t *src, uint8_t *dst, size_t elem, int rank, const int64_t *dims, const int *perm) {
  int64_t sstride[EO_MAX_RANK], odims[EO_MAX_RANK], idx[EO_MAX_RANK] = {0};
  int64_t s = 1;
  for (int i = rank; i-- > 0;) sstride[i] = s, s *= dims[i];
  for (int i = 0; i < rank; i++) odims[i] = dims[perm[i]];
  int64_t n = eo_numel(rank, dims);
  for (int64_t k = 0; k < n; k++) {
    int64_t off = 0;
    for (int i = 0; i < rank; i++) off += idx[i] * sstride[perm[i]];
    memcpy(dst + (size_t)k * elem, src + (size_t)off * elem, elem);
    for (int i = rank; i-- > 0;) {
      if (++idx[i] < odims[i]) break;
      idx[i] = 0;
    }
  }
}

static const int TO_NHWC[4] = {0, 2, 3, 1}, TO_NCHW[4] = {0, 3, 1, 2};

static bool is_const(const tfl_ctx *c, int t) { return t >= 0 && eo_pass_is_const(c->g, t); }

// A constant IR tensor in stored layout (rank 4 -> NHWC). Copies the data.
static eo_status const_tensor(tfl_ctx *c, int ti, int *out) {
  const eo_tensor *t = &c->g->tensors[ti];
  int type;
  size_t elem = eo_dtype_size(t->dtype);
  void *data = NULL;
  size_t nbytes = t->nbytes;
  if (t->dtype == EO_FLOAT) {
    type = TFL_FLOAT32;
  } else if (t->dtype == EO_INT64 || t->dtype == EO_INT32) {
    type = TFL_INT32;  // shapes and indices: TFLite's ops take int32
  } else {
    return refuse(c, "constant '%s' has dtype %s (the FP32 export writes float32 and int32 constants)", t->name,
                  eo_dtype_name(t->dtype));
  }
  int64_t n = eo_numel(t->rank, t->dims);
  if (n < 0 || !t->data || (size_t)n * elem > t->nbytes) return refuse(c, "constant '%s' has no data", t->name);
  if (type == TFL_INT32) {
    int32_t *v = eo_malloc((size_t)n * 4);
    if (!v) return nomem();
    for (int64_t i = 0; i < n; i++) {
      int64_t x = t->dtype == EO_INT64 ? ((const int64_t *)t->data)[i] : ((const int32_t *)t->data)[i];
      if (x < INT32_MIN || x > INT32_MAX) {
        free(v);
        return refuse(c, "constant '%s' value %lld does not fit int32", t->name, (long long)x);
      }
      v[i] = (int32_t)x;
    }
    data = v, elem = 4, nbytes = (size_t)n * 4;
  } else {
    nbytes = (size_t)n * elem;
    if (!(data = eo_malloc(nbytes))) return nomem();
    if (t->rank == 4)
      permute(t->data, data, elem, 4, t->dims, TO_NHWC);
    else
      memcpy(data, t->data, nbytes);
  }
  int64_t sd[EO_MAX_RANK];
  stored_dims(t->rank, t->dims, sd);
  return add_tensor(c, t->name, t->rank, sd, type, data, nbytes, out);
}

static const tfl_dqconst *find_dq(const tfl_ctx *c, int t) {
  if (t < 0) return NULL;
  for (int i = 0; i < c->ndq; i++)
    if (!strcmp(c->dq[i].name, c->g->tensors[t].name)) return &c->dq[i];
  return NULL;
}

// int8 value of a stored 8-bit integer (uint8 shifts by 128: the same real values, exactly).
static int8_t as_i8(const tfl_dqconst *d, int64_t i) {
  return d->dtype == EO_UINT8 ? (int8_t)(((const uint8_t *)d->q)[i] - 128) : ((const int8_t *)d->q)[i];
}

// Quantization of a DQ constant, zero points moved to int8 (uint8 ones minus 128).
static int dq_quant(tfl_ctx *c, const tfl_dqconst *d, int dim) {
  int32_t zp[4096];
  if (d->n_scale > 4096) return 0;
  for (int i = 0; i < d->n_scale; i++) zp[i] = d->zp[i] - (d->dtype == EO_UINT8 ? 128 : 0);
  return add_quant(c, d->n_scale, d->scale, zp, dim);
}

// A per-tensor 8-bit DQ constant (an operand of an int8 ADD/MUL...) as an int8 tensor, rank 4 NHWC;
// lower ranks left-padded to 4 when `to4`.
static eo_status dq_const_tensor(tfl_ctx *c, const tfl_dqconst *d, bool to4, int *out) {
  if ((d->dtype != EO_INT8 && d->dtype != EO_UINT8) || d->n_scale != 1)
    return refuse(c, "constant '%s' is not a per-tensor 8-bit DequantizeLinear", d->name);
  int rank = d->rank;
  int64_t dims[EO_MAX_RANK], n = eo_numel(d->rank, d->dims);
  for (int i = 0; i < rank; i++) dims[i] = d->dims[i];
  if (to4 && rank < 4) {
    for (int i = 0; i < 4; i++) dims[i] = i < 4 - rank ? 1 : d->dims[i - (4 - rank)];
    rank = 4;
  }
  int8_t *raw = eo_malloc((size_t)n + 1), *v = eo_malloc((size_t)n + 1);
  if (!raw || !v) {
    free(raw), free(v);
    return nomem();
  }
  for (int64_t i = 0; i < n; i++) raw[i] = as_i8(d, i);
  int64_t sd[EO_MAX_RANK];
  if (rank == 4)
    permute((const uint8_t *)raw, (uint8_t *)v, 1, 4, dims, TO_NHWC);
  else
    memcpy(v, raw, (size_t)n);
  free(raw);
  stored_dims(rank, dims, sd);
  int q = dq_quant(c, d, 0);
  if (!q) {
    free(v);
    return nomem();
  }
  return add_qtensor(c, d->name, rank, sd, TFL_INT8, q, v, (size_t)n, out);
}

// The float32 twin of a quantized tensor (one DEQUANTIZE, shared by every float consumer).
static eo_status float_twin(tfl_ctx *c, int x, int *out) {
  if (c->t[x].twin) {
    *out = c->t[x].twin - 1;
    return EO_OK;
  }
  tfl_tensor *t = &c->t[x];
  int64_t d[EO_MAX_RANK];
  for (int i = 0; i < t->rank; i++) d[i] = t->shape[i];
  char nm[512];
  snprintf(nm, sizeof nm, "%.400s_dequant", t->name);
  TRY(add_tensor(c, nm, t->rank, d, TFL_FLOAT32, NULL, 0, out));
  c->t[x].twin = *out + 1;
  return add_op(c, OP_DEQUANTIZE, 1, &x, 1, out, NULL);
}

// The TFLite tensor holding IR tensor t in stored layout (constants are created on first use).
// In an int8 node (c->out_q) a DequantizeLinear constant is its int8 data; in a float node a
// quantized activation is read through its float twin.
static eo_status input_of(tfl_ctx *c, int t, int *out) {
  if (t < 0) return refuse(c, "a required input is absent");
  const tfl_dqconst *d = c->out_q ? find_dq(c, t) : NULL;
  if (d) return dq_const_tensor(c, d, false, out);
  if (c->tmap[t] < 0) {
    if (!is_const(c, t)) return refuse(c, "input '%s' is not produced by any converted node", c->g->tensors[t].name);
    TRY(const_tensor(c, t, &c->tmap[t]));
  }
  *out = c->tmap[t];
  if (!c->out_q && c->t[*out].quant && c->t[*out].type != TFL_INT32) return float_twin(c, *out, out);
  return EO_OK;
}

// The TFLite tensor for an IR activation output (float32, stored layout).
static eo_status output_of(tfl_ctx *c, int t, int *out) {
  const eo_tensor *x = &c->g->tensors[t];
  if (x->dtype != EO_FLOAT) return refuse(c, "output '%s' is %s; only float32 activations are exported", x->name,
                                          eo_dtype_name(x->dtype));
  if (x->rank < 0 || x->rank > 6) return refuse(c, "output '%s' has no inferred shape", x->name);
  int64_t sd[EO_MAX_RANK];
  stored_dims(x->rank, x->dims, sd);
  TRY(add_qtensor(c, x->name, x->rank, sd, c->out_q ? TFL_INT8 : TFL_FLOAT32, c->out_q, NULL, 0, out));
  c->tmap[t] = *out;
  return EO_OK;
}

// Dynamic range: int8 symmetric weights, one scale per index of dim `qdim` (-1: one for the tensor),
// max |w| / 127 as TFLite's converter computes them; the hybrid kernels read them directly.
static eo_status int8_weight(tfl_ctx *c, const char *name, int rank, const int64_t *dims, float *data, int qdim,
                             int *out) {
  size_t n = (size_t)eo_numel(rank, dims);
  int64_t nch = qdim < 0 ? 1 : dims[qdim], inner = 1;
  for (int i = qdim + 1; qdim >= 0 && i < rank; i++) inner *= dims[i];
  float *sc = eo_calloc((size_t)nch, sizeof *sc);
  int8_t *q = eo_malloc(n + 1);
  if (!sc || !q) {
    free(sc), free(q), free(data);
    return nomem();
  }
  for (size_t i = 0; i < n; i++) {
    int64_t ch = qdim < 0 ? 0 : ((int64_t)i / inner) % nch;
    float a = fabsf(data[i]);
    if (a > sc[ch]) sc[ch] = a;
  }
  for (int64_t ch = 0; ch < nch; ch++) sc[ch] = sc[ch] > 0 ? sc[ch] / 127.0f : 1.0f;
  for (size_t i = 0; i < n; i++) {
    float v = roundf(data[i] / sc[qdim < 0 ? 0 : ((int64_t)i / inner) % nch]);
    q[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
  }
  free(data);
  int qi = nch <= INT32_MAX ? add_quant(c, (int)nch, sc, NULL, qdim < 0 ? 0 : qdim) : 0;
  free(sc);
  if (!qi) {
    free(q);
    return nomem();
  }
  return add_qtensor(c, name, rank, dims, TFL_INT8, qi, q, n, out);
}

// A float32 weight: as is in FP32 mode; in FP16 mode a float16 constant behind DEQUANTIZE; in
// DYNAMIC mode int8 when qdim >= -1 (per channel of dim qdim, or per tensor), float otherwise (biases).
static eo_status weight_tensor(tfl_ctx *c, const char *name, int rank, const int64_t *dims, float *data, int qdim,
                               int *out) {
  size_t n = (size_t)eo_numel(rank, dims);
  if (c->mode == EO_TFLITE_DYNAMIC && qdim >= -1) return int8_weight(c, name, rank, dims, data, qdim, out);
  if (c->mode != EO_TFLITE_FP16) return add_tensor(c, name, rank, dims, TFL_FLOAT32, data, n * 4, out);
  uint16_t *h = eo_malloc(n * 2);
  if (!h) {
    free(data);
    return nomem();
  }
  for (size_t i = 0; i < n; i++) h[i] = eo_f32_to_f16(data[i]);
  free(data);
  char nm[512];
  snprintf(nm, sizeof nm, "%.400s_fp16", name);
  int th;
  TRY(add_tensor(c, nm, rank, dims, TFL_FLOAT16, h, n * 2, &th));
  TRY(add_tensor(c, name, rank, dims, TFL_FLOAT32, NULL, 0, out));
  return add_op(c, OP_DEQUANTIZE, 1, &th, 1, out, NULL);
}

// An int32 constant vector [n] (shapes, axes, permutations, paddings with dims given).
static eo_status int_const(tfl_ctx *c, const char *name, int rank, const int64_t *dims, const int32_t *v, int *out) {
  size_t n = (size_t)eo_numel(rank, dims);
  int32_t *d = eo_malloc(n * 4);
  if (!d) return nomem();
  memcpy(d, v, n * 4);
  return add_tensor(c, name, rank, dims, TFL_INT32, d, n * 4, out);
}

// A new activation tensor named after `base` with a suffix: float32, or int8 with the current
// node's output quantization.
static eo_status temp_tensor(tfl_ctx *c, const char *base, const char *suffix, int rank, const int64_t *stored,
                             int *out) {
  char nm[512];
  snprintf(nm, sizeof nm, "%.400s%.100s", base, suffix);
  return add_qtensor(c, nm, rank, stored, c->out_q ? TFL_INT8 : TFL_FLOAT32, c->out_q, NULL, 0, out);
}

// TRANSPOSE of TFLite tensor `in` (stored dims `dims`) by perm into a new tensor.
static eo_status emit_transpose(tfl_ctx *c, int in, int rank, const int64_t *dims, const int *perm, const char *name,
                                int *out) {
  int32_t p[EO_MAX_RANK];
  int64_t od[EO_MAX_RANK], pr = rank;
  for (int i = 0; i < rank; i++) p[i] = perm[i], od[i] = dims[perm[i]];
  int tp;
  char nm[512];
  snprintf(nm, sizeof nm, "%.400s_perm", name);
  TRY(int_const(c, nm, 1, &pr, p, &tp));
  if (*out < 0) TRY(like_tensor(c, in, name, "", rank, od, out));
  int ins[2] = {in, tp};
  tfl_op *o = NULL;
  TRY(add_op(c, OP_TRANSPOSE, 2, ins, 1, out, &o));
  o->opt_type = OPT_TRANSPOSE;
  return EO_OK;
}

/* ---- op converters ---- */

// Fused activation code for a Conv's fused_act, -1 when it needs its own op.
static int fused_code(int op, float lo, float hi) {
  if (op < 0) return ACT_NONE;
  if (op == EO_OP_RELU) return ACT_RELU;
  if (op == EO_OP_CLIP) {
    if (lo == 0.0f && hi == 6.0f) return ACT_RELU6;
    if (lo == 0.0f && isinf(hi) && hi > 0) return ACT_RELU;
    if (lo == -1.0f && hi == 1.0f) return ACT_RELU_N1_TO_1;
  }
  return -1;
}


// Clip bounds from attributes (opset < 11) or constant inputs.
static bool clip_bounds(const tfl_ctx *c, const eo_node *n, float *lo, float *hi) {
  *lo = -INFINITY, *hi = INFINITY;
  if (c->g->opset < 11) {
    *lo = eo_attr_f(n, "min", -INFINITY);
    *hi = eo_attr_f(n, "max", INFINITY);
    return true;
  }
  for (int k = 1; k <= 2; k++) {
    if (n->n_in <= k || n->in[k] < 0) continue;
    const eo_tensor *t = &c->g->tensors[n->in[k]];
    if (!is_const(c, n->in[k]) || t->dtype != EO_FLOAT || eo_numel(t->rank, t->dims) != 1) return false;
    *(k == 1 ? lo : hi) = *(const float *)t->data;
  }
  return true;
}

// Pads [top, left, bottom, right] of a 2-D window op (auto_pad resolved).
static eo_status window_pads(tfl_ctx *c, const eo_node *n, const int64_t *in_hw, const int64_t *k, const int64_t *s,
                             const int64_t *d, int64_t *pads) {
  const char *ap = eo_attr_s(n, "auto_pad", "NOTSET");
  memset(pads, 0, 4 * sizeof *pads);
  if (strcmp(ap, "NOTSET") == 0) {
    const int64_t *p;
    int np = eo_attr_ints(n, "pads", &p);
    if (np >= 0 && np != 4) return refuse(c, "pads has %d values, expected 4", np);
    if (np == 4)
      for (int i = 0; i < 4; i++) pads[i] = p[i];
    return EO_OK;
  }
  if (strcmp(ap, "VALID") == 0) return EO_OK;
  for (int i = 0; i < 2; i++) {
    int64_t out = (in_hw[i] + s[i] - 1) / s[i];
    int64_t total = (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in_hw[i];
    if (total < 0) total = 0;
    int64_t small = total / 2, big = total - small;
    bool upper = strcmp(ap, "SAME_UPPER") == 0;
    pads[i] = upper ? small : big;
    pads[i + 2] = upper ? big : small;
  }
  return EO_OK;
}

// SAME or VALID when TFLite's padding rule gives exactly these pads and output size, else -1.
static int padding_kind(const int64_t *in_hw, const int64_t *out_hw, const int64_t *k, const int64_t *s,
                        const int64_t *d, const int64_t *pads) {
  bool valid = true, same = true;
  for (int i = 0; i < 2; i++) {
    int64_t ek = (k[i] - 1) * d[i] + 1;
    if (pads[i] || pads[i + 2] || in_hw[i] < ek || out_hw[i] != (in_hw[i] - ek) / s[i] + 1) valid = false;
    int64_t out = (in_hw[i] + s[i] - 1) / s[i];
    int64_t total = (out - 1) * s[i] + ek - in_hw[i];
    if (total < 0) total = 0;
    if (out_hw[i] != out || pads[i] != total / 2 || pads[i + 2] != total - total / 2) same = false;
  }
  return valid ? PAD_VALID : same ? PAD_SAME : -1;
}

// PAD (zeros) of stored NHWC tensor x by ONNX pads [t, l, b, r], or PADV2 with `fill` when not NULL
// (-inf before a max pool); returns the padded tensor and its H, W.
static eo_status emit_pad_nhwc(tfl_ctx *c, int x, const int64_t *pads, const float *fill, const char *name,
                               int64_t *hw, int *out) {
  const tfl_tensor *tx = &c->t[x];
  int64_t od[4] = {tx->shape[0], tx->shape[1] + pads[0] + pads[2], tx->shape[2] + pads[1] + pads[3], tx->shape[3]};
  int32_t pv[8] = {0, 0, (int32_t)pads[0], (int32_t)pads[2], (int32_t)pads[1], (int32_t)pads[3], 0, 0};
  int64_t pd[2] = {4, 2};
  int tp;
  char nm[512];
  snprintf(nm, sizeof nm, "%.400s_paddings", name);
  TRY(int_const(c, nm, 2, pd, pv, &tp));
  int ins[3] = {x, tp, -1};
  if (fill && c->t[x].type == TFL_INT8) {  // -inf of an int8 tensor: its lowest value
    int8_t *v = eo_malloc(1);
    if (!v) return nomem();
    *v = -128;
    snprintf(nm, sizeof nm, "%.400s_pad_value", name);
    TRY(add_qtensor(c, nm, 0, od, TFL_INT8, c->t[x].quant, v, 1, &ins[2]));
  } else if (fill) {
    float *v = eo_malloc(4);
    if (!v) return nomem();
    *v = *fill;
    snprintf(nm, sizeof nm, "%.400s_pad_value", name);
    TRY(add_tensor(c, nm, 0, od, TFL_FLOAT32, v, 4, &ins[2]));
  }
  TRY(like_tensor(c, x, name, "_padded", 4, od, out));
  tfl_op *o = NULL;
  TRY(add_op(c, fill ? OP_PADV2 : OP_PAD, fill ? 3 : 2, ins, 1, out, &o));
  o->opt_type = fill ? OPT_NONE : OPT_PAD;  // PadV2Options has no fields
  hw[0] = od[1], hw[1] = od[2];
  return EO_OK;
}

// A float32 scalar constant (rank 0: broadcasts against anything).
static eo_status scalar_const(tfl_ctx *c, const char *base, const char *suffix, float v, int *out) {
  float *d = eo_malloc(4);
  if (!d) return nomem();
  *d = v;
  char nm[512];
  snprintf(nm, sizeof nm, "%.400s%.100s", base, suffix);
  int64_t none[1] = {0};
  return add_tensor(c, nm, 0, none, TFL_FLOAT32, d, 4, out);
}

// The TFLite op(s) computing activation `act` (an eo_op_id) of tensor x into tensor y. alpha/beta:
// LeakyRelu's and Elu's alpha, HardSigmoid's alpha and beta, Clip's bounds.
static eo_status emit_activation(tfl_ctx *c, int act, float alpha, float beta, int x, int y, const char *name) {
  tfl_op *o = NULL;
  switch (act) {
    case EO_OP_RELU: return add_op(c, OP_RELU, 1, &x, 1, &y, NULL);
    case EO_OP_CLIP: {
      int code = fused_code(EO_OP_CLIP, alpha, beta);
      if (code < 0) return refuse(c, "Clip(%g, %g) is none of RELU, RELU6, RELU_N1_TO_1", alpha, beta);
      return add_op(c, code == ACT_RELU6 ? OP_RELU6 : code == ACT_RELU ? OP_RELU : OP_RELU_N1_TO_1, 1, &x, 1, &y, NULL);
    }
    case EO_OP_SIGMOID: return add_op(c, OP_LOGISTIC, 1, &x, 1, &y, NULL);
    case EO_OP_TANH: return add_op(c, OP_TANH, 1, &x, 1, &y, NULL);
    case EO_OP_HARD_SWISH: return add_op(c, OP_HARD_SWISH, 1, &x, 1, &y, NULL);
    case EO_OP_LEAKY_RELU:
      TRY(add_op(c, OP_LEAKY_RELU, 1, &x, 1, &y, &o));
      o->opt_type = OPT_LEAKY_RELU;
      opt_f32(o, LEAKY_RELU_ALPHA, alpha);
      return EO_OK;
    case EO_OP_ELU:  // TFLite's ELU has alpha 1
      if (alpha != 1.0f) return refuse(c, "Elu with alpha %g (TFLite's ELU has alpha 1)", alpha);
      return add_op(c, OP_ELU, 1, &x, 1, &y, NULL);
    case EO_OP_HARD_SIGMOID: {
      // clip(alpha x + beta, 0, 1) = RELU6(6 alpha x + 6 beta) / 6: MUL, ADD with fused RELU6, MUL
      // (TFLite has no HardSigmoid; the converter lowers it the same way). The first MUL is left out
      // when 6 alpha is 1 (HardSwish's gate, alpha 1/6).
      if (c->t[x].type != TFL_FLOAT32) return refuse(c, "HardSigmoid on a quantized tensor");
      int64_t d[EO_MAX_RANK];
      int r = c->t[y].rank, k6 = -1, ka = -1, kb = -1, t1 = x, t2 = -1;
      for (int i = 0; i < r; i++) d[i] = c->t[y].shape[i];
      float a6 = 6.0f * alpha;
      if (a6 != 1.0f) {
        TRY(scalar_const(c, name, "_hs_alpha6", a6, &ka));
        TRY(temp_tensor(c, name, "_hs_scaled", r, d, &t1));
        int ins[2] = {x, ka};
        TRY(add_op(c, OP_MUL, 2, ins, 1, &t1, &o));
        o->opt_type = OPT_MUL;
      }
      TRY(scalar_const(c, name, "_hs_beta6", 6.0f * beta, &kb));
      TRY(temp_tensor(c, name, "_hs_relu6", r, d, &t2));
      int ins2[2] = {t1, kb};
      TRY(add_op(c, OP_ADD, 2, ins2, 1, &t2, &o));
      o->opt_type = OPT_ADD;
      opt_u8(o, ADD_ACTIVATION, ACT_RELU6);
      TRY(scalar_const(c, name, "_hs_sixth", 1.0f / 6.0f, &k6));
      int ins3[2] = {t2, k6};
      TRY(add_op(c, OP_MUL, 2, ins3, 1, &y, &o));
      o->opt_type = OPT_MUL;
      return EO_OK;
    }
    default: return refuse(c, "activation %s has no TFLite equivalent", eo_activation_name(act));
  }
}

// Final activation: fused code when TFLite has one, else the conv writes a temporary and its own
// op(s) follow: *pending is then the final tensor, for after_act once the conv op is added (TFLite
// runs operators in list order).
static eo_status finish_act(tfl_ctx *c, const eo_node *n, int y_ir, int *conv_out, int *act_code, int *pending) {
  *pending = -1;
  if (c->out_q) {  // int8: the Relu/Clip before the Q, clamping in the output's integers
    *act_code = c->q_act;
    return output_of(c, y_ir, conv_out);
  }
  int code = fused_code(n->fused_act, n->act_alpha, n->act_beta);
  *act_code = code < 0 ? ACT_NONE : code;
  if (code >= 0) return output_of(c, y_ir, conv_out);
  const eo_tensor *y = &c->g->tensors[y_ir];
  int64_t sd[EO_MAX_RANK];
  stored_dims(y->rank, y->dims, sd);
  TRY(temp_tensor(c, y->name, "_preact", y->rank, sd, conv_out));
  return output_of(c, y_ir, pending);
}

static eo_status after_act(tfl_ctx *c, const eo_node *n, int conv_out, int pending) {
  if (pending < 0) return EO_OK;
  return emit_activation(c, n->fused_act, n->act_alpha, n->act_beta, conv_out, pending, c->t[pending].name);
}

static void conv_options(tfl_op *o, bool dw, int kind, const int64_t *s, const int64_t *d, int64_t mult, int act) {
  o->opt_type = dw ? OPT_DEPTHWISE : OPT_CONV2D;
  opt_u8(o, 0, kind);
  opt_i32(o, 1, (int32_t)s[1], 0);
  opt_i32(o, 2, (int32_t)s[0], 0);
  if (dw) {
    opt_i32(o, 3, (int32_t)mult, 0);
    opt_u8(o, 4, act);
    opt_i32(o, 5, (int32_t)d[1], 1);
    opt_i32(o, 6, (int32_t)d[0], 1);
  } else {
    opt_u8(o, 3, act);
    opt_i32(o, 4, (int32_t)d[1], 1);
    opt_i32(o, 5, (int32_t)d[0], 1);
  }
}

// int8 weights and int32 bias of a QDQ Conv (kind 1: OHWI, quantized_dimension 0; kind 2: depthwise
// 1HWO, dimension 3; kind 3: ConvTranspose, OHWI, dimension 0) or Gemm/MatMul (kind 0: [N,K],
// dimension 0) from their DequantizeLinear
// constants: symmetric int8 weights (zero points 0, per tensor or per output channel), bias int32
// with scale s_in * s_w[c] (TFLite's rule, which ONNX Runtime's quantizer follows).
static eo_status q_weights(tfl_ctx *c, const eo_node *n, int xin, int kind, int *tw, int *tb) {
  const tfl_dqconst *w = find_dq(c, n->in[1]), *b = n->n_in > 2 ? find_dq(c, n->in[2]) : NULL;
  if (!w || w->dtype != EO_INT8) return refuse(c, "weights are not an int8 DequantizeLinear constant");
  for (int i = 0; i < w->n_scale; i++)
    if (w->zp[i]) return refuse(c, "weight zero point %d (TFLite's int8 kernels need symmetric weights)", w->zp[i]);
  const tfl_quant *xq = c->t[xin].quant ? &c->q[c->t[xin].quant - 1] : NULL;
  if (!xq || xq->n != 1) return refuse(c, "input is not a per-tensor quantized int8 tensor");
  bool gemm = kind == 0, tb_ = n->op == EO_OP_GEMM && eo_attr_i(n, "transB", 0);
  if (n->op == EO_OP_GEMM && (eo_attr_f(n, "alpha", 1.0f) != 1.0f || eo_attr_f(n, "beta", 1.0f) != 1.0f))
    return refuse(c, "alpha/beta other than 1 with int8 weights");
  int64_t O, inner;  // output channels; values per channel
  int waxis;         // the DQ axis holding the output channel
  if (gemm) {
    if (w->rank != 2) return refuse(c, "weights of rank %d (2 expected)", w->rank);
    O = tb_ ? w->dims[0] : w->dims[1], inner = tb_ ? w->dims[1] : w->dims[0], waxis = tb_ ? 0 : 1;
  } else if (kind == 3) {  // ConvTranspose [C, M, kH, kW]: output channels on axis 1
    if (w->rank != 4) return refuse(c, "weights of rank %d (4 expected)", w->rank);
    O = w->dims[1], inner = w->dims[0] * w->dims[2] * w->dims[3], waxis = 1;
  } else {
    if (w->rank != 4) return refuse(c, "weights of rank %d (4 expected)", w->rank);
    O = w->dims[0], inner = w->dims[1] * w->dims[2] * w->dims[3], waxis = 0;
  }
  if (w->n_scale != 1 && (w->n_scale != O || w->axis != waxis))
    return refuse(c, "weight scales are neither per tensor nor per output channel");
  size_t nw = (size_t)(O * inner);
  int8_t *wt = eo_malloc(nw + 1);
  int32_t *bias = eo_calloc((size_t)O, 4);
  float *bs = eo_malloc((size_t)O * sizeof *bs);
  int32_t *zp0 = eo_calloc((size_t)O, 4);
  eo_status st = EO_OK;
  if (!wt || !bias || !bs || !zp0) {
    st = nomem();
    goto out;
  }
  int64_t sd[4];
  if (gemm) {  // [N,K]
    for (int64_t o = 0; o < O; o++)
      for (int64_t k = 0; k < inner; k++) wt[o * inner + k] = as_i8(w, tb_ ? o * inner + k : k * O + o);
    sd[0] = O, sd[1] = inner;
  } else if (kind == 2) {  // [O,1,KH,KW] -> [1,KH,KW,O]
    int64_t hw = w->dims[2] * w->dims[3];
    for (int64_t o = 0; o < O; o++)
      for (int64_t i = 0; i < hw; i++) wt[i * O + o] = as_i8(w, o * hw + i);
    sd[0] = 1, sd[1] = w->dims[2], sd[2] = w->dims[3], sd[3] = O;
  } else if (kind == 3) {  // [C, M, kH, kW] -> [M, kH, kW, C] (TRANSPOSE_CONV's OHWI)
    static const int perm[4] = {1, 2, 3, 0};
    permute(w->q, (uint8_t *)wt, 1, 4, w->dims, perm);
    sd[0] = O, sd[1] = w->dims[2], sd[2] = w->dims[3], sd[3] = w->dims[0];
  } else {  // OIHW -> OHWI
    static const int perm[4] = {0, 2, 3, 1};
    permute(w->q, (uint8_t *)wt, 1, 4, w->dims, perm);
    sd[0] = O, sd[1] = w->dims[2], sd[2] = w->dims[3], sd[3] = w->dims[1];
  }
  for (int64_t o = 0; o < O; o++) bs[o] = xq->scale[0] * w->scale[w->n_scale == 1 ? 0 : o];
  if (b) {
    if (b->dtype != EO_INT32 || eo_numel(b->rank, b->dims) != O || (b->n_scale != 1 && b->n_scale != O)) {
      st = refuse(c, "bias is not an int32 DequantizeLinear constant of %lld values", (long long)O);
      goto out;
    }
    for (int64_t o = 0; o < O; o++) {
      float want = bs[o], got = b->scale[b->n_scale == 1 ? 0 : o];
      if (b->zp[b->n_scale == 1 ? 0 : o] || fabsf(got - want) > 1e-6f * want) {
        st = refuse(c, "bias scale %g is not input scale x weight scale %g (channel %lld)", got, want, (long long)o);
        goto out;
      }
      bias[o] = ((const int32_t *)b->q)[o];
    }
  } else if (n->n_in > 2 && n->in[2] >= 0) {
    st = refuse(c, "bias is not an int32 DequantizeLinear constant");
    goto out;
  }
  int qw = add_quant(c, w->n_scale, w->scale, zp0, kind == 2 ? 3 : 0), qb = add_quant(c, (int)O, bs, zp0, 0);
  if (!qw || !qb) {
    st = nomem();
    goto out;
  }
  char nm[512];
  snprintf(nm, sizeof nm, "%.400s_weights", n->name);
  st = add_qtensor(c, nm, gemm ? 2 : 4, sd, TFL_INT8, qw, wt, nw, tw);
  wt = NULL;
  if (st) goto out;
  snprintf(nm, sizeof nm, "%.400s_bias", n->name);
  st = add_qtensor(c, nm, 1, &O, TFL_INT32, qb, bias, (size_t)O * 4, tb);
  bias = NULL;
out:
  free(wt), free(bias), free(bs), free(zp0);
  return st;
}

static eo_status conv(tfl_ctx *c, const eo_node *n) {
  const eo_graph *g = c->g;
  const eo_tensor *x = &g->tensors[n->in[0]], *w = n->n_in > 1 && n->in[1] >= 0 ? &g->tensors[n->in[1]] : NULL;
  const eo_tensor *y = &g->tensors[n->out[0]];
  if (x->rank != 4) return refuse(c, "only 2-D convolutions (rank-4 input) are exported, got rank %d", x->rank);
  if (!w || !is_const(c, n->in[1]) || w->dtype != EO_FLOAT || w->rank != 4)
    return refuse(c, "weights must be a constant float32 [O,I,kH,kW] tensor");
  int64_t group = eo_attr_i(n, "group", 1), O = w->dims[0], I = w->dims[1], KH = w->dims[2], KW = w->dims[3];
  int64_t C = x->dims[1];
  bool dw = group > 1 && group == C && I == 1 && O % C == 0;
  if (group != 1 && !dw) return refuse(c, "grouped Conv (group=%lld) other than depthwise", (long long)group);
  int64_t k[2] = {KH, KW}, s[2] = {1, 1}, d[2] = {1, 1}, pads[4];
  const int64_t *v;
  if (eo_attr_ints(n, "strides", &v) == 2) s[0] = v[0], s[1] = v[1];
  if (eo_attr_ints(n, "dilations", &v) == 2) d[0] = v[0], d[1] = v[1];
  int64_t in_hw[2] = {x->dims[2], x->dims[3]}, out_hw[2] = {y->dims[2], y->dims[3]};
  TRY(window_pads(c, n, in_hw, k, s, d, pads));
  int xin;
  TRY(input_of(c, n->in[0], &xin));
  int kind = padding_kind(in_hw, out_hw, k, s, d, pads);
  if (kind < 0) {  // explicit PAD, then VALID
    if (pads[0] < 0 || pads[1] < 0 || pads[2] < 0 || pads[3] < 0) return refuse(c, "negative pads");
    int64_t phw[2];
    TRY(emit_pad_nhwc(c, xin, pads, NULL, n->name, phw, &xin));
    int64_t zero[4] = {0};
    kind = padding_kind(phw, out_hw, k, s, d, zero);
    if (kind != PAD_VALID) return refuse(c, "output size does not follow from the pads (ceil_mode?)");
  }
  if (c->out_q) {  // int8 weights per output channel, int32 bias, from the QDQ model's DQ constants
    int tw, tb, ty, act, pend;
    TRY(q_weights(c, n, xin, dw ? 2 : 1, &tw, &tb));
    TRY(finish_act(c, n, n->out[0], &ty, &act, &pend));
    int ins[3] = {xin, tw, tb};
    tfl_op *o = NULL;
    TRY(add_op(c, dw ? OP_DEPTHWISE_CONV_2D : OP_CONV_2D, 3, ins, 1, &ty, &o));
    conv_options(o, dw, kind, s, d, O / C, act);
    return EO_OK;
  }
  // Weights re-laid out once: OIHW -> OHWI (CONV_2D) or 1HWO (DEPTHWISE_CONV_2D).
  size_t nw = (size_t)(O * I * KH * KW);
  float *wt = eo_malloc(nw * 4);
  if (!wt) return nomem();
  const float *ws = w->data;
  int64_t wd[4];
  if (dw) {
    for (int64_t o = 0; o < O; o++)
      for (int64_t i = 0; i < KH * KW; i++) wt[i * O + o] = ws[o * KH * KW + i];
    wd[0] = 1, wd[1] = KH, wd[2] = KW, wd[3] = O;
  } else {
    static const int perm[4] = {0, 2, 3, 1};
    permute((const uint8_t *)ws, (uint8_t *)wt, 4, 4, w->dims, perm);
    wd[0] = O, wd[1] = KH, wd[2] = KW, wd[3] = I;
  }
  float *bias = eo_calloc((size_t)O, 4);
  if (!bias) {
    free(wt);
    return nomem();
  }
  if (n->n_in > 2 && n->in[2] >= 0) {
    const eo_tensor *bt = &g->tensors[n->in[2]];
    if (!is_const(c, n->in[2]) || bt->dtype != EO_FLOAT || eo_numel(bt->rank, bt->dims) != O) {
      free(wt), free(bias);
      return refuse(c, "bias must be a constant float32 [%lld] tensor", (long long)O);
    }
    memcpy(bias, bt->data, (size_t)O * 4);
  }
  char nm[512];
  int tw, tb, ty, act, pend;
  snprintf(nm, sizeof nm, "%.400s_weights", n->name);
  eo_status st = weight_tensor(c, nm, 4, wd, wt, dw ? 3 : 0, &tw);
  if (st) {
    free(bias);
    return st;
  }
  snprintf(nm, sizeof nm, "%.400s_bias", n->name);
  TRY(weight_tensor(c, nm, 1, &O, bias, -2, &tb));
  TRY(finish_act(c, n, n->out[0], &ty, &act, &pend));
  int ins[3] = {xin, tw, tb};
  tfl_op *o = NULL;
  TRY(add_op(c, dw ? OP_DEPTHWISE_CONV_2D : OP_CONV_2D, 3, ins, 1, &ty, &o));
  conv_options(o, dw, kind, s, d, O / C, act);
  return after_act(c, n, ty, pend);
}

static eo_status pool(tfl_ctx *c, const eo_node *n, bool avg) {
  const eo_tensor *x = &c->g->tensors[n->in[0]], *y = &c->g->tensors[n->out[0]];
  if (x->rank != 4) return refuse(c, "only 2-D pooling is exported");
  const int64_t *v;
  if (eo_attr_ints(n, "kernel_shape", &v) != 2) return refuse(c, "kernel_shape must have 2 values");
  int64_t k[2] = {v[0], v[1]}, s[2] = {1, 1}, d[2] = {1, 1}, pads[4];
  if (eo_attr_ints(n, "strides", &v) == 2) s[0] = v[0], s[1] = v[1];
  if (eo_attr_ints(n, "dilations", &v) == 2 && (v[0] != 1 || v[1] != 1)) return refuse(c, "dilated pooling");
  if (n->n_out > 1 && n->out[1] >= 0) return refuse(c, "MaxPool indices output");
  int64_t in_hw[2] = {x->dims[2], x->dims[3]}, out_hw[2] = {y->dims[2], y->dims[3]};
  TRY(window_pads(c, n, in_hw, k, s, d, pads));
  int xin;
  TRY(input_of(c, n->in[0], &xin));
  int kind = padding_kind(in_hw, out_hw, k, s, d, pads);
  bool any_pad = pads[0] || pads[1] || pads[2] || pads[3];
  // TFLite's SAME average excludes the padding, like count_include_pad=0.
  if (avg && kind == PAD_SAME && any_pad && eo_attr_i(n, "count_include_pad", 0)) kind = -1;
  if (kind < 0) {
    // Explicit padding: -inf for max (never wins), zeros for an average that counts the padding.
    if (avg && !eo_attr_i(n, "count_include_pad", 0))
      return refuse(c, "pads [%lld,%lld,%lld,%lld] match neither SAME nor VALID, and TFLite cannot average over "
                    "explicit padding without counting it (count_include_pad=0)",
                    (long long)pads[0], (long long)pads[1], (long long)pads[2], (long long)pads[3]);
    if (pads[0] < 0 || pads[1] < 0 || pads[2] < 0 || pads[3] < 0) return refuse(c, "negative pads");
    int64_t phw[2], zero[4] = {0};
    const float ninf = -INFINITY;
    TRY(emit_pad_nhwc(c, xin, pads, avg ? NULL : &ninf, n->name, phw, &xin));
    if ((kind = padding_kind(phw, out_hw, k, s, d, zero)) != PAD_VALID)
      return refuse(c, "output size does not follow from the pads (ceil_mode?)");
  }
  int ty;
  TRY(output_of(c, n->out[0], &ty));
  tfl_op *o = NULL;
  TRY(add_op(c, avg ? OP_AVERAGE_POOL_2D : OP_MAX_POOL_2D, 1, &xin, 1, &ty, &o));
  o->opt_type = OPT_POOL2D;
  opt_u8(o, 0, kind);
  opt_i32(o, 1, (int32_t)s[1], 0);
  opt_i32(o, 2, (int32_t)s[0], 0);
  opt_i32(o, 3, (int32_t)k[1], 0);
  opt_i32(o, 4, (int32_t)k[0], 0);
  return EO_OK;
}

// FULLY_CONNECTED from Gemm (transA=0, constant B) or MatMul (constant 2-D B, A rank 2 or 3).
static eo_status fully_connected(tfl_ctx *c, const eo_node *n, bool gemm) {
  const eo_graph *g = c->g;
  const eo_tensor *a = &g->tensors[n->in[0]], *b = &g->tensors[n->in[1]];
  if (!is_const(c, n->in[1]) || b->dtype != EO_FLOAT || b->rank != 2)
    return refuse(c, "the second input must be a constant float32 matrix");
  if (a->rank < 2 || a->rank > 3 || (gemm && a->rank != 2)) return refuse(c, "input rank %d (2 or 3 exported)", a->rank);
  bool tb = gemm && eo_attr_i(n, "transB", 0);
  if (gemm && eo_attr_i(n, "transA", 0)) return refuse(c, "transA=1");
  if (c->out_q) {
    int ain, tw, tbias, ty;
    TRY(input_of(c, n->in[0], &ain));
    TRY(q_weights(c, n, ain, 0, &tw, &tbias));
    TRY(output_of(c, n->out[0], &ty));
    int ins[3] = {ain, tw, tbias};
    tfl_op *o = NULL;
    TRY(add_op(c, OP_FULLY_CONNECTED, 3, ins, 1, &ty, &o));
    o->opt_type = OPT_FC;
    opt_u8(o, 0, c->q_act);
    if (a->rank > 2) opt_u8(o, 2, 1);
    return EO_OK;
  }
  float alpha = gemm ? eo_attr_f(n, "alpha", 1.0f) : 1.0f, beta = gemm ? eo_attr_f(n, "beta", 1.0f) : 1.0f;
  int64_t K = tb ? b->dims[1] : b->dims[0], N = tb ? b->dims[0] : b->dims[1];
  float *w = eo_malloc((size_t)(N * K) * 4), *bias = eo_calloc((size_t)N, 4);
  if (!w || !bias) {
    free(w), free(bias);
    return nomem();
  }
  const float *bs = b->data;
  for (int64_t i = 0; i < N; i++)
    for (int64_t j = 0; j < K; j++) w[i * K + j] = alpha * (tb ? bs[i * K + j] : bs[j * N + i]);
  if (gemm && n->n_in > 2 && n->in[2] >= 0) {
    const eo_tensor *ct = &g->tensors[n->in[2]];
    int64_t cn = eo_numel(ct->rank, ct->dims);
    if (!is_const(c, n->in[2]) || ct->dtype != EO_FLOAT || (cn != N && cn != 1)) {
      free(w), free(bias);
      return refuse(c, "C must be a constant float32 of %lld values (or one)", (long long)N);
    }
    for (int64_t i = 0; i < N; i++) bias[i] = beta * ((const float *)ct->data)[cn == 1 ? 0 : i];
  }
  int ain, tw, tbias, ty;
  eo_status st = input_of(c, n->in[0], &ain);
  if (st) {
    free(w), free(bias);
    return st;
  }
  char nm[512];
  int64_t wd[2] = {N, K};
  snprintf(nm, sizeof nm, "%.400s_weights", n->name);
  st = weight_tensor(c, nm, 2, wd, w, -1, &tw);
  if (st) {
    free(bias);
    return st;
  }
  snprintf(nm, sizeof nm, "%.400s_bias", n->name);
  TRY(weight_tensor(c, nm, 1, &N, bias, -2, &tbias));
  TRY(output_of(c, n->out[0], &ty));
  int ins[3] = {ain, tw, tbias};
  tfl_op *o = NULL;
  TRY(add_op(c, OP_FULLY_CONNECTED, 3, ins, 1, &ty, &o));
  o->opt_type = OPT_FC;
  opt_u8(o, 0, c->out_q ? c->q_act : ACT_NONE);
  if (a->rank > 2) opt_u8(o, 2, 1);  // keep_num_dims: [B,T,K] -> [B,T,N]
  if (c->mode == EO_TFLITE_DYNAMIC) opt_u8(o, 3, 1);  // asymmetric_quantize_inputs, as the converter sets
  return EO_OK;
}

// Elementwise binary op with ONNX broadcasting; low-rank constants against rank-4 operands are
// left-padded to rank 4 and converted to NHWC with the rest.
static eo_status binary(tfl_ctx *c, const eo_node *n, int code, int opt) {
  const eo_graph *g = c->g;
  const eo_tensor *y = &g->tensors[n->out[0]];
  int ins[2];
  for (int k = 0; k < 2; k++) {
    int ti = n->in[k];
    if (ti < 0) return refuse(c, "missing input");
    const eo_tensor *t = &g->tensors[ti];
    int64_t numel = eo_numel(t->rank, t->dims);
    const tfl_dqconst *dq = c->out_q ? find_dq(c, ti) : NULL;
    if (dq) {
      TRY(dq_const_tensor(c, dq, y->rank == 4 && t->rank < 4 && numel != 1, &ins[k]));
    } else if (y->rank == 4 && t->rank < 4 && numel != 1) {
      if (!is_const(c, ti) || t->dtype != EO_FLOAT)
        return refuse(c, "input '%s' of rank %d broadcasts against a rank-4 tensor (only constants are re-laid out)",
                      t->name, t->rank);
      int64_t d4[4] = {1, 1, 1, 1}, sd[4];
      for (int i = 0; i < t->rank; i++) d4[4 - t->rank + i] = t->dims[i];
      float *data = eo_malloc((size_t)numel * 4);
      if (!data) return nomem();
      permute(t->data, (uint8_t *)data, 4, 4, d4, TO_NHWC);
      stored_dims(4, d4, sd);
      TRY(add_tensor(c, t->name, 4, sd, TFL_FLOAT32, data, (size_t)numel * 4, &ins[k]));
    } else {
      TRY(input_of(c, ti, &ins[k]));
    }
  }
  int ty;
  TRY(output_of(c, n->out[0], &ty));
  tfl_op *o = NULL;
  TRY(add_op(c, code, 2, ins, 1, &ty, &o));
  o->opt_type = (uint8_t)opt;
  opt_u8(o, 0, c->out_q ? c->q_act : ACT_NONE);
  return EO_OK;
}

static eo_status unary(tfl_ctx *c, const eo_node *n, int code) {
  int x, y;
  TRY(input_of(c, n->in[0], &x));
  TRY(output_of(c, n->out[0], &y));
  return add_op(c, code, 1, &x, 1, &y, NULL);
}

// RESHAPE of IR tensor in -> IR tensor out (both shapes known), through NCHW order when a side is
// rank 4 with a non-trivial layout.
static eo_status reshape(tfl_ctx *c, const eo_node *n) {
  const eo_tensor *x = &c->g->tensors[n->in[0]], *y = &c->g->tensors[n->out[0]];
  int xin;
  TRY(input_of(c, n->in[0], &xin));
  if (x->rank == 4 && !layout_trivial(x->dims)) {  // back to NCHW memory order
    int64_t sd[4];
    stored_dims(4, x->dims, sd);
    int t = -1;
    char nm[512];
    snprintf(nm, sizeof nm, "%.400s_nchw", x->name);
    TRY(emit_transpose(c, xin, 4, sd, TO_NCHW, nm, &t));
    xin = t;
  }
  bool y_perm = y->rank == 4 && !layout_trivial(y->dims);
  int32_t shp[EO_MAX_RANK];
  int64_t sd[EO_MAX_RANK], r = y->rank;
  if (y_perm) {
    for (int i = 0; i < 4; i++) sd[i] = y->dims[i];  // NCHW order, transposed after
  } else {
    stored_dims(y->rank, y->dims, sd);
  }
  for (int i = 0; i < y->rank; i++) shp[i] = (int32_t)sd[i];
  int ts, ty;
  char nm[512];
  snprintf(nm, sizeof nm, "%.400s_shape", n->name);
  TRY(int_const(c, nm, 1, &r, shp, &ts));
  if (y_perm) {
    TRY(like_tensor(c, xin, y->name, "_nchw", 4, sd, &ty));
  } else {
    TRY(output_of(c, n->out[0], &ty));
  }
  int ins[2] = {xin, ts};
  tfl_op *o = NULL;
  TRY(add_op(c, OP_RESHAPE, 2, ins, 1, &ty, &o));
  o->opt_type = OPT_RESHAPE;
  o->n_vec = y->rank;
  memcpy(o->vec, shp, sizeof shp);
  if (y_perm) {
    int fin;
    TRY(output_of(c, n->out[0], &fin));
    TRY(emit_transpose(c, ty, 4, sd, TO_NHWC, y->name, &fin));
  }
  return EO_OK;
}

static eo_status transpose(tfl_ctx *c, const eo_node *n) {
  const eo_tensor *x = &c->g->tensors[n->in[0]], *y = &c->g->tensors[n->out[0]];
  int r = x->rank, p[EO_MAX_RANK], q[EO_MAX_RANK];
  const int64_t *v;
  int np = eo_attr_ints(n, "perm", &v);
  for (int i = 0; i < r; i++) p[i] = np == r ? (int)v[i] : r - 1 - i;
  // stored_out = transpose(stored_in, q): compose (stored->NCHW) then perm then (NCHW->stored).
  for (int i = 0; i < r; i++) {
    int j = r == 4 ? TO_NHWC[i] : i;  // stored out dim i is IR out dim j
    int k = p[j];                       // IR out dim j is IR in dim k
    q[i] = r == 4 ? (k == 0 ? 0 : k == 1 ? 3 : k - 1) : k;  // IR in dim k sits at stored position
  }
  (void)y;
  int xin, ty;
  TRY(input_of(c, n->in[0], &xin));
  TRY(output_of(c, n->out[0], &ty));
  int64_t sd[EO_MAX_RANK];
  stored_dims(r, x->dims, sd);
  return emit_transpose(c, xin, r, sd, q, n->name, &ty);
}

static int stored_axis(int rank, int axis) {
  if (rank != 4) return axis;
  static const int m[4] = {0, 3, 1, 2};
  return m[axis];
}

// QUANTIZE of tensor x (float32, int8 or uint8) into a new tensor of type `type` and quantization q.
static eo_status quantize_to(tfl_ctx *c, int x, int type, int q, const char *name, int *out) {
  tfl_tensor *t = &c->t[x];
  int64_t d[EO_MAX_RANK];
  for (int i = 0; i < t->rank; i++) d[i] = t->shape[i];
  TRY(add_qtensor(c, name, t->rank, d, type, q, NULL, 0, out));
  return add_op(c, OP_QUANTIZE, 1, &x, 1, out, NULL);
}

// int8 tensor x re-expressed with quantization q (TFLite requantizes with its fixed-point rule).
static eo_status requantize(tfl_ctx *c, int x, int q, const char *suffix, int *out) {
  char nm[512];
  snprintf(nm, sizeof nm, "%.400s%.60s", c->t[x].name, suffix);
  return quantize_to(c, x, TFL_INT8, q, nm, out);
}

static eo_status concat(tfl_ctx *c, const eo_node *n) {
  const eo_tensor *y = &c->g->tensors[n->out[0]];
  int64_t axis = eo_attr_i(n, "axis", 0);
  if (axis < 0) axis += y->rank;
  if (n->n_in > 16) return refuse(c, "%d inputs (the exporter handles up to 16)", n->n_in);
  int ins[16], ty;
  for (int k = 0; k < n->n_in; k++) {
    TRY(input_of(c, n->in[k], &ins[k]));
    // TFLite's int8 CONCATENATION copies integers: inputs first take the output's parameters.
    if (c->out_q && !same_quant(c, c->t[ins[k]].quant, c->out_q)) TRY(requantize(c, ins[k], c->out_q, "_rq", &ins[k]));
  }
  TRY(output_of(c, n->out[0], &ty));
  tfl_op *o = NULL;
  TRY(add_op(c, OP_CONCATENATION, n->n_in, ins, 1, &ty, &o));
  o->opt_type = OPT_CONCAT;
  opt_i32(o, 0, stored_axis(y->rank, (int)axis), 0);
  opt_u8(o, 1, ACT_NONE);
  return EO_OK;
}

static eo_status softmax(tfl_ctx *c, const eo_node *n) {
  const eo_tensor *x = &c->g->tensors[n->in[0]];
  int64_t axis = eo_attr_i(n, "axis", c->g->opset >= 13 ? -1 : 1);
  if (axis < 0) axis += x->rank;
  bool last = stored_axis(x->rank, (int)axis) == x->rank - 1;
  // Before opset 13, Softmax flattens to 2-D at `axis`: over the last axis only when axis is the last.
  if (c->g->opset < 13 && axis != x->rank - 1 && !(x->rank == 4 && axis == 1 && x->dims[2] * x->dims[3] == 1))
    last = false;
  if (!last) return refuse(c, "softmax over axis %lld is not the innermost stored axis", (long long)axis);
  int xi, yi;
  TRY(input_of(c, n->in[0], &xi));
  TRY(output_of(c, n->out[0], &yi));
  tfl_op *o = NULL;
  TRY(add_op(c, OP_SOFTMAX, 1, &xi, 1, &yi, &o));
  o->opt_type = OPT_SOFTMAX;
  opt_f32(o, 0, 1.0f);
  return EO_OK;
}

static eo_status global_avg(tfl_ctx *c, const eo_node *n) {
  const eo_tensor *x = &c->g->tensors[n->in[0]];
  if (x->rank != 4) return refuse(c, "rank %d (rank 4 exported)", x->rank);
  int32_t ax[2] = {1, 2};
  int64_t two = 2;
  int ta, xi, yi;
  char nm[512];
  snprintf(nm, sizeof nm, "%.400s_axes", n->name);
  TRY(int_const(c, nm, 1, &two, ax, &ta));
  TRY(input_of(c, n->in[0], &xi));
  TRY(output_of(c, n->out[0], &yi));
  int ins[2] = {xi, ta};
  tfl_op *o = NULL;
  TRY(add_op(c, OP_MEAN, 2, ins, 1, &yi, &o));
  o->opt_type = OPT_REDUCER;
  opt_u8(o, 0, 1);  // keep_dims
  return EO_OK;
}

static eo_status pad(tfl_ctx *c, const eo_node *n) {
  const eo_tensor *x = &c->g->tensors[n->in[0]];
  int r = x->rank;
  if (strcmp(eo_attr_s(n, "mode", "constant"), "constant") != 0) return refuse(c, "mode is not 'constant'");
  int64_t pads[2 * EO_MAX_RANK];
  if (c->g->opset < 11) {
    const int64_t *v;
    if (eo_attr_ints(n, "pads", &v) != 2 * r) return refuse(c, "pads must have %d values", 2 * r);
    memcpy(pads, v, (size_t)(2 * r) * sizeof *v);
    if (eo_attr_f(n, "value", 0.0f) != 0.0f) return refuse(c, "non-zero pad value");
  } else {
    const eo_tensor *pt = n->n_in > 1 && n->in[1] >= 0 ? &c->g->tensors[n->in[1]] : NULL;
    if (!pt || !is_const(c, n->in[1]) || pt->dtype != EO_INT64 || eo_numel(pt->rank, pt->dims) != 2 * r)
      return refuse(c, "pads must be a constant int64 tensor of %d values", 2 * r);
    memcpy(pads, pt->data, (size_t)(2 * r) * sizeof *pads);
    if (n->n_in > 2 && n->in[2] >= 0) {
      const eo_tensor *vt = &c->g->tensors[n->in[2]];
      if (!is_const(c, n->in[2]) || vt->dtype != EO_FLOAT || *(const float *)vt->data != 0.0f)
        return refuse(c, "pad value must be a constant 0");
    }
    if (n->n_in > 3 && n->in[3] >= 0) return refuse(c, "axes input");
  }
  int32_t pv[2 * EO_MAX_RANK];
  for (int i = 0; i < r; i++) {
    int j = r == 4 ? TO_NHWC[i] : i;  // stored dim i is IR dim j
    if (pads[j] < 0 || pads[j + r] < 0) return refuse(c, "negative pads (cropping)");
    pv[2 * i] = (int32_t)pads[j], pv[2 * i + 1] = (int32_t)pads[j + r];
  }
  int64_t pd[2] = {r, 2};
  int tp, xi, yi;
  char nm[512];
  snprintf(nm, sizeof nm, "%.400s_paddings", n->name);
  TRY(int_const(c, nm, 2, pd, pv, &tp));
  TRY(input_of(c, n->in[0], &xi));
  TRY(output_of(c, n->out[0], &yi));
  int ins[2] = {xi, tp};
  tfl_op *o = NULL;
  TRY(add_op(c, OP_PAD, 2, ins, 1, &yi, &o));
  o->opt_type = OPT_PAD;
  return EO_OK;
}

// SPLIT_V along the stored axis, sizes from the `split` input (opset 13) or attribute, else equal.
static eo_status split(tfl_ctx *c, const eo_node *n) {
  const eo_tensor *x = &c->g->tensors[n->in[0]];
  int64_t axis = eo_attr_i(n, "axis", 0);
  if (axis < 0) axis += x->rank;
  if (axis < 0 || axis >= x->rank) return refuse(c, "axis %lld out of range", (long long)axis);
  if (n->n_out > 16) return refuse(c, "%d outputs (up to 16 exported)", n->n_out);
  int32_t sizes[16];
  for (int k = 0; k < n->n_out; k++) {
    const eo_tensor *y = n->out[k] >= 0 ? &c->g->tensors[n->out[k]] : NULL;
    if (!y || y->rank != x->rank) return refuse(c, "output %d has no inferred shape (or is unused)", k);
    sizes[k] = (int32_t)y->dims[axis];  // the inferred shapes already hold the split sizes
  }
  int xi = -1, ts = -1, ta = -1, outs[16];
  TRY(input_of(c, n->in[0], &xi));
  char nm[512];
  int64_t no = n->n_out, one = 1;
  int32_t ax = stored_axis(x->rank, (int)axis);
  snprintf(nm, sizeof nm, "%.400s_sizes", n->name);
  TRY(int_const(c, nm, 1, &no, sizes, &ts));
  snprintf(nm, sizeof nm, "%.400s_axis", n->name);
  TRY(int_const(c, nm, 0, &one, &ax, &ta));
  for (int k = 0; k < n->n_out; k++) TRY(output_of(c, n->out[k], &outs[k]));
  int ins[3] = {xi, ts, ta};
  tfl_op *o = NULL;
  TRY(add_op(c, OP_SPLIT_V, 3, ins, n->n_out, outs, &o));
  o->opt_type = OPT_SPLIT_V;
  opt_i32(o, 0, n->n_out, 0);
  return EO_OK;
}

// Resize of the two spatial dims (scales 1 on N and C): nearest with asymmetric/floor, or linear
// with half_pixel / pytorch_half_pixel / align_corners / asymmetric, as TFLite's two resize ops
// compute them.
static eo_status resize(tfl_ctx *c, const eo_node *n) {
  const eo_tensor *x = &c->g->tensors[n->in[0]], *y = &c->g->tensors[n->out[0]];
  if (x->rank != 4 || y->rank != 4 || x->dims[0] != y->dims[0] || x->dims[1] != y->dims[1])
    return refuse(c, "only resizing H and W of a rank-4 tensor is exported");
  const char *mode = eo_attr_s(n, "mode", "nearest");
  const char *ct = eo_attr_s(n, "coordinate_transformation_mode", c->g->opset >= 11 ? "half_pixel" : "asymmetric");
  const char *nmode = eo_attr_s(n, "nearest_mode", "round_prefer_floor");
  bool nearest = !strcmp(mode, "nearest"), align = !strcmp(ct, "align_corners");
  bool half = !strcmp(ct, "half_pixel") || (!strcmp(ct, "pytorch_half_pixel") && y->dims[2] > 1 && y->dims[3] > 1);
  if (nearest && (strcmp(ct, "asymmetric") || strcmp(nmode, "floor")))
    return refuse(c, "nearest resize with %s coordinates and %s rounding (asymmetric/floor is exported)", ct, nmode);
  if (!nearest && strcmp(mode, "linear"))
    return refuse(c, "mode '%s' (nearest and linear are exported)", mode);
  if (!nearest && !align && !half && strcmp(ct, "asymmetric"))
    return refuse(c, "linear resize with %s coordinates", ct);
  if (eo_attr_i(n, "antialias", 0)) return refuse(c, "antialias");
  int xi, ts, yi;
  TRY(input_of(c, n->in[0], &xi));
  int32_t hw[2] = {(int32_t)y->dims[2], (int32_t)y->dims[3]};
  int64_t two = 2;
  char nm[512];
  snprintf(nm, sizeof nm, "%.400s_size", n->name);
  TRY(int_const(c, nm, 1, &two, hw, &ts));
  TRY(output_of(c, n->out[0], &yi));
  int ins[2] = {xi, ts};
  tfl_op *o = NULL;
  TRY(add_op(c, nearest ? OP_RESIZE_NEAREST_NEIGHBOR : OP_RESIZE_BILINEAR, 2, ins, 1, &yi, &o));
  if (nearest) {
    o->opt_type = OPT_RESIZE_NEAREST;
  } else {
    o->opt_type = OPT_RESIZE_BILINEAR;
    opt_u8(o, RESIZE_BILINEAR_ALIGN_CORNERS, align);
    opt_u8(o, RESIZE_BILINEAR_HALF_PIXEL, half);
  }
  return EO_OK;
}

// Integer values of a constant int32/int64 tensor: its count (at most cap), -1 when not such a constant.
static int64_t const_ints(const tfl_ctx *c, int t, int64_t *v, int64_t cap) {
  if (t < 0 || !is_const(c, t)) return -1;
  const eo_tensor *x = &c->g->tensors[t];
  if ((x->dtype != EO_INT64 && x->dtype != EO_INT32) || x->rank < 0 || !x->data) return -1;
  int64_t n = eo_numel(x->rank, x->dims);
  if (n < 0 || n > cap || x->nbytes < (size_t)n * eo_dtype_size(x->dtype)) return -1;
  for (int64_t i = 0; i < n; i++)
    v[i] = x->dtype == EO_INT64 ? ((const int64_t *)x->data)[i] : ((const int32_t *)x->data)[i];
  return n;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi) { return v < lo ? lo : v > hi ? hi : v; }

// Slice with constant starts/ends/axes/steps (ONNX's clamping resolved here): SLICE when every step
// is 1, else STRIDED_SLICE, on the stored axes (begin/size/end/strides permuted with the layout).
static eo_status slice(tfl_ctx *c, const eo_node *n) {
  const eo_tensor *x = &c->g->tensors[n->in[0]], *y = &c->g->tensors[n->out[0]];
  int r = x->rank;
  if (r < 1 || r > 5 || y->rank != r) return refuse(c, "rank %d (1 to 5 exported)", r);
  int64_t st[EO_MAX_RANK] = {0}, en[EO_MAX_RANK] = {0}, ax[EO_MAX_RANK] = {0}, sp[EO_MAX_RANK] = {0};
  int64_t ns = -1, ne = -1, na = -1, nsp = -1;
  if (c->g->opset < 10) {
    const int64_t *v = NULL;
    int k;
    if ((k = eo_attr_ints(n, "starts", &v)) > 0 && k <= r) memcpy(st, v, (size_t)k * 8), ns = k;
    if ((k = eo_attr_ints(n, "ends", &v)) > 0 && k <= r) memcpy(en, v, (size_t)k * 8), ne = k;
    if ((k = eo_attr_ints(n, "axes", &v)) > 0 && k <= r) memcpy(ax, v, (size_t)k * 8), na = k;
  } else {
    ns = const_ints(c, n->n_in > 1 ? n->in[1] : -1, st, r);
    ne = const_ints(c, n->n_in > 2 ? n->in[2] : -1, en, r);
    if (n->n_in > 3 && n->in[3] >= 0 && (na = const_ints(c, n->in[3], ax, r)) < 0)
      return refuse(c, "axes must be a constant integer tensor");
    if (n->n_in > 4 && n->in[4] >= 0 && (nsp = const_ints(c, n->in[4], sp, r)) < 0)
      return refuse(c, "steps must be a constant integer tensor");
  }
  if (ns < 1 || ne != ns || (na >= 0 && na != ns) || (nsp >= 0 && nsp != ns))
    return refuse(c, "starts/ends (and axes, steps) must be constant integer tensors of one length, at most %d", r);
  int64_t b[EO_MAX_RANK], e[EO_MAX_RANK], s[EO_MAX_RANK], len[EO_MAX_RANK];
  bool seen[EO_MAX_RANK] = {false}, unit = true;
  for (int d = 0; d < r; d++) b[d] = 0, e[d] = x->dims[d], s[d] = 1;
  for (int i = 0; i < ns; i++) {
    int64_t a = na >= 0 ? ax[i] : i;
    if (a < 0) a += r;
    if (a < 0 || a >= r || seen[a]) return refuse(c, "axis %lld is out of range or repeated", (long long)(na >= 0 ? ax[i] : i));
    seen[a] = true;
    int64_t dim = x->dims[a], step = nsp >= 0 ? sp[i] : 1, lo = st[i], hi = en[i];
    if (step == 0) return refuse(c, "step 0");
    if (lo < 0) lo += dim;
    if (hi < 0) hi += dim;
    if (step > 0) {
      lo = clamp64(lo, 0, dim), hi = clamp64(hi, 0, dim);
    } else {
      lo = clamp64(lo, 0, dim - 1), hi = clamp64(hi, -1, dim - 1);
    }
    b[a] = lo, e[a] = hi, s[a] = step;
  }
  for (int d = 0; d < r; d++) {
    len[d] = s[d] > 0 ? (e[d] > b[d] ? (e[d] - b[d] + s[d] - 1) / s[d] : 0)
                      : (b[d] > e[d] ? (b[d] - e[d] - s[d] - 1) / -s[d] : 0);
    if (len[d] != y->dims[d] || len[d] == 0)
      return refuse(c, "dim %d: the slice has %lld elements, the inferred output %lld (empty slices are not exported)",
                    d, (long long)len[d], (long long)y->dims[d]);
    if (s[d] != 1) unit = false;
  }
  int32_t vb[EO_MAX_RANK], ve[EO_MAX_RANK], vs[EO_MAX_RANK], vz[EO_MAX_RANK], end_mask = 0;
  for (int i = 0; i < r; i++) {
    int d = r == 4 ? TO_NHWC[i] : i;  // stored dim i is IR dim d
    vb[i] = (int32_t)b[d], vs[i] = (int32_t)s[d], vz[i] = (int32_t)len[d];
    ve[i] = e[d] < 0 ? 0 : (int32_t)e[d];
    if (e[d] < 0) end_mask |= 1 << i;  // a negative stride running past index 0: "to the end"
  }
  int xi = -1, yi = -1, tb = -1, te = -1, ts = -1;
  int64_t rr = r;
  char nm[512];
  TRY(input_of(c, n->in[0], &xi));
  snprintf(nm, sizeof nm, "%.400s_begin", n->name);
  TRY(int_const(c, nm, 1, &rr, vb, &tb));
  if (unit) {
    snprintf(nm, sizeof nm, "%.400s_size", n->name);
    TRY(int_const(c, nm, 1, &rr, vz, &ts));
  } else {
    snprintf(nm, sizeof nm, "%.400s_end", n->name);
    TRY(int_const(c, nm, 1, &rr, ve, &te));
    snprintf(nm, sizeof nm, "%.400s_strides", n->name);
    TRY(int_const(c, nm, 1, &rr, vs, &ts));
  }
  TRY(output_of(c, n->out[0], &yi));
  int ins[4] = {xi, tb, unit ? ts : te, ts};
  tfl_op *o = NULL;
  TRY(add_op(c, unit ? OP_SLICE : OP_STRIDED_SLICE, unit ? 3 : 4, ins, 1, &yi, &o));
  o->opt_type = unit ? OPT_SLICE : OPT_STRIDED_SLICE;
  if (!unit) opt_i32(o, STRIDED_SLICE_END_MASK, end_mask, 0);
  return EO_OK;
}

// Gather with constant indices (negative ones resolved, range checked: TFLite's GATHER takes
// neither). Rank-4 data gathered into a rank-4 output works on the stored layout directly (the
// axis remapped); otherwise the data goes back to NCHW order first and a rank-4 output is brought
// to NHWC after.
static eo_status gather(tfl_ctx *c, const eo_node *n) {
  const eo_graph *g = c->g;
  const eo_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
  const eo_tensor *it = n->n_in > 1 && n->in[1] >= 0 ? &g->tensors[n->in[1]] : NULL;
  int r = x->rank;
  int64_t axis = eo_attr_i(n, "axis", 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) return refuse(c, "axis %lld out of range", (long long)eo_attr_i(n, "axis", 0));
  if (!it || !is_const(c, n->in[1]) || (it->dtype != EO_INT64 && it->dtype != EO_INT32) || it->rank < 0)
    return refuse(c, "indices must be a constant integer tensor (non-constant indices are not exported)");
  if (y->rank != r + it->rank - 1 || y->rank > 5 || r > 5) return refuse(c, "output rank %d (up to 5 exported)", y->rank);
  int64_t ni = eo_numel(it->rank, it->dims), dim = x->dims[axis];
  int64_t *raw = eo_malloc((size_t)(ni > 0 ? ni : 1) * 8);
  int32_t *idx = eo_malloc((size_t)(ni > 0 ? ni : 1) * 4);
  if (!raw || !idx) {
    free(raw), free(idx);
    return nomem();
  }
  if (const_ints(c, n->in[1], raw, ni) != ni) {
    free(raw), free(idx);
    return refuse(c, "indices must be a constant integer tensor");
  }
  for (int64_t i = 0; i < ni; i++) {
    int64_t v = raw[i] < 0 ? raw[i] + dim : raw[i];
    if (v < 0 || v >= dim) {
      long long bad = (long long)raw[i];
      free(raw), free(idx);
      return refuse(c, "index %lld out of range for a dim of %lld", bad, (long long)dim);
    }
    idx[i] = (int32_t)v;
  }
  free(raw);
  char nm[512];
  int ti = -1, xi = -1, yi = -1;
  snprintf(nm, sizeof nm, "%.400s_indices", n->name);
  TRY(add_tensor(c, nm, it->rank, it->dims, TFL_INT32, idx, (size_t)ni * 4, &ti));  // IR order, like the gather
  TRY(input_of(c, n->in[0], &xi));
  bool direct = r == 4 && y->rank == 4;
  int gaxis = direct ? stored_axis(4, (int)axis) : (int)axis;
  if (!direct && r == 4) {
    int64_t sd[4];
    stored_dims(4, x->dims, sd);
    int t = -1;
    snprintf(nm, sizeof nm, "%.400s_nchw", x->name);
    TRY(emit_transpose(c, xi, 4, sd, TO_NCHW, nm, &t));
    xi = t;
  }
  bool y_perm = !direct && y->rank == 4;
  if (y_perm)
    TRY(like_tensor(c, xi, y->name, "_nchw", 4, y->dims, &yi));
  else
    TRY(output_of(c, n->out[0], &yi));
  int ins[2] = {xi, ti};
  tfl_op *o = NULL;
  TRY(add_op(c, OP_GATHER, 2, ins, 1, &yi, &o));
  o->opt_type = OPT_GATHER;
  opt_i32(o, GATHER_AXIS, gaxis, 0);
  if (y_perm) {
    int fin;
    TRY(output_of(c, n->out[0], &fin));
    TRY(emit_transpose(c, yi, 4, y->dims, TO_NHWC, y->name, &fin));
  }
  return EO_OK;
}

// An activation node: its TFLite op(s) (emit_activation).
static eo_status act_node(tfl_ctx *c, const eo_node *n, int act, float alpha, float beta) {
  int x, y;
  TRY(input_of(c, n->in[0], &x));
  TRY(output_of(c, n->out[0], &y));
  return emit_activation(c, act, alpha, beta, x, y, n->name);
}

static int sole_consumer(const tfl_ctx *c, int t);

// HardSigmoid(1/6, 1/2) whose only reader is Mul(x, gate) is nn.Hardswish as PyTorch exports it
// below opset 14: one HARD_SWISH writing the Mul's output (the Mul is then skipped). Any other
// HardSigmoid is MUL, ADD+RELU6, MUL (emit_activation).
static eo_status hard_sigmoid(tfl_ctx *c, const eo_node *n) {
  float alpha = eo_attr_f(n, "alpha", 0.2f), beta = eo_attr_f(n, "beta", 0.5f);
  int u = sole_consumer(c, n->out[0]);
  if (alpha == 1.0f / 6.0f && beta == 0.5f && u >= 0 && !c->skip[u]) {
    const eo_node *m = &c->g->nodes[u];
    if (m->op == EO_OP_MUL && m->n_in == 2 && m->n_out == 1 && m->out[0] >= 0 &&
        ((m->in[0] == n->in[0] && m->in[1] == n->out[0]) || (m->in[1] == n->in[0] && m->in[0] == n->out[0]))) {
      int x, y;
      TRY(input_of(c, n->in[0], &x));
      TRY(output_of(c, m->out[0], &y));
      c->skip[u] = true;
      return add_op(c, OP_HARD_SWISH, 1, &x, 1, &y, NULL);
    }
  }
  return act_node(c, n, EO_OP_HARD_SIGMOID, alpha, beta);
}

// PRELU with a constant slope, left-padded to the input's rank and re-laid out like it (a [C,1,1]
// slope of an NCHW input becomes [1,1,1,C]); in an int8 node the slope's int8 DequantizeLinear data.
static eo_status prelu(tfl_ctx *c, const eo_node *n) {
  const eo_graph *g = c->g;
  const eo_tensor *y = &g->tensors[n->out[0]];
  const eo_tensor *sl = n->n_in > 1 && n->in[1] >= 0 ? &g->tensors[n->in[1]] : NULL;
  int r = y->rank, xi = -1, ai = -1, yi = -1;
  if (!sl || sl->rank > r) return refuse(c, "slope missing or of a higher rank than the input");
  TRY(input_of(c, n->in[0], &xi));
  const tfl_dqconst *d = c->out_q ? find_dq(c, n->in[1]) : NULL;
  if (d) {
    TRY(dq_const_tensor(c, d, r == 4 && d->rank < 4, &ai));
  } else {
    if (!is_const(c, n->in[1]) || sl->dtype != EO_FLOAT) return refuse(c, "slope must be a constant float32 tensor");
    int64_t dd[EO_MAX_RANK], sd[EO_MAX_RANK], numel = eo_numel(sl->rank, sl->dims);
    for (int i = 0; i < r; i++) dd[i] = i < r - sl->rank ? 1 : sl->dims[i - (r - sl->rank)];
    float *data = eo_malloc((size_t)(numel > 0 ? numel : 1) * 4);
    if (!data) return nomem();
    if (r == 4)
      permute(sl->data, (uint8_t *)data, 4, 4, dd, TO_NHWC);
    else
      memcpy(data, sl->data, (size_t)numel * 4);
    stored_dims(r, dd, sd);
    char nm[512];
    snprintf(nm, sizeof nm, "%.400s_slope", n->name);
    TRY(weight_tensor(c, nm, r, sd, data, -2, &ai));
  }
  TRY(output_of(c, n->out[0], &yi));
  int ins[2] = {xi, ai};
  return add_op(c, OP_PRELU, 2, ins, 1, &yi, NULL);
}

// Begin padding TFLite's SAME gives a transposed convolution writing `out` (its padding is that of
// the forward convolution from `out`: TransposeConv computes it with the output as the input).
static int64_t tconv_same_pad(int64_t out, int64_t s, int64_t k) {
  int64_t o = (out + s - 1) / s, total = (o - 1) * s + k - out;
  return total > 0 ? total / 2 : 0;
}

// TRANSPOSE_CONV from ConvTranspose (group 1, no dilation). Output position y = i*s - pad + k in
// both, so any begin padding maps: SAME when TFLite's SAME padding equals it, VALID (padding 0)
// when it is 0, else VALID into an output larger by the begin pads and a SLICE cropping them.
// Weights [C, M, kH, kW] re-laid out to [M, kH, kW, C]; the bias is the op's fourth input
// (TRANSPOSE_CONV version 3).
static eo_status conv_transpose(tfl_ctx *c, const eo_node *n) {
  const eo_graph *g = c->g;
  const eo_tensor *x = &g->tensors[n->in[0]], *y = &g->tensors[n->out[0]];
  const eo_tensor *w = n->n_in > 1 && n->in[1] >= 0 ? &g->tensors[n->in[1]] : NULL;
  if (x->rank != 4 || y->rank != 4) return refuse(c, "only 2-D transposed convolutions (rank-4 input) are exported");
  if (!w || !is_const(c, n->in[1]) || w->dtype != EO_FLOAT || w->rank != 4)
    return refuse(c, "weights must be a constant [C,M,kH,kW] tensor");
  if (eo_attr_i(n, "group", 1) != 1) return refuse(c, "group=%lld (TFLite's TRANSPOSE_CONV has no groups)",
                                                   (long long)eo_attr_i(n, "group", 1));
  const int64_t *v = NULL;
  int nv = eo_attr_ints(n, "dilations", &v);
  for (int i = 0; i < nv; i++)
    if (v[i] != 1) return refuse(c, "dilation %lld (TFLite's TRANSPOSE_CONV has none)", (long long)v[i]);
  int64_t C = w->dims[0], M = w->dims[1], k[2] = {w->dims[2], w->dims[3]}, s[2] = {1, 1}, opad[2] = {0, 0};
  if (x->dims[1] != C || y->dims[1] != M) return refuse(c, "weights [%lld,%lld,...] do not match the channels",
                                                        (long long)C, (long long)M);
  if (eo_attr_ints(n, "strides", &v) == 2) s[0] = v[0], s[1] = v[1];
  if (eo_attr_ints(n, "output_padding", &v) == 2) opad[0] = v[0], opad[1] = v[1];
  int64_t in_hw[2] = {x->dims[2], x->dims[3]}, out_hw[2] = {y->dims[2], y->dims[3]}, pb[2] = {0, 0};
  const char *ap = eo_attr_s(n, "auto_pad", "NOTSET");
  bool has_os = eo_attr_ints(n, "output_shape", &v) >= 2;
  if (has_os || strcmp(ap, "NOTSET")) {  // ONNX's rule: the padding follows from the output size
    for (int i = 0; i < 2; i++) {
      int64_t total = s[i] * (in_hw[i] - 1) + opad[i] + k[i] - out_hw[i];
      pb[i] = !strcmp(ap, "VALID") ? 0 : !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
    }
  } else if ((nv = eo_attr_ints(n, "pads", &v)) == 4) {
    pb[0] = v[0], pb[1] = v[1];
  } else if (nv >= 0) {
    return refuse(c, "pads has %d values, expected 4", nv);
  }
  if (pb[0] < 0 || pb[1] < 0) return refuse(c, "negative pads");
  bool same = tconv_same_pad(out_hw[0], s[0], k[0]) == pb[0] && tconv_same_pad(out_hw[1], s[1], k[1]) == pb[1];
  bool crop = !same && (pb[0] || pb[1]);
  int64_t full[4] = {y->dims[0], out_hw[0] + (same ? 0 : pb[0]), out_hw[1] + (same ? 0 : pb[1]), M};
  int xi = -1, tw = -1, tb = -1, ts = -1, ty = -1;
  char nm[512];
  TRY(input_of(c, n->in[0], &xi));
  if (c->out_q) {
    TRY(q_weights(c, n, xi, 3, &tw, &tb));
  } else {
    size_t nw = (size_t)(C * M * k[0] * k[1]);
    float *wt = eo_malloc(nw * 4);
    if (!wt) return nomem();
    static const int perm[4] = {1, 2, 3, 0};
    permute(w->data, (uint8_t *)wt, 4, 4, w->dims, perm);
    int64_t wd[4] = {M, k[0], k[1], C};
    snprintf(nm, sizeof nm, "%.400s_weights", n->name);
    TRY(weight_tensor(c, nm, 4, wd, wt, -2, &tw));  // float even in dynamic mode (no hybrid kernel used)
    if (n->n_in > 2 && n->in[2] >= 0) {
      const eo_tensor *bt = &g->tensors[n->in[2]];
      if (!is_const(c, n->in[2]) || bt->dtype != EO_FLOAT || eo_numel(bt->rank, bt->dims) != M)
        return refuse(c, "bias must be a constant float32 [%lld] tensor", (long long)M);
      float *bias = eo_malloc((size_t)M * 4);
      if (!bias) return nomem();
      memcpy(bias, bt->data, (size_t)M * 4);
      snprintf(nm, sizeof nm, "%.400s_bias", n->name);
      TRY(weight_tensor(c, nm, 1, &M, bias, -2, &tb));
    }
  }
  int32_t shp[4] = {(int32_t)full[0], (int32_t)full[1], (int32_t)full[2], (int32_t)full[3]};
  int64_t four = 4;
  snprintf(nm, sizeof nm, "%.400s_output_shape", n->name);
  TRY(int_const(c, nm, 1, &four, shp, &ts));
  if (crop)
    TRY(temp_tensor(c, y->name, "_uncropped", 4, full, &ty));
  else
    TRY(output_of(c, n->out[0], &ty));
  int ins[4] = {ts, tw, xi, tb};
  tfl_op *o = NULL;
  TRY(add_op(c, OP_TRANSPOSE_CONV, tb >= 0 ? 4 : 3, ins, 1, &ty, &o));
  o->opt_type = OPT_TRANSPOSE_CONV;
  opt_u8(o, TCONV_PADDING, same ? PAD_SAME : PAD_VALID);
  opt_i32(o, TCONV_STRIDE_W, (int32_t)s[1], 0);
  opt_i32(o, TCONV_STRIDE_H, (int32_t)s[0], 0);
  if (!crop) return EO_OK;
  int32_t vb[4] = {0, (int32_t)pb[0], (int32_t)pb[1], 0};
  int32_t vz[4] = {(int32_t)full[0], (int32_t)out_hw[0], (int32_t)out_hw[1], (int32_t)M};
  int tbeg = -1, tsz = -1, fin = -1;
  snprintf(nm, sizeof nm, "%.400s_crop_begin", n->name);
  TRY(int_const(c, nm, 1, &four, vb, &tbeg));
  snprintf(nm, sizeof nm, "%.400s_crop_size", n->name);
  TRY(int_const(c, nm, 1, &four, vz, &tsz));
  TRY(output_of(c, n->out[0], &fin));
  int sins[3] = {ty, tbeg, tsz};
  TRY(add_op(c, OP_SLICE, 3, sins, 1, &fin, &o));
  o->opt_type = OPT_SLICE;
  return EO_OK;
}

// BATCH_MATMUL of two tensors with numpy broadcasting over the leading dims (MatMul with a
// non-constant second input, or a constant one of rank > 2). Rank-4 operands go back to NCHW (the
// IR's order, which the product is defined on) and a rank-4 product is brought to NHWC after.
static eo_status batch_matmul(tfl_ctx *c, const eo_node *n) {
  const eo_graph *g = c->g;
  const eo_tensor *y = &g->tensors[n->out[0]];
  int ins[2];
  for (int k = 0; k < 2; k++) {
    const eo_tensor *t = n->n_in > k && n->in[k] >= 0 ? &g->tensors[n->in[k]] : NULL;
    if (!t || t->rank < 2 || t->rank > 5)
      return refuse(c, "operand %d has rank %d (2 to 5 exported; 1-D MatMul operands are not)", k, t ? t->rank : -1);
    TRY(input_of(c, n->in[k], &ins[k]));
    if (t->rank == 4) {
      int64_t sd[4];
      stored_dims(4, t->dims, sd);
      int tt = -1;
      char nm[512];
      snprintf(nm, sizeof nm, "%.400s_nchw", t->name);
      TRY(emit_transpose(c, ins[k], 4, sd, TO_NCHW, nm, &tt));
      ins[k] = tt;
    }
  }
  int yi = -1;
  if (y->rank == 4)
    TRY(temp_tensor(c, y->name, "_nchw", 4, y->dims, &yi));
  else
    TRY(output_of(c, n->out[0], &yi));
  tfl_op *o = NULL;
  TRY(add_op(c, OP_BATCH_MATMUL, 2, ins, 1, &yi, &o));
  o->opt_type = OPT_BATCH_MATMUL;
  opt_u8(o, BATCH_MATMUL_ADJ_X, 0);
  if (y->rank == 4) {
    int fin;
    TRY(output_of(c, n->out[0], &fin));
    TRY(emit_transpose(c, yi, 4, y->dims, TO_NHWC, y->name, &fin));
  }
  return EO_OK;
}

// MatMul: FULLY_CONNECTED when the second input is a constant matrix (an int8 DequantizeLinear one in
// an int8 node), else BATCH_MATMUL.
static bool matmul_is_fc(const tfl_ctx *c, const eo_node *n) {
  if (n->n_in < 2 || n->in[1] < 0) return false;
  const eo_tensor *b = &c->g->tensors[n->in[1]];
  if (b->rank != 2 || !is_const(c, n->in[1])) return false;
  return c->out_q ? find_dq(c, n->in[1]) != NULL : b->dtype == EO_FLOAT;
}

// A rank-4 graph input read only by Transposes with perm [0,3,1,2] (an NHWC model, e.g. from
// tf2onnx): the TFLite input keeps the ONNX input's own NHWC dims and those Transposes vanish,
// since their NCHW outputs are stored NHWC, which is the input as given. False: not such an input.
static bool nhwc_input(tfl_ctx *c, int t, bool *alias, int *out) {
  const eo_graph *g = c->g;
  const eo_tensor *x = &g->tensors[t];
  if (x->rank != 4 || x->dtype != EO_FLOAT || eo_pass_is_graph_output(g, t)) return false;
  int users = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int k = 0; k < n->n_in; k++) {
      if (n->in[k] != t) continue;
      const int64_t *p;
      if (n->op != EO_OP_TRANSPOSE || k != 0 || eo_attr_ints(n, "perm", &p) != 4 || p[0] != 0 || p[1] != 3 ||
          p[2] != 1 || p[3] != 2 || n->out[0] < 0 || eo_pass_is_graph_output(g, n->out[0]))
        return false;
      users++;
    }
  }
  if (!users) return false;
  for (int i = 0; i < g->n_nodes; i++)
    if (!g->nodes[i].dead && g->nodes[i].n_in > 0 && g->nodes[i].in[0] == t) alias[i] = true;
  if (add_tensor(c, x->name, 4, x->dims, TFL_FLOAT32, NULL, 0, out)) return false;
  c->tmap[t] = *out;
  return true;
}

static eo_status convert_node(tfl_ctx *c, const eo_node *n) {
  if (n->domain && n->domain[0]) return refuse(c, "domain '%s' ops have no TFLite mapping", n->domain);
  if (n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0) return refuse(c, "missing input or output");
  for (int k = 1; k < n->n_out; k++)
    if (n->out[k] >= 0 && !(n->op == EO_OP_MAX_POOL || n->op == EO_OP_SPLIT)) return refuse(c, "extra outputs");
  if (n->fused_act >= 0 && n->op != EO_OP_CONV) return refuse(c, "fused activation on a non-Conv node");
  switch (n->op) {
    case EO_OP_CONV: return conv(c, n);
    case EO_OP_MAX_POOL: return pool(c, n, false);
    case EO_OP_AVERAGE_POOL: return pool(c, n, true);
    case EO_OP_GLOBAL_AVERAGE_POOL: return global_avg(c, n);
    case EO_OP_GEMM: return fully_connected(c, n, true);
    case EO_OP_MATMUL: return matmul_is_fc(c, n) ? fully_connected(c, n, false) : batch_matmul(c, n);
    case EO_OP_CONV_TRANSPOSE: return conv_transpose(c, n);
    case EO_OP_ADD: return binary(c, n, OP_ADD, OPT_ADD);
    case EO_OP_MUL: return binary(c, n, OP_MUL, OPT_MUL);
    case EO_OP_SUB: return binary(c, n, OP_SUB, OPT_SUB);
    case EO_OP_DIV: return binary(c, n, OP_DIV, OPT_DIV);
    case EO_OP_RELU: return unary(c, n, OP_RELU);
    case EO_OP_SIGMOID: return unary(c, n, OP_LOGISTIC);
    case EO_OP_TANH: return unary(c, n, OP_TANH);
    case EO_OP_CLIP: {
      float lo, hi;
      if (!clip_bounds(c, n, &lo, &hi)) return refuse(c, "min/max must be constant scalars");
      int code = fused_code(EO_OP_CLIP, lo, hi);
      if (code < 0) return refuse(c, "Clip(%g, %g) is none of RELU, RELU6, RELU_N1_TO_1", lo, hi);
      return unary(c, n, code == ACT_RELU6 ? OP_RELU6 : code == ACT_RELU ? OP_RELU : OP_RELU_N1_TO_1);
    }
    case EO_OP_FLATTEN:
    case EO_OP_RESHAPE: return reshape(c, n);
    case EO_OP_TRANSPOSE: return transpose(c, n);
    case EO_OP_CONCAT: return concat(c, n);
    case EO_OP_SOFTMAX: return softmax(c, n);
    case EO_OP_PAD: return pad(c, n);
    case EO_OP_SPLIT: return split(c, n);
    case EO_OP_RESIZE: return resize(c, n);
    case EO_OP_SLICE: return slice(c, n);
    case EO_OP_GATHER: return gather(c, n);
    case EO_OP_EXP: return unary(c, n, OP_EXP);
    case EO_OP_HARD_SWISH: return unary(c, n, OP_HARD_SWISH);
    case EO_OP_LEAKY_RELU: return act_node(c, n, EO_OP_LEAKY_RELU, eo_attr_f(n, "alpha", 0.01f), 0.0f);
    case EO_OP_ELU: return act_node(c, n, EO_OP_ELU, eo_attr_f(n, "alpha", 1.0f), 0.0f);
    case EO_OP_HARD_SIGMOID: return hard_sigmoid(c, n);
    case EO_OP_PRELU: return prelu(c, n);
    default: return refuse(c, "not mapped to TFLite by the exporter");
  }
}

/* ---- INT8 (from a QDQ model) ---- */

// Per-tensor scale and int8-domain zero point of a Quantize/DequantizeLinear node (a uint8 zero
// point z becomes z - 128 with the same scale: the same real values, exactly).
static eo_status qdq_params(tfl_ctx *c, const eo_node *n, int *quant) {
  const eo_graph *g = c->g;
  if (n->n_in < 2 || !is_const(c, n->in[1])) return refuse(c, "the scale must be a constant");
  const eo_tensor *s = &g->tensors[n->in[1]];
  if (s->dtype != EO_FLOAT || eo_numel(s->rank, s->dims) != 1)
    return refuse(c, "only per-tensor activation quantization is exported (scale '%s' has %lld values)", s->name,
                  (long long)eo_numel(s->rank, s->dims));
  int32_t zp = -128;  // absent zero point: uint8 0
  if (n->n_in > 2 && n->in[2] >= 0) {
    const eo_tensor *z = &g->tensors[n->in[2]];
    if (!is_const(c, n->in[2]) || eo_numel(z->rank, z->dims) != 1) return refuse(c, "the zero point must be a constant scalar");
    if (z->dtype == EO_UINT8) zp = (int32_t)*(const uint8_t *)z->data - 128;
    else if (z->dtype == EO_INT8) zp = *(const int8_t *)z->data;
    else return refuse(c, "zero point '%s' is %s (TFLite's quantized kernels take 8-bit)", z->name, eo_dtype_name(z->dtype));
  }
  float sc = *(const float *)s->data;
  if (!(sc > 0.0f) || !isfinite(sc)) return refuse(c, "scale %g is not a positive finite number", sc);
  if (!(*quant = quant1(c, sc, zp))) return nomem();
  return EO_OK;
}

// The one live consumer of tensor t; -1 when none, several, or t is a graph output.
static int sole_consumer(const tfl_ctx *c, int t) {
  if (eo_pass_is_graph_output(c->g, t)) return -1;
  int who = -1;
  for (int i = 0; i < c->g->n_nodes; i++) {
    const eo_node *n = &c->g->nodes[i];
    if (n->dead) continue;
    for (int k = 0; k < n->n_in; k++)
      if (n->in[k] == t) {
        if (who >= 0 && who != i) return -1;
        who = i;
      }
  }
  return who;
}

static bool is_int8_act(const tfl_ctx *c, int t) {
  return t >= 0 && c->tmap[t] >= 0 && c->t[c->tmap[t]].type == TFL_INT8 && c->t[c->tmap[t]].quant;
}

static eo_status quantize_node(tfl_ctx *c, const eo_node *n) {
  int qq, x;
  TRY(qdq_params(c, n, &qq));
  TRY(input_of(c, n->in[0], &x));
  const char *name = c->g->tensors[n->out[0]].name;
  if (c->t[x].type == TFL_INT8 && c->t[x].quant) {  // Q(DQ(q)) with other parameters: a requantization
    if (same_quant(c, c->t[x].quant, qq)) {
      c->tmap[n->out[0]] = x;
      return EO_OK;
    }
    return quantize_to(c, x, TFL_INT8, qq, name, &c->tmap[n->out[0]]);
  }
  if (c->t[x].type != TFL_FLOAT32) return refuse(c, "input is not float32");
  return quantize_to(c, x, TFL_INT8, qq, name, &c->tmap[n->out[0]]);
}

// DequantizeLinear of an int8 activation: the same TFLite tensor (its float consumers read its
// float twin, its int8 consumers the integers).
static eo_status dequantize_node(tfl_ctx *c, const eo_node *n) {
  int qq;
  TRY(qdq_params(c, n, &qq));
  int x = n->in[0];
  if (!is_int8_act(c, x)) return refuse(c, "input '%s' is not a quantized activation", c->g->tensors[x].name);
  if (!same_quant(c, c->t[c->tmap[x]].quant, qq))
    return refuse(c, "parameters differ from those of the QuantizeLinear that wrote '%s'", c->g->tensors[x].name);
  c->tmap[n->out[0]] = c->tmap[x];
  return EO_OK;
}

enum { QC_NONE, QC_OUT, QC_SAME, QC_FIXED, QC_CONCAT };

// How an op runs in int8: QC_OUT takes the output parameters of its Q; QC_SAME keeps its input's
// (TFLite's kernels move integers), then requantizes when the Q differs; QC_FIXED has the output
// parameters TFLite's kernel requires (LOGISTIC, SOFTMAX: 1/256, -128); QC_CONCAT brings every
// input to the Q's parameters first.
static int q_category(const eo_node *n, float *fs, int *fz) {
  switch (n->op) {
    case EO_OP_CONV:
    case EO_OP_GEMM:
    case EO_OP_MATMUL:
    case EO_OP_ADD:
    case EO_OP_SUB:
    case EO_OP_MUL:
    case EO_OP_CONV_TRANSPOSE:
    case EO_OP_LEAKY_RELU:
    case EO_OP_HARD_SWISH:
    case EO_OP_PRELU:
    case EO_OP_GLOBAL_AVERAGE_POOL: return QC_OUT;  // MEAN rescales itself: one rounding, not two
    case EO_OP_MAX_POOL:
    case EO_OP_AVERAGE_POOL:
    case EO_OP_FLATTEN:
    case EO_OP_RESHAPE:
    case EO_OP_TRANSPOSE:
    case EO_OP_PAD:
    case EO_OP_SLICE:
    case EO_OP_GATHER:
    case EO_OP_RESIZE: return QC_SAME;
    case EO_OP_SIGMOID:
    case EO_OP_SOFTMAX: *fs = 1.0f / 256.0f, *fz = -128; return QC_FIXED;
    case EO_OP_TANH: *fs = 1.0f / 128.0f, *fz = 0; return QC_FIXED;
    case EO_OP_CONCAT: return QC_CONCAT;
    default: return QC_NONE;  // e.g. Exp: int8 EXP (version 2) is missing from TFLite runtimes before 2.9, so
                              // it runs in float between DEQUANTIZE and QUANTIZE, as the QDQ model computes it
  }
}

// Whether node n can run as an int8 TFLite op: its activations are int8 tensors, its constants
// DequantizeLinear constants of the right kind, and its output goes (through a Relu/Clip for the
// ops with a fused activation) only to a QuantizeLinear. Sets the Q node, activation node and code.
static bool int8_ready(tfl_ctx *c, const eo_node *n, int cat, int *qn, int *an, int *act) {
  const eo_graph *g = c->g;
  *qn = *an = -1, *act = ACT_NONE;
  if (cat == QC_NONE || n->fused_act >= 0) return false;
  for (int k = 1; k < n->n_out; k++)
    if (n->out[k] >= 0) return false;
  // MatMul with an int8 constant matrix is FULLY_CONNECTED; with two activations BATCH_MATMUL
  const tfl_dqconst *mb = n->op == EO_OP_MATMUL && n->n_in > 1 ? find_dq(c, n->in[1]) : NULL;
  bool fc_mm = mb && mb->rank == 2;
  bool weighted = n->op == EO_OP_CONV || n->op == EO_OP_GEMM || n->op == EO_OP_CONV_TRANSPOSE || fc_mm;
  // ops whose TFLite form has a fused activation to take a following Relu/Clip
  bool fuses = n->op == EO_OP_CONV || n->op == EO_OP_GEMM || fc_mm || n->op == EO_OP_ADD || n->op == EO_OP_SUB ||
               n->op == EO_OP_MUL || n->op == EO_OP_GLOBAL_AVERAGE_POOL;
  int u = sole_consumer(c, n->out[0]);
  if (u >= 0 && cat == QC_OUT && fuses && (g->nodes[u].op == EO_OP_RELU || g->nodes[u].op == EO_OP_CLIP)) {
    float lo = 0, hi = INFINITY;
    if (g->nodes[u].op == EO_OP_CLIP && !clip_bounds(c, &g->nodes[u], &lo, &hi)) return false;
    int code = g->nodes[u].op == EO_OP_RELU ? ACT_RELU : fused_code(EO_OP_CLIP, lo, hi);
    if (code <= 0) return false;
    *an = u, *act = code;
    u = sole_consumer(c, g->nodes[u].out[0]);
  }
  if (u < 0 || g->nodes[u].op != EO_OP_QUANTIZE_LINEAR) return false;
  *qn = u;
  for (int k = 0; k < n->n_in; k++) {
    int t = n->in[k];
    if (t < 0) continue;
    const tfl_dqconst *d = find_dq(c, t);
    if (weighted && k >= 1) {
      if (!d || d->dtype != (k == 1 ? EO_INT8 : EO_INT32)) return false;
      continue;
    }
    if (k >= 1 && (n->op == EO_OP_RESHAPE || n->op == EO_OP_PAD || n->op == EO_OP_RESIZE || n->op == EO_OP_SLICE ||
                   n->op == EO_OP_GATHER))
      continue;  // shape, pads, sizes, slice bounds, indices
    if (d) {
      if (n->op != EO_OP_ADD && n->op != EO_OP_SUB && n->op != EO_OP_MUL && n->op != EO_OP_CONCAT &&
          n->op != EO_OP_PRELU && n->op != EO_OP_MATMUL)
        return false;
      if ((d->dtype != EO_INT8 && d->dtype != EO_UINT8) || d->n_scale != 1) return false;
      continue;
    }
    if (!is_int8_act(c, t)) return false;
  }
  return true;
}

// Split of an int8 tensor whose every output goes only to a QuantizeLinear: int8 SPLIT_V (it moves
// integers, so the outputs keep the input's parameters), each output requantized when its Q differs.
static eo_status split_int8(tfl_ctx *c, const eo_node *n, bool *done) {
  *done = false;
  int qn[16];
  if (!is_int8_act(c, n->in[0]) || n->n_out > 16) return EO_OK;
  for (int k = 0; k < n->n_out; k++) {
    int u = n->out[k] >= 0 ? sole_consumer(c, n->out[k]) : -1;
    if (u < 0 || c->g->nodes[u].op != EO_OP_QUANTIZE_LINEAR) return EO_OK;
    qn[k] = u;
  }
  c->out_q = c->t[c->tmap[n->in[0]]].quant;
  eo_status st = convert_node(c, n);
  c->out_q = 0;
  if (st) return st;
  for (int k = 0; k < n->n_out; k++) {
    const eo_node *q = &c->g->nodes[qn[k]];
    int qq, y = c->tmap[n->out[k]];
    TRY(qdq_params(c, q, &qq));
    if (!same_quant(c, c->t[y].quant, qq)) TRY(quantize_to(c, y, TFL_INT8, qq, c->g->tensors[q->out[0]].name, &y));
    c->tmap[q->out[0]] = y;
    c->skip[qn[k]] = true;
  }
  *done = true;
  return EO_OK;
}

// One node of a QDQ model: Q/DQ become QUANTIZE or tensor aliases; an op between DQs and a Q
// becomes its int8 TFLite op writing the Q's tensor; anything else runs in float32 between
// DEQUANTIZE and QUANTIZE, as the QDQ model keeps it.
static eo_status convert_int8(tfl_ctx *c, int ni) {
  const eo_node *n = &c->g->nodes[ni];
  if (n->op == EO_OP_QUANTIZE_LINEAR) return quantize_node(c, n);
  if (n->op == EO_OP_DEQUANTIZE_LINEAR) return dequantize_node(c, n);
  if (n->op == EO_OP_SPLIT) {
    bool done;
    TRY(split_int8(c, n, &done));
    if (done) return EO_OK;
  }
  float fs = 0;
  int fz = 0, qn, an, act, cat = q_category(n, &fs, &fz);
  if (!int8_ready(c, n, cat, &qn, &an, &act)) return convert_node(c, n);
  const eo_node *q = &c->g->nodes[qn];
  int qq;
  TRY(qdq_params(c, q, &qq));
  int outq = cat == QC_OUT || cat == QC_CONCAT ? qq : cat == QC_FIXED ? quant1(c, fs, fz) : c->t[c->tmap[n->in[0]]].quant;
  if (!outq) return nomem();
  c->out_q = outq, c->q_act = act;
  eo_status st = convert_node(c, n);
  c->out_q = 0, c->q_act = ACT_NONE;
  if (st) return st;
  int y = c->tmap[n->out[0]];
  if (!same_quant(c, c->t[y].quant, qq)) TRY(quantize_to(c, y, TFL_INT8, qq, c->g->tensors[q->out[0]].name, &y));
  c->tmap[q->out[0]] = y;
  c->skip[qn] = true;
  if (an >= 0) c->skip[an] = true;
  return EO_OK;
}

// Every DequantizeLinear of constants becomes a float32 constant (what float ops and the dynamic
// mode read) and a record of its integers and parameters (what int8 ops read).
static eo_status collect_dq(tfl_ctx *c) {
  eo_graph *g = c->g;
  for (int i = 0; i < g->n_nodes; i++) {
    eo_node *n = &g->nodes[i];
    if (n->dead || n->op != EO_OP_DEQUANTIZE_LINEAR || n->n_in < 2 || n->n_out < 1 || n->out[0] < 0) continue;
    if (!is_const(c, n->in[0]) || !is_const(c, n->in[1]) || (n->n_in > 2 && n->in[2] >= 0 && !is_const(c, n->in[2])))
      continue;
    if (eo_attr_i(n, "block_size", 0)) continue;  // blocked (int4) weights stay for the refusal list
    const eo_tensor *x = &g->tensors[n->in[0]], *s = &g->tensors[n->in[1]];
    const eo_tensor *z = n->n_in > 2 && n->in[2] >= 0 ? &g->tensors[n->in[2]] : NULL;
    if (x->dtype != EO_INT8 && x->dtype != EO_UINT8 && x->dtype != EO_INT32) continue;
    if (s->dtype != EO_FLOAT || (z && z->dtype != x->dtype)) continue;
    int64_t ns = eo_numel(s->rank, s->dims), nx = eo_numel(x->rank, x->dims);
    int axis = (int)eo_attr_i(n, "axis", 1);
    if (axis < 0) axis += x->rank;
    if (ns < 1 || ns > 4096 || nx < 0 || (z && eo_numel(z->rank, z->dims) != ns)) continue;
    if (ns > 1 && (axis < 0 || axis >= x->rank || x->dims[axis] != ns)) continue;
    if (eo_grow((void **)&c->dq, &c->cdq, c->ndq + 1, sizeof *c->dq)) return nomem();
    tfl_dqconst *d = &c->dq[c->ndq];
    memset(d, 0, sizeof *d);
    c->ndq++;
    eo_tensor *y = &g->tensors[n->out[0]];
    size_t elem = eo_dtype_size(x->dtype);
    float *f = eo_malloc((size_t)nx * 4 + 1);
    if (!(d->name = eo_strdup(y->name)) || !(d->q = eo_malloc((size_t)nx * elem + 1)) ||
        !(d->scale = eo_malloc((size_t)ns * 4)) || !(d->zp = eo_calloc((size_t)ns, 4)) || !f) {
      free(f);
      return nomem();
    }
    d->dtype = x->dtype, d->rank = x->rank, d->axis = axis, d->n_scale = (int)ns;
    memcpy(d->dims, x->dims, sizeof d->dims);
    memcpy(d->q, x->data, (size_t)nx * elem);
    memcpy(d->scale, s->data, (size_t)ns * 4);
    for (int64_t k = 0; z && k < ns; k++)
      d->zp[k] = x->dtype == EO_INT8 ? ((const int8_t *)z->data)[k]
               : x->dtype == EO_UINT8 ? ((const uint8_t *)z->data)[k] : ((const int32_t *)z->data)[k];
    int64_t inner = 1;
    for (int k = axis + 1; ns > 1 && k < x->rank; k++) inner *= x->dims[k];
    for (int64_t k = 0; k < nx; k++) {
      int64_t ch = ns > 1 ? (k / inner) % ns : 0;
      int32_t v = x->dtype == EO_INT8 ? ((const int8_t *)x->data)[k]
                : x->dtype == EO_UINT8 ? ((const uint8_t *)x->data)[k] : ((const int32_t *)x->data)[k];
      f[k] = (float)(v - d->zp[ch]) * d->scale[ch];
    }
    free(y->data);
    y->data = f, y->nbytes = (size_t)nx * 4, y->dtype = EO_FLOAT, y->rank = x->rank, y->producer = -1;
    memcpy(y->dims, x->dims, sizeof y->dims);
    n->dead = true;
  }
  return EO_OK;
}

// The QDQ form of an NHWC input (see nhwc_input): input -> QuantizeLinear -> DequantizeLinear ->
// only Transposes(0,3,1,2). Those Transposes become aliases and the input, its Q and DQ keep the
// input's own dims.
static bool nhwc_qdq_input(tfl_ctx *c, int t) {
  const eo_graph *g = c->g;
  const eo_tensor *x = &g->tensors[t];
  if (x->rank != 4 || eo_pass_is_graph_output(g, t)) return false;
  int n_tr = 0, tr[64];
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *q = &g->nodes[i];
    if (q->dead || q->n_in < 1) continue;
    for (int k = 0; k < q->n_in; k++)
      if (q->in[k] == t && (q->op != EO_OP_QUANTIZE_LINEAR || k != 0)) return false;
    if (q->in[0] != t) continue;
    for (int j = 0; j < g->n_nodes; j++) {
      const eo_node *d = &g->nodes[j];
      if (d->dead) continue;
      for (int k = 0; k < d->n_in; k++)
        if (d->in[k] == q->out[0] && (d->op != EO_OP_DEQUANTIZE_LINEAR || k != 0)) return false;
      if (d->n_in < 1 || d->in[0] != q->out[0] || eo_pass_is_graph_output(g, d->out[0])) continue;
      for (int m = 0; m < g->n_nodes; m++) {
        const eo_node *n = &g->nodes[m];
        if (n->dead) continue;
        for (int k = 0; k < n->n_in; k++) {
          if (n->in[k] != d->out[0]) continue;
          const int64_t *p;
          if (n->op != EO_OP_TRANSPOSE || k != 0 || eo_attr_ints(n, "perm", &p) != 4 || p[0] != 0 || p[1] != 3 ||
              p[2] != 1 || p[3] != 2 || eo_pass_is_graph_output(g, n->out[0]) || n_tr >= 64)
            return false;
          tr[n_tr++] = m;
        }
      }
    }
  }
  if (!n_tr) return false;
  for (int i = 0; i < n_tr; i++) c->alias[tr[i]] = true;
  return true;
}

// Graph input t of an int8 model with int8/uint8 I/O: it must feed only QuantizeLinears of one
// set of parameters; their outputs become the input itself (int8) or its QUANTIZE (uint8).
static eo_status q_input(tfl_ctx *c, int t, int *in_t) {
  const eo_graph *g = c->g;
  const eo_tensor *x = &g->tensors[t];
  int qq = 0;
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *n = &g->nodes[i];
    if (n->dead) continue;
    for (int k = 0; k < n->n_in; k++) {
      if (n->in[k] != t) continue;
      int qi;
      c->cur = n;
      if (n->op != EO_OP_QUANTIZE_LINEAR || k != 0)
        return eo_error(EO_ERR_UNSUPPORTED, "input '%s' is read by node '%s' (%s), not only by QuantizeLinear: "
                        "--io int8/uint8 needs a quantized input (use --io float32)", x->name, n->name, n->op_type);
      TRY(qdq_params(c, n, &qi));
      if (qq && !same_quant(c, qq, qi))
        return eo_error(EO_ERR_UNSUPPORTED, "input '%s' is quantized with two different parameters", x->name);
      qq = qi;
    }
  }
  if (!qq) return eo_error(EO_ERR_UNSUPPORTED, "input '%s' is not quantized: --io int8/uint8 needs a QuantizeLinear "
                           "after it (use --io float32)", x->name);
  int64_t sd[EO_MAX_RANK];
  if (nhwc_qdq_input(c, t))
    memcpy(sd, x->dims, sizeof sd);
  else
    stored_dims(x->rank, x->dims, sd);
  int q8 = qq;
  if (c->io == EO_TFLITE_IO_UINT8 && !(q8 = quant1(c, c->q[qq - 1].scale[0], (int32_t)c->q[qq - 1].zp[0] + 128)))
    return nomem();
  TRY(add_qtensor(c, x->name, x->rank, sd, c->io == EO_TFLITE_IO_UINT8 ? TFL_UINT8 : TFL_INT8, q8, NULL, 0, in_t));
  int v = *in_t;
  for (int i = 0; i < g->n_nodes; i++) {
    const eo_node *n = &g->nodes[i];
    if (n->dead || n->n_in < 1 || n->in[0] != t) continue;
    if (c->io == EO_TFLITE_IO_UINT8 && v == *in_t) TRY(quantize_to(c, *in_t, TFL_INT8, qq, g->tensors[n->out[0]].name, &v));
    c->tmap[n->out[0]] = v;
    c->skip[i] = true;
  }
  return EO_OK;
}

// Graph output of an int8 model: float32 (DEQUANTIZE), int8 (the tensor itself) or uint8 (QUANTIZE).
static eo_status q_output(tfl_ctx *c, int t, int *out) {
  int y = c->tmap[t];
  const char *name = c->g->tensors[t].name;
  if (!c->t[y].quant || c->t[y].type != TFL_INT8) {
    if (c->io != EO_TFLITE_IO_FLOAT32)
      return eo_error(EO_ERR_UNSUPPORTED, "output '%s' is computed in float32 (not followed by QuantizeLinear): "
                      "--io int8/uint8 needs a quantized output (use --io float32)", name);
    *out = y;
    return EO_OK;
  }
  int64_t d[EO_MAX_RANK];
  for (int i = 0; i < c->t[y].rank; i++) d[i] = c->t[y].shape[i];
  if (c->io == EO_TFLITE_IO_INT8) {
    char *nm = eo_strdup(name);
    if (!nm) return nomem();
    free(c->t[y].name);
    c->t[y].name = nm;
    *out = y;
    return EO_OK;
  }
  if (c->io == EO_TFLITE_IO_UINT8) {
    const tfl_quant *q = &c->q[c->t[y].quant - 1];
    int qu = quant1(c, q->scale[0], (int32_t)q->zp[0] + 128);
    if (!qu) return nomem();
    return quantize_to(c, y, TFL_UINT8, qu, name, out);
  }
  TRY(add_tensor(c, name, c->t[y].rank, d, TFL_FLOAT32, NULL, 0, out));
  return add_op(c, OP_DEQUANTIZE, 1, &y, 1, out, NULL);
}

/* ---- serialization ---- */

/* ---- operator versions and the minimum runtime ---- */

static int32_t opt_of(const tfl_op *o, int id, int32_t dflt) {
  for (int k = 0; k < o->n_f; k++)
    if (o->f[k].id == id && o->f[k].kind != 2) return o->f[k].i;
  return dflt;
}

static int type_in(const tfl_ctx *c, const tfl_op *o, int k) {
  return k < o->n_in && o->in[k] >= 0 ? c->t[o->in[k]].type : -1;
}

static bool per_channel(const tfl_ctx *c, int t) { return t >= 0 && c->t[t].quant && c->q[c->t[t].quant - 1].n > 1; }

static float scale_of(const tfl_ctx *c, int t) { return t >= 0 && c->t[t].quant ? c->q[c->t[t].quant - 1].scale[0] : 0.0f; }

// Broadcasting binary op over more than 4 dims (SUB and DIV have a later version for it).
static bool broadcast5(const tfl_ctx *c, const tfl_op *o) {
  if (o->n_in < 2 || o->in[0] < 0 || o->in[1] < 0) return false;
  const tfl_tensor *a = &c->t[o->in[0]], *b = &c->t[o->in[1]];
  bool same = a->rank == b->rank && !memcmp(a->shape, b->shape, (size_t)a->rank * sizeof *a->shape);
  return !same && (a->rank > 4 || b->rank > 4);
}

// OperatorCode.version of one operator, by the TFLite converter's rules (GetBuiltinOperatorVersion
// in tensorflow/lite/tools/versioning/op_version.cc) restricted to the variants this writer emits:
// float, float16 weights behind DEQUANTIZE, hybrid (float activations, int8 weights) and int8.
static int op_version(const tfl_ctx *c, const tfl_op *o) {
  int in0 = type_in(c, o, 0), in1 = type_in(c, o, 1), out0 = o->n_out > 0 ? c->t[o->out[0]].type : -1;
  int rank0 = o->n_in > 0 && o->in[0] >= 0 ? c->t[o->in[0]].rank : 0;
  bool i8 = in0 == TFL_INT8, full_i8 = i8 && in1 == TFL_INT8 && out0 == TFL_INT8;
  bool hybrid = in0 == TFL_FLOAT32 && in1 == TFL_INT8 && out0 == TFL_FLOAT32;
  switch (o->code) {
    case OP_CONV_2D:
      if (full_i8) return 3;
      if (hybrid) return per_channel(c, o->in[1]) ? 5 : 2;
      return 1;
    case OP_DEPTHWISE_CONV_2D:
      if (hybrid) return per_channel(c, o->in[1]) ? 6 : 4;
      if (full_i8) return 3;
      return opt_of(o, DW_DILATION_W, 1) != 1 || opt_of(o, DW_DILATION_H, 1) != 1 ? 2 : 1;
    case OP_FULLY_CONNECTED:
      if (hybrid && per_channel(c, o->in[1])) return 12;
      if (o->n_in == 2) return 6;
      if (opt_of(o, FC_KEEP_NUM_DIMS, 0)) return 5;
      if (full_i8) return 4;
      if (hybrid) return opt_of(o, FC_ASYMMETRIC_QUANTIZE_INPUTS, 0) ? 9 : 3;
      return 1;
    case OP_TRANSPOSE_CONV:  // inputs: output_shape, weights, input, bias
      if (opt_of(o, TCONV_ACTIVATION, ACT_NONE) != ACT_NONE) return 4;
      if (o->n_in == 4 && o->in[3] >= 0) return 3;
      return in1 == TFL_INT8 ? 2 : 1;
    case OP_MUL:
      if (i8) {
        float s1 = scale_of(c, o->in[0]), s2 = scale_of(c, o->in[1]), so = scale_of(c, o->out[0]);
        return s1 > 0 && s2 > 0 && so > 0 && s1 * s2 / so >= 1.0f ? 3 : 2;
      }
      return 1;
    case OP_SUB: return broadcast5(c, o) ? 3 : i8 ? 2 : 1;
    case OP_DIV: return broadcast5(c, o) ? 2 : 1;
    case OP_TRANSPOSE: return rank0 > 4 ? 4 : i8 ? 2 : 1;
    case OP_SLICE: return rank0 > 4 ? 5 : i8 ? 2 : 1;
    case OP_STRIDED_SLICE: return rank0 > 4 ? 4 : i8 ? 2 : 1;
    case OP_PAD:
    case OP_PADV2: return rank0 > 4 ? 4 : i8 ? 2 : 1;
    case OP_DEQUANTIZE:
      if (in0 == TFL_FLOAT16) return 3;
      if (i8) return per_channel(c, o->in[0]) ? 5 : 2;
      return 1;
    case OP_QUANTIZE: return o->n_out > 0 && per_channel(c, o->out[0]) ? 3 : 1;
    case OP_RESIZE_BILINEAR: return opt_of(o, RESIZE_BILINEAR_HALF_PIXEL, 0) ? 3 : i8 ? 2 : 1;
    case OP_RESIZE_NEAREST_NEIGHBOR:
      return opt_of(o, RESIZE_NEAREST_HALF_PIXEL, 0) || opt_of(o, RESIZE_NEAREST_ALIGN_CORNERS, 0) ? 3 : i8 ? 2 : 1;
    case OP_BATCH_MATMUL:
      if (i8) return 2;
      return hybrid && opt_of(o, BATCH_MATMUL_ASYMMETRIC_QUANTIZE_INPUTS, 0) ? 4 : 1;
    case OP_ADD:
    case OP_MAX_POOL_2D:
    case OP_AVERAGE_POOL_2D:
    case OP_CONCATENATION:
    case OP_SOFTMAX:
    case OP_MEAN:
    case OP_RELU:
    case OP_RELU6:
    case OP_LOGISTIC:
    case OP_TANH:
    case OP_GATHER:
    case OP_SPLIT_V:
    case OP_EXP: return i8 ? 2 : 1;
    default: return 1;  // RESHAPE, HARD_SWISH, PRELU, ELU, RELU_N1_TO_1, LEAKY_RELU (2 is int16)
  }
}

/* Oldest TFLite runtime with each (op, version) this writer emits: the converter's table
 * (FindMinimumRuntimeVersionForOp in tensorflow/lite/tools/versioning/runtime_version.cc). A pair
 * missing there (EXP 2, TRANSPOSE_CONV 4, FULLY_CONNECTED 12) is skipped, as the converter does. */
static const struct {
  uint8_t code, version;
  const char *runtime;
} RUNTIME_VERSIONS[] = {
    {OP_ADD, 1, "1.5.0"}, {OP_ADD, 2, "1.14.0"}, {OP_AVERAGE_POOL_2D, 1, "1.5.0"}, {OP_AVERAGE_POOL_2D, 2, "1.14.0"},
    {OP_BATCH_MATMUL, 1, "2.3.0"}, {OP_BATCH_MATMUL, 2, "2.3.0"}, {OP_BATCH_MATMUL, 4, "2.5.0"},
    {OP_CONCATENATION, 1, "1.5.0"}, {OP_CONCATENATION, 2, "1.14.0"}, {OP_CONV_2D, 1, "1.5.0"},
    {OP_CONV_2D, 2, "1.14.0"}, {OP_CONV_2D, 3, "1.14.0"}, {OP_CONV_2D, 5, "2.4.0"},
    {OP_DEPTHWISE_CONV_2D, 1, "1.5.0"}, {OP_DEPTHWISE_CONV_2D, 2, "1.12.0"}, {OP_DEPTHWISE_CONV_2D, 3, "1.14.0"},
    {OP_DEPTHWISE_CONV_2D, 4, "2.2.0"}, {OP_DEPTHWISE_CONV_2D, 6, "2.3.0"}, {OP_DEQUANTIZE, 1, "1.13.1"},
    {OP_DEQUANTIZE, 2, "1.14.0"}, {OP_DEQUANTIZE, 3, "1.15.0"}, {OP_DEQUANTIZE, 5, "2.7.0"}, {OP_DIV, 1, "1.6.0"},
    {OP_DIV, 2, "2.3.0"}, {OP_ELU, 1, "1.14.0"}, {OP_EXP, 1, "1.7.0"}, {OP_FULLY_CONNECTED, 1, "1.5.0"},
    {OP_FULLY_CONNECTED, 3, "1.14.0"}, {OP_FULLY_CONNECTED, 4, "1.14.0"}, {OP_FULLY_CONNECTED, 5, "2.0.0"},
    {OP_FULLY_CONNECTED, 6, "2.1.0"}, {OP_FULLY_CONNECTED, 9, "2.3.0"}, {OP_GATHER, 1, "1.6.0"},
    {OP_GATHER, 2, "1.14.0"}, {OP_HARD_SWISH, 1, "1.15.0"}, {OP_LEAKY_RELU, 1, "1.13.1"}, {OP_LOGISTIC, 1, "1.14.0"},
    {OP_LOGISTIC, 2, "1.14.0"}, {OP_MAX_POOL_2D, 1, "1.5.0"}, {OP_MAX_POOL_2D, 2, "1.14.0"}, {OP_MEAN, 1, "1.6.0"},
    {OP_MEAN, 2, "1.14.0"}, {OP_MUL, 1, "1.5.0"}, {OP_MUL, 2, "1.14.0"}, {OP_MUL, 3, "1.15.0"}, {OP_PAD, 1, "1.5.0"},
    {OP_PAD, 2, "1.14.0"}, {OP_PAD, 4, "2.6.0"}, {OP_PADV2, 1, "1.9.0"}, {OP_PADV2, 2, "1.14.0"},
    {OP_PADV2, 4, "2.6.0"}, {OP_PRELU, 1, "1.8.0"}, {OP_QUANTIZE, 1, "1.14.0"}, {OP_QUANTIZE, 3, "2.7.0"},
    {OP_RELU, 1, "1.5.0"}, {OP_RELU, 2, "2.1.0"}, {OP_RELU_N1_TO_1, 1, "1.5.0"}, {OP_RELU6, 1, "1.5.0"},
    {OP_RELU6, 2, "1.14.0"}, {OP_RESHAPE, 1, "1.5.0"}, {OP_RESIZE_BILINEAR, 1, "1.7.0"},
    {OP_RESIZE_BILINEAR, 2, "1.14.0"}, {OP_RESIZE_BILINEAR, 3, "2.2.0"}, {OP_RESIZE_NEAREST_NEIGHBOR, 1, "1.13.1"},
    {OP_RESIZE_NEAREST_NEIGHBOR, 2, "1.14.0"}, {OP_RESIZE_NEAREST_NEIGHBOR, 3, "2.3.0"}, {OP_SLICE, 1, "1.14.0"},
    {OP_SLICE, 2, "1.14.0"}, {OP_SLICE, 5, "2.5.0"}, {OP_SOFTMAX, 1, "1.5.0"}, {OP_SOFTMAX, 2, "1.14.0"},
    {OP_SPLIT_V, 1, "1.13.1"}, {OP_SPLIT_V, 2, "2.3.0"}, {OP_STRIDED_SLICE, 1, "1.6.0"},
    {OP_STRIDED_SLICE, 2, "1.14.0"}, {OP_STRIDED_SLICE, 4, "2.2.0"}, {OP_SUB, 1, "1.6.0"}, {OP_SUB, 2, "1.14.0"},
    {OP_SUB, 3, "2.3.0"}, {OP_TANH, 1, "1.14.0"}, {OP_TANH, 2, "1.14.0"}, {OP_TRANSPOSE, 1, "1.6.0"},
    {OP_TRANSPOSE, 2, "1.14.0"}, {OP_TRANSPOSE, 4, "2.3.0"}, {OP_TRANSPOSE_CONV, 1, "1.9.0"},
    {OP_TRANSPOSE_CONV, 2, "2.2.0"}, {OP_TRANSPOSE_CONV, 3, "2.3.0"},
};

// a < b for dotted version strings, numerically per component ("1.5.0" < "1.14.0").
static bool version_less(const char *a, const char *b) {
  for (;;) {
    char *ea, *eb;
    long x = strtol(a, &ea, 10), y = strtol(b, &eb, 10);
    if (x != y) return x < y;
    if (*ea != '.' || *eb != '.') return *ea != '.' && *eb == '.';
    a = ea + 1, b = eb + 1;
  }
}

// The model's min_runtime_version: the latest runtime any of its (op, version) pairs needs.
static const char *min_runtime(const int *codes, const int *versions, int n_codes) {
  const char *v = "1.5.0";
  for (int i = 0; i < n_codes; i++)
    for (size_t k = 0; k < sizeof RUNTIME_VERSIONS / sizeof RUNTIME_VERSIONS[0]; k++)
      if (RUNTIME_VERSIONS[k].code == codes[i] && RUNTIME_VERSIONS[k].version == versions[i] &&
          version_less(v, RUNTIME_VERSIONS[k].runtime))
        v = RUNTIME_VERSIONS[k].runtime;
  return v;
}

static eo_fb_ref tensor_map(eo_fb_builder *b, const char *name, uint32_t idx) {
  eo_fb_ref s = eo_fb_string(b, name);
  eo_fb_table_start(b);
  eo_fb_add_ref(b, TENSORMAP_NAME, s);
  eo_fb_add_u32(b, TENSORMAP_INDEX, idx, 0);
  return eo_fb_table_end(b);
}

static eo_status serialize(tfl_ctx *c, eo_fb_builder *b, const int *in_t, int n_in, const int *out_t, int n_out) {
  // Operator codes: one per distinct builtin, in first-use order, at the highest version used.
  int codes[64], versions[64], n_codes = 0, opcode_of[256];
  memset(opcode_of, -1, sizeof opcode_of);
  for (int i = 0; i < c->no; i++) {
    int code = c->o[i].code, v = op_version(c, &c->o[i]);
    if (opcode_of[code] < 0) {
      if (n_codes == 64) return eo_error(EO_ERR_UNSUPPORTED, "more than 64 distinct TFLite ops");
      opcode_of[code] = n_codes, codes[n_codes] = code, versions[n_codes++] = v;
    } else if (v > versions[opcode_of[code]]) {
      versions[opcode_of[code]] = v;
    }
  }
  // The min_runtime_version metadata buffer: the version string zero-padded to 16 bytes.
  uint8_t *mv = eo_calloc(16, 1);
  if (!mv) return nomem();
  const char *rt = min_runtime(codes, versions, n_codes);
  memcpy(mv, rt, strlen(rt));
  uint32_t meta_buf = 0;
  TRY(add_buffer(c, mv, 16, &meta_buf));
  size_t nref = (size_t)(c->nb > c->nt ? c->nb : c->nt);
  if ((size_t)c->no > nref) nref = (size_t)c->no;
  eo_fb_ref *refs = eo_calloc(nref + 1, sizeof *refs);
  if (!refs) return nomem();
  // Buffers.
  for (int i = 0; i < c->nb; i++) {
    eo_fb_ref d = c->b[i].n ? eo_fb_vector(b, c->b[i].data, 1, c->b[i].n, 16) : 0;
    eo_fb_table_start(b);
    eo_fb_add_ref(b, BUFFER_DATA, d);
    refs[i] = eo_fb_table_end(b);
  }
  eo_fb_ref buffers = eo_fb_vector_refs(b, refs, (size_t)c->nb);
  for (int i = 0; i < c->nt; i++) {
    const tfl_tensor *t = &c->t[i];
    eo_fb_ref shape = eo_fb_vector_i32(b, t->shape, (size_t)t->rank), name = eo_fb_string(b, t->name), quant = 0;
    if (t->quant) {
      const tfl_quant *q = &c->q[t->quant - 1];
      eo_fb_ref sc = eo_fb_vector(b, q->scale, 4, (size_t)q->n, 4), zp = eo_fb_vector(b, q->zp, 8, (size_t)q->n, 8);
      eo_fb_table_start(b);
      eo_fb_add_ref(b, QUANT_SCALE, sc);
      eo_fb_add_ref(b, QUANT_ZERO_POINT, zp);
      eo_fb_add_i32(b, QUANT_DIMENSION, q->dim, 0);
      quant = eo_fb_table_end(b);
    }
    eo_fb_table_start(b);
    eo_fb_add_ref(b, TENSOR_SHAPE, shape);
    eo_fb_add_u8(b, TENSOR_TYPE, t->type, 0);
    eo_fb_add_u32(b, TENSOR_BUFFER, t->buffer, 0);
    eo_fb_add_ref(b, TENSOR_NAME, name);
    eo_fb_add_ref(b, TENSOR_QUANTIZATION, quant);
    refs[i] = eo_fb_table_end(b);
  }
  eo_fb_ref tensors = eo_fb_vector_refs(b, refs, (size_t)c->nt);
  for (int i = 0; i < c->no; i++) {
    const tfl_op *o = &c->o[i];
    int32_t io[16];
    for (int k = 0; k < o->n_in; k++) io[k] = o->in[k];
    eo_fb_ref ins = eo_fb_vector_i32(b, io, (size_t)o->n_in);
    for (int k = 0; k < o->n_out; k++) io[k] = o->out[k];
    eo_fb_ref outs = eo_fb_vector_i32(b, io, (size_t)o->n_out);
    eo_fb_ref opts = 0;
    if (o->opt_type) {
      eo_fb_ref vec = o->n_vec ? eo_fb_vector_i32(b, o->vec, (size_t)o->n_vec) : 0;
      eo_fb_table_start(b);
      if (vec) eo_fb_add_ref(b, 0, vec);  // ReshapeOptions.new_shape
      for (int k = 0; k < o->n_f; k++) {
        const tfl_optfield *f = &o->f[k];
        if (f->kind == 0) eo_fb_add_u8(b, f->id, (uint8_t)f->i, 0);
        if (f->kind == 1) eo_fb_add_i32(b, f->id, f->i, f->dflt);
        if (f->kind == 2) eo_fb_add_f32(b, f->id, f->f, 0.0f);
      }
      opts = eo_fb_table_end(b);
    }
    eo_fb_table_start(b);
    eo_fb_add_u32(b, OPERATOR_OPCODE, (uint32_t)opcode_of[o->code], 0);
    eo_fb_add_ref(b, OPERATOR_INPUTS, ins);
    eo_fb_add_ref(b, OPERATOR_OUTPUTS, outs);
    eo_fb_add_u8(b, OPERATOR_OPTIONS_TYPE, o->opt_type, 0);
    eo_fb_add_ref(b, OPERATOR_OPTIONS, opts);
    refs[i] = eo_fb_table_end(b);
  }
  eo_fb_ref operators = eo_fb_vector_refs(b, refs, (size_t)c->no);
  int32_t io[64];
  for (int i = 0; i < n_in; i++) io[i] = in_t[i];
  eo_fb_ref sg_in = eo_fb_vector_i32(b, io, (size_t)n_in);
  for (int i = 0; i < n_out; i++) io[i] = out_t[i];
  eo_fb_ref sg_out = eo_fb_vector_i32(b, io, (size_t)n_out), sg_name = eo_fb_string(b, "main");
  eo_fb_table_start(b);
  eo_fb_add_ref(b, SUBGRAPH_TENSORS, tensors);
  eo_fb_add_ref(b, SUBGRAPH_INPUTS, sg_in);
  eo_fb_add_ref(b, SUBGRAPH_OUTPUTS, sg_out);
  eo_fb_add_ref(b, SUBGRAPH_OPERATORS, operators);
  eo_fb_add_ref(b, SUBGRAPH_NAME, sg_name);
  eo_fb_ref sg = eo_fb_table_end(b);
  eo_fb_ref subgraphs = eo_fb_vector_refs(b, &sg, 1);
  for (int i = 0; i < n_codes; i++) {
    eo_fb_table_start(b);
    eo_fb_add_u8(b, OPCODE_DEPRECATED_BUILTIN, (uint8_t)(codes[i] < 127 ? codes[i] : 127), 0);
    eo_fb_add_i32(b, OPCODE_VERSION, versions[i], 0);  // written explicitly, as the converter does
    eo_fb_add_i32(b, OPCODE_BUILTIN, codes[i], -1);
    refs[i] = eo_fb_table_end(b);
  }
  eo_fb_ref opcodes = eo_fb_vector_refs(b, refs, (size_t)n_codes);
  eo_fb_ref mname = eo_fb_string(b, "min_runtime_version");
  eo_fb_table_start(b);
  eo_fb_add_ref(b, METADATA_NAME, mname);
  eo_fb_add_u32(b, METADATA_BUFFER, meta_buf, 0);
  eo_fb_ref meta = eo_fb_table_end(b);
  eo_fb_ref metadata = eo_fb_vector_refs(b, &meta, 1);
  // Signature "serving_default": the graph's inputs and outputs by their ONNX names.
  for (int i = 0; i < n_in; i++) refs[i] = tensor_map(b, c->t[in_t[i]].name, (uint32_t)in_t[i]);
  eo_fb_ref sin = eo_fb_vector_refs(b, refs, (size_t)n_in);
  for (int i = 0; i < n_out; i++) refs[i] = tensor_map(b, c->t[out_t[i]].name, (uint32_t)out_t[i]);
  eo_fb_ref sout = eo_fb_vector_refs(b, refs, (size_t)n_out), key = eo_fb_string(b, "serving_default");
  eo_fb_table_start(b);
  eo_fb_add_ref(b, SIGDEF_INPUTS, sin);
  eo_fb_add_ref(b, SIGDEF_OUTPUTS, sout);
  eo_fb_add_ref(b, SIGDEF_KEY, key);
  eo_fb_add_u32(b, SIGDEF_SUBGRAPH, 0, 1);
  eo_fb_ref sig = eo_fb_table_end(b);
  eo_fb_ref sigs = eo_fb_vector_refs(b, &sig, 1);
  char desc[128];
  snprintf(desc, sizeof desc, "edgeopt %s TFLite export (%s)", EO_VERSION_STRING,
           c->mode == EO_TFLITE_FP16 ? "fp16" : c->mode == EO_TFLITE_INT8 ? "int8" :
           c->mode == EO_TFLITE_DYNAMIC ? "dynamic range" : "fp32");
  eo_fb_ref dstr = eo_fb_string(b, desc);
  eo_fb_table_start(b);
  eo_fb_add_u32(b, MODEL_VERSION, 3, 0);
  eo_fb_add_ref(b, MODEL_OPCODES, opcodes);
  eo_fb_add_ref(b, MODEL_SUBGRAPHS, subgraphs);
  eo_fb_add_ref(b, MODEL_DESCRIPTION, dstr);
  eo_fb_add_ref(b, MODEL_BUFFERS, buffers);
  eo_fb_add_ref(b, MODEL_METADATA, metadata);
  eo_fb_add_ref(b, MODEL_SIGNATURE_DEFS, sigs);
  eo_fb_ref model = eo_fb_table_end(b);
  eo_fb_finish(b, model, "TFL3");
  free(refs);
  if (b->too_big) return too_big(b->max_size);
  if (b->failed) return nomem();
  return EO_OK;
}

// Temporary file in the same folder (0666 & umask, like any new file), then rename.
static void ctx_free(tfl_ctx *c) {
  for (int i = 0; i < c->nt; i++) free(c->t[i].name);
  for (int i = 0; i < c->nb; i++) free(c->b[i].data);
  for (int i = 0; i < c->nq; i++) free(c->q[i].scale), free(c->q[i].zp);
  for (int i = 0; i < c->ndq; i++) free(c->dq[i].name), free(c->dq[i].q), free(c->dq[i].scale), free(c->dq[i].zp);
  free(c->t), free(c->b), free(c->o), free(c->tmap), free(c->errs), free(c->alias), free(c->q), free(c->dq), free(c->skip);
}

static eo_status note_refusal(tfl_ctx *c, const eo_node *n) {
  char line[768];
  int len = snprintf(line, sizeof line, "\n  node '%s' (%s): %s", n->name, n->op_type, eo_last_error());
  if (len < 0) return EO_OK;
  if ((size_t)len >= sizeof line) len = (int)sizeof line - 1;
  char *e = eo_realloc(c->errs, c->errs_len + (size_t)len + 1);
  if (!e) return nomem();
  memcpy(e + c->errs_len, line, (size_t)len + 1);
  c->errs = e;
  c->errs_len += (size_t)len;
  c->n_errs++;
  return EO_OK;
}

// A lower bound of the file's size known before laying it out: every buffer's data and length.
static uint64_t size_lower_bound(const tfl_ctx *c) {
  uint64_t n = 0;
  for (int i = 0; i < c->nb; i++) n += c->b[i].n ? (uint64_t)c->b[i].n + 4 : 0;
  return n;
}

eo_status eo_export_tflite(const eo_model *m, const eo_tflite_options *opts, const char *path) {
  return eo_export_tflite_limit(m, opts, path, EO_FB_MAX_SIZE);
}

eo_status eo_export_tflite_limit(const eo_model *m, const eo_tflite_options *opts, const char *path, size_t limit) {
  if (!m || !path) return eo_error(EO_ERR_INVALID, "eo_export_tflite: model and path are required");
  if (limit > EO_FB_MAX_SIZE) limit = EO_FB_MAX_SIZE;
  eo_tflite_options o = opts ? *opts : (eo_tflite_options){0};
  if (o.mode < EO_TFLITE_FP32 || o.mode > EO_TFLITE_DYNAMIC)
    return eo_error(EO_ERR_INVALID, "eo_export_tflite: unknown mode %d", o.mode);
  if (o.io_type < EO_TFLITE_IO_FLOAT32 || o.io_type > EO_TFLITE_IO_UINT8)
    return eo_error(EO_ERR_INVALID, "eo_export_tflite: unknown io_type %d", o.io_type);
  if (o.io_type != EO_TFLITE_IO_FLOAT32 && o.mode != EO_TFLITE_INT8)
    return eo_error(EO_ERR_INVALID, "eo_export_tflite: int8/uint8 inputs and outputs need the int8 mode");
  if (o.batch <= 0) o.batch = 1;
  if (!m->runnable) return eo_error(EO_ERR_UNSUPPORTED, "%s: the model has ops edgeopt does not run", m->path);
  eo_graph g;
  eo_status st = eo_graph_clone(&m->graph, &g);
  if (st) return st;
  tfl_ctx c = {.g = &g, .mode = o.mode, .io = o.io_type};
  int *order = NULL, n_order = 0, in_t[64], out_t[64];
  // Symbolic leading dims take the batch size; any other symbolic dim has no concrete value.
  for (int i = 0; i < g.n_inputs; i++) {
    eo_tensor *t = &g.tensors[g.inputs[i]];
    for (int d = 0; d < t->rank; d++)
      if (t->dims[d] < 0 || t->dim_param[d]) {
        if (d != 0) {
          st = eo_error(EO_ERR_SHAPE, "%s: input '%s' dim %d is symbolic ('%s'); TFLite export needs concrete shapes",
                        m->path, t->name, d, t->dim_param[d] ? t->dim_param[d] : "?");
          goto done;
        }
        t->dims[d] = o.batch;
      }
  }
  if (g.n_inputs > 64 || g.n_outputs > 64) {
    st = eo_error(EO_ERR_UNSUPPORTED, "%s: more than 64 graph inputs or outputs", m->path);
    goto done;
  }
  if (o.mode == EO_TFLITE_FP32 || o.mode == EO_TFLITE_FP16) {
    st = eo_passes_run_default(&g, NULL);
  } else {
    // No QDQ -> QLinearConv fusion: the Q/DQ structure is what INT8 maps; DQ constants become
    // float32 constants plus integer records. INT8 keeps Relu/Clip as nodes (they fold into the
    // int8 op's clamp); DYNAMIC fuses them like FP32.
    if (!(st = eo_pass_remove_identity(&g, NULL)) && !(st = eo_pass_fold_constants(&g, NULL)) && !(st = collect_dq(&c)) &&
        o.mode == EO_TFLITE_DYNAMIC && !(st = eo_pass_fold_batchnorm(&g, NULL)))
      st = eo_pass_fuse_activation(&g, NULL);
    if (!st && !(st = eo_pass_dce(&g, NULL))) st = eo_graph_compact(&g);
  }
  if (st || (st = eo_graph_infer(&g, EO_INFER_FOLD, NULL))) goto done;
  if (o.mode == EO_TFLITE_INT8 || o.mode == EO_TFLITE_DYNAMIC) {
    bool any_q = false;
    for (int i = 0; i < g.n_nodes; i++) any_q |= !g.nodes[i].dead && g.nodes[i].op == EO_OP_QUANTIZE_LINEAR;
    if (o.mode == EO_TFLITE_INT8 && !any_q) {
      st = eo_error(EO_ERR_UNSUPPORTED, "%s: the int8 mode exports a static-INT8 QDQ model (edgeopt quantize --mode "
                    "int8); this model has no QuantizeLinear", m->path);
      goto done;
    }
    if (o.mode == EO_TFLITE_DYNAMIC && any_q) {
      st = eo_error(EO_ERR_UNSUPPORTED, "%s: the dynamic mode takes an FP32 or weight-int8 model; this one quantizes "
                    "activations (QuantizeLinear): export it with --mode int8", m->path);
      goto done;
    }
  }
  if (!(c.tmap = eo_malloc((size_t)g.n_tensors * sizeof(int) + 1)) ||
      !(order = eo_calloc((size_t)g.n_nodes + 1, sizeof(int)))) {
    st = nomem();
    goto done;
  }
  for (int i = 0; i < g.n_tensors; i++) c.tmap[i] = -1;
  if ((st = eo_graph_topo_order(&g, order, &n_order))) goto done;
  // Buffer 0 is the empty sentinel every data-less tensor points to.
  uint32_t b0 = 0;
  if ((st = add_buffer(&c, NULL, 0, &b0))) goto done;
  bool *alias = c.alias = eo_calloc((size_t)g.n_nodes + 1, sizeof *alias);
  c.skip = eo_calloc((size_t)g.n_nodes + 1, sizeof *c.skip);
  if (!alias || !c.skip) {
    st = nomem();
    goto done;
  }
  for (int i = 0; i < g.n_inputs && !st; i++) {
    c.cur = NULL;
    if (c.io != EO_TFLITE_IO_FLOAT32)
      st = q_input(&c, g.inputs[i], &in_t[i]);
    else if (c.mode == EO_TFLITE_INT8 && nhwc_qdq_input(&c, g.inputs[i])) {
      const eo_tensor *x = &g.tensors[g.inputs[i]];
      if (!(st = add_tensor(&c, x->name, 4, x->dims, TFL_FLOAT32, NULL, 0, &in_t[i]))) c.tmap[g.inputs[i]] = in_t[i];
    } else if (!nhwc_input(&c, g.inputs[i], alias, &in_t[i]))
      st = output_of(&c, g.inputs[i], &in_t[i]);
  }
  if (st) {
    if (c.io != EO_TFLITE_IO_FLOAT32) st = eo_error_wrap(st, "%s", m->path);
    goto done;
  }
  for (int k = 0; k < n_order; k++) {
    const eo_node *n = &g.nodes[order[k]];
    c.cur = n;
    if (c.skip[order[k]]) continue;  // folded into an int8 op or an int8/uint8 input
    if (alias[order[k]]) {  // NHWC input -> NCHW Transpose: the stored layout already is the input's
      c.tmap[n->out[0]] = c.tmap[n->in[0]];
      continue;
    }
    st = c.mode == EO_TFLITE_INT8 ? convert_int8(&c, order[k]) : convert_node(&c, n);
    if (st == EO_ERR_UNSUPPORTED || st == EO_ERR_SHAPE) {
      if ((st = note_refusal(&c, n))) goto done;
      // Downstream nodes still get checked: give this node's outputs placeholder tensors.
      for (int j = 0; j < n->n_out; j++)
        if (n->out[j] >= 0 && c.tmap[n->out[j]] < 0) {
          int64_t zero[1] = {0};
          if ((st = add_tensor(&c, g.tensors[n->out[j]].name, 0, zero, TFL_FLOAT32, NULL, 0, &c.tmap[n->out[j]])))
            goto done;
        }
    } else if (st) {
      goto done;
    }
  }
  if (c.n_errs) {
    st = eo_error(EO_ERR_UNSUPPORTED, "%s: %d node%s cannot be exported to TFLite (nothing written):%s", m->path,
                  c.n_errs, c.n_errs > 1 ? "s" : "", c.errs);
    goto done;
  }
  for (int i = 0; i < g.n_outputs; i++) {
    int t = g.outputs[i];
    if (c.tmap[t] < 0) {  // an output that is an input or a constant
      st = eo_error(EO_ERR_UNSUPPORTED, "%s: graph output '%s' is not computed by any node", m->path,
                    g.tensors[t].name);
      goto done;
    }
    if (c.mode == EO_TFLITE_INT8) {
      if ((st = q_output(&c, t, &out_t[i]))) {
        st = eo_error_wrap(st, "%s", m->path);
        goto done;
      }
    } else {
      out_t[i] = c.tmap[t];
    }
  }
  // The size limit is checked twice before anything is written: a lower bound first (no 2 GiB
  // buffer built to learn it is too big), then the builder's exact size.
  if (size_lower_bound(&c) > limit) {
    st = eo_error_wrap(too_big(limit), "%s", m->path);
    goto done;
  }
  eo_fb_builder b;
  eo_fb_init(&b);
  eo_fb_set_limit(&b, limit);
  st = serialize(&c, &b, in_t, g.n_inputs, out_t, g.n_outputs);
  if (st) st = eo_error_wrap(st, "%s", m->path);
  if (!st) {
    size_t n;
    const uint8_t *data = eo_fb_data(&b, &n);
    st = eo_write_file_atomic(path, data, n);
  }
  eo_fb_free(&b);
done:
  free(order);
  ctx_free(&c);
  eo_graph_free(&g);
  return st;
}
