/* Opening the store: path, pragmas, migrations, a damaged or newer file moved aside, recovery of jobs a dead
 * process left running. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#ifdef _WIN32
#include <direct.h>
#endif

#include "core/file.h"
#include "store/store_internal.h"

enum open_outcome { OPEN_OK, OPEN_CORRUPT, OPEN_NEWER, OPEN_FAILED };

void tsr_store_params_default(tsr_store_params *p)
{
    memset(p, 0, sizeof *p);
    p->recover_interrupted = 1;
}

/* mkdir -p over the per-user data folder: ~/.local/share may not exist on a fresh account. */
static int make_dirs(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/' && *p != '\\') continue;
        char c = *p;
        *p = 0;
        tsr_mkdir(path); /* parents that exist (or a drive like "C:") fail harmlessly */
        *p = c;
    }
    return tsr_mkdir(path);
}

tsr_status tsr_store_default_path(char *buf, size_t cap, tsr_error *err)
{
    char *dir = tsr_user_data_dir(); /* $XDG_DATA_HOME/tessera, ~/.local/share/tessera, %LOCALAPPDATA%\\Tessera */
    if (!dir) return tsr_fail(err, TSR_ERR_IO, "store: no per-user data folder (HOME / LOCALAPPDATA unset)");
#ifdef _WIN32
    const char *sep = "\\";
#else
    const char *sep = "/";
#endif
    tsr_status st = TSR_OK;
    if (make_dirs(dir) != 0)
        st = tsr_fail(err, TSR_ERR_IO, "store: cannot create %s: %s", dir, strerror(errno));
    else if ((size_t)snprintf(buf, cap, "%s%stessera.db", dir, sep) >= cap)
        st = tsr_fail(err, TSR_ERR_INVALID_ARG, "store: path buffer too small");
    free(dir);
    return st;
}

static int is_damage(sqlite3 *db)
{
    int rc = sqlite3_errcode(db) & 0xff;
    return rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT;
}

static tsr_status quick_check(tsr_store *s, tsr_error *err)
{
    sqlite3_stmt *st = tsr_store_prepare(s, "PRAGMA quick_check", err);
    if (!st) return TSR_ERR_STORE;
    int rc = sqlite3_step(st);
    char verdict[128] = "";
    if (rc == SQLITE_ROW) tsr_store_col_text(st, 0, verdict, sizeof verdict);
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) return tsr_store_sql_fail(s, err, "checking the file");
    if (strcmp(verdict, "ok") != 0) return tsr_fail(err, TSR_ERR_STORE, "store file is damaged: %s", verdict);
    return TSR_OK;
}

static enum open_outcome try_open(tsr_store *s, tsr_error *err)
{
    int rc = sqlite3_open_v2(s->path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        tsr_store_sql_fail(s, err, "opening");
        return OPEN_FAILED;
    }
    sqlite3_busy_timeout(s->db, 10000);
    /* Two processes creating the same new file at once: switching it to WAL and the migration's write lock can
     * answer SQLITE_BUSY at once, without waiting in the busy handler (SQLite does so where waiting could
     * deadlock). The whole setup is idempotent, so it is retried for up to 10 s. */
    tsr_status st;
    for (int attempt = 0;; attempt++) {
        st = tsr_store_exec(s, "PRAGMA journal_mode = WAL", err);
        if (st == TSR_OK) st = tsr_store_exec(s, "PRAGMA synchronous = NORMAL", err);
        if (st == TSR_OK) st = quick_check(s, err);
        if (st == TSR_OK) st = tsr_store_migrate(s, err);
        int busy = (sqlite3_errcode(s->db) & 0xff) == SQLITE_BUSY || (sqlite3_errcode(s->db) & 0xff) == SQLITE_LOCKED;
        if (st == TSR_OK || !busy || attempt >= 500) break;
        sqlite3_sleep(20);
    }
    if (st == TSR_OK) return OPEN_OK;
    enum open_outcome o = st == TSR_ERR_FORMAT ? OPEN_NEWER : OPEN_FAILED;
    if (o == OPEN_FAILED && (is_damage(s->db) || strstr(err ? err->message : "", "damaged"))) o = OPEN_CORRUPT;
    sqlite3_close(s->db);
    s->db = NULL;
    return o;
}

/* Rename the file (and its WAL/SHM companions) to "<path>.<why>-<time>". */
static tsr_status set_aside(tsr_store *s, const char *why, tsr_error *err)
{
    char stamp[32], aside[TSR_STORE_PATH_MAX + 64], from[TSR_STORE_PATH_MAX + 8], to[TSR_STORE_PATH_MAX + 72];
    time_t now = time(NULL);
    struct tm tmv;
#ifdef _WIN32
    gmtime_s(&tmv, &now);
#else
    gmtime_r(&now, &tmv);
#endif
    strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tmv);
    snprintf(aside, sizeof aside, "%s.%s-%s", s->path, why, stamp);
    if (tsr_rename_replace(s->path, aside) != 0)
        return tsr_fail(err, TSR_ERR_STORE, "store %s is unusable (%s) and cannot be moved aside", s->path, why);
    static const char *const companions[2] = {"-wal", "-shm"};
    for (int i = 0; i < 2; i++) {
        snprintf(from, sizeof from, "%s%s", s->path, companions[i]);
        snprintf(to, sizeof to, "%s%s", aside, companions[i]);
        tsr_rename_replace(from, to); /* absent companions are fine */
    }
    snprintf(s->notice, sizeof s->notice, "The settings store %s was %s; it was moved to %s and a fresh store "
             "was created.", s->path, strcmp(why, "corrupt") == 0 ? "damaged" : "written by a newer Tessera",
             aside);
    tsr_log(TSR_LOG_WARN, "%s", s->notice);
    return TSR_OK;
}

/* Remove what a killed job left beside its output: "<output>.part" (tsr_job_partial_path) and the media
 * writer's "<output>.tmp-XXXXXX" files (engine/media/writer.c). */
static void remove_partials(const char *output)
{
    if (!output[0]) return;
    char part[TSR_PATH_MAX + 8];
    tsr_job_partial_path(output, part, sizeof part);
    remove(part);
    const char *slash = strrchr(output, '/');
#ifdef _WIN32
    const char *bslash = strrchr(output, '\\');
    if (bslash && (!slash || bslash > slash)) slash = bslash;
#endif
    char dir[TSR_PATH_MAX], prefix[TSR_PATH_MAX + 8];
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == output) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - output), output);
    snprintf(prefix, sizeof prefix, "%s.tmp-", slash ? slash + 1 : output);
    DIR *d = opendir(dir);
    if (!d) return;
    size_t plen = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, plen) != 0) continue;
        char path[2 * TSR_PATH_MAX + 8];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        remove(path);
    }
    closedir(d);
}

/* Outputs of the jobs a dead process left running or paused (the spec's output when the row has one). */
static tsr_status list_unfinished(tsr_store *s, char ***outputs, int *n, tsr_error *err)
{
    *outputs = NULL;
    *n = 0;
    sqlite3_stmt *st = tsr_store_prepare(s, "SELECT output FROM queue WHERE state IN (?1, ?2)", err);
    if (!st) return TSR_ERR_STORE;
    sqlite3_bind_int(st, 1, TSR_JOB_RUNNING);
    sqlite3_bind_int(st, 2, TSR_JOB_PAUSED);
    int rc;
    tsr_status r = TSR_OK;
    while (r == TSR_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *out = (const char *)sqlite3_column_text(st, 0);
        char **grown = realloc(*outputs, sizeof **outputs * (size_t)(*n + 1));
        char *copy = out ? strdup(out) : NULL;
        if (!grown || !copy) {
            free(copy);
            if (grown) *outputs = grown;
            r = tsr_fail(err, TSR_ERR_NOMEM, "store: out of memory recovering jobs");
            break;
        }
        *outputs = grown;
        (*outputs)[(*n)++] = copy;
    }
    if (r == TSR_OK && rc != SQLITE_DONE) r = tsr_store_sql_fail(s, err, "listing interrupted jobs");
    sqlite3_finalize(st);
    return r;
}

static void free_outputs(char **outputs, int n)
{
    for (int i = 0; i < n; i++) free(outputs[i]);
    free(outputs);
}

static tsr_status recover_running(tsr_store *s, tsr_error *err)
{
    if (tsr_store_begin(s, err) != TSR_OK) return TSR_ERR_STORE;
    char **outputs = NULL;
    int n = 0;
    tsr_status r = list_unfinished(s, &outputs, &n, err);
    sqlite3_stmt *st = NULL;
    if (r == TSR_OK) {
        st = tsr_store_prepare(s, "UPDATE queue SET state = ?1, finished = ?2, "
                                  "error = 'interrupted: the program stopped while it ran' "
                                  "WHERE state IN (?3, ?4)", err);
        if (!st) r = TSR_ERR_STORE;
    }
    if (r == TSR_OK) {
        sqlite3_bind_int(st, 1, TSR_JOB_INTERRUPTED);
        sqlite3_bind_int64(st, 2, tsr_store_now());
        sqlite3_bind_int(st, 3, TSR_JOB_RUNNING);
        sqlite3_bind_int(st, 4, TSR_JOB_PAUSED);
        r = tsr_store_step_done(s, st, err, "recovering interrupted jobs");
    }
    if (r == TSR_OK) {
        s->recovered = sqlite3_changes(s->db);
        r = tsr_store_commit(s, err);
    } else tsr_store_rollback(s);
    /* only after the rows say "interrupted": a crash in between leaves partials, never a lie */
    for (int i = 0; r == TSR_OK && i < n; i++) remove_partials(outputs[i]);
    free_outputs(outputs, n);
    return r;
}

static tsr_status open_or_set_aside(tsr_store *s, tsr_error *err)
{
    enum open_outcome o = try_open(s, err);
    if (o == OPEN_CORRUPT || o == OPEN_NEWER) {
        tsr_status st = set_aside(s, o == OPEN_CORRUPT ? "corrupt" : "newer", err);
        if (st != TSR_OK) return st;
        o = try_open(s, err);
    }
    return o == OPEN_OK ? TSR_OK : TSR_ERR_STORE;
}

tsr_status tsr_store_open(const tsr_store_params *p, tsr_store **out, tsr_error *err)
{
    tsr_store_params defaults;
    if (!p) {
        tsr_store_params_default(&defaults);
        p = &defaults;
    }
    *out = NULL;
    tsr_store *s = tsr_calloc(1, sizeof *s, err);
    if (!s) return TSR_ERR_NOMEM;
    tsr_status st = TSR_OK;
    if (p->path) {
        if (strlen(p->path) >= sizeof s->path) st = tsr_fail(err, TSR_ERR_INVALID_ARG, "store path too long");
        else snprintf(s->path, sizeof s->path, "%s", p->path);
    } else st = tsr_store_default_path(s->path, sizeof s->path, err);
    if (st == TSR_OK) st = open_or_set_aside(s, err);
    if (st == TSR_OK && p->recover_interrupted) st = recover_running(s, err);
    if (st != TSR_OK) {
        tsr_store_close(&s);
        return st;
    }
    *out = s;
    return TSR_OK;
}

void tsr_store_close(tsr_store **s)
{
    if (!s || !*s) return;
    if ((*s)->db) sqlite3_close((*s)->db);
    free(*s);
    *s = NULL;
}

const char *tsr_store_path(const tsr_store *s) { return s ? s->path : ""; }
const char *tsr_store_notice(const tsr_store *s) { return s ? s->notice : ""; }
int tsr_store_recovered_jobs(const tsr_store *s) { return s ? s->recovered : 0; }
void tsr_store_free(void *p) { free(p); }
