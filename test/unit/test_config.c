/* Settings table: value parsers, sources and precedence, the error line. */
#include <stdlib.h>
#include <unistd.h>

#include "../testhelp.h"
#include "config.h"
#include "config_lint.h"
#include "tlsca.h"

/* A self-signed CA made for this test (nothing trusts it). */
#define TEST_CA_PEM \
    "-----BEGIN CERTIFICATE-----\n" \
    "MIIBhzCCAS2gAwIBAgIUBKNkHTmJ8n8Z8vp+tXKC7yHBYtEwCgYIKoZIzj0EAwIw\n" \
    "GDEWMBQGA1UEAwwNaW5nb3QgdGVzdCBDQTAgFw0yNjEyMDEyMzUzMDlaGA8yMTI2\n" \
    "MTEwNzIzNTMwOVowGDEWMBQGA1UEAwwNaW5nb3QgdGVzdCBDQTBZMBMGByqGSM49\n" \
    "AgEGCCqGSM49AwEHA0IABETHa/wH0+yTJynpQMGDoI1/ZJd5iGTiU/HYaP816jsn\n" \
    "wamSW6WoS4PmwPJtUNt4vljsSDpCWAPpT5bzSXkRcmOjUzBRMB0GA1UdDgQWBBTE\n" \
    "BabjPYqIuRQVDWDVqnIX5v3HeTAfBgNVHSMEGDAWgBTEBabjPYqIuRQVDWDVqnIX\n" \
    "5v3HeTAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0gAMEUCIQC5gRJERRgk\n" \
    "PLPH7FJKIyJVNv1OZBway25s7Kl5mCDW4gIgLn1etmGfqBkkgTfOjSpkSwo/UgNQ\n" \
    "MhPXEJOjqG7sLdM=\n" \
    "-----END CERTIFICATE-----\n"

static int finalize(struct config *c, struct sbuf *errs, bool req)
{
    sbuf_reset(errs);
    return config_finalize(c, req, errs);
}

static void test_durations(void)
{
    long long v = -1;
    test_cond("500ms", config_parse_duration_ms("500ms", &v) == 0 && v == 500);
    test_cond("30s", config_parse_duration_ms("30s", &v) == 0 && v == 30000);
    test_cond("15m", config_parse_duration_ms("15m", &v) == 0 && v == 900000);
    test_cond("2h", config_parse_duration_ms("2h", &v) == 0 && v == 7200000);
    test_cond("7d", config_parse_duration_ms("7d", &v) == 0 && v == 604800000LL);
    test_cond("1h30m", config_parse_duration_ms("1h30m", &v) == 0 && v == 5400000);
    test_cond("1.5s", config_parse_duration_ms("1.5s", &v) == 0 && v == 1500);
    test_cond("0", config_parse_duration_ms("0", &v) == 0 && v == 0);
    test_cond("bare number refused", config_parse_duration_ms("30", &v) < 0);
    test_cond("unknown unit", config_parse_duration_ms("3w", &v) < 0);
    test_cond("empty", config_parse_duration_ms("", &v) < 0);
    test_cond("negative", config_parse_duration_ms("-5s", &v) < 0);
    test_cond("space", config_parse_duration_ms("5 s", &v) < 0);
    test_cond("huge", config_parse_duration_ms("999999999999999d", &v) < 0);
}

static void test_sizes(void)
{
    long long v = -1;
    test_cond("bytes", config_parse_size("1024", &v) == 0 && v == 1024);
    test_cond("1mb", config_parse_size("1mb", &v) == 0 && v == 1048576);
    test_cond("512kb", config_parse_size("512kb", &v) == 0 && v == 524288);
    test_cond("2GiB", config_parse_size("2GiB", &v) == 0 && v == 2147483648LL);
    test_cond("bad unit", config_parse_size("5xb", &v) < 0);
    test_cond("no number", config_parse_size("mb", &v) < 0);
    test_cond("negative", config_parse_size("-1", &v) < 0);
}

static void test_defaults_and_errors(void)
{
    struct config c;
    struct sbuf errs;
    sbuf_init(&errs);
    config_init(&c);
    test_cond("defaults valid without required", finalize(&c, &errs, false) == 0);
    test_cond("default port", c.port == 8080);
    test_cond("default grace", c.shutdown_grace_ms == 30000);
    test_cond("default body", c.http_max_body == 1048576);
    test_cond("required missing counted", finalize(&c, &errs, true) == 1);
    test_cond("names DATABASE_URL", strstr(errs.data, "DATABASE_URL: required") != NULL);

    /* CA_BUNDLE must name a readable file (it used to start fine) */
    config_set_raw(&c, CFG_CA_BUNDLE, "/nonexistent", CFG_SRC_ENV);
    test_cond("CA_BUNDLE=/nonexistent is a problem", finalize(&c, &errs, false) == 1);
    test_cond("  names it and says why",
              strstr(errs.data, "CA_BUNDLE") && strstr(errs.data, "cannot read /nonexistent: No such file or directory"));
    config_set_raw(&c, CFG_CA_BUNDLE, "/tmp", CFG_SRC_ENV);
    test_cond("CA_BUNDLE=/tmp (a directory) is a problem",
              finalize(&c, &errs, false) == 1 && strstr(errs.data, "not a regular file"));
    char ca[] = "/tmp/ingot-ca-XXXXXX";
    int fd = mkstemp(ca);
    config_set_raw(&c, CFG_CA_BUNDLE, ca, CFG_SRC_ENV);
    test_cond("an empty file is a problem (no certificate: every TLS call would fail)",
              fd >= 0 && finalize(&c, &errs, false) == 1 && strstr(errs.data, "holds no PEM certificate"));
    test_cond("  written", fd >= 0 && write(fd, TEST_CA_PEM, strlen(TEST_CA_PEM)) == (ssize_t)strlen(TEST_CA_PEM));
    test_cond("a file with a certificate is fine", finalize(&c, &errs, false) == 0);
    test_cond("  counted", tlsca_count(ca, NULL, 0) == 1);
    if (fd >= 0) {
        close(fd);
        unlink(ca);
    }
    config_set_raw(&c, CFG_CA_BUNDLE, "none", CFG_SRC_ENV);
    test_cond("none is fine (no outbound TLS)", finalize(&c, &errs, false) == 0 && tlsca_file("none") == NULL);
    config_set_raw(&c, CFG_CA_BUNDLE, "", CFG_SRC_ENV);
    test_cond("unset is fine", finalize(&c, &errs, false) == 0);
    test_streq("unset means the explicit default", tlsca_file(""), "/etc/ssl/certs/ca-certificates.crt");
    struct tlsca t;
    char terr[512];
    test_cond("a missing bundle is refused, naming CA_BUNDLE and the way out",
              tlsca_resolve("/nonexistent/ca.pem", &t, terr, sizeof terr) < 0 &&
                  strstr(terr, "CA_BUNDLE: cannot read /nonexistent/ca.pem") && strstr(terr, "none"));
    test_cond("none resolves to no file", tlsca_resolve("none", &t, terr, sizeof terr) == 0 && !t.path);

    config_set_raw(&c, CFG_PORT, "abc", CFG_SRC_ENV);
    test_cond("bad port is a problem", finalize(&c, &errs, false) == 1);
    test_streq("one line naming the variable", errs.data,
               "PORT=\"abc\" (from environment): not a whole number\n");
    config_set_raw(&c, CFG_PORT, "70000", CFG_SRC_ENV);
    finalize(&c, &errs, false);
    test_cond("port range", strstr(errs.data, "out of range 0..65535") != NULL);
    config_set_raw(&c, CFG_PORT, "9090", CFG_SRC_ENV);
    test_cond("port ok", finalize(&c, &errs, false) == 0 && c.port == 9090);
    /* A payload is stored hex-encoded in one statement: 4 MiB at most. */
    config_set_raw(&c, CFG_JOB_MAX_PAYLOAD, "8mb", CFG_SRC_ENV);
    test_cond("JOB_MAX_PAYLOAD over 4 MiB refused", finalize(&c, &errs, false) == 1);
    config_set_raw(&c, CFG_JOB_MAX_PAYLOAD, "4mb", CFG_SRC_ENV);
    test_cond("JOB_MAX_PAYLOAD 4 MiB ok", finalize(&c, &errs, false) == 0 && c.job_max_payload == 4194304);
    config_set_raw(&c, CFG_JOB_MAX_PAYLOAD, "256kb", CFG_SRC_ENV);

    config_set_raw(&c, CFG_JWT_SECRET, "short-secret-value", CFG_SRC_ENV);
    finalize(&c, &errs, false);
    test_cond("short secret refused", strstr(errs.data, "JWT_SECRET (from environment): too short") != NULL);
    test_cond("secret value not echoed", strstr(errs.data, "short-secret-value") == NULL);
    config_set_raw(&c, CFG_JWT_SECRET, "0123456789abcdef0123456789abcdef", CFG_SRC_ENV);

    config_set_raw(&c, CFG_DATABASE_URL, "postgres://u:p@h/db", CFG_SRC_ENV);
    finalize(&c, &errs, true);
    test_cond("db scheme", strstr(errs.data, "scheme must be mysql://") != NULL);
    config_set_raw(&c, CFG_DATABASE_URL, "mysql://u:pw@h/", CFG_SRC_ENV);
    finalize(&c, &errs, true);
    test_cond("db name required", strstr(errs.data, "database name missing") != NULL);
    config_set_raw(&c, CFG_DATABASE_URL, "mysql://u:pw@127.0.0.1:3306/ingot", CFG_SRC_ENV);
    test_cond("db url ok", finalize(&c, &errs, true) == 0);

    config_set_raw(&c, CFG_SHUTDOWN_GRACE, "ten", CFG_SRC_ENV);
    finalize(&c, &errs, true);
    test_cond("duration error names unit", strstr(errs.data, "SHUTDOWN_GRACE=\"ten\"") != NULL);
    config_set_raw(&c, CFG_SHUTDOWN_GRACE, "10s", CFG_SRC_ENV);
    config_set_raw(&c, CFG_LOG_LEVEL, "loud", CFG_SRC_ENV);
    finalize(&c, &errs, true);
    test_cond("enum", strstr(errs.data, "must be one of debug|info|warn|error") != NULL);
    config_set_raw(&c, CFG_LOG_LEVEL, "WARN", CFG_SRC_ENV);
    config_set_raw(&c, CFG_REDIS_URL, "rediss://h:6379", CFG_SRC_ENV);
    finalize(&c, &errs, true);
    test_cond("rediss explained", strstr(errs.data, "TLS") != NULL);
    config_set_raw(&c, CFG_REDIS_URL, "redis://:secretpw@127.0.0.1:6379/2", CFG_SRC_ENV);
    config_set_raw(&c, CFG_TRUSTED_PROXIES, "10.0.0.0/8, ::1,bogus", CFG_SRC_ENV);
    finalize(&c, &errs, true);
    test_cond("cidr list", strstr(errs.data, "'bogus' is not an IP") != NULL);
    config_set_raw(&c, CFG_TRUSTED_PROXIES, "10.0.0.0/8,::1/128", CFG_SRC_ENV);
    config_set_raw(&c, CFG_ENCRYPTION_KEY, "nothex", CFG_SRC_ENV);
    finalize(&c, &errs, true);
    test_cond("key32", strstr(errs.data, "64 hex characters") != NULL);
    config_set_raw(&c, CFG_ENCRYPTION_KEY,
                   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff", CFG_SRC_ENV);
    test_cond("all valid", finalize(&c, &errs, true) == 0);
    test_streq("enum lower-cased", c.log_level, "warn");
    config_deinit(&c);
    sbuf_deinit(&errs);
}

static void test_precedence(void)
{
    char path[] = "/tmp/ingot-test-envXXXXXX";
    int fd = mkstemp(path);
    FILE *f = fdopen(fd, "w");
    fputs("# comment\n"
          "PORT=1111\n"
          "export HOST=127.0.0.2\n"
          "LOG_LEVEL=\"debug\"  # trailing comment\n"
          "RETENTION_DAYS = 9\n"
          "JWT_EXPIRY='2h'\n"
          "BUILT_IN_FORGE_API_URL=http://127.0.0.1:9/v1\n"
          "UNKNOWN_THING=1\n"
          "METRICS_BEARER_TOKEN=abc#def-not-a-comment-123\n",
          f);
    fclose(f);
    struct config c;
    struct sbuf errs;
    sbuf_init(&errs);
    char err[256];
    config_init(&c);
    config_set_raw(&c, CFG_RETENTION_DAYS, "5", CFG_SRC_FLAG);
    test_cond(".env loads", config_load_env_file(&c, path, true, err, sizeof err) == 0);
    char *envp[] = {(char *)"PORT=2222", (char *)"LLM_BASE_URL=", (char *)"OTHER=x", NULL};
    config_load_environ(&c, envp);
    test_cond("valid", finalize(&c, &errs, false) == 0);
    test_cond("env beats .env", c.port == 2222 && c.source[CFG_PORT] == CFG_SRC_ENV);
    test_streq("export form", c.host, "127.0.0.2");
    test_streq("quoted value", c.log_level, "debug");
    test_cond("flag beats .env", c.retention_days == 5);
    test_cond("single quotes", c.jwt_expiry_ms == 7200000);
    test_streq("alias used", c.llm_base_url, "http://127.0.0.1:9/v1");
    test_cond("alias recorded", c.alias_used[CFG_LLM_BASE_URL]);
    test_streq("# inside value kept", c.metrics_bearer_token, "abc#def-not-a-comment-123");
    test_cond("unknown key warned", strstr(c.warnings.data, "UNKNOWN_THING") != NULL);
    /* the canonical name wins over the alias */
    char *envp2[] = {(char *)"LLM_BASE_URL=https://127.0.0.1:8/v1", NULL};
    config_load_environ(&c, envp2);
    test_cond("valid 2", finalize(&c, &errs, false) == 0);
    test_streq("canonical wins", c.llm_base_url, "https://127.0.0.1:8/v1");
    test_cond("alias not used", !c.alias_used[CFG_LLM_BASE_URL]);
    /* credentials in the base URL are refused, without echoing them */
    char *envp3[] = {(char *)"LLM_BASE_URL=https://u:hunter2@127.0.0.1:8/v1", NULL};
    config_load_environ(&c, envp3);
    sbuf_reset(&errs);
    test_cond("credentials in LLM_BASE_URL refused", finalize(&c, &errs, false) != 0);
    test_cond("  pointing to LLM_API_KEY", strstr(errs.data, "put the key in LLM_API_KEY") != NULL);
    test_cond("  not echoing the password", strstr(errs.data, "hunter2") == NULL);
    config_deinit(&c);

    config_init(&c);
    test_cond("missing optional file ok",
              config_load_env_file(&c, "/nonexistent/.env", false, err, sizeof err) == 0);
    test_cond("missing required file", config_load_env_file(&c, "/nonexistent/.env", true, err, sizeof err) < 0);
    f = fopen(path, "w");
    fputs("PORT=1\nthis line is wrong\n", f);
    fclose(f);
    test_cond("malformed line", config_load_env_file(&c, path, true, err, sizeof err) < 0);
    test_cond("names line number", strstr(err, ":2: expected NAME=VALUE") != NULL);
    f = fopen(path, "w");
    fputs("HOST=\"unterminated\n", f);
    fclose(f);
    test_cond("unterminated quote", config_load_env_file(&c, path, true, err, sizeof err) < 0);
    config_deinit(&c);
    unlink(path);
    sbuf_deinit(&errs);
}

static void test_flags(void)
{
    test_cond("flag lookup", config_find_flag("database-url") == CFG_DATABASE_URL);
    test_cond("flag lookup 2", config_find_flag("queue-limiter-duration-ms") == CFG_QUEUE_LIMITER_DURATION_MS);
    test_cond("no partial", config_find_flag("database") < 0);
    test_cond("no underscores", config_find_flag("database_url") < 0);
}

static void test_write_env(void)
{
    struct config c;
    config_init(&c);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    test_cond("example written", config_write_env(&c, f, false) == 0);
    fclose(f);
    test_cond("lists PORT default", strstr(buf, "\nPORT=8080\n") != NULL);
    test_cond("secret empty in example", strstr(buf, "\nJWT_SECRET=\n") != NULL);
    free(buf);
    config_set_raw(&c, CFG_PORT, "9999", CFG_SRC_FLAG);
    f = open_memstream(&buf, &len);
    test_cond("generated written", config_write_env(&c, f, true) == 0);
    fclose(f);
    test_cond("flag value kept", strstr(buf, "\nPORT=9999\n") != NULL);
    const char *p = strstr(buf, "\nJWT_SECRET=");
    test_cond("secret generated", p && strlen(p) > 12 + 64 && p[12] != '\n');
    const char *k = strstr(buf, "\nENCRYPTION_KEY=");
    test_cond("key is 64 hex", k && k[16 + 64] == '\n');
    free(buf);
    config_deinit(&c);
}

/* ENCRYPTION_KEY: 64 hex characters or base64 of exactly 32 bytes. */
static void test_key32(void)
{
    unsigned char k[32];
    const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    test_cond("hex key", config_key32_decode(hex, k) == 0 && k[0] == 0 && k[31] == 0x1f);
    /* the same bytes as `openssl rand -base64 32` would print them */
    const char *b64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    unsigned char k2[32];
    test_cond("base64 key", config_key32_decode(b64, k2) == 0 && memcmp(k, k2, 32) == 0);
    test_cond("base64 without padding",
              config_key32_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8", k2) == 0);
    test_cond("base64 of 31 bytes refused",
              config_key32_decode("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==", k2) < 0);
    test_cond("bad hex refused",
              config_key32_decode("zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", k2) < 0);
    test_cond("short refused", config_key32_decode("abc", k2) < 0);

    struct config c;
    struct sbuf errs;
    config_init(&c);
    sbuf_init(&errs);
    config_set_raw(&c, CFG_ENCRYPTION_KEY, b64, CFG_SRC_ENV);
    test_cond("base64 ENCRYPTION_KEY accepted", finalize(&c, &errs, false) == 0);
    config_set_raw(&c, CFG_ENCRYPTION_KEY, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", CFG_SRC_ENV);
    test_cond("all-zero key refused", finalize(&c, &errs, false) == 1 &&
                                          strstr(errs.data, "ENCRYPTION_KEY") != NULL);
    config_set_raw(&c, CFG_ENCRYPTION_KEY, "not-a-key", CFG_SRC_ENV);
    test_cond("error names both forms", finalize(&c, &errs, false) == 1 &&
                                            strstr(errs.data, "hex") && strstr(errs.data, "base64"));
    test_cond("queue limiter unlimited by default", c.queue_limiter_max == 0);
    /* HTTP_TARGET_ALLOW is checked by the SSRF guard's own parser at start
     * of every role, not only when a worker builds the guard. */
    config_set_raw(&c, CFG_ENCRYPTION_KEY, b64, CFG_SRC_ENV);
    config_set_raw(&c, CFG_HTTP_TARGET_ALLOW, "127.0.0.0/8,api.example", CFG_SRC_ENV);
    test_cond("allow list of CIDR and name", finalize(&c, &errs, false) == 0);
    config_set_raw(&c, CFG_HTTP_TARGET_ALLOW, "10.0.0.0/33", CFG_SRC_ENV);
    test_cond("bad CIDR refused at start", finalize(&c, &errs, false) == 1 &&
                                               strstr(errs.data, "HTTP_TARGET_ALLOW") != NULL);
    config_set_raw(&c, CFG_HTTP_TARGET_ALLOW, "0x7f.1", CFG_SRC_ENV);
    test_cond("name curl would rewrite refused at start", finalize(&c, &errs, false) == 1);
    sbuf_deinit(&errs);
    config_deinit(&c);
}

/* doctor's findings: placeholders, weak secrets, misspelt .env keys. */
static void test_lint(void)
{
    char why[256];
    test_cond("placeholder", config_lint_secret(CFG_JWT_SECRET, "CHANGE-ME-32-characters-or-more-xxxxxxxx", why, sizeof why));
    test_cond("placeholder named, value not echoed", strstr(why, "JWT_SECRET holds a placeholder") && !strstr(why, "32-characters"));
    test_cond("changeme any case", config_lint_secret(CFG_SIGNING_KEY, "ChangeMe0123456789abcdefghijklmnopqrst", why, sizeof why));
    test_cond("placeholder in a URL password", config_lint_secret(CFG_DATABASE_URL, "mysql://ingot:CHANGE-ME@mariadb:3306/ingot", why, sizeof why));
    test_cond("docs' example URL", config_lint_secret(CFG_DATABASE_URL, "mysql://ingot:PASSWORD@mariadb.db:3306/ingot", why, sizeof why));
    test_cond("a real password containing 'password' in lower case is not the docs' example", !config_lint_secret(CFG_DATABASE_URL, "mysql://ingot:mypassword9f8e@db:3306/ingot", why, sizeof why));
    test_cond("all-zero key", config_lint_secret(CFG_ENCRYPTION_KEY, "0000000000000000000000000000000000000000000000000000000000000000", why, sizeof why));
    test_cond("says entropy", strstr(why, "bits of entropy") != NULL);
    test_cond("one repeated pair", config_lint_secret(CFG_API_KEY_HASH_SECRET, "abababababababababababababababababab", why, sizeof why));
    test_cond("random hex fine", !config_lint_secret(CFG_JWT_SECRET, "3f9c1e7a5b2d8f04c6e19a7b3d5f2e8c1a4b7d9e0f2c5a8b3e6d1f4a7c9b2e5d", why, sizeof why));
    test_cond("openssl base64 fine", !config_lint_secret(CFG_ENCRYPTION_KEY, "q8Zt1yW3nK5vR7xB9dF2hJ4lN6pS8uA0cE1gI3kM5oQ=", why, sizeof why));
    test_cond("test secret fine", !config_lint_secret(CFG_JWT_SECRET, "test-jwt-secret-0123456789abcdef0123456789", why, sizeof why));
    test_cond("provider key: no entropy rule", !config_lint_secret(CFG_LLM_API_KEY, "test-key", why, sizeof why));
    test_cond("not a secret: ignored", !config_lint_secret(CFG_HOST, "changeme", why, sizeof why));
    test_cond("empty: ignored (missing is another check)", !config_lint_secret(CFG_JWT_SECRET, "", why, sizeof why));
    test_cond("entropy of one char is 0", config_lint_entropy_bits("aaaaaaaa") < 0.001);
    double b = config_lint_entropy_bits("0123456789abcdef");
    test_cond("16 distinct chars: 64 bits", b > 63.9 && b < 64.1);
    test_streq("PROT -> PORT", config_lint_closest("PROT"), "PORT");
    test_streq("DATABSE_URL -> DATABASE_URL", config_lint_closest("DATABSE_URL"), "DATABASE_URL");
    test_streq("lower case too", config_lint_closest("log_level"), "LOG_LEVEL");
    test_streq("INGOT_ prefix", config_lint_closest("INGOT_PORT"), "PORT");
    test_streq("alias", config_lint_closest("BUILT_IN_FORGE_API_KE"), "BUILT_IN_FORGE_API_KEY");
    test_cond("nothing close", config_lint_closest("EDITOR") == NULL);
    test_cond("compose-only keys known", config_lint_deploy_only("MARIADB_ROOT_PASSWORD") && !config_lint_deploy_only("PROT"));

    struct config c;
    config_init(&c);
    char err[256];
    char text[] = "PROT=9999\nMARIADB_PASSWORD=x\nEDITOR=vi\n";
    FILE *f = fmemopen(text, strlen(text), "r");
    test_cond("env with unknown keys loads", config_load_env_stream(&c, f, "t.env", err, sizeof err) == 0);
    fclose(f);
    test_cond("misspelt key: closest setting named", strstr(c.warnings.data, ".env: unknown setting PROT ignored (did you mean PORT?)\n") != NULL);
    test_cond("unrelated key: plain warning", strstr(c.warnings.data, ".env: unknown setting EDITOR ignored\n") != NULL);
    test_cond("compose-only key: no warning", strstr(c.warnings.data, "MARIADB") == NULL);
    config_deinit(&c);
}

int main(void)
{
    test_lint();
    test_key32();
    test_durations();
    test_sizes();
    test_defaults_and_errors();
    test_precedence();
    test_flags();
    test_write_env();
    test_report();
}
