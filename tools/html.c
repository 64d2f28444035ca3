/* Self-contained HTML reports (see html.h). */
#include "html.h"

#include <math.h>
#include <stdlib.h>

void html_escape(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

static void base64(FILE *f, const uint8_t *p, size_t n)
{
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        fputc(tbl[v >> 18], f);
        fputc(tbl[(v >> 12) & 63], f);
        fputc(i + 1 < n ? tbl[(v >> 6) & 63] : '=', f);
        fputc(i + 2 < n ? tbl[v & 63] : '=', f);
    }
}

void html_begin(FILE *f, const char *title)
{
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>", f);
    html_escape(f, title);
    fputs("</title>\n<style>\n"
          "body{font:14px system-ui,sans-serif;margin:1.5em;background:#fafafa;color:#222}\n"
          "h1{font-size:1.3em} h2{font-size:1.05em;margin:1.2em 0 .4em}\n"
          ".row{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}\n"
          "figure{margin:0;padding:6px;background:#fff;border:1px solid #ddd;border-radius:6px;"
          "max-width:180px}\n"
          "figure img{display:block;border-radius:4px}\n"
          "figure.query{border:2px solid #3367d6}\n"
          "figcaption{font-size:12px;word-break:break-all;margin-top:4px}\n"
          "figcaption b{font-size:13px}\n"
          ".missing{width:120px;height:120px;background:#eee;display:flex;align-items:center;"
          "justify-content:center;color:#999}\n"
          "footer{margin-top:2em;color:#777;font-size:12px}\n"
          "</style></head><body>\n<h1>", f);
    html_escape(f, title);
    fputs("</h1>\n", f);
}

void html_row_begin(FILE *f, const char *heading)
{
    fputs("<h2>", f);
    html_escape(f, heading);
    fputs("</h2>\n<div class=\"row\">\n", f);
}

void html_row_end(FILE *f)
{
    fputs("</div>\n", f);
}

static void caption(FILE *f, const char *title, const char *detail)
{
    fputs("<figcaption>", f);
    if (title) {
        fputs("<b>", f);
        html_escape(f, title);
        fputs("</b>", f);
    }
    if (detail) {
        fputs("<br>", f);
        html_escape(f, detail);
    }
    fputs("</figcaption></figure>\n", f);
}

int html_face(FILE *f, const fs_image *photo, const float box[4], int side, int highlight,
              const char *title, const char *detail, fs_error *err)
{
    const char *open = highlight ? "<figure class=\"query\">" : "<figure>";
    if (!photo) {
        fputs(open, f);
        fputs("<div class=\"missing\">?</div>", f);
        caption(f, title, detail);
        return FS_OK;
    }
    float mx = box[2] * 0.25f, my = box[3] * 0.25f;
    int x = (int)floorf(box[0] - mx), y = (int)floorf(box[1] - my);
    int w = (int)ceilf(box[2] + 2 * mx), h = (int)ceilf(box[3] + 2 * my);
    fs_image crop = {0}, small = {0};
    int rc = fs_image_crop(photo, x, y, w, h, &crop, err);
    if (rc != FS_OK) {
        fputs(open, f);
        fputs("<div class=\"missing\">?</div>", f);
        caption(f, title, detail);
        return FS_OK; /* a face box outside the photo: show the caption anyway */
    }
    int th = side, tw = (int)lroundf((float)crop.width * (float)side / (float)crop.height);
    if (tw < 1)
        tw = 1;
    uint8_t *jpeg = NULL;
    size_t len = 0;
    rc = fs_image_resize(&crop, tw, th, &small, err);
    if (rc == FS_OK)
        rc = fs_image_encode_jpeg(&small, 85, &jpeg, &len, err);
    if (rc == FS_OK) {
        fprintf(f, "%s<img width=\"%d\" height=\"%d\" alt=\"face\" src=\"data:image/jpeg;base64,",
                open, tw, th);
        base64(f, jpeg, len);
        fputs("\">", f);
        caption(f, title, detail);
    }
    free(jpeg);
    fs_image_free(&crop);
    fs_image_free(&small);
    return rc;
}

void html_end(FILE *f)
{
    fputs("<footer id=\"status\">thumbnails: <span id=\"rendered\">?</span> of "
          "<span id=\"total\">?</span> rendered</footer>\n"
          "<script>\n"
          "window.addEventListener('load',function(){\n"
          "  var imgs=document.querySelectorAll('figure img'),ok=0;\n"
          "  imgs.forEach(function(i){var r=i.complete&&i.naturalWidth>0;"
          "i.dataset.rendered=r?'1':'0';if(r)ok++;});\n"
          "  document.getElementById('rendered').textContent=ok;\n"
          "  document.getElementById('total').textContent=imgs.length;\n"
          "  document.body.dataset.rendered=ok+'/'+imgs.length;\n"
          "});\n"
          "</script>\n</body></html>\n", f);
}
