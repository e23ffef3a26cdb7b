/* Strict RFC 8259 JSON: recursive descent with a depth limit (so recursion is bounded), a node budget
 * and exact error positions. See json.h for what "strict" rejects. */
#include "core/json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

struct tsr_json_doc {
    tsr_json root;
};

typedef struct parser {
    const unsigned char *s;
    size_t len, pos;
    int depth, max_depth;
    size_t nodes, max_nodes;
    const char *label;
    tsr_error *err;
    tsr_status status;
} parser;

static tsr_status perr(parser *p, size_t at, tsr_status st, const char *what)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < at && i < p->len; i++) {
        if (p->s[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    p->status = st;
    return tsr_fail(p->err, st, "%s: invalid JSON at byte %zu (line %zu, column %zu): %s", p->label, at, line, col,
                    what);
}

static void skip_ws(parser *p)
{
    while (p->pos < p->len) {
        unsigned char c = p->s[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r') break;
        p->pos++;
    }
}

static void node_free(tsr_json *v)
{
    if (v->type == TSR_JSON_STRING) free(v->str);
    if (v->type == TSR_JSON_ARRAY || v->type == TSR_JSON_OBJECT) {
        for (size_t i = 0; i < v->count; i++) {
            node_free(&v->items[i]);
            if (v->keys) free(v->keys[i]);
        }
        free(v->items);
        free(v->keys);
        free(v->key_lens);
    }
}

static tsr_status parse_value(parser *p, tsr_json *v);

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static bool read_hex4(parser *p, size_t at, unsigned *out)
{
    if (at + 4 > p->len) return false;
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->s[at + (size_t)i]);
        if (h < 0) return false;
        v = v * 16 + (unsigned)h;
    }
    *out = v;
    return true;
}

static size_t put_utf8(char *dst, unsigned cp)
{
    if (cp < 0x80) {
        dst[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        dst[0] = (char)(0xc0 | (cp >> 6));
        dst[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        dst[0] = (char)(0xe0 | (cp >> 12));
        dst[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        dst[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    dst[0] = (char)(0xf0 | (cp >> 18));
    dst[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    dst[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    dst[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Length of the valid UTF-8 sequence at s (n bytes available), 0 if invalid (overlong, surrogate, > U+10FFFF). */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t k;
    unsigned cp, min;
    if (c < 0x80) return 1;
    if ((c & 0xe0) == 0xc0) k = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0) k = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0) k = 4, cp = c & 0x07, min = 0x10000;
    else return 0;
    if (k > n) return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return k;
}

/* One escape after the backslash at p->pos; appends to dst, advances pos. */
static tsr_status parse_escape(parser *p, char *dst, size_t *o)
{
    size_t at = p->pos;
    if (at + 1 >= p->len) return perr(p, at, TSR_ERR_FORMAT, "unterminated escape");
    unsigned char c = p->s[at + 1];
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *k = c ? strchr(from, c) : NULL;
    if (k) {
        dst[(*o)++] = to[k - from];
        p->pos += 2;
        return TSR_OK;
    }
    if (c != 'u') return perr(p, at, TSR_ERR_FORMAT, "invalid escape sequence");
    unsigned cp, lo;
    if (!read_hex4(p, at + 2, &cp)) return perr(p, at, TSR_ERR_FORMAT, "invalid \\u escape");
    p->pos += 6;
    if (cp >= 0xdc00 && cp <= 0xdfff) return perr(p, at, TSR_ERR_FORMAT, "unpaired low surrogate");
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (p->pos + 1 >= p->len || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u' ||
            !read_hex4(p, p->pos + 2, &lo) || lo < 0xdc00 || lo > 0xdfff)
            return perr(p, at, TSR_ERR_FORMAT, "unpaired high surrogate");
        p->pos += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    *o += put_utf8(dst + *o, cp);
    return TSR_OK;
}

/* A string starting at the opening quote. Decoded text is never longer than the raw text. */
static tsr_status parse_string(parser *p, char **out, size_t *out_len)
{
    size_t start = p->pos++, end = p->pos;
    while (end < p->len && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len) return perr(p, start, TSR_ERR_FORMAT, "unterminated string");
    char *dst = malloc(end - start + 1);
    if (!dst) return perr(p, start, TSR_ERR_NOMEM, "out of memory");
    size_t o = 0;
    while (p->s[p->pos] != '"') {
        unsigned char c = p->s[p->pos];
        if (c < 0x20) {
            free(dst);
            return perr(p, p->pos, TSR_ERR_FORMAT, "control character in string");
        }
        if (c == '\\') {
            if (parse_escape(p, dst, &o) != TSR_OK) {
                free(dst);
                return p->status;
            }
            continue;
        }
        size_t k = utf8_len(p->s + p->pos, p->len - p->pos);
        if (k == 0) {
            free(dst);
            return perr(p, p->pos, TSR_ERR_FORMAT, "invalid UTF-8 in string");
        }
        memcpy(dst + o, p->s + p->pos, k);
        o += k;
        p->pos += k;
    }
    p->pos++;
    dst[o] = 0;
    *out = dst;
    *out_len = o;
    return TSR_OK;
}

static bool is_digit(parser *p, size_t i) { return i < p->len && p->s[i] >= '0' && p->s[i] <= '9'; }

/* RFC 8259 number grammar. The double is computed without strtod (locale-independent); integers exact. */
static tsr_status parse_number(parser *p, tsr_json *v)
{
    size_t at = p->pos, i = p->pos;
    bool neg = i < p->len && p->s[i] == '-';
    if (neg) i++;
    if (!is_digit(p, i)) return perr(p, at, TSR_ERR_FORMAT, "invalid number");
    if (p->s[i] == '0' && is_digit(p, i + 1)) return perr(p, at, TSR_ERR_FORMAT, "leading zero in number");
    double mant = 0;
    uint64_t u = 0;
    bool exact = true;
    while (is_digit(p, i)) {
        unsigned d = p->s[i++] - (unsigned)'0';
        mant = mant * 10 + d;
        if (u > (UINT64_MAX - d) / 10) exact = false;
        else u = u * 10 + d;
    }
    int exp10 = 0;
    if (i < p->len && p->s[i] == '.') {
        exact = false;
        if (!is_digit(p, ++i)) return perr(p, at, TSR_ERR_FORMAT, "digit expected after '.'");
        while (is_digit(p, i)) {
            mant = mant * 10 + (p->s[i++] - '0');
            if (exp10 > -100000) exp10--;
        }
    }
    if (i < p->len && (p->s[i] == 'e' || p->s[i] == 'E')) {
        exact = false;
        i++;
        bool eneg = i < p->len && (p->s[i] == '-' || p->s[i] == '+') ? p->s[i++] == '-' : false;
        if (!is_digit(p, i)) return perr(p, at, TSR_ERR_FORMAT, "digit expected in exponent");
        int e = 0;
        while (is_digit(p, i)) e = e < 100000 ? e * 10 + (p->s[i++] - '0') : (i++, e);
        exp10 += eneg ? -e : e;
    }
    double scale = 1, base = exp10 < 0 ? 0.1 : 10;
    for (int e = exp10 < 0 ? -exp10 : exp10; e > 0 && scale != 0 && scale < 1e308; e--) scale *= base;
    v->type = TSR_JSON_NUMBER;
    v->number = (neg ? -mant : mant) * scale;
    if (exact && (neg ? u <= (uint64_t)INT64_MAX + 1 : u <= (uint64_t)INT64_MAX)) {
        v->is_int = true;
        v->integer = neg ? (u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u) : (int64_t)u;
    }
    p->pos = i;
    return TSR_OK;
}

static tsr_status grow(parser *p, tsr_json *v, size_t *cap, bool keys)
{
    if (v->count < *cap) return TSR_OK;
    size_t n = *cap ? *cap * 2 : 4;
    tsr_json *it = realloc(v->items, n * sizeof *it);
    if (!it) return perr(p, p->pos, TSR_ERR_NOMEM, "out of memory");
    v->items = it;
    if (keys) {
        char **k = realloc(v->keys, n * sizeof *k);
        if (!k) return perr(p, p->pos, TSR_ERR_NOMEM, "out of memory");
        v->keys = k;
        size_t *kl = realloc(v->key_lens, n * sizeof *kl);
        if (!kl) return perr(p, p->pos, TSR_ERR_NOMEM, "out of memory");
        v->key_lens = kl;
    }
    *cap = n;
    return TSR_OK;
}

/* Array or object after its opening bracket; `obj` selects which. */
static tsr_status parse_container(parser *p, tsr_json *v, bool obj)
{
    size_t at = p->pos, cap = 0;
    char close = obj ? '}' : ']';
    v->type = obj ? TSR_JSON_OBJECT : TSR_JSON_ARRAY;
    if (++p->depth > p->max_depth) return perr(p, at, TSR_ERR_FORMAT, "nesting too deep");
    p->pos++;
    skip_ws(p);
    if (p->pos < p->len && p->s[p->pos] == close) {
        p->pos++;
        p->depth--;
        return TSR_OK;
    }
    for (;;) {
        skip_ws(p);
        if (grow(p, v, &cap, obj) != TSR_OK) return p->status;
        tsr_json *item = &v->items[v->count];
        memset(item, 0, sizeof *item);
        if (obj) {
            if (p->pos >= p->len || p->s[p->pos] != '"') return perr(p, p->pos, TSR_ERR_FORMAT, "object key expected");
            if (parse_string(p, &v->keys[v->count], &v->key_lens[v->count]) != TSR_OK) return p->status;
            v->count++; /* key owned from here; the value (zeroed) is freed safely on error */
            skip_ws(p);
            if (p->pos >= p->len || p->s[p->pos] != ':') return perr(p, p->pos, TSR_ERR_FORMAT, "':' expected");
            p->pos++;
            if (parse_value(p, item) != TSR_OK) return p->status;
        } else {
            v->count++;
            if (parse_value(p, item) != TSR_OK) return p->status;
        }
        skip_ws(p);
        if (p->pos < p->len && p->s[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->s[p->pos] == close) break;
        return perr(p, p->pos, TSR_ERR_FORMAT, obj ? "',' or '}' expected" : "',' or ']' expected");
    }
    p->pos++;
    p->depth--;
    return TSR_OK;
}

static tsr_status parse_literal(parser *p, tsr_json *v, const char *word, tsr_json_type t, bool b)
{
    size_t n = strlen(word);
    if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return perr(p, p->pos, TSR_ERR_FORMAT, "unexpected character");
    p->pos += n;
    v->type = t;
    v->boolean = b;
    return TSR_OK;
}

static tsr_status parse_value(parser *p, tsr_json *v)
{
    skip_ws(p);
    if (p->pos >= p->len) return perr(p, p->pos, TSR_ERR_FORMAT, "unexpected end of input");
    if (++p->nodes > p->max_nodes) return perr(p, p->pos, TSR_ERR_FORMAT, "too many values");
    v->offset = p->pos;
    switch (p->s[p->pos]) {
    case '{': return parse_container(p, v, true);
    case '[': return parse_container(p, v, false);
    case '"':
        if (parse_string(p, &v->str, &v->len) != TSR_OK) return p->status;
        v->type = TSR_JSON_STRING;
        return TSR_OK;
    case 't': return parse_literal(p, v, "true", TSR_JSON_BOOL, true);
    case 'f': return parse_literal(p, v, "false", TSR_JSON_BOOL, false);
    case 'n': return parse_literal(p, v, "null", TSR_JSON_NULL, false);
    default: return parse_number(p, v);
    }
}

tsr_status tsr_json_parse(const char *text, size_t len, const tsr_json_limits *limits, const char *label,
                          tsr_json_doc **out, tsr_error *err)
{
    *out = NULL;
    tsr_json_limits lim = {64, (size_t)256 << 20, (size_t)16 << 20};
    if (limits) {
        if (limits->max_depth > 0) lim.max_depth = limits->max_depth;
        if (limits->max_bytes > 0) lim.max_bytes = limits->max_bytes;
        if (limits->max_nodes > 0) lim.max_nodes = limits->max_nodes;
    }
    parser p = {(const unsigned char *)text, len, 0, 0, lim.max_depth, 0, lim.max_nodes,
                label ? label : "JSON", err, TSR_OK};
    if (len > lim.max_bytes)
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: JSON text of %zu bytes exceeds the %zu-byte limit", p.label, len,
                        lim.max_bytes);
    tsr_json_doc *doc = calloc(1, sizeof *doc);
    if (!doc) return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
    if (parse_value(&p, &doc->root) == TSR_OK) {
        skip_ws(&p);
        if (p.pos != p.len) perr(&p, p.pos, TSR_ERR_FORMAT, "unexpected data after the JSON value");
    }
    if (p.status != TSR_OK) {
        tsr_json_free(doc);
        return p.status;
    }
    *out = doc;
    return TSR_OK;
}

const tsr_json *tsr_json_root(const tsr_json_doc *doc) { return &doc->root; }

void tsr_json_free(tsr_json_doc *doc)
{
    if (!doc) return;
    node_free(&doc->root);
    free(doc);
}

const tsr_json *tsr_json_get(const tsr_json *obj, const char *key)
{
    if (!obj || obj->type != TSR_JSON_OBJECT) return NULL;
    size_t n = strlen(key);
    for (size_t i = 0; i < obj->count; i++)
        if (obj->key_lens[i] == n && memcmp(obj->keys[i], key, n) == 0) return &obj->items[i];
    return NULL;
}

const char *tsr_json_type_name(tsr_json_type t)
{
    static const char *names[] = {"null", "boolean", "number", "string", "array", "object"};
    return (unsigned)t < TSR_ARRAY_LEN(names) ? names[t] : "?";
}

/* ---------------------------------------------------------------- text buffer */

void tsr_sbuf_init(tsr_sbuf *b) { memset(b, 0, sizeof *b); }

void tsr_sbuf_free(tsr_sbuf *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void tsr_sbuf_append(tsr_sbuf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) {
            b->failed = true;
            return;
        }
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void tsr_sbuf_puts(tsr_sbuf *b, const char *s) { tsr_sbuf_append(b, s, strlen(s)); }

void tsr_sbuf_printf(tsr_sbuf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        tsr_sbuf_append(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    tsr_sbuf_append(b, big, (size_t)n);
    free(big);
}

void tsr_sbuf_json_str(tsr_sbuf *b, const char *s)
{
    tsr_sbuf_append(b, "\"", 1);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            char e[2] = {'\\', (char)*c};
            tsr_sbuf_append(b, e, 2);
        } else if (*c < 0x20) {
            tsr_sbuf_printf(b, "\\u%04x", *c);
        } else {
            tsr_sbuf_append(b, (const char *)c, 1);
        }
    }
    tsr_sbuf_append(b, "\"", 1);
}
