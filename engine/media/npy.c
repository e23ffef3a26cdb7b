/* .npy reading and writing (see npy.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/file.h"
#include "core/half.h"
#include "media/npy.h"

/* Find `'key':` in the header dict and return the text after the colon (skipping spaces). */
static const char *dict_value(const char *hdr, const char *key)
{
    char pat[32];
    snprintf(pat, sizeof pat, "'%s'", key);
    const char *p = strstr(hdr, pat);
    if (!p) return NULL;
    p += strlen(pat);
    while (*p == ' ') p++;
    if (*p != ':') return NULL;
    p++;
    while (*p == ' ') p++;
    return p;
}

static tsr_status parse_shape(const char *p, const char *label, tsr_npy *out, tsr_error *err)
{
    if (!p || *p != '(') return tsr_fail(err, TSR_ERR_FORMAT, "%s: npy header has no shape tuple", label);
    p++;
    out->ndim = 0;
    out->numel = 1;
    for (;;) {
        while (*p == ' ') p++;
        if (*p == ')') break;
        if (!isdigit((unsigned char)*p)) return tsr_fail(err, TSR_ERR_FORMAT, "%s: bad npy shape", label);
        char *end;
        long long v = strtoll(p, &end, 10);
        if (out->ndim >= TSR_NPY_MAX_DIMS || v < 0 || v > ((int64_t)1 << 40))
            return tsr_fail(err, TSR_ERR_FORMAT, "%s: npy shape too large or too many dimensions", label);
        out->shape[out->ndim++] = v;
        if (v && out->numel > ((int64_t)1 << 40) / v) return tsr_fail(err, TSR_ERR_FORMAT, "%s: npy too large", label);
        out->numel *= v;
        p = end;
        while (*p == ' ') p++;
        if (*p == ',') p++;
        else if (*p != ')') return tsr_fail(err, TSR_ERR_FORMAT, "%s: bad npy shape", label);
    }
    return TSR_OK;
}

static tsr_status parse_header(const char *hdr, const char *label, tsr_npy *out, tsr_error *err)
{
    const char *d = dict_value(hdr, "descr");
    if (!d) return tsr_fail(err, TSR_ERR_FORMAT, "%s: npy header has no 'descr'", label);
    if (strncmp(d, "'<f4'", 5) == 0) out->was_f16 = 0;
    else if (strncmp(d, "'<f2'", 5) == 0) out->was_f16 = 1;
    else return tsr_fail(err, TSR_ERR_UNSUPPORTED, "%s: npy dtype %.6s not supported (little-endian float32 or "
                         "float16 only)", label, d);
    const char *f = dict_value(hdr, "fortran_order");
    if (!f) return tsr_fail(err, TSR_ERR_FORMAT, "%s: npy header has no 'fortran_order'", label);
    if (strncmp(f, "False", 5) != 0) return tsr_fail(err, TSR_ERR_UNSUPPORTED, "%s: Fortran-order npy not supported", label);
    return parse_shape(dict_value(hdr, "shape"), label, out, err);
}

tsr_status tsr_npy_parse(const void *bytes, size_t size, const char *label, tsr_npy *out, tsr_error *err)
{
    const unsigned char *b = bytes;
    memset(out, 0, sizeof *out);
    if (size < 10 || memcmp(b, "\x93NUMPY", 6) != 0) return tsr_fail(err, TSR_ERR_FORMAT, "%s: not a .npy file", label);
    int major = b[6];
    size_t hlen, start;
    if (major == 1) hlen = b[8] | (size_t)b[9] << 8, start = 10;
    else if ((major == 2 || major == 3) && size >= 12)
        hlen = b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24, start = 12;
    else return tsr_fail(err, TSR_ERR_UNSUPPORTED, "%s: npy format version %d not supported", label, major);
    if (hlen > size - start || hlen > 1 << 20) return tsr_fail(err, TSR_ERR_FORMAT, "%s: npy header truncated", label);
    char *hdr = tsr_malloc(hlen + 1, err);
    if (!hdr) return TSR_ERR_NOMEM;
    memcpy(hdr, b + start, hlen);
    hdr[hlen] = 0;
    tsr_status st = parse_header(hdr, label, out, err);
    free(hdr);
    if (st != TSR_OK) return st;
    size_t esz = out->was_f16 ? 2 : 4, need = (size_t)out->numel * esz, off = start + hlen;
    if (size - off != need)
        return tsr_fail(err, TSR_ERR_FORMAT, "%s: npy data is %zu bytes, shape needs %zu (truncated?)", label,
                        size - off, need);
    if (!(out->data = tsr_malloc(out->numel ? (size_t)out->numel * 4 : 4, err))) return TSR_ERR_NOMEM;
    const unsigned char *src = b + off;
    for (int64_t i = 0; i < out->numel; i++) {
        if (out->was_f16) out->data[i] = tsr_f16_to_f32((uint16_t)(src[2 * i] | src[2 * i + 1] << 8));
        else memcpy(&out->data[i], src + 4 * i, 4);
    }
    return TSR_OK;
}

tsr_status tsr_npy_read(const char *path, tsr_npy *out, tsr_error *err)
{
    void *map;
    size_t size;
    tsr_status st = tsr_map_file(path, &map, &size, err);
    if (st != TSR_OK) return st;
    st = tsr_npy_parse(map, size, path, out, err);
    tsr_unmap_file(map, size);
    return st;
}

tsr_status tsr_npy_write(const char *path, const float *data, int ndim, const int64_t *shape, int f16, tsr_error *err)
{
    char hdr[256], dims[160] = "";
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        size_t l = strlen(dims);
        snprintf(dims + l, sizeof dims - l, "%lld,%s", (long long)shape[i], i + 1 < ndim ? " " : "");
        numel *= shape[i];
    }
    if (ndim > 1) dims[strlen(dims) - 1] = 0; /* "(1, 16, 2)" but "(5,)" for one dimension */
    int n = snprintf(hdr, sizeof hdr, "{'descr': '<f%d', 'fortran_order': False, 'shape': (%s), }", f16 ? 2 : 4, dims);
    int total = (10 + n + 1 + 63) / 64 * 64;
    memset(hdr + n, ' ', (size_t)(total - 10 - n));
    hdr[total - 10 - 1] = '\n';
    unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)((total - 10) & 255),
                             (unsigned char)((total - 10) >> 8)};
    tsr_atomic_file af;
    tsr_status st = tsr_atomic_open(&af, path, err);
    if (st != TSR_OK) return st;
    int ok = fwrite(pre, 1, 10, af.fp) == 10 && fwrite(hdr, 1, (size_t)(total - 10), af.fp) == (size_t)(total - 10);
    for (int64_t i = 0; ok && i < numel; i++) {
        if (f16) {
            uint16_t h = tsr_f32_to_f16(data[i]);
            unsigned char b2[2] = {(unsigned char)(h & 255), (unsigned char)(h >> 8)};
            ok = fwrite(b2, 1, 2, af.fp) == 2;
        } else {
            ok = fwrite(&data[i], 4, 1, af.fp) == 1;
        }
    }
    if (!ok) {
        tsr_atomic_abort(&af);
        return tsr_fail(err, TSR_ERR_IO, "%s: write failed", path);
    }
    return tsr_atomic_commit(&af, err);
}

void tsr_npy_free(tsr_npy *n)
{
    free(n->data);
    n->data = NULL;
}
