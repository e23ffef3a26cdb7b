/* What the planning commands share (decode, tune, plan): the settings store, the host budget, plan lines. */
#include <stdio.h>

#include "cli.h"

tsr_store *cli_store_open(const char *path, const char *cmd, const char *without)
{
    tsr_store_params sp;
    tsr_store_params_default(&sp);
    sp.path = path;
    sp.recover_interrupted = 0; /* a second handle beside a live app's */
    tsr_store *s = NULL;
    tsr_error err = {0};
    if (tsr_store_open(&sp, &s, &err) != TSR_OK) {
        fprintf(stderr, "tessera-cli %s: no settings store (%s): %s\n", cmd, err.message, without);
        return NULL;
    }
    if (tsr_store_notice(s)[0]) fprintf(stderr, "tessera-cli %s: %s\n", cmd, tsr_store_notice(s));
    return s;
}

bool cli_host_budget(const char *opt, uint64_t *out)
{
    if (!opt) {
        *out = tsr_plan_default_host_budget();
        return true;
    }
    return cli_parse_bytes(opt, out);
}

static void mib(uint64_t b, char *buf, size_t n)
{
    if (b >= (1ull << 30)) snprintf(buf, n, "%.2f GiB", (double)b / (1ull << 30));
    else snprintf(buf, n, "%.1f MiB", (double)b / (1ull << 20));
}

int cli_plan_summary(const tsr_plan *p, char *buf, size_t cap)
{
    char peak[32], tiles[96] = "", group[48] = "", host[48] = "";
    mib(p->peak, peak, sizeof peak);
    int tiled = p->kind == TSR_PLAN_TILED || p->kind == TSR_PLAN_DEEP_TILES;
    if (tiled) snprintf(tiles, sizeof tiles, ", %dx%d tiles of %d px", p->tiles_y, p->tiles_x, p->tile_w);
    else if (p->frame_group > 0) snprintf(group, sizeof group, ", frame groups of %d", p->frame_group);
    if (p->offloaded > 0)
        snprintf(host, sizeof host, p->kind == TSR_PLAN_TILED ? ", tile states on the host" : ", %d states on the host",
                 p->offloaded);
    return snprintf(buf, cap, "%s, chunk %d%s%s%s, predicted peak %s", tsr_plan_kind_name(p->kind), p->chunk, tiles,
                    group, host, peak);
}
