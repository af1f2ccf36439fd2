/* Winograd F(2x2, 3x3) transforms (f32-winograd.c) for the fast convolution's winograd path.
 * Tiles are numbered t = ty * tw + tx over the output (tile (ty, tx): output rows 2ty, 2ty + 1 and
 * columns 2tx, 2tx + 1; its 4x4 input tile starts at row 2ty, column 2tx of the zero-padded input).
 * The 16 transformed positions are xi = 4 * row + column of the 4x4 tile. */
#ifndef EO_KERNELS_WINOGRAD_H
#define EO_KERNELS_WINOGRAD_H

#include <stdint.h>

/* w [mg][cg][3][3] -> u [16][mg][cg]: u[xi] = (G g G^T)[xi] per (output, input) channel pair,
 * computed in double. */
void eo_f32_wino_weights(int64_t mg, int64_t cg, const float *w, float *u);

/* The input and output transforms are the ISA kernels' wino_in and wino_out (fast.h), with these
 * contracts:
 * wino_in: tiles [t0, t0 + nt) (tw tiles per row) of c_n zero-padded input planes (plane floats
 *   apart, rows of wp floats) -> 16 matrices V_xi = v + xi * vs, each [c_n, nt] packed as the
 *   GEMM's B panels of nr columns (panel q: tiles t0 + q*nr .., at v + q * c_n * nr; lanes past nt
 *   left unset).
 * wino_out: 16 matrices M_xi = m + xi * ms ([m_n, nt], rows ldm apart) -> y (m_n output planes of
 *   oh x ow) for tiles [t0, t0 + nt): Y = act(A^T M A + bias[c]) (bias NULL: none; act NULL or
 *   op < 0: none). Tiles past the output's edge write only their columns / rows inside it. */

#endif
