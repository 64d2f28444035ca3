/*
 * Input normalisations, written as the reference's float32 tensor ops so the
 * network inputs match bit for bit: SSD tf.sub(tf.div(x, 127.5), 1); the
 * face nets and the tiny detector subtract a per-channel mean, then divide
 * by 255.  The 512-D ArcFace net takes (v - 127.5) / 128 (its npm package
 * subtracts 127, a 0.4 % shift we do not copy) in BGR order: its package
 * feeds RGB, but on LFW A-M BGR identifies far better (eval ident rank-1
 * 98.8 % vs 98.2 %, TPIR at FPIR 1 % 93.8 % vs 88.2 %, docs/accuracy.md) --
 * the network was trained on OpenCV-decoded (BGR) chips.
 */
#include "face_internal.h"

const float fs_face_mean[3] = {122.782f, 117.001f, 104.298f};
const float fs_tiny_mean[3] = {117.001f, 114.697f, 97.404f};

void fs_norm_ssd(float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        x[i] = x[i] / 127.5f - 1.0f;
}

void fs_norm_mean(float *x, size_t pixels, const float mean[3])
{
    for (size_t i = 0; i < pixels; i++)
        for (int c = 0; c < 3; c++)
            x[3 * i + c] = (x[3 * i + c] - mean[c]) / 255.0f;
}

void fs_norm_arcface(float *x, size_t pixels)
{
    for (size_t i = 0; i < pixels; i++) {
        float r = x[3 * i], g = x[3 * i + 1], b = x[3 * i + 2];
        x[3 * i] = (b - 127.5f) / 128.0f;
        x[3 * i + 1] = (g - 127.5f) / 128.0f;
        x[3 * i + 2] = (r - 127.5f) / 128.0f;
    }
}
