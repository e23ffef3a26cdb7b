/* cuDNN graph API through function pointers from a run-time opened library (see cudnn.h). The enum values
 * below are cuDNN 9's ABI (cudnn_graph.h); the headers are not needed to build. */
#include "backend/cuda/cudnn.h"
#include "backend/backend.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _WIN32
#include <windows.h>
#else
#include <dlfcn.h>
#endif

typedef void *cdesc;  /* cudnnBackendDescriptor_t */
typedef int cstatus;  /* cudnnStatus_t, 0 = success */

enum { /* cudnnBackendAttributeType_t */
    T_HANDLE = 0, T_DATA_TYPE = 1, T_BOOLEAN = 2, T_INT64 = 3, T_FLOAT = 4, T_VOID_PTR = 6, T_CONV_MODE = 7,
    T_HEUR_MODE = 8, T_KNOB_TYPE = 9, T_POINTWISE_MODE = 14, T_DESC = 15
};
enum { /* cudnnBackendDescriptorType_t */
    D_POINTWISE = 0, D_CONVOLUTION = 1, D_ENGINE = 2, D_ENGINECFG = 3, D_ENGINEHEUR = 4, D_PLAN = 5, D_KNOB_CHOICE = 7,
    D_OP_CONV_FWD = 10,
    D_OP_POINTWISE = 13, D_OPGRAPH = 15, D_VARIANT_PACK = 16, D_TENSOR = 17
};
enum { /* cudnnBackendAttributeName_t */
    A_PW_MODE = 0, A_PW_MATH_PREC = 1,
    A_CONV_COMP_TYPE = 100, A_CONV_MODE = 101, A_CONV_DILATIONS = 102, A_CONV_STRIDES = 103,
    A_CONV_POST_PAD = 104, A_CONV_PRE_PAD = 105, A_CONV_DIMS = 106,
    A_HEUR_MODE = 200, A_HEUR_GRAPH = 201, A_HEUR_RESULTS = 202, A_CFG_ENGINE = 300, A_CFG_KNOBS = 302,
    A_KNOB_TYPE = 600, A_KNOB_VALUE = 601,
    A_PLAN_HANDLE = 400, A_PLAN_CFG = 401, A_PLAN_WS = 402,
    A_FWD_ALPHA = 700, A_FWD_BETA = 701, A_FWD_CONV = 702, A_FWD_W = 703, A_FWD_X = 704, A_FWD_Y = 705,
    A_PWOP_DESC = 750, A_PWOP_X = 751, A_PWOP_B = 752, A_PWOP_Y = 753,
    A_GRAPH_HANDLE = 800, A_GRAPH_OPS = 801,
    A_T_ALIGN = 900, A_T_DTYPE = 901, A_T_DIMS = 902, A_T_STRIDES = 903, A_T_UID = 906, A_T_VIRTUAL = 907,
    A_VP_UIDS = 1000, A_VP_PTRS = 1001, A_VP_WS = 1003, A_ENGINE_GRAPH = 1300, A_ENGINE_GLOBAL_INDEX = 1301
};
enum { DT_FLOAT = 0, DT_BF16 = 9, DT_FP8_E4M3 = 12 };
enum { PW_ADD = 0, PW_MUL = 1 };
enum { CROSS_CORRELATION = 1 };
enum { HEUR_MODE_B = 1, HEUR_MODE_FALLBACK = 2, HEUR_MODE_A = 3 };

enum { MAX_PLANS = 12, MAX_OPS = 6, MAX_KNOBS = 24, KNOB_TYPES = 44 /* CUDNN_KNOB_TYPE_COUNTS */ };

typedef struct cudnn_api {
    void *lib;
    size_t (*GetVersion)(void);
    const char *(*GetErrorString)(cstatus);
    void (*GetLastErrorString)(char *, size_t);
    cstatus (*Create)(void **);
    cstatus (*Destroy)(void *);
    cstatus (*SetStream)(void *, void *);
    cstatus (*BackendCreateDescriptor)(int, cdesc *);
    cstatus (*BackendDestroyDescriptor)(cdesc);
    cstatus (*BackendFinalize)(cdesc);
    cstatus (*BackendSetAttribute)(cdesc, int, int, int64_t, const void *);
    cstatus (*BackendGetAttribute)(cdesc, int, int, int64_t, int64_t *, void *);
    cstatus (*BackendExecute)(void *, cdesc, cdesc);
} cudnn_api;

/* descriptors made while building one graph, kept alive with the plans made from them (graph, engine configs), destroyed together */
typedef struct builder {
    cudnn_api *a;
    cdesc all[80];
    int n;
    cstatus st;
    const char *what;
} builder;

/* Where a candidate plan came from: heuristics mode and its index in that mode's result list (for the
 * record), its engine's global index and the engine config's knob choices. Engine + knobs name the config
 * completely: a later start builds exactly that config again without asking the heuristics. (The heuristics'
 * list index alone is not enough: the same engine appears with other knobs, i.e. other tiles, split-K, ...,
 * which round differently and run at other speeds.) */
typedef struct plan_origin {
    int mode, index;
    int64_t engine;
    int nknobs;
    int knob_type[MAX_KNOBS];
    int64_t knob_value[MAX_KNOBS];
} plan_origin;

struct tsr_cudnn_conv {
    tsr_cudnn_conv_shape shape;
    builder b;
    cdesc plans[MAX_PLANS];
    int64_t ws[MAX_PLANS];
    plan_origin origin[MAX_PLANS];
    int nplans, best, tuned;
    int remembered;               /* the plan was named by an imported choice (no timing) */
    double best_ms;
    tsr_cudnn_conv *next;
};

typedef struct plan_choice {
    tsr_cudnn_conv_shape shape;
    plan_origin o;
    double ms;
} plan_choice;

struct tsr_cudnn {
    cudnn_api api;
    void *handle;
    tsr_cudnn_conv *convs;
    size_t version;               /* cudnnGetVersion() (or given, for a choices-only handle) */
    char device[160];             /* "GPU name/sm_XY": the choices' key, with the cuDNN version */
    plan_choice *choices;         /* imported (and newly timed) choices for this device and version */
    int nchoices, cap_choices, changed;
};

/* ---- loading ------------------------------------------------------------------------------------------ */

static void *lib_open(void)
{
    const char *env = getenv("TSR_CUDNN_LIB");
#ifdef _WIN32
    return (void *)LoadLibraryA(env && *env ? env : "cudnn64_9.dll");
#else
    return dlopen(env && *env ? env : "libcudnn.so.9", RTLD_NOW | RTLD_LOCAL);
#endif
}

static void *lib_sym(void *lib, const char *name)
{
#ifdef _WIN32
    return (void *)GetProcAddress((HMODULE)lib, name);
#else
    return dlsym(lib, name);
#endif
}

static void lib_close(void *lib)
{
#ifdef _WIN32
    FreeLibrary((HMODULE)lib);
#else
    dlclose(lib);
#endif
}

#define LOAD(field, name)                                                                                  \
    do {                                                                                                   \
        void *sym_ = lib_sym(a->lib, name);                                                                \
        if (!sym_) return tsr_fail(err, TSR_ERR_UNSUPPORTED, "cuDNN: symbol %s missing", name);            \
        memcpy(&a->field, &sym_, sizeof sym_);                                                             \
    } while (0)

static tsr_status api_load(cudnn_api *a, tsr_error *err)
{
    a->lib = lib_open();
    if (!a->lib) return tsr_fail(err, TSR_ERR_UNSUPPORTED, "cuDNN 9 library not found");
    LOAD(GetVersion, "cudnnGetVersion");
    LOAD(GetErrorString, "cudnnGetErrorString");
    LOAD(Create, "cudnnCreate");
    LOAD(Destroy, "cudnnDestroy");
    LOAD(SetStream, "cudnnSetStream");
    LOAD(BackendCreateDescriptor, "cudnnBackendCreateDescriptor");
    LOAD(BackendDestroyDescriptor, "cudnnBackendDestroyDescriptor");
    LOAD(BackendFinalize, "cudnnBackendFinalize");
    LOAD(BackendSetAttribute, "cudnnBackendSetAttribute");
    LOAD(BackendGetAttribute, "cudnnBackendGetAttribute");
    LOAD(BackendExecute, "cudnnBackendExecute");
    void *s = lib_sym(a->lib, "cudnnGetLastErrorString");
    if (s) memcpy(&a->GetLastErrorString, &s, sizeof s);
    return TSR_OK;
}

static tsr_status cfail(const cudnn_api *a, tsr_error *err, cstatus st, const char *what)
{
    char detail[256] = "";
    if (a->GetLastErrorString) a->GetLastErrorString(detail, sizeof detail);
    return tsr_fail(err, TSR_ERR_BACKEND, "cuDNN %s: %s (%d) %s", what, a->GetErrorString(st), st, detail);
}

tsr_status tsr_cudnn_open(void *stream, tsr_cudnn **out, tsr_error *err)
{
    *out = NULL;
    tsr_cudnn *c = tsr_calloc(1, sizeof *c, err);
    if (!c) return TSR_ERR_NOMEM;
    tsr_status st = api_load(&c->api, err);
    if (st == TSR_OK) {
        c->version = c->api.GetVersion();
        if (c->version < 90000) st = tsr_fail(err, TSR_ERR_UNSUPPORTED, "cuDNN older than 9.0");
    }
    if (st == TSR_OK) {
        cstatus cs = c->api.Create(&c->handle);
        if (cs) st = cfail(&c->api, err, cs, "create");
        else if ((cs = c->api.SetStream(c->handle, stream)) != 0) st = cfail(&c->api, err, cs, "set stream");
    }
    if (st != TSR_OK) {
        tsr_cudnn_close(&c);
        return st;
    }
    *out = c;
    return TSR_OK;
}

static void b_free(builder *b);

static void conv_free(cudnn_api *a, tsr_cudnn_conv *cv)
{
    for (int i = 0; i < cv->nplans; i++) a->BackendDestroyDescriptor(cv->plans[i]);
    b_free(&cv->b);
    free(cv);
}

void tsr_cudnn_close(tsr_cudnn **pc)
{
    tsr_cudnn *c = pc ? *pc : NULL;
    if (!c) return;
    while (c->convs) {
        tsr_cudnn_conv *n = c->convs->next;
        conv_free(&c->api, c->convs);
        c->convs = n;
    }
    if (c->handle) c->api.Destroy(c->handle);
    if (c->api.lib) lib_close(c->api.lib);
    free(c->choices);
    free(c);
    *pc = NULL;
}

size_t tsr_cudnn_version(const tsr_cudnn *c) { return c ? c->version : 0; }

tsr_status tsr_cudnn_choices_open(const char *gpu_name, int cc_major, int cc_minor, size_t version, tsr_cudnn **out,
                                  tsr_error *err)
{
    *out = tsr_calloc(1, sizeof **out, err);
    if (!*out) return TSR_ERR_NOMEM;
    (*out)->version = version;
    tsr_cudnn_set_device(*out, gpu_name, cc_major, cc_minor);
    return TSR_OK;
}

/* ---- graph construction ------------------------------------------------------------------------------- */


static cdesc b_new(builder *b, int type)
{
    cdesc d = NULL;
    if (b->st) return NULL;
    cstatus s = b->a->BackendCreateDescriptor(type, &d);
    if (s || b->n == (int)TSR_ARRAY_LEN(b->all)) {
        b->st = s ? s : 1;
        b->what = "create descriptor";
        if (d) b->a->BackendDestroyDescriptor(d);
        return NULL;
    }
    b->all[b->n++] = d;
    return d;
}

static void b_set(builder *b, cdesc d, int name, int type, int64_t count, const void *v, const char *what)
{
    if (b->st) return;
    cstatus s = b->a->BackendSetAttribute(d, name, type, count, v);
    if (s) {
        b->st = s;
        b->what = what;
    }
}

static void b_fin(builder *b, cdesc d, const char *what)
{
    if (b->st) return;
    cstatus s = b->a->BackendFinalize(d);
    if (s) {
        b->st = s;
        b->what = what;
    }
}

static void b_free(builder *b)
{
    for (int i = b->n - 1; i >= 0; i--) b->a->BackendDestroyDescriptor(b->all[i]);
    b->n = 0;
}

/* NCDHW dims with NDHWC strides */
static cdesc b_tensor(builder *b, int64_t uid, int dtype, int64_t n, int64_t c, int64_t d, int64_t h, int64_t w,
                      int is_virtual)
{
    cdesc t = b_new(b, D_TENSOR);
    int64_t dims[5] = {n, c, d, h, w};
    int64_t strides[5] = {c * d * h * w, 1, h * w * c, w * c, c};
    int64_t align = 16;
    bool bv = is_virtual != 0; /* CUDNN_TYPE_BOOLEAN is C's bool */
    b_set(b, t, A_T_DTYPE, T_DATA_TYPE, 1, &dtype, "tensor dtype");
    b_set(b, t, A_T_DIMS, T_INT64, 5, dims, "tensor dims");
    b_set(b, t, A_T_STRIDES, T_INT64, 5, strides, "tensor strides");
    b_set(b, t, A_T_UID, T_INT64, 1, &uid, "tensor uid");
    b_set(b, t, A_T_ALIGN, T_INT64, 1, &align, "tensor alignment");
    b_set(b, t, A_T_VIRTUAL, T_BOOLEAN, 1, &bv, "tensor virtual");
    b_fin(b, t, "tensor");
    return t;
}

static cdesc b_pointwise(builder *b, int mode, cdesc x, cdesc bt, cdesc y)
{
    cdesc pw = b_new(b, D_POINTWISE);
    int prec = DT_FLOAT;
    b_set(b, pw, A_PW_MODE, T_POINTWISE_MODE, 1, &mode, "pointwise mode");
    b_set(b, pw, A_PW_MATH_PREC, T_DATA_TYPE, 1, &prec, "pointwise precision");
    b_fin(b, pw, "pointwise");
    cdesc op = b_new(b, D_OP_POINTWISE);
    b_set(b, op, A_PWOP_DESC, T_DESC, 1, &pw, "pointwise op desc");
    b_set(b, op, A_PWOP_X, T_DESC, 1, &x, "pointwise x");
    b_set(b, op, A_PWOP_B, T_DESC, 1, &bt, "pointwise b");
    b_set(b, op, A_PWOP_Y, T_DESC, 1, &y, "pointwise y");
    b_fin(b, op, "pointwise op");
    return op;
}

enum { UID_X = 1, UID_W, UID_Y, UID_XS, UID_WS, UID_B, UID_R, UID_V0 = 100 };

static int out_len(int in, int k, int pad) { return in + 2 * pad - k + 1; }

/* Build the operation graph for a shape; returns the finalised graph descriptor (owned by b). */
static cdesc build_graph(builder *b, void *handle, const tsr_cudnn_conv_shape *s)
{
    int in_dt = s->dtype == TSR_CUDNN_FP8_E4M3 ? DT_FP8_E4M3 : DT_BF16;
    int y_dt = s->dtype == TSR_CUDNN_BF16_YF32 ? DT_FLOAT : DT_BF16;
    int64_t to = out_len(s->t, s->kt, s->pt), ho = out_len(s->h, s->kh, s->ph), wo = out_len(s->w, s->kw, s->pw);
    int64_t k = s->cout;
    int nepi = (s->has_xscale != 0) + (s->wscale != 0) + (s->has_bias != 0) + (s->has_residual != 0);
    cdesc ops[MAX_OPS];
    int nops = 0;
    int64_t vuid = UID_V0;

    cdesc x = b_tensor(b, UID_X, in_dt, 1, s->cin, s->t, s->h, s->w, 0);
    cdesc w = b_tensor(b, UID_W, in_dt, s->cout, s->cin, s->kt, s->kh, s->kw, 0);
    cdesc cur = nepi ? b_tensor(b, vuid++, DT_FLOAT, 1, k, to, ho, wo, 1)
                     : b_tensor(b, UID_Y, y_dt, 1, k, to, ho, wo, 0);

    cdesc conv = b_new(b, D_CONVOLUTION);
    int64_t dims = 3, one[3] = {1, 1, 1}, pad[3] = {s->pt, s->ph, s->pw};
    int comp = DT_FLOAT, mode = CROSS_CORRELATION;
    b_set(b, conv, A_CONV_COMP_TYPE, T_DATA_TYPE, 1, &comp, "conv compute type");
    b_set(b, conv, A_CONV_MODE, T_CONV_MODE, 1, &mode, "conv mode");
    b_set(b, conv, A_CONV_DIMS, T_INT64, 1, &dims, "conv dims");
    b_set(b, conv, A_CONV_DILATIONS, T_INT64, 3, one, "conv dilations");
    b_set(b, conv, A_CONV_STRIDES, T_INT64, 3, one, "conv strides");
    b_set(b, conv, A_CONV_PRE_PAD, T_INT64, 3, pad, "conv pre padding");
    b_set(b, conv, A_CONV_POST_PAD, T_INT64, 3, pad, "conv post padding");
    b_fin(b, conv, "conv");

    cdesc fwd = b_new(b, D_OP_CONV_FWD);
    float alpha = 1.0f, beta = 0.0f;
    b_set(b, fwd, A_FWD_ALPHA, T_FLOAT, 1, &alpha, "conv alpha");
    b_set(b, fwd, A_FWD_BETA, T_FLOAT, 1, &beta, "conv beta");
    b_set(b, fwd, A_FWD_CONV, T_DESC, 1, &conv, "conv desc");
    b_set(b, fwd, A_FWD_W, T_DESC, 1, &w, "conv w");
    b_set(b, fwd, A_FWD_X, T_DESC, 1, &x, "conv x");
    b_set(b, fwd, A_FWD_Y, T_DESC, 1, &cur, "conv y");
    b_fin(b, fwd, "conv op");
    ops[nops++] = fwd;

    /* epilogue: one pointwise node per term; the last writes Y */
    struct { int on, mode; int64_t uid, c, d, h, w; int dt; } epi[4] = {
        {s->has_xscale, PW_MUL, UID_XS, 1, 1, 1, 1, DT_FLOAT},
        {s->wscale != 0, PW_MUL, UID_WS, s->wscale == 2 ? k : 1, 1, 1, 1, DT_FLOAT},
        {s->has_bias, PW_ADD, UID_B, k, 1, 1, 1, DT_FLOAT},
        {s->has_residual, PW_ADD, UID_R, k, to, ho, wo, DT_BF16},
    };
    int left = nepi;
    for (int i = 0; i < 4; i++) {
        if (!epi[i].on) continue;
        left--;
        cdesc operand = b_tensor(b, epi[i].uid, epi[i].dt, 1, epi[i].c, epi[i].d, epi[i].h, epi[i].w, 0);
        cdesc next = left ? b_tensor(b, vuid++, DT_FLOAT, 1, k, to, ho, wo, 1)
                          : b_tensor(b, UID_Y, y_dt, 1, k, to, ho, wo, 0);
        ops[nops++] = b_pointwise(b, epi[i].mode, cur, operand, next);
        cur = next;
    }

    cdesc graph = b_new(b, D_OPGRAPH);
    b_set(b, graph, A_GRAPH_HANDLE, T_HANDLE, 1, &handle, "graph handle");
    b_set(b, graph, A_GRAPH_OPS, T_DESC, nops, ops, "graph ops");
    b_fin(b, graph, "operation graph");
    return graph;
}

/* Engine configs from one heuristics mode: each one that finalises into a plan becomes a candidate. */
/* Candidates per shape: finalising a plan can take a second (run-time compiled fused kernels), so
 * TSR_CUDNN_PLANS (1..12, default 1) trades tuning quality for start-up time. */
static int plan_cap(void)
{
    const char *env = getenv("TSR_CUDNN_PLANS");
    /* Default 6: timed once per (GPU, cuDNN version, shape) and remembered (tsr_cudnn_choices_export /
     * import), so a later start builds only the winner. 1 = the heuristics' first plan, untimed. */
    int n = env && *env ? atoi(env) : 6;
    return n < 1 ? 1 : n > MAX_PLANS ? MAX_PLANS : n;
}

static int64_t cfg_engine_index(cudnn_api *a, cdesc cfg)
{
    cdesc eng = NULL;
    int64_t got = 0, gi = -1;
    if (a->BackendCreateDescriptor(D_ENGINE, &eng)) return -1;
    if (a->BackendGetAttribute(cfg, A_CFG_ENGINE, T_DESC, 1, &got, &eng) || got != 1 ||
        a->BackendGetAttribute(eng, A_ENGINE_GLOBAL_INDEX, T_INT64, 1, &got, &gi))
        gi = -1;
    a->BackendDestroyDescriptor(eng);
    return gi;
}

/* The knob choices of an engine config; -1 when they cannot be read (then the config is not remembered). */
static int cfg_knobs(cudnn_api *a, cdesc cfg, plan_origin *o)
{
    cdesc k[MAX_KNOBS];
    int made = 0, n = -1;
    for (; made < MAX_KNOBS; made++)
        if (a->BackendCreateDescriptor(D_KNOB_CHOICE, &k[made])) break;
    int64_t got = 0;
    if (made == MAX_KNOBS && !a->BackendGetAttribute(cfg, A_CFG_KNOBS, T_DESC, MAX_KNOBS, &got, k) && got >= 0 &&
        got <= MAX_KNOBS) {
        n = (int)got;
        for (int i = 0; i < n; i++) {
            int64_t c1 = 0, c2 = 0;
            int type = 0;
            int64_t value = 0;
            if (a->BackendGetAttribute(k[i], A_KNOB_TYPE, T_KNOB_TYPE, 1, &c1, &type) ||
                a->BackendGetAttribute(k[i], A_KNOB_VALUE, T_INT64, 1, &c2, &value) || c1 != 1 || c2 != 1) {
                n = -1;
                break;
            }
            o->knob_type[i] = type, o->knob_value[i] = value;
        }
    }
    for (int i = 0; i < made; i++) a->BackendDestroyDescriptor(k[i]);
    o->nknobs = n < 0 ? -1 : n;
    return n;
}

/* Build the plan of a remembered config (engine + knob choices) directly; 0 when it finalises. */
static int add_remembered(cudnn_api *a, void *handle, cdesc graph, tsr_cudnn_conv *cv, const plan_origin *o)
{
    builder b = {.a = a};
    cdesc eng = b_new(&b, D_ENGINE);
    b_set(&b, eng, A_ENGINE_GRAPH, T_DESC, 1, &graph, "engine graph");
    b_set(&b, eng, A_ENGINE_GLOBAL_INDEX, T_INT64, 1, &o->engine, "engine index");
    b_fin(&b, eng, "engine");
    cdesc knobs[MAX_KNOBS];
    for (int i = 0; i < o->nknobs && !b.st; i++) {
        knobs[i] = b_new(&b, D_KNOB_CHOICE);
        b_set(&b, knobs[i], A_KNOB_TYPE, T_KNOB_TYPE, 1, &o->knob_type[i], "knob type");
        b_set(&b, knobs[i], A_KNOB_VALUE, T_INT64, 1, &o->knob_value[i], "knob value");
        b_fin(&b, knobs[i], "knob choice");
    }
    cdesc cfg = b_new(&b, D_ENGINECFG);
    b_set(&b, cfg, A_CFG_ENGINE, T_DESC, 1, &eng, "config engine");
    if (o->nknobs > 0) b_set(&b, cfg, A_CFG_KNOBS, T_DESC, o->nknobs, knobs, "config knobs");
    b_fin(&b, cfg, "engine config");
    cdesc plan = NULL;
    int64_t ws = 0, got = 0;
    int ok = !b.st && !a->BackendCreateDescriptor(D_PLAN, &plan);
    if (ok && (a->BackendSetAttribute(plan, A_PLAN_HANDLE, T_HANDLE, 1, &handle) ||
               a->BackendSetAttribute(plan, A_PLAN_CFG, T_DESC, 1, &cfg) || a->BackendFinalize(plan) ||
               a->BackendGetAttribute(plan, A_PLAN_WS, T_INT64, 1, &got, &ws))) {
        a->BackendDestroyDescriptor(plan);
        ok = 0;
    }
    if (ok && (uint64_t)ws > TSR_BACKEND_CONV_WORKSPACE_MAX) { /* more scratch than the planner reserves */
        a->BackendDestroyDescriptor(plan);
        ok = 0;
    }
    if (ok) {
        cv->plans[cv->nplans] = plan;
        cv->origin[cv->nplans] = *o;
        cv->ws[cv->nplans++] = ws;
    }
    /* the engine, knobs and config stay alive with the plan, in cv's builder */
    for (int i = 0; i < b.n; i++) {
        if (ok && cv->b.n < (int)TSR_ARRAY_LEN(cv->b.all)) cv->b.all[cv->b.n++] = b.all[i];
        else a->BackendDestroyDescriptor(b.all[i]);
    }
    return ok ? 0 : -1;
}

/* Every config the heuristics (mode heur_mode) offer that finalises into a plan, up to cap. */
static void add_plans(cudnn_api *a, void *handle, cdesc graph, int heur_mode, tsr_cudnn_conv *cv, int cap)
{
    builder b = {.a = a};
    cdesc heur = b_new(&b, D_ENGINEHEUR);
    if (b.n) {                         /* the heuristics result (engine configs) stays with cv */
        b.n = 0;
        if (cv->b.n < (int)TSR_ARRAY_LEN(cv->b.all)) cv->b.all[cv->b.n++] = heur;
        else b.all[b.n++] = heur;
    }
    b_set(&b, heur, A_HEUR_GRAPH, T_DESC, 1, &graph, "heuristics graph");
    b_set(&b, heur, A_HEUR_MODE, T_HEUR_MODE, 1, &heur_mode, "heuristics mode");
    b_fin(&b, heur, "heuristics");
    int64_t count = 0;
    if (!b.st && a->BackendGetAttribute(heur, A_HEUR_RESULTS, T_DESC, 0, &count, NULL)) count = 0;
    if (count > 16) count = 16;
    cdesc cfgs[16];
    int64_t made = 0;
    for (int64_t i = 0; i < count && !b.st; i++, made++) cfgs[i] = b_new(&b, D_ENGINECFG);
    /* hand the configs over to cv->b (they outlive this call) */
    for (int i = 0; i < b.n && cv->b.n < (int)TSR_ARRAY_LEN(cv->b.all); i++) cv->b.all[cv->b.n++] = b.all[i];
    b.n = 0;
    if (b.st || !count || a->BackendGetAttribute(heur, A_HEUR_RESULTS, T_DESC, count, &made, cfgs)) made = 0;
    for (int64_t i = 0; i < made && cv->nplans < cap; i++) {
        int64_t gi = cfg_engine_index(a, cfgs[i]);
        cdesc plan = NULL;
        if (a->BackendCreateDescriptor(D_PLAN, &plan)) continue;
        int64_t ws = 0, got = 0;
        if (a->BackendSetAttribute(plan, A_PLAN_HANDLE, T_HANDLE, 1, &handle) ||
            a->BackendSetAttribute(plan, A_PLAN_CFG, T_DESC, 1, &cfgs[i]) || a->BackendFinalize(plan) ||
            a->BackendGetAttribute(plan, A_PLAN_WS, T_INT64, 1, &got, &ws)) {
            a->BackendDestroyDescriptor(plan); /* not supported on this GPU / by this build */
            continue;
        }
        if ((uint64_t)ws > TSR_BACKEND_CONV_WORKSPACE_MAX) { /* more scratch than the planner reserves */
            a->BackendDestroyDescriptor(plan);
            continue;
        }
        cv->plans[cv->nplans] = plan;
        plan_origin *o = &cv->origin[cv->nplans];
        memset(o, 0, sizeof *o);
        o->mode = heur_mode, o->index = (int)i, o->engine = gi;
        cfg_knobs(a, cfgs[i], o);
        cv->ws[cv->nplans++] = ws;
    }
}

tsr_status tsr_cudnn_conv_get(tsr_cudnn *c, const tsr_cudnn_conv_shape *s, tsr_cudnn_conv **out, tsr_error *err)
{
    *out = NULL;
    if (!c || !c->handle) return tsr_fail(err, TSR_ERR_UNSUPPORTED, "cuDNN not open");
    for (tsr_cudnn_conv *cv = c->convs; cv; cv = cv->next)
        if (!memcmp(&cv->shape, s, sizeof *s)) {
            *out = cv;
            return TSR_OK;
        }
    tsr_cudnn_conv *cv = tsr_calloc(1, sizeof *cv, err);
    if (!cv) return TSR_ERR_NOMEM;
    cv->shape = *s;
    cv->b.a = &c->api;
    cdesc graph = build_graph(&cv->b, c->handle, s);
    if (cv->b.st) {
        tsr_status st = cfail(&c->api, err, cv->b.st, cv->b.what);
        conv_free(&c->api, cv);
        return st;
    }
    const plan_choice *ch = NULL;
    for (int i = 0; i < c->nchoices && !ch; i++)
        if (!memcmp(&c->choices[i].shape, s, sizeof *s)) ch = &c->choices[i];
    if (ch && !add_remembered(&c->api, c->handle, graph, cv, &ch->o)) /* build just that plan, no timing */
        cv->tuned = cv->remembered = 1, cv->best_ms = ch->ms;
    if (!cv->nplans) { /* none remembered, or it no longer builds here: time the candidates */
        /* TSR_CUDNN_HEUR=b: half of the candidates from heuristics mode B (slower to query, ranks differently) */
        const char *hm = getenv("TSR_CUDNN_HEUR");
        if (hm && strchr(hm, 'b')) add_plans(&c->api, c->handle, graph, HEUR_MODE_B, cv, (plan_cap() + 1) / 2);
        add_plans(&c->api, c->handle, graph, HEUR_MODE_A, cv, plan_cap());
        if (cv->nplans < plan_cap()) add_plans(&c->api, c->handle, graph, HEUR_MODE_FALLBACK, cv, plan_cap());
    }
    if (!cv->nplans) {
        conv_free(&c->api, cv);
        return tsr_fail(err, TSR_ERR_UNSUPPORTED, "cuDNN has no engine for this %s conv (%d->%d, %dx%dx%d) here",
                        s->dtype == TSR_CUDNN_FP8_E4M3 ? "FP8" : "bf16", s->cin, s->cout, s->kt, s->kh, s->kw);
    }
    cv->next = c->convs;
    c->convs = cv;
    *out = cv;
    return TSR_OK;
}

int tsr_cudnn_conv_candidates(const tsr_cudnn_conv *cv) { return cv ? cv->nplans : 0; }

int tsr_cudnn_conv_is_tuned(const tsr_cudnn_conv *cv) { return cv && cv->tuned; }

size_t tsr_cudnn_conv_workspace(const tsr_cudnn_conv *cv)
{
    if (cv && cv->tuned) return (size_t)cv->ws[cv->best]; /* only the chosen plan runs from now on */
    int64_t m = 0;
    for (int i = 0; cv && i < cv->nplans; i++) m = cv->ws[i] > m ? cv->ws[i] : m;
    return (size_t)m;
}

static cstatus execute(tsr_cudnn *c, cdesc plan, const tsr_cudnn_conv_shape *s, const tsr_cudnn_conv_args *a)
{
    int64_t uids[7];
    void *ptrs[7];
    int n = 0;
    uids[n] = UID_X, ptrs[n++] = a->x;
    uids[n] = UID_W, ptrs[n++] = a->w;
    uids[n] = UID_Y, ptrs[n++] = a->y;
    if (s->has_xscale) uids[n] = UID_XS, ptrs[n++] = a->xscale;
    if (s->wscale) uids[n] = UID_WS, ptrs[n++] = a->wscale;
    if (s->has_bias) uids[n] = UID_B, ptrs[n++] = a->bias;
    if (s->has_residual) uids[n] = UID_R, ptrs[n++] = a->residual;
    cdesc vp = NULL;
    cstatus st = c->api.BackendCreateDescriptor(D_VARIANT_PACK, &vp);
    if (st) return st;
    void *ws = a->workspace;
    if (!(st = c->api.BackendSetAttribute(vp, A_VP_UIDS, T_INT64, n, uids)) &&
        !(st = c->api.BackendSetAttribute(vp, A_VP_PTRS, T_VOID_PTR, n, ptrs)) &&
        !(st = c->api.BackendSetAttribute(vp, A_VP_WS, T_VOID_PTR, 1, &ws)) && !(st = c->api.BackendFinalize(vp)))
        st = c->api.BackendExecute(c->handle, plan, vp);
    c->api.BackendDestroyDescriptor(vp);
    return st;
}

tsr_status tsr_cudnn_conv_run(tsr_cudnn *c, tsr_cudnn_conv *cv, const tsr_cudnn_conv_args *a, tsr_error *err)
{
    if ((size_t)cv->ws[cv->best] > a->workspace_size)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "cuDNN plan needs %lld bytes of workspace",
                        (long long)cv->ws[cv->best]);
    cstatus st = execute(c, cv->plans[cv->best], &cv->shape, a);
    return st ? cfail(&c->api, err, st, "execute") : TSR_OK;
}

/* ---- remembered plan choices -------------------------------------------------------------------------- */

static int remember(tsr_cudnn *c, const tsr_cudnn_conv_shape *s, const plan_origin *o, double ms)
{
    for (int i = 0; i < c->nchoices; i++)
        if (!memcmp(&c->choices[i].shape, s, sizeof *s)) {
            c->choices[i].o = *o, c->choices[i].ms = ms;
            c->changed = 1;
            return 0;
        }
    if (c->nchoices == c->cap_choices) {
        int cap = c->cap_choices ? c->cap_choices * 2 : 32;
        plan_choice *n = realloc(c->choices, sizeof *n * (size_t)cap);
        if (!n) return -1;
        c->choices = n, c->cap_choices = cap;
    }
    plan_choice *p = &c->choices[c->nchoices++];
    memset(p, 0, sizeof *p);
    p->shape = *s, p->o = *o, p->ms = ms;
    c->changed = 1;
    return 0;
}

void tsr_cudnn_set_device(tsr_cudnn *c, const char *gpu_name, int cc_major, int cc_minor)
{
    if (!c) return;
    snprintf(c->device, sizeof c->device, "%s/sm_%d%d", gpu_name ? gpu_name : "?", cc_major, cc_minor);
    for (char *q = c->device; *q; q++)
        if (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r') *q = '_';
}

int tsr_cudnn_choices_changed(const tsr_cudnn *c) { return c && c->changed; }

#define CHOICE_FIELDS 17
#define CHOICES_HEADER "tessera-cudnn-plans 2\n"
#define CHOICES_HEADER_LEN 22
/* One line per choice: "<device> <cudnn version> dtype t h w cin cout kt kh kw pt ph pw xscale wscale bias
 * residual mode index engine ms nknobs [knob_type knob_value]...". Version 1 (no knobs) is read as nothing:
 * its plans are timed again. */
char *tsr_cudnn_choices_export(const tsr_cudnn *c)
{
    size_t cap = 64 + (size_t)(c ? c->nchoices : 0) * (640 + MAX_KNOBS * 48), len = 0;
    char *out = malloc(cap);
    if (!out) return NULL;
    len += (size_t)snprintf(out, cap, CHOICES_HEADER);
    for (int i = 0; c && i < c->nchoices; i++) {
        const plan_choice *p = &c->choices[i];
        const tsr_cudnn_conv_shape *s = &p->shape;
        len += (size_t)snprintf(out + len, cap - len,
                                "%s %zu %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %lld %.4f %d",
                                c->device, tsr_cudnn_version(c), (int)s->dtype, s->t, s->h, s->w, s->cin, s->cout,
                                s->kt, s->kh, s->kw, s->pt, s->ph, s->pw, s->has_xscale, s->wscale, s->has_bias,
                                s->has_residual, p->o.mode, p->o.index, (long long)p->o.engine, p->ms, p->o.nknobs);
        for (int k = 0; k < p->o.nknobs; k++)
            len += (size_t)snprintf(out + len, cap - len, " %d %lld", p->o.knob_type[k], (long long)p->o.knob_value[k]);
        len += (size_t)snprintf(out + len, cap - len, "\n");
    }
    return out;
}

tsr_status tsr_cudnn_choices_import(tsr_cudnn *c, const char *text, int *imported, tsr_error *err)
{
    int n = 0;
    if (imported) *imported = 0;
    if (!c || !text) return tsr_fail(err, TSR_ERR_INVALID_ARG, "cuDNN plan choices: nothing to read");
    if (!strncmp(text, "tessera-cudnn-plans 1\n", 22)) { /* an older build's: no knobs recorded, time again */
        c->changed = 1;                                   /* and write the new format */
        return TSR_OK;
    }
    if (strncmp(text, CHOICES_HEADER, CHOICES_HEADER_LEN))
        return tsr_fail(err, TSR_ERR_FORMAT, "cuDNN plan choices: not a tessera-cudnn-plans 2 text");
    size_t ver = tsr_cudnn_version(c);
    /* pass 0 checks every line, pass 1 keeps them: a malformed text changes nothing */
    for (int pass = 0; pass < 2; pass++) {
        int line_no = 1;
        n = 0;
        for (const char *l = text + CHOICES_HEADER_LEN; *l; line_no++) {
            const char *e = strchr(l, '\n');
            size_t len = e ? (size_t)(e - l) : strlen(l);
            char buf[512], dev[160];
            if (len >= sizeof buf)
                return tsr_fail(err, TSR_ERR_FORMAT, "cuDNN plan choices: line %d too long", line_no + 1);
            memcpy(buf, l, len);
            buf[len] = 0;
            l += len + (e ? 1 : 0);
            if (!len) continue;
            unsigned long long v = 0;
            int f[CHOICE_FIELDS + 2];
            long long eng = 0;
            double ms = 0;
            int used = 0;
            int nk = -1;
            int got = sscanf(buf, "%159s %llu %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %d %lld %lf %d%n", dev,
                             &v, &f[0], &f[1], &f[2], &f[3], &f[4], &f[5], &f[6], &f[7], &f[8], &f[9], &f[10], &f[11],
                             &f[12], &f[13], &f[14], &f[15], &f[16], &f[17], &eng, &ms, &nk, &used);
            if (got != 23 || nk < 0 || nk > MAX_KNOBS)
                return tsr_fail(err, TSR_ERR_FORMAT, "cuDNN plan choices: line %d is malformed", line_no + 1);
            plan_origin o;
            memset(&o, 0, sizeof o);
            o.nknobs = nk;
            for (int k = 0; k < nk; k++) {
                long long kv = 0;
                int kused = 0;
                if (sscanf(buf + used, " %d %lld%n", &o.knob_type[k], &kv, &kused) != 2 || o.knob_type[k] < 0 ||
                    o.knob_type[k] >= KNOB_TYPES)
                    return tsr_fail(err, TSR_ERR_FORMAT, "cuDNN plan choices: line %d has a bad knob", line_no + 1);
                o.knob_value[k] = kv;
                used += kused;
            }
            if (buf[used] != 0)
                return tsr_fail(err, TSR_ERR_FORMAT, "cuDNN plan choices: line %d is malformed", line_no + 1);
            int mode_ok = f[16] == HEUR_MODE_A || f[16] == HEUR_MODE_B || f[16] == HEUR_MODE_FALLBACK;
            if (f[0] < 0 || f[0] > 2 || !mode_ok || f[17] < 0 || f[17] >= 16)
                return tsr_fail(err, TSR_ERR_FORMAT, "cuDNN plan choices: line %d has values out of range", line_no + 1);
            if (strcmp(dev, c->device) || v != ver) continue; /* another GPU or cuDNN version */
            tsr_cudnn_conv_shape s;
            memset(&s, 0, sizeof s);
            s.dtype = (tsr_cudnn_dtype)f[0], s.t = f[1], s.h = f[2], s.w = f[3], s.cin = f[4], s.cout = f[5];
            s.kt = f[6], s.kh = f[7], s.kw = f[8], s.pt = f[9], s.ph = f[10], s.pw = f[11];
            s.has_xscale = f[12], s.wscale = f[13], s.has_bias = f[14], s.has_residual = f[15];
            o.mode = f[16], o.index = f[17], o.engine = eng;
            if (pass && remember(c, &s, &o, ms))
                return tsr_fail(err, TSR_ERR_NOMEM, "cuDNN plan choices: out of memory");
            n++;
        }
    }
    c->changed = 0;
    if (imported) *imported = n;
    return TSR_OK;
}

int tsr_cudnn_conv_is_remembered(const tsr_cudnn_conv *cv) { return cv && cv->remembered; }

tsr_status tsr_cudnn_conv_tune(tsr_cudnn *c, tsr_cudnn_conv *cv, const tsr_cudnn_conv_args *a, int reps,
                               double (*sync_now)(void *user), void *user, double *best_ms, tsr_error *err)
{
    double best = 1e30;
    int best_i = -1;
    if (reps < 1) reps = 1;
    for (int i = 0; i < cv->nplans; i++) {
        if ((size_t)cv->ws[i] > a->workspace_size) continue;
        if (execute(c, cv->plans[i], &cv->shape, a)) continue; /* warm-up; a failing plan is skipped */
        double t0 = sync_now(user);
        int ok = 1;
        for (int r = 0; r < reps && ok; r++) ok = execute(c, cv->plans[i], &cv->shape, a) == 0;
        double ms = (sync_now(user) - t0) * 1e3 / reps;
        if (ok && ms < best) best = ms, best_i = i;
    }
    if (best_i < 0) return tsr_fail(err, TSR_ERR_BACKEND, "cuDNN: no candidate plan ran");
    cv->best = best_i;
    cv->tuned = 1;
    cv->best_ms = best;
    if (best_ms) *best_ms = best;
    if (cv->nplans > 1 && cv->origin[best_i].nknobs >= 0) remember(c, &cv->shape, &cv->origin[best_i], best);
    return TSR_OK;
}
