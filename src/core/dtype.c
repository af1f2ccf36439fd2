#include <string.h>

#include "core/core.h"

const char *eo_dtype_name(int dtype) {
  switch (dtype) {
    case EO_FLOAT: return "float32";
    case EO_UINT8: return "uint8";
    case EO_INT8: return "int8";
    case EO_UINT16: return "uint16";
    case EO_INT16: return "int16";
    case EO_INT32: return "int32";
    case EO_INT64: return "int64";
    case EO_STRING: return "string";
    case EO_BOOL: return "bool";
    case EO_FLOAT16: return "float16";
    case EO_DOUBLE: return "float64";
    case EO_UINT32: return "uint32";
    case EO_UINT64: return "uint64";
    case EO_COMPLEX64: return "complex64";
    case EO_COMPLEX128: return "complex128";
    case EO_BFLOAT16: return "bfloat16";
    case EO_FLOAT8E4M3FN: return "float8e4m3fn";
    case EO_FLOAT8E4M3FNUZ: return "float8e4m3fnuz";
    case EO_FLOAT8E5M2: return "float8e5m2";
    case EO_FLOAT8E5M2FNUZ: return "float8e5m2fnuz";
    case EO_UINT4: return "uint4";
    case EO_INT4: return "int4";
    default: return "?";
  }
}

size_t eo_dtype_size(int dtype) {
  switch (dtype) {
    case EO_UINT8: case EO_INT8: case EO_BOOL:
    case EO_FLOAT8E4M3FN: case EO_FLOAT8E4M3FNUZ: case EO_FLOAT8E5M2: case EO_FLOAT8E5M2FNUZ:
      return 1;
    case EO_UINT16: case EO_INT16: case EO_FLOAT16: case EO_BFLOAT16: return 2;
    case EO_FLOAT: case EO_INT32: case EO_UINT32: return 4;
    case EO_INT64: case EO_DOUBLE: case EO_UINT64: case EO_COMPLEX64: return 8;
    case EO_COMPLEX128: return 16;
    default: return 0;
  }
}

bool eo_dtype_bytes(int dtype, int64_t numel, size_t *out) {
  *out = 0;
  if (numel < 0) return false;
  if (dtype == EO_INT4 || dtype == EO_UINT4) {  // two per byte, low nibble first
    *out = (size_t)((numel + 1) / 2);
    return true;
  }
  size_t es = eo_dtype_size(dtype);
  if (!es) return false;
  return eo_mul_size((size_t)numel, es, out);
}

bool eo_dtype_is_float(int dtype) {
  return dtype == EO_FLOAT || dtype == EO_DOUBLE || dtype == EO_FLOAT16 || dtype == EO_BFLOAT16;
}

bool eo_dtype_is_int(int dtype) {
  switch (dtype) {
    case EO_UINT8: case EO_INT8: case EO_UINT16: case EO_INT16: case EO_INT32: case EO_INT64:
    case EO_UINT32: case EO_UINT64:
      return true;
    default:
      return false;
  }
}

float eo_f16_to_f32(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff, bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else {  // subnormal: normalize
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        exp--;
      }
      bits = sign | (exp << 23) | ((mant & 0x3ff) << 13);
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant ? 0x400000u | (mant << 13) : 0);  // NaN comes out quiet, as F16C
  } else {
    bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t eo_f32_to_f16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = (int32_t)((x >> 23) & 0xff);
  uint32_t mant = x & 0x7fffff;
  if (exp == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 | (mant >> 13) : 0));  // payload kept, as F16C
  int32_t e = exp - 127 + 15;
  if (e >= 31) return (uint16_t)(sign | 0x7c00);
  if (e <= 0) {
    if (e < -10) return (uint16_t)sign;
    mant |= 0x800000;
    uint32_t shift = (uint32_t)(14 - e);
    uint32_t half = mant >> shift, rem = mant & ((1u << shift) - 1), mid = 1u << (shift - 1);
    if (rem > mid || (rem == mid && (half & 1))) half++;
    return (uint16_t)(sign | half);
  }
  uint32_t half = (uint32_t)e << 10 | (mant >> 13), rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (half & 1))) half++;  // may carry into exponent: correct
  return (uint16_t)(sign | half);
}

float eo_bf16_to_f32(uint16_t h) {
  uint32_t bits = (uint32_t)h << 16;
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

uint16_t eo_f32_to_bf16(float f) {
  uint32_t x;
  memcpy(&x, &f, 4);
  if ((x & 0x7fffffff) > 0x7f800000) return (uint16_t)((x >> 16) | 0x40);  // quiet NaN
  x += 0x7fff + ((x >> 16) & 1);
  return (uint16_t)(x >> 16);
}
