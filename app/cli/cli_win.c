/* Windows entry-point glue for tessera-cli. Windows passes main() its arguments in the ANSI code page,
 * which cannot hold most non-ASCII file names; the engine takes UTF-8 everywhere. So the CLI rebuilds argv
 * as UTF-8 from the UTF-16 command line and switches the console to UTF-8 output. */
#ifdef _WIN32
#include <windows.h>
#include <shellapi.h>
#include <stdlib.h>

#include "cli.h"

static char *wide_to_utf8(const wchar_t *w)
{
    int n = WideCharToMultiByte(CP_UTF8, 0, w, -1, NULL, 0, NULL, NULL);
    if (n <= 0) return NULL;
    char *s = malloc((size_t)n);
    if (s && WideCharToMultiByte(CP_UTF8, 0, w, -1, s, n, NULL, NULL) <= 0) {
        free(s);
        s = NULL;
    }
    return s;
}

char **cli_utf8_argv(int *argc)
{
    int n = 0;
    wchar_t **wargv = CommandLineToArgvW(GetCommandLineW(), &n);
    if (!wargv) return NULL;
    char **argv = calloc((size_t)n + 1, sizeof *argv);
    for (int i = 0; argv && i < n; i++) {
        argv[i] = wide_to_utf8(wargv[i]);
        if (!argv[i]) {
            cli_free_argv(argv);
            argv = NULL;
        }
    }
    LocalFree(wargv);
    if (argv) *argc = n;
    SetConsoleOutputCP(CP_UTF8);
    SetConsoleCP(CP_UTF8);
    return argv;
}

void cli_free_argv(char **argv)
{
    if (!argv) return;
    for (char **p = argv; *p; p++) free(*p);
    free(argv);
}
#endif
