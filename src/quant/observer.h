/* Calibration observers: streaming range statistics of one activation tensor.
 *
 * Every observer keeps the running min/max and a histogram of the values over [-R, R], where R is
 * the largest magnitude seen so far (grown by rebinning when a batch exceeds it), so memory is
 * fixed (EO_OBS_BINS counters) whatever the number of calibration images. The range is chosen at
 * the end:
 *   minmax      [min, max]
 *   percentile  ONNX Runtime's rule: symmetric -> |x| at the p-th percentile of |x|; otherwise the
 *               (100-p)/2 % tails are cut from each side of the signed histogram
 *   entropy     TensorRT's KL-divergence threshold search over the |x| histogram (2048 bins, 128
 *               quantized levels) without the exact zeros, as pytorch-quantization's skip_zeros;
 *               thresholds clipping more than 1% of those values are not candidates (sparse
 *               histograms); the range is [max(min,-T), min(max,T)]
 *   mse         the range whose grid gives the smallest squared error over the histogram (as
 *               PyTorch's HistogramObserver minimizes the L2 error): the grid the tensor gets, uint8
 *               asymmetric (step (hi-lo)/255, zero point on the grid) or int8 symmetric (T/127),
 *               values uniform inside each bin, exact zeros free; both ends searched (coordinate
 *               descent) within [min, max]
 *
 *   eo_observer *o; eo_observer_create(EO_CALIB_PERCENTILE, 99.99, &o);
 *   eo_observer_add(o, batch, n);   // per batch
 *   float lo, hi; eo_observer_range(o, false, &lo, &hi);
 *   eo_observer_free(o);
 */
#ifndef EO_QUANT_OBSERVER_H
#define EO_QUANT_OBSERVER_H

#include "core/core.h"
#include "edgeopt/quant.h"

#define EO_OBS_BINS 4096 /* signed histogram over [-R, R]; the |x| histogram has half as many */

typedef struct eo_observer eo_observer;

eo_status eo_observer_create(eo_calib_method method, double percentile, eo_observer **out);
/* Adds n values; EO_ERR_INVALID (message says NaN or Inf) on a non-finite value. */
eo_status eo_observer_add(eo_observer *o, const float *x, int64_t n);
/* The chosen range (lo <= 0 <= hi is not enforced here). EO_ERR_INVALID when nothing was added. */
eo_status eo_observer_range(const eo_observer *o, bool symmetric, float *lo, float *hi);
void eo_observer_free(eo_observer *o);

#endif
