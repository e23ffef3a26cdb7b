/* The strict JSON parser: accepts RFC 8259 documents, rejects everything else with an exact position. */
#include "core/common.h"
#include "core/json.h"
#include "tsr_test.h"

static const tsr_json *parse_ok(const char *text, tsr_json_doc **doc)
{
    tsr_error err = {0};
    tsr_status st = tsr_json_parse(text, strlen(text), NULL, "t", doc, &err);
    CHECKF(st == TSR_OK, "'%s': %s", text, err.message);
    return st == TSR_OK ? tsr_json_root(*doc) : NULL;
}

static void expect_bad(const char *text, size_t len, const char *msg)
{
    tsr_error err = {0};
    tsr_json_doc *doc = NULL;
    tsr_status st = tsr_json_parse(text, len, NULL, "t", &doc, &err);
    CHECKF(st == TSR_ERR_FORMAT && doc == NULL, "'%s' accepted", text);
    CHECKF(strstr(err.message, msg) != NULL, "'%s': message '%s' lacks '%s'", text, err.message, msg);
}

static void good(void)
{
    tsr_json_doc *doc = NULL;
    const tsr_json *r = parse_ok(" {\"a\": [1, -2, 3.5e2, true, false, null], \"b\": \"x\\u00e9\\ud83d\\ude00\\n\"} ", &doc);
    REQUIRE(r && r->type == TSR_JSON_OBJECT && r->count == 2);
    const tsr_json *a = tsr_json_get(r, "a");
    REQUIRE(a && a->type == TSR_JSON_ARRAY && a->count == 6);
    CHECK(a->items[0].is_int && a->items[0].integer == 1);
    CHECK(a->items[1].is_int && a->items[1].integer == -2);
    CHECK(!a->items[2].is_int && a->items[2].number == 350.0);
    CHECK(a->items[3].type == TSR_JSON_BOOL && a->items[3].boolean);
    CHECK(a->items[5].type == TSR_JSON_NULL);
    const tsr_json *b = tsr_json_get(r, "b");
    CHECK(b && strcmp(b->str, "x\xc3\xa9\xf0\x9f\x98\x80\n") == 0);
    tsr_json_free(doc);
    r = parse_ok("9223372036854775807", &doc);
    CHECK(r && r->is_int && r->integer == INT64_MAX);
    tsr_json_free(doc);
    r = parse_ok("18446744073709551616", &doc);
    CHECK(r && !r->is_int && r->number > 1.8e19);
    tsr_json_free(doc);
    r = parse_ok("\"\"", &doc);
    CHECK(r && r->type == TSR_JSON_STRING && r->len == 0);
    tsr_json_free(doc);
}

static void bad(void)
{
    expect_bad("", 0, "unexpected end of input");
    expect_bad("{\"a\":1,}", 8, "byte 7 (line 1, column 8): object key expected");
    expect_bad("[1,]", 4, "byte 3");
    expect_bad("{\"a\" 1}", 7, "':' expected");
    expect_bad("01", 2, "leading zero");
    expect_bad("1.", 2, "digit expected after '.'");
    expect_bad("1e", 2, "exponent");
    expect_bad("NaN", 3, "invalid number");
    expect_bad("[1]\n x", 6, "line 2, column 2");
    expect_bad("\"abc", 4, "unterminated string");
    expect_bad("\"a\tb\"", 5, "control character");
    expect_bad("\"\\x\"", 4, "invalid escape");
    expect_bad("\"\\ud800\"", 8, "unpaired high surrogate");
    expect_bad("\"\\udc00\"", 8, "unpaired low surrogate");
    expect_bad("\"\xc0\xaf\"", 4, "invalid UTF-8");
    expect_bad("\"\xed\xa0\x80\"", 5, "invalid UTF-8");
    expect_bad("tru", 3, "unexpected character");
    expect_bad("// c\n1", 6, "invalid number");
    expect_bad("[1] [2]", 7, "unexpected data after");
    char deep[200];
    memset(deep, '[', sizeof deep);
    expect_bad(deep, sizeof deep, "nesting too deep");
    tsr_json_limits lim = {0, 4, 0};
    tsr_error err = {0};
    tsr_json_doc *doc = NULL;
    CHECK(tsr_json_parse("[1,2]", 5, &lim, "t", &doc, &err) == TSR_ERR_FORMAT && strstr(err.message, "limit"));
}

static void writer(void)
{
    tsr_sbuf b;
    tsr_sbuf_init(&b);
    tsr_sbuf_json_str(&b, "a\"b\\c\n\x01");
    tsr_sbuf_printf(&b, ",%d", 42);
    CHECK(!b.failed && strcmp(b.data, "\"a\\\"b\\\\c\\u000a\\u0001\",42") == 0);
    tsr_json_doc *doc = NULL;
    b.len -= 3;
    b.data[b.len] = 0;
    const tsr_json *r = parse_ok(b.data, &doc);
    CHECK(r && strcmp(r->str, "a\"b\\c\n\x01") == 0);
    tsr_json_free(doc);
    tsr_sbuf_free(&b);
}

int main(void)
{
    good();
    bad();
    writer();
    return tsr_test_done();
}
