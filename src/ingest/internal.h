/* Private to src/ingest. */
#ifndef FS_INGEST_INTERNAL_H
#define FS_INGEST_INTERNAL_H

#include "facesearch/image.h"

/* Sharpness of a face region: variance of the 4-neighbour Laplacian of the
 * luma over the box (clipped to the photo), sampled on a grid of at most
 * 64x64 points so the cost is independent of the face size.  Blurry or
 * upscaled faces score low; useful to rank or filter faces. */
float fs_face_sharpness(const fs_image *img, const float box[4]);

#endif
