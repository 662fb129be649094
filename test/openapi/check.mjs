// Checks ingot's /openapi.json (test/integration/test_openapi.sh runs it):
// the document is valid OpenAPI 3.1 (a real validator); its operations are
// exactly the routes the binary registers (from the source and from the
// running server's /metrics); and real answers, good and bad, of every
// route family match the schema the document declares for their status.
// Prints "ok ..." / "FAIL ..." lines that the shell test counts.
// env: INGOT_URL (every role, a default LLM provider), INGOT_NOLLM_URL
// (serve with no provider), INGOT_KEY, TARGET_URL (the fake target), INGOT_ROOT.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { connect } from "node:net";
import { Validator } from "@seriousme/openapi-schema-validator";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const U = process.env.INGOT_URL, U0 = process.env.INGOT_NOLLM_URL, K = process.env.INGOT_KEY;
const T = process.env.TARGET_URL, ROOT = process.env.INGOT_ROOT;
let fails = 0;
const ok = (m) => console.log(`ok   ${m}`);
const bad = (m, extra) => { fails++; console.log(`FAIL ${m}`); if (extra) console.log("  " + String(extra).slice(0, 1500)); };
const check = (m, cond, extra) => (cond ? ok(m) : bad(m, extra));

// ---- the document ----
const r0 = await fetch(`${U}/openapi.json`);
const text = await r0.text();
check("GET /openapi.json: 200 without an API key", r0.status === 200, r0.status);
check("content type application/json", r0.headers.get("content-type") === "application/json", r0.headers.get("content-type"));
const etag = r0.headers.get("etag");
check("ETag is a quoted tag", /^"[0-9a-f]{16}"$/.test(etag || ""), etag);
check("Cache-Control: no-cache", r0.headers.get("cache-control") === "no-cache", r0.headers.get("cache-control"));
const doc = JSON.parse(text);
const r304 = await fetch(`${U}/openapi.json`, { headers: { "If-None-Match": etag } });
check("If-None-Match with the ETag: 304, no body", r304.status === 304 && (await r304.text()) === "", r304.status);
// On the wire: the 304 is a head alone (Content-Length the 200's), and the
// next answer on the connection follows it at once.
const wire = await new Promise((resolve, reject) => {
  const u = new URL(U);
  const sock = connect(Number(u.port), u.hostname);
  let got = "";
  sock.on("data", (d) => (got += d.toString("latin1")));
  sock.on("end", () => resolve(got));
  sock.on("error", reject);
  sock.write(`GET /openapi.json HTTP/1.1\r\nHost: x\r\nIf-None-Match: ${etag}\r\n\r\n` +
             `GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
});
const cut = wire.indexOf("\r\n\r\n") + 4;
check("304 on the wire: a head alone, Content-Length the 200's, then the next answer",
      wire.startsWith("HTTP/1.1 304 ") && new RegExp(`\r\ncontent-length: ${Buffer.byteLength(text)}\r\n`, "i").test(wire.slice(0, cut)) &&
      wire.slice(cut).startsWith("HTTP/1.1 200 "), wire.slice(0, 600));
const rOther = await fetch(`${U}/openapi.json`, { headers: { "If-None-Match": '"0000000000000000"' } });
check("If-None-Match with another tag: 200", rOther.status === 200 && (await rOther.text()) === text, rOther.status);
const head = await fetch(`${U}/openapi.json`, { method: "HEAD" });
check("HEAD: the 200's Content-Length", head.status === 200 && head.headers.get("content-length") === String(Buffer.byteLength(text)),
      head.headers.get("content-length"));
const same = readFileSync(join(ROOT, "docs/openapi.json"), "utf8");
check("served document is docs/openapi.json (compiled in)", JSON.stringify(JSON.parse(same)) === JSON.stringify(doc));

const v = new Validator();
const res = await v.validate(structuredClone(doc));
check(`valid OpenAPI (validator says version ${v.version})`, res.valid && v.version === "3.1", JSON.stringify(res.errors));

// ---- completeness, both ways ----
const METHODS = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];
const documented = new Set();
for (const [p, item] of Object.entries(doc.paths))
  for (const m of METHODS) if (item[m]) documented.add(`${m.toUpperCase()} ${p}`);
// httpd_route[_stream](h, HTTP_M_GET | HTTP_M_POST, "/pattern", ...) in the sources
const registered = new Set();
for (const dir of ["core", "modes", "cmd"]) {
  for (const f of readdirSync(join(ROOT, dir)).filter((n) => n.endsWith(".c"))) {
    const src = readFileSync(join(ROOT, dir, f), "utf8");
    for (const m of src.matchAll(/httpd_route(?:_stream)?\(\s*[^,]+,\s*((?:HTTP_M_[A-Z]+\s*\|?\s*)+),\s*"([^"]+)"/g))
      for (const bit of m[1].split("|").map((s) => s.trim()).filter(Boolean))
        registered.add(`${bit.replace("HTTP_M_", "")} ${m[2]}`);
  }
}
check(`the sources register routes (${registered.size})`, registered.size > 20);
const undocumented = [...registered].filter((x) => !documented.has(x));
const unregistered = [...documented].filter((x) => !registered.has(x));
check("every registered route is documented", undocumented.length === 0, undocumented.join(", "));
check("every documented operation is registered", unregistered.length === 0, unregistered.join(", "));
// the running server's own list: a latency series per registered route
const metrics = await (await fetch(`${U}/metrics`)).text();
const live = new Set([...metrics.matchAll(/^ingot_http_request_duration_seconds_count\{route="([^"]*)"\}/gm)].map((m) => m[1]).filter((p) => p.startsWith("/")));
const srcPatterns = new Set([...registered].map((x) => x.split(" ")[1]));
const docPaths = new Set(Object.keys(doc.paths));
check(`the server's routes (${live.size}, from /metrics) are the sources' (${srcPatterns.size})`,
      live.size === srcPatterns.size && [...live].every((p) => srcPatterns.has(p)),
      `server only: ${[...live].filter((p) => !srcPatterns.has(p))}; sources only: ${[...srcPatterns].filter((p) => !live.has(p))}`);
check("the server's routes are the document's paths",
      live.size === docPaths.size && [...live].every((p) => docPaths.has(p)),
      `server only: ${[...live].filter((p) => !docPaths.has(p))}; document only: ${[...docPaths].filter((p) => !live.has(p))}`);

// ---- real answers against the declared schemas ----
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ ...doc, $id: "urn:ingot:openapi" });
const ptr = (s) => s.replace(/~/g, "~0").replace(/\//g, "~1");
const deref = (o) => {
  while (o && o.$ref) o = o.$ref.slice(2).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~")).reduce((a, k) => a[k], doc);
  return o;
};
const validators = new Map();
const seen = new Set(); // "METHOD /template status"
// match a concrete path to a documented template (fixed segments first)
function template(path) {
  const segs = path.split("?")[0].split("/");
  let best = null, bestScore = -1;
  for (const p of Object.keys(doc.paths)) {
    const ts = p.split("/");
    if (ts.length !== segs.length) continue;
    let score = 0, okm = true;
    for (let i = 0; i < ts.length && okm; i++) {
      if (ts[i].startsWith("{")) okm = segs[i].length > 0;
      else if (ts[i] === segs[i]) score++;
      else okm = false;
    }
    if (okm && score > bestScore) { best = p; bestScore = score; }
  }
  return best;
}
// call: one request, its status checked, its body checked against the
// schema the document gives for (template, method, status).
// server: an answer of the HTTP server itself (no route, wrong method),
// which the document describes once, as Error.
async function call(name, method, path, { body, headers = {}, auth = true, base = U, want, server = false, redirect = "follow" } = {}) {
  const h = { ...headers };
  if (auth) h.Authorization = `Bearer ${K}`;
  const form = body instanceof FormData; // multipart: fetch writes the Content-Type with its boundary
  if (body !== undefined && !form) h["Content-Type"] = "application/json";
  const r = await fetch(base + path, { method, headers: h, redirect, body: body === undefined ? undefined : typeof body === "string" || form ? body : JSON.stringify(body) });
  const raw = await r.text();
  if (server) {
    const fn = ajv.getSchema("urn:ingot:openapi#/components/schemas/Error") || ajv.compile({ $ref: "urn:ingot:openapi#/components/schemas/Error" });
    check(`${name}: ${r.status} (want ${want}) matches Error`, r.status === want && fn(JSON.parse(raw)), raw);
    return { status: r.status, raw };
  }
  const tpl = template(path);
  const m = method.toLowerCase();
  const opn = tpl && doc.paths[tpl][m];
  if (want !== undefined && r.status !== want) { bad(`${name}: status ${r.status}, want ${want}`, raw); return { status: r.status, raw }; }
  if (!opn) { bad(`${name}: ${method} ${path} has no operation in the document`); return { status: r.status, raw }; }
  const key = String(r.status) in opn.responses ? String(r.status) : "default";
  const resp = deref(opn.responses[key]);
  if (!resp) { bad(`${name}: status ${r.status} is not documented for ${method} ${tpl}`, raw); return { status: r.status, raw }; }
  seen.add(`${method} ${tpl} ${r.status}`);
  if (!r.headers.get("x-request-id")) bad(`${name}: no X-Request-Id`);
  const ct = (r.headers.get("content-type") || "").split(";")[0];
  const media = Object.keys(resp.content || {}).find((k) => k.split(";")[0] === ct);
  if (!media) { bad(`${name}: content type ${ct} not documented for ${method} ${tpl} ${key}`); return { status: r.status, raw }; }
  let json = null;
  if (ct === "application/json") {
    try { json = JSON.parse(raw); } catch (e) { bad(`${name}: not JSON`, raw); return { status: r.status, raw }; }
    const where = opn.responses[key].$ref
      ? `${opn.responses[key].$ref.slice(1)}/content/${ptr(media)}/schema`
      : `/paths/${ptr(tpl)}/${m}/responses/${key}/content/${ptr(media)}/schema`;
    let fn = validators.get(where);
    if (!fn) { fn = ajv.compile({ $ref: `urn:ingot:openapi#${where}` }); validators.set(where, fn); }
    if (fn(json)) ok(`${name}: ${r.status} matches ${method} ${tpl} ${key}`);
    else bad(`${name}: ${r.status} does not match ${method} ${tpl} ${key}`, JSON.stringify(fn.errors) + "\n  " + raw);
  } else {
    ok(`${name}: ${r.status} ${ct} as documented for ${method} ${tpl}`);
  }
  return { status: r.status, json, raw, headers: r.headers };
}
const sleep = (ms) => new Promise((s) => setTimeout(s, ms));
async function until(fn, ms = 10000) {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(100)) { const v = await fn(); if (v) return v; }
  return null;
}

// operations
await call("root", "GET", "/", { auth: false, want: 200 });
await call("live", "GET", "/health/live", { auth: false, want: 200 });
await call("ready", "GET", "/health/ready", { auth: false, want: 200 });
const hl = await call("health", "GET", "/health", { auth: false });
check("health: the scheduler's part is there (ingot run)", hl.json && hl.json.scheduler && typeof hl.json.scheduler.leader === "boolean", hl.raw);
await call("metrics", "GET", "/metrics", { auth: false, want: 200 });
await call("openapi", "GET", "/openapi.json", { auth: false, want: 200 });
await call("no route", "GET", "/v2/nothing", { want: 404, server: true });

// jobs
const job = { kind: "http", queue: "oa", payload: { url: `${T}/ok`, method: "POST", body: { a: 1 } }, metadata: { m: 1 }, group: "g1" };
const c1 = await call("create job", "POST", "/v1/jobs", { body: job, want: 202 });
const id = c1.json && c1.json.id;
await call("create job with Idempotency-Key", "POST", "/v1/jobs", { body: job, headers: { "Idempotency-Key": "oa-1" }, want: 202 });
const rep = await call("same key again: replayed", "POST", "/v1/jobs", { body: job, headers: { "Idempotency-Key": "oa-1" }, want: 200 });
check("replay says Idempotent-Replayed: true", rep.headers && rep.headers.get("idempotent-replayed") === "true");
await call("same key, another job", "POST", "/v1/jobs", { body: { ...job, priority: 3 }, headers: { "Idempotency-Key": "oa-1" }, want: 422 });
await call("create job: no kind", "POST", "/v1/jobs", { body: { payload: { url: `${T}/ok` } }, want: 400 });
await call("create job: unknown field", "POST", "/v1/jobs", { body: { ...job, colour: 1 }, want: 400 });
await call("create job: not JSON", "POST", "/v1/jobs", { body: "{", want: 400 });
await call("create job: backoff max below base", "POST", "/v1/jobs", { body: { ...job, backoff: { base_ms: 5000, max_ms: 100 } }, want: 422 });
await call("create job: no key", "POST", "/v1/jobs", { body: job, auth: false, want: 401 });
await call("create job: bad key", "POST", "/v1/jobs", { body: job, auth: false, headers: { Authorization: "Bearer ik_0000000000000000000000000000000000000000" }, want: 401 });
await call("create llm.chat job", "POST", "/v1/jobs", { body: { kind: "llm.chat", payload: { model: "fake-ok", messages: [{ role: "user", content: "hi" }] } }, want: 202 });
const done = await call("get job, long-poll until it ends", "GET", `/v1/jobs/${id}?wait=10`, { want: 200 });
check("the job ran (succeeded)", done.json && done.json.status === "succeeded", done.raw);
await call("get job: unknown", "GET", "/v1/jobs/job_999999999", { want: 404 });
await call("get job: wait out of range", "GET", `/v1/jobs/${id}?wait=61`, { want: 400 });
await call("list jobs", "GET", "/v1/jobs?limit=2", { want: 200 });
await call("list jobs: queue and status", "GET", "/v1/jobs?queue=oa&status=succeeded", { want: 200 });
await call("list jobs: bad status", "GET", "/v1/jobs?status=done", { want: 400 });
await call("list jobs: unknown parameter", "GET", "/v1/jobs?colour=red", { want: 400 });
await call("attempts", "GET", `/v1/jobs/${id}/attempts`, { want: 200 });
await call("attempts: unknown job", "GET", "/v1/jobs/job_999999999/attempts", { want: 404 });
await call("cancel a succeeded job", "POST", `/v1/jobs/${id}/cancel`, { want: 409 });
const later = await call("create a delayed job", "POST", "/v1/jobs", { body: { ...job, delay_ms: 3600000 }, want: 202 });
await call("cancel it", "POST", `/v1/jobs/${later.json.id}/cancel`, { want: 200 });
await call("retry it", "POST", `/v1/jobs/${later.json.id}/retry`, { want: 200 });
await call("retry a queued job", "POST", `/v1/jobs/${later.json.id}/retry`, { want: 409 });
await call("retry: unknown job", "POST", "/v1/jobs/job_999999999/retry", { want: 404 });
await call("batch", "POST", "/v1/jobs/batch", { body: [job, { ...job, priority: 1 }], want: 202 });
await call("batch as {jobs}", "POST", "/v1/jobs/batch", { body: { jobs: [job] }, headers: { "Idempotency-Key": "oa-b1" }, want: 202 });
await call("batch replayed", "POST", "/v1/jobs/batch", { body: { jobs: [job] }, headers: { "Idempotency-Key": "oa-b1" }, want: 200 });
await call("batch: empty", "POST", "/v1/jobs/batch", { body: [], want: 400 });
await call("batch: too many (JOB_BATCH_MAX=3)", "POST", "/v1/jobs/batch", { body: [job, job, job, job], want: 413 });
await call("batch: a bad job", "POST", "/v1/jobs/batch", { body: [job, { kind: "nope" }], want: 400 });
await call("wrong method", "PUT", "/v1/jobs", { body: {}, want: 405, server: true });

// bulk changes and list filters (when the document has them)
if (doc.paths["/v1/jobs/cancel"]) {
  const bj = { ...job, queue: "oa-bulk", group: "gb", delay_ms: 3600000 };
  await call("batch for bulk", "POST", "/v1/jobs/batch", { body: [bj, bj, { ...bj, group: "gc" }], want: 202 });
  await call("list jobs: kind, group, created_after", "GET", `/v1/jobs?kind=http&group=gb&created_after=${Math.floor(Date.now() / 1000) - 3600}`, { want: 200 });
  await call("list jobs: bad created_before", "GET", "/v1/jobs?created_before=yesterday", { want: 400 });
  const bc = await call("bulk cancel a queue's group", "POST", "/v1/jobs/cancel", { body: { queue: "oa-bulk", group: "gb" }, want: 200 });
  check("bulk cancel: 2 changed", bc.json && bc.json.changed === 2, bc.raw);
  await call("bulk cancel: no queue, status or all", "POST", "/v1/jobs/cancel", { body: { group: "gb" }, want: 400 });
  const br = await call("bulk retry the cancelled", "POST", "/v1/jobs/retry", { body: { queue: "oa-bulk", status: "cancelled" }, want: 200 });
  check("bulk retry: 2 changed", br.json && br.json.changed === 2, br.raw);
  await call("bulk retry: a status it does not apply to", "POST", "/v1/jobs/retry", { body: { status: "queued" }, want: 400 });
  await call("bulk cancel: no key", "POST", "/v1/jobs/cancel", { body: { all: true }, auth: false, want: 401 });
}

// queues
await call("list queues", "GET", "/v1/queues", { want: 200 });
await call("get queue", "GET", "/v1/queues/oa", { want: 200 });
await call("get queue: unknown", "GET", "/v1/queues/nope", { want: 404 });
await call("get queue: bad name", "GET", "/v1/queues/bad%20name", { want: 400 });
await call("put queue", "PUT", "/v1/queues/oa2", { body: { paused: true, rate_limit: { max: 10, duration_ms: 1000 } }, want: 200 });
await call("patch queue", "PATCH", "/v1/queues/oa2", { body: { paused: false, concurrency: 2, group: { concurrency: 1, rate_limit: null } }, want: 200 });
await call("patch queue: bad concurrency", "PATCH", "/v1/queues/oa2", { body: { concurrency: 0 }, want: 400 });
await call("get queue with limits", "GET", "/v1/queues/oa2", { want: 200 });

// schedules
const sched = { cron: "*/5 * * * *", timezone: "Europe/Berlin", job: { kind: "http", payload: { url: `${T}/ok` } } };
await call("put schedule", "PUT", "/v1/schedules/oa-s", { body: sched, want: 200 });
await call("list schedules", "GET", "/v1/schedules", { want: 200 });
await call("get schedule", "GET", "/v1/schedules/oa-s", { want: 200 });
await call("get schedule: unknown", "GET", "/v1/schedules/nope", { want: 404 });
await call("put schedule: bad cron", "PUT", "/v1/schedules/oa-s", { body: { ...sched, cron: "61 * * * *" }, want: 400 });
await call("put schedule: job with run_at", "PUT", "/v1/schedules/oa-s", { body: { ...sched, job: { ...sched.job, run_at: "2030-01-01T00:00:00Z" } }, want: 400 });
await call("delete schedule", "DELETE", "/v1/schedules/oa-s", { want: 200 });
await call("delete schedule again", "DELETE", "/v1/schedules/oa-s", { want: 404 });

// the OpenAI-compatible routes
const models = await call("models", "GET", "/v1/models", { want: 200 });
const mid = models.json && models.json.data.length && models.json.data[0].id;
check("models: the provider's list", !!mid, models.raw);
await call("a model", "GET", `/v1/models/${encodeURIComponent(mid)}`, { want: 200 });
await call("a model: unknown", "GET", "/v1/models/no-such-model", { want: 404 });
await call("a model with a slash, unencoded", "GET", "/v1/models/org/no-such-model", { want: 404 });
await call("a model with two slashes, unencoded", "GET", "/v1/models/a/b/no-such-model", { want: 404 });
await call("chat", "POST", "/v1/chat/completions", { body: { model: "fake-ok", messages: [{ role: "user", content: "hello" }] }, want: 200 });
await call("chat streamed", "POST", "/v1/chat/completions", { body: { model: "fake-ok", stream: true, messages: [{ role: "user", content: "hello" }] }, want: 200 });
await call("chat: no messages", "POST", "/v1/chat/completions", { body: { model: "fake-ok" }, want: 400 });
await call("chat: no key", "POST", "/v1/chat/completions", { body: { model: "fake-ok", messages: [] }, auth: false, want: 401 });
await call("embeddings", "POST", "/v1/embeddings", { body: { model: "fake-embed", input: ["a", "b"] }, want: 200 });
await call("embeddings: no input", "POST", "/v1/embeddings", { body: { model: "fake-embed" }, want: 400 });
// Anthropic's Messages API (errors in Anthropic's shape)
const hi = { model: "fake-ok", max_tokens: 20, messages: [{ role: "user", content: "hello" }] };
await call("messages", "POST", "/v1/messages", { body: hi, want: 200 });
await call("messages streamed", "POST", "/v1/messages", { body: { ...hi, stream: true }, want: 200 });
await call("messages with x-api-key and ?beta", "POST", "/v1/messages?beta=true", { body: hi, auth: false, headers: { "x-api-key": K, "anthropic-version": "2023-06-01" }, want: 200 });
await call("messages: no max_tokens", "POST", "/v1/messages", { body: { model: "fake-ok", messages: hi.messages }, want: 400 });
await call("messages: no key", "POST", "/v1/messages", { body: hi, auth: false, want: 401 });
await call("messages: a budget or limit (the provider's 429)", "POST", "/v1/messages", { body: { ...hi, model: "fake-429" }, want: 429 });
await call("messages: the provider's 500", "POST", "/v1/messages", { body: { ...hi, model: "fake-500" }, want: 500 });
await call("messages: a model no provider serves", "POST", "/v1/messages", { base: U0, body: hi, want: 400 });
const none = await call("models without a provider", "GET", "/v1/models", { base: U0, want: 200 });
check("models without a provider: none", none.json && none.json.data.length === 0, none.raw);
// the Responses API: sync (passed through), streamed, background (the run role works it), its 404s
await call("responses", "POST", "/v1/responses", { body: { model: "fake-ok", input: "hello" }, want: 200 });
await call("responses streamed", "POST", "/v1/responses", { body: { model: "fake-ok", input: "hello", stream: true }, want: 200 });
await call("responses: no input", "POST", "/v1/responses", { body: { model: "fake-ok" }, want: 400 });
const bgr = await call("responses: background", "POST", "/v1/responses", { body: { model: "fake-ok", input: "hello", background: true }, want: 200 });
const bgid = bgr?.raw ? JSON.parse(bgr.raw).id : "resp_0";
await call("responses: get a background one", "GET", `/v1/responses/${bgid}`, { want: 200 });
await call("responses: cancel a background one", "POST", `/v1/responses/${bgid}/cancel`, { want: 200 });
await call("responses: get an unknown one", "GET", "/v1/responses/resp_999999999", { want: 404 });
await call("responses: cancel an unknown one", "POST", "/v1/responses/resp_999999999/cancel", { want: 404 });
await call("chat: a model no provider serves", "POST", "/v1/chat/completions", { base: U0, body: { model: "fake-ok", messages: [{ role: "user", content: "x" }] }, want: 400 });
await call("embeddings: a model no provider serves", "POST", "/v1/embeddings", { base: U0, body: { model: "fake-embed", input: "x" }, want: 400 });

// usage and limits
await call("limits", "GET", "/v1/limits", { want: 200 });
const rows = await until(async () => {
  const r = await fetch(`${U}/v1/usage`, { headers: { Authorization: `Bearer ${K}` } });
  const j = await r.json();
  return j.data && j.data.length ? j : null;
});
check("usage: the calls above are recorded", !!rows);
await call("usage by model", "GET", "/v1/usage", { want: 200 });
await call("usage by day", "GET", "/v1/usage?group_by=day&from=2020-01-01&to=2020-12-31", { want: 200 });
await call("usage by day (this month)", "GET", "/v1/usage?group_by=day", { want: 200 });
await call("usage by key", "GET", "/v1/usage?group_by=key", { want: 200 });
await call("usage: bad group_by", "GET", "/v1/usage?group_by=colour", { want: 400 });
await call("usage: to before from", "GET", "/v1/usage?from=2026-02-01&to=2026-01-01", { want: 400 });

// login sessions (no OIDC server here: an API key logs in)
const jarOf = (r) => Object.fromEntries((r.headers?.getSetCookie?.() || []).map((c) => c.split(";")[0].split("=")));
await call("auth login: OIDC is off", "GET", "/auth/login", { auth: false, want: 404 });
await call("auth callback: OIDC is off", "GET", "/auth/callback?code=x&state=y", { auth: false, want: 404 });
await call("auth key login: not a key", "POST", "/auth/login/key", { auth: false, body: { api_key: "x" }, want: 400 });
await call("auth key login: unknown key", "POST", "/auth/login/key", { auth: false, body: { api_key: "ik_" + "0".repeat(40) }, want: 401 });
const jar = jarOf(await call("auth key login", "POST", "/auth/login/key", { auth: false, body: { api_key: K }, want: 200 }));
const sess = { Cookie: `ingot_access=${jar.ingot_access}` };
await call("auth me", "GET", "/auth/me", { auth: false, headers: sess, want: 200 });
await call("auth me: not logged in", "GET", "/auth/me", { auth: false, want: 401 });
await call("/v1 with the session cookie", "GET", "/v1/queues", { auth: false, headers: sess, want: 200 });
// the web UI (its browser test is test/integration/test_ui.sh)
await call("ui: to /ui/", "GET", "/ui", { auth: false, want: 302, redirect: "manual" });
await call("ui page", "GET", "/ui/", { auth: false, want: 200 });
await call("ui script", "GET", "/ui/app.js", { auth: false, want: 200 });
await call("ui login methods", "GET", "/ui/methods.json", { auth: false, want: 200 });
await call("ui: no such asset", "GET", "/ui/nope.js", { auth: false, want: 404 });
await call("ui events: no session", "GET", "/ui/events", { auth: false, want: 401 });
{
  const ac = new AbortController();
  const r = await fetch(`${U}/ui/events`, { headers: sess, signal: ac.signal });
  const first = new TextDecoder().decode((await r.body.getReader().read()).value);
  ac.abort();
  check("ui events with the session: 200 text/event-stream, hello first",
        r.status === 200 && r.headers.get("content-type") === "text/event-stream" && first.includes("event: hello"), first);
  seen.add("GET /ui/events 200");
}
await call("queue stats", "GET", "/v1/stats/queues", { want: 200 });
await call("queues without counts", "GET", "/v1/queues?counts=false", { want: 200 });
await call("a queue without counts", "GET", "/v1/queues/oa2?counts=false", { want: 200 });
await call("queues: a bad counts", "GET", "/v1/queues?counts=maybe", { want: 400 });
// the operator's routes: here no OIDC, so no operator; a key's session and an API key are refused
// (test_ui.sh drives them as the operator)
for (const [m, p, body] of [["GET", "/v1/admin/tenants"], ["POST", "/v1/admin/tenants", { name: "x" }], ["GET", "/v1/admin/tenants/acme"],
                            ["PATCH", "/v1/admin/tenants/acme", { limits: { rpm: 1 } }], ["GET", "/v1/admin/tenants/acme/keys"],
                            ["POST", "/v1/admin/tenants/acme/keys", {}], ["POST", "/v1/admin/keys/1/revoke", {}]]) {
  await call(`admin ${m} ${p}: not logged in`, m, p, { auth: false, body, want: 401 });
  await call(`admin ${m} ${p}: a key's session`, m, p, { auth: false, body, headers: { ...sess, "X-CSRF-Token": jar.ingot_csrf }, want: 403 });
}
await call("admin: an API key", "GET", "/v1/admin/tenants", { want: 403 });
await call("admin: an unknown query parameter", "GET", "/v1/admin/tenants?x=1", { auth: false, want: 400 });
await call("queue stats: one queue", "GET", "/v1/stats/queues?queue=default", { want: 200 });
await call("queue stats: an unknown parameter", "GET", "/v1/stats/queues?window=5", { want: 400 });
await call("/v1 with the session cookie: another tenant", "GET", "/v1/queues", { auth: false, headers: { ...sess, "Ingot-Tenant": "nosuch" }, want: 403 });
await call("auth refresh: no X-CSRF-Token", "POST", "/auth/refresh", { auth: false, headers: { Cookie: `ingot_refresh=${jar.ingot_refresh}` }, want: 403 });
await call("auth refresh", "POST", "/auth/refresh", { auth: false, headers: { Cookie: `ingot_refresh=${jar.ingot_refresh}`, "X-CSRF-Token": jar.ingot_csrf }, want: 200 });
await call("auth refresh: the used token again", "POST", "/auth/refresh", { auth: false, headers: { Cookie: `ingot_refresh=${jar.ingot_refresh}`, "X-CSRF-Token": jar.ingot_csrf }, want: 401 });
const jar2 = jarOf(await call("auth key login again", "POST", "/auth/login/key", { auth: false, body: { api_key: K }, want: 200 }));
await call("auth logout: no X-CSRF-Token", "POST", "/auth/logout", { auth: false, headers: { Cookie: `ingot_access=${jar2.ingot_access}` }, want: 403 });
await call("auth logout", "POST", "/auth/logout", { auth: false, headers: { Cookie: `ingot_access=${jar2.ingot_access}`, "X-CSRF-Token": jar2.ingot_csrf }, want: 200 });
await call("auth me after logout", "GET", "/auth/me", { auth: false, headers: { Cookie: `ingot_access=${jar2.ingot_access}` }, want: 401 });
const jar3 = jarOf(await call("auth key login a third time", "POST", "/auth/login/key", { auth: false, body: { api_key: K }, want: 200 }));
await call("auth logout everywhere", "POST", "/auth/logout-all", { auth: false, headers: { Cookie: `ingot_access=${jar3.ingot_access}`, "X-CSRF-Token": jar3.ingot_csrf }, want: 200 });
await call("auth me after logout everywhere", "GET", "/auth/me", { auth: false, headers: { Cookie: `ingot_access=${jar3.ingot_access}` }, want: 401 });
// the Files API (multipart uploads)
const form = (purpose, text, name = "in.jsonl") => {
  const f = new FormData();
  f.append("purpose", purpose);
  f.append("file", new Blob([text]), name);
  return f;
};
const bline = JSON.stringify({ custom_id: "oa-1", method: "POST", url: "/v1/chat/completions", body: { model: "fake-ok", messages: [{ role: "user", content: "hi" }] } }) + "\n";
const up = await call("upload a batch file", "POST", "/v1/files", { body: form("batch", bline), want: 200 });
await call("upload: a bad line", "POST", "/v1/files", { body: form("batch", "[1]\n"), want: 400 });
await call("upload: not multipart", "POST", "/v1/files", { body: {}, want: 400 });
await call("upload: no key", "POST", "/v1/files", { body: form("batch", bline), auth: false, want: 401 });
const fid = up.json && up.json.id;
await call("files", "GET", "/v1/files?limit=1", { want: 200 });
await call("files: bad order", "GET", "/v1/files?order=up", { want: 400 });
await call("a file", "GET", `/v1/files/${fid}`, { want: 200 });
await call("a file: malformed id", "GET", "/v1/files/nope", { want: 400 });
await call("a file: unknown", "GET", "/v1/files/file-000000000000000000000000", { want: 404 });
await call("a file's content", "GET", `/v1/files/${fid}/content`, { want: 200 });
await call("a file's content: unknown", "GET", "/v1/files/file-000000000000000000000000/content", { want: 404 });
// the Batch API (the batch runs in this same process: its status is not asserted)
const bt = await call("create a batch", "POST", "/v1/batches", { body: { input_file_id: fid, endpoint: "/v1/chat/completions", completion_window: "24h", metadata: { k: "v" } }, want: 200 });
const bid = bt.json && bt.json.id;
await call("create a batch: endpoint /v1/responses, chat lines", "POST", "/v1/batches", { body: { input_file_id: fid, endpoint: "/v1/responses", completion_window: "24h" }, want: 400 });
await call("create a batch: no file", "POST", "/v1/batches", { body: { endpoint: "/v1/chat/completions", completion_window: "24h" }, want: 400 });
await call("batches", "GET", "/v1/batches?limit=2", { want: 200 });
await call("batches: bad limit", "GET", "/v1/batches?limit=0", { want: 400 });
await call("a batch", "GET", `/v1/batches/${bid}`, { want: 200 });
await call("a batch: malformed id", "GET", "/v1/batches/nope", { want: 400 });
await call("a batch: unknown", "GET", "/v1/batches/batch_000000000000000000000000", { want: 404 });
await call("cancel a batch: unknown", "POST", "/v1/batches/batch_000000000000000000000000/cancel", { want: 404 });
await call("cancel a batch: malformed id", "POST", "/v1/batches/nope/cancel", { want: 400 });
await call("delete a file", "DELETE", `/v1/files/${fid}`, { want: 200 });
await call("delete a file again", "DELETE", `/v1/files/${fid}`, { want: 404 });

// webhook endpoints (a test delivery to the fake target, which the run's
// HTTP_TARGET_ALLOW admits)
const wh = await call("create a webhook endpoint", "POST", "/v1/webhook_endpoints",
  { body: { url: `${process.env.TARGET_URL}/hook`, name: "doc", event_types: ["batch.completed"] }, want: 200 });
const whid = wh.json?.id;
await call("create: bad url", "POST", "/v1/webhook_endpoints", { body: { url: "ftp://x" }, want: 400 });
await call("webhook endpoints", "GET", "/v1/webhook_endpoints?limit=5", { want: 200 });
await call("webhook endpoints: bad limit", "GET", "/v1/webhook_endpoints?limit=0", { want: 400 });
await call("a webhook endpoint", "GET", `/v1/webhook_endpoints/${whid}`, { want: 200 });
await call("a webhook endpoint: malformed id", "GET", "/v1/webhook_endpoints/nope", { want: 400 });
await call("a webhook endpoint: unknown", "GET", "/v1/webhook_endpoints/whe_000000000000000000000000", { want: 404 });
await call("update a webhook endpoint", "POST", `/v1/webhook_endpoints/${whid}`, { body: { name: "doc2" }, want: 200 });
await call("rotate its secret", "POST", `/v1/webhook_endpoints/${whid}/rotate_secret`, { body: {}, want: 200 });
await call("test it", "POST", `/v1/webhook_endpoints/${whid}/test`, { body: { event_type: "batch.completed" }, want: 200 });
await call("webhook event types", "GET", "/v1/webhook_event_types", { want: 200 });
await call("delete a webhook endpoint", "DELETE", `/v1/webhook_endpoints/${whid}`, { want: 200 });
await call("delete it again", "DELETE", `/v1/webhook_endpoints/${whid}`, { want: 404 });

// how much of the document the answers above exercised
const ops = [...documented];
const hit = ops.filter((o) => [...seen].some((s) => s.startsWith(o + " ")));
console.log(`# exercised ${hit.length} of ${ops.length} operations, ${seen.size} (operation, status) pairs`);
console.log(`# not exercised: ${ops.filter((o) => !hit.includes(o)).join(", ") || "none"}`);
check("every documented operation was exercised", hit.length === ops.length);
process.exit(fails ? 1 : 0);
