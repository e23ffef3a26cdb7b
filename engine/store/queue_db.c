/* The GUI's queue and user presets in SQLite: WAL, busy_timeout, STRICT tables, bound parameters,
 * migrations by PRAGMA user_version. Kept apart from the store module's own tables (feat/store). */
#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/common.h"

struct tsr_queue_db {
    sqlite3 *db;
};

static const char *const migrations[] = {
    "CREATE TABLE gui_queue (id INTEGER PRIMARY KEY, position INTEGER NOT NULL, state INTEGER NOT NULL,"
    " preset TEXT NOT NULL, message TEXT NOT NULL, progress REAL NOT NULL, input TEXT NOT NULL,"
    " output TEXT NOT NULL, model TEXT NOT NULL, format TEXT NOT NULL, backend INTEGER NOT NULL,"
    " device INTEGER NOT NULL, precision INTEGER NOT NULL, budget INTEGER NOT NULL, tile INTEGER NOT NULL,"
    " chunk INTEGER NOT NULL) STRICT;"
    "CREATE TABLE gui_presets (name TEXT PRIMARY KEY, precision INTEGER NOT NULL, budget INTEGER NOT NULL,"
    " tile INTEGER NOT NULL, format TEXT NOT NULL) STRICT;",
};

static tsr_status db_fail(tsr_queue_db *db, tsr_error *err, const char *what)
{
    return tsr_fail(err, TSR_ERR_STORE, "queue store: %s: %s", what, sqlite3_errmsg(db->db));
}

static tsr_status migrate(tsr_queue_db *db, tsr_error *err)
{
    sqlite3_stmt *st = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(db->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK) return db_fail(db, err, "version");
    if (sqlite3_step(st) == SQLITE_ROW) version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    int target = (int)TSR_ARRAY_LEN(migrations);
    if (version >= target) return TSR_OK;
    if (sqlite3_exec(db->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) return db_fail(db, err, "begin");
    for (int v = version; v < target; v++) {
        if (sqlite3_exec(db->db, migrations[v], NULL, NULL, NULL) != SQLITE_OK) {
            tsr_status s = db_fail(db, err, "migration");
            sqlite3_exec(db->db, "ROLLBACK", NULL, NULL, NULL);
            return s;
        }
    }
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", target);
    if (sqlite3_exec(db->db, sql, NULL, NULL, NULL) != SQLITE_OK || sqlite3_exec(db->db, "COMMIT", NULL, NULL, NULL))
        return db_fail(db, err, "commit");
    return TSR_OK;
}

tsr_status tsr_queue_db_open(const char *path, tsr_queue_db **out, tsr_error *err)
{
    *out = NULL;
    tsr_queue_db *db = tsr_calloc(1, sizeof *db, err);
    if (!db) return TSR_ERR_NOMEM;
    if (sqlite3_open(path, &db->db) != SQLITE_OK) {
        tsr_status s = tsr_fail(err, TSR_ERR_STORE, "%s: cannot open: %s", path, sqlite3_errmsg(db->db));
        sqlite3_close(db->db);
        free(db);
        return s;
    }
    sqlite3_busy_timeout(db->db, 5000);
    sqlite3_exec(db->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
    tsr_status s = migrate(db, err);
    if (s != TSR_OK) {
        tsr_queue_db_close(&db);
        return s;
    }
    *out = db;
    return TSR_OK;
}

void tsr_queue_db_close(tsr_queue_db **db)
{
    if (!db || !*db) return;
    sqlite3_close((*db)->db);
    free(*db);
    *db = NULL;
}

static tsr_status run_stmt(tsr_queue_db *db, sqlite3_stmt *st, tsr_error *err, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? TSR_OK : db_fail(db, err, what);
}

tsr_status tsr_queue_db_put(tsr_queue_db *db, tsr_queue_row *row, tsr_error *err)
{
    static const char *sql =
        "INSERT OR REPLACE INTO gui_queue (id, position, state, preset, message, progress, input, output, model,"
        " format, backend, device, precision, budget, tile, chunk) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,"
        "?13,?14,?15,?16)";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db, sql, -1, &st, NULL) != SQLITE_OK) return db_fail(db, err, "put");
    if (row->id > 0) sqlite3_bind_int64(st, 1, row->id);
    else sqlite3_bind_null(st, 1);
    const tsr_job_spec *s = &row->spec;
    sqlite3_bind_int64(st, 2, row->position);
    sqlite3_bind_int(st, 3, row->state);
    sqlite3_bind_text(st, 4, row->preset, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 5, row->message, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 6, row->progress);
    sqlite3_bind_text(st, 7, s->input, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 8, s->output, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 9, s->model, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 10, s->format, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 11, s->backend);
    sqlite3_bind_int(st, 12, s->device);
    sqlite3_bind_int(st, 13, s->precision);
    sqlite3_bind_int64(st, 14, (sqlite3_int64)s->memory_budget);
    sqlite3_bind_int(st, 15, s->tile);
    sqlite3_bind_int(st, 16, s->chunk);
    tsr_status r = run_stmt(db, st, err, "put");
    if (r == TSR_OK && row->id <= 0) row->id = sqlite3_last_insert_rowid(db->db);
    return r;
}

tsr_status tsr_queue_db_delete(tsr_queue_db *db, int64_t id, tsr_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db, "DELETE FROM gui_queue WHERE id = ?1", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "delete");
    sqlite3_bind_int64(st, 1, id);
    return run_stmt(db, st, err, "delete");
}

static void copy_col(sqlite3_stmt *st, int col, char *dst, size_t n)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    snprintf(dst, n, "%s", t ? (const char *)t : "");
}

static void read_row(sqlite3_stmt *st, tsr_queue_row *r)
{
    memset(r, 0, sizeof *r);
    r->id = sqlite3_column_int64(st, 0);
    r->position = sqlite3_column_int64(st, 1);
    r->state = (tsr_job_state)sqlite3_column_int(st, 2);
    copy_col(st, 3, r->preset, sizeof r->preset);
    copy_col(st, 4, r->message, sizeof r->message);
    r->progress = sqlite3_column_double(st, 5);
    copy_col(st, 6, r->spec.input, sizeof r->spec.input);
    copy_col(st, 7, r->spec.output, sizeof r->spec.output);
    copy_col(st, 8, r->spec.model, sizeof r->spec.model);
    copy_col(st, 9, r->spec.format, sizeof r->spec.format);
    r->spec.backend = (tsr_backend_kind)sqlite3_column_int(st, 10);
    r->spec.device = sqlite3_column_int(st, 11);
    r->spec.precision = (tsr_precision)sqlite3_column_int(st, 12);
    r->spec.memory_budget = (uint64_t)sqlite3_column_int64(st, 13);
    r->spec.tile = sqlite3_column_int(st, 14);
    r->spec.chunk = sqlite3_column_int(st, 15);
}

tsr_status tsr_queue_db_list(tsr_queue_db *db, tsr_queue_row **rows, int *n, tsr_error *err)
{
    *rows = NULL, *n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db, "SELECT * FROM gui_queue ORDER BY position, id", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "list");
    int cap = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            tsr_queue_row *g = realloc(*rows, sizeof **rows * (size_t)cap);
            if (!g) {
                sqlite3_finalize(st);
                return tsr_fail(err, TSR_ERR_NOMEM, "queue store: out of memory");
            }
            *rows = g;
        }
        read_row(st, &(*rows)[(*n)++]);
    }
    sqlite3_finalize(st);
    return TSR_OK;
}

/* Remove what a killed job left beside its output: "<output>.part" (UI test job) and the media writer's
 * "<output>.tmp-XXXXXX" files (engine/media/writer.c). */
static void remove_partials(const char *output)
{
    char part[TSR_PATH_MAX + 8];
    tsr_job_partial_path(output, part, sizeof part);
    remove(part);
    const char *slash = strrchr(output, '/');
    char dir[TSR_PATH_MAX];
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - output) : 1, slash ? output : ".");
    if (!dir[0]) snprintf(dir, sizeof dir, "/");
    char prefix[TSR_PATH_MAX + 8];
    snprintf(prefix, sizeof prefix, "%s.tmp-", slash ? slash + 1 : output);
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0) continue;
        char path[2 * TSR_PATH_MAX + 8];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        remove(path);
    }
    closedir(d);
}

tsr_status tsr_queue_db_recover(tsr_queue_db *db, int *count, tsr_error *err)
{
    tsr_queue_row *rows = NULL;
    int n = 0, changed = 0;
    tsr_status s = tsr_queue_db_list(db, &rows, &n, err);
    for (int i = 0; s == TSR_OK && i < n; i++) {
        if (rows[i].state != TSR_JOB_RUNNING && rows[i].state != TSR_JOB_PAUSED) continue;
        remove_partials(rows[i].spec.output);
        rows[i].state = TSR_JOB_INTERRUPTED;
        snprintf(rows[i].message, sizeof rows[i].message, "%s", "interrupted: the app stopped during this job");
        s = tsr_queue_db_put(db, &rows[i], err);
        changed++;
    }
    free(rows);
    if (count) *count = changed;
    return s;
}

tsr_status tsr_queue_db_put_preset(tsr_queue_db *db, const tsr_queue_preset *p, tsr_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db, "INSERT OR REPLACE INTO gui_presets VALUES (?1,?2,?3,?4,?5)", -1, &st, NULL))
        return db_fail(db, err, "put preset");
    sqlite3_bind_text(st, 1, p->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, p->precision);
    sqlite3_bind_int64(st, 3, (sqlite3_int64)p->memory_budget);
    sqlite3_bind_int(st, 4, p->tile);
    sqlite3_bind_text(st, 5, p->format, -1, SQLITE_TRANSIENT);
    return run_stmt(db, st, err, "put preset");
}

tsr_status tsr_queue_db_delete_preset(tsr_queue_db *db, const char *name, tsr_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db, "DELETE FROM gui_presets WHERE name = ?1", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "delete preset");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
    return run_stmt(db, st, err, "delete preset");
}

tsr_status tsr_queue_db_list_presets(tsr_queue_db *db, tsr_queue_preset **presets, int *n, tsr_error *err)
{
    *presets = NULL, *n = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->db, "SELECT * FROM gui_presets ORDER BY name", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, err, "list presets");
    while (sqlite3_step(st) == SQLITE_ROW) {
        tsr_queue_preset *g = realloc(*presets, sizeof **presets * (size_t)(*n + 1));
        if (!g) break;
        *presets = g;
        tsr_queue_preset *p = &g[(*n)++];
        memset(p, 0, sizeof *p);
        copy_col(st, 0, p->name, sizeof p->name);
        p->precision = (tsr_precision)sqlite3_column_int(st, 1);
        p->memory_budget = (uint64_t)sqlite3_column_int64(st, 2);
        p->tile = sqlite3_column_int(st, 3);
        copy_col(st, 4, p->format, sizeof p->format);
    }
    sqlite3_finalize(st);
    return TSR_OK;
}
