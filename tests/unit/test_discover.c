/* Model discovery: the default folder follows XDG on Linux, and a scan lists model files with their kind. */
#include <stdlib.h>
#ifndef _WIN32
#include <unistd.h>
#endif

#include "core/common.h"
#include "core/file.h"
#include "model/safetensors.h"
#include "tsr_test.h"

int main(void)
{
#ifdef _WIN32
    SKIP("the XDG rules are Linux-only");
#else
    char dir[1024];
    tsr_error err = {0};
    setenv("XDG_DATA_HOME", "/data/x", 1);
    REQUIRE(tsr_models_default_dir(dir, sizeof dir, &err) == TSR_OK);
    CHECK(strcmp(dir, "/data/x/tessera/models") == 0);
    setenv("XDG_DATA_HOME", "relative/ignored", 1);
    setenv("HOME", "/home/u", 1);
    REQUIRE(tsr_models_default_dir(dir, sizeof dir, &err) == TSR_OK);
    CHECK(strcmp(dir, "/home/u/.local/share/tessera/models") == 0);
    char small[8];
    CHECK(tsr_models_default_dir(small, sizeof small, &err) == TSR_ERR_INVALID_ARG);

    /* scan a folder: one non-VAE safetensors, one junk .gguf, one ignored .txt */
    char tmpl[] = "/tmp/tsr_discover_XXXXXX";
    REQUIRE(mkdtemp(tmpl));
    char a[1100], b[1100], c[1100];
    snprintf(a, sizeof a, "%s/a.safetensors", tmpl);
    snprintf(b, sizeof b, "%s/B.GGUF", tmpl);
    snprintf(c, sizeof c, "%s/notes.txt", tmpl);
    float v[4] = {0};
    tsr_st_tensor t = {"x", TSR_DT_F32, 1, {4}, v};
    REQUIRE(tsr_safetensors_write(a, &t, 1, NULL, 0, &err) == TSR_OK);
    FILE *f = fopen(b, "wb");
    REQUIRE(f);
    fputs("GGUF junk", f);
    fclose(f);
    f = fopen(c, "wb");
    REQUIRE(f);
    fclose(f);
    const char *dirs[] = {tmpl, tmpl, "/nonexistent/folder"};
    tsr_model_list *l = NULL;
    REQUIRE(tsr_models_scan(0, dirs, 3, &l, &err) == TSR_OK);
    REQUIRE(l->count == 2);
    CHECK(strstr(l->items[0].path, "B.GGUF") && l->items[0].format == 0 && l->items[0].error);
    CHECK(strstr(l->items[1].path, "a.safetensors") && l->items[1].format == TSR_FORMAT_SAFETENSORS &&
          l->items[1].kind == TSR_MODEL_NOT_VAE && l->items[1].error);
    tsr_model_list_free(&l);
    CHECK(l == NULL);
    tsr_remove(a);
    tsr_remove(b);
    tsr_remove(c);
    rmdir(tmpl);
    return tsr_test_done();
#endif
}
