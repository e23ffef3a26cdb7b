/* tessera: the GTK app's entry point. */
#include <stdlib.h>
#include <string.h>

#include "test-job.h"
#include "tessera-application.h"

int main(int argc, char **argv)
{
    g_autoptr(TesseraApplication) app = tessera_application_new();
    /* A test double for the UI tests until the engine's file->file job is in the build: see test-job.c. */
    const char *test_job = g_getenv("TESSERA_TEST_JOB");
    if (test_job && strcmp(test_job, "copy") == 0) tessera_application_set_job_fn(app, tessera_test_copy_job, NULL);
    return g_application_run(G_APPLICATION(app), argc, argv);
}
