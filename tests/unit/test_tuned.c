/* Planned decodes that start from a given plan (tsr_decode_params.start_plan, what a tuned plan from the store
 * becomes) on the CPU backend under an emulated device cap: the plan that runs is the given one (on_plan), with
 * the same frames as the planner's choice (bit for bit on exact rungs); a stored plan's `rung` and predictions
 * are re-derived from the request's ladder, so re-planning after TSR_ERR_DEVICE_OOM continues from it; a start
 * plan the request's planner would not make (over the budget, a kind the decode does not execute, ...) is
 * refused with a warning and the planner's choice runs instead. With the store: tsr_tuned_plan_lookup finds what
 * was stored under tsr_tune_key_make's key (the one tessera-cli tune uses) and nothing under another key. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _WIN32
#include <process.h>
#define getpid _getpid
#else
#include <unistd.h>
#endif

#include "core/common.h"
#include "model/filler.h"
#include "tessera.h"
#include "tsr_config.h"
#include "tsr_test.h"
#include "tsr_decode_run.h"

enum { LT = 3, LH = 6, LW = 10, OF = 4 * LT - 3, OH = 8 * LH, OW = 8 * LW };
#define ON ((size_t)3 * OF * OH * OW)
#define HUGE_BUDGET (1ull << 40)

static tsr_error err;
static tsr_model *model;
static tsr_engine *planning_eng;
static tsr_vae *planning_vae; /* for tsr_vae_plan_request: the request the executor makes */
static float *lat;

typedef tsr_decoded out;

typedef struct run_opts {
    uint64_t cap;               /* the CPU backend's emulated device cap, 0 = none */
    uint64_t budget;            /* tsr_decode_params.memory_budget, 0 = unplanned */
    uint64_t host_budget;
    int chunk;
    const tsr_plan *start;
} run_opts;

static int warnings;
static char last_warning[1024];

static void on_log(void *user, tsr_log_level level, const char *msg)
{
    (void)user;
    if (level != TSR_LOG_WARN) return;
    warnings++;
    snprintf(last_warning, sizeof last_warning, "%s", msg);
}

/* One decode on a fresh CPU engine. */
static tsr_status run(const run_opts *ro, out *o)
{
    tsr_decode_params p;
    tsr_decode_params_default(&p);
    p.chunk = ro->chunk;
    p.memory_budget = ro->budget;
    p.host_budget = ro->host_budget;
    p.start_plan = ro->start;
    return tsr_decode_run(model, lat, LT, LH, LW, ro->cap, &p, o, NULL, &err);
}

static tsr_plan_request request(uint64_t budget)
{
    tsr_plan_request r;
    tsr_vae_plan_request(planning_vae, LT, LH, LW, budget, 0, &r);
    return r;
}

static tsr_plan plan_at(uint64_t budget)
{
    tsr_plan_request r = request(budget);
    tsr_plan p;
    REQUIRE(tsr_plan_make(&r, &p, &err) == TSR_OK);
    return p;
}

/* The first rung below `from` (walking down the ladder by budget) that satisfies `want`. */
static tsr_plan find_rung(uint64_t from, int (*want)(const tsr_plan *))
{
    tsr_plan p = plan_at(from);
    while (p.kind != TSR_PLAN_IMPOSSIBLE && !want(&p)) p = plan_at(p.peak - 1);
    REQUIRE(p.kind != TSR_PLAN_IMPOSSIBLE);
    return p;
}

static int is_grouped(const tsr_plan *p) { return p->kind == TSR_PLAN_EXACT && p->frame_group > 0; }
static int is_offload(const tsr_plan *p) { return p->kind == TSR_PLAN_EXACT_OFFLOAD; }
static int is_tiled(const tsr_plan *p) { return p->kind == TSR_PLAN_TILED; }

static double max_abs(const float *a, const float *b) { return tsr_test_max_abs(a, b, ON); }

/* A start plan below the planner's choice runs instead of it: on_plan reports it, with the request's rung. */
static void test_start_plan_runs(const out *ref)
{
    static out o, chosen;
    tsr_plan top = plan_at(HUGE_BUDGET);
    REQUIRE(top.kind == TSR_PLAN_EXACT && top.frame_group == 0);
    tsr_plan starts[3] = {find_rung(HUGE_BUDGET, is_grouped), find_rung(HUGE_BUDGET, is_offload),
                          find_rung(HUGE_BUDGET, is_tiled)};
    for (int i = 0; i < 3; i++) {
        const tsr_plan *s = &starts[i];
        run_opts ro = {.budget = HUGE_BUDGET, .start = s};
        tsr_status st = run(&ro, &o);
        double d = max_abs(o.d, ref->d);
        printf("start plan %-13s chunk %d group %d tiles %d px, %d offloaded: on_plan %s rung %d (planner: %s rung %d), "
               "max abs %.2g\n", tsr_plan_kind_name(s->kind), s->chunk, s->frame_group, s->tile_w, s->offloaded,
               tsr_plan_kind_name(o.first.kind), o.first.rung, tsr_plan_kind_name(top.kind), top.rung, d);
        CHECKF(st == TSR_OK && o.frames == OF && !o.bad_order, "%s", err.message);
        CHECK(o.plans == 1 && tsr_plan_same_settings(&o.first, s) && o.first.rung == s->rung && o.first.rung > top.rung);
        CHECK(o.first.kind == s->kind && o.first.chunk == s->chunk && o.first.tile_w == s->tile_w &&
              o.first.frame_group == s->frame_group);
        if (s->kind == TSR_PLAN_TILED) CHECKF(d <= 1e-4, "tiled start plan: %g", d);
        else CHECKF(memcmp(o.d, ref->d, TSR_DECODED_BYTES(o)) == 0, "exact start plan not bit-identical: %g", d);
        /* the planner's own choice at the start plan's peak is the same plan: the same frames bit for bit */
        tsr_plan_request r = request(s->peak);
        tsr_plan mine;
        REQUIRE(tsr_plan_make(&r, &mine, &err) == TSR_OK && tsr_plan_same_settings(&mine, s));
        run_opts rp = {.budget = s->peak};
        CHECKF(run(&rp, &chosen) == TSR_OK, "%s", err.message);
        CHECK(chosen.plans == 1 && tsr_plan_same_settings(&chosen.first, s));
        if (s->kind == TSR_PLAN_TILED) CHECK(max_abs(o.d, chosen.d) <= 1e-4); /* more of it resident here */
        else CHECK(memcmp(o.d, chosen.d, TSR_DECODED_BYTES(o)) == 0);
    }
    CHECK(warnings == 0);
}

/* A stored plan's `rung` and predictions may be another request's or build's: the executor runs the request's own
 * rung, so re-planning after device OOM continues from there (with the stored rung, the ladder would end at once). */
static void test_stored_rung_replans(const out *ref)
{
    static out o;
    tsr_plan top = plan_at(HUGE_BUDGET), grouped = find_rung(HUGE_BUDGET, is_grouped);
    tsr_plan stored = top;
    stored.rung = 250, stored.peak = 1, stored.activations = 1; /* nonsense from elsewhere */
    /* the cap fits the grouped rung, not the whole-chunk exact one: the start plan runs out of memory */
    run_opts ro = {.cap = grouped.peak + (top.peak - grouped.peak) / 4, .budget = HUGE_BUDGET, .start = &stored};
    tsr_status st = run(&ro, &o);
    printf("stored exact plan with rung 250 under a %.3f MiB cap: %d plans, first rung %d (predicted %.3f MiB), last "
           "%s group %d, why: %s\n", ro.cap / 1048576.0, o.plans, o.first.rung, o.first.peak / 1048576.0,
           tsr_plan_kind_name(o.last.kind), o.last.frame_group, o.why);
    CHECKF(st == TSR_OK, "%s", err.message);
    CHECK(o.first.rung == top.rung && o.first.peak == top.peak && tsr_plan_same_settings(&o.first, &top));
    CHECK(o.plans >= 2 && o.last.rung > top.rung && strstr(o.why, "emulated device cap") != NULL);
    CHECK(o.frames == OF && o.bad_order == 0 && o.peak <= ro.cap);
    CHECKF(memcmp(o.d, ref->d, TSR_DECODED_BYTES(o)) == 0, "after re-planning from the start plan: %g", max_abs(o.d, ref->d));
}

/* Start plans the request's planner would not make: the decode logs why and runs the planner's choice. */
static void test_invalid_start_falls_back(const out *ref)
{
    static out o;
    tsr_plan top = plan_at(HUGE_BUDGET), offload = find_rung(HUGE_BUDGET, is_offload);
    tsr_plan over = top, fp8 = top, none = top, chunk7 = top, host = offload;
    fp8.kind = TSR_PLAN_FP8_STATE;
    none.kind = TSR_PLAN_IMPOSSIBLE;
    chunk7.chunk = 7;
    struct {
        const char *what;
        const tsr_plan *start;
        uint64_t budget, host_budget;
        const char *reason;
    } cases[] = {
        {"peak over the budget", &over, top.peak - 1, 0, "the budget is"},
        {"fp8-state (not executed)", &fp8, HUGE_BUDGET, 0, "no fp8-state plan"},
        {"impossible", &none, HUGE_BUDGET, 0, "impossible"},
        {"chunk 7 of a 3-frame latent", &chunk7, HUGE_BUDGET, 0, "chunk 7"},
        {"host memory over the host budget", &host, HUGE_BUDGET, host.state_host / 2 + 1, "host budget"},
    };
    for (size_t i = 0; i < TSR_ARRAY_LEN(cases); i++) {
        warnings = 0, last_warning[0] = 0;
        run_opts ro = {.budget = cases[i].budget, .host_budget = cases[i].host_budget, .start = cases[i].start};
        tsr_status st = run(&ro, &o);
        tsr_plan_request r = request(cases[i].budget);
        r.host_budget = cases[i].host_budget;
        tsr_plan want;
        REQUIRE(tsr_plan_make(&r, &want, &err) == TSR_OK && want.kind != TSR_PLAN_IMPOSSIBLE);
        printf("start plan with %s: warning \"%s\"; ran %s rung %d\n", cases[i].what, last_warning,
               tsr_plan_kind_name(o.first.kind), o.first.rung);
        CHECKF(st == TSR_OK && o.frames == OF && !o.bad_order, "%s: %s", cases[i].what, err.message);
        CHECK(o.plans == 1 && o.first.rung == want.rung && tsr_plan_same_settings(&o.first, &want));
        CHECKF(warnings == 1 && strstr(last_warning, "start plan is not used") && strstr(last_warning, cases[i].reason),
               "%s: %d warnings, last '%s'", cases[i].what, warnings, last_warning);
        CHECK(max_abs(o.d, ref->d) <= 1e-4);
    }
    warnings = 0;
}

#if TSR_HAVE_STORE
static int lookup(tsr_store *s, const tsr_vae *vae, const tsr_plan_request *r, tsr_plan *plan)
{
    int found = -1;
    CHECKF(tsr_tuned_plan_lookup(s, vae, r, plan, &found, &err) == TSR_OK, "%s", err.message);
    return found;
}

/* What tsr_store_tuned_put stored under tsr_tune_key_make's key is found for the same engine, model, latent size
 * and budget only; tsr_autotune (tessera-cli tune) reads the same entry; the plan found starts a decode. */
static void test_lookup(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/tsr-tuned-%d.db", tsr_test_env("TMPDIR", tsr_test_env("TEMP", "/tmp")),
             (int)getpid());
    remove(path);
    tsr_store_params sp;
    tsr_store_params_default(&sp);
    sp.path = path;
    tsr_store *s = NULL;
    REQUIRE(tsr_store_open(&sp, &s, &err) == TSR_OK);
    tsr_plan_request r = request(HUGE_BUDGET);
    tsr_plan tiled = find_rung(HUGE_BUDGET, is_tiled), got;
    tsr_tune_key k;
    tsr_tune_key_make(planning_vae, &r, &k);
    CHECK(strcmp(k.gpu, tsr_engine_description(planning_eng)) == 0 && strcmp(k.model_digest, tsr_model_digest(model)) == 0);
    CHECK(k.precision == r.precision && k.latent_h == LH && k.latent_w == LW && k.budget == HUGE_BUDGET);
    CHECK(lookup(s, planning_vae, &r, &got) == 0);

    char json[1024];
    tsr_plan_to_json(&tiled, json, sizeof json);
    tsr_tuned t = {json, "{}", 0.25, tiled.peak};
    REQUIRE(tsr_store_tuned_put(s, &k, &t, &err) == TSR_OK);
    CHECK(lookup(s, planning_vae, &r, &got) == 1 && tsr_plan_same_settings(&got, &tiled) && got.peak == tiled.peak);
    tsr_plan_request other = request(HUGE_BUDGET / 2); /* another budget */
    CHECK(lookup(s, planning_vae, &other, &got) == 0);
    tsr_vae_plan_request(planning_vae, LT, LH + 2, LW, HUGE_BUDGET, 0, &other); /* another latent size */
    CHECK(lookup(s, planning_vae, &other, &got) == 0);
    tsr_vae_plan_request(planning_vae, LT + 4, LH, LW, HUGE_BUDGET, 0, &other); /* more frames: the same key */
    CHECK(lookup(s, planning_vae, &other, &got) == 1 && tsr_plan_same_settings(&got, &tiled));
    tsr_vae_config cfg2 = *tsr_model_config(model); /* another model: another digest */
    cfg2.block_out[0] = 64;
    tsr_model *m2 = NULL;
    tsr_vae *v2 = NULL;
    REQUIRE(tsr_model_builtin(&cfg2, &m2, &err) == TSR_OK && tsr_vae_create(planning_eng, m2, &v2, &err) == TSR_OK);
    tsr_vae_plan_request(v2, LT, LH, LW, HUGE_BUDGET, 0, &other);
    CHECK(lookup(s, v2, &other, &got) == 0);
    tsr_vae_destroy(&v2);
    tsr_model_destroy(&m2);

    /* the autotuner (tessera-cli tune) finds the entry under the same key without timing anything */
    tsr_plan cached;
    int from_cache = 0;
    CHECK(tsr_autotune(s, &k, &r, 0, NULL, NULL, &cached, &from_cache, &err) == TSR_OK && from_cache &&
          tsr_plan_same_settings(&cached, &tiled));

    /* the plan found starts the decode */
    static out o;
    CHECK(lookup(s, planning_vae, &r, &got) == 1);
    got.rung = -7; /* whatever was stored */
    run_opts ro = {.budget = HUGE_BUDGET, .start = &got};
    CHECKF(run(&ro, &o) == TSR_OK && o.plans == 1 && tsr_plan_same_settings(&o.first, &tiled) &&
           o.first.rung == tiled.rung, "%s", err.message);

    /* an entry that no longer parses is no plan (and says so) */
    warnings = 0;
    tsr_tuned broken = {"{\"chunk\":1}", "{}", 0.25, 1};
    REQUIRE(tsr_store_tuned_put(s, &k, &broken, &err) == TSR_OK);
    CHECK(lookup(s, planning_vae, &r, &got) == 0 && warnings == 1 && strstr(last_warning, "not readable"));
    warnings = 0;
    tsr_store_close(&s);
    tsr_test_remove_db(path);
}
#endif

int main(void)
{
    tsr_set_log_callback(on_log, NULL, TSR_LOG_WARN);
    tsr_vae_config cfg;
    tsr_vae_config_seedvr2(&cfg);
    static const int ch[4] = {32, 32, 64, 64};
    memcpy(cfg.block_out, ch, sizeof ch);
    cfg.has_encoder = 0;
    REQUIRE(tsr_model_builtin(&cfg, &model, &err) == TSR_OK);
    tsr_engine_params ep;
    tsr_engine_params_default(&ep);
    ep.backend = TSR_BACKEND_CPU;
    ep.threads = 2;
    REQUIRE(tsr_engine_create(&ep, &planning_eng, &err) == TSR_OK);
    REQUIRE(tsr_vae_create(planning_eng, model, &planning_vae, &err) == TSR_OK);
    size_t n = (size_t)16 * LT * LH * LW;
    lat = malloc(n * sizeof(float));
    tsr_filler_latent(lat, n);

    static out ref;
    run_opts unplanned = {.chunk = LT};
    REQUIRE(run(&unplanned, &ref) == TSR_OK && ref.frames == OF && !ref.bad_order);
    test_start_plan_runs(&ref);
    test_stored_rung_replans(&ref);
    test_invalid_start_falls_back(&ref);
#if TSR_HAVE_STORE
    test_lookup();
#endif

    tsr_vae_destroy(&planning_vae);
    tsr_engine_destroy(&planning_eng);
    free(lat);
    tsr_model_destroy(&model);
    return tsr_test_done();
}
