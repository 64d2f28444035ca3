/*
 * facesearch/face.h — the face engine: photo -> faces, each with a box, a
 * detection score, 68 landmarks and a 128-D descriptor.
 *
 * The networks are those of @vladmandic/face-api 1.7.15 (fetched by `make
 * models`), run on the runtime of facesearch/nn.h and reproducing the
 * reference numerically, including its crop, padding and resize conventions
 * (../shared/golden/README.md):
 *
 *   detection   SSD MobileNet v1 (default; 512x512 input, anchors read from
 *               the weights, face-api's NMS) or the package's TinyFaceDetector
 *               (tiny YOLOv2 with separable convs, input side a multiple of 32)
 *   landmarks   the 68-point net on the detection box's crop (112x112)
 *   descriptor  one of the recognisers (fs_recognizer): the dlib-style
 *               ResNet (128-D) on the landmark-derived crop (150x150) or on
 *               dlib's aligned face chip; a MobileFaceNet-style ArcFace
 *               network (512-D, ONNX, from faceplugin-face-recognition-js
 *               0.0.1) on the 5-point ArcFace chip (112x112, fed in BGR
 *               order, which measures far better than RGB); or both,
 *               fused.  Optionally flip-averaged.  Descriptors are
 *               L2-normalised and compared by cosine similarity (the dot
 *               product); the 128-D net's raw output is the reference's,
 *               divided by its norm.
 *
 * Threading model (the ingest stage): one fs_engine, created once, is shared
 * read-only by all threads; each thread creates its own fs_worker (which owns
 * every buffer a photo needs, so processing a photo allocates nothing beyond
 * a grow-only crop buffer) and calls fs_worker_faces.  The engine does not
 * set OpenBLAS's thread count: inside an OpenMP parallel region the OpenMP
 * build of OpenBLAS runs single-threaded; a single-photo caller may let it use
 * several threads.
 */
#ifndef FACESEARCH_FACE_H
#define FACESEARCH_FACE_H

#include "facesearch/common.h"
#include "facesearch/image.h"
#include "facesearch/nn.h"

#define FS_LANDMARKS 68
#define FS_DESCRIPTOR_MAX 640  /* the longest descriptor (the fusion's) */
#define FS_MAX_FACES 1000  /* upper bound of fs_engine_opts.max_faces */

typedef enum fs_detector_kind {
    FS_DETECTOR_SSD = 0,  /* SSD MobileNet v1, the reference detector */
    FS_DETECTOR_TINY      /* TinyFaceDetector: faster, less accurate */
} fs_detector_kind;

/* How the recognition net's 150x150 input is cut from the photo. */
typedef enum fs_align_kind {
    FS_ALIGN_REF = 0,  /* the reference's axis-aligned square around the eyes
                          and mouth (face-api's "dlib alignment" rectangle) */
    FS_ALIGN_CHIP      /* dlib's face chip: the landmarks mapped by a
                          least-squares similarity onto dlib's mean face
                          shape (150 px, padding 0.25), so the face is
                          upright and at a fixed scale */
} fs_align_kind;

/* The recognition network(s) behind a descriptor. */
typedef enum fs_recognizer {
    FS_REC_RESNET128 = 0, /* face-api's port of dlib's ResNet: 128-D */
    FS_REC_MFN512,        /* the ONNX MobileFaceNet-style ArcFace net: 512-D */
    FS_REC_FUSION         /* both: [sqrt(1-w) u128, sqrt(w) u512], 640-D, so
                             the cosine is (1-w) cos128 + w cos512 */
} fs_recognizer;

/* Parses "resnet128", "mfn512" or "fusion".  FS_OK or FS_EUSAGE. */
int fs_recognizer_parse(const char *name, fs_recognizer *r, fs_error *err);

/* Name of a recogniser (as parsed). */
const char *fs_recognizer_name(fs_recognizer r);

/* Descriptor length of a recogniser: 128, 512 or 640. */
int fs_recognizer_dim(fs_recognizer r);

/* Engine options; initialise with fs_engine_opts_init, then adjust.  Every
 * option left at its fs_engine_opts_init value gives the reference pipeline
 * (face-api), bit for bit; the others are facesearch's additions. */
typedef struct fs_engine_opts {
    fs_detector_kind detector;
    float min_score;   /* keep detections scoring strictly above this (0.5) */
    int max_faces;     /* at most this many faces per photo (100; up to
                          FS_MAX_FACES) */
    int input_size;    /* detector input side in pixels; 0 = the detector's
                          default (SSD: 512; tiny: 416).  SSD: a multiple of
                          32 from 128 to 1024; tiny: a multiple of 32 from 64
                          to 1024 */
    /* Additions (0 = off, as in the reference): */
    int fit_input;     /* a photo smaller than the input is not upscaled: it
                          runs at the smallest multiple of 32 (at least 128)
                          that holds it, at its own scale */
    int tile_size;     /* > 0: a photo larger than this is also searched in
                          overlapping square tiles of this side (photo
                          pixels), each at the detector's input size, for
                          faces too small for the whole-photo pass; the
                          detections of all passes are merged */
    int fallback;      /* when no face is found, detect again on the photo
                          padded by half its size on every side (tightly
                          cropped faces: ID photos, LFW); such faces carry
                          FS_FACE_FALLBACK */
    int landmark_flip; /* landmarks = mean of the crop's and its mirror
                          image's (each point with its mirrored partner):
                          steadier points, better aligned chips (LFW A-M
                          eval ident rank-1 98.71 -> 98.97 % with mfn512);
                          costs a second landmark pass */
    fs_recognizer recognizer; /* FS_REC_RESNET128 (the reference's) */
    float fusion_weight;  /* FS_REC_FUSION: weight of the 512-D net's cosine,
                             0 < w < 1 (0.5) */
    fs_align_kind align;  /* the 128-D net's input (FS_ALIGN_REF); the 512-D
                             net always takes the 5-point ArcFace chip */
    int flip;          /* descriptor = mean of the face's and its mirror
                          image's descriptors (costs a second recognition
                          pass) */
    fs_precision precision; /* conv arithmetic of every net (nn.h): FS_PREC_FP32
                          (the reference's; the default here), BF16 or AUTO */
} fs_engine_opts;

/* Fills o with the reference pipeline's options (SSD at 512, 0.5, 100 faces,
 * reference crop, every addition off, fp32).  The product defaults, chosen by
 * measurement (docs/accuracy.md, docs/benchmarks.md), are in
 * configs/default.conf: fit_input, fallback, chip alignment, flip, precision
 * auto. */
void fs_engine_opts_init(fs_engine_opts *o);

/* Parses a detector name ("ssd" or "tiny").  Returns FS_OK or FS_EUSAGE. */
int fs_detector_parse(const char *name, fs_detector_kind *kind, fs_error *err);

/* Name of a detector kind ("ssd", "tiny"). */
const char *fs_detector_name(fs_detector_kind kind);

/* An integer pixel rectangle. */
typedef struct fs_rect {
    int x, y, w, h;
} fs_rect;

/* fs_face.flags */
enum {
    FS_FACE_LANDMARKS = 1,    /* landmarks and landmark_crop are set */
    FS_FACE_DESCRIPTOR = 2,   /* descriptor and descriptor_crop are set */
    FS_FACE_EMPTY_CROP = 4,   /* the descriptor crop fell outside the photo: the
                                 descriptor is all zeros (as in the reference) */
    FS_FACE_FALLBACK = 8      /* found by the tight-crop fallback (the photo
                                 padded, see fs_engine_opts.fallback), not by
                                 the main detector passes */
};

/* One face.  Coordinates are image pixels of the decoded photo, x right,
 * y down, with (0,0) the top-left corner of the top-left pixel.  They are
 * double because the integer crops of the later stages are floors of them,
 * computed (as in the reference) in double precision. */
typedef struct fs_face {
    double x, y, w, h;  /* detection box (the reference's float box; may extend
                           past the photo's bottom/right edge slightly) */
    float score;        /* detection confidence, 0..1 */
    int flags;          /* FS_FACE_* */
    fs_rect landmark_crop;    /* the crop fed to the landmark net */
    fs_rect descriptor_crop;  /* the crop fed to the recognition net */
    double landmarks[FS_LANDMARKS][2]; /* iBUG-68 points (x, y) */
    float descriptor[FS_DESCRIPTOR_MAX]; /* the first fs_engine_descriptor_dim
                                            values, unit length (or all zero:
                                            FS_FACE_EMPTY_CROP) */
} fs_face;

/* What fs_worker_faces computes (bit mask). */
enum {
    FS_STAGE_DETECT = 1,
    FS_STAGE_LANDMARKS = 2,   /* implies DETECT */
    FS_STAGE_DESCRIPTOR = 4,  /* implies LANDMARKS */
    FS_STAGE_ALL = 7
};

typedef struct fs_engine fs_engine;
typedef struct fs_worker fs_worker;

/*
 * Loads the detector chosen in opts (NULL: defaults), the landmark net and
 * the recognition net from models_dir and builds their plans.  Every weight
 * tensor is checked by name and shape.  The engine is immutable afterwards.
 * Errors: FS_EMODEL (missing, truncated or mismatched weight file, named),
 * FS_EUSAGE (bad option), FS_ENOMEM.
 */
int fs_engine_create(const char *models_dir, const fs_engine_opts *opts,
                     fs_engine **out, fs_error *err);

/* Frees the engine; all its workers must have been destroyed.  NULL is a
 * no-op. */
void fs_engine_destroy(fs_engine *e);

/* The options the engine was created with. */
const fs_engine_opts *fs_engine_options(const fs_engine *e);

/* A stable identifier of the models in use, e.g.
 * "face-api-1.7.15/ssd_mobilenetv1+face_landmark_68+face_recognition". */
const char *fs_engine_model_id(const fs_engine *e);

/* Length of the engine's descriptors (fs_recognizer_dim of its recogniser). */
int fs_engine_descriptor_dim(const fs_engine *e);

/*
 * A short stable name of everything in the engine's options that changes
 * what a face's descriptor is: the recogniser, then for the 128-D net its
 * alignment ("ref" or "chip"), for the fusion its weight, then "+flip" when
 * flip-averaged -- e.g. "resnet128/chip+flip", "mfn512/arcface+flip",
 * "fusion@0.50/chip+flip".  Descriptors of
 * different modes must not be compared or indexed together: a database
 * records it and refuses vectors of another mode.  (Detector options move
 * boxes, hence descriptors slightly, as any re-detection does, but do not
 * change the descriptor space; they are not part of the mode.)  Owned by e.
 */
const char *fs_engine_descriptor_mode(const fs_engine *e);

/* Weight files in use: returns how many; for 0 <= i < count, *file gets the
 * file name and *sha256 its checksum as 64 hex digits (owned by e). */
int fs_engine_weight_files(const fs_engine *e, int i, const char **file,
                           const char **sha256);

/* The precision the nets actually run at: FS_PREC_FP32 or FS_PREC_BF16
 * (bf16 and auto requests fall back to fp32 on a CPU without AVX-512 BF16). */
fs_precision fs_engine_precision(const fs_engine *e);

/* Floating-point operations of one pass of each net: detector (at its input
 * size), landmark net, recognition net(s) (both, for the fusion; once, without
 * the flip's second pass). */
void fs_engine_flops(const fs_engine *e, double *detector, double *landmarks,
                     double *descriptor);

/* Creates a worker (per-thread buffers) for e.  Errors: FS_ENOMEM. */
int fs_worker_create(const fs_engine *e, fs_worker **out, fs_error *err);

/* Frees the worker; NULL is a no-op. */
void fs_worker_destroy(fs_worker *w);

/*
 * The full chain on one decoded photo: detection, then per face (in
 * detection order, best score first) landmarks and descriptor, as selected by
 * `stages`.  Writes min(found, cap) faces to faces[] (caller-owned) and that
 * count to *n.  A photo without faces is not an error (*n = 0).
 * Errors: FS_EUSAGE (empty image), FS_ENOMEM (crop buffer growth).
 */
int fs_worker_faces(fs_worker *w, const fs_image *img, int stages,
                    fs_face *faces, int cap, int *n, fs_error *err);

/* The stages one by one (what fs_worker_faces chains), for stage-isolated
 * checks and future alignment modes. */

/* Detection only: sets x, y, w, h, score (flags = 0) of up to cap faces. */
int fs_worker_detect(fs_worker *w, const fs_image *img, fs_face *faces,
                     int cap, int *n, fs_error *err);

/* Landmarks of a detected face: derives landmark_crop from the box, then as
 * fs_worker_landmarks_in. */
int fs_worker_landmarks(fs_worker *w, const fs_image *img, fs_face *face,
                        fs_error *err);

/* Landmarks from a given crop (the box's x, y -- clipped at 0 -- still shift
 * the points, as in the reference).  Sets landmark_crop, landmarks,
 * FS_FACE_LANDMARKS.
 * Errors: FS_EUSAGE (crop not inside the photo or empty), FS_ENOMEM. */
int fs_worker_landmarks_in(fs_worker *w, const fs_image *img, fs_rect crop,
                           fs_face *face, fs_error *err);

/* Descriptor of a face with landmarks, by the engine's alignment: with
 * FS_ALIGN_REF derives descriptor_crop from them (the reference's "dlib
 * alignment" rectangle), then as fs_worker_descriptor_in; with
 * FS_ALIGN_CHIP warps the chip (fs_face_chip_transform) and sets
 * descriptor_crop to the chip's bounding rectangle in the photo.  With flip,
 * the mean of the input's and its mirror image's descriptors. */
int fs_worker_descriptor(fs_worker *w, const fs_image *img, fs_face *face,
                         fs_error *err);

/* Descriptor from a given crop, reference style (centred square padding,
 * resize), flip-averaged when the engine flips, whatever its alignment.
 * Sets descriptor_crop, descriptor, FS_FACE_DESCRIPTOR; an empty crop gives
 * the zero descriptor and FS_FACE_EMPTY_CROP.  Errors: FS_EUSAGE (crop
 * outside the photo), FS_ENOMEM. */
int fs_worker_descriptor_in(fs_worker *w, const fs_image *img, fs_rect crop,
                            fs_face *face, fs_error *err);

/* Accumulated wall time per stage since the worker was created or reset. */
typedef struct fs_stage_times {
    double detect_s, landmarks_s, descriptor_s;
    long photos, faces_landmarked, faces_described;
} fs_stage_times;

void fs_worker_times(const fs_worker *w, fs_stage_times *t);
void fs_worker_reset_times(fs_worker *w);

/*
 * Least-squares similarity (rotation, uniform scale, translation; no
 * reflection) mapping n >= 2 points `from` onto `to`: minimises
 * sum |to_i - M from_i|^2 with M = {a, b, c, d, e, f}, x' = a x + b y + c,
 * y' = d x + e y + f, a = e, b = -d (Umeyama's closed form).  A similarity
 * is recovered exactly (up to rounding).  Errors: FS_EUSAGE when the `from`
 * points coincide or the fit degenerates to scale 0.
 */
int fs_similarity_fit(int n, const double (*from)[2], const double (*to)[2], double m[6]);

/*
 * The chip alignment of a face with landmarks: the map from pixel indices of
 * the 150x150 recognition input to pixel indices of the photo (the form
 * fs_warp_affine_u8 takes), fitted to dlib's mean face shape (see
 * FS_ALIGN_CHIP).  Errors: FS_EUSAGE (no landmarks, degenerate fit).
 */
int fs_face_chip_transform(const fs_face *face, double m[6]);

/*
 * The ArcFace alignment of a face with landmarks, for the 512-D net: five
 * points made from the 68 -- each eye's centre (mean of its six points,
 * 36-41 and 42-47), the nose tip (30), the mouth corners (48, 54) -- mapped
 * by a least-squares similarity onto InsightFace's 112x112 template; m maps
 * chip pixel indices to photo pixel indices.  Errors: FS_EUSAGE.
 */
int fs_face_arcface_transform(const fs_face *face, double m[6]);

/* The five ArcFace points of a face's 68 landmarks, in its coordinates. */
void fs_face_five_points(const double lm[FS_LANDMARKS][2], double pts[5][2]);

/* Cosine similarity of two unit descriptors of dim values (their dot
 * product, in double): 1 identical, about 0 unrelated.  An all-zero
 * descriptor (an empty crop) has similarity 0 with everything. */
float fs_descriptor_similarity(const float *a, const float *b, int dim);

/* Scales v (dim values) to unit length; an all-zero vector stays zero. */
void fs_descriptor_normalize(float *v, int dim);

/* Re-weights a fused descriptor (FS_REC_FUSION: 128 + 512 values, its unit
 * parts scaled by sqrt(1-w0) and sqrt(w0)) to weight w, 0 <= w <= 1, in
 * place: dot products become those of the fusion at w (w = 0: resnet128's
 * cosine alone, 1: mfn512's).  Needs 0 < w0 < 1. */
void fs_fusion_reweight(float *v, double w0, double w);

/* The face a single-subject photo (LFW, an ID photo) is about, among n
 * boxes {x, y, w, h}: of the boxes containing the photo's centre the largest,
 * else the box whose centre is nearest the photo's centre.  Returns its
 * index, or -1 when n <= 0. */
int fs_face_central(const float (*box)[4], int n, int width, int height);

/* Intersection over union of two boxes {x, y, w, h}; 0 when they do not
 * overlap or both are empty. */
double fs_box_iou(const float a[4], const float b[4]);

#endif
