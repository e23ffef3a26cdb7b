/* Models: opening a file by content, the content digest, and inspection (`info`, the GUI's model list). */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "core/file.h"
#include "model/detect.h"
#include "model/filler.h"
#include "model/gguf.h"
#include "model/safetensors.h"
#include "model/vae_tensors.h"

const tsr_weights *tsr_model_weights(const tsr_model *m) { return &m->weights; }
const tsr_vae_config *tsr_model_config(const tsr_model *m) { return &m->config; }
const char *tsr_model_digest(const tsr_model *m) { return m->digest; }

const char *tsr_model_kind_name(tsr_model_kind k)
{
    switch (k) {
    case TSR_MODEL_FULL: return "full VAE";
    case TSR_MODEL_DECODER_ONLY: return "decoder only";
    case TSR_MODEL_ENCODER_ONLY: return "encoder only";
    default: return "not a SeedVR2 VAE";
    }
}

const char *tsr_model_format_name(tsr_model_format f)
{
    switch (f) {
    case TSR_FORMAT_SAFETENSORS: return "safetensors";
    case TSR_FORMAT_GGUF: return "gguf";
    case TSR_FORMAT_BUILTIN: return "builtin";
    default: return "unknown";
    }
}

/* ---------------------------------------------------------------- digest
 * A 64-bit hash over four independent multiply-rotate lanes (8 bytes per step, so ~GB/s: a 500 MB model
 * hashes in well under a second), then a final avalanche. Content only: tensors in name order, each as
 * name, dtype, shape and data bytes, so the same weights give the same digest in either container format. */

#define H_P1 0x9e3779b185ebca87ull
#define H_P2 0xc2b2ae3d27d4eb4full
#define H_P3 0x165667b19e3779f9ull

typedef struct hasher {
    uint64_t v[4];
    uint8_t buf[32];
    size_t buffered;
    uint64_t total;
} hasher;

static uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
static uint64_t lane(uint64_t v, uint64_t w) { return rotl64(v + w * H_P2, 31) * H_P1; }
static uint64_t le64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, 8); /* little-endian hosts only (x86-64, arm64) */
    return x;
}

static void hash_init(hasher *h)
{
    memset(h, 0, sizeof *h);
    h->v[0] = H_P1 + H_P2;
    h->v[1] = H_P2;
    h->v[2] = 0;
    h->v[3] = 0 - H_P1;
}

static void hash_stripe(hasher *h, const uint8_t *p)
{
    h->v[0] = lane(h->v[0], le64(p));
    h->v[1] = lane(h->v[1], le64(p + 8));
    h->v[2] = lane(h->v[2], le64(p + 16));
    h->v[3] = lane(h->v[3], le64(p + 24));
}

static void hash_update(hasher *h, const void *data, size_t n)
{
    const uint8_t *p = data;
    h->total += n;
    if (h->buffered) {
        size_t k = TSR_MIN(32 - h->buffered, n);
        memcpy(h->buf + h->buffered, p, k);
        h->buffered += k;
        p += k;
        n -= k;
        if (h->buffered < 32) return;
        hash_stripe(h, h->buf);
        h->buffered = 0;
    }
    for (; n >= 32; p += 32, n -= 32) hash_stripe(h, p);
    memcpy(h->buf, p, n);
    h->buffered = n;
}

static uint64_t hash_final(hasher *h)
{
    uint64_t x = rotl64(h->v[0], 1) + rotl64(h->v[1], 7) + rotl64(h->v[2], 12) + rotl64(h->v[3], 18);
    x += h->total;
    for (size_t i = 0; i < h->buffered; i++) x = rotl64(x ^ (h->buf[i] * H_P3), 11) * H_P1;
    x ^= x >> 33;
    x *= H_P2;
    x ^= x >> 29;
    x *= H_P3;
    x ^= x >> 32;
    return x;
}

static int cmp_tensor_name(const void *a, const void *b)
{
    return strcmp((*(const tsr_tensor_info *const *)a)->name, (*(const tsr_tensor_info *const *)b)->name);
}

static tsr_status weights_digest(const tsr_weights *w, char out[65], tsr_error *err)
{
    const tsr_tensor_info **order = tsr_malloc((size_t)(w->count ? w->count : 1) * sizeof *order, err);
    if (!order) return TSR_ERR_NOMEM;
    for (int i = 0; i < w->count; i++) order[i] = &w->tensors[i];
    qsort(order, (size_t)w->count, sizeof *order, cmp_tensor_name);
    hasher h;
    hash_init(&h);
    for (int i = 0; i < w->count; i++) {
        const tsr_tensor_info *t = order[i];
        const char *dt = tsr_dtype_name(t->dtype);
        hash_update(&h, t->name, strlen(t->name) + 1);
        hash_update(&h, dt, strlen(dt) + 1);
        int64_t nd = t->ndim;
        hash_update(&h, &nd, sizeof nd);
        hash_update(&h, t->shape, (size_t)t->ndim * sizeof t->shape[0]);
        uint64_t nb = t->nbytes; /* fixed width: the digest must not depend on the platform's size_t */
        hash_update(&h, &nb, sizeof nb);
        if (t->nbytes) hash_update(&h, t->data, t->nbytes);
        if (t->channel_scale) hash_update(&h, t->channel_scale, (size_t)t->shape[0] * sizeof(float));
    }
    free(order);
    snprintf(out, 65, "%016llx", (unsigned long long)hash_final(&h));
    return TSR_OK;
}

/* ---------------------------------------------------------------- opening */

/* Map `path` and parse it as safetensors or GGUF, chosen by content (GGUF magic, else safetensors). */
static tsr_status load_weights(const char *path, tsr_weights *w, tsr_error *err)
{
    void *map = NULL;
    size_t size = 0;
    tsr_weights_init(w);
    tsr_status st = tsr_map_file(path, &map, &size, err);
    if (st != TSR_OK) return st;
    const uint8_t *b = map;
    if (size >= 4 && memcmp(b, "GGUF", 4) == 0) st = tsr_gguf_parse(map, size, path, w, err);
    else if (size >= 9 && b[8] == '{') st = tsr_safetensors_parse(map, size, path, w, err);
    else if (size < 8) st = tsr_fail(err, TSR_ERR_FORMAT, "%s: file of %zu bytes is neither safetensors nor GGUF", path, size);
    else st = tsr_safetensors_parse(map, size, path, w, err); /* its header checks say what is wrong */
    if (st != TSR_OK) {
        tsr_unmap_file(map, size);
        return st;
    }
    w->mapping = map;
    w->mapping_size = size;
    w->source_path = tsr_strdup(path);
    if (!w->source_path) {
        tsr_weights_free(w);
        return tsr_fail(err, TSR_ERR_NOMEM, "out of host memory");
    }
    return TSR_OK;
}

tsr_status tsr_model_open(const char *path, tsr_model **out, tsr_error *err)
{
    if (!out || !path) return tsr_fail(err, TSR_ERR_INVALID_ARG, "tsr_model_open: NULL argument");
    *out = NULL;
    tsr_model *m = tsr_calloc(1, sizeof *m, err);
    if (!m) return TSR_ERR_NOMEM;
    tsr_status st = load_weights(path, &m->weights, err);
    tsr_detect_result d;
    if (st == TSR_OK && (st = tsr_detect(&m->weights, &d, err)) == TSR_OK) {
        if (d.kind == TSR_MODEL_NOT_VAE)
            st = tsr_fail(err, TSR_ERR_MODEL, "%s: not a SeedVR2 VAE: %s%s%s", path, d.explanation,
                          d.problem_count ? "; " : "", d.problem_count ? d.problems[0] : "");
        m->config = d.config;
        tsr_detect_result_free(&d);
    }
    if (st == TSR_OK) st = weights_digest(&m->weights, m->digest, err);
    if (st != TSR_OK) {
        tsr_weights_free(&m->weights);
        free(m);
        return st;
    }
    *out = m;
    return TSR_OK;
}

static void config_digest(const tsr_vae_config *c, char out[65])
{
    /* builtin weights are a pure function of the configuration */
    char buf[256];
    int n = snprintf(buf, sizeof buf, "builtin:%d:%d:%d:%d", c->in_channels, c->out_channels, c->latent_channels,
                     c->num_blocks);
    for (int i = 0; i < c->num_blocks && n < (int)sizeof buf - 16; i++)
        n += snprintf(buf + n, sizeof buf - (size_t)n, ":%d", c->block_out[i]);
    snprintf(buf + n, sizeof buf - (size_t)n, ":%d:%d:%d:%d", c->enc_layers_per_block, c->dec_layers_per_block,
             c->has_encoder, c->has_decoder);
    snprintf(out, 65, "%016llx", (unsigned long long)tsr_fnv1a64(buf));
}

tsr_status tsr_model_builtin(const tsr_vae_config *cfg, tsr_model **out, tsr_error *err)
{
    *out = NULL;
    tsr_model *m = tsr_calloc(1, sizeof *m, err);
    if (!m) return TSR_ERR_NOMEM;
    if (cfg) m->config = *cfg;
    else tsr_vae_config_seedvr2(&m->config);
    tsr_status st = tsr_weights_builtin(&m->config, &m->weights, err);
    if (st != TSR_OK) {
        free(m);
        return st;
    }
    config_digest(&m->config, m->digest);
    *out = m;
    return TSR_OK;
}

void tsr_model_destroy(tsr_model **model)
{
    if (!model || !*model) return;
    tsr_weights_free(&(*model)->weights);
    free(*model);
    *model = NULL;
}

/* ---------------------------------------------------------------- inspection */

static void report_dtypes(const tsr_weights *w, tsr_model_report *r)
{
    for (int i = 0; i < w->count; i++) {
        const tsr_tensor_info *t = &w->tensors[i];
        r->param_count += t->numel;
        const char *dn = tsr_dtype_name(t->dtype);
        int k = 0;
        while (k < r->dtype_count && strcmp(r->dtypes[k].name, dn) != 0) k++;
        if (k == r->dtype_count) {
            if (k == TSR_REPORT_MAX_DTYPES) continue;
            snprintf(r->dtypes[k].name, sizeof r->dtypes[k].name, "%s", dn);
            r->dtype_count++;
        }
        r->dtypes[k].tensors++;
        r->dtypes[k].params += t->numel;
    }
}

/* Move the metadata pairs from the weights into the report (the weights are freed right after). */
static void report_meta(tsr_weights *w, tsr_model_report *r)
{
    r->meta_count = w->meta_count;
    r->meta_keys = w->meta_keys;
    r->meta_values = w->meta_values;
    w->meta_keys = w->meta_values = NULL;
    w->meta_count = 0;
}

static tsr_status fill_report(tsr_weights *w, unsigned flags, tsr_model_report *r, tsr_error *err)
{
    r->format = w->format;
    r->file_size = (int64_t)w->mapping_size;
    r->tensor_count = w->count;
    report_dtypes(w, r);
    tsr_detect_result d;
    tsr_status st = tsr_detect(w, &d, err);
    if (st != TSR_OK) return st;
    r->kind = d.kind;
    memcpy(r->explanation, d.explanation, sizeof r->explanation);
    r->config_valid = d.kind != TSR_MODEL_NOT_VAE;
    r->config = d.config;
    r->has_encoder = r->config_valid && d.config.has_encoder;
    r->has_decoder = r->config_valid && d.config.has_decoder;
    r->problem_count = d.problem_count;
    r->problems = d.problems;
    d.problems = NULL;
    d.problem_count = 0;
    report_meta(w, r);
    if (flags & TSR_INSPECT_DIGEST) st = weights_digest(w, r->digest, err);
    return st;
}

tsr_status tsr_model_inspect(const char *path, unsigned flags, tsr_model_report **out, tsr_error *err)
{
    if (!out || !path) return tsr_fail(err, TSR_ERR_INVALID_ARG, "tsr_model_inspect: NULL argument");
    *out = NULL;
    tsr_model_report *r = tsr_calloc(1, sizeof *r, err);
    if (!r) return TSR_ERR_NOMEM;
    tsr_weights w;
    tsr_status st = load_weights(path, &w, err);
    if (st == TSR_OK) {
        st = fill_report(&w, flags, r, err);
        tsr_weights_free(&w);
    }
    if (st != TSR_OK) {
        tsr_model_report_free(&r);
        return st;
    }
    *out = r;
    return TSR_OK;
}

void tsr_model_report_free(tsr_model_report **report)
{
    if (!report || !*report) return;
    tsr_model_report *r = *report;
    for (int i = 0; i < r->problem_count; i++) free(r->problems[i]);
    free(r->problems);
    for (int i = 0; i < r->meta_count; i++) {
        free(r->meta_keys[i]);
        free(r->meta_values[i]);
    }
    free(r->meta_keys);
    free(r->meta_values);
    free(r);
    *report = NULL;
}
