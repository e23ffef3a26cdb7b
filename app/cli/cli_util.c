#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tessera-cli: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "tessera-cli %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (see 'tessera-cli %s --help')\n", cmd);
    va_end(ap);
    return 2;
}

int cli_fail_err(const tsr_error *err)
{
    return cli_fail("%s", err->message[0] ? err->message : tsr_status_name(err->status));
}

bool cli_is_help(const char *a) { return strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0; }

bool cli_flag(char **argv, int i, const char *name) { return strcmp(argv[i], name) == 0; }

bool cli_opt_str(int argc, char **argv, int *i, const char *name, const char **out, bool *bad)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0) return false;
    if (a[n] == '=') {
        *out = a + n + 1;
        return true;
    }
    if (a[n] != 0) return false;
    if (*i + 1 >= argc) {
        fprintf(stderr, "tessera-cli: option %s needs a value\n", name);
        *bad = true;
        return true;
    }
    *out = argv[++*i];
    return true;
}

bool cli_opt_int(int argc, char **argv, int *i, const char *name, int *out, bool *bad)
{
    const char *v = NULL;
    if (!cli_opt_str(argc, argv, i, name, &v, bad)) return false;
    if (*bad) return true;
    char *end;
    long x = strtol(v, &end, 10);
    if (*v == 0 || *end != 0 || x < -2147483647L || x > 2147483647L) {
        fprintf(stderr, "tessera-cli: option %s needs an integer, got '%s'\n", name, v);
        *bad = true;
        return true;
    }
    *out = (int)x;
    return true;
}

bool cli_parse_bytes(const char *s, uint64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v < 0) return false;
    double mul = 1;
    switch (*end) {
    case 0: break;
    case 'k': case 'K': mul = 1024.0; end++; break;
    case 'm': case 'M': mul = 1024.0 * 1024; end++; break;
    case 'g': case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
    case 't': case 'T': mul = 1024.0 * 1024 * 1024 * 1024; end++; break;
    default: return false;
    }
    if (*end == 'i' || *end == 'B') end++;
    if (*end == 'B') end++;
    if (*end) return false;
    *out = (uint64_t)(v * mul);
    return true;
}
