/* Versioned schema: migrations[i] takes user_version i to i+1. All pending steps run in one BEGIN IMMEDIATE
 * transaction, so a second process opening the same new file waits and then finds the work done.
 * Append new steps; never edit a released one. */
#include <stdio.h>

#include "store/store_internal.h"

static const char *const migrations[] = {
    /* 0 -> 1: the first schema and the built-in presets */
    "CREATE TABLE presets ("
    "  id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, builtin INTEGER NOT NULL DEFAULT 0,"
    "  precision INTEGER NOT NULL, vram_budget INTEGER NOT NULL, tiling INTEGER NOT NULL,"
    "  container TEXT NOT NULL, codec TEXT NOT NULL, crf INTEGER NOT NULL, bit_depth INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE queue ("
    "  id INTEGER PRIMARY KEY, position INTEGER NOT NULL, state INTEGER NOT NULL,"
    "  input TEXT NOT NULL, output TEXT NOT NULL, preset_id INTEGER,"
    "  overrides TEXT NOT NULL DEFAULT '', progress REAL NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '',"
    "  created INTEGER NOT NULL, started INTEGER NOT NULL DEFAULT 0, finished INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE INDEX queue_by_position ON queue(position);"
    "CREATE TABLE history ("
    "  id INTEGER PRIMARY KEY, input TEXT NOT NULL, output TEXT NOT NULL, preset TEXT NOT NULL,"
    "  state INTEGER NOT NULL, frames INTEGER NOT NULL, seconds REAL NOT NULL, peak_vram INTEGER NOT NULL,"
    "  error TEXT NOT NULL, finished INTEGER NOT NULL"
    ") STRICT;"
    "CREATE TABLE tuned ("
    "  gpu TEXT NOT NULL, cc INTEGER NOT NULL, driver TEXT NOT NULL, vram INTEGER NOT NULL,"
    "  model_digest TEXT NOT NULL, precision INTEGER NOT NULL, latent_h INTEGER NOT NULL,"
    "  latent_w INTEGER NOT NULL, budget INTEGER NOT NULL,"
    "  plan TEXT NOT NULL, algos TEXT NOT NULL, time_s REAL NOT NULL, peak INTEGER NOT NULL,"
    "  updated INTEGER NOT NULL,"
    "  PRIMARY KEY (gpu, cc, driver, vram, model_digest, precision, latent_h, latent_w, budget)"
    ") STRICT;"
    /* precision: 4 = FP8_FAST, 2 = BF16 (tsr_precision); tiling: 0 auto, 1 exact only */
    "INSERT INTO presets (name, builtin, precision, vram_budget, tiling, container, codec, crf, bit_depth) VALUES"
    "  ('Fast — FP8', 1, 4, 0, 0, 'mp4', 'libx264', 18, 8),"
    "  ('Balanced — BF16', 1, 2, 0, 0, 'mp4', 'libx265', 20, 10),"
    "  ('Low VRAM — 8 GB', 1, 2, 8589934592, 0, 'mp4', 'libx264', 18, 8),"
    "  ('Master — ProRes/FFV1 10-bit', 1, 2, 0, 1, 'mov', 'prores_ks', 0, 10);",
    /* 1 -> 2: one store for the GUI too. Queue rows carry the full job spec (tsr_job_spec_to_json; '' = none)
     * and the preset's name at queue time; presets carry the GUI's tile edge and job output format. */
    "ALTER TABLE queue ADD COLUMN spec TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE queue ADD COLUMN preset_name TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE presets ADD COLUMN tile INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE presets ADD COLUMN format TEXT NOT NULL DEFAULT 'mp4-h264';"
    "UPDATE presets SET format = CASE container WHEN 'mov' THEN 'mov-prores' WHEN 'mkv' THEN 'mkv-ffv1'"
    "  ELSE 'mp4-h264' END;"
    "UPDATE presets SET tile = 256 WHERE builtin = 1 AND vram_budget > 0;",
    /* 2 -> 3: history rows keep the job's full spec (the app's "run again"); the built-in whose codec is
     * x265 gets the format that says so (migration 2 derived every mp4 format as mp4-h264). */
    "ALTER TABLE history ADD COLUMN spec TEXT NOT NULL DEFAULT '';"
    "UPDATE presets SET format = 'mp4-hevc' WHERE builtin = 1 AND codec = 'libx265' AND container = 'mp4';",
    /* 3 -> 4: what a backend learnt by timing (cuDNN plan choices per conv shape), per device
     * (tsr_engine_description); the text is the backend's own (tsr_engine_tuning_export). */
    "CREATE TABLE backend_tuning ("
    "  device TEXT PRIMARY KEY, text TEXT NOT NULL, updated INTEGER NOT NULL"
    ") STRICT;",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == TSR_STORE_SCHEMA_VERSION,
               "one migration per schema version");

int tsr_store_schema_version(void) { return TSR_STORE_SCHEMA_VERSION; }

static tsr_status read_user_version(tsr_store *s, int *out, tsr_error *err)
{
    sqlite3_stmt *st = tsr_store_prepare(s, "PRAGMA user_version", err);
    if (!st) return TSR_ERR_STORE;
    int rc = sqlite3_step(st);
    *out = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW) return tsr_store_sql_fail(s, err, "reading the schema version");
    return TSR_OK;
}

/* Returns TSR_ERR_FORMAT (with the version in the message) when the file is newer than this build. */
tsr_status tsr_store_migrate(tsr_store *s, tsr_error *err)
{
    int v = 0;
    if (read_user_version(s, &v, err) != TSR_OK) return TSR_ERR_STORE;
    if (v == TSR_STORE_SCHEMA_VERSION) return TSR_OK;
    if (tsr_store_begin(s, err) != TSR_OK) return TSR_ERR_STORE;
    tsr_status st = read_user_version(s, &v, err); /* again, under the write lock */
    if (st == TSR_OK && v > TSR_STORE_SCHEMA_VERSION)
        st = tsr_fail(err, TSR_ERR_FORMAT, "store schema version %d is newer than this build's %d", v,
                      TSR_STORE_SCHEMA_VERSION);
    for (int i = v; st == TSR_OK && i < TSR_STORE_SCHEMA_VERSION; i++) {
        st = tsr_store_exec(s, migrations[i], err);
        if (st != TSR_OK) tsr_error_prefix(err, "migration %d -> %d: ", i, i + 1);
    }
    if (st == TSR_OK) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", TSR_STORE_SCHEMA_VERSION);
        st = tsr_store_exec(s, sql, err);
    }
    if (st == TSR_OK) return tsr_store_commit(s, err);
    tsr_store_rollback(s);
    return st;
}
