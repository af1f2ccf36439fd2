/* QLinearAdd and QLinearMul (com.microsoft, ONNX Runtime's contrib ops; also what the fuse_qdq_ops pass
 * makes of DQ -> Add/Mul -> Q groups): C = quantize(dequantize(A) op dequantize(B)) with numpy
 * broadcasting and ORT's float32 arithmetic (kernels/ref/qlinear_kernels.h). Inputs: A, A_scale,
 * A_zero_point, B, B_scale, B_zero_point, C_scale, C_zero_point (zero points optional); A, B and C
 * int8 or uint8 of one dtype, parameters per tensor. AVX2 rows when available (AVX-512 for Mul), else the
 * reference. A Mul row with one operand broadcast (the squeeze-excite [N,C,H,W] x [N,C,1,1] scaling)
 * is a function of the other operand's code alone: long rows build that function's 256-entry table
 * with the same row kernel (so the bytes are the kernel's) and look the row up in it, where the CPU
 * has AVX-512 VBMI's 64-byte lookups. */
#include "core/cpu.h"
#include "core/threads.h"
#include "runtime/broadcast.h"
#include "runtime/kernels/ref/qlinear_kernels.h"
#include "runtime/ops/qlinear_util.h"

enum { IA, IAS, IAZ, IB, IBS, IBZ, ICS, ICZ };

typedef void (*qbin_row_fn)(const eo_qbin_params *, int64_t, const uint8_t *, int64_t, const uint8_t *, int64_t,
                            uint8_t *);

static eo_status qbin_infer(eo_op_ctx *c) {
  const eo_tview *a = eo_ql_in(c, IA), *b = eo_ql_in(c, IB);
  if (!a || !b || c->n_out < 1 || !c->out[0]) return eo_op_error(c, EO_ERR_INVALID, "needs inputs A and B and output C");
  if (!eo_ql_is_q8(a->dtype) || b->dtype != a->dtype)
    return eo_op_error(c, EO_ERR_SHAPE, "A and B must be both int8 or both uint8, got %s and %s",
                       eo_dtype_name(a->dtype), eo_dtype_name(b->dtype));
  eo_status st;
  if ((st = eo_ql_check(c, IAS, IAZ, a->dtype, "A")) || (st = eo_ql_check(c, IBS, IBZ, a->dtype, "B")) ||
      (st = eo_ql_check(c, ICS, ICZ, a->dtype, "C")))
    return st;
  int rank;
  int64_t dims[EO_MAX_RANK];
  if ((st = eo_broadcast_shape(c, a->rank, a->dims, b->rank, b->dims, &rank, dims))) return st;
  eo_tview_set_shape(c->out[0], a->dtype, rank, dims);
  return EO_OK;
}

/* Shortest broadcast Mul row looked up in a table: building it costs a 256-element row, the lookup
 * a fifth of the arithmetic per element at 3136 (56 x 56). Measured per element against the AVX-512
 * broadcast rows: 1.15x slower at 256, 1.2x faster at 392, 1.5x at 512, 4.6x at 3136. */
#define QMUL_LUT_MIN_ROW 384

typedef struct qbin_state {
  qbin_row_fn row;
  eo_q8_lut_fn lut; /* broadcast Mul rows through a table (VBMI lookups), else NULL */
  uint8_t codes[256];
} qbin_state;

static eo_status qbin_prepare(eo_op_ctx *c) {
  // state: the row kernel, picked once
  bool add = c->node->op == EO_OP_QLINEAR_ADD;
  bool fast = !c->force_ref && eo_cpu_isa() >= EO_ISA_AVX2;
  qbin_row_fn fn = add ? (fast ? eo_q8_add_row__avx2 : eo_q8_add_row__ref) : (fast ? eo_q8_mul_row__avx2 : eo_q8_mul_row__ref);
  if (!add && fast && eo_cpu_isa() >= EO_ISA_AVX512) fn = eo_q8_mul_row__avx512;
  qbin_state *s = eo_malloc(sizeof *s);
  if (!s) return eo_op_error(c, EO_ERR_NOMEM, "out of memory");
  s->row = fn;
  eo_q8_lut_fn lut = eo_q8_lut_pick(c->force_ref);
  s->lut = !add && fast && lut == eo_q8_lut_apply__avx512vbmi ? lut : NULL;
  for (int i = 0; i < 256; i++) s->codes[i] = (uint8_t)i;
  c->state = s;
  return EO_OK;
}

/* One output row. A broadcast Mul row: table[code] = the row kernel's result for that code of the
 * stride-1 operand (int8 codes are indexed by their byte, as the lookup reads them). */
static inline void qbin_row(const qbin_state *s, const eo_qbin_params *p, int64_t n, const uint8_t *a, int64_t sa,
                            const uint8_t *b, int64_t sb, uint8_t *y) {
  if (s->lut && n >= QMUL_LUT_MIN_ROW && sa != sb) {
    uint8_t t[256];
    if (sb == 0) {
      s->row(p, 256, s->codes, 1, b, 0, t);
      s->lut(t, n, a, y);
    } else {
      s->row(p, 256, a, 0, s->codes, 1, t);
      s->lut(t, n, b, y);
    }
    return;
  }
  s->row(p, n, a, sa, b, sb, y);
}

static void qbin_release(void *state) { free(state); }

/* Large outputs are split across the pool by rows: a serial pass over data the other core has just
 * written is slow at 2 threads (see quantize_linear.c). Rows are independent, so any split gives
 * the same bytes. */
#define QBIN_TASK_ELEMS 16384

typedef struct qbin_job {
  const qbin_state *s;
  const eo_qbin_params *p;
  const eo_broadcast *bc;
  const uint8_t *a, *b;
  uint8_t *y;
  int64_t rows, rows_per_task;
} qbin_job;

static void qbin_task(void *ctx, size_t index, int worker) {
  (void)worker;
  const qbin_job *J = ctx;
  const eo_broadcast *bc = J->bc;
  const int64_t r0 = (int64_t)index * J->rows_per_task, r1 = r0 + J->rows_per_task < J->rows ? r0 + J->rows_per_task : J->rows;
  for (int64_t r = r0; r < r1; r++) {
    int64_t oa = 0, ob = 0, q = r;  // the row's input offsets: unravel its index over the outer dims
    for (int d = bc->rank - 2; d >= 0; d--) {
      int64_t ix = q % bc->dims[d];
      q /= bc->dims[d];
      oa += ix * bc->strides[0][d];
      ob += ix * bc->strides[1][d];
    }
    qbin_row(J->s, J->p, bc->row, J->a + oa, bc->row_stride[0], J->b + ob, bc->row_stride[1], J->y + r * bc->row);
  }
}

static void qbin_forward(eo_op_ctx *c) {
  const qbin_state *s = c->state;
  eo_qbin_params p = {.s8 = c->in[IA]->dtype == EO_INT8,
                      .a_scale = eo_ql_scale(c, IAS), .b_scale = eo_ql_scale(c, IBS), .c_scale = eo_ql_scale(c, ICS),
                      .a_zp = eo_ql_zp(c, IAZ), .b_zp = eo_ql_zp(c, IBZ), .c_zp = eo_ql_zp(c, ICZ)};
  eo_qbin_params_finish(&p);
  eo_broadcast bc;
  eo_broadcast_init(&bc, c->out[0], 2, (const eo_tview *[]){c->in[IA], c->in[IB]});
  const uint8_t *a = c->in[IA]->data, *b = c->in[IB]->data;
  uint8_t *y = c->out[0]->data;
  if (bc.row > 0 && bc.numel >= 2 * QBIN_TASK_ELEMS && eo_threadpool_size(c->pool) > 1) {
    int64_t per = (QBIN_TASK_ELEMS + bc.row - 1) / bc.row;
    qbin_job J = {s, &p, &bc, a, b, y, bc.numel / bc.row, per};
    eo_threadpool_run(c->pool, (size_t)((J.rows + per - 1) / per), qbin_task, &J);
    return;
  }
  eo_bcast_iter it;
  for (eo_broadcast_begin(&it, &bc); it.rows_left > 0; eo_broadcast_next(&it))
    qbin_row(s, &p, bc.row, a + it.off[0], bc.row_stride[0], b + it.off[1], bc.row_stride[1], y + it.out_off);
}

EO_DEFINE_OP(qlinear_add, .name = "QLinearAdd", .infer = qbin_infer, .prepare = qbin_prepare, .forward = qbin_forward,
             .release = qbin_release);
EO_DEFINE_OP(qlinear_mul, .name = "QLinearMul", .infer = qbin_infer, .prepare = qbin_prepare, .forward = qbin_forward,
             .release = qbin_release);
