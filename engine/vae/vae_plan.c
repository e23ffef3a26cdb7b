/* The executor of the memory planner's plans (tsr_decode_params.memory_budget): tsr_plan_make for the
 * engine's backend, the plan mapped onto tsr_vae_decode_pass's settings, and tsr_plan_next_smaller after
 * TSR_ERR_DEVICE_OOM. A re-planned pass re-runs the latent frames whose output was already delivered (to
 * rebuild the causal states exactly) without delivering them again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"
#include "model/filler.h"
#include "model/vae_tensors.h"
#include "plan/memmodel.h"
#include "vae/vae_internal.h"

/* The request for this VAE on its backend: the CPU backend's emulated cap bounds activations and device-side
 * states (fp32, norm fused into its conv); the CUDA backend's arena holds activations, states, staging and
 * scratch in bf16 (the weights are outside it), with each normalised conv input written to its own buffer.
 * EXACT_OFFLOAD is executed (host states, backend.h state_create_host); FP8_STATE is not (no_fp8_state); deep
 * tiles (near-exact) come after every exact rung. */
void tsr_vae_plan_request(const tsr_vae *v, int t, int h, int w, uint64_t budget, int chunk, tsr_plan_request *r)
{
    tsr_plan_request_default(r);
    r->cfg = &v->cfg;
    r->latent_t = t, r->latent_h = h, r->latent_w = w;
    r->budget = budget;
    r->chunk = chunk;
    r->tiling = TSR_TILING_AUTO;  /* exact first, then exact tiles, then deep tiles (near-exact) */
    r->no_fp8_state = 1;          /* no FP8_STATE plan: not executed */
    int cpu = strcmp(v->be->ops->name, "cpu") == 0;
    r->precision = cpu ? TSR_PRECISION_FP32 : v->engine->params.precision;
    r->fused_norm = cpu;
    r->emulated_cap = cpu;
}

void tsr_tune_key_make(const tsr_vae *v, const tsr_plan_request *r, tsr_tune_key *k)
{
    memset(k, 0, sizeof *k);
    snprintf(k->gpu, sizeof k->gpu, "%s", tsr_engine_description(v->engine)); /* name, sm and driver */
    snprintf(k->model_digest, sizeof k->model_digest, "%s", v->model_digest);
    k->precision = r->precision;
    k->latent_h = r->latent_h, k->latent_w = r->latent_w;
    k->budget = r->budget;
}

tsr_status tsr_tuned_plan_lookup(tsr_store *s, const tsr_vae *v, const tsr_plan_request *r, tsr_plan *out,
                                 int *found, tsr_error *err)
{
    *found = 0;
    if (!s || !v || !r) return tsr_fail(err, TSR_ERR_INVALID_ARG, "tuned plan lookup: store, VAE and request needed");
    tsr_tune_key key;
    tsr_tune_key_make(v, r, &key);
    tsr_tuned t = {0};
    tsr_status st = tsr_store_tuned_get(s, &key, &t, found, err);
    tsr_error bad = {0};
    if (st == TSR_OK && *found && tsr_plan_from_json(t.plan_json, out, &bad) != TSR_OK) {
        tsr_log(TSR_LOG_WARN, "the tuned plan in the store is not readable (%s): ignored", bad.message);
        *found = 0;
    }
    tsr_tuned_clear(&t);
    return st;
}

/* Decode settings that execute plan `pl`. */
static void plan_params(const tsr_plan *pl, const tsr_decode_params *user, tsr_decode_params *q)
{
    *q = *user;
    q->memory_budget = 0;
    q->chunk = pl->chunk;
    q->tile = pl->kind == TSR_PLAN_TILED ? pl->tile_w : 0;
    q->tile_from = 1;
    q->deep_tile = pl->kind == TSR_PLAN_DEEP_TILES ? pl->tile_w : 0;
    q->deep_tile_passes = pl->kind == TSR_PLAN_DEEP_TILES ? pl->deep_passes : 0;
    q->deep_head_recompute = pl->kind == TSR_PLAN_DEEP_TILES && (pl->head_cache == 0 || user->deep_head_recompute);
    q->frame_group = pl->kind == TSR_PLAN_TILED || pl->kind == TSR_PLAN_DEEP_TILES ? 0 : pl->frame_group;
    q->tile_host_state = pl->kind == TSR_PLAN_TILED && pl->offloaded > 0;
    q->offload_states = pl->kind == TSR_PLAN_EXACT_OFFLOAD || pl->kind == TSR_PLAN_DEEP_TILES ? pl->offloaded : 0;
    /* what the plan leaves of the budget (less 5 % for allocator slack) holds whole-frame tensors on the device */
    uint64_t slack = pl->budget > pl->peak ? pl->budget - pl->peak : 0;
    q->tile_resident = q->tile ? pl->resident + slack / 20 * 19 : 0;
}

/* The decoder's temporal convs in execution order, which is the memory model's order of causal convs. */
static void add_conv(vae_conv **list, int cap, int *n, vae_conv *c)
{
    if (*n < cap) list[*n] = c;
    (*n)++;
}

static int dec_causal(tsr_vae *v, vae_conv **list, int cap)
{
    vae_half *h = &v->dec;
    int n = 0, nb = v->cfg.num_blocks;
    add_conv(list, cap, &n, &h->conv_in);
    for (int r = 0; r < 2; r++) {
        add_conv(list, cap, &n, &h->mid[r].conv1);
        add_conv(list, cap, &n, &h->mid[r].conv2);
    }
    for (int i = 0; i < nb; i++) {
        for (int j = 0; j < h->layers; j++) {
            add_conv(list, cap, &n, &h->resnets[i * h->layers + j].conv1);
            add_conv(list, cap, &n, &h->resnets[i * h->layers + j].conv2);
        }
        if (i < nb - 1) add_conv(list, cap, &n, h->composed ? &h->upc[i][TSR_UPC_GEN] : &h->resample[i]);
    }
    add_conv(list, cap, &n, &h->conv_out);
    return n;
}

tsr_status tsr_vae_offload_mark(tsr_vae *v, int count, int head_only, tsr_error *err)
{
    vae_conv *list[TSR_MM_MAX_CAUSAL];
    int n = TSR_MIN(dec_causal(v, list, TSR_MM_MAX_CAUSAL), TSR_MM_MAX_CAUSAL);
    v->dec_first_host = NULL;
    for (int i = 0; i < n; i++) list[i]->host_state = 0, list[i]->next_host = NULL;
    if (count <= 0) return TSR_OK;
    tsr_mm *mm = tsr_calloc(1, sizeof *mm, err);
    if (!mm) return TSR_ERR_NOMEM;
    tsr_status st = TSR_OK;
    if (!tsr_mm_decoder(&v->cfg, mm) || mm->ncausal != n)
        st = tsr_fail(err, TSR_ERR_INTERNAL, "offload: the memory model has %d temporal convs, the decoder %d",
                      mm->ncausal, n);
    for (int i = 0; i < n && st == TSR_OK; i++)
        if ((list[i]->low_res ? strncmp(mm->causal[i].name, list[i]->name, strlen(mm->causal[i].name))
                              : strcmp(mm->causal[i].name, list[i]->name)) != 0 || list[i]->d.kt <= 1)
            st = tsr_fail(err, TSR_ERR_INTERNAL, "offload: memory model conv %s is %s in the decoder", mm->causal[i].name,
                          list[i]->name);
    int below = head_only ? tsr_mm_deep_from(mm) : mm->nstages;
    if (st == TSR_OK && below < 1) st = tsr_fail(err, TSR_ERR_UNSUPPORTED, "offload: this decoder has no head");
    if (st == TSR_OK) {
        int order[TSR_MM_MAX_CAUSAL];
        tsr_mm_state_order(mm, order);
        for (int i = 0, k = 0; i < n && k < count; i++)
            if (mm->causal[order[i]].stage < below) list[order[i]]->host_state = 1, k++;
        vae_conv *prev = NULL; /* each host conv prefetches the next one's state (execution order) */
        for (int i = 0; i < n; i++) {
            if (!list[i]->host_state) continue;
            if (prev) prev->next_host = list[i];
            else v->dec_first_host = list[i];
            prev = list[i];
        }
    }
    free(mm);
    return st;
}

/* A composed temporal upsampler's PAIR conv (the clip's low-res frame 1) gets its state beside its generic conv c's
 * (same frames), made or started again with it: not later, between a chunk's activations. */
static tsr_status pair_state(tsr_vae *v, const vae_conv *c, int sh, int sw, tsr_error *err)
{
    vae_half *h = &v->dec;
    for (int k = 0; h->composed && k < v->cfg.num_blocks - 1; k++) {
        vae_conv *p = &h->upc[k][TSR_UPC_PAIR];
        if (c != &h->upc[k][TSR_UPC_GEN] || !p->w) continue;
        if (p->state) {
            v->be->ops->state_reset(v->be, p->state);
            return TSR_OK;
        }
        return v->be->ops->state_create(v->be, &p->d, sh, sw, &p->state, err);
    }
    return TSR_OK;
}

tsr_status tsr_vae_decoder_states_create(tsr_vae *v, int h, int w, tsr_error *err)
{
    vae_conv *list[TSR_MM_MAX_CAUSAL];
    int n = TSR_MIN(dec_causal(v, list, TSR_MM_MAX_CAUSAL), TSR_MM_MAX_CAUSAL);
    tsr_mm *mm = tsr_calloc(1, sizeof *mm, err);
    if (!mm) return TSR_ERR_NOMEM;
    tsr_status st = tsr_mm_decoder(&v->cfg, mm) && mm->ncausal == n
                        ? TSR_OK : tsr_fail(err, TSR_ERR_INTERNAL, "offload: the memory model does not fit the decoder");
    tsr_backend *be = v->be;
    for (int pass = 0; pass < 2 && st == TSR_OK; pass++) /* host states first: their buffers at the arena's start */
        for (int i = 0; i < n && st == TSR_OK; i++) {
            vae_conv *c = list[i];
            if (c->state || c->host_state != (pass == 0)) continue;
            int sh = h * mm->causal[i].scale >> c->low_res, sw = w * mm->causal[i].scale >> c->low_res;
            st = (c->host_state ? be->ops->state_create_host : be->ops->state_create)(be, &c->d, sh, sw, &c->state, err);
            if (st != TSR_OK) tsr_error_prefix(err, "%s: ", c->name);
            if (st == TSR_OK) st = pair_state(v, c, sh, sw, err);
        }
    free(mm);
    return st;
}

/* The decoder's temporal convs in *list (the memory model's causal convs in *mm, same order) and the deep tiles'
 * split: the first tail stage, -1 when the decoder has none. */
static int deep_split(tsr_vae *v, vae_conv **list, int *n, tsr_mm *mm)
{
    *n = TSR_MIN(dec_causal(v, list, TSR_MM_MAX_CAUSAL), TSR_MM_MAX_CAUSAL);
    return tsr_mm_decoder(&v->cfg, mm) && mm->ncausal == *n ? tsr_mm_deep_from(mm) : -1;
}

void tsr_vae_deep_drop_head(tsr_vae *v)
{
    vae_conv *list[TSR_MM_MAX_CAUSAL];
    int n = 0;
    tsr_mm *mm = calloc(1, sizeof *mm);
    int from = mm ? deep_split(v, list, &n, mm) : -1;
    for (int i = 0; i < n && from > 0; i++)
        if (mm->causal[i].stage < from && list[i]->state) {
            v->be->ops->state_free(v->be, list[i]->state);
            list[i]->state = NULL;
        }
    free(mm);
}

tsr_status tsr_vae_deep_states(tsr_vae *v, int h, int w, int rh, int rw, int with_head, tsr_error *err)
{
    vae_conv *list[TSR_MM_MAX_CAUSAL];
    int n = 0;
    tsr_mm *mm = tsr_calloc(1, sizeof *mm, err);
    if (!mm) return TSR_ERR_NOMEM;
    int from = deep_split(v, list, &n, mm);
    tsr_status st = from > 0 ? TSR_OK : tsr_fail(err, TSR_ERR_UNSUPPORTED, "deep tiles: this decoder has no tail");
    tsr_backend *be = v->be;
    /* the head's host states (their staging buffers), its device states, then the tile's: the first tile
     * creates them at the arena's start, later tiles (regions of the same size) start them again */
    for (int pass = 0; pass < 3 && st == TSR_OK; pass++)
        for (int i = 0; i < n && st == TSR_OK; i++) {
            vae_conv *c = list[i];
            const tsr_mm_causal *m = &mm->causal[i];
            int head = m->stage < from;
            if (head && !with_head) continue;
            if (pass != (head ? !c->host_state : 2)) continue;
            int f = m->scale / mm->stages[from].scale;
            int sh = (head ? h * m->scale : rh * f) >> c->low_res, sw = (head ? w * m->scale : rw * f) >> c->low_res;
            if (c->state) {
                be->ops->state_reset(be, c->state);
            } else {
                st = (c->host_state ? be->ops->state_create_host : be->ops->state_create)(be, &c->d, sh, sw, &c->state,
                                                                                           err);
                if (st != TSR_OK) tsr_error_prefix(err, "%s: ", c->name);
            }
            if (st == TSR_OK) st = pair_state(v, c, sh, sw, err);
        }
    free(mm);
    return st;
}

static void size_text(uint64_t b, char *buf, size_t n)
{
    if (b >= (1ull << 30)) snprintf(buf, n, "%.2f GiB", (double)b / (1ull << 30));
    else if (b >= (1ull << 20)) snprintf(buf, n, "%.1f MiB", (double)b / (1ull << 20));
    else snprintf(buf, n, "%llu bytes", (unsigned long long)b);
}

static void tell(const tsr_decode_params *p, const tsr_plan *pl, const char *why)
{
    if (p->on_plan) p->on_plan(p->plan_user, pl, why);
}

/* The caller's start plan as a rung of this request's ladder (its own `rung` may index another request's); 0 when
 * there is none or the planner would not make it here. */
static int start_plan(const tsr_decode_params *p, const tsr_plan_request *r, tsr_plan *pl)
{
    if (!p->start_plan) return 0;
    tsr_error e = {0};
    if (tsr_plan_adopt(r, p->start_plan, pl, &e) == TSR_OK) return 1;
    tsr_log(TSR_LOG_WARN, "the given start plan is not used (%s): planning for the budget", e.message);
    return 0;
}

tsr_status tsr_vae_decode_planned(tsr_vae *vae, const tsr_latent_src *src, int c, int t, int h, int w,
                                  const tsr_decode_params *p, tsr_frame_sink sink, void *sink_user, tsr_error *err)
{
    tsr_plan_request r;
    tsr_vae_plan_request(vae, t, h, w, p->memory_budget, p->chunk, &r);
    r.frame_group = p->frame_group;
    r.host_budget = p->host_budget;
    r.deep_passes = p->deep_tile_passes;
    if (p->plan_tiling > 0) r.tiling = (tsr_tiling_policy)p->plan_tiling;
    tsr_plan pl;
    tsr_status st = start_plan(p, &r, &pl) ? TSR_OK : tsr_plan_make(&r, &pl, err);
    if (st != TSR_OK) return st;
    char why[TSR_ERROR_MESSAGE_MAX] = "";
    int emitted = 0, replans = 0;
    for (;;) {
        if (pl.kind == TSR_PLAN_IMPOSSIBLE) {
            char need[32], have[32];
            size_text(pl.min_needed, need, sizeof need);
            size_text(r.budget, have, sizeof have);
            if (why[0])
                return tsr_fail(err, TSR_ERR_DEVICE_OOM, "out of device memory and no smaller plan (budget %s, smallest "
                                "plan %s): %s", have, need, why);
            return tsr_fail(err, TSR_ERR_DEVICE_OOM, "no plan fits %s of device memory (the smallest needs %s)", have,
                            need);
        }
        tell(p, &pl, replans ? why : NULL);
        tsr_decode_params q;
        plan_params(&pl, p, &q);
        st = tsr_vae_decode_pass(vae, src, c, t, h, w, &q, sink, sink_user, &emitted, err);
        if (st != TSR_ERR_DEVICE_OOM) return st;
        snprintf(why, sizeof why, "%s", err ? err->message : "out of device memory");
        tsr_plan smaller;
        st = tsr_plan_next_smaller(&r, &pl, &smaller, err);
        if (st != TSR_OK) return st;
        pl = smaller;
        replans++;
    }
}

uint64_t tsr_vae_encode_peak(const tsr_vae *v, int height, int width, int frames, int chunk, int group)
{
    const tsr_vae_config *cfg = &v->cfg;
    int tf = 1;
    for (int i = 0; i < cfg->num_blocks - 1; i++) tf *= cfg->enc_temporal_down[i] ? 2 : 1;
    int hp = (height + 15) / 16 * 16, wp = (width + 15) / 16 * 16, ch = chunk > 0 ? chunk : tf;
    int padded = frames > 0 ? (frames - 1 + tf - 1) / tf * tf + 1 : 1 + 2 * ch; /* unknown length: any */
    int n1 = TSR_MIN(1 + ch, padded), n2 = TSR_MIN(ch, padded - n1);
    int cpu = strcmp(v->be->ops->name, "cpu") == 0;
    /* activations + causal states: the first chunk creates them as it goes, a later one has them all */
    uint64_t live = tsr_mm_encoder_chunk_peak(cfg, n1, hp, wp, 1, group, !cpu);
    if (n2 > 0)
        live = TSR_MAX(live, tsr_mm_encoder_chunk_peak(cfg, n2, hp, wp, 0, group, !cpu) + tsr_mm_encoder_state(cfg, hp, wp));
    if (cpu) return live * 4; /* the CPU backend's emulated cap: fp32 activations and device states */
    tsr_vae_config e = *cfg;
    e.has_decoder = 0, e.has_encoder = 1;
    tsr_tensor_spec specs[256];
    int n = tsr_vae_tensor_specs(&e, specs, (int)TSR_ARRAY_LEN(specs));
    uint64_t params = 0;
    for (int i = 0; i < n && i < (int)TSR_ARRAY_LEN(specs); i++) {
        uint64_t k = 1;
        for (int d = 0; d < specs[i].ndim; d++) k *= (uint64_t)specs[i].shape[d];
        params += k;
    }
    uint64_t tokens = (uint64_t)(hp / 8) * (uint64_t)(wp / 8); /* attention scores in query chunks (planner.c) */
    uint64_t workspace = TSR_BACKEND_CONV_WORKSPACE_MAX + TSR_MIN(tokens, 1024) * tokens * 4;
    return live * 2 + params * 2 + workspace;
}

static tsr_status discard(void *user, const float *fr, int n, int first, int h, int w, tsr_error *err)
{
    (void)user, (void)fr, (void)n, (void)first, (void)h, (void)w, (void)err;
    return TSR_OK;
}

static int probe_progress(void *user, const tsr_progress *p)
{
    uint64_t *peak = user;
    if (p->mem_peak > *peak) *peak = p->mem_peak;
    return 0;
}

tsr_status tsr_tune_probe_time(void *user, const tsr_plan *cand, double *seconds, uint64_t *peak, char *algos,
                               size_t algos_cap, tsr_error *err)
{
    tsr_tune_probe *pr = user;
    tsr_vae *v = pr->vae;
    int c = v->cfg.latent_channels, t = pr->latent_t, h = pr->latent_h, w = pr->latent_w;
    if (t < 1 || h < 1 || w < 1) return tsr_fail(err, TSR_ERR_INVALID_ARG, "tune probe: latent %dx%dx%d", t, h, w);
    size_t n = (size_t)c * t * h * w;
    float *lat = tsr_malloc(n * sizeof(float), err);
    if (!lat) return TSR_ERR_NOMEM;
    tsr_filler_latent(lat, n);
    tsr_latent_array arr = {lat, c, t, h, w};
    const tsr_latent_src src = {tsr_latent_array_read, &arr, 0};
    tsr_decode_params base, q;
    tsr_decode_params_default(&base);
    base.progress = probe_progress;
    base.progress_user = peak;
    plan_params(cand, &base, &q);
    *peak = 0;
    double best = -1;
    tsr_status st = TSR_OK;
    for (int i = 0; i < 1 + TSR_MAX(pr->runs, 1) && st == TSR_OK; i++) { /* the first run warms up */
        int emitted = 0;
        double t0 = tsr_now();
        st = tsr_vae_decode_pass(v, &src, c, t, h, w, &q, discard, NULL, &emitted, err);
        if (st == TSR_OK) st = v->be->ops->sync(v->be, err);
        double s = tsr_now() - t0;
        if (st == TSR_OK && i > 0 && (best < 0 || s < best)) best = s;
    }
    free(lat);
    if (st != TSR_OK) return st;
    *seconds = best;
    snprintf(algos, algos_cap, "{\"probe\":\"%dx%dx%d\",\"tile\":%d,\"chunk\":%d,\"frame_group\":%d}", t, h, w,
             q.tile, q.chunk, q.frame_group);
    return TSR_OK;
}
