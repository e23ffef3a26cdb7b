/* The per-layer precision policy (see precision.h). */
#include "vae/precision.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "model/vae_tensors.h"

/* The policy table: the first rule whose pattern matches a conv's name decides; a conv no rule matches stays in
 * bf16. `fast`/`quality`: 1 = FP8 under that policy. Derived from the per-layer sensitivity scan (RESULTS.md,
 * "FP8 precision policy"): the error FP8 adds in each layer alone, measured on the decoded golden, against the
 * layer's share of the decoder's FLOPs. Added errors of independent layers add in quadrature, so a policy is a
 * budget: "quality" keeps the sum under the 40 dB bar with margin, "fast" spends more of it on FLOPs. */
typedef struct prec_rule {
    const char *pattern;
    int fast, quality;
    const char *why;
} prec_rule;

static const prec_rule rules[] = {
    /* H100 scan (RESULTS.md "FP8 precision policy"): rel RMS added by this conv alone in FP8 (bf16 baseline 1.33 %)
     * and its share of the decoder's conv FLOPs at 720p17. Convs whose output IS the stream (not an update added to
     * it) carry ~3x the error of the resnet convs, whatever their input. */
    {"decoder.conv_in", 0, 0, "adds 4.3 % alone (output is the stream), 0.01 % of the FLOPs"},
    {"decoder.conv_out", 0, 0, "adds 3.8 % alone (writes the image), 0.1 % of the FLOPs"},
    {"decoder.*.upscale_conv", 0, 0, "adds 4.1-4.3 % alone (output is the stream), <= 0.6 % of the FLOPs"},
    {"decoder.*.conv_shortcut", 0, 0, "adds 4.0 % alone (output is the stream), 0.3 % of the FLOPs"},
    {"decoder.*.upsamplers.*.conv", 0, 0, "adds 4.2 % alone (output is the stream): 2-15 % of the FLOPs, too costly"},
    {"decoder.mid_block.*", 0, 0, "adds 2.0-2.4 % alone, 0.3 % of the FLOPs each"},
    {"decoder.up_blocks.0.*", 0, 0, "adds 1.5-1.9 % alone, 0.3 % of the FLOPs each"},
    {"decoder.up_blocks.1.*", 0, 0, "adds 1.3-1.5 % alone, 2 % of the FLOPs each (all six: 36.4 dB)"},
    /* "quality": the six convs with the least added error per FLOP (measured 41.4 / 41.2 dB on the two goldens,
     * 30 % of the conv FLOPs); "fast": the greedy 40-dB set, those six + the next two (measured 40.39 / 40.16 dB,
     * 37 %). Every further conv costs 0.6-1.6 dB: all twelve resnet convs of up blocks 2-3 give 38.5 dB. */
    {"decoder.up_blocks.3.resnets.0.conv1", 1, 1, "adds 1.1 % alone, 7.4 % of the FLOPs"},
    {"decoder.up_blocks.2.resnets.0.conv1", 1, 1, "adds 1.3 % alone, 7.4 % of the FLOPs"},
    {"decoder.up_blocks.3.resnets.0.conv2", 1, 1, "adds 1.1 % alone, 3.7 % of the FLOPs"},
    {"decoder.up_blocks.3.resnets.1.conv2", 1, 1, "adds 1.1 % alone, 3.7 % of the FLOPs"},
    {"decoder.up_blocks.3.resnets.2.conv1", 1, 1, "adds 1.1 % alone, 3.7 % of the FLOPs"},
    {"decoder.up_blocks.3.resnets.2.conv2", 1, 1, "adds 1.0 % alone, 3.7 % of the FLOPs"},
    {"decoder.up_blocks.3.resnets.1.conv1", 1, 0, "adds 1.1 % alone, 3.7 % of the FLOPs (over the quality budget)"},
    {"decoder.up_blocks.2.resnets.2.conv2", 1, 0, "adds 1.1 % alone, 3.7 % of the FLOPs (over the quality budget)"},
    {"decoder.up_blocks.2.resnets.*", 0, 0, "adds 1.2-1.3 % alone, 3.7 % of the FLOPs: over the 40 dB budget"},
};

int tsr_glob_match(const char *p, const char *s)
{
    for (; *p; p++, s++) {
        if (*p == '*') {
            for (;; s++) {
                if (tsr_glob_match(p + 1, s)) return 1;
                if (!*s) return 0;
            }
        }
        if (*s != *p) return 0;
    }
    return *s == 0;
}

static const prec_rule *rule_for(const char *name)
{
    for (size_t i = 0; i < TSR_ARRAY_LEN(rules); i++)
        if (tsr_glob_match(rules[i].pattern, name)) return &rules[i];
    return NULL;
}

tsr_layer_precision tsr_layer_precision_for(tsr_precision p, const char *name, const char **why)
{
    const prec_rule *r = name ? rule_for(name) : NULL;
    const char *reason = "bf16 precision";
    tsr_layer_precision lp = TSR_LP_DEFAULT;
    if (p == TSR_PRECISION_FP8_FAST || p == TSR_PRECISION_FP8_QUALITY) {
        if (!r) reason = "not in the FP8 policy table (encoder, attention)";
        else {
            int fp8 = p == TSR_PRECISION_FP8_FAST ? r->fast : r->quality;
            lp = fp8 ? TSR_LP_FP8 : TSR_LP_DEFAULT;
            reason = r->why;
        }
    }
    if (why) *why = reason;
    return lp;
}

int tsr_layer_precisions(tsr_precision p, const tsr_vae_config *cfg, tsr_layer_prec_info *out, int cap)
{
    int n_spec = tsr_vae_tensor_specs(cfg, NULL, 0);
    tsr_tensor_spec *specs = n_spec > 0 ? calloc((size_t)n_spec, sizeof *specs) : NULL;
    if (!specs) return 0;
    tsr_vae_tensor_specs(cfg, specs, n_spec);
    int n = 0;
    for (int i = 0; i < n_spec; i++) {
        const tsr_tensor_spec *s = &specs[i];
        size_t len = strlen(s->name);
        if (s->ndim != 5 || len < 7 || strcmp(s->name + len - 7, ".weight")) continue;
        if (out && n < cap) {
            tsr_layer_prec_info *o = &out[n];
            memset(o, 0, sizeof *o);
            snprintf(o->name, sizeof o->name, "%.*s", (int)(len - 7), s->name);
            o->cout = (int)s->shape[0], o->cin = (int)s->shape[1];
            o->kt = (int)s->shape[2], o->kh = (int)s->shape[3], o->kw = (int)s->shape[4];
            o->precision = tsr_layer_precision_for(p, o->name, &o->why);
        }
        n++;
    }
    free(specs);
    return n;
}

/* ---------------------------------------------------------------- override */

static char ovr[8192];
static int ovr_loaded;

void tsr_fp8_override_set(const char *spec)
{
    if (!spec) {
        ovr_loaded = 0;
        ovr[0] = 0;
        return;
    }
    snprintf(ovr, sizeof ovr, "%s", spec);
    ovr_loaded = 1;
}

static const char *override_now(void)
{
    if (!ovr_loaded) {
        const char *e = getenv("TSR_FP8");
        snprintf(ovr, sizeof ovr, "%s", e ? e : "");
        ovr_loaded = 1;
        if (!tsr_fp8_override_valid(ovr)) tsr_log(TSR_LOG_WARN, "TSR_FP8=%s: unknown policy, ignored", ovr);
    }
    return ovr;
}

int tsr_fp8_override_valid(const char *s)
{
    return !*s || !strcmp(s, "off") || !strcmp(s, "none") || !strcmp(s, "all") || !strcmp(s, "fast") ||
           !strcmp(s, "quality") || !strncmp(s, "name:", 5) || !strncmp(s, "layers:", 7);
}

static int in_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == n && !strncmp(p, name, n)) return 1;
        if (!e) break;
        p = e + 1;
    }
    return 0;
}

int tsr_fp8_override_for(const char *name)
{
    const char *s = override_now();
    if (!name) name = "";
    if (!*s || !strcmp(s, "off") || !tsr_fp8_override_valid(s)) return -1;
    if (!strcmp(s, "none")) return 0;
    if (!strcmp(s, "all")) return 1;
    if (!strcmp(s, "fast")) return tsr_layer_precision_for(TSR_PRECISION_FP8_FAST, name, NULL) == TSR_LP_FP8;
    if (!strcmp(s, "quality")) return tsr_layer_precision_for(TSR_PRECISION_FP8_QUALITY, name, NULL) == TSR_LP_FP8;
    if (!strncmp(s, "name:", 5)) return strstr(name, s + 5) != NULL;
    return in_list(s + 7, name); /* layers: */
}

const char *tsr_precision_name(tsr_precision p)
{
    switch (p) {
    case TSR_PRECISION_AUTO: return "auto";
    case TSR_PRECISION_FP32: return "fp32";
    case TSR_PRECISION_BF16: return "bf16";
    case TSR_PRECISION_FP16: return "fp16";
    case TSR_PRECISION_FP8_FAST: return "fp8-fast";
    case TSR_PRECISION_FP8_QUALITY: return "fp8-quality";
    }
    return "?";
}
