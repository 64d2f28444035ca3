/* Private to src/face: network definitions, pre/post-processing pieces. */
#ifndef FS_FACE_INTERNAL_H
#define FS_FACE_INTERNAL_H

#include "facesearch/face.h"
#include "facesearch/nn.h"

#define FS_SSD_INPUT 512
#define FS_SSD_ANCHORS 5118
#define FS_SSD_HEADS 6
#define FS_LANDMARK_INPUT 112
#define FS_DESCRIPTOR_INPUT 150
#define FS_ARCFACE_INPUT 112
#define FS_TINY_ANCHORS 5

/* ---- building a net from named weights (netbuild.c) ---- */

/* Collects the first error of a sequence of weight look-ups and layer
 * additions so a network definition reads straight through. */
typedef struct fs_netb {
    fs_net *net;
    fs_weights *w;
    fs_error e;
} fs_netb;

/* Tensor `name` with the given dims (unused trailing dims 0); NULL after the
 * first failure. */
const float *fs_nb_get(fs_netb *b, const char *name, int d0, int d1, int d2, int d3);
/* As fs_nb_get, name built printf-style from prefix + "/" + leaf. */
const float *fs_nb_getp(fs_netb *b, const char *prefix, const char *leaf, int d0, int d1,
                        int d2, int d3);
/* Adds a conv (depthwise when dw) unless a previous step failed. */
int fs_nb_conv(fs_netb *b, const char *name, int in, int dw, const fs_conv_desc *d);
/* Starts building a 3-channel-input net called name from w.  Errors:
 * FS_ENOMEM. */
int fs_nb_start(fs_netb *b, const char *name, fs_weights *w, fs_error *err);
/* Ends a build: marks node `out` as output (if >= 0), reports the first
 * error (weights, then the net's own, then unused tensors) and frees the net,
 * or hands it to *net. */
int fs_nb_done(fs_netb *b, int out, fs_net **net, fs_error *err);

/* ---- the four networks (one file each) ---- */

typedef struct fs_ssd_net {
    fs_net *net;
    int box[FS_SSD_HEADS], cls[FS_SSD_HEADS];  /* head nodes */
    float anchors[FS_SSD_ANCHORS * 4];         /* ymin, xmin, ymax, xmax */
} fs_ssd_net;

/* A net with one output node. */
typedef struct fs_simple_net {
    fs_net *net;
    int out;
} fs_simple_net;

int fs_ssd_build(fs_weights *w, fs_ssd_net *m, fs_error *err);
int fs_landmark_build(fs_weights *w, fs_simple_net *m, fs_error *err);
int fs_recognition_build(fs_weights *w, fs_simple_net *m, fs_error *err);
int fs_tiny_build(fs_weights *w, fs_simple_net *m, fs_error *err);

/* ---- SSD post-processing (ssd_post.c) ---- */

/* Gathers the six heads into anchor order: enc [5118][4] (ty, tx, th, tw),
 * logits [5118][3]. */
void fs_ssd_gather(const fs_ssd_net *m, const fs_plan *p, void *ws, float *enc, float *logits);
/* Decodes boxes [n][4] (ymin, xmin, ymax, xmax, normalised) and scores
 * sigmoid(logit[1]) with the TF box coder (scales 10, 10, 5, 5), in float32
 * in the reference's operation order. */
void fs_ssd_decode(const float *anchors, const float *enc, const float *logits, int n,
                   float *boxes, float *scores);
/* face-api's NMS: candidates score > min_score, by score descending (stable),
 * greedy IoU > iou suppression, at most max_out picks.  order is scratch for
 * n keys.  Returns the number of picks written to picked. */
int fs_ssd_nms(const float *boxes, const float *scores, int n, float min_score, float iou,
               int max_out, uint64_t *order, int *picked);

/* ---- SSD anchors for any input size (anchors.c) ---- */

/* Number of anchors for feature maps of these sizes (3 per cell on map 0,
 * 6 on the others). */
int fs_ssd_anchor_count(const int grid_h[FS_SSD_HEADS], const int grid_w[FS_SSD_HEADS]);
/* Writes the anchors (ymin, xmin, ymax, xmax, relative to the input square)
 * for an input of side `input` whose feature maps have these sizes, in the
 * heads' order; returns their count.  At 512 they equal Output/extra_dim. */
int fs_ssd_anchors(int input, const int grid_h[FS_SSD_HEADS], const int grid_w[FS_SSD_HEADS],
                   float *out);

/* ---- tiny detector post-processing (tiny_post.c) ---- */

typedef struct fs_tiny_box {
    double x0, y0, x1, y1;  /* relative to the photo (0..1 inside) */
    double score;
    int seq;                /* candidate order (ties), -1 once suppressed */
} fs_tiny_box;

/* Decodes the [g][g][5*5] output into boxes scoring > min_score, applies the
 * tiny detector's NMS (IoU > 0.4) and writes at most cap boxes, best first.
 * rw, rh: the photo's size scaled into the input square (the reshaped dims).
 * cand is scratch for g*g*5 boxes.  Returns the count. */
int fs_tiny_boxes(const fs_tensor *out, double rw, double rh, int input_size,
                  float min_score, fs_tiny_box *cand, fs_tiny_box *res, int cap);

/* ---- pre-processing and geometry (prep.c) ---- */

/* Normalisations, in place, as the reference's float32 ops. */
void fs_norm_ssd(float *x, size_t n);                 /* v / 127.5 - 1 */
void fs_norm_mean(float *x, size_t pixels, const float mean[3]); /* (v - mean) / 255 */
void fs_norm_arcface(float *x, size_t pixels);   /* RGB -> BGR, (v - 127.5) / 128 */
extern const float fs_face_mean[3];  /* landmark and recognition nets */
extern const float fs_tiny_mean[3];

/* The window (x0, y0, w x h) of img zero-padded at its bottom/right to
 * side x side (side >= w, h), resized to size^2 (TF legacy bilinear) into
 * dst (size*size*3 floats, 0..255).  Errors: FS_ENOMEM (resize scratch). */
int fs_prep_window(const fs_image *img, int x0, int y0, int w, int h, int side, int size,
                   float *dst, fs_error *err);
/* The reference's detector input: the whole photo, side = its longer side. */
int fs_prep_square(const fs_image *img, int size, float *dst, fs_error *err);

/* The crop zero-padded to a centred square (odd pixel bottom/right), resized
 * to size^2 into dst (0..255).  *buf / *cap: the caller's grow-only scratch.
 * Errors: FS_EUSAGE (crop empty or not inside img), FS_ENOMEM. */
int fs_prep_crop(const fs_image *img, fs_rect crop, int size, uint8_t **buf, size_t *cap,
                 float *dst, fs_error *err);

/* Shrinks the rectangle r of img by an integer factor k: each output pixel
 * is the rounded mean of a k x k block (partial blocks at the right/bottom
 * average what they hold), ceil(r.w/k) x ceil(r.h/k) pixels written to dst
 * with `stride` bytes per row.  r must lie inside img. */
void fs_block_mean(const fs_image *img, fs_rect r, int k, uint8_t *dst, int stride);

/* The reference's crop of a float box (clip, floor x, y, w, h separately). */
fs_rect fs_box_crop(double x, double y, double w, double h, int img_w, int img_h);

/* The iBUG-68 point that point i becomes in the mirror image (jaw, brows,
 * eyes, nostrils and mouth swap sides; the nose's centre line stays). */
extern const int fs_landmark_mirror[FS_LANDMARKS];

/* Landmark net output (136 values relative to the 112 input) to points in
 * the photo: crop size w x h, shifted by the unfloored box origin. */
void fs_landmarks_place(const float *raw, int crop_w, int crop_h, double shift_x,
                        double shift_y, double pts[FS_LANDMARKS][2]);

/* The reference's "dlib alignment" rectangle from the landmarks, before
 * clipping; crop_w/h are the landmark crop's size (a reference quirk). */
fs_rect fs_align_rect(const double pts[FS_LANDMARKS][2], int crop_w, int crop_h);

/* The SSD's normalised box (ymin, xmin, ymax, xmax) in pixels of a
 * img_w x img_h window seen as a side x side square (the reference: the
 * photo, side = its longer side), with the reference's rounding of the
 * reshaped dims (golden README §4.5). */
void fs_ssd_box_pixels(const float *box, int img_w, int img_h, int side, int input_size,
                       double *x, double *y, double *w, double *h);

#endif
