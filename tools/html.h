/*
 * tools/html.h — self-contained HTML reports (query results, dedup groups).
 *
 * One page, no external resources: face thumbnails are cropped from their
 * photos, resized, JPEG-encoded and embedded as data: URIs.  A small inline
 * script marks each thumbnail once the browser has decoded it
 * (data-rendered="1"), and the page's footer counts them, so a broken
 * thumbnail is visible — and checkable in a headless browser.
 */
#ifndef FS_TOOLS_HTML_H
#define FS_TOOLS_HTML_H

#include <stdio.h>

#include "facesearch/image.h"

/* Writes the page head and opens <body>. */
void html_begin(FILE *f, const char *title);

/* Opens a row of faces with a heading (text, escaped). */
void html_row_begin(FILE *f, const char *heading);
void html_row_end(FILE *f);

/*
 * Writes one face figure: the box (x, y, w, h in photo pixels) widened by
 * 25 % each side, clipped, scaled to `side` pixels high, with caption lines
 * `title` and `detail` (escaped; either may be NULL); highlight frames it
 * (the query, a cluster's representative).  photo may be NULL (the photo
 * could not be read): a placeholder with the caption is written.
 * Errors: FS_ENOMEM, FS_EINTERNAL (encoder).
 */
int html_face(FILE *f, const fs_image *photo, const float box[4], int side, int highlight,
              const char *title, const char *detail, fs_error *err);

/* Closes the page (footer with the rendered-thumbnail count). */
void html_end(FILE *f);

/* Writes s with &, <, >, " escaped. */
void html_escape(FILE *f, const char *s);

#endif
