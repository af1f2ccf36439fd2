/* The FlatBuffers builder: exact bytes of a minimal buffer (laid out by hand from the format
 * spec), a read-back of every field kind, alignment, defaults, misuse and malformed input. */
#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "export/flatbuffer.h"
#include "test.h"

// A struct as the schema `struct Pt { x:short; y:float; }` lays it out: padded to 8, align 4.
typedef struct {
  int16_t x;
  uint8_t pad[2];
  float y;
} pt_struct;
static_assert(sizeof(pt_struct) == 8, "Pt is 8 bytes packed as flatc lays it out");

static void test_exact_bytes(void) {
  eo_fb_builder b;
  eo_fb_init(&b);
  eo_fb_table_start(&b);
  eo_fb_add_u32(&b, 0, 7, 0);
  eo_fb_ref t = eo_fb_table_end(&b);
  eo_fb_finish(&b, t, NULL);
  size_t n;
  const uint8_t *p = eo_fb_data(&b, &n);
  // root offset 12 | 2 pad | vtable {6, 8, 4} at 6 | soffset 6 | field 7
  static const uint8_t want[] = {12, 0, 0, 0, 0, 0, 6, 0, 8, 0, 4, 0, 6, 0, 0, 0, 7, 0, 0, 0};
  EO_CHECK(n == sizeof want);
  EO_CHECK(p && n == sizeof want && memcmp(p, want, n) == 0);
  eo_fb_free(&b);
}

static void test_roundtrip(void) {
  eo_fb_builder b;
  eo_fb_init(&b);
  eo_fb_ref s1 = eo_fb_string(&b, "conv");
  eo_fb_ref s2 = eo_fb_string(&b, "");
  int32_t shape[] = {1, 28, -28, 3};
  eo_fb_ref vshape = eo_fb_vector_i32(&b, shape, 4);
  uint8_t blob[37];
  for (int i = 0; i < 37; i++) blob[i] = (uint8_t)(i * 7 + 1);
  eo_fb_ref vblob = eo_fb_vector(&b, blob, 1, 37, 16);
  // Two sub-tables in a vector.
  eo_fb_ref kids[2];
  for (int k = 0; k < 2; k++) {
    eo_fb_table_start(&b);
    eo_fb_add_i32(&b, 1, 100 + k, 0);
    eo_fb_add_ref(&b, 0, k ? s2 : s1);
    kids[k] = eo_fb_table_end(&b);
  }
  eo_fb_ref vkids = eo_fb_vector_refs(&b, kids, 2);
  pt_struct pt = {.x = -5, .y = 2.5f};
  eo_fb_table_start(&b);
  eo_fb_add_u8(&b, 0, 9, 0);
  eo_fb_add_u8(&b, 1, 0, 0);          // default: omitted
  eo_fb_add_f32(&b, 2, 0.125f, 0.0f);
  eo_fb_add_u64(&b, 3, 0x0123456789abcdefull, 0);
  eo_fb_add_ref(&b, 4, vshape);
  eo_fb_add_ref(&b, 5, vblob);
  eo_fb_add_ref(&b, 6, vkids);
  eo_fb_add_struct(&b, 7, &pt, sizeof pt, 4);
  eo_fb_add_i32(&b, 9, -3, 1);
  eo_fb_ref root = eo_fb_table_end(&b);
  eo_fb_finish(&b, root, "TFL3");
  EO_CHECK(!b.failed);
  size_t n;
  const uint8_t *p = eo_fb_data(&b, &n);
  EO_CHECK(p && n % 16 == 0);  // minalign of the 16-aligned vector
  eo_fb_view v = {p, n};
  EO_CHECK(eo_fb_root(v, "TFL3") != 0);
  EO_CHECK(eo_fb_root(v, "XXXX") == 0);
  uint32_t r = eo_fb_root(v, "TFL3");
  EO_CHECK(eo_fb_get_u8(v, r, 0, 0) == 9);
  EO_CHECK(eo_fb_field(v, r, 1, 1) == 0);
  EO_CHECK(eo_fb_get_u8(v, r, 1, 42) == 42);
  EO_CHECK(eo_fb_get_f32(v, r, 2, 0) == 0.125f);
  EO_CHECK(eo_fb_get_u64(v, r, 3, 0) == 0x0123456789abcdefull);
  EO_CHECK(eo_fb_get_i32(v, r, 9, 1) == -3);
  EO_CHECK(eo_fb_get_i32(v, r, 8, 77) == 77);   // never set
  EO_CHECK(eo_fb_get_i32(v, r, 40, 5) == 5);    // beyond the vtable
  uint32_t cnt, d;
  EO_CHECK(eo_fb_vec(v, eo_fb_get_ref(v, r, 4), 4, &cnt, &d) && cnt == 4);
  for (uint32_t i = 0; i < 4 && cnt == 4; i++) EO_CHECK((int32_t)eo_fb_rd_u32(p + d + 4 * i) == shape[i]);
  EO_CHECK(eo_fb_vec(v, eo_fb_get_ref(v, r, 5), 1, &cnt, &d) && cnt == 37);
  EO_CHECK(d % 16 == 0);  // data aligned from the buffer start
  EO_CHECK(cnt == 37 && memcmp(p + d, blob, 37) == 0);
  EO_CHECK(eo_fb_vec(v, eo_fb_get_ref(v, r, 6), 4, &cnt, &d) && cnt == 2);
  for (uint32_t k = 0; k < 2 && cnt == 2; k++) {
    uint32_t kt = eo_fb_vec_ref(v, d, k);
    EO_CHECK(eo_fb_get_i32(v, kt, 1, 0) == (int32_t)(100 + k));
    uint32_t len;
    const char *s = eo_fb_str(v, eo_fb_get_ref(v, kt, 0), &len);
    EO_CHECK(s && len == (k ? 0u : 4u) && memcmp(s, k ? "" : "conv", len) == 0);
  }
  uint32_t f = eo_fb_field(v, r, 7, sizeof(pt_struct));
  EO_CHECK(f && f % 4 == 0);
  pt_struct got;
  if (f) memcpy(&got, p + f, sizeof got);
  EO_CHECK(f && got.x == -5 && got.y == 2.5f);
  // Every truncation of the buffer reads as absent or in bounds, never past the end (ASan checks).
  for (size_t cut = 0; cut < n; cut++) {
    eo_fb_view t = {p, cut};
    uint32_t rt = eo_fb_root(t, "TFL3");
    uint32_t c2, d2;
    if (rt && eo_fb_vec(t, eo_fb_get_ref(t, rt, 6), 4, &c2, &d2))
      for (uint32_t k = 0; k < c2; k++) (void)eo_fb_get_i32(t, eo_fb_vec_ref(t, d2, k), 1, 0);
    (void)eo_fb_get_u64(t, rt, 3, 0);
  }
  eo_fb_free(&b);
}

static void test_misuse(void) {
  eo_fb_builder b;
  eo_fb_init(&b);
  eo_fb_table_start(&b);
  (void)eo_fb_string(&b, "nested");  // children must come before the table
  EO_CHECK(b.failed);
  eo_fb_free(&b);
  eo_fb_init(&b);
  eo_fb_table_start(&b);
  eo_fb_add_u32(&b, 2, 1, 0);
  eo_fb_add_u32(&b, 2, 3, 0);  // same field twice
  EO_CHECK(eo_fb_table_end(&b) == 0 && b.failed);
  size_t n;
  EO_CHECK(eo_fb_data(&b, &n) == NULL && n == 0);
  eo_fb_free(&b);
}

int main(void) {
  test_exact_bytes();
  test_roundtrip();
  test_misuse();
  return eo_test_finish();
}
