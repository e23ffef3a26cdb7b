/* TesseraApplication: app actions (quit, about, preferences, dark style), the queue, the window. */
#pragma once

#include <adwaita.h>

#include "tessera.h"

G_BEGIN_DECLS

#define TESSERA_TYPE_APPLICATION (tessera_application_get_type())
G_DECLARE_FINAL_TYPE(TesseraApplication, tessera_application, TESSERA, APPLICATION, AdwApplication)

TesseraApplication *tessera_application_new(void);
/* The runner's job function (NULL = the engine's); set before run. */
void tessera_application_set_job_fn(TesseraApplication *self, tsr_job_fn fn, gpointer user);

G_END_DECLS
