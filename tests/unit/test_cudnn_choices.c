/* The remembered cuDNN plan choices as text (backend/cuda/cudnn.h), without a GPU or the cuDNN library: lines of
 * this device and version are kept (engine id + knob choices), others ignored, export gives them back, malformed
 * text fails with TSR_ERR_FORMAT naming the line and keeps nothing half-read, a version-1 text is re-timed. */
#include <string.h>

#include "backend/cuda/cudnn.h"
#include "core/common.h"
#include "tsr_test.h"

/* version 2: engine id, time, then the engine config's knob choices (count, then type value pairs) */
static const char *const good =
    "tessera-cudnn-plans 2\n"
    "NVIDIA_H100_80GB_HBM3/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 1 3 1 4 0.0155 2 3 1 17 -1\n"
    "NVIDIA_H100_80GB_HBM3/sm_90 91400 2 1 1 2432 512 14400 1 1 1 0 0 0 0 0 0 0 3 0 88 1.2500 0\n" /* fp32 Y (GEMM) */
    "\n"
    "NVIDIA_H100_80GB_HBM3/sm_90 91900 0 6 90 160 512 512 3 3 3 0 1 1 0 0 1 0 3 2 12 1.0000 0\n" /* other version */
    "NVIDIA_L4/sm_89 91400 1 6 90 160 512 512 3 3 3 0 1 1 1 2 1 0 2 0 7 2.0000 1 5 64\n";        /* other GPU */

int main(void)
{
    tsr_cudnn *c = NULL;
    tsr_error err;
    CHECK(tsr_cudnn_choices_open("NVIDIA H100 80GB HBM3", 9, 0, 91400, &c, &err) == TSR_OK);
    int n = -1;
    CHECK(tsr_cudnn_choices_import(c, good, &n, &err) == TSR_OK);
    CHECKF(n == 2, "imported %d", n);
    CHECK(!tsr_cudnn_choices_changed(c));
    char *text = tsr_cudnn_choices_export(c);
    CHECK(text != NULL);
    /* export = the header and this device's two lines, as they were */
    const char *l1 = strstr(good, "NVIDIA_H100_80GB_HBM3/sm_90 91400 0 5"), *l3 = strstr(good, "\n\nNVIDIA");
    size_t head = strlen("tessera-cudnn-plans 2\n");
    CHECKF(text && strlen(text) == (size_t)(l3 + 1 - good) - 0 && !strncmp(text, good, head) &&
               !strncmp(text + head, l1, (size_t)(l3 + 1 - l1)),
           "export:\n%s", text ? text : "");
    /* a second import of the exported text replaces, never duplicates */
    CHECK(tsr_cudnn_choices_import(c, text, &n, &err) == TSR_OK && n == 2);
    char *again = tsr_cudnn_choices_export(c);
    CHECK(again && text && !strcmp(again, text));
    free(again);
    free(text);

    static const char *const bad[] = {
        "",
        "tessera-cudnn-plans 3\n",
        "tessera-cudnn-plans 2\nNVIDIA_H100_80GB_HBM3/sm_90 91400 0 5 8\n",
        "tessera-cudnn-plans 2\nNVIDIA_H100_80GB_HBM3/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 1 3 1 4 0.5 0 extra\n",
        "tessera-cudnn-plans 2\nNVIDIA_H100_80GB_HBM3/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 1 9 1 4 0.5 0\n",
        "tessera-cudnn-plans 2\nNVIDIA_H100_80GB_HBM3/sm_90 91400 7 5 8 12 64 64 3 3 3 0 1 1 0 0 1 1 3 1 4 0.5 0\n",
        "tessera-cudnn-plans 2\nNVIDIA_H100_80GB_HBM3/sm_90 91400 3 5 8 12 64 64 3 3 3 0 1 1 0 0 1 1 3 1 4 0.5 0\n",
        "tessera-cudnn-plans 2\nNVIDIA_H100_80GB_HBM3/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 1 3 99 4 0.5 0\n",
        "tessera-cudnn-plans 2\nNVIDIA_H100_80GB_HBM3/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 1 3 1 4 0.5\n",
        "tessera-cudnn-plans 2\nNVIDIA_H100_80GB_HBM3/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 1 3 1 4 0.5 2 3 1\n",
        "tessera-cudnn-plans 2\nNVIDIA_H100_80GB_HBM3/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 1 3 1 4 0.5 1 44 1\n",
        "tessera-cudnn-plans 2\nNVIDIA_H100_80GB_HBM3/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 1 3 1 4 0.5 25\n",
    };
    for (size_t i = 0; i < TSR_ARRAY_LEN(bad); i++) {
        memset(&err, 0, sizeof err);
        tsr_status st = tsr_cudnn_choices_import(c, bad[i], &n, &err);
        CHECKF(st == TSR_ERR_FORMAT && err.message[0] && n == 0, "bad text %zu: %s", i, tsr_status_name(st));
        printf("bad %zu: %s\n", i, err.message);
    }
    char longline[2048];
    memset(longline, 'x', sizeof longline);
    memcpy(longline, "tessera-cudnn-plans 2\n", head);
    longline[sizeof longline - 1] = 0;
    CHECK(tsr_cudnn_choices_import(c, longline, &n, &err) == TSR_ERR_FORMAT && strstr(err.message, "line 2"));
    CHECK(tsr_cudnn_choices_import(c, NULL, &n, &err) == TSR_ERR_INVALID_ARG);
    /* a good line before a bad one is not kept either */
    CHECK(tsr_cudnn_choices_import(c,
                                   "tessera-cudnn-plans 2\n"
                                   "NVIDIA_H100_80GB_HBM3/sm_90 91400 0 7 9 9 64 64 3 3 3 0 1 1 0 0 1 1 3 1 4 0.5 0\n"
                                   "NVIDIA_H100_80GB_HBM3/sm_90 91400 0 5\n",
                                   &n, &err) == TSR_ERR_FORMAT &&
          strstr(err.message, "line 3"));
    text = tsr_cudnn_choices_export(c);
    CHECKF(text && !strstr(text, " 0 7 9 9 "), "half-read text kept:\n%s", text ? text : "");
    free(text);
    /* an older build's version-1 text: nothing imported, not an error, and marked for rewriting */
    CHECK(tsr_cudnn_choices_import(c, "tessera-cudnn-plans 1\n"
                                      "NVIDIA_H100_80GB_HBM3/sm_90 91400 0 5 8 12 64 64 3 3 3 0 1 1 0 0 1 1 3 1 4 0.5\n",
                                   &n, &err) == TSR_OK && n == 0 && tsr_cudnn_choices_changed(c));
    /* a choices-only handle has no convs */
    tsr_cudnn_conv_shape s;
    memset(&s, 0, sizeof s);
    tsr_cudnn_conv *cv = NULL;
    CHECK(tsr_cudnn_conv_get(c, &s, &cv, &err) == TSR_ERR_UNSUPPORTED && !cv);
    tsr_cudnn_close(&c);
    CHECK(c == NULL);
    return tsr_test_done();
}
