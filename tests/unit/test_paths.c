/* UTF-8 paths with spaces and non-ASCII characters through every file entry point of the engine (on
 * Windows these go through UTF-16 APIs; under wine this is what CI checks), and the per-user data folder. */
#include "core/file.h"

#include "tsr_test.h"

static const char dir[] = "tsr-paths-test";
static const char sub[] = "tsr-paths-test/Vid\xc3\xa9os 2026";                 /* "Vidéos 2026" */
static const char target[] = "tsr-paths-test/Vid\xc3\xa9os 2026/\xc3\xa9t\xc3\xa9 \xe6\x98\xa0.bin"; /* "été 映.bin" */

static void write_and_map(void)
{
    static const char payload[] = "tessera \xe2\x9c\x93 payload";
    tsr_error err = {0};
    tsr_atomic_file af;
    REQUIRE(tsr_atomic_open(&af, target, &err) == TSR_OK);
    REQUIRE(fwrite(payload, 1, sizeof payload, af.fp) == sizeof payload);
    REQUIRE(tsr_atomic_commit(&af, &err) == TSR_OK);

    void *data = NULL;
    size_t size = 0;
    CHECKF(tsr_map_file(target, &data, &size, &err) == TSR_OK, "%s", err.message);
    CHECK(size == sizeof payload);
    CHECK(data && size == sizeof payload && memcmp(data, payload, size) == 0);
    tsr_unmap_file(data, size);

    FILE *f = tsr_fopen(target, "rb");
    CHECK(f != NULL);
    if (f) fclose(f);
    CHECK(tsr_remove(target) == 0);
    CHECK(tsr_fopen(target, "rb") == NULL);
}

int main(void)
{
    REQUIRE(tsr_mkdir(dir) == 0);
    REQUIRE(tsr_mkdir(sub) == 0);
    CHECK(tsr_mkdir(sub) == 0); /* existing is fine */
    write_and_map();

    char *data_dir = tsr_user_data_dir();
    CHECK(data_dir != NULL);
    if (data_dir) {
        size_t n = strlen(data_dir);
        fprintf(stderr, "user data dir: %s\n", data_dir);
#ifdef _WIN32
        CHECK(n > 8 && strcmp(data_dir + n - 8, "\\Tessera") == 0);
#else
        CHECK(n > 8 && strcmp(data_dir + n - 8, "/tessera") == 0);
#endif
    }
    free(data_dir);
    return tsr_test_done();
}
