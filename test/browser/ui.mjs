// The web UI in headless Chromium (Debian's chromium, driven by
// playwright-core; no browser download): OIDC login through the fake
// provider, the overview, a queue, a failed job retried and seen to
// succeed live (server-sent events), a bulk retry, a queue paused, log
// out; a tenant user sees only its tenant; API-key login; no CSP
// violation and no console error on any page; the actions driven by the
// keyboard; load time measured. Prints "ok ..." / "FAIL ..." lines.
import { chromium } from "playwright-core";
import fs from "node:fs";
import path from "node:path";

const U = process.env.INGOT_URL, KU = process.env.INGOT_KEY_URL, ISS = process.env.OIDC_ISS;
const KEY = process.env.INGOT_KEY, JF = process.env.JOB_FAILED.replace(/^job_/, "");
const BULK = process.env.BULK_JOBS.split(" ").filter(Boolean);
const SHOTS = process.env.SHOTS;
let fails = 0;
const check = (what, cond, detail) => {
  console.log(`${cond ? "ok  " : "FAIL"} ${what}${!cond && detail !== undefined ? ": " + detail : ""}`);
  if (!cond) fails++;
};
const problems = []; // console errors, page errors, CSP violations, on every page

const browser = await chromium.launch({ executablePath: process.env.CHROMIUM || "/usr/bin/chromium", headless: true });
async function newPage(sub) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await ctx.newPage();
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`));
  });
  page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`${sub || "key"}: console ${m.type()}: ${m.text()} at ${page.url()}`); });
  page.on("pageerror", (e) => problems.push(`${sub || "key"}: page error: ${e.message} at ${page.url()}`));
  return { ctx, page };
}
const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
// Tab until the element matching sel has the focus (every action is reachable by keyboard).
async function tabTo(page, sel, max = 80) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((s) => document.activeElement && document.activeElement.matches(s), sel)) return true;
    await page.keyboard.press("Tab");
  }
  return false;
}
async function keyPress(page, sel, what) {
  const reached = await tabTo(page, sel);
  check(`${what}: reached by Tab`, reached);
  await page.keyboard.press("Enter");
}
const text = (page, sel) => page.locator(sel).first().innerText();
// At the fake provider's sign-in form: who logs in.
async function signIn(page, sub) {
  await page.waitForURL(`${ISS}/authorize**`);
  await page.waitForSelector("#sub");
  await page.fill("#sub", sub);
  await page.keyboard.press("Enter");
}

try {
  // --- the owner logs in through the fake OIDC provider ---
  const { ctx, page } = await newPage("owner");
  await page.goto(`${U}/ui/`);
  await page.waitForSelector("#login-oidc");
  check("login page offers single sign-on (OIDC configured)", await page.locator("#login-oidc").isVisible());
  check("  and no API-key form", (await page.locator("#login-key").count()) === 0);
  await keyPress(page, "#login-oidc", "log in with single sign-on");
  await signIn(page, "owner");
  await page.waitForSelector("#queues");
  check("logged in: back at /ui/", page.url().startsWith(`${U}/ui/`));
  check("  operator shown", (await text(page, "#who")).includes("owner (operator)"));
  check("  tenants and keys in the menu", await page.locator("#nav-tenants").isVisible());

  // load time: a fresh navigation to the overview, measured in the page
  await page.reload();
  await page.waitForSelector("#queues tr[data-queue=web]");
  const t = await page.evaluate(() => {
    const n = performance.getEntriesByType("navigation")[0];
    return { load: Math.round(n.loadEventEnd), data: Math.round(performance.now()) };
  });
  console.log(`measured: /ui/ load event ${t.load} ms, overview with its data ${t.data} ms`);
  check(`the page loads in < 300 ms (${t.load} ms)`, t.load > 0 && t.load < 300);
  // its data comes from /auth/me, /v1/queues and /v1/stats/queues of the
  // ASan build this suite runs, on a CPU shared with other tests: bounded
  // looser, the figure printed
  check(`the overview shows its data in < 1000 ms (${t.data} ms)`, t.data < 1000);

  // --- overview ---
  const sel = await page.locator("#tenant").inputValue();
  check("operator: the first tenant (acme) chosen", sel === "acme", sel);
  const rows = await page.locator("#queues tbody tr").evaluateAll((trs) => trs.map((r) => r.dataset.queue));
  check("overview: acme's queues", JSON.stringify(rows) === '["bulk","held","web"]', JSON.stringify(rows));
  check("  web: 1 failed", (await text(page, "#queues tr[data-queue=web] [data-count=failed]")) === "1");
  check("  sparklines drawn", (await page.locator("#queues svg.spark").count()) === 6);
  check("  held: paused, 1 queued", /paused/.test(await text(page, "#queues tr[data-queue=held]")) &&
        (await text(page, "#queues tr[data-queue=held] [data-count=queued]")) === "1");
  check("  live updates connected", (await text(page, "#live")) === "live");
  await shot(page, "overview");

  // --- a queue ---
  await page.click("#queues a[href='#/queue/web']");
  await page.waitForSelector("#pause");
  check("queue view: pause button", (await text(page, "#pause")) === "Pause queue");
  check("  limits form", (await page.locator("#limits input").count()) === 6);
  await shot(page, "queue");
  await tabTo(page, "#conc");
  await page.keyboard.type("7");
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => document.querySelector("#conc")?.value === "7" && !document.querySelector("#limits button[disabled]"));
  const bearer = { Authorization: `Bearer ${KEY}` };
  let qv = await (await page.request.get(`${U}/v1/queues/web?counts=false`, { headers: bearer })).json();
  check("  concurrency saved from the form (keyboard)", qv.concurrency === 7, JSON.stringify(qv));
  await page.fill("#conc", "");
  await page.locator("#conc").press("Enter");
  await page.waitForFunction(() => document.querySelector("#conc")?.value === "");
  qv = await (await page.request.get(`${U}/v1/queues/web?counts=false`, { headers: bearer })).json();
  check("  and cleared", qv.concurrency === null, JSON.stringify(qv));

  // --- the jobs filter form, by keyboard ---
  await page.goto(`${U}/ui/#/jobs`);
  await page.waitForSelector("#filters");
  await tabTo(page, "#f-queue");
  await page.keyboard.type("web");
  // an event while the user types (a job enqueued): the form is not rebuilt under the typing
  const evt = page.waitForResponse((r) => /\/v1\/jobs\?/.test(r.url()), { timeout: 4000 }).then(() => "re-read", () => "waited");
  await page.request.post(`${U}/v1/jobs`, { headers: bearer, data: { kind: "http", queue: "held", payload: { url: "http://127.0.0.1:9/ok" } } });
  check("  a live update waits while a field has the focus", (await evt) === "waited" && (await page.inputValue("#f-queue")) === "web");
  await page.selectOption("#f-status", "failed");
  await page.locator("#f-queue").press("Enter");
  await page.waitForFunction(() => /queue=web&status=failed/.test(location.hash));
  await page.waitForSelector("#jobs tbody tr");
  check("jobs: the filter form lists web's failed job", (await page.locator("#jobs tbody tr").count()) === 1);

  // --- a failed job: open it, retry it, watch it succeed live ---
  await page.goto(`${U}/ui/#/jobs?queue=web&status=failed`);
  await page.waitForSelector(`#jobs tr[data-job="${JF}"], #jobs tr[data-job="job_${JF}"]`);
  await shot(page, "jobs");
  await page.click(`#jobs a[href$="${JF}"]`);
  await page.waitForSelector("#job-status");
  check("job view: failed", (await text(page, "#job-status")) === "failed");
  check("  its last error", (await text(page, "#last-error")).length > 1, await text(page, "#last-error"));
  check("  its payload", (await text(page, "#payload")).includes("/status/500,200"));
  check("  its attempts", (await page.locator("#attempts tbody tr").count()) === 1);
  await shot(page, "job");
  let jobReads = 0;
  page.on("request", (r) => { if (new RegExp(`/v1/jobs/(job_)?${JF}$`).test(r.url())) jobReads++; });
  // the queue held (through the API) so the retried job waits until it is resumed
  const setPaused = (paused) => page.request.patch(`${U}/v1/queues/web`, { headers: { Authorization: `Bearer ${KEY}` }, data: { paused } });
  check("(queue web held through the API)", (await setPaused(true)).status() === 200);
  await keyPress(page, "#retry", "retry the job");
  await page.waitForFunction(() => document.querySelector("#job-status")?.textContent === "queued", null, { timeout: 5000 });
  check("the retried job shows queued", true);
  const readsQueued = jobReads;
  check("(queue web resumed through the API)", (await setPaused(false)).status() === 200);
  await page.waitForFunction(() => document.querySelector("#job-status")?.textContent === "succeeded", null, { timeout: 15000 });
  check("the retried job is seen to succeed without a reload", true);
  check(`  through events, not a polling loop (${jobReads - readsQueued} reads of the job after the resume)`,
        jobReads - readsQueued >= 1 && jobReads - readsQueued <= 4, jobReads);
  check("  its result shown", (await text(page, "#result")).length > 1);

  // --- bulk retry of a filtered set ---
  await page.goto(`${U}/ui/#/jobs?queue=bulk&status=failed`);
  await page.waitForSelector("#jobs tbody tr");
  check("bulk: the filter lists the 3 failed jobs", (await page.locator("#jobs tbody tr").count()) === 3);
  await keyPress(page, "#bulk-retry", "retry all matching");
  await page.waitForSelector("#bulk-confirm");
  check("  confirmation focused", await page.evaluate(() => document.activeElement.id === "bulk-confirm"));
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => /Retried 3 of 3 matched\./.test(document.querySelector("#bulk-result")?.textContent || "") ||
                                   document.querySelector("main p.muted")?.textContent === "No job matches.", null, { timeout: 10000 });
  await page.waitForFunction(() => document.querySelector("main p.muted")?.textContent === "No job matches.", null, { timeout: 15000 });
  check("  the list empties live as they succeed", true);
  await page.goto(`${U}/ui/#/jobs?queue=bulk&status=succeeded`);
  await page.waitForSelector("#jobs tbody tr");
  check("  all 3 succeeded", (await page.locator("#jobs tbody tr").count()) === 3);

  // --- cancel a job (queued in the held queue) ---
  const held = await (await page.request.post(`${U}/v1/jobs`, { headers: bearer, data: { kind: "http", queue: "held", payload: { url: "http://127.0.0.1:9/ok" } } })).json();
  await page.goto(`${U}/ui/#/job/${held.id}`);
  await page.waitForSelector("#cancel");
  await keyPress(page, "#cancel", "cancel a job");
  await page.waitForFunction(() => document.querySelector("#job-status")?.textContent === "cancelled");
  check("  the job is cancelled", true);

  // --- pause a queue ---
  await page.goto(`${U}/ui/#/queue/web`);
  await page.waitForSelector("#pause");
  await keyPress(page, "#pause", "pause the queue");
  await page.waitForSelector("#paused-badge");
  check("queue paused: badge and resume button", (await text(page, "#pause")) === "Resume queue");

  // --- the other views ---
  for (const [hash, selr, name] of [["#/schedules", "#schedules", "schedules"], ["#/usage", "main h1", "usage"],
                                   ["#/tenants", "#tenants", "tenants"]]) {
    await page.goto(`${U}/ui/${hash}`);
    await page.waitForSelector(selr);
    await shot(page, name);
    check(`${name} view renders`, (await page.locator(selr).count()) === 1);
    if (name === "tenants") check("tenants: every tenant for the operator", (await page.locator("#tenants tbody tr").count()) === 2);
  }
  // --- a view still loading when the user moves on must not replace the
  // view moved to: the queue's read is held until the schedules show ---
  {
    let release;
    const gate = new Promise((r) => { release = r; });
    const slow = /\/v1\/queues\/web\?counts=false/;
    await page.route(slow, async (route) => { await gate; await route.continue(); });
    const asked = page.waitForRequest(slow);
    await page.goto(`${U}/ui/#/queue/web`);
    await asked;
    await page.goto(`${U}/ui/#/schedules`);
    await page.waitForSelector("main[data-view=schedules] #schedules");
    const answered = page.waitForResponse(slow);
    release();
    await answered;
    const replaced = await page.waitForSelector("main[data-view=queue]", { timeout: 1500 }).then(() => true, () => false);
    check("a slower view's answer does not replace the view moved to", !replaced && (await page.locator("#schedules").count()) === 1,
          await page.evaluate(() => document.getElementById("main").getAttribute("data-view")));
    await page.unroute(slow);
  }
  await page.goto(`${U}/ui/#/schedules`);
  await page.waitForSelector("#schedules tr[data-schedule=nightly]");
  check("schedules: next fire times listed", /\d{4}-\d\d-\d\d \d\d:\d\d/.test(await text(page, "#schedules tr[data-schedule=nightly]")));
  await keyPress(page, "#schedules tr[data-schedule=nightly] button.sched-pause", "pause a schedule");
  await page.waitForFunction(() => /paused/.test(document.querySelector("#schedules tr[data-schedule=nightly]")?.textContent || ""));
  let sc = await (await page.request.get(`${U}/v1/schedules/nightly`, { headers: bearer })).json();
  check("  the schedule is paused", sc.paused === true, JSON.stringify(sc));
  const before = (await (await page.request.get(`${U}/v1/jobs?queue=web&limit=100`, { headers: bearer })).json()).data.length;
  await keyPress(page, "#schedules tr[data-schedule=nightly] button.sched-run", "run a schedule now");
  await page.waitForFunction(() => /enqueued/.test(document.querySelector("#toast")?.textContent || ""));
  const after = (await (await page.request.get(`${U}/v1/jobs?queue=web&limit=100`, { headers: bearer })).json()).data.length;
  check(`  run now enqueued its job (${before} -> ${after} jobs in web)`, after === before + 1);

  // --- tenants and keys (operator only, /v1/admin) ---
  await page.goto(`${U}/ui/#/tenants`);
  await page.waitForSelector("#tenant-create");
  await tabTo(page, "#new-tenant");
  await page.keyboard.type("gamma");
  await page.keyboard.press("Enter");
  await page.waitForSelector("#tenants tr[data-tenant=gamma]");
  await page.waitForSelector("#key-create");
  check("tenant gamma created from the UI (keyboard)", page.url().endsWith("#/tenants/gamma"), page.url());
  let lastKey = "";
  const createKey = async (label) => {
    await page.fill("#key-label", label);
    await page.locator("#key-label").press("Enter");
    await page.waitForFunction((old) => { const e = document.querySelector("#new-key-value"); return e && e.textContent !== old; }, lastKey);
    const k = lastKey = await text(page, "#new-key-value");
    await page.waitForSelector(`#keys tr[data-key="${k.slice(0, 11)}"]`);
    return k;
  };
  const k1 = await createKey("ci");
  check("  a key shown once", /^ik_[0-9a-f]{40}$/.test(k1), k1);
  const useKey = async (k) => (await page.request.get(`${U}/v1/queues`, { headers: { Authorization: `Bearer ${k}` } })).status();
  check("  the key works", (await useKey(k1)) === 200);
  const k2 = await createKey("to-revoke");
  await keyPress(page, `#keys tr[data-key="${k2.slice(0, 11)}"] button.revoke`, "revoke a key");
  await page.waitForFunction((p) => !document.querySelector(`#keys tr[data-key="${p}"] button.revoke`) &&
                                    document.querySelector(`#keys tr[data-key="${p}"]`), k2.slice(0, 11));
  check("  the revoked key is refused", (await useKey(k2)) === 401);
  await page.fill("#lim-rpm", "60");
  await page.fill("#lim-usd_per_month", "12.5");
  await page.locator("#lim-rpm").press("Enter");
  await page.waitForFunction(() => /Requests\/min 60, USD\/month 12.5/.test(document.querySelector("#tenants tr[data-tenant=gamma]")?.textContent || ""));
  check("  LLM limits set", true);
  await shot(page, "tenant");
  const csrfOwner = (await ctx.cookies()).find((c) => c.name === "ingot_csrf")?.value;
  const adm = (m, p, data, csrf = csrfOwner) => page.request.fetch(`${U}/v1/admin${p}`, { method: m, data, headers: csrf ? { "X-CSRF-Token": csrf } : {} });
  const j = async (r) => { try { return await r.json(); } catch { return {}; } };
  let r = await adm("POST", "/tenants", { name: "gamma" });
  check("admin API: an existing tenant: 409", r.status() === 409, r.status());
  r = await adm("POST", "/tenants", { name: "bad name" });
  check("  a bad name: 400 naming it", r.status() === 400 && (await j(r)).error?.param === "name");
  r = await adm("POST", "/tenants", { name: "delta" }, "");
  check("  no CSRF token: 403", r.status() === 403 && (await j(r)).error?.code === "csrf_failed");
  r = await adm("PATCH", "/tenants/gamma", { limits: { rpm: -1 } });
  check("  a bad limit: 400 naming limits.rpm", r.status() === 400 && (await j(r)).error?.param === "limits.rpm");
  r = await adm("PATCH", "/tenants/gamma", { limits: { rpm: null, usd_per_month: null } });
  check("  limits cleared", r.status() === 200 && (await j(r)).limits?.rpm === null);
  r = await adm("GET", "/tenants/nosuch/keys");
  check("  keys of no tenant: 404", r.status() === 404);
  r = await adm("POST", "/keys/999999/revoke", {});
  check("  revoking no key: 404", r.status() === 404);
  r = await page.request.get(`${U}/v1/admin/tenants`, { headers: { Authorization: `Bearer ${KEY}` } });
  check("  an API key: 403 operator_only", r.status() === 403 && (await j(r)).error?.code === "operator_only");

  // --- log out ---
  await page.goto(`${U}/ui/#/`);
  await page.waitForSelector("#queues");
  await keyPress(page, "#logout", "log out");
  await page.waitForSelector("#login-oidc");
  const me = await page.request.get(`${U}/auth/me`);
  check("logged out: /auth/me answers 401", me.status() === 401, me.status());
  await ctx.close();

  // --- a tenant user sees only its tenant ---
  const b = await newPage("bob");
  await b.page.goto(`${U}/ui/`);
  await b.page.waitForSelector("#login-oidc");
  await b.page.click("#login-oidc");
  await signIn(b.page, "bob");
  await b.page.waitForSelector("#queues, main p.muted");
  // the selector is filled from /auth/me, which may answer after the page's data
  await b.page.waitForFunction(() => document.querySelectorAll("#tenant option").length > 0, null, { timeout: 10000 });
  const opts = await b.page.locator("#tenant option").evaluateAll((os) => os.map((o) => o.value));
  check("bob: only beta to choose", JSON.stringify(opts) === '["beta"]', JSON.stringify(opts));
  check("  not the operator", !(await b.page.locator("#nav-tenants").isVisible()));
  await b.page.waitForSelector("#queues tr[data-queue=betaq]");
  const brows = await b.page.locator("#queues tbody tr").evaluateAll((trs) => trs.map((r) => r.dataset.queue));
  check("  beta's queues only", JSON.stringify(brows) === '["betaq"]', JSON.stringify(brows));
  const csrf = (await b.ctx.cookies()).find((c) => c.name === "ingot_csrf")?.value;
  const other = await b.page.request.get(`${U}/v1/queues`, { headers: { "Ingot-Tenant": "acme" } });
  check("  acme through the API: 403", other.status() === 403, other.status());
  const nocsrf = await b.page.request.patch(`${U}/v1/queues/betaq`, { headers: { "Ingot-Tenant": "beta" }, data: { paused: true } });
  check("  a change without the CSRF token: 403", nocsrf.status() === 403, nocsrf.status());
  check("  (the CSRF cookie is there)", !!csrf);
  const badm = await b.page.request.get(`${U}/v1/admin/tenants`);
  check("  the admin API: 403 operator_only", badm.status() === 403, badm.status());
  await b.page.goto(`${U}/ui/#/tenants`);
  await b.page.waitForSelector("main .err");
  check("  tenants and keys refused", (await text(b.page, "main .err")).includes("Only the operator"));
  // The session ended elsewhere: the open page's event stream ends (the
  // server re-checks its session every 5 s) and the page, left alone, lands
  // on the login page. Before, the stream lived until the token expired.
  const seen = problems.length;
  const lo = await b.page.request.post(`${U}/auth/logout-all`, { headers: { "X-CSRF-Token": csrf } });
  check("bob logged out everywhere (through the API)", lo.status() === 200, lo.status());
  await b.page.waitForSelector("#login-oidc", { timeout: 15000 });
  check("  the open page lands on the login page by itself", (await text(b.page, "main .err")).includes("session ended"));
  problems.splice(seen, problems.length - seen, ...problems.slice(seen).filter((p) => !/status of 401|EventSource|event-stream/.test(p)));
  await b.ctx.close();

  // --- API-key login (no OIDC server configured) ---
  const k = await newPage(null);
  await k.page.goto(`${KU}/ui/`);
  await k.page.waitForSelector("#login-key");
  check("without OIDC: the API-key form", (await k.page.locator("#login-oidc").count()) === 0);
  await shot(k.page, "login");
  await tabTo(k.page, "#api-key");
  await k.page.keyboard.type("ik_wrong_key_000000000000000000000000");
  await k.page.keyboard.press("Enter");
  await k.page.waitForFunction(() => document.querySelector("#login-key .err")?.textContent.length > 0);
  check("  a wrong key: the error shown", (await text(k.page, "#login-key .err")).length > 0);
  problems.splice(0, problems.length, ...problems.filter((p) => !/status of 40[01]/.test(p))); // the refused login's own 400/401
  const renewed = k.page.waitForResponse((r) => r.url().endsWith("/auth/refresh"), { timeout: 15000 });
  await k.page.fill("#api-key", KEY);
  await k.page.keyboard.press("Enter");
  await k.page.waitForSelector("#queues tr[data-queue=web]");
  const rr = await renewed;
  check("  the page renews its access token before it expires (POST /auth/refresh: 200)", rr.status() === 200, rr.status());
  await k.page.goto(`${KU}/ui/#/jobs`);
  await k.page.waitForSelector("#jobs tbody tr");
  check("  and goes on with the new one", true);
  check("  logged in with the key: acme's queues", true);
  check("  the key's tenant only", JSON.stringify(await k.page.locator("#tenant option").evaluateAll((os) => os.map((o) => o.value))) === '["acme"]');
  await k.ctx.close();
} catch (e) {
  check("browser run", false, e.stack || String(e));
} finally {
  await browser.close();
}
check(`no console error, page error or CSP violation on any page (${problems.length})`, problems.length === 0, problems.join("\n"));
fs.copyFileSync(path.join(SHOTS, "overview.png"), path.join(SHOTS, "..", "ui-overview.png"));
console.log(`${fails ? "FAIL" : "done"}: ${fails} failed`);
process.exit(fails ? 1 : 0);
