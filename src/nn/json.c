/*
 * A strict JSON parser (RFC 8259) for weight manifests and test data.
 * Recursive descent over a length-bounded buffer (no NUL terminator needed),
 * nesting limited so hostile input cannot exhaust the stack.
 */
#include "facesearch/nn.h"

#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

struct fs_json {
    fs_json_type type;
    double num;      /* NUMBER, BOOL (0/1) */
    char *str;       /* STRING */
    size_t n;        /* ARRAY / OBJECT element count */
    fs_json *items;  /* ARRAY / OBJECT values */
    char **keys;     /* OBJECT keys */
};

typedef struct parser {
    const char *p, *end, *start;
    const char *what;
    fs_error *err;
    int failed;
} parser;

static int fail(parser *ps, const char *reason)
{
    if (!ps->failed) {
        ps->failed = 1;
        fs_fail(ps->err, FS_ECORRUPT, "%s: byte %zu: %s", ps->what,
                (size_t)(ps->p - ps->start), reason);
    }
    return -1;
}

static int oom(parser *ps)
{
    if (!ps->failed) {
        ps->failed = 1;
        fs_fail(ps->err, FS_ENOMEM, "%s: out of memory parsing JSON", ps->what);
    }
    return -1;
}

static void skip_ws(parser *ps)
{
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static void free_value(fs_json *j)
{
    if (j->type == FS_JSON_STRING)
        free(j->str);
    if (j->type == FS_JSON_ARRAY || j->type == FS_JSON_OBJECT) {
        for (size_t i = 0; i < j->n; i++) {
            free_value(&j->items[i]);
            if (j->keys)
                free(j->keys[i]);
        }
        free(j->items);
        free(j->keys);
    }
}

static int hex4(parser *ps, unsigned *out)
{
    if (ps->end - ps->p < 4)
        return fail(ps, "truncated \\u escape");
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *ps->p++;
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return fail(ps, "bad hex digit in \\u escape");
    }
    *out = v;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string at ps->p (which is at the opening quote) into a malloc'ed
 * NUL-terminated buffer.  Escapes never expand, so the raw length bounds the
 * decoded one. */
static char *parse_string(parser *ps)
{
    ps->p++; /* opening quote */
    const char *q = ps->p;
    while (q < ps->end && *q != '"') {
        if (*q == '\\')
            q++;
        q++;
    }
    if (q >= ps->end) {
        fail(ps, "unterminated string");
        return NULL;
    }
    char *out = malloc((size_t)(q - ps->p) + 1);
    if (!out) {
        oom(ps);
        return NULL;
    }
    size_t n = 0;
    while (*ps->p != '"') {
        unsigned char c = (unsigned char)*ps->p++;
        if (c < 0x20) {
            ps->p--;
            fail(ps, "control character in string");
            free(out);
            return NULL;
        }
        if (c != '\\') {
            out[n++] = (char)c;
            continue;
        }
        char e = *ps->p++;
        unsigned cp;
        switch (e) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u':
            if (hex4(ps, &cp) < 0) {
                free(out);
                return NULL;
            }
            if (cp >= 0xD800 && cp < 0xDC00) {
                unsigned lo;
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u') {
                    fail(ps, "unpaired surrogate in \\u escape");
                    free(out);
                    return NULL;
                }
                ps->p += 2;
                if (hex4(ps, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
                    fail(ps, "bad surrogate pair in \\u escape");
                    free(out);
                    return NULL;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                fail(ps, "unpaired surrogate in \\u escape");
                free(out);
                return NULL;
            }
            /* A 6-byte escape yields at most 3 bytes, a 12-byte pair 4. */
            n += put_utf8(out + n, cp);
            break;
        default:
            ps->p--;
            fail(ps, "bad escape in string");
            free(out);
            return NULL;
        }
    }
    ps->p++; /* closing quote */
    out[n] = '\0';
    return out;
}

static int parse_number(parser *ps, double *out)
{
    const char *s = ps->p, *q = s;
    if (q < ps->end && *q == '-')
        q++;
    if (q >= ps->end || *q < '0' || *q > '9')
        return fail(ps, "bad number");
    if (*q == '0')
        q++;
    else
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    if (q < ps->end && *q == '.') {
        q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail(ps, "bad number: digit expected after '.'");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail(ps, "bad number: digit expected in exponent");
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    /* strtod needs a terminated copy: the buffer need not be. */
    size_t len = (size_t)(q - s);
    char small[64], *buf = small;
    if (len >= sizeof small && !(buf = malloc(len + 1)))
        return oom(ps);
    memcpy(buf, s, len);
    buf[len] = '\0';
    *out = strtod(buf, NULL);
    if (buf != small)
        free(buf);
    ps->p = q;
    return 0;
}

static int parse_value(parser *ps, fs_json *v, int depth);

static int push(parser *ps, fs_json *v, size_t *cap, fs_json **item, char *key)
{
    if (v->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 8;
        fs_json *ni = realloc(v->items, nc * sizeof *ni);
        if (!ni)
            return oom(ps);
        v->items = ni;
        if (v->type == FS_JSON_OBJECT) {
            char **nk = realloc(v->keys, nc * sizeof *nk);
            if (!nk)
                return oom(ps);
            v->keys = nk;
        }
        *cap = nc;
    }
    *item = &v->items[v->n];
    memset(*item, 0, sizeof **item);
    if (v->keys)
        v->keys[v->n] = key;
    v->n++;
    return 0;
}

static int parse_container(parser *ps, fs_json *v, int depth)
{
    int is_obj = *ps->p == '{';
    char close = is_obj ? '}' : ']';
    v->type = is_obj ? FS_JSON_OBJECT : FS_JSON_ARRAY;
    ps->p++;
    size_t cap = 0;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return 0;
    }
    for (;;) {
        char *key = NULL;
        skip_ws(ps);
        if (is_obj) {
            if (ps->p >= ps->end || *ps->p != '"')
                return fail(ps, "object key expected");
            if (!(key = parse_string(ps)))
                return -1;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                free(key);
                return fail(ps, "':' expected");
            }
            ps->p++;
        }
        fs_json *item;
        if (push(ps, v, &cap, &item, key) < 0) {
            free(key);
            return -1;
        }
        if (parse_value(ps, item, depth + 1) < 0)
            return -1;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            return 0;
        }
        return fail(ps, is_obj ? "',' or '}' expected" : "',' or ']' expected");
    }
}

static int literal(parser *ps, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail(ps, "unexpected character");
    ps->p += n;
    return 0;
}

static int parse_value(parser *ps, fs_json *v, int depth)
{
    if (depth > MAX_DEPTH)
        return fail(ps, "nesting too deep");
    skip_ws(ps);
    if (ps->p >= ps->end)
        return fail(ps, "unexpected end of input");
    switch (*ps->p) {
    case '{':
    case '[':
        return parse_container(ps, v, depth);
    case '"':
        v->type = FS_JSON_STRING;
        return (v->str = parse_string(ps)) ? 0 : -1;
    case 't':
        v->type = FS_JSON_BOOL;
        v->num = 1;
        return literal(ps, "true");
    case 'f':
        v->type = FS_JSON_BOOL;
        return literal(ps, "false");
    case 'n':
        v->type = FS_JSON_NULL;
        return literal(ps, "null");
    default:
        v->type = FS_JSON_NUMBER;
        return parse_number(ps, &v->num);
    }
}

int fs_json_parse(const char *text, size_t len, const char *what, fs_json **out,
                  fs_error *err)
{
    *out = NULL;
    parser ps = {text, text + len, text, what ? what : "JSON", err, 0};
    fs_json *root = calloc(1, sizeof *root);
    if (!root)
        return fs_fail(err, FS_ENOMEM, "%s: out of memory parsing JSON", ps.what);
    if (parse_value(&ps, root, 0) == 0) {
        skip_ws(&ps);
        if (ps.p != ps.end)
            fail(&ps, "trailing characters after the JSON value");
    }
    if (ps.failed) {
        fs_json_free(root);
        return err ? err->code : FS_ECORRUPT;
    }
    *out = root;
    return FS_OK;
}

void fs_json_free(fs_json *j)
{
    if (!j)
        return;
    free_value(j);
    free(j);
}

fs_json_type fs_json_kind(const fs_json *j) { return j ? j->type : FS_JSON_NULL; }

size_t fs_json_count(const fs_json *j)
{
    return j && (j->type == FS_JSON_ARRAY || j->type == FS_JSON_OBJECT) ? j->n : 0;
}

const fs_json *fs_json_at(const fs_json *j, size_t i)
{
    return i < fs_json_count(j) ? &j->items[i] : NULL;
}

const fs_json *fs_json_get(const fs_json *j, const char *key)
{
    if (!j || j->type != FS_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < j->n; i++)
        if (strcmp(j->keys[i], key) == 0)
            return &j->items[i];
    return NULL;
}

const char *fs_json_key(const fs_json *j, size_t i)
{
    return j && j->type == FS_JSON_OBJECT && i < j->n ? j->keys[i] : NULL;
}

double fs_json_number(const fs_json *j, double dflt)
{
    return j && j->type == FS_JSON_NUMBER ? j->num : dflt;
}

int fs_json_bool(const fs_json *j, int dflt)
{
    return j && j->type == FS_JSON_BOOL ? j->num != 0 : dflt;
}

const char *fs_json_string(const fs_json *j)
{
    return j && j->type == FS_JSON_STRING ? j->str : NULL;
}

int fs_json_numbers(const fs_json *j, double *out, size_t n, const char *what,
                    fs_error *err)
{
    if (fs_json_kind(j) != FS_JSON_ARRAY || j->n != n)
        return fs_fail(err, FS_ECORRUPT, "%s: expected an array of %zu numbers", what, n);
    for (size_t i = 0; i < n; i++) {
        if (j->items[i].type != FS_JSON_NUMBER)
            return fs_fail(err, FS_ECORRUPT, "%s: element %zu is not a number", what, i);
        out[i] = j->items[i].num;
    }
    return FS_OK;
}
