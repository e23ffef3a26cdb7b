/* Internal latent-file entry points beyond tessera.h's tsr_latent_read / tsr_latent_write. */
#ifndef TSR_MEDIA_LATENT_IO_H
#define TSR_MEDIA_LATENT_IO_H
#include "tessera.h"

/* tsr_latent_read, but `unscaled` = 1 takes the file as decoder input whatever its metadata says
 * (the CLI's decode --unscaled / --raw, for the golden fixtures and foreign files). */
tsr_status tsr_latent_read_as(const char *path, int unscaled, tsr_latent *out, tsr_error *err);
#endif
