#include <string.h>

#include "cmd.h"

/* Only commands that work are listed. */
const struct cmd_def cmd_table[] = {
    {"serve", "HTTP API: jobs, health and metrics", cmd_serve,
     "usage: ingot serve [flags]\n\n"
     "Runs the HTTP API. Refuses to start when the database schema is older\n"
     "than this binary needs (run `ingot migrate`). SIGTERM/SIGINT drain:\n"
     "stop accepting, finish in-flight requests within SHUTDOWN_GRACE, exit 0.\n"
     "Exit: 0 after a drain, 71 cannot listen on HOST:PORT, 78 bad configuration\n"
     "or a schema older than this binary (the same for work, schedule, run).\n\n"
     "Endpoints: GET /  /health  /health/live  /health/ready  /metrics, and /v1\n"
     "(jobs, queues, schedules; Authorization: Bearer <key from\n"
     "`ingot admin key create`>).\n"},
    {"work", "claim and execute jobs (HTTP requests and LLM calls)", cmd_work,
     "usage: ingot work [flags]\n\n"
     "Claims due jobs in batches under a lease (SELECT ... SKIP LOCKED), runs up to\n"
     "QUEUE_WORKER_CONCURRENCY at once, records every attempt and the outcome.\n"
     "http jobs: 2xx succeeds; network errors, timeouts, 408, 429 and 5xx retry\n"
     "with exponential backoff (Retry-After honoured); other statuses fail.\n"
     "llm.chat and llm.embed jobs call the model's provider (see `ingot admin\n"
     "--help`); 408, 409, 429, 5xx and network errors retry, honouring the\n"
     "provider's retry-after and rate-limit resets; a job over a limit waits\n"
     "without spending an attempt.\n"
     "Requests are signed (Ingot-Signature) and refused for private, loopback,\n"
     "link-local and metadata addresses unless HTTP_TARGET_ALLOW lists them.\n"
     "SIGTERM: stop claiming, finish in-flight jobs within SHUTDOWN_GRACE, hand\n"
     "the rest back (attempt not counted), exit 0.\n"},
    {"schedule", "fire cron schedules and run maintenance (one leads)", cmd_schedule,
     "usage: ingot schedule [flags]\n\n"
     "Any number may run; one leads at a time (the holder of the database lock\n"
     "ingot.scheduler.<MD5 of the database name>, on a connection of its own); a\n"
     "standby takes over within seconds when the leader dies or loses its\n"
     "connection. The leader fires due\n"
     "cron ticks (each exactly once: the tick's row commits with its job; after\n"
     "downtime only the most recent missed tick fires) and runs maintenance:\n"
     "purges finished jobs and ticks older than RETENTION_DAYS, clears\n"
     "idempotency keys older than 24 h, recovers expired leases, purges files\n"
     "that expired (expires_after), were deleted, or whose upload stalled a day.\n"
     "GET /health shows \"scheduler\":{\"leader\":...}; metric ingot_scheduler_leader.\n"},
    {"run", "every role in one process (single node, development)", cmd_run,
     "usage: ingot run [flags]\n\n"
     "Runs every role in one process: the HTTP API (serve), a worker (work) and\n"
     "the scheduler (schedule).\n"},
    {"migrate", "apply database migrations (up) or list them (status)", cmd_migrate,
     "usage: ingot migrate [up|status] [flags]\n\n"
     "up (default): applies the embedded migrations that are missing, in order,\n"
     "  under a database lock (concurrent runs are safe); a no-op when current.\n"
     "  Refuses to run when an applied migration's checksum has changed.\n"
     "status: lists every migration as applied, pending or CHANGED.\n\n"
     "Exit: 0 done, 65 a migration failed or changed, 69 database unreachable,\n"
     "78 bad configuration (see `ingot help`).\n"},
    {"doctor", "check configuration, MariaDB, Redis, LLM provider, runtime files", cmd_doctor,
     "usage: ingot doctor [--json] [--live URL] [flags]\n\n"
     "Checks the configuration and every dependency; prints one line per check\n"
     "(ok, warn or fail) with a hint, then a verdict. Fails on malformed URLs,\n"
     "placeholder (CHANGE-ME) or low-entropy secrets; warns about keys in the\n"
     ".env file that are not settings, naming the closest one. Also reports the\n"
     "build (static or dynamic, allocator), the CA bundle (CA_BUNDLE), zoneinfo\n"
     "(ZONEINFO_DIR) and name resolution (resolv.conf, hosts, or the fallback).\n"
     "  --json      one JSON document instead of lines\n"
     "  --live URL  only probe URL (e.g. http://127.0.0.1:8080/health/live):\n"
     "              exit 0 when it answers 200 (container health checks)\n"
     "Exit: 0 nothing failed (warnings allowed), 1 a check failed or --live did\n"
     "not answer 200, 64 bad flags.\n"},
    {"admin", "tenants, API keys, LLM providers, routes, limits and usage", cmd_admin,
     "usage: ingot admin tenant create NAME\n"
     "       ingot admin tenant list\n"
     "       ingot admin key create --tenant NAME [--name LABEL]\n"
     "       ingot admin key list [--tenant NAME]\n"
     "       ingot admin key revoke PREFIX|KEY\n"
     "       ingot admin provider add NAME --type openai|openai-chat|anthropic --base-url URL [--api-key-stdin] [--replace]\n"
     "       ingot admin provider list\n"
     "       ingot admin provider remove NAME [--force]\n"
     "       ingot admin model route MODEL PROVIDER [--upstream-model NAME]\n"
     "       ingot admin model route remove MODEL\n"
     "       ingot admin model routes\n"
     "       ingot admin tenant provider-key set TENANT PROVIDER   (the key on stdin)\n"
     "       ingot admin tenant provider-key remove TENANT PROVIDER\n"
     "       ingot admin tenant provider-key list [TENANT]\n"
     "       ingot admin rotate-encryption-key\n"
     "       ingot admin tenant limits TENANT [--key PREFIX|KEY] [--rpm N] [--tpm N]\n"
     "           [--tokens-per-day N] [--tokens-per-month N] [--usd-per-month X]\n"
     "       ingot admin tenant cache TENANT [on [--ttl DURATION]|off]\n"
     "       ingot admin tenant member add|remove TENANT SUBJECT\n"
     "       ingot admin tenant member list TENANT\n"
     "       ingot admin webhook add TENANT URL [--events all|TYPE,TYPE] [--name NAME]\n"
     "       ingot admin webhook list TENANT\n"
     "       ingot admin webhook remove|enable|disable TENANT ID\n"
     "       ingot admin webhook test TENANT ID [--event TYPE]\n"
     "       ingot admin webhook emit TENANT TYPE [--data JSON]\n"
     "       ingot admin model price MODEL --input-per-mtok X --output-per-mtok Y\n"
     "       ingot admin model prices\n"
     "       ingot admin usage [--tenant NAME] [--from DATE] [--to DATE]\n"
     "           [--group-by model|day|key]\n\n"
     "Works directly against the database. `key create` prints the key alone on\n"
     "stdout (shown once; stored as HMAC-SHA256(API_KEY_HASH_SECRET, key)), the\n"
     "details on stderr. A revoked key stops working within 30 s; revoking one\n"
     "twice is not an error. A prefix shared by two active keys is refused: pass\n"
     "the whole key.\n\n"
     "LLM providers: the default one is LLM_BASE_URL (or BUILT_IN_FORGE_API_URL);\n"
     "named ones (1-64 of A-Z a-z 0-9 . _ -; \"default\" is reserved) get models\n"
     "routed to them, and a model sent as PROVIDER/MODEL goes to PROVIDER. API keys\n"
     "are read from stdin (never the command line) and stored sealed with\n"
     "AES-256-GCM under ENCRYPTION_KEY; they are never printed (`provider list`\n"
     "shows whether there is one and its key id). A tenant's own key for a\n"
     "provider replaces the provider's for that tenant. `provider remove`\n"
     "refuses while routes or tenant keys use the provider (--force removes them\n"
     "too). `provider add --replace` sets type, URL and key anew (without\n"
     "--api-key-stdin: no key). Running processes see changes within 5 s. To rotate: set\n"
     "ENCRYPTION_KEY to the new key and ENCRYPTION_KEY_PREVIOUS to the old one,\n"
     "run `rotate-encryption-key` (re-seals every key in one transaction; a key\n"
     "that opens under neither stops it and changes nothing), then drop\n"
     "ENCRYPTION_KEY_PREVIOUS.\n\n"
     "LLM limits: `tenant limits` sets requests and tokens per minute and token\n"
     "and USD budgets (UTC day and month) of a tenant, or of one of its keys with\n"
     "--key (its prefix or the whole key); each limit is at least 1, `none`\n"
     "clears one; without flags it prints them. Prices are USD per\n"
     "million tokens of the model name clients send. `usage` sums the usage\n"
     "ledger (DATE: YYYY-MM-DD or RFC 3339; default this month; at most 366 days).\n"
     "`tenant cache TENANT on` makes the tenant's deterministic LLM requests\n"
     "(temperature 0 or a seed; embeddings) use the response cache without an\n"
     "Ingot-Cache header, answers kept --ttl (default CACHE_TTL); `off` stops it;\n"
     "without on/off it prints the setting.\n\n"
     "Login: `tenant member add TENANT SUBJECT` lets the OIDC subject SUBJECT\n"
     "(the ID token's sub) see TENANT through a login session; OWNER_OPEN_ID\n"
     "sees every tenant. `remove` takes effect at the subject's next request.\n\n"
     "Webhooks: `webhook add` creates an endpoint receiving the events of\n"
     "--events (default all: batch.completed, batch.failed, batch.expired,\n"
     "batch.cancelled, response.completed, response.failed, response.cancelled)\n"
     "and prints its signing secret (whsec_...) alone on stdout, once; it is\n"
     "stored sealed under ENCRYPTION_KEY. `webhook test` queues a sample event\n"
     "for one endpoint (--event, default batch.completed) and prints its\n"
     "delivery job's id. `webhook emit` announces an event (data: --data, a\n"
     "JSON object such as {\"id\":\"batch_abc\"}) to every enabled endpoint of\n"
     "the tenant subscribed to TYPE, as a batch or a background response ending\n"
     "does, and prints how many deliveries it queued. Deliveries are jobs of\n"
     "kind webhook in the tenant's queue webhooks.\n\n"
     "Exit: 0 done, 64 bad arguments, 65 no such tenant or key (or the tenant\n"
     "exists already), 69 database unreachable, 78 bad configuration or a\n"
     "database that `ingot migrate` has not prepared.\n"},
    {"init", "write a .env with fresh secrets", cmd_init,
     "usage: ingot init [--output PATH] [--force] [--compose] [flags]\n"
     "       ingot init --example\n"
     "       ingot init --k8s-secret [--env-file PATH] [flags]\n\n"
     "Writes PATH (default .env, mode 0600) listing every setting with its\n"
     "default; secrets get fresh random values. Settings given as flags are\n"
     "written as given. Refuses to overwrite an existing file without --force.\n"
     "  --compose     also write what deploy/docker-compose.yml needs: the\n"
     "                MariaDB passwords (MARIADB_PASSWORD, MARIADB_ROOT_PASSWORD)\n"
     "                and a METRICS_BEARER_TOKEN\n"
     "  --example     print the documented defaults (.env.example) to stdout\n"
     "  --k8s-secret  print a Kubernetes Secret (ingot-secrets) holding only the\n"
     "                secret settings, read from .env, the environment and flags;\n"
     "                refuses placeholders, weak or invalid values\n"
     "Exit: 0 written, 64 bad flags, 73 PATH exists or cannot be created,\n"
     "74 write error, 78 a bad setting value.\n"},
    {"version", "print the version", cmd_version,
     "usage: ingot version\n\nPrints the version, schema version and library versions.\n"},
    {"help", "help on a command", cmd_help,
     "usage: ingot help [COMMAND]\n\n"
     "Without COMMAND: the list of commands and the exit codes. With one: its\n"
     "usage, the same as `ingot COMMAND --help`.\n"},
    {NULL, NULL, NULL, NULL},
};

const struct cmd_def *cmd_find(const char *name)
{
    for (const struct cmd_def *d = cmd_table; d->name; d++)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

void cmd_print_usage(FILE *f)
{
    fprintf(f, "usage: ingot COMMAND [flags]\n\n"
               "ingot runs background jobs: an HTTP API, workers and a scheduler in one\n"
               "binary, MariaDB as the truth, Redis as the accelerator.\n\n"
               "Commands:\n");
    for (const struct cmd_def *d = cmd_table; d->name; d++)
        fprintf(f, "  %-9s %s\n", d->name, d->summary);
    fprintf(f, "\n`ingot help COMMAND` or `ingot COMMAND --help` for details.\n\n"
               "Exit codes (sysexits.h), the same for every command:\n"
               "  0   done\n"
               "  1   doctor: a check failed\n"
               "  64  bad command line (unknown flag, missing or extra argument)\n"
               "  65  refused by the data: no such tenant or key, exists already,\n"
               "      a changed migration\n"
               "  69  database unreachable\n"
               "  70  internal error\n"
               "  71  cannot listen on HOST:PORT\n"
               "  73  cannot create the output file (init)\n"
               "  74  cannot write the output file (init)\n"
               "  78  bad configuration, or a schema older than this binary\n"
               "      (run `ingot migrate`)\n");
}

int cmd_help(int argc, char **argv)
{
    if (argc < 2) {
        cmd_print_usage(stdout);
        return EXIT_OK;
    }
    /* `ingot help --help` and `ingot help help` both describe help. */
    const char *name = strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ? "help" : argv[1];
    const struct cmd_def *d = cmd_find(name);
    if (!d || argc > 2) {
        fprintf(stderr, "ingot help: %s %s\n", d ? "unexpected argument" : "unknown command",
                d ? argv[2] : argv[1]);
        cmd_print_usage(stderr);
        return EXIT_USAGE;
    }
    cmd_print_help(d, stdout);
    return EXIT_OK;
}
