/* GGUF reader and writer (see gguf.h). The reader is a bounds-checked cursor over the mapping: every count is
 * checked against the bytes that remain before anything is allocated for it, every size is overflow-checked,
 * and the tensor table is validated as a whole (names, types, offsets, overlaps) before tensors are added.
 *
 * Tensors of more than 4 dimensions: ggml allows at most 4, so, like ComfyUI-GGUF, the writer stores them
 * flattened to [shape0, rest] and records the PyTorch shape in "comfy.gguf.orig_shape.<name>" (array of
 * int32); the reader applies such keys (numel must match) and also accepts native n_dims up to 8. */
#include "model/gguf.h"

#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/file.h"
#include "core/half.h"
#include "core/json.h"

#define GGUF_DEFAULT_ALIGN 32u
#define GGUF_MAX_NAME 1024
#define GGUF_MAX_ARRAY_DEPTH 4
#define GGUF_RENDER_ITEMS 16
#define GGUF_RENDER_CHARS 2048
#define ORIG_SHAPE_KEY "comfy.gguf.orig_shape."

enum {
    GT_U8, GT_I8, GT_U16, GT_I16, GT_U32, GT_I32, GT_F32, GT_BOOL, GT_STRING, GT_ARRAY, GT_U64, GT_I64, GT_F64,
    GT_COUNT
};
static const uint8_t scalar_size[GT_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};

typedef struct rd {
    const uint8_t *b;
    size_t size, pos;
    const char *label;
    tsr_error *err;
} rd;

typedef struct gg_shape {
    char *name;
    int ndim;
    int64_t shape[TSR_MAX_DIMS];
} gg_shape;

typedef struct gg_tensor {
    char *name;
    tsr_dtype dtype;
    int ndim;
    int64_t shape[TSR_MAX_DIMS];  /* PyTorch order */
    uint64_t offset, nbytes;
} gg_tensor;

typedef struct gg_file {
    uint32_t version, alignment;
    uint64_t n_tensors, n_kv;
    gg_shape *orig;
    int n_orig;
    gg_tensor *t;
    uint64_t n_t;
} gg_file;

static tsr_status truncated(rd *r, const char *what)
{
    return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF truncated: %s at byte %zu runs past the end (%zu bytes)",
                    r->label, what, r->pos, r->size);
}

static bool avail(const rd *r, uint64_t n) { return n <= r->size - r->pos; }

static tsr_status rd_bytes(rd *r, void *dst, size_t n, const char *what)
{
    if (!avail(r, n)) return truncated(r, what);
    memcpy(dst, r->b + r->pos, n); /* GGUF is little-endian, as are the hosts we build for */
    r->pos += n;
    return TSR_OK;
}

static tsr_status rd_u32(rd *r, uint32_t *v, const char *what) { return rd_bytes(r, v, 4, what); }
static tsr_status rd_u64(rd *r, uint64_t *v, const char *what) { return rd_bytes(r, v, 8, what); }

/* A gguf_string: u64 length + bytes (not NUL-terminated in the file). */
static tsr_status rd_str(rd *r, const char **s, uint64_t *len, const char *what)
{
    if (rd_u64(r, len, what) != TSR_OK) return TSR_ERR_FORMAT;
    if (!avail(r, *len)) return truncated(r, what);
    *s = (const char *)r->b + r->pos;
    r->pos += (size_t)*len;
    return TSR_OK;
}

static char *dup_n(const char *s, uint64_t n)
{
    char *p = malloc((size_t)n + 1);
    if (p) {
        memcpy(p, s, (size_t)n);
        p[n] = 0;
    }
    return p;
}

static void render_scalar(tsr_sbuf *o, uint32_t type, const uint8_t *p)
{
    uint8_t u8 = p[0];
    uint16_t u16;
    uint32_t u32;
    uint64_t u64;
    float f;
    double d;
    switch (type) {
    case GT_U8: tsr_sbuf_printf(o, "%u", u8); break;
    case GT_I8: tsr_sbuf_printf(o, "%d", (int8_t)u8); break;
    case GT_U16: memcpy(&u16, p, 2); tsr_sbuf_printf(o, "%u", u16); break;
    case GT_I16: memcpy(&u16, p, 2); tsr_sbuf_printf(o, "%d", (int16_t)u16); break;
    case GT_U32: memcpy(&u32, p, 4); tsr_sbuf_printf(o, "%u", u32); break;
    case GT_I32: memcpy(&u32, p, 4); tsr_sbuf_printf(o, "%d", (int32_t)u32); break;
    case GT_F32: memcpy(&f, p, 4); tsr_sbuf_printf(o, "%.9g", f); break;
    case GT_BOOL: tsr_sbuf_puts(o, u8 ? "true" : "false"); break;
    case GT_U64: memcpy(&u64, p, 8); tsr_sbuf_printf(o, "%llu", (unsigned long long)u64); break;
    case GT_I64: memcpy(&u64, p, 8); tsr_sbuf_printf(o, "%lld", (long long)(int64_t)u64); break;
    case GT_F64: memcpy(&d, p, 8); tsr_sbuf_printf(o, "%.17g", d); break;
    default: break;
    }
}

static tsr_status read_value(rd *r, const char *key, uint32_t type, tsr_sbuf *o, int depth);

static tsr_status read_array(rd *r, const char *key, tsr_sbuf *o, int depth)
{
    uint32_t et = 0;
    uint64_t n = 0;
    if (rd_u32(r, &et, "array type") != TSR_OK || rd_u64(r, &n, "array length") != TSR_OK) return TSR_ERR_FORMAT;
    if (depth >= GGUF_MAX_ARRAY_DEPTH)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF key '%s': arrays nested too deeply", r->label, key);
    if (et >= GT_COUNT)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF key '%s': unknown array element type %u", r->label, key, et);
    uint64_t min = et == GT_STRING ? 8 : et == GT_ARRAY ? 12 : scalar_size[et];
    if (n > (r->size - r->pos) / min)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF key '%s': array of %llu items cannot fit in the file", r->label,
                        key, (unsigned long long)n);
    tsr_sbuf_puts(o, "[");
    for (uint64_t i = 0; i < n; i++) {
        if (i < GGUF_RENDER_ITEMS && i) tsr_sbuf_puts(o, ", ");
        if (i == GGUF_RENDER_ITEMS) tsr_sbuf_printf(o, ", ... (%llu items)", (unsigned long long)n);
        if (et != GT_STRING && et != GT_ARRAY && et != GT_BOOL && i >= GGUF_RENDER_ITEMS) {
            r->pos += (size_t)((n - i) * min); /* fixed-size tail: skip at once (fits, checked above) */
            break;
        }
        tsr_sbuf tmp;
        tsr_sbuf_init(&tmp);
        tsr_status st = read_value(r, key, et, i < GGUF_RENDER_ITEMS ? o : &tmp, depth + 1);
        tsr_sbuf_free(&tmp);
        if (st != TSR_OK) return st;
    }
    tsr_sbuf_puts(o, "]");
    return TSR_OK;
}

static tsr_status read_value(rd *r, const char *key, uint32_t type, tsr_sbuf *o, int depth)
{
    if (type >= GT_COUNT)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF key '%s': unknown value type %u", r->label, key, type);
    if (type == GT_ARRAY) return read_array(r, key, o, depth);
    if (type == GT_STRING) {
        const char *s = NULL;
        uint64_t n;
        if (rd_str(r, &s, &n, "string value") != TSR_OK) return TSR_ERR_FORMAT;
        size_t show = (size_t)TSR_MIN(n, (uint64_t)GGUF_RENDER_CHARS);
        if (depth) tsr_sbuf_puts(o, "\"");
        for (size_t i = 0; i < show; i++) tsr_sbuf_append(o, s[i] ? &s[i] : "?", 1);
        if (show < n) tsr_sbuf_puts(o, "...");
        if (depth) tsr_sbuf_puts(o, "\"");
        return TSR_OK;
    }
    if (!avail(r, scalar_size[type])) return truncated(r, "value");
    if (type == GT_BOOL && r->b[r->pos] > 1)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF key '%s': boolean byte %u is not 0 or 1", r->label, key,
                        r->b[r->pos]);
    render_scalar(o, type, r->b + r->pos);
    r->pos += scalar_size[type];
    return TSR_OK;
}

/* general.alignment: a u32 power of two. */
static tsr_status take_alignment(rd *r, gg_file *g, uint32_t type, size_t at)
{
    uint32_t a;
    if (type != GT_U32)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF general.alignment has value type %u, expected uint32",
                        r->label, type);
    memcpy(&a, r->b + at, 4);
    if (a == 0 || (a & (a - 1)) || a > (1u << 24))
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF general.alignment %u is not a power of two up to 16 MiB",
                        r->label, a);
    g->alignment = a;
    return TSR_OK;
}

/* comfy.gguf.orig_shape.<name>: an array of integers, the tensor's PyTorch shape. */
static tsr_status take_orig_shape(rd *r, gg_file *g, const char *key, size_t at)
{
    rd c = *r;
    c.pos = at;
    uint32_t et = 0;
    uint64_t n = 0;
    if (rd_u32(&c, &et, "array type") != TSR_OK || rd_u64(&c, &n, "array length") != TSR_OK) return TSR_ERR_FORMAT;
    if ((et != GT_I32 && et != GT_U32 && et != GT_I64 && et != GT_U64) || n > TSR_MAX_DIMS)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF key '%s' must be an array of at most %d integers", r->label,
                        key, TSR_MAX_DIMS);
    gg_shape *s = realloc(g->orig, (size_t)(g->n_orig + 1) * sizeof *s);
    if (!s) return tsr_fail(r->err, TSR_ERR_NOMEM, "out of host memory");
    g->orig = s;
    s = &s[g->n_orig];
    memset(s, 0, sizeof *s);
    s->ndim = (int)n;
    for (uint64_t i = 0; i < n; i++) {
        int64_t v = 0;
        const uint8_t *p = c.b + c.pos + i * scalar_size[et];
        if (et == GT_I32 || et == GT_U32) {
            uint32_t u;
            memcpy(&u, p, 4);
            v = et == GT_I32 ? (int32_t)u : (int64_t)u;
        } else {
            memcpy(&v, p, 8);
        }
        if (v < 0)
            return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF key '%s': negative dimension", r->label, key);
        s->shape[i] = v;
    }
    if (!(s->name = tsr_strdup(key + strlen(ORIG_SHAPE_KEY)))) return tsr_fail(r->err, TSR_ERR_NOMEM, "out of host memory");
    g->n_orig++;
    return TSR_OK;
}

static tsr_status read_kv(rd *r, gg_file *g, tsr_weights *w)
{
    const char *ks = NULL;
    uint64_t klen = 0;
    uint32_t type = 0;
    if (rd_str(r, &ks, &klen, "metadata key") != TSR_OK) return TSR_ERR_FORMAT;
    if (klen == 0 || klen > GGUF_MAX_NAME || memchr(ks, 0, (size_t)klen))
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF metadata key at byte %zu is empty, too long or contains NUL",
                        r->label, r->pos);
    char *key = dup_n(ks, klen);
    if (!key) return tsr_fail(r->err, TSR_ERR_NOMEM, "out of host memory");
    tsr_status st = rd_u32(r, &type, "value type");
    size_t at = r->pos;
    tsr_sbuf v;
    tsr_sbuf_init(&v);
    if (st == TSR_OK && tsr_weights_meta(w, key))
        st = tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF metadata key '%s' appears twice", r->label, key);
    if (st == TSR_OK) st = read_value(r, key, type, &v, 0);
    if (st == TSR_OK && strcmp(key, "general.alignment") == 0) st = take_alignment(r, g, type, at);
    if (st == TSR_OK && strncmp(key, ORIG_SHAPE_KEY, strlen(ORIG_SHAPE_KEY)) == 0 && type == GT_ARRAY)
        st = take_orig_shape(r, g, key, at);
    if (st == TSR_OK && v.failed) st = tsr_fail(r->err, TSR_ERR_NOMEM, "out of host memory");
    if (st == TSR_OK) st = tsr_weights_add_meta(w, key, v.data ? v.data : "", r->err);
    tsr_sbuf_free(&v);
    free(key);
    return st;
}

/* ggml type ids -> our dtypes; names for a clear rejection of the rest. */
static bool ggml_dtype(uint32_t t, tsr_dtype *dt)
{
    switch (t) {
    case 0: *dt = TSR_DT_F32; return true;
    case 1: *dt = TSR_DT_F16; return true;
    case 8: *dt = TSR_DT_Q8_0; return true;
    case 30: *dt = TSR_DT_BF16; return true;
    default: return false;
    }
}

static const char *ggml_type_name(uint32_t t)
{
    static const char *n[] = {"F32", "F16", "Q4_0", "Q4_1", "type 4", "type 5", "Q5_0", "Q5_1", "Q8_0", "Q8_1",
                              "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS",
                              "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64",
                              "IQ1_M", "BF16"};
    return t < TSR_ARRAY_LEN(n) ? n[t] : "unknown";
}

static tsr_status read_tensor_info(rd *r, gg_tensor *t)
{
    const char *ns = NULL;
    uint64_t nlen = 0, dims[TSR_MAX_DIMS] = {0}, off = 0;
    uint32_t nd = 0, type = 0;
    if (rd_str(r, &ns, &nlen, "tensor name") != TSR_OK) return TSR_ERR_FORMAT;
    if (nlen == 0 || nlen > GGUF_MAX_NAME || memchr(ns, 0, (size_t)nlen))
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF tensor name at byte %zu is empty, too long or contains NUL",
                        r->label, r->pos);
    if (!(t->name = dup_n(ns, nlen))) return tsr_fail(r->err, TSR_ERR_NOMEM, "out of host memory");
    if (rd_u32(r, &nd, "tensor n_dims") != TSR_OK) return TSR_ERR_FORMAT;
    if (nd > TSR_MAX_DIMS)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF tensor '%s': %u dimensions (at most %d supported)", r->label,
                        t->name, nd, TSR_MAX_DIMS);
    for (uint32_t i = 0; i < nd; i++)
        if (rd_u64(r, &dims[i], "tensor dimension") != TSR_OK) return TSR_ERR_FORMAT;
    if (rd_u32(r, &type, "tensor type") != TSR_OK || rd_u64(r, &off, "tensor offset") != TSR_OK) return TSR_ERR_FORMAT;
    if (!ggml_dtype(type, &t->dtype))
        return tsr_fail(r->err, TSR_ERR_FORMAT,
                        "%s: GGUF tensor '%s': unsupported type %s (%u; supported: F32, F16, BF16, Q8_0)", r->label,
                        t->name, ggml_type_name(type), type);
    t->ndim = (int)nd;
    uint64_t numel = 1;
    for (uint32_t i = 0; i < nd; i++) {
        if (dims[i] > (uint64_t)INT64_MAX || (dims[i] && numel > ((uint64_t)INT64_MAX / 8) / dims[i]))
            return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF tensor '%s': dimensions are too large", r->label, t->name);
        numel *= dims[i];
        t->shape[nd - 1 - i] = (int64_t)dims[i]; /* GGUF stores innermost first; PyTorch outermost first */
    }
    t->offset = off;
    t->nbytes = tsr_dtype_nbytes(t->dtype, (int64_t)numel);
    if (t->dtype == TSR_DT_Q8_0 && (numel % 32 || (nd > 0 && dims[0] % 32)))
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF tensor '%s': Q8_0 needs a row length divisible by 32",
                        r->label, t->name);
    return TSR_OK;
}

static int cmp_gname(const void *a, const void *b)
{
    return strcmp((*(const gg_tensor *const *)a)->name, (*(const gg_tensor *const *)b)->name);
}

static int cmp_goff(const void *a, const void *b)
{
    const gg_tensor *x = *(const gg_tensor *const *)a, *y = *(const gg_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Across tensors: alignment of offsets, bounds, duplicates, overlaps. */
static tsr_status check_table(rd *r, gg_file *g, uint64_t data_size)
{
    for (uint64_t i = 0; i < g->n_t; i++) {
        gg_tensor *t = &g->t[i];
        if (t->offset % g->alignment)
            return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF tensor '%s': offset %llu is not a multiple of the alignment %u",
                            r->label, t->name, (unsigned long long)t->offset, g->alignment);
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return tsr_fail(r->err, TSR_ERR_FORMAT,
                            "%s: GGUF tensor '%s': %llu bytes at offset %llu run past the data section (%llu bytes)",
                            r->label, t->name, (unsigned long long)t->nbytes, (unsigned long long)t->offset,
                            (unsigned long long)data_size);
    }
    gg_tensor **v = tsr_malloc((size_t)(g->n_t ? g->n_t : 1) * sizeof *v, r->err);
    if (!v) return TSR_ERR_NOMEM;
    for (uint64_t i = 0; i < g->n_t; i++) v[i] = &g->t[i];
    tsr_status st = TSR_OK;
    qsort(v, (size_t)g->n_t, sizeof *v, cmp_gname);
    for (uint64_t i = 1; i < g->n_t && st == TSR_OK; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0)
            st = tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF tensor '%s' appears twice", r->label, v[i]->name);
    qsort(v, (size_t)g->n_t, sizeof *v, cmp_goff);
    const gg_tensor *prev = NULL;
    for (uint64_t i = 0; i < g->n_t && st == TSR_OK; i++) {
        if (v[i]->nbytes == 0) continue;
        if (prev && v[i]->offset < prev->offset + prev->nbytes)
            st = tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF tensors '%s' and '%s' overlap in the data section", r->label,
                          prev->name, v[i]->name);
        prev = v[i];
    }
    free(v);
    return st;
}

/* Apply comfy.gguf.orig_shape.<name> keys: same element count, PyTorch order. */
static tsr_status apply_orig_shapes(rd *r, gg_file *g)
{
    for (int k = 0; k < g->n_orig; k++) {
        gg_tensor *t = NULL;
        for (uint64_t i = 0; i < g->n_t && !t; i++)
            if (strcmp(g->t[i].name, g->orig[k].name) == 0) t = &g->t[i];
        if (!t) continue; /* metadata about a tensor that is not here: harmless, kept as text */
        int64_t a = 1, b = 1;
        for (int d = 0; d < t->ndim; d++) a *= t->shape[d];
        for (int d = 0; d < g->orig[k].ndim; d++) {
            if (g->orig[k].shape[d] && b > INT64_MAX / 8 / g->orig[k].shape[d]) b = -1;
            else if (b >= 0) b *= g->orig[k].shape[d];
        }
        if (a != b)
            return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF tensor '%s': original shape has a different element count",
                            r->label, t->name);
        t->ndim = g->orig[k].ndim;
        memcpy(t->shape, g->orig[k].shape, sizeof t->shape);
    }
    return TSR_OK;
}

static tsr_status read_header(rd *r, gg_file *g, tsr_weights *w)
{
    uint8_t magic[4];
    if (rd_bytes(r, magic, 4, "magic") != TSR_OK) return TSR_ERR_FORMAT;
    if (memcmp(magic, "GGUF", 4) != 0)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: not a GGUF file (bad magic)", r->label);
    if (rd_u32(r, &g->version, "version") != TSR_OK) return TSR_ERR_FORMAT;
    if (g->version != 2 && g->version != 3)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF version %u is not supported (2 and 3 are)", r->label, g->version);
    if (rd_u64(r, &g->n_tensors, "tensor count") != TSR_OK || rd_u64(r, &g->n_kv, "metadata count") != TSR_OK)
        return TSR_ERR_FORMAT;
    /* the smallest KV is 13 bytes and the smallest tensor info 24: bound the counts by what is left */
    if (g->n_kv > (r->size - r->pos) / 13)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF metadata count %llu is impossible for a file of %zu bytes",
                        r->label, (unsigned long long)g->n_kv, r->size);
    if (g->n_tensors > (r->size - r->pos) / 24)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF tensor count %llu is impossible for a file of %zu bytes",
                        r->label, (unsigned long long)g->n_tensors, r->size);
    g->alignment = GGUF_DEFAULT_ALIGN;
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (read_kv(r, g, w) != TSR_OK) return r->err ? r->err->status : TSR_ERR_FORMAT;
    if (g->n_tensors > INT32_MAX / 2)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF tensor count too large", r->label);
    g->t = tsr_calloc((size_t)(g->n_tensors ? g->n_tensors : 1), sizeof *g->t, r->err);
    if (!g->t) return TSR_ERR_NOMEM;
    for (g->n_t = 0; g->n_t < g->n_tensors;)
        if (read_tensor_info(r, &g->t[g->n_t++]) != TSR_OK) return r->err ? r->err->status : TSR_ERR_FORMAT;
    return TSR_OK;
}

static void gg_free(gg_file *g)
{
    for (uint64_t i = 0; i < g->n_t; i++) free(g->t[i].name);
    free(g->t);
    for (int i = 0; i < g->n_orig; i++) free(g->orig[i].name);
    free(g->orig);
}

static tsr_status parse_all(rd *r, gg_file *g, tsr_weights *w)
{
    tsr_status st = read_header(r, g, w);
    if (st != TSR_OK) return st;
    uint64_t start = ((uint64_t)r->pos + g->alignment - 1) / g->alignment * g->alignment;
    if (g->n_t > 0 && start > r->size)
        return tsr_fail(r->err, TSR_ERR_FORMAT, "%s: GGUF data section starts at %llu, past the end of the file",
                        r->label, (unsigned long long)start);
    uint64_t data_size = start <= r->size ? r->size - start : 0;
    if ((st = check_table(r, g, data_size)) != TSR_OK || (st = apply_orig_shapes(r, g)) != TSR_OK) return st;
    for (uint64_t i = 0; i < g->n_t; i++) {
        gg_tensor *t = &g->t[i];
        st = tsr_weights_add(w, t->name, t->dtype, t->ndim, t->shape, r->b + start + t->offset, (size_t)t->nbytes,
                             false, r->err);
        if (st != TSR_OK) return st;
    }
    return TSR_OK;
}

tsr_status tsr_gguf_parse(const void *data, size_t size, const char *label, tsr_weights *out, tsr_error *err)
{
    tsr_error local = {0};
    rd r = {data, size, 0, label ? label : "gguf", err ? err : &local};
    gg_file g;
    memset(&g, 0, sizeof g);
    tsr_weights_init(out);
    out->format = TSR_FORMAT_GGUF;
    tsr_status st = parse_all(&r, &g, out);
    gg_free(&g);
    if (st != TSR_OK) tsr_weights_free(out);
    return st;
}

tsr_status tsr_gguf_open(const char *path, tsr_weights *out, tsr_error *err)
{
    void *map = NULL;
    size_t size = 0;
    tsr_weights_init(out);
    tsr_status st = tsr_map_file(path, &map, &size, err);
    if (st != TSR_OK) return st;
    if ((st = tsr_gguf_parse(map, size, path, out, err)) != TSR_OK) {
        tsr_unmap_file(map, size);
        return st;
    }
    out->mapping = map;
    out->mapping_size = size;
    if (!(out->source_path = tsr_strdup(path))) {
        tsr_weights_free(out);
        return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
    }
    return TSR_OK;
}

/* ---------------------------------------------------------------- writer */

static void put_bytes(tsr_sbuf *b, const void *p, size_t n) { tsr_sbuf_append(b, p, n); }
static void put_u32(tsr_sbuf *b, uint32_t v) { put_bytes(b, &v, 4); }
static void put_u64(tsr_sbuf *b, uint64_t v) { put_bytes(b, &v, 8); }
static void put_str(tsr_sbuf *b, const char *s)
{
    put_u64(b, strlen(s));
    put_bytes(b, s, strlen(s));
}

static uint32_t ggml_id(tsr_dtype dt)
{
    return dt == TSR_DT_F32 ? 0 : dt == TSR_DT_F16 ? 1 : dt == TSR_DT_Q8_0 ? 8 : 30;
}

/* Stored dims (innermost first) of a tensor; flattened to [shape0, rest] when ggml could not hold it. */
static int stored_dims(const tsr_st_tensor *t, uint64_t dims[TSR_MAX_DIMS], bool *flat)
{
    int64_t last = t->ndim ? t->shape[t->ndim - 1] : 1;
    *flat = t->ndim > 4 || (t->dtype == TSR_DT_Q8_0 && t->ndim > 1 && last % 32);
    if (!*flat) {
        for (int i = 0; i < t->ndim; i++) dims[i] = (uint64_t)t->shape[t->ndim - 1 - i];
        return t->ndim;
    }
    uint64_t rest = 1;
    for (int i = 1; i < t->ndim; i++) rest *= (uint64_t)t->shape[i];
    dims[0] = rest;
    dims[1] = (uint64_t)t->shape[0];
    return 2;
}

static tsr_status build_gguf_header(const tsr_st_tensor *t, int n, const char *const *meta, int meta_pairs,
                                    tsr_sbuf *h, uint64_t *offsets, tsr_error *err)
{
    int n_flat = 0;
    uint64_t dims[TSR_MAX_DIMS];
    bool flat;
    for (int i = 0; i < n; i++) {
        if (t[i].ndim < 0 || t[i].ndim > TSR_MAX_DIMS || t[i].dtype == TSR_DT_F8_E4M3 || (unsigned)t[i].dtype >= TSR_DT_COUNT)
            return tsr_fail(err, TSR_ERR_INVALID_ARG, "tensor '%s': dtype %s cannot be written to GGUF", t[i].name,
                            tsr_dtype_name(t[i].dtype));
        stored_dims(&t[i], dims, &flat);
        n_flat += flat;
    }
    tsr_sbuf_append(h, "GGUF", 4);
    put_u32(h, 3);
    put_u64(h, (uint64_t)n);
    put_u64(h, (uint64_t)(1 + meta_pairs + n_flat));
    put_str(h, "general.alignment");
    put_u32(h, GT_U32);
    put_u32(h, GGUF_DEFAULT_ALIGN);
    for (int i = 0; i < meta_pairs; i++) {
        put_str(h, meta[2 * i]);
        put_u32(h, GT_STRING);
        put_str(h, meta[2 * i + 1]);
    }
    for (int i = 0; i < n; i++) {
        stored_dims(&t[i], dims, &flat);
        if (!flat) continue;
        char key[GGUF_MAX_NAME + 64];
        snprintf(key, sizeof key, "%s%s", ORIG_SHAPE_KEY, t[i].name);
        put_str(h, key);
        put_u32(h, GT_ARRAY);
        put_u32(h, GT_I32);
        put_u64(h, (uint64_t)t[i].ndim);
        for (int d = 0; d < t[i].ndim; d++) put_u32(h, (uint32_t)t[i].shape[d]);
    }
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        int nd = stored_dims(&t[i], dims, &flat);
        int64_t numel = 1;
        for (int d = 0; d < t[i].ndim; d++) numel *= t[i].shape[d];
        put_str(h, t[i].name);
        put_u32(h, (uint32_t)nd);
        for (int d = 0; d < nd; d++) put_u64(h, dims[d]);
        put_u32(h, ggml_id(t[i].dtype));
        put_u64(h, off);
        offsets[i] = off;
        off += (tsr_dtype_nbytes(t[i].dtype, numel) + GGUF_DEFAULT_ALIGN - 1) / GGUF_DEFAULT_ALIGN * GGUF_DEFAULT_ALIGN;
    }
    while (h->len % GGUF_DEFAULT_ALIGN) tsr_sbuf_append(h, "", 1);
    return h->failed ? tsr_fail(err, TSR_ERR_NOMEM, "out of host memory") : TSR_OK;
}

tsr_status tsr_gguf_write(const char *path, const tsr_st_tensor *tensors, int n, const char *const *meta,
                          int meta_pairs, tsr_error *err)
{
    tsr_sbuf h;
    tsr_sbuf_init(&h);
    uint64_t *offsets = tsr_calloc((size_t)(n > 0 ? n : 1), sizeof *offsets, err);
    if (!offsets) return TSR_ERR_NOMEM;
    tsr_status st = build_gguf_header(tensors, n, meta, meta_pairs, &h, offsets, err);
    tsr_atomic_file af;
    if (st == TSR_OK) st = tsr_atomic_open(&af, path, err);
    if (st != TSR_OK) {
        tsr_sbuf_free(&h);
        free(offsets);
        return st;
    }
    static const uint8_t zeros[GGUF_DEFAULT_ALIGN];
    bool ok = fwrite(h.data, 1, h.len, af.fp) == h.len;
    uint64_t pos = 0;
    for (int i = 0; ok && i < n; i++) {
        int64_t numel = 1;
        for (int d = 0; d < tensors[i].ndim; d++) numel *= tensors[i].shape[d];
        size_t nb = tsr_dtype_nbytes(tensors[i].dtype, numel);
        ok = fwrite(zeros, 1, (size_t)(offsets[i] - pos), af.fp) == offsets[i] - pos &&
             (nb == 0 || fwrite(tensors[i].data, 1, nb, af.fp) == nb);
        pos = offsets[i] + nb;
    }
    tsr_sbuf_free(&h);
    free(offsets);
    if (!ok) {
        tsr_atomic_abort(&af);
        return tsr_fail(err, TSR_ERR_IO, "%s: write failed", path);
    }
    return tsr_atomic_commit(&af, err);
}

void tsr_quantize_q8_0(const float *src, int64_t n, uint8_t *dst)
{
    for (int64_t b = 0; b < n / 32; b++) {
        const float *x = src + b * 32;
        uint8_t *o = dst + b * 34;
        float amax = 0;
        for (int j = 0; j < 32; j++) amax = TSR_MAX(amax, x[j] < 0 ? -x[j] : x[j]);
        uint16_t dh = tsr_f32_to_f16(amax / 127.0f);
        float d = tsr_f16_to_f32(dh); /* quantise against the scale as stored, so decoding matches */
        memcpy(o, &dh, 2);
        for (int j = 0; j < 32; j++) {
            float q = d > 0 ? x[j] / d : 0;
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            o[2 + j] = (uint8_t)(int8_t)(q < 0 ? q - 0.5f : q + 0.5f);
        }
    }
}
