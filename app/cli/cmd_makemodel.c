/* `tessera-cli make-model`: a SeedVR2-shaped VAE from the deterministic filler, with the real checkpoint's tensor
 * names and shapes (model/vae_tensors.c), written as safetensors or GGUF; and `tessera-cli models`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/half.h"
#include "core/json.h"
#include "model/filler.h"
#include "model/gguf.h"
#include "model/safetensors.h"
#include "model/vae_tensors.h"

typedef struct mm_opts {
    const char *out, *dtype, *format, *config, *halves;
} mm_opts;

static int dtype_of(const char *s, tsr_dtype *dt)
{
    static const struct {
        const char *name;
        tsr_dtype dt;
    } k[] = {{"f32", TSR_DT_F32}, {"f16", TSR_DT_F16}, {"bf16", TSR_DT_BF16}, {"q8_0", TSR_DT_Q8_0}};
    for (size_t i = 0; i < sizeof k / sizeof k[0]; i++)
        if (strcmp(s, k[i].name) == 0) {
            *dt = k[i].dt;
            return 1;
        }
    return 0;
}

/* Q8_0 only where rows are whole blocks; small vectors stay F32 (as GGUF quantisers do). */
static tsr_dtype tensor_dtype(tsr_dtype want, const tsr_tensor_spec *s, int64_t numel)
{
    if (want != TSR_DT_Q8_0) return want;
    return s->ndim >= 2 && (numel / s->shape[0]) % 32 == 0 ? TSR_DT_Q8_0 : TSR_DT_F32;
}

static void *convert(const float *src, int64_t n, tsr_dtype dt)
{
    size_t nb = tsr_dtype_nbytes(dt, n);
    uint8_t *dst = malloc(nb ? nb : 1);
    if (!dst) return NULL;
    if (dt == TSR_DT_F32) memcpy(dst, src, nb);
    for (int64_t i = 0; dt == TSR_DT_F16 && i < n; i++) {
        uint16_t h = tsr_f32_to_f16(src[i]);
        memcpy(dst + 2 * i, &h, 2);
    }
    for (int64_t i = 0; dt == TSR_DT_BF16 && i < n; i++) {
        uint16_t h = tsr_f32_to_bf16(src[i]);
        memcpy(dst + 2 * i, &h, 2);
    }
    if (dt == TSR_DT_Q8_0) tsr_quantize_q8_0(src, n, dst);
    return dst;
}

/* Fill every tensor of `cfg` (one fp32 tensor at a time) and convert to its file dtype. */
static int build_tensors(const tsr_vae_config *cfg, tsr_dtype want, tsr_st_tensor **out, tsr_tensor_spec **specs_out)
{
    int n = tsr_vae_tensor_specs(cfg, NULL, 0);
    tsr_tensor_spec *specs = calloc((size_t)n, sizeof *specs);
    tsr_st_tensor *t = calloc((size_t)n, sizeof *t);
    if (!specs || !t) n = -1;
    else tsr_vae_tensor_specs(cfg, specs, n);
    for (int i = 0; i < n; i++) {
        int64_t numel = 1;
        for (int d = 0; d < specs[i].ndim; d++) numel *= specs[i].shape[d];
        float *f = malloc((size_t)numel * sizeof *f);
        double sc, off;
        tsr_filler_vae_rule(specs[i].name, specs[i].ndim, specs[i].shape, &sc, &off);
        if (f) tsr_filler_fill(specs[i].name, sc, off, 0, (uint64_t)numel, f);
        t[i].name = specs[i].name;
        t[i].dtype = tensor_dtype(want, &specs[i], numel);
        t[i].ndim = specs[i].ndim;
        memcpy(t[i].shape, specs[i].shape, sizeof specs[i].shape);
        t[i].data = f ? convert(f, numel, t[i].dtype) : NULL;
        free(f);
        if (!t[i].data) n = -1;
    }
    *out = t;
    *specs_out = specs;
    return n;
}

static int parse_mm(int argc, char **argv, mm_opts *o)
{
    bool bad = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: tessera-cli make-model -o FILE [--dtype f16|bf16|f32|q8_0] [--format safetensors|gguf]\n"
                   "                              [--config seedvr2|small] [--halves both|encoder|decoder]\n\n"
                   "Writes a SeedVR2-shaped VAE filled by the deterministic filler, with the real checkpoint's\n"
                   "tensor names and shapes (250 tensors, 250,648,227 parameters for the full config).\n"
                   "--config small: channels 32/32/64/64 (fast tests). q8_0 needs --format gguf.\n");
            return -1;
        }
        if (cli_opt_str(argc, argv, &i, "-o", &o->out, &bad) || cli_opt_str(argc, argv, &i, "--output", &o->out, &bad) ||
            cli_opt_str(argc, argv, &i, "--dtype", &o->dtype, &bad) ||
            cli_opt_str(argc, argv, &i, "--format", &o->format, &bad) ||
            cli_opt_str(argc, argv, &i, "--config", &o->config, &bad) ||
            cli_opt_str(argc, argv, &i, "--halves", &o->halves, &bad)) {
            if (bad) return 2;
            continue;
        }
        return cli_usage_error("make-model", "unknown argument '%s'", argv[i]);
    }
    if (!o->out) return cli_usage_error("make-model", "-o FILE is required");
    return 0;
}

static int configure(const mm_opts *o, tsr_vae_config *cfg, tsr_dtype *dt, bool *gguf)
{
    tsr_vae_config_seedvr2(cfg);
    if (!dtype_of(o->dtype, dt)) return cli_usage_error("make-model", "unknown dtype '%s'", o->dtype);
    if (strcmp(o->format, "gguf") != 0 && strcmp(o->format, "safetensors") != 0)
        return cli_usage_error("make-model", "unknown format '%s'", o->format);
    *gguf = strcmp(o->format, "gguf") == 0;
    if (*dt == TSR_DT_Q8_0 && !*gguf) return cli_usage_error("make-model", "q8_0 needs --format gguf");
    if (strcmp(o->config, "small") == 0) {
        static const int ch[4] = {32, 32, 64, 64};
        memcpy(cfg->block_out, ch, sizeof ch);
    } else if (strcmp(o->config, "seedvr2") != 0) {
        return cli_usage_error("make-model", "unknown config '%s'", o->config);
    }
    if (strcmp(o->halves, "encoder") == 0) cfg->has_decoder = 0;
    else if (strcmp(o->halves, "decoder") == 0) cfg->has_encoder = 0;
    else if (strcmp(o->halves, "both") != 0) return cli_usage_error("make-model", "unknown halves '%s'", o->halves);
    return 0;
}

int cmd_make_model(int argc, char **argv)
{
    mm_opts o = {NULL, "f16", "safetensors", "seedvr2", "both"};
    int rc = parse_mm(argc, argv, &o);
    if (rc) return rc < 0 ? 0 : rc;
    tsr_vae_config cfg;
    tsr_dtype dt = TSR_DT_F16;
    bool gguf = false;
    if ((rc = configure(&o, &cfg, &dt, &gguf)) != 0) return rc;
    tsr_st_tensor *t = NULL;
    tsr_tensor_spec *specs = NULL;
    int n = build_tensors(&cfg, dt, &t, &specs);
    tsr_error err = {0};
    const char *meta[] = {"format", "pt", "tessera.generator", "make-model (deterministic filler)"};
    tsr_status st = n < 0 ? TSR_ERR_NOMEM
                    : gguf ? tsr_gguf_write(o.out, t, n, meta, 2, &err)
                           : tsr_safetensors_write(o.out, t, n, meta, 2, &err);
    int count = n < 0 ? tsr_vae_tensor_specs(&cfg, NULL, 0) : n;
    for (int i = 0; t && i < count; i++) free((void *)t[i].data);
    free(t);
    free(specs);
    if (n < 0) return cli_fail("make-model: out of memory");
    if (st != TSR_OK) return cli_fail_err(&err);
    printf("wrote %s: %d tensors (%s, %s)\n", o.out, n, o.dtype, o.format);
    return 0;
}

/* ---------------------------------------------------------------- models */

int cmd_models(int argc, char **argv)
{
    bool json = false, bad = false;
    const char *dirs[32];
    int nd = 0;
    for (int i = 1; i < argc; i++) {
        const char *d = NULL;
        if (cli_is_help(argv[i])) {
            printf("usage: tessera-cli models [--dir FOLDER]... [--json]\n\nLists every .safetensors / .gguf file in "
                   "the default models folder and the given\nfolders with its kind (full VAE, decoder only, encoder "
                   "only, or why it is unusable).\n");
            return 0;
        }
        if (cli_flag(argv, i, "--json")) json = true;
        else if (cli_opt_str(argc, argv, &i, "--dir", &d, &bad)) {
            if (bad) return 2;
            if (nd == 32) return cli_usage_error("models", "at most 32 --dir options");
            dirs[nd++] = d;
        } else return cli_usage_error("models", "unknown argument '%s'", argv[i]);
    }
    char def[1024] = "";
    tsr_error err = {0};
    if (tsr_models_default_dir(def, sizeof def, &err) != TSR_OK) snprintf(def, sizeof def, "(none: %s)", err.message);
    tsr_model_list *l = NULL;
    if (tsr_models_scan(1, dirs, nd, &l, &err) != TSR_OK) return cli_fail_err(&err);
    tsr_sbuf b;
    tsr_sbuf_init(&b);
    if (json) {
        tsr_sbuf_puts(&b, "{\"default_dir\":");
        tsr_sbuf_json_str(&b, def);
        tsr_sbuf_puts(&b, ",\"models\":[");
    } else {
        tsr_sbuf_printf(&b, "default folder: %s\n", def);
    }
    for (int i = 0; i < l->count; i++) {
        const tsr_model_entry *e = &l->items[i];
        if (!json) {
            tsr_sbuf_printf(&b, "%-18s %-11s %9.1f MB  %s%s%s\n", e->error && !e->format ? "unreadable" : tsr_model_kind_name(e->kind),
                            e->format ? tsr_model_format_name(e->format) : "-", (double)e->file_size / 1e6, e->path,
                            e->error ? "  -- " : "", e->error ? e->error : "");
            continue;
        }
        tsr_sbuf_puts(&b, i ? ",{\"path\":" : "{\"path\":");
        tsr_sbuf_json_str(&b, e->path);
        tsr_sbuf_printf(&b, ",\"format\":\"%s\",\"kind\":\"%s\",\"file_size\":%lld,\"error\":",
                        e->format ? tsr_model_format_name(e->format) : "unknown", tsr_model_kind_name(e->kind),
                        (long long)e->file_size);
        if (e->error) tsr_sbuf_json_str(&b, e->error);
        else tsr_sbuf_puts(&b, "null");
        tsr_sbuf_puts(&b, "}");
    }
    if (json) tsr_sbuf_puts(&b, "]}\n");
    else if (l->count == 0) tsr_sbuf_puts(&b, "no model files found\n");
    fputs(b.failed ? "out of memory\n" : b.data, stdout);
    tsr_sbuf_free(&b);
    tsr_model_list_free(&l);
    return 0;
}
