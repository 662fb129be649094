// Webhooks end to end (run by test/integration/test_webhooks.sh): the
// official openai SDK manages the endpoints (client.webhooks.*) and is the
// receiver's verifier (client.webhooks.unwrap()) in a small HTTP receiver
// on loopback written here.
//   node webhooks.mjs main   deliveries, signatures, retries, fan-out,
//                            rotation, tenant isolation (a worker with
//                            HTTP_TARGET_ALLOW=127.0.0.0/8)
//   node webhooks.mjs ssrf   loopback URLs refused (a worker without it)
// env: INGOT_URL, METRICS_URL (the worker's, for its counters), INGOT_KEY, OTHER_KEY (another tenant's), INGOT_BIN (for
// `ingot admin webhook emit`), SECRETS_OUT (the secrets seen, one a line,
// for the shell's grep of the logs).
import { createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import http from 'node:http';
import OpenAI from 'openai';
import { ok, bad, check, eq, step, done, INGOT, KEY } from './lib.mjs';

const MODE = process.argv[2] || 'main';
const OTHER_KEY = process.env.OTHER_KEY;
const client = new OpenAI({ baseURL: `${INGOT}/v1`, apiKey: KEY, maxRetries: 0 });
const other = new OpenAI({ baseURL: `${INGOT}/v1`, apiKey: OTHER_KEY, maxRetries: 0 });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(fn, ms = 20000) {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(50)) { const v = await fn(); if (v) return v; }
  return null;
}
const now = () => Math.floor(Date.now() / 1000);
function keep(secret) { if (process.env.SECRETS_OUT) appendFileSync(process.env.SECRETS_OUT, secret + '\n'); }

// ---- the receiver: records every request; verifies it on arrival ----
const secrets = {};       // path -> the secret its endpoint has now
const records = [];       // {path, headers, body, fresh, err}
let flakyLeft = 2;        // /flaky answers 500 this many times, then 200
const srv = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (c) => { body += c; });
  req.on('end', async () => {
    const rec = { path: req.url, headers: req.headers, body, at: now() };
    // a tolerance of 2 s instead of the SDK's 300: this attempt's own
    // signature, made when it was sent
    try { await client.webhooks.unwrap(body, req.headers, secrets[req.url], 2); rec.fresh = true; }
    catch (e) { rec.fresh = false; rec.err = e.message; }
    records.push(rec);
    if (req.url === '/flaky' && flakyLeft > 0) { flakyLeft--; res.writeHead(500); res.end('not yet'); return; }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
  });
});
await new Promise((r) => srv.listen(0, '127.0.0.1', r));
const PORT = srv.address().port;
const R = `http://127.0.0.1:${PORT}`;
const at = (path) => records.filter((r) => r.path === path);

async function rejects(desc, p, re) {
  try { await p; bad(`${desc}: accepted`); }
  catch (e) {
    check(`${desc}: ${e?.constructor?.name}: ${e?.message}`, e instanceof OpenAI.InvalidWebhookSignatureError && (!re || re.test(e.message)), e?.message);
  }
}
async function status(desc, p, want) {
  try { await p; bad(`${desc}: succeeded, want ${want}`); }
  catch (e) { eq(`${desc}: ${want}`, e?.status, want); }
}
async function job(id) {
  const r = await fetch(`${INGOT}/v1/jobs/${id}`, { headers: { Authorization: `Bearer ${KEY}` } });
  return r.json();
}
async function metric(result) {
  const t = await (await fetch(`${process.env.METRICS_URL || INGOT}/metrics`)).text();
  const m = t.match(new RegExp(`^ingot_webhook_deliveries_total\\{result="${result}"\\} (\\d+)`, 'm'));
  return m ? Number(m[1]) : 0;
}
function emit(type, data) {
  return execFileSync(process.env.INGOT_BIN, ['admin', 'webhook', 'emit', 'acme', type, '--data', JSON.stringify(data),
    '--env-file', '/dev/null'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

if (MODE === 'ssrf') {
  // Every loopback spelling: created (the URL is valid), refused at delivery.
  const forms = [`http://127.0.0.1:${PORT}/a`, `http://localhost:${PORT}/b`, `http://[::1]:${PORT}/c`,
    `http://[::ffff:127.0.0.1]:${PORT}/d`, `http://127.1:${PORT}/e`, `http://2130706433:${PORT}/f`,
    `http://0x7f.0.0.1:${PORT}/g`, `http://127.0.0.2:${PORT}/h`];
  const before = await metric('failed');
  for (const url of forms) {
    await step(`ssrf ${url}`, async () => {
      const ep = await client.webhooks.create({ url, name: 'loop', event_types: ['batch.completed'] });
      keep(ep.signing_secret);
      const r = await client.webhooks.test(ep.id, { event_type: 'batch.completed' });
      check(`${url}: refused at delivery (status_code 0, failed for good: ${r.error})`,
        r.status_code === 0 && r.delivery_state === 'failed' && /loopback|not allowed|refused/i.test(r.error || ''), JSON.stringify(r));
      const j = await job(r.delivery_job_id);
      check(`${url}: its job failed after one attempt`, j.status === 'failed' && j.attempts === 1, JSON.stringify(j));
      await client.webhooks.delete(ep.id);
    });
  }
  eq('the receiver got nothing', records.length, 0);
  check('deliveries counted failed in /metrics', (await metric('failed')) - before >= forms.length);
  srv.close();
  done();
}

// ---- main ----
let ep, ep2, ep3, ep4, epo;
await step('create an endpoint', async () => {
  ep = await client.webhooks.create({ url: `${R}/ok`, name: 'ok', event_types: ['response.completed', 'batch.completed'] });
  keep(ep.signing_secret);
  secrets['/ok'] = ep.signing_secret;
  check('id whe_ + 24 hex', /^whe_[0-9a-f]{24}$/.test(ep.id), ep.id);
  check('a whsec_ secret of 32 bytes', /^whsec_/.test(ep.signing_secret) &&
    Buffer.from(ep.signing_secret.slice(6), 'base64').length === 32, ep.signing_secret);
  eq('object', ep.object, 'webhook_endpoint');
  eq('event types in canonical order', ep.event_types, ['batch.completed', 'response.completed']);
  check('the hint ends like the secret', ep.signing_secret_hint.endsWith(ep.signing_secret.slice(-4)) &&
    ep.signing_secret_hint.length < 20, ep.signing_secret_hint);
  const again = await client.webhooks.retrieve(ep.id);
  check('retrieve: no secret, the same hint', again.signing_secret === undefined && again.signing_secret_hint === ep.signing_secret_hint);
  const ids = [];
  for await (const e of client.webhooks.list()) ids.push(e.id);
  check('listed', ids.includes(ep.id), ids.join());
  const types = await client.webhooks.eventTypes.list();
  eq('event types', types.data, ['batch.completed', 'batch.failed', 'batch.expired', 'batch.cancelled',
    'response.completed', 'response.failed', 'response.cancelled']);
});

await step('validation names the field', async () => {
  for (const [body, param] of [[{ url: 'ftp://x/' }, 'url'], [{ url: `${R}/x`, event_types: ['nope'] }, 'event_types[0]'],
    [{ url: `${R}/x`, event_types: [] }, 'event_types'], [{ url: `${R}/x`, color: 'red' }, 'color'], [{ name: 'x' }, 'url']]) {
    try { await client.webhooks.create(body); bad(`create ${JSON.stringify(body)} accepted`); }
    catch (e) { check(`create ${JSON.stringify(body)}: 400 param ${param}`, e.status === 400 && e.param === param, `${e.status} ${e.param} ${e.message}`); }
  }
});

let delivered;
await step('a delivery verifies with the SDK', async () => {
  const r = await client.webhooks.test(ep.id, { event_type: 'batch.completed' });
  check(`test: the receiver said 200 (${JSON.stringify(r)})`, r.object === 'webhook_endpoint.test' && r.success === true &&
    r.status_code === 200 && r.delivery_state === 'succeeded' && r.error === null);
  delivered = await until(() => at('/ok')[0]);
  check('received', !!delivered);
  check(`verified on arrival within 2 s (${delivered.err ?? ''})`, delivered.fresh);
  const ev = await client.webhooks.unwrap(delivered.body, delivered.headers, ep.signing_secret);
  eq('event type', ev.type, 'batch.completed');
  eq('object event', ev.object, 'event');
  check('the event id is webhook-id and the test answer\'s', ev.id === delivered.headers['webhook-id'] && ev.id === r.event_id && /^evt_/.test(ev.id));
  eq('data', ev.data, { id: 'batch_test' });
  check('created_at is now', Math.abs(ev.created_at - now()) < 60, ev.created_at);
  eq('content-type', delivered.headers['content-type'], 'application/json');
  // the signature recomputed here, independently of ingot and the SDK
  const h = delivered.headers;
  const mine = createHmac('sha256', Buffer.from(ep.signing_secret.slice(6), 'base64'))
    .update(`${h['webhook-id']}.${h['webhook-timestamp']}.${delivered.body}`).digest('base64');
  eq('webhook-signature is v1,base64(HMAC-SHA256(id.timestamp.body))', h['webhook-signature'], `v1,${mine}`);
  await rejects('a tampered body', client.webhooks.unwrap(delivered.body.replace('batch_test', 'batch_evil'), h, ep.signing_secret));
  await rejects('another webhook-id', client.webhooks.unwrap(delivered.body, { ...h, 'webhook-id': 'evt_other' }, ep.signing_secret));
  await rejects('a wrong secret', client.webhooks.unwrap(delivered.body, h, `whsec_${randomBytes(32).toString('base64')}`));
  const old = now() - 600;
  const stale = createHmac('sha256', Buffer.from(ep.signing_secret.slice(6), 'base64'))
    .update(`${h['webhook-id']}.${old}.${delivered.body}`).digest('base64');
  await rejects('a stale timestamp, rightly signed', client.webhooks.unwrap(delivered.body,
    { ...h, 'webhook-timestamp': String(old), 'webhook-signature': `v1,${stale}` }, ep.signing_secret), /too old/);
  await rejects('the timestamp moved a second', client.webhooks.unwrap(delivered.body,
    { ...h, 'webhook-timestamp': String(Number(h['webhook-timestamp']) + 1) }, ep.signing_secret), /does not match/);
  const j = await job(r.delivery_job_id);
  check('its job: kind webhook, queue webhooks, succeeded, the status kept', j.kind === 'webhook' && j.queue === 'webhooks' &&
    j.status === 'succeeded' && j.result?.status === 200 && j.payload?.event?.id === ev.id, JSON.stringify(j).slice(0, 400));
});

await step('retried until 2xx: the same webhook-id, signed again each time', async () => {
  ep2 = await client.webhooks.create({ url: `${R}/flaky`, event_types: ['batch.failed'] });
  keep(ep2.signing_secret);
  secrets['/flaky'] = ep2.signing_secret;
  const retriedBefore = await metric('retried');
  const r = await client.webhooks.test(ep2.id, { event_type: 'batch.failed' });
  check(`the first attempt: 500, queued to retry (${JSON.stringify(r)})`, r.status_code === 500 && r.delivery_state === 'queued');
  const three = await until(() => at('/flaky').length >= 3 && at('/flaky'));
  check('three attempts arrived', !!three, `${at('/flaky').length}`);
  if (!three) return;
  check('one webhook-id for all', three.every((x) => x.headers['webhook-id'] === r.event_id));
  check(`each verified on arrival within 2 s (${three.map((x) => x.err).join()})`, three.every((x) => x.fresh));
  const ts = three.map((x) => Number(x.headers['webhook-timestamp']));
  check(`timestamps made at each attempt (${ts})`, ts[2] > ts[0] && ts[1] >= ts[0]);
  check('so the third signature differs from the first', three[2].headers['webhook-signature'] !== three[0].headers['webhook-signature']);
  const j = await until(async () => { const x = await job(r.delivery_job_id); return x.status === 'succeeded' && x; }, 10000);
  check('the job succeeded at its third attempt', j && j.attempts === 3, JSON.stringify(j));
  check('retries counted in /metrics', (await metric('retried')) - retriedBefore >= 2);
});

await step('an event goes to every enabled endpoint subscribed to it, only', async () => {
  ep3 = await client.webhooks.create({ url: `${R}/sub`, event_types: ['response.failed'] });
  keep(ep3.signing_secret);
  secrets['/sub'] = ep3.signing_secret;
  ep4 = await client.webhooks.create({ url: `${R}/off`, event_types: ['response.failed'], enabled: false });
  keep(ep4.signing_secret);
  secrets['/off'] = ep4.signing_secret;
  eq('created disabled', ep4.enabled, false);
  epo = await other.webhooks.create({ url: `${R}/other`, name: 'theirs' });
  keep(epo.signing_secret);
  secrets['/other'] = epo.signing_secret;
  eq('emit response.failed: one delivery (not the disabled one, not another tenant\'s)', emit('response.failed', { id: 'resp_42' }), '1');
  const got = await until(() => at('/sub')[0]);
  check('received', !!got);
  const ev = got && await client.webhooks.unwrap(got.body, got.headers, ep3.signing_secret);
  check('response.failed with its data', ev?.type === 'response.failed' && ev?.data?.id === 'resp_42', JSON.stringify(ev));
  eq('emit batch.completed: one delivery', emit('batch.completed', { id: 'batch_7' }), '1');
  const got2 = await until(() => at('/ok').find((x) => x.body.includes('batch_7')));
  check('to the batch.completed subscriber, verified', !!got2 && got2.fresh);
  eq('emit batch.expired: no subscriber, nothing', emit('batch.expired', { id: 'batch_8' }), '0');
  const upd = await client.webhooks.update(ep4.id, { enabled: true, event_types: ['response.failed', 'response.cancelled'], name: 'on' });
  check('updated', upd.enabled === true && upd.name === 'on' && upd.event_types.length === 2, JSON.stringify(upd));
  eq('enabled: both subscribers now', emit('response.failed', { id: 'resp_43' }), '2');
  check('the re-enabled one receives', !!await until(() => at('/off')[0]));
  eq('the other tenant\'s receiver got nothing', at('/other').length, 0);
});

await step('rotation: the old secret signs too for a day when asked', async () => {
  const oldSecret = ep3.signing_secret;
  const rot = await client.webhooks.rotateSecret(ep3.id, { keep_old_secret_active_for_24_hours: true });
  keep(rot.signing_secret);
  check('a new secret', /^whsec_/.test(rot.signing_secret) && rot.signing_secret !== oldSecret);
  secrets['/sub'] = rot.signing_secret;
  const n = at('/sub').length;
  await client.webhooks.test(ep3.id, { event_type: 'response.failed' });
  const got = await until(() => at('/sub').length > n && at('/sub')[n]);
  check('two signatures', got && got.headers['webhook-signature'].split(' ').length === 2, got?.headers['webhook-signature']);
  await client.webhooks.unwrap(got.body, got.headers, rot.signing_secret);
  ok('verifies with the new secret');
  await client.webhooks.unwrap(got.body, got.headers, oldSecret);
  ok('and with the old one');
  const rot2 = await client.webhooks.rotateSecret(ep3.id);
  keep(rot2.signing_secret);
  secrets['/sub'] = rot2.signing_secret;
  await client.webhooks.test(ep3.id, { event_type: 'response.failed' });
  const got2 = await until(() => at('/sub').length > n + 1 && at('/sub')[n + 1]);
  check('one signature again', got2 && got2.headers['webhook-signature'].split(' ').length === 1);
  await rejects('the replaced secret no longer verifies', client.webhooks.unwrap(got2.body, got2.headers, rot.signing_secret));
});

await step('tenant isolation', async () => {
  await status('another tenant: retrieve', other.webhooks.retrieve(ep.id), 404);
  await status('another tenant: update', other.webhooks.update(ep.id, { name: 'mine' }), 404);
  await status('another tenant: rotate', other.webhooks.rotateSecret(ep.id), 404);
  await status('another tenant: test', other.webhooks.test(ep.id, { event_type: 'batch.completed' }), 404);
  await status('another tenant: delete', other.webhooks.delete(ep.id), 404);
  const theirs = [];
  for await (const e of other.webhooks.list()) theirs.push(e.id);
  eq('another tenant lists only its own', theirs, [epo.id]);
  const mine = await client.webhooks.retrieve(ep.id);
  eq('ours unchanged', mine.name, 'ok');
});

await step('delete', async () => {
  const d = await client.webhooks.delete(ep2.id);
  check('deleted', d.deleted === true && d.id === ep2.id && d.object === 'webhook_endpoint.deleted');
  await status('then 404', client.webhooks.retrieve(ep2.id), 404);
  await status('deleted twice: 404', client.webhooks.delete(ep2.id), 404);
});

{
  const want = records.filter((x) => x.path !== '/flaky').length + 1; // /flaky's third answer was 200
  const got = await until(async () => (await metric('delivered')) === want && want, 5000);
  check(`the worker counted ${want} delivered (ingot_webhook_deliveries_total)`, got === want, `${await metric('delivered')}`);
}
check('every delivery verified on arrival', records.every((x) => x.fresh), JSON.stringify(records.filter((x) => !x.fresh).map((x) => [x.path, x.err])));
srv.close();
done();
