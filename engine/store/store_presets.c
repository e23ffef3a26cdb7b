/* Presets: four read-only built-ins (schema migration 1) plus the user's own. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_internal.h"

#define PRESET_COLS \
    "id, name, builtin, precision, vram_budget, tiling, container, codec, crf, bit_depth, tile, format"

void tsr_preset_default(tsr_preset *p)
{
    memset(p, 0, sizeof *p);
    p->precision = TSR_PRECISION_AUTO;
    p->tiling = TSR_TILING_AUTO;
    snprintf(p->container, sizeof p->container, "mp4");
    snprintf(p->codec, sizeof p->codec, "libx264");
    p->crf = 18;
    p->bit_depth = 8;
    snprintf(p->format, sizeof p->format, "mp4-h264");
}

static void read_preset(sqlite3_stmt *st, tsr_preset *p)
{
    memset(p, 0, sizeof *p);
    p->id = sqlite3_column_int64(st, 0);
    tsr_store_col_text(st, 1, p->name, sizeof p->name);
    p->builtin = sqlite3_column_int(st, 2);
    p->precision = (tsr_precision)sqlite3_column_int(st, 3);
    p->vram_budget = (uint64_t)sqlite3_column_int64(st, 4);
    p->tiling = (tsr_tiling_policy)sqlite3_column_int(st, 5);
    tsr_store_col_text(st, 6, p->container, sizeof p->container);
    tsr_store_col_text(st, 7, p->codec, sizeof p->codec);
    p->crf = sqlite3_column_int(st, 8);
    p->bit_depth = sqlite3_column_int(st, 9);
    p->tile = sqlite3_column_int(st, 10);
    tsr_store_col_text(st, 11, p->format, sizeof p->format);
}

tsr_status tsr_store_presets_list(tsr_store *s, tsr_preset **out, int *count, tsr_error *err)
{
    *out = NULL;
    *count = 0;
    sqlite3_stmt *st = tsr_store_prepare(s, "SELECT " PRESET_COLS " FROM presets ORDER BY builtin DESC, "
                                            "CASE WHEN builtin THEN id END, name COLLATE NOCASE", err);
    if (!st) return TSR_ERR_STORE;
    int cap = 0, rc;
    tsr_status r = TSR_OK;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*count == cap) {
            cap = cap ? cap * 2 : 16;
            tsr_preset *grown = realloc(*out, (size_t)cap * sizeof **out);
            if (!grown) {
                r = tsr_fail(err, TSR_ERR_NOMEM, "store: out of memory listing presets");
                break;
            }
            *out = grown;
        }
        read_preset(st, &(*out)[(*count)++]);
    }
    if (r == TSR_OK && rc != SQLITE_DONE) r = tsr_store_sql_fail(s, err, "listing presets");
    sqlite3_finalize(st);
    if (r != TSR_OK) {
        free(*out);
        *out = NULL;
        *count = 0;
    }
    return r;
}

static tsr_status get_where(tsr_store *s, const char *where, int64_t id, const char *name, tsr_preset *out,
                            tsr_error *err)
{
    char sql[256];
    snprintf(sql, sizeof sql, "SELECT " PRESET_COLS " FROM presets WHERE %s", where);
    sqlite3_stmt *st = tsr_store_prepare(s, sql, err);
    if (!st) return TSR_ERR_STORE;
    if (name) sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    else sqlite3_bind_int64(st, 1, id);
    int rc = sqlite3_step(st);
    tsr_status r = TSR_OK;
    if (rc == SQLITE_ROW) read_preset(st, out);
    else if (rc == SQLITE_DONE && name) r = tsr_fail(err, TSR_ERR_INVALID_ARG, "no preset named '%s'", name);
    else if (rc == SQLITE_DONE) r = tsr_fail(err, TSR_ERR_INVALID_ARG, "no preset with id %lld", (long long)id);
    else r = tsr_store_sql_fail(s, err, "reading a preset");
    sqlite3_finalize(st);
    return r;
}

tsr_status tsr_store_preset_get(tsr_store *s, int64_t id, tsr_preset *out, tsr_error *err)
{
    return get_where(s, "id = ?1", id, NULL, out, err);
}

tsr_status tsr_store_preset_find(tsr_store *s, const char *name, tsr_preset *out, tsr_error *err)
{
    return get_where(s, "name = ?1", 0, name, out, err);
}

static tsr_status check_preset(const tsr_preset *p, tsr_error *err)
{
    if (!p->name[0]) return tsr_fail(err, TSR_ERR_INVALID_ARG, "a preset needs a name");
    if (p->bit_depth != 8 && p->bit_depth != 10)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "preset '%s': bit depth must be 8 or 10", p->name);
    if (p->tile < 0 || !p->format[0])
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "preset '%s': needs a format and a tile size >= 0", p->name);
    if ((unsigned)p->precision > TSR_PRECISION_FP8_QUALITY || (unsigned)p->tiling > TSR_TILING_ALWAYS)
        return tsr_fail(err, TSR_ERR_INVALID_ARG, "preset '%s': invalid precision or tiling", p->name);
    return TSR_OK;
}

static void bind_preset(sqlite3_stmt *st, const tsr_preset *p)
{
    sqlite3_bind_text(st, 1, p->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, (int)p->precision);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)p->vram_budget);
    sqlite3_bind_int(st, 4, (int)p->tiling);
    sqlite3_bind_text(st, 5, p->container, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 6, p->codec, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 7, p->crf);
    sqlite3_bind_int(st, 8, p->bit_depth);
    sqlite3_bind_int(st, 10, p->tile);
    sqlite3_bind_text(st, 11, p->format, -1, SQLITE_TRANSIENT);
}

static tsr_status name_taken(tsr_store *s, const char *name, int64_t self, int *taken, tsr_error *err)
{
    sqlite3_stmt *st = tsr_store_prepare(s, "SELECT id FROM presets WHERE name = ?1 AND id != ?2", err);
    if (!st) return TSR_ERR_STORE;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, self);
    int rc = sqlite3_step(st);
    *taken = rc == SQLITE_ROW;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? TSR_OK : tsr_store_sql_fail(s, err, "checking a preset name");
}

static tsr_status save_locked(tsr_store *s, tsr_preset *p, tsr_error *err)
{
    int taken = 0;
    if (name_taken(s, p->name, p->id, &taken, err) != TSR_OK) return TSR_ERR_STORE;
    if (taken) return tsr_fail(err, TSR_ERR_INVALID_ARG, "a preset named '%s' already exists", p->name);
    if (p->id) {
        tsr_preset old;
        if (tsr_store_preset_get(s, p->id, &old, err) != TSR_OK) return err ? err->status : TSR_ERR_INVALID_ARG;
        if (old.builtin)
            return tsr_fail(err, TSR_ERR_INVALID_ARG, "the built-in preset '%s' is read-only (duplicate it)",
                            old.name);
    }
    sqlite3_stmt *st = tsr_store_prepare(s, p->id
        ? "UPDATE presets SET name = ?1, precision = ?2, vram_budget = ?3, tiling = ?4, container = ?5,"
          " codec = ?6, crf = ?7, bit_depth = ?8, tile = ?10, format = ?11 WHERE id = ?9"
        : "INSERT INTO presets (name, precision, vram_budget, tiling, container, codec, crf, bit_depth, builtin,"
          " tile, format) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?10, ?11)", err);
    if (!st) return TSR_ERR_STORE;
    bind_preset(st, p);
    if (p->id) sqlite3_bind_int64(st, 9, p->id);
    if (tsr_store_step_done(s, st, err, "saving a preset") != TSR_OK) return TSR_ERR_STORE;
    if (!p->id) {
        p->id = sqlite3_last_insert_rowid(s->db);
        p->builtin = 0;
    }
    return TSR_OK;
}

tsr_status tsr_store_preset_save(tsr_store *s, tsr_preset *p, tsr_error *err)
{
    if (check_preset(p, err) != TSR_OK) return TSR_ERR_INVALID_ARG;
    if (tsr_store_begin(s, err) != TSR_OK) return TSR_ERR_STORE;
    tsr_status r = save_locked(s, p, err);
    if (r == TSR_OK) return tsr_store_commit(s, err);
    tsr_store_rollback(s);
    return r;
}

tsr_status tsr_store_preset_duplicate(tsr_store *s, int64_t id, const char *new_name, int64_t *new_id,
                                      tsr_error *err)
{
    tsr_preset p;
    tsr_status r = tsr_store_preset_get(s, id, &p, err);
    if (r != TSR_OK) return r;
    char base[TSR_STORE_NAME_MAX];
    snprintf(base, sizeof base, "%s", p.name);
    p.id = 0;
    p.builtin = 0;
    for (int n = 1; n < 1000; n++) {
        if (new_name) snprintf(p.name, sizeof p.name, "%s", new_name);
        else if (n == 1) snprintf(p.name, sizeof p.name, "%.*s (copy)", TSR_STORE_NAME_MAX - 16, base);
        else snprintf(p.name, sizeof p.name, "%.*s (copy %d)", TSR_STORE_NAME_MAX - 20, base, n);
        r = tsr_store_preset_save(s, &p, err);
        if (r == TSR_OK || new_name || r != TSR_ERR_INVALID_ARG) break;
    }
    if (r == TSR_OK && new_id) *new_id = p.id;
    return r;
}

tsr_status tsr_store_preset_delete(tsr_store *s, int64_t id, tsr_error *err)
{
    tsr_preset p;
    tsr_status r = tsr_store_preset_get(s, id, &p, err);
    if (r != TSR_OK) return r;
    if (p.builtin) return tsr_fail(err, TSR_ERR_INVALID_ARG, "the built-in preset '%s' cannot be deleted", p.name);
    if (tsr_store_begin(s, err) != TSR_OK) return TSR_ERR_STORE;
    sqlite3_stmt *st = tsr_store_prepare(s, "UPDATE queue SET preset_id = NULL WHERE preset_id = ?1", err);
    if (st) sqlite3_bind_int64(st, 1, id);
    r = st ? tsr_store_step_done(s, st, err, "detaching a preset") : TSR_ERR_STORE;
    if (r == TSR_OK && (st = tsr_store_prepare(s, "DELETE FROM presets WHERE id = ?1", err)) != NULL) {
        sqlite3_bind_int64(st, 1, id);
        r = tsr_store_step_done(s, st, err, "deleting a preset");
    } else if (r == TSR_OK) r = TSR_ERR_STORE;
    if (r == TSR_OK) return tsr_store_commit(s, err);
    tsr_store_rollback(s);
    return r;
}
