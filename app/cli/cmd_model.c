/* `tessera-cli info`, `make-model` and `models`: model inspection, synthetic SeedVR2-shaped models from the
 * deterministic filler, and discovery of model files. */
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

static void group_digits(int64_t v, char *buf, size_t n)
{
    char raw[32];
    snprintf(raw, sizeof raw, "%lld", (long long)v);
    size_t len = strlen(raw), o = 0;
    for (size_t i = 0; i < len && o + 2 < n; i++) {
        if (i && raw[i] != '-' && (len - i) % 3 == 0 && raw[i - 1] != '-') buf[o++] = ',';
        buf[o++] = raw[i];
    }
    buf[o] = 0;
}

static void config_text(const tsr_vae_config *c, tsr_sbuf *b)
{
    tsr_sbuf_printf(b, "in %d, out %d, latent %d, blocks ", c->in_channels, c->out_channels, c->latent_channels);
    for (int i = 0; i < c->num_blocks; i++) tsr_sbuf_printf(b, i ? "/%d" : "%d", c->block_out[i]);
    tsr_sbuf_printf(b, ", resnets per block enc %d / dec %d", c->enc_layers_per_block, c->dec_layers_per_block);
    tsr_sbuf_puts(b, "\ntemporal:    encoder downsamplers");
    int any = 0;
    for (int i = 0; i < c->num_blocks; i++)
        if (c->has_encoder && c->enc_temporal_down[i]) tsr_sbuf_printf(b, "%s%d", any++ ? "," : " ", i);
    tsr_sbuf_puts(b, any ? "" : " -");
    tsr_sbuf_puts(b, "; decoder upsamplers");
    any = 0;
    for (int i = 0; i < c->num_blocks; i++)
        if (c->has_decoder && c->dec_temporal_up[i]) tsr_sbuf_printf(b, "%s%d", any++ ? "," : " ", i);
    tsr_sbuf_puts(b, any ? "" : " -");
}

static void print_info_text(const char *path, const tsr_model_report *r)
{
    char num[48];
    tsr_sbuf b;
    tsr_sbuf_init(&b);
    printf("file:        %s\n", path);
    printf("format:      %s (%.1f MB)\n", tsr_model_format_name(r->format), (double)r->file_size / 1e6);
    printf("kind:        %s (%s)\n", tsr_model_kind_name(r->kind), r->explanation);
    printf("tensors:     %d\n", r->tensor_count);
    group_digits(r->param_count, num, sizeof num);
    printf("parameters:  %s\n", num);
    for (int i = 0; i < r->dtype_count; i++) {
        group_digits(r->dtypes[i].params, num, sizeof num);
        printf("%-13s%s: %d tensors, %s parameters\n", i ? "" : "dtypes:", r->dtypes[i].name, r->dtypes[i].tensors, num);
    }
    if (r->config_valid) {
        config_text(&r->config, &b);
        printf("config:      %s\n", b.failed ? "?" : b.data);
    }
    printf("halves:      %s\n", r->has_encoder && r->has_decoder ? "encoder, decoder"
                                : r->has_encoder                 ? "encoder"
                                : r->has_decoder                 ? "decoder"
                                                                 : "none");
    printf("digest:      %s\n", r->digest);
    int shown = 0, hidden = 0;
    for (int i = 0; i < r->meta_count; i++) {
        if (strncmp(r->meta_keys[i], "comfy.gguf.orig_shape.", 22) == 0) { /* one per 5-D tensor: noise here */
            hidden++;
            continue;
        }
        printf("%-13s%s = %.200s\n", shown++ ? "" : "metadata:", r->meta_keys[i], r->meta_values[i]);
    }
    if (hidden) printf("%-13s(%d comfy.gguf.orig_shape.* keys: shapes of 5-D tensors)\n", shown ? "" : "metadata:", hidden);
    printf("problems:    %s\n", r->problem_count ? "" : "none");
    for (int i = 0; i < r->problem_count; i++) printf("  %s\n", r->problems[i]);
    tsr_sbuf_free(&b);
}

static void json_int_array(tsr_sbuf *b, const char *key, const int *v, int n)
{
    tsr_sbuf_printf(b, ",\"%s\":[", key);
    for (int i = 0; i < n; i++) tsr_sbuf_printf(b, i ? ",%d" : "%d", v[i]);
    tsr_sbuf_puts(b, "]");
}

static void json_config(tsr_sbuf *b, const tsr_vae_config *c)
{
    tsr_sbuf_printf(b, ",\"config\":{\"in_channels\":%d,\"out_channels\":%d,\"latent_channels\":%d,\"num_blocks\":%d",
                    c->in_channels, c->out_channels, c->latent_channels, c->num_blocks);
    json_int_array(b, "block_out", c->block_out, c->num_blocks);
    tsr_sbuf_printf(b, ",\"enc_layers_per_block\":%d,\"dec_layers_per_block\":%d", c->enc_layers_per_block,
                    c->dec_layers_per_block);
    json_int_array(b, "enc_temporal_down", c->enc_temporal_down, c->num_blocks);
    json_int_array(b, "dec_temporal_up", c->dec_temporal_up, c->num_blocks);
    tsr_sbuf_printf(b, ",\"has_encoder\":%s,\"has_decoder\":%s}", c->has_encoder ? "true" : "false",
                    c->has_decoder ? "true" : "false");
}

static void print_info_json(const char *path, const tsr_model_report *r)
{
    tsr_sbuf b;
    tsr_sbuf_init(&b);
    tsr_sbuf_puts(&b, "{\"file\":");
    tsr_sbuf_json_str(&b, path);
    tsr_sbuf_printf(&b, ",\"format\":\"%s\",\"file_size\":%lld,\"kind\":\"%s\",\"explanation\":",
                    tsr_model_format_name(r->format), (long long)r->file_size, tsr_model_kind_name(r->kind));
    tsr_sbuf_json_str(&b, r->explanation);
    tsr_sbuf_printf(&b, ",\"tensors\":%d,\"parameters\":%lld,\"dtypes\":{", r->tensor_count, (long long)r->param_count);
    for (int i = 0; i < r->dtype_count; i++)
        tsr_sbuf_printf(&b, "%s\"%s\":{\"tensors\":%d,\"parameters\":%lld}", i ? "," : "", r->dtypes[i].name,
                        r->dtypes[i].tensors, (long long)r->dtypes[i].params);
    tsr_sbuf_puts(&b, "}");
    if (r->config_valid) json_config(&b, &r->config);
    tsr_sbuf_printf(&b, ",\"halves\":{\"encoder\":%s,\"decoder\":%s},\"digest\":\"%s\",\"metadata\":{",
                    r->has_encoder ? "true" : "false", r->has_decoder ? "true" : "false", r->digest);
    for (int i = 0; i < r->meta_count; i++) {
        if (i) tsr_sbuf_puts(&b, ",");
        tsr_sbuf_json_str(&b, r->meta_keys[i]);
        tsr_sbuf_puts(&b, ":");
        tsr_sbuf_json_str(&b, r->meta_values[i]);
    }
    tsr_sbuf_puts(&b, "},\"problems\":[");
    for (int i = 0; i < r->problem_count; i++) {
        if (i) tsr_sbuf_puts(&b, ",");
        tsr_sbuf_json_str(&b, r->problems[i]);
    }
    tsr_sbuf_puts(&b, "]}\n");
    fputs(b.failed ? "{}\n" : b.data, stdout);
    tsr_sbuf_free(&b);
}

int cmd_info(int argc, char **argv)
{
    const char *path = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            printf("usage: tessera-cli info MODEL [--json]\n\nValidates a .safetensors or .gguf model file and prints "
                   "its format, tensor and\nparameter counts, dtypes, the detected VAE configuration, the halves "
                   "present,\nthe content digest and any problems (missing / unexpected / wrong-shaped tensors).\n");
            return 0;
        }
        if (cli_flag(argv, i, "--json")) json = true;
        else if (argv[i][0] == '-') return cli_usage_error("info", "unknown option '%s'", argv[i]);
        else if (path) return cli_usage_error("info", "one MODEL only");
        else path = argv[i];
    }
    if (!path) return cli_usage_error("info", "MODEL missing");
    tsr_error err = {0};
    tsr_model_report *r = NULL;
    if (tsr_model_inspect(path, TSR_INSPECT_DIGEST, &r, &err) != TSR_OK) return cli_fail_err(&err);
    if (json) print_info_json(path, r);
    else print_info_text(path, r);
    tsr_model_report_free(&r);
    return 0;
}
