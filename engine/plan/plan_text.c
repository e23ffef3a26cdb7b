/* Plans as JSON (what the autotuner stores) and as text for people. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

#define GIB_F (1024.0 * 1024.0 * 1024.0)

typedef struct field {
    const char *key;
    size_t offset;
    int is_u64;
} field;

#define F_INT(name) {#name, offsetof(tsr_plan, name), 0}
#define F_U64(name) {#name, offsetof(tsr_plan, name), 1}
static const field fields[] = {
    F_INT(approximate), F_INT(chunk), F_INT(act_bytes), F_INT(state_bytes), F_INT(offloaded), F_INT(tile_h),
    F_INT(tile_w), F_INT(tiles_y), F_INT(tiles_x), F_INT(halo), F_INT(blend), F_INT(tile_align),
    F_INT(tiled_scale), F_INT(two_pass_norm), F_INT(tile_major), F_INT(rung), F_U64(weights), F_U64(state_device),
    F_U64(activations), F_U64(workspace), F_U64(peak), F_U64(state_staging), F_U64(state_host), F_U64(host_boundary), F_U64(resident), F_U64(budget),
    F_U64(min_needed), F_INT(frame_group), F_INT(deep_passes), F_INT(work_pct), F_U64(head_cache),
};

int tsr_plan_to_json(const tsr_plan *p, char *buf, size_t cap)
{
    size_t n = 0;
    int w = snprintf(buf, cap, "{\"kind\":\"%s\"", tsr_plan_kind_name(p->kind));
    n += (size_t)w;
    for (size_t i = 0; i < TSR_ARRAY_LEN(fields); i++) {
        const char *base = (const char *)p + fields[i].offset;
        char *dst = n < cap ? buf + n : NULL;
        size_t room = n < cap ? cap - n : 0;
        if (fields[i].is_u64)
            w = snprintf(dst, room, ",\"%s\":%llu", fields[i].key, (unsigned long long)*(const uint64_t *)base);
        else
            w = snprintf(dst, room, ",\"%s\":%d", fields[i].key, *(const int *)base);
        n += (size_t)w;
    }
    w = snprintf(n < cap ? buf + n : NULL, n < cap ? cap - n : 0, "}");
    return (int)(n + (size_t)w);
}

/* Value after "key": in a flat JSON object; NULL when absent. */
static const char *find_value(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\"", key);
    for (const char *p = strstr(json, pat); p; p = strstr(p + 1, pat)) {
        const char *q = p + strlen(pat);
        while (*q == ' ' || *q == '\t' || *q == '\n') q++;
        if (*q != ':') continue;
        q++;
        while (*q == ' ' || *q == '\t' || *q == '\n') q++;
        return q;
    }
    return NULL;
}

tsr_status tsr_plan_from_json(const char *json, tsr_plan *out, tsr_error *err)
{
    memset(out, 0, sizeof *out);
    const char *k = json ? find_value(json, "kind") : NULL;
    if (!k || *k != '"') return tsr_fail(err, TSR_ERR_FORMAT, "plan JSON has no \"kind\"");
    int kind = -1;
    for (int i = 0; i <= TSR_PLAN_IMPOSSIBLE; i++) {
        const char *name = tsr_plan_kind_name((tsr_plan_kind)i);
        size_t len = strlen(name);
        if (strncmp(k + 1, name, len) == 0 && k[1 + len] == '"') kind = i;
    }
    if (kind < 0) return tsr_fail(err, TSR_ERR_FORMAT, "plan JSON: unknown kind");
    out->kind = (tsr_plan_kind)kind;
    for (size_t i = 0; i < TSR_ARRAY_LEN(fields); i++) {
        const char *v = find_value(json, fields[i].key);
        if (!v) continue;
        char *end;
        unsigned long long x = strtoull(v, &end, 10);
        if (end == v) return tsr_fail(err, TSR_ERR_FORMAT, "plan JSON: \"%s\" is not a number", fields[i].key);
        char *base = (char *)out + fields[i].offset;
        if (fields[i].is_u64) *(uint64_t *)base = (uint64_t)x;
        else *(int *)base = (int)x;
    }
    return TSR_OK;
}

static const char *kind_text(tsr_plan_kind k)
{
    switch (k) {
    case TSR_PLAN_EXACT: return "exact streaming, causal state in VRAM";
    case TSR_PLAN_EXACT_OFFLOAD: return "exact streaming, largest causal states in pinned host memory";
    case TSR_PLAN_FP8_STATE: return "streaming with FP8 causal state (approximate)";
    case TSR_PLAN_TILED: return "exact spatial tiles for the high-resolution layers";
    case TSR_PLAN_DEEP_TILES: return "deep tiles: per tile the whole clip, head on the whole frame (near-exact)";
    default: return "nothing fits the budget";
    }
}

int tsr_plan_describe(const tsr_plan *p, char *buf, size_t cap)
{
    if (p->kind == TSR_PLAN_IMPOSSIBLE)
        return snprintf(buf, cap, "plan: %s\n  budget %.2f GiB, the smallest plan needs %.2f GiB\n",
                        kind_text(p->kind), (double)p->budget / GIB_F, (double)p->min_needed / GIB_F);
    char tiles[512] = "";
    if (p->kind == TSR_PLAN_EXACT_OFFLOAD || p->kind == TSR_PLAN_FP8_STATE)
        snprintf(tiles, sizeof tiles, "  the %d largest causal states in pinned host memory (%.2f GiB), each copied to "
                 "the device one conv ahead through 2 staging buffers (%.2f GiB together)\n", p->offloaded,
                 (double)p->state_host / GIB_F, (double)p->state_staging / GIB_F);
    if (p->kind == TSR_PLAN_TILED)
        snprintf(tiles, sizeof tiles, "  tiles %dx%d of %dx%d px (halo %d px per layer), GroupNorm statistics of the "
                 "whole frame gathered on the device, tile states %s, whole-frame tensors in %s memory\n", p->tiles_y, p->tiles_x, p->tile_h, p->tile_w,
                 p->halo, p->offloaded ? "in host memory (history frames re-run)" : "on the device",
                 p->resident ? "device" : "host");
    if (p->kind == TSR_PLAN_DEEP_TILES)
        snprintf(tiles, sizeof tiles, "  deep-tiles: %dx%d tiles of %dx%d px (halo %d px per side), %d pass%s (GroupNorm "
                 "statistics %s), head on the whole frame %s (%d of its causal states in pinned host memory), "
                 "one tile's causal states on the device, output frames in host memory\n", p->tiles_y, p->tiles_x,
                 p->tile_h, p->tile_w, p->halo, p->deep_passes, p->deep_passes == 1 ? "" : "es",
                 p->deep_passes == 1 ? "per tile, approximate" : "pooled from the previous pass over the tiles' cores",
                 p->head_cache ? "once per chunk, its output cached in host memory" : "again for every tile and pass",
                 p->offloaded);
    char groups[160] = "";
    if (p->kind != TSR_PLAN_TILED && p->kind != TSR_PLAN_DEEP_TILES)
    {
        if (p->frame_group > 0)
            snprintf(groups, sizeof groups, "  frame groups of %d output frame%s after the last temporal upsampler\n",
                     p->frame_group, p->frame_group == 1 ? "" : "s");
        else snprintf(groups, sizeof groups, "  frame groups: off (the whole chunk at once)\n");
    }
    return snprintf(buf, cap,
                    "plan: %s\n  chunk %d latent frame%s, %d-byte activations, %d-byte state, %d state%s offloaded\n"
                    "%s%s  predicted peak %.2f GiB of %.2f GiB: weights %.2f, state %.2f, activations %.2f, "
                    "workspace %.2f\n  host memory: state %.2f GiB, %s %.2f GiB\n"
                    "  estimated work %.2fx the untiled decode's (multiply-adds + host copies)\n",
                    kind_text(p->kind), p->chunk, p->chunk == 1 ? "" : "s", p->act_bytes, p->state_bytes,
                    p->offloaded, p->offloaded == 1 ? "" : "s", tiles, groups, (double)p->peak / GIB_F,
                    (double)p->budget / GIB_F, (double)p->weights / GIB_F, (double)p->state_device / GIB_F,
                    (double)p->activations / GIB_F, (double)p->workspace / GIB_F, (double)p->state_host / GIB_F,
                    p->kind == TSR_PLAN_DEEP_TILES ? "output frames + head cache" : "whole-frame tile buffers",
                    (double)p->host_boundary / GIB_F, p->work_pct / 100.0);
}
