/* Winograd F(2x2, 3x3) transforms for the fast convolution's "winograd" path (f32-conv-fast.c).
 *
 * A 3x3 stride-1 convolution computes each 2x2 output tile from a 4x4 input tile d as
 *   Y = A^T [ sum_c (G g_c G^T) .* (B^T d_c B) ] A,
 * so the sum over input channels becomes 16 independent GEMMs (one per position xi of the 4x4
 * transformed tile): M_xi [c_out, tiles] = U_xi [c_out, c_in] x V_xi [c_in, tiles]. That is 16
 * multiply-adds per 4 outputs and input channel instead of 36: 2.25x fewer. F(2x2, 3x3) is the
 * variant whose transforms only add, subtract and halve (exact in binary), so its rounding error
 * stays that of a direct convolution's (larger tiles, F(4x4, 3x3), need 1/6, 1/12, 1/24 and lose
 * about a digit in float32).
 *
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 *
 * Here: the weights' transform, done once at prepare. The input and output transforms are ISA
 * kernels (x86/f32-winograd-avx512.c); AVX2 has none, so it keeps the direct paths: the same
 * transforms in portable C, vectorized by the compiler, made AVX2's 64-channel 56x56 layer 3.8 ms
 * against the shifted path's 2.3.
 */
#include "runtime/kernels/winograd.h"

void eo_f32_wino_weights(int64_t mg, int64_t cg, const float *w, float *u) {
  static const double G[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  for (int64_t co = 0; co < mg; co++)
    for (int64_t ci = 0; ci < cg; ci++) {
      const float *g = w + (co * cg + ci) * 9;
      double t[4][3];  // G g
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) t[i][j] = G[i][0] * g[j] + G[i][1] * g[3 + j] + G[i][2] * g[6 + j];
      for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)  // (G g) G^T
          u[((int64_t)(i * 4 + j) * mg + co) * cg + ci] = (float)(t[i][0] * G[j][0] + t[i][1] * G[j][1] + t[i][2] * G[j][2]);
    }
}
