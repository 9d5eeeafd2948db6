/* ev_yaml: which strings stay plain, every escape of the double-quoted form,
 * literal blocks with their chomping and indentation indicators, the
 * fallbacks, and text that is not UTF-8. (tests/e2e/k8s_render.sh reads the
 * output back through kubectl's YAML parser, byte for byte.) */
#include "ev_test.h"
#include "ev_yaml.h"

/* s (n bytes) as a scalar; "(error)" when refused. Static buffer. */
static const char *scalar_n(const char *s, size_t n)
{
    static char out[256];
    ev_buf b = EV_BUF_INIT;
    int rc = ev_yaml_scalar(&b, s, n);
    snprintf(out, sizeof out, "%s", rc ? "(error)" : b.p ? b.p : "");
    ev_buf_free(&b);
    return out;
}

static const char *scalar(const char *s)
{
    return scalar_n(s, strlen(s));
}

static const char *block_n(const char *s, size_t n, int parent, int indent)
{
    static char out[256];
    ev_buf b = EV_BUF_INIT;
    int rc = ev_yaml_block(&b, s, n, parent, indent);
    snprintf(out, sizeof out, "%s", rc ? "(error)" : b.p ? b.p : "");
    ev_buf_free(&b);
    return out;
}

static const char *block(const char *s)
{
    return block_n(s, strlen(s), 2, 4);
}

static void test_plain(void)
{
    CHECK_STR(scalar("run"), "run");
    CHECK_STR(scalar("--set"), "--set");
    CHECK_STR(scalar("/scenario/x.json"), "/scenario/x.json");
    CHECK_STR(scalar("run_id=ab12"), "run_id=ab12");
    CHECK_STR(scalar("publish.rate=2000"), "publish.rate=2000");
    CHECK_STR(scalar("_x"), "_x");
    /* Anything a parser might read as something else is quoted. */
    CHECK_STR(scalar(""), "\"\"");
    CHECK_STR(scalar("3"), "\"3\"");
    CHECK_STR(scalar("1e3"), "\"1e3\"");
    CHECK_STR(scalar("+30s"), "\"+30s\"");
    CHECK_STR(scalar("-c"), "\"-c\"");
    CHECK_STR(scalar("-"), "\"-\"");
    CHECK_STR(scalar("--"), "\"--\"");
    CHECK_STR(scalar("--5"), "\"--5\"");
    CHECK_STR(scalar(".inf"), "\".inf\"");
    CHECK_STR(scalar("~"), "\"~\"");
    CHECK_STR(scalar("evload:0.1.0"), "\"evload:0.1.0\"");
    CHECK_STR(scalar("a: b"), "\"a: b\"");
    CHECK_STR(scalar("a #b"), "\"a #b\"");
    CHECK_STR(scalar("a b"), "\"a b\"");
    CHECK_STR(scalar("x,y"), "\"x,y\"");
    CHECK_STR(scalar("*ref"), "\"*ref\"");
    CHECK_STR(scalar("$(JOB_COMPLETION_INDEX)"), "\"$(JOB_COMPLETION_INDEX)\"");
    CHECK_STR(scalar("2026-01-01T00:00:00Z"), "\"2026-01-01T00:00:00Z\"");
    static const char *const words[] = {"y",     "Y",    "yes",  "Yes",  "YES",  "n",    "N",
                                        "no",    "No",   "NO",   "true", "True", "TRUE", "false",
                                        "False", "on",   "On",   "ON",   "off",  "Off",  "OFF",
                                        "null",  "Null", "NULL", NULL};
    for (size_t i = 0; words[i]; i++) {
        char want[16];
        snprintf(want, sizeof want, "\"%s\"", words[i]);
        CHECK_STR(scalar(words[i]), want);
    }
    CHECK_STR(scalar("yess"), "yess");
    CHECK_STR(scalar("nullable"), "nullable");
}

static void test_quoted(void)
{
    CHECK_STR(scalar("a\"b\\c"), "\"a\\\"b\\\\c\"");
    CHECK_STR(scalar("\t\n\r"), "\"\\t\\n\\r\"");
    CHECK_STR(scalar("\x01\x1f\x7f"), "\"\\x01\\x1F\\x7F\"");
    CHECK_STR(scalar_n("a\0b", 3), "\"a\\x00b\"");
    CHECK_STR(scalar("\xc2\x80\xc2\x9f"), "\"\\x80\\x9F\"");             /* C1 controls */
    CHECK_STR(scalar("\xc2\x85"), "\"\\N\"");                            /* NEL */
    CHECK_STR(scalar("\xe2\x80\xa8\xe2\x80\xa9"), "\"\\L\\P\"");         /* LS, PS */
    CHECK_STR(scalar("\xef\xbb\xbf\xef\xbf\xbe"), "\"\\uFEFF\\uFFFE\""); /* BOM, non-char */
    CHECK_STR(scalar("\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), /* é € 😀 as they are */
              "\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
    CHECK_STR(scalar("\xc2\xa0"), "\"\xc2\xa0\"");
    /* Not UTF-8: no YAML string can hold it. */
    CHECK_STR(scalar("\xff"), "(error)");
    CHECK_STR(scalar("a\x80"), "(error)");
    CHECK_STR(scalar("\xc0\xaf"), "(error)");         /* overlong '/' */
    CHECK_STR(scalar("\xe0\x80\xaf"), "(error)");     /* overlong */
    CHECK_STR(scalar("\xed\xa0\x80"), "(error)");     /* surrogate */
    CHECK_STR(scalar("\xf4\x90\x80\x80"), "(error)"); /* above U+10FFFF */
    CHECK_STR(scalar("\xe2\x82"), "(error)");         /* truncated */
}

static void test_block(void)
{
    /* Chomping: clip, strip, keep. */
    CHECK_STR(block("{\n  \"a\": 1\n}\n"), " |\n    {\n      \"a\": 1\n    }\n");
    CHECK_STR(block("a"), " |-\n    a\n");
    CHECK_STR(block("a\n\n\n"), " |+\n    a\n\n\n");
    CHECK_STR(block("a\n\nb\n"), " |\n    a\n\n    b\n"); /* an empty line inside */
    /* Indentation indicator, relative to the parent, when the first line
     * cannot show the indentation. */
    CHECK_STR(block(" a\n"), " |2\n     a\n");
    CHECK_STR(block("\na\n"), " |2\n\n    a\n");
    CHECK_STR(block_n(" a", 2, 12, 14), " |2-\n               a\n");
    CHECK_STR(block_n(" a", 2, 0, 10), " \" a\"\n"); /* indicator past 9: quoted */
    /* Tabs and '#', '"', '\' are plain text in a literal block. */
    CHECK_STR(block("\ta # \"x\\\"\n"), " |\n    \ta # \"x\\\"\n");
    CHECK_STR(block("\xc3\xa9\n"), " |\n    \xc3\xa9\n");
    /* What a literal block cannot carry exactly: double-quoted. */
    CHECK_STR(block("a\r\nb\r\n"), " \"a\\r\\nb\\r\\n\"\n");
    CHECK_STR(block("a\xe2\x80\xa8 b\n"), " \"a\\L b\\n\"\n");
    CHECK_STR(block("a\n  \nb\n"), " \"a\\n  \\nb\\n\"\n"); /* a line of only blanks */
    CHECK_STR(block("a\n\t"), " \"a\\n\\t\"\n");
    CHECK_STR(block(""), " \"\"\n");
    CHECK_STR(block("\n\n"), " \"\\n\\n\"\n");
    CHECK_STR(block("a\x01\n"), " \"a\\x01\\n\"\n");
    CHECK_STR(block("\xff\n"), "(error)");
}

int main(void)
{
    EV_RUN(test_plain);
    EV_RUN(test_quoted);
    EV_RUN(test_block);
    EV_DONE();
}
