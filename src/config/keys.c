/*
 * The configuration schema: every tunable facesearch has.  configs/default.conf
 * must list the same keys with the same defaults (tests/test_config.c checks).
 * Later stages append their keys here.
 */
#include "facesearch/config.h"
#include "facesearch/scan.h"

static const fs_config_key keys[] = {
    /* name, type, default, min, max, choices, doc */
    {"paths.models", FS_CFG_STRING, "models", 0, 0, NULL,
     "directory holding the model weights (make models)"},
    {"paths.db", FS_CFG_STRING, "index", 0, 0, NULL,
     "database directory (faces.mdb, faces.faiss)"},
    {"decode.max_pixels", FS_CFG_INT, "100000000", 1, 1e12, NULL,
     "refuse photos with more pixels than this, before decoding"},
    {"decode.max_file_bytes", FS_CFG_INT, "268435456", 1, 1e12, NULL,
     "refuse photo files larger than this"},
    {"decode.apply_orientation", FS_CFG_BOOL, "true", 0, 0, NULL,
     "rotate photos upright according to their EXIF orientation"},
    {"scan.extensions", FS_CFG_STRING, FS_SCAN_EXTENSIONS, 0, 0, NULL,
     "photo extensions a folder walk takes (ingest --all-files tries every file)"},
    {"run.threads", FS_CFG_INT, "0", 0, 1024, NULL,
     "worker threads; 0 = all cores"},
    {"detect.detector", FS_CFG_ENUM, "ssd", 0, 0, "ssd|tiny",
     "face detector: ssd (SSD MobileNet v1, the reference) or tiny (faster)"},
    {"detect.min_score", FS_CFG_REAL, "0.5", 0, 0.999, NULL,
     "keep detections scoring above this"},
    {"detect.max_faces", FS_CFG_INT, "1000", 1, 1000, NULL,
     "at most this many faces per photo"},
    {"detect.input_size", FS_CFG_INT, "0", 0, 1024, NULL,
     "detector input side in px, a multiple of 32; 0 = default (ssd 512, tiny 416)"},
    {"detect.fit_input", FS_CFG_BOOL, "true", 0, 0, NULL,
     "photos smaller than the input run at their own scale on a smaller input"},
    {"detect.tile_size", FS_CFG_INT, "0", 0, 65535, NULL,
     "also search overlapping tiles of this side (px) for small faces; 0 = off"},
    {"detect.landmark_flip", FS_CFG_BOOL, "true", 0, 0, NULL,
     "landmarks averaged with the mirror image's (steadier alignment; a second landmark pass)"},
    {"detect.fallback", FS_CFG_BOOL, "true", 0, 0, NULL,
     "no face found: retry on the photo padded on every side (tight crops)"},
    {"descriptor.recognizer", FS_CFG_ENUM, "mfn512", 0, 0, "resnet128|mfn512|fusion",
     "recognition net: resnet128 (face-api's 128-D ResNet), mfn512 (the 512-D ArcFace "
     "MobileFaceNet) or fusion (both, cosines mixed by descriptor.fusion_weight)"},
    {"descriptor.fusion_weight", FS_CFG_REAL, "0.5", 0.05, 0.95, NULL,
     "the 512-D net's share of a fused cosine similarity"},
    {"descriptor.align", FS_CFG_ENUM, "chip", 0, 0, "ref|chip",
     "the 128-D net's input: ref (face-api's crop) or chip (dlib's aligned chip)"},
    {"descriptor.flip", FS_CFG_BOOL, "false", 0, 0, NULL,
     "average each descriptor with its mirror image's (2x recognition cost; helps resnet128, "
     "not mfn512)"},
    {"nn.precision", FS_CFG_ENUM, "auto", 0, 0, "fp32|bf16|auto",
     "conv arithmetic: fp32 (the reference's), bf16 (AVX-512 BF16; fp32 on other CPUs) or "
     "auto (bf16 where available: the same LFW A-M accuracy, 2-3x faster; docs/accuracy.md)"},
    {"verify.threshold", FS_CFG_REAL, "0", 0, 1, NULL,
     "same person when the cosine similarity is at least this; 0 = the recognizer's own "
     "(verify.resnet128, verify.mfn512, verify.fusion)"},
    {"verify.resnet128", FS_CFG_REAL, "0.912", 0, 1, NULL,
     "resnet128's verification threshold: the mean 10-fold LFW A-M threshold"},
    {"verify.mfn512", FS_CFG_REAL, "0.279", 0, 1, NULL,
     "mfn512's verification threshold: the mean 10-fold LFW A-M threshold"},
    {"verify.fusion", FS_CFG_REAL, "0.588", 0, 1, NULL,
     "the fusion's verification threshold: the mean 10-fold LFW A-M threshold"},
    {"query.k", FS_CFG_INT, "10", 1, 10000, NULL,
     "matches shown per query face"},
    {"query.threshold", FS_CFG_REAL, "0", 0, 1, NULL,
     "a match is marked when its cosine similarity is at least this; 0 = the recognizer's "
     "own (query.resnet128, query.mfn512, query.fusion)"},
    {"query.resnet128", FS_CFG_REAL, "0.962", 0, 1, NULL,
     "resnet128's match threshold: FPIR 1 % in `eval ident` on LFW A-M"},
    {"query.mfn512", FS_CFG_REAL, "0.517", 0, 1, NULL,
     "mfn512's match threshold: FPIR 1 % in `eval ident` on LFW A-M"},
    {"query.fusion", FS_CFG_REAL, "0.746", 0, 1, NULL,
     "the fusion's match threshold: FPIR 1 % in `eval ident` on LFW A-M"},
    {"dedup.threshold", FS_CFG_REAL, "0", 0, 1, NULL,
     "link faces whose cosine similarity is at least this; 0 = the recognizer's own "
     "(dedup.resnet128, dedup.mfn512, dedup.fusion)"},
    {"dedup.resnet128", FS_CFG_REAL, "0.953", 0, 1, NULL,
     "resnet128's link threshold: the LFW A-M pair threshold at FAR 1e-3"},
    {"dedup.mfn512", FS_CFG_REAL, "0.490", 0, 1, NULL,
     "mfn512's link threshold: the LFW A-M pair threshold at FAR 1e-3"},
    {"dedup.fusion", FS_CFG_REAL, "0.709", 0, 1, NULL,
     "the fusion's link threshold: the LFW A-M pair threshold at FAR 1e-3"},
    {"dedup.nprobe", FS_CFG_INT, "0", 0, 1000000, NULL,
     "IVF lists visited per face of the dedup graph; 0 = a 64th of the lists"},
    {"dedup.k", FS_CFG_INT, "30", 1, 1000, NULL,
     "neighbours searched per face for the dedup graph (30: with 10, Chinese whispers "
     "split large identities depending on its visiting order)"},
    {"dedup.min_faces", FS_CFG_INT, "2", 1, 1000000, NULL,
     "report groups of at least this many faces"},
    {"label.method", FS_CFG_ENUM, "softmax", 0, 0, "template|svm|softmax",
     "how facesearch label names faces: softmax (multinomial logistic regression: the best "
     "open-set figures on LFW A-M, docs/accuracy.md), svm (one-vs-rest linear SVMs) or "
     "template (nearest person by their examples; used when fewer than three people)"},
    {"label.far", FS_CFG_REAL, "0.01", 0.0001, 0.5, NULL,
     "open set: the share of strangers' faces that may be named (false accepts); the "
     "threshold is set on impostor scores of the enrolled people"},
    {"label.augment", FS_CFG_BOOL, "true", 0, 0, NULL,
     "train on the augmented descriptors person add --augment made, where there are any"},
    {"label.augment_variants", FS_CFG_STRING, "flip", 0, 0, NULL,
     "which augmented descriptors label --augment trains on, of flip, rot+10, rot-10, half, "
     "blur, bright, dark (person add --augment stores all)"},
    {"index.factory", FS_CFG_STRING, "auto", 0, 0, NULL,
     "FAISS index_factory string, or auto (by collection size)"},
    {"index.train_size", FS_CFG_INT, "0", 0, 100000000, NULL,
     "training sample size; 0 = 256 per IVF list, at most 1M"},
    {"index.nprobe", FS_CFG_INT, "0", 0, 1000000, NULL,
     "IVF lists visited per query (recall vs speed); 0 = a sixteenth of the lists"},
    {"index.ef_search", FS_CFG_INT, "128", 1, 100000, NULL,
     "HNSW candidate list size per query"},
    {"index.k_factor", FS_CFG_REAL, "4", 1, 1000, NULL,
     "re-ranked candidates per result for refined (RFlat) indexes"},
    {"ingest.batch_photos", FS_CFG_INT, "256", 1, 1000000, NULL,
     "commit to the database after this many photos ..."},
    {"ingest.batch_seconds", FS_CFG_REAL, "2", 0.01, 3600, NULL,
     "... or after this many seconds, whichever comes first"},
};

int fs_config_key_count(void)
{
    return (int)(sizeof keys / sizeof keys[0]);
}

const fs_config_key *fs_config_key_at(int i)
{
    return i >= 0 && i < fs_config_key_count() ? &keys[i] : (const fs_config_key *)0;
}
