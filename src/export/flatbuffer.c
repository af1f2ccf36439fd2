/* FlatBuffers builder and reader; see flatbuffer.h for the format. */
#include "export/flatbuffer.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

#include "core/core.h"

// The format's scalar widths; floats are stored as their IEEE-754 bits.
static_assert(sizeof(float) == 4 && sizeof(uint32_t) == 4, "32-bit float expected");
static_assert(CHAR_BIT == 8, "8-bit bytes expected");

#define FB_MAX_SIZE EO_FB_MAX_SIZE

void eo_fb_init(eo_fb_builder *b) {
  memset(b, 0, sizeof *b);
  b->minalign = 4;
  b->max_size = FB_MAX_SIZE;
}

void eo_fb_set_limit(eo_fb_builder *b, size_t max_size) {
  b->max_size = max_size < FB_MAX_SIZE ? max_size : FB_MAX_SIZE;
}

void eo_fb_free(eo_fb_builder *b) {
  free(b->buf);
  memset(b, 0, sizeof *b);
}

static bool reserve(eo_fb_builder *b, size_t need) {
  if (b->failed) return false;
  if (need > b->max_size || b->size + need > b->max_size) {
    b->failed = b->too_big = true;
    return false;
  }
  if (b->cap - b->size >= need) return true;
  size_t cap = b->cap ? b->cap : 1024;
  while (cap - b->size < need) cap *= 2;
  uint8_t *nb = eo_malloc(cap);
  if (!nb) {
    b->failed = true;
    return false;
  }
  // Data sits at the end: move it to the end of the new block.
  if (b->size) memcpy(nb + cap - b->size, b->buf + b->cap - b->size, b->size);
  free(b->buf);
  b->buf = nb;
  b->cap = cap;
  return true;
}

static void push(eo_fb_builder *b, const void *p, size_t n) {
  if (!n || !reserve(b, n)) return;
  b->size += n;
  memcpy(b->buf + b->cap - b->size, p, n);
}

static void pad(eo_fb_builder *b, size_t n) {
  if (!n || !reserve(b, n)) return;
  b->size += n;
  memset(b->buf + b->cap - b->size, 0, n);
}

// Pads so that after `len` more bytes the size is a multiple of `a` (a power of two).
static void align(eo_fb_builder *b, size_t len, size_t a) {
  if (a > b->minalign) b->minalign = a;
  pad(b, (a - ((b->size + len) & (a - 1))) & (a - 1));
}

static void push_u32(eo_fb_builder *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  push(b, x, 4);
}

static void push_u16(eo_fb_builder *b, uint16_t v) {
  uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
  push(b, x, 2);
}

eo_fb_ref eo_fb_string(eo_fb_builder *b, const char *s) {
  size_t n = strlen(s);
  if (b->in_table) b->failed = true;
  align(b, n + 1, 4);
  pad(b, 1);
  push(b, s, n);
  push_u32(b, (uint32_t)n);
  return b->failed ? 0 : (eo_fb_ref)b->size;
}

eo_fb_ref eo_fb_vector(eo_fb_builder *b, const void *data, size_t elem_size, size_t n, size_t a) {
  size_t bytes;
  if (b->in_table || !eo_mul_size(elem_size, n, &bytes) || n > UINT32_MAX) b->failed = true;
  if (!b->failed && bytes > b->max_size) b->failed = b->too_big = true;
  if (b->failed) return 0;
  align(b, bytes, a < 4 ? 4 : a);
  push(b, data, bytes);
  push_u32(b, (uint32_t)n);
  return b->failed ? 0 : (eo_fb_ref)b->size;
}

eo_fb_ref eo_fb_vector_i32(eo_fb_builder *b, const int32_t *v, size_t n) {
  if (b->in_table) b->failed = true;
  align(b, 4 * n, 4);
  for (size_t i = n; i-- > 0;) push_u32(b, (uint32_t)v[i]);
  push_u32(b, (uint32_t)n);
  return b->failed ? 0 : (eo_fb_ref)b->size;
}

eo_fb_ref eo_fb_vector_refs(eo_fb_builder *b, const eo_fb_ref *refs, size_t n) {
  if (b->in_table) b->failed = true;
  align(b, 4 * n, 4);
  for (size_t i = n; i-- > 0;) {
    if (refs[i] == 0 || refs[i] > b->size + 4) b->failed = true;
    push_u32(b, (uint32_t)(b->size + 4 - refs[i]));  // relative to this element's own position
  }
  push_u32(b, (uint32_t)n);
  return b->failed ? 0 : (eo_fb_ref)b->size;
}

void eo_fb_table_start(eo_fb_builder *b) {
  if (b->in_table) b->failed = true;
  b->in_table = true;
  b->table_start = b->size;
  b->n_fields = 0;
}

static void record(eo_fb_builder *b, int id) {
  if (!b->in_table || id < 0 || id >= EO_FB_MAX_FIELDS || b->n_fields == EO_FB_MAX_FIELDS) {
    b->failed = true;
    return;
  }
  b->field_id[b->n_fields] = (uint16_t)id;
  b->field_pos[b->n_fields++] = (uint32_t)b->size;
}

static void add_scalar(eo_fb_builder *b, int id, const uint8_t *le, size_t n) {
  align(b, n, n);
  push(b, le, n);
  record(b, id);
}

void eo_fb_add_u8(eo_fb_builder *b, int id, uint8_t v, uint8_t dflt) {
  if (v != dflt) add_scalar(b, id, &v, 1);
}

void eo_fb_add_u32(eo_fb_builder *b, int id, uint32_t v, uint32_t dflt) {
  if (v == dflt) return;
  uint8_t x[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
  add_scalar(b, id, x, 4);
}

void eo_fb_add_i32(eo_fb_builder *b, int id, int32_t v, int32_t dflt) {
  if (v != dflt) eo_fb_add_u32(b, id, (uint32_t)v, (uint32_t)v + 1);
}

void eo_fb_add_f32(eo_fb_builder *b, int id, float v, float dflt) {
  uint32_t u, d;
  memcpy(&u, &v, 4);
  memcpy(&d, &dflt, 4);
  if (u != d) eo_fb_add_u32(b, id, u, u + 1);
}

void eo_fb_add_u64(eo_fb_builder *b, int id, uint64_t v, uint64_t dflt) {
  if (v == dflt) return;
  uint8_t x[8];
  for (int i = 0; i < 8; i++) x[i] = (uint8_t)(v >> (8 * i));
  add_scalar(b, id, x, 8);
}

void eo_fb_add_struct(eo_fb_builder *b, int id, const void *data, size_t size, size_t a) {
  align(b, size, a);
  push(b, data, size);
  record(b, id);
}

void eo_fb_add_ref(eo_fb_builder *b, int id, eo_fb_ref ref) {
  if (!ref) return;
  align(b, 4, 4);
  if (ref > b->size + 4) b->failed = true;
  push_u32(b, (uint32_t)(b->size + 4 - ref));
  record(b, id);
}

eo_fb_ref eo_fb_table_end(eo_fb_builder *b) {
  if (!b->in_table) b->failed = true;
  b->in_table = false;
  if (b->failed) return 0;
  align(b, 4, 4);
  push_u32(b, 0);  // soffset to the vtable, patched below
  size_t table = b->size;
  int n_slots = 0;
  uint16_t slots[EO_FB_MAX_FIELDS] = {0};
  for (int i = 0; i < b->n_fields; i++) {
    int id = b->field_id[i];
    size_t off = table - b->field_pos[i];
    if (slots[id] || off > UINT16_MAX) b->failed = true;  // a field set twice, or a table over 64 KiB
    slots[id] = (uint16_t)off;
    if (id + 1 > n_slots) n_slots = id + 1;
  }
  size_t inline_size = table - b->table_start;
  if (inline_size > UINT16_MAX) b->failed = true;
  if (b->failed) return 0;
  // Written back to front: the last slot first, the vtable size last.
  for (int i = n_slots; i-- > 0;) push_u16(b, slots[i]);
  push_u16(b, (uint16_t)inline_size);
  push_u16(b, (uint16_t)(4 + 2 * n_slots));
  if (b->failed) return 0;
  uint32_t soff = (uint32_t)(b->size - table);  // table address minus vtable address
  uint8_t *p = b->buf + b->cap - table;
  for (int i = 0; i < 4; i++) p[i] = (uint8_t)(soff >> (8 * i));
  return (eo_fb_ref)table;
}

void eo_fb_finish(eo_fb_builder *b, eo_fb_ref root, const char *ident) {
  if (b->in_table || !root) b->failed = true;
  align(b, ident ? 8 : 4, b->minalign);
  if (ident) push(b, ident, 4);
  push_u32(b, (uint32_t)(b->size + 4 - root));
}

const uint8_t *eo_fb_data(const eo_fb_builder *b, size_t *size) {
  *size = b->failed ? 0 : b->size;
  return b->failed || !b->buf ? NULL : b->buf + b->cap - b->size;
}

/* ---- reader ---- */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }

uint32_t eo_fb_root(eo_fb_view v, const char *ident) {
  if (v.n < 8 || v.n > FB_MAX_SIZE) return 0;
  if (ident && memcmp(v.p + 4, ident, 4) != 0) return 0;
  uint32_t r = eo_fb_rd_u32(v.p);
  return (uint64_t)r + 4 <= v.n && r >= 4 ? r : 0;
}

uint32_t eo_fb_field(eo_fb_view v, uint32_t t, int id, size_t size) {
  if (!t || (uint64_t)t + 4 > v.n) return 0;
  int64_t vt = (int64_t)t - (int32_t)eo_fb_rd_u32(v.p + t);
  if (vt < 0 || vt + 4 > (int64_t)v.n) return 0;
  uint16_t vsize = rd16(v.p + vt), tsize = rd16(v.p + vt + 2);
  if (vt + vsize > (int64_t)v.n || (uint64_t)t + tsize > v.n) return 0;
  size_t slot = 4 + 2 * (size_t)id;
  if (id < 0 || slot + 2 > vsize) return 0;
  uint16_t off = rd16(v.p + vt + slot);
  if (!off || off + size > tsize) return 0;
  return t + off;
}

uint8_t eo_fb_get_u8(eo_fb_view v, uint32_t t, int id, uint8_t dflt) {
  uint32_t f = eo_fb_field(v, t, id, 1);
  return f ? v.p[f] : dflt;
}

uint32_t eo_fb_get_u32(eo_fb_view v, uint32_t t, int id, uint32_t dflt) {
  uint32_t f = eo_fb_field(v, t, id, 4);
  return f ? eo_fb_rd_u32(v.p + f) : dflt;
}

int32_t eo_fb_get_i32(eo_fb_view v, uint32_t t, int id, int32_t dflt) {
  return (int32_t)eo_fb_get_u32(v, t, id, (uint32_t)dflt);
}

float eo_fb_get_f32(eo_fb_view v, uint32_t t, int id, float dflt) {
  uint32_t d, u;
  memcpy(&d, &dflt, 4);
  u = eo_fb_get_u32(v, t, id, d);
  float f;
  memcpy(&f, &u, 4);
  return f;
}

uint64_t eo_fb_get_u64(eo_fb_view v, uint32_t t, int id, uint64_t dflt) {
  uint32_t f = eo_fb_field(v, t, id, 8);
  if (!f) return dflt;
  return (uint64_t)eo_fb_rd_u32(v.p + f) | (uint64_t)eo_fb_rd_u32(v.p + f + 4) << 32;
}

static uint32_t follow(eo_fb_view v, uint32_t pos) {
  uint64_t target = (uint64_t)pos + eo_fb_rd_u32(v.p + pos);
  return target + 4 <= v.n ? (uint32_t)target : 0;
}

uint32_t eo_fb_get_ref(eo_fb_view v, uint32_t t, int id) {
  uint32_t f = eo_fb_field(v, t, id, 4);
  return f ? follow(v, f) : 0;
}

bool eo_fb_vec(eo_fb_view v, uint32_t vec, size_t elem_size, uint32_t *count, uint32_t *data) {
  if (!vec || (uint64_t)vec + 4 > v.n) return false;
  uint32_t c = eo_fb_rd_u32(v.p + vec);
  if ((uint64_t)vec + 4 + (uint64_t)c * elem_size > v.n) return false;
  *count = c;
  *data = vec + 4;
  return true;
}

uint32_t eo_fb_vec_ref(eo_fb_view v, uint32_t data, uint32_t i) {
  uint64_t pos = (uint64_t)data + 4 * (uint64_t)i;
  return pos + 4 <= v.n ? follow(v, (uint32_t)pos) : 0;
}

const char *eo_fb_str(eo_fb_view v, uint32_t s, uint32_t *len) {
  uint32_t n, d;
  if (!eo_fb_vec(v, s, 1, &n, &d) || (uint64_t)d + n >= v.n || v.p[d + n] != 0) return NULL;
  *len = n;
  return (const char *)v.p + d;
}
