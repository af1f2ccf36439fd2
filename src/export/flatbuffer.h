/* A small FlatBuffers builder and reader (the binary format of TFLite files), written from the
 * FlatBuffers format specification: Debian ships no flatcc, and TFLite needs only tables, vectors,
 * strings and unions.
 *
 * Format recap (all little-endian): a buffer opens with a uoffset (u32) to the root table,
 * optionally followed by a 4-byte file identifier. A table opens with an soffset (i32): the
 * table's address minus its vtable's. A vtable is u16 [vtable bytes, table inline bytes,
 * field offsets...] (0 = field absent, reader uses the default). Strings and vectors are a u32
 * length then the elements (strings NUL-terminated); references to them are uoffsets relative to
 * the referring field, always pointing forward.
 *
 * The builder writes back to front, as the reference implementation does, so every reference
 * points forward: children (strings, vectors, sub-tables) are created before the table that
 * refers to them, and only one table is open at a time.
 *
 *     eo_fb_builder b;
 *     eo_fb_init(&b);
 *     eo_fb_ref name = eo_fb_string(&b, "main");
 *     eo_fb_table_start(&b);
 *     eo_fb_add_ref(&b, 4, name);      // field id 4
 *     eo_fb_add_u32(&b, 0, 7, 0);      // field id 0, value 7, default 0 (omitted when equal)
 *     eo_fb_ref root = eo_fb_table_end(&b);
 *     eo_fb_finish(&b, root, "TFL3");
 *     if (b.failed) ...                // allocation failure or misuse, sticky
 *     size_t n; const uint8_t *bytes = eo_fb_data(&b, &n);
 *     eo_fb_free(&b);
 */
#ifndef EO_EXPORT_FLATBUFFER_H
#define EO_EXPORT_FLATBUFFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A created object: its distance from the end of the buffer (0 = none). */
typedef uint32_t eo_fb_ref;

#define EO_FB_MAX_FIELDS 64
/* Largest buffer FlatBuffers can address: offsets are 32-bit signed (flatbuffers'
 * FLATBUFFERS_MAX_BUFFER_SIZE, 2^31 - 1 bytes), so TFLite files stop just under 2 GiB. */
#define EO_FB_MAX_SIZE ((size_t)INT32_MAX)

typedef struct eo_fb_builder {
  uint8_t *buf;        /* data lives in buf[cap - size, cap) */
  size_t cap, size;
  size_t minalign;     /* largest alignment requested; the finished buffer's size is a multiple */
  bool failed;         /* sticky: allocation failure, misuse, or a buffer over max_size */
  bool too_big;        /* failed because the buffer would exceed max_size (not out of memory) */
  size_t max_size;     /* EO_FB_MAX_SIZE unless lowered with eo_fb_set_limit */
  bool in_table;
  size_t table_start;  /* size when the open table started */
  int n_fields;
  uint16_t field_id[EO_FB_MAX_FIELDS];
  uint32_t field_pos[EO_FB_MAX_FIELDS];
} eo_fb_builder;

void eo_fb_init(eo_fb_builder *b);
/* Lowers the size limit (bytes, at most EO_FB_MAX_SIZE): a buffer that would grow past it fails with
 * too_big set. Lets callers and tests check the 2 GiB rule without building 2 GiB. */
void eo_fb_set_limit(eo_fb_builder *b, size_t max_size);
void eo_fb_free(eo_fb_builder *b);

eo_fb_ref eo_fb_string(eo_fb_builder *b, const char *s);
/* A vector of n scalars or structs of elem_size bytes each, already little-endian; `align` is the
 * alignment of the element data (at least elem_size for scalars; 16 for TFLite buffer data). */
eo_fb_ref eo_fb_vector(eo_fb_builder *b, const void *data, size_t elem_size, size_t n, size_t align);
eo_fb_ref eo_fb_vector_i32(eo_fb_builder *b, const int32_t *v, size_t n);
/* A vector of references (tables or strings). */
eo_fb_ref eo_fb_vector_refs(eo_fb_builder *b, const eo_fb_ref *refs, size_t n);

void eo_fb_table_start(eo_fb_builder *b);
/* Scalars are omitted when equal to the schema default (as flatc's builders do). */
void eo_fb_add_u8(eo_fb_builder *b, int id, uint8_t v, uint8_t dflt);
void eo_fb_add_i32(eo_fb_builder *b, int id, int32_t v, int32_t dflt);
void eo_fb_add_u32(eo_fb_builder *b, int id, uint32_t v, uint32_t dflt);
void eo_fb_add_f32(eo_fb_builder *b, int id, float v, float dflt);
void eo_fb_add_u64(eo_fb_builder *b, int id, uint64_t v, uint64_t dflt);
/* A struct stored inline (bytes already laid out little-endian with the struct's padding). */
void eo_fb_add_struct(eo_fb_builder *b, int id, const void *data, size_t size, size_t align);
void eo_fb_add_ref(eo_fb_builder *b, int id, eo_fb_ref ref);  /* ref 0: field omitted */
eo_fb_ref eo_fb_table_end(eo_fb_builder *b);

/* Writes the root offset (and the 4-character file identifier, may be NULL). */
void eo_fb_finish(eo_fb_builder *b, eo_fb_ref root, const char *ident);
/* The finished bytes (borrowed; valid until eo_fb_free). */
const uint8_t *eo_fb_data(const eo_fb_builder *b, size_t *size);

/* Reader: bounds-checked accessors over an untrusted buffer. A table or vector is its byte
 * position in the buffer; 0 means absent or malformed (position 0 is never a table). */
typedef struct eo_fb_view {
  const uint8_t *p;
  size_t n;
} eo_fb_view;

/* Root table position, 0 if malformed. Checks the identifier when ident != NULL. */
uint32_t eo_fb_root(eo_fb_view v, const char *ident);
/* Position of field `id` of the table at `t`, 0 when absent or out of bounds; `size` is the
 * field's byte size for the bounds check. */
uint32_t eo_fb_field(eo_fb_view v, uint32_t t, int id, size_t size);
uint8_t eo_fb_get_u8(eo_fb_view v, uint32_t t, int id, uint8_t dflt);
int32_t eo_fb_get_i32(eo_fb_view v, uint32_t t, int id, int32_t dflt);
uint32_t eo_fb_get_u32(eo_fb_view v, uint32_t t, int id, uint32_t dflt);
float eo_fb_get_f32(eo_fb_view v, uint32_t t, int id, float dflt);
uint64_t eo_fb_get_u64(eo_fb_view v, uint32_t t, int id, uint64_t dflt);
/* Target of a reference field (table, vector or string), 0 when absent or out of bounds. */
uint32_t eo_fb_get_ref(eo_fb_view v, uint32_t t, int id);
/* Vector at position `vec` (from eo_fb_get_ref): element count and data position, checked against
 * elem_size. Returns false when malformed. */
bool eo_fb_vec(eo_fb_view v, uint32_t vec, size_t elem_size, uint32_t *count, uint32_t *data);
/* Element i of a vector of references: the target's position (0 if malformed). */
uint32_t eo_fb_vec_ref(eo_fb_view v, uint32_t data, uint32_t i);
/* String at `s`: pointer and length, NULL if malformed. */
const char *eo_fb_str(eo_fb_view v, uint32_t s, uint32_t *len);

static inline uint32_t eo_fb_rd_u32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
