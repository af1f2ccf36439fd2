/* edgeopt data: images in, tensors out, exactly as the model was trained.
 *
 * Three parts:
 *   1. eo_image      decode PNG, JPEG, BMP (stb_image) to 8-bit GRAY, RGB or BGR.
 *   2. eo_preprocess a plain config struct: resize (stretch | letterbox | shorter side | none),
 *                    center crop, scale, mean/std, channel order, layout, output dtype. Defaults come
 *                    from a model input; every field can be set by name ("scale=1/255") and the whole
 *                    config loads from / saves to YAML or JSON. Running it on an image records the
 *                    geometric transform (eo_img_transform) so boxes map back to the original image.
 *   3. eo_dataset    one streaming iterator over YOLO data sets, ImageFolder trees, IDX files
 *                    (MNIST, gzip'd or not), folders of .npy tensors and plain folders of images.
 *                    Only the item list (paths) is kept in memory; every image is read, decoded and
 *                    preprocessed when the iterator reaches it.
 *
 *     eo_preprocess pre;
 *     eo_preprocess_from_input(eo_model_input(model, 0), &pre);    // size, layout, channels, dtype
 *     eo_preprocess_load("pre.yaml", &pre);                        // optional: overrides what it names
 *     eo_preprocess_set(&pre, "pad_value=114");                    // optional: CLI --pre KEY=VALUE
 *
 *     eo_dataset_options o = {.split = "val", .limit = 500, .seed = 1, .skip_bad = 1};
 *     eo_dataset *ds;
 *     if (eo_dataset_open("data.yaml", &o, &pre, &ds) != EO_OK) { puts(eo_last_error()); ... }
 *     const eo_data_item *it;
 *     while (eo_dataset_next(ds, &it) == EO_OK && it) {
 *       eo_session_set_input(s, name, it->tensors[0].dtype, it->tensors[0].rank, it->tensors[0].dims,
 *                            it->tensors[0].data);
 *       ... run, decode, then eo_transform_boxes_to_original(&it->transform, n, xyxy);
 *       ... compare with it->boxes (pixel coordinates of the original image)
 *     }
 *     printf("%lld bad items skipped\n", (long long)eo_dataset_num_bad(ds));
 *     eo_dataset_free(ds);
 *
 * Bad input (missing or corrupt image, label line with the wrong number of fields, coordinates
 * outside [0,1], class id >= nc, an image that does not fit a fixed-size input with resize none)
 * is an eo_status whose message names the file and, for labels, the line. With skip_bad such items
 * are skipped, counted and their first messages kept; never dropped silently.
 */
#ifndef EDGEOPT_DATA_H
#define EDGEOPT_DATA_H

#include "edgeopt/runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- images */

typedef enum eo_channel_order {
  EO_CHANNELS_RGB = 0,
  EO_CHANNELS_BGR = 1,
  EO_CHANNELS_GRAY = 2 /* from color: stb_image's (77 R + 150 G + 29 B) >> 8 */
} eo_channel_order;

/* An 8-bit image, rows top to bottom, channels interleaved (HWC). `data` is owned (eo_image_free). */
typedef struct eo_image {
  int width, height;
  int channels; /* 1 (GRAY) or 3 (RGB or BGR, as requested) */
  uint8_t *data;
} eo_image;

/* Decodes a PNG, JPEG or BMP file (the format is told by the first bytes, not the extension)
 * to `order`. 16-bit PNGs are reduced to 8 bits, alpha is dropped, EXIF orientation is ignored.
 * Images over EO_IMAGE_MAX_PIXELS are refused before decoding. On failure *out is zeroed:
 * EO_ERR_IO (cannot read), EO_ERR_PARSE (not an image, corrupt or truncated), EO_ERR_UNSUPPORTED
 * (another format: GIF, TIFF, WebP...; or too many pixels). */
#define EO_IMAGE_MAX_PIXELS ((int64_t)1 << 26)
eo_status eo_image_load(const char *path, eo_channel_order order, eo_image *out);
/* Same from memory (`data` borrowed); `label` names the source in messages. */
eo_status eo_image_decode(const void *data, size_t size, const char *label, eo_channel_order order,
                          eo_image *out);
void eo_image_free(eo_image *img); /* frees img->data and zeroes *img; NULL-safe */

/* ---------------------------------------------------------------- preprocessing */

typedef enum eo_resize_mode {
  EO_RESIZE_NONE = 0,  /* the image is used at its size (a fixed-size input must match it) */
  EO_RESIZE_STRETCH,   /* to resize_width x resize_height, aspect ratio not kept */
  EO_RESIZE_LETTERBOX, /* scaled by min(rw/w, rh/h), centered, borders filled with pad_value
                          (Ultralytics: new = round(w*r); left = round(dw/2 - 0.1), top likewise) */
  EO_RESIZE_SHORTER    /* shorter side to resize_shorter, longer side int(shorter*long/short)
                          (torchvision Resize(int)); usually followed by a center crop */
} eo_resize_mode;

typedef enum eo_layout { EO_LAYOUT_NCHW = 0, EO_LAYOUT_NHWC = 1 } eo_layout;

/* The preprocessing pipeline, in order:
 *   decode to `channels` -> resize (bilinear, half-pixel centers, no antialiasing: OpenCV
 *   INTER_LINEAR; result rounded to 8 bits) -> center crop (torchvision CenterCrop: offset
 *   round((size - crop)/2), ties to even; areas outside the image get pad_value) ->
 *   x = (pixel * scale - mean[c]) / std[c] with c the output channel (mean/std are given in the
 *   OUTPUT channel order) -> float32, or for uint8/int8: clamp(round_half_even(x / quant_scale) +
 *   quant_zero_point) -> layout [1,C,H,W] or [1,H,W,C].
 * A plain value struct (no pointers): copy it freely. Fields 0 for sizes mean "not set" (see each). */
typedef struct eo_preprocess {
  eo_resize_mode resize;
  int width, height;                /* final tensor size; 0: whatever the image gives (dynamic input) */
  int resize_width, resize_height;  /* STRETCH/LETTERBOX target; 0: width/height */
  int resize_shorter;               /* SHORTER target of the shorter side; 0: min(width, height) */
  int crop_width, crop_height;      /* center crop after the resize; 0: no crop */
  int pad_value;                    /* 0..255, letterbox and crop fill (Ultralytics: 114) */
  float scale;                      /* applied to 0..255 pixels first (1/255 for [0,1] inputs) */
  float mean[3], std[3];            /* per output channel; GRAY uses [0] */
  eo_channel_order channels;
  eo_layout layout;
  int dtype;                        /* EO_FLOAT, EO_UINT8 or EO_INT8 */
  float quant_scale;                /* uint8/int8 output only */
  int quant_zero_point;
} eo_preprocess;

/* Generic defaults: resize none, size 0 (dynamic), no crop, pad 114, scale 1/255, mean 0, std 1,
 * RGB, NCHW, float32, quant_scale 1, zero point 0. */
void eo_preprocess_init(eo_preprocess *p);

/* Defaults for a model input: rank 4 [N,C,H,W] when dims[1] is 1 or 3, else [N,H,W,C] when dims[3]
 * is 1 or 3 (both: NCHW); rank 3 is the same without N. C = 1 -> GRAY, 3 -> RGB; H, W from the shape
 * (symbolic dims -> 0: dynamic, and resize none); resize LETTERBOX (pad 114) for a fixed size.
 * dtype: float inputs -> float32 with scale 1/255; uint8 -> raw pixels (scale 1); int8 -> pixels
 * - 128 (scale 1, zero point -128). Everything else in *out is eo_preprocess_init's.
 * EO_ERR_UNSUPPORTED (message names the input and its shape) when no layout can be told. */
eo_status eo_preprocess_from_input(const eo_value_desc *input, eo_preprocess *out);

/* Sets one field from "name=value" (the CLI's --pre and the file loaders go through here).
 * Names: resize (none|stretch|letterbox|shorter), width, height, size (WxH or N: both),
 * resize_width, resize_height, resize_size (WxH or N), resize_shorter, crop_width, crop_height,
 * crop (WxH or N), pad_value, scale (a number or a fraction "1/255"), mean, std (one value for all
 * channels or three comma separated), channels (rgb|bgr|gray), layout (nchw|nhwc),
 * dtype (float32|uint8|int8), quant_scale, quant_zero_point.
 * EO_ERR_INVALID with a message naming the field and the accepted values; *p unchanged then. */
eo_status eo_preprocess_set(eo_preprocess *p, const char *name_eq_value);
/* Checks the fields are consistent (std != 0, sizes >= 0, crop fits the final size, ...). */
eo_status eo_preprocess_validate(const eo_preprocess *p);

/* Loads a YAML or JSON file (JSON when it ends in .json or starts with '{') whose top-level mapping,
 * or its `preprocess:` mapping, holds fields by the names above. Only the fields present change
 * *inout, so: defaults from the model, then the file, then the CLI. Messages name file and line
 * (YAML) or key (JSON); unknown fields are errors. *inout is unchanged on failure. */
eo_status eo_preprocess_load(const char *path, eo_preprocess *inout);
/* Same for text in memory; `label` names it in messages. */
eo_status eo_preprocess_parse(const char *text, size_t len, const char *label, eo_preprocess *inout);
/* Writes every field (YAML, or JSON for a .json path). Loading the file back gives the same struct. */
eo_status eo_preprocess_save(const eo_preprocess *p, const char *path);
/* The same texts in memory; *out is malloc'd, the caller frees it. */
eo_status eo_preprocess_to_yaml(const eo_preprocess *p, char **out);
eo_status eo_preprocess_to_json(const eo_preprocess *p, char **out);

/* Where the original image went in the model input: input = original * scale + pad, per axis
 * (pad is negative after a crop). Original pixel coordinates are continuous: [0, orig_width]. */
typedef struct eo_img_transform {
  int orig_width, orig_height;
  int input_width, input_height;
  float scale_x, scale_y;
  float pad_x, pad_y;
} eo_img_transform;

/* Maps n boxes x1,y1,x2,y2 (in place) from model-input pixels to original-image pixels, clipped to
 * [0, orig_width] x [0, orig_height] (what Ultralytics scale_boxes does). */
void eo_transform_boxes_to_original(const eo_img_transform *t, int n, float *xyxy);
/* The inverse (no clipping): original-image pixels to model-input pixels. */
void eo_transform_boxes_to_input(const eo_img_transform *t, int n, float *xyxy);

/* Runs the pipeline on `img` (any channel count: 1 is replicated to 3, 3 is reduced to 1 with the
 * GRAY formula; 3-channel images are taken as RGB unless they were loaded as BGR - pass what
 * eo_image_load gave for the order p->channels asks for). The tensor goes to *buf, grown with
 * realloc as needed (*cap its capacity in bytes: start NULL/0, free() it at the end); *out views
 * it (name NULL). *tf receives the transform (may be NULL). `label` names the image in messages.
 * EO_ERR_SHAPE when resize is none and the image size is not width x height. */
eo_status eo_preprocess_image(const eo_preprocess *p, const eo_image *img, const char *label, void **buf,
                              size_t *cap, eo_tensor_view *out, eo_img_transform *tf);

/* ---------------------------------------------------------------- data sets */

typedef enum eo_dataset_format {
  EO_DATASET_AUTO = 0, /* guessed: a .yaml file or a folder with data.yaml -> YOLO; an IDX file or a
                          folder with *-images-idx3-ubyte[.gz] -> IDX; a folder of .npy files (or of
                          folders of them) -> NPY; a folder whose subfolders hold images ->
                          IMAGEFOLDER; a folder with images, or a .txt list -> IMAGES */
  EO_DATASET_YOLO,
  EO_DATASET_IMAGEFOLDER,
  EO_DATASET_IDX,
  EO_DATASET_NPY,
  EO_DATASET_IMAGES /* images without a data.yaml: DIR/images/<split>/ when it exists, else every image
                       under DIR, or a .txt list; YOLO labels are read where labels/ has them (class
                       ids not range-checked: nc is unknown) */
} eo_dataset_format;

typedef struct eo_dataset_options {
  eo_dataset_format format;
  /* "train", "val" or "test"; NULL: "val". YOLO: the data.yaml key. IDX folder: train -> train-*,
   * val/test -> t10k-*. ImageFolder: root/<split>/ when that folder exists, else root. */
  const char *split;
  const char *labels; /* IDX: the labels file; NULL: the images file's name with images-idx3 ->
                         labels-idx1 (a missing labels file then means no labels) */
  /* Subset: when limit > 0 or 0 < fraction < 1, the items are shuffled with `seed` (below) and the
   * first min(limit, round(fraction * total), at least 1) are taken; they are then visited in the
   * data set's order. Otherwise every item, in order. */
  int64_t limit;
  double fraction;
  uint64_t seed;
  int skip_bad;  /* 1: bad items are skipped and counted instead of failing eo_dataset_next */
} eo_dataset_options;

/* The seeded shuffle, documented so any tool can reproduce a subset: state = seed; next() is
 * splitmix64 (state += 0x9E3779B97F4A7C15; z = state; z = (z ^ z>>30) * 0xBF58476D1CE4E5B9;
 * z = (z ^ z>>27) * 0x94D049BB133111EB; return z ^ z>>31), all mod 2^64. Fisher-Yates over
 * idx = 0..n-1: for i from n-1 down to 1: draw r = next() until r >= 2^64 mod (i+1) (no modulo bias),
 * j = r mod (i+1), swap idx[i] and idx[j]. The subset is {idx[0..k)}, visited in ascending order. */

typedef struct eo_data_box {
  int class_id;
  float cx, cy, w, h;     /* normalized to [0,1] as in the label file */
  float x1, y1, x2, y2;   /* pixels in the original image */
} eo_data_box;

/* One item; borrowed from the data set, valid until the next eo_dataset_next/rewind/free. */
typedef struct eo_data_item {
  int64_t index;            /* position in the full, sorted item list */
  const char *path;         /* image / tensor file ("FILE#123" for IDX record 123) */
  int num_tensors;          /* 1 for images; NPY items: one per .npy file */
  const eo_tensor_view *tensors; /* preprocessed; name NULL for images, the file stem for NPY */
  int orig_width, orig_height;   /* 0 for NPY */
  eo_img_transform transform;
  int class_id;             /* ImageFolder / IDX label; -1 when none */
  int num_boxes;            /* YOLO labels (0 for a background image or a missing label file) */
  const eo_data_box *boxes;
  const char *label_path;   /* YOLO label file looked for (may not exist); NULL otherwise */
} eo_data_item;

typedef struct eo_dataset eo_dataset;

/* Opens a data set: lists the items (and reads data.yaml / IDX headers), nothing else. `opts` and
 * `pre` may be NULL (defaults; eo_preprocess_init). Both are copied (strings too). EO_ERR_INVALID for
 * an empty data set, a missing split or bad options; EO_ERR_IO / EO_ERR_PARSE for a missing or
 * malformed path, data.yaml (file:line) or IDX header.
 * Item errors (from eo_dataset_next): EO_ERR_IO missing image, EO_ERR_PARSE corrupt image or label
 * line ("labels/x.txt:3: expected 5 fields ..., found 4", coordinates outside [0,1], class id >= nc),
 * EO_ERR_UNSUPPORTED image format, EO_ERR_SHAPE image size vs a fixed input with resize none. */
eo_status eo_dataset_open(const char *path, const eo_dataset_options *opts, const eo_preprocess *pre,
                          eo_dataset **out);
/* Next item: *item = NULL at the end (EO_OK). A bad item gives its status and message (file, line)
 * and *item = NULL, and the next call continues after it; with skip_bad it is skipped and counted. */
eo_status eo_dataset_next(eo_dataset *ds, const eo_data_item **item);
/* Back to the first item (the counts of bad items start again too). */
eo_status eo_dataset_rewind(eo_dataset *ds);
void eo_dataset_free(eo_dataset *ds); /* NULL-safe */

eo_dataset_format eo_dataset_get_format(const eo_dataset *ds);
int64_t eo_dataset_size(const eo_dataset *ds);   /* items this iteration visits (after the subset) */
int64_t eo_dataset_total(const eo_dataset *ds);  /* items in the whole split */
/* Classes: YOLO names (nc), ImageFolder folder names (sorted), IDX/NPY/IMAGES: 0 (names unknown).
 * The name is borrowed; NULL out of range. */
int eo_dataset_num_classes(const eo_dataset *ds);
const char *eo_dataset_class_name(const eo_dataset *ds, int i);
/* Bad items skipped so far (skip_bad), and the first EO_DATASET_MAX_BAD_MESSAGES messages. */
#define EO_DATASET_MAX_BAD_MESSAGES 20
int64_t eo_dataset_num_bad(const eo_dataset *ds);
const char *eo_dataset_bad_message(const eo_dataset *ds, int i); /* NULL out of range */
const char *eo_dataset_format_name(eo_dataset_format f);          /* "yolo", "imagefolder", ... */

#ifdef __cplusplus
}
#endif
#endif
