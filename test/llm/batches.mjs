// The Batch API with the official openai SDK as the client (run by
// test/integration/test_batches.sh). BATCH_MODE picks what it does:
//   flow      chat and embeddings batches: upload, create, poll to completed,
//             download, every custom_id exactly once with the right answer;
//             list/retrieve; the refusals of create (each 400 names the field)
//   anthropic a chat batch whose model routes to the Anthropic fake
//   cancel    a slow batch cancelled while it runs: cancelled, partial output,
//             the rest batch_cancelled, every custom_id exactly once
//   expire    a slow batch on a server whose window is short: expired, the
//             unrun lines batch_expired, every custom_id exactly once
//   create    upload BATCH_LINES lines of BATCH_MODEL (BATCH_PAD: bytes of
//             padding per line), create, print "batch ID"
//   responses a /v1/responses batch (BATCH_MODEL's provider: passed through,
//             or translated for an openai-chat one): completed, every
//             custom_id once with its Response object, usage counted; the
//             refusals of upload and create naming the line and field
//   verify    BATCH_ID: poll to BATCH_WANT (completed), then check its files
//             hold every custom_id exactly once (BATCH_LINES of them), all in
//             the output file
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { client, eq, check, step, done, bad, ok } from './lib.mjs';

const MODE = process.env.BATCH_MODE || 'flow';
const MODEL = process.env.BATCH_MODEL || 'fake-ok';
const LINES = Number(process.env.BATCH_LINES || 20);
const c = client({ maxRetries: 0 });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingot-batches-'));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const PAD = Number(process.env.BATCH_PAD || 0); // bytes of padding per message (long lines)
function chatLine(i, model = MODEL, tag = 'c') {
  return { custom_id: `${tag}-${i}`, method: 'POST', url: '/v1/chat/completions',
    body: { model, messages: [{ role: 'user', content: `line ${i}` }, ...(PAD ? [{ role: 'user', content: 'x'.repeat(PAD) }] : [])] } };
}
function embedLine(i, model = MODEL) {
  return { custom_id: `e-${i}`, method: 'POST', url: '/v1/embeddings', body: { model, input: [`a${i}`, `b${i}`] } };
}

async function upload(lines, name = 'in.jsonl') {
  const p = path.join(dir, name);
  fs.writeFileSync(p, lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
  return c.files.create({ file: fs.createReadStream(p), purpose: 'batch' });
}

async function poll(id, want, seconds = 120) {
  const end = Date.now() + seconds * 1000;
  let b;
  for (;;) {
    b = await c.batches.retrieve(id);
    if (want.includes(b.status) || Date.now() > end) return b;
    await sleep(100);
  }
}

async function lines(fileId) {
  if (!fileId) return [];
  const r = await c.files.content(fileId);
  const t = await r.text();
  return t.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

// Every custom_id of want exactly once across out and err.
function exactlyOnce(desc, want, out, err) {
  const seen = new Map();
  for (const l of [...out, ...err]) seen.set(l.custom_id, (seen.get(l.custom_id) || 0) + 1);
  const dup = [...seen].filter(([, n]) => n > 1).map(([k]) => k);
  const missing = want.filter((k) => !seen.has(k));
  const extra = [...seen.keys()].filter((k) => !want.includes(k));
  check(`${desc}: every custom_id exactly once (${want.length})`, !dup.length && !missing.length && !extra.length,
    `dup ${dup.slice(0, 5)} missing ${missing.slice(0, 5)} extra ${extra.slice(0, 5)}`);
}

async function refused(desc, params, param) {
  try {
    await c.batches.create(params);
    bad(`${desc}: refused`, 'created');
  } catch (e) {
    eq(`${desc}: 400`, e.status, 400);
    eq(`${desc}: param`, e.param ?? e.error?.param, param);
  }
}

if (MODE === 'flow') {
  await step('chat batch end to end', async () => {
    const ls = [];
    for (let i = 0; i < LINES; i++) ls.push(chatLine(i, i === 3 ? 'fake-400' : `${MODEL}-echo`));
    const f = await upload(ls);
    const b0 = await c.batches.create({ input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h',
      metadata: { project: 'p1', run: '7' } });
    check('create: id batch_...', /^batch_[0-9a-f]{24}$/.test(b0.id), b0.id);
    eq('create: object', b0.object, 'batch');
    check('create: in progress', ['validating', 'in_progress'].includes(b0.status), b0.status);
    eq('create: endpoint', b0.endpoint, '/v1/chat/completions');
    eq('create: input_file_id', b0.input_file_id, f.id);
    eq('create: completion_window', b0.completion_window, '24h');
    eq('create: metadata', b0.metadata, { project: 'p1', run: '7' });
    eq('create: total', b0.request_counts.total, LINES);
    eq('create: expires in 24 h', b0.expires_at - b0.created_at, 86400);
    eq('create: no files yet', [b0.output_file_id, b0.error_file_id], [null, null]);
    const b = await poll(b0.id, ['completed', 'failed', 'expired', 'cancelled']);
    eq('chat batch completed', b.status, 'completed');
    eq('request_counts', b.request_counts, { total: LINES, completed: LINES - 1, failed: 1 });
    check('every *_at in order', b.created_at <= b.in_progress_at && b.in_progress_at <= b.finalizing_at &&
      b.finalizing_at <= b.completed_at, JSON.stringify(b));
    eq('ended times absent', [b.failed_at, b.expired_at, b.cancelled_at, b.cancelling_at], [null, null, null, null]);
    check('usage counted', b.usage.input_tokens > 0 && b.usage.output_tokens > 0 &&
      b.usage.total_tokens === b.usage.input_tokens + b.usage.output_tokens, JSON.stringify(b.usage));
    const out = await lines(b.output_file_id), err = await lines(b.error_file_id);
    eq('output lines', out.length, LINES - 1);
    eq('error lines', err.length, 1);
    exactlyOnce('chat', ls.map((l) => l.custom_id), out, err);
    const good = out.every((l) => l.response.status_code === 200 && l.error === null &&
      l.response.body.choices[0].message.content === `line ${l.custom_id.slice(2)}` &&
      /^batch_req_/.test(l.id) && typeof l.response.request_id === 'string');
    check('each output line answers its own request (echo)', good, JSON.stringify(out[0]));
    eq('the refused line is in the error file with the provider status', [err[0]?.custom_id, err[0]?.response?.status_code,
      err[0]?.response?.body?.error?.param], ['c-3', 400, 'temperature']);
    const of = await c.files.retrieve(b.output_file_id);
    eq('output file purpose', of.purpose, 'batch_output');
    const again = await c.batches.retrieve(b.id);
    eq('retrieve answers the same', again.status, 'completed');
    globalThis.chatBatch = b.id;
  });

  await step('embeddings batch end to end', async () => {
    const ls = [];
    for (let i = 0; i < LINES; i++) ls.push(embedLine(i));
    const f = await upload(ls, 'emb.jsonl');
    const b0 = await c.batches.create({ input_file_id: f.id, endpoint: '/v1/embeddings', completion_window: '24h',
      output_expires_after: { anchor: 'created_at', seconds: 7200 } });
    const b = await poll(b0.id, ['completed', 'failed', 'expired', 'cancelled']);
    eq('embeddings batch completed', b.status, 'completed');
    eq('request_counts', b.request_counts, { total: LINES, completed: LINES, failed: 0 });
    eq('no error file', b.error_file_id, null);
    const out = await lines(b.output_file_id);
    exactlyOnce('embeddings', ls.map((l) => l.custom_id), out, []);
    check('two embeddings per line', out.every((l) => l.response.body.data.length === 2 &&
      l.response.body.object === 'list'), JSON.stringify(out[0]).slice(0, 300));
    const of = await c.files.retrieve(b.output_file_id);
    eq('output_expires_after: the output file expires', of.expires_at - of.created_at, 7200);
  });

  await step('list and pages', async () => {
    const page = await c.batches.list({ limit: 1 });
    eq('limit 1: one', page.data.length, 1);
    check('newest first', page.data[0].endpoint === '/v1/embeddings', page.data[0].endpoint);
    const all = [];
    for await (const b of c.batches.list({ limit: 1 })) all.push(b.id);
    check('auto-paging reaches the chat batch', all.includes(globalThis.chatBatch) && all.length >= 2, all);
  });

  await step('create refusals name the field', async () => {
    const f = await upload([chatLine(1, MODEL)], 'one.jsonl');
    await refused('responses endpoint, chat lines', { input_file_id: f.id, endpoint: '/v1/responses', completion_window: '24h' }, 'line[1].url');
    await refused('an unknown endpoint', { input_file_id: f.id, endpoint: '/v1/completions', completion_window: '24h' }, 'endpoint');
    await refused('completion_window 1h', { input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '1h' }, 'completion_window');
    await refused('endpoint unlike the lines', { input_file_id: f.id, endpoint: '/v1/embeddings', completion_window: '24h' }, 'line[1].url');
    await refused('unknown file', { input_file_id: 'file-000000000000000000000000', endpoint: '/v1/chat/completions', completion_window: '24h' }, 'input_file_id');
    const meta = {};
    for (let i = 0; i < 17; i++) meta[`k${i}`] = 'v';
    await refused('17 metadata keys', { input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: meta }, 'metadata');
    await refused('output_expires_after.seconds 10', { input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h',
      output_expires_after: { anchor: 'created_at', seconds: 10 } }, 'output_expires_after.seconds');
    const u = await c.files.create({ file: new File(['x'], 'x.txt'), purpose: 'user_data' });
    await refused('a file of another purpose', { input_file_id: u.id, endpoint: '/v1/chat/completions', completion_window: '24h' }, 'input_file_id');
    try {
      await c.batches.retrieve('batch_000000000000000000000000');
      bad('unknown batch: 404', 'found');
    } catch (e) { eq('unknown batch: 404', e.status, 404); }
    try {
      await c.batches.cancel(globalThis.chatBatch);
      bad('cancel a completed batch: 409', 'cancelled');
    } catch (e) { eq('cancel a completed batch: 409', e.status, 409); }
  });
} else if (MODE === 'anthropic') {
  await step('a chat batch through the Anthropic provider', async () => {
    const ls = [];
    for (let i = 0; i < LINES; i++) ls.push(chatLine(i, MODEL, 'a'));
    const f = await upload(ls);
    const b0 = await c.batches.create({ input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const b = await poll(b0.id, ['completed', 'failed', 'expired', 'cancelled']);
    eq('anthropic batch completed', b.status, 'completed');
    eq('request_counts', b.request_counts, { total: LINES, completed: LINES, failed: 0 });
    const out = await lines(b.output_file_id);
    exactlyOnce('anthropic', ls.map((l) => l.custom_id), out, []);
    check('answers translated to chat completions', out.every((l) => l.response.body.object === 'chat.completion' &&
      typeof l.response.body.choices[0].message.content === 'string'), JSON.stringify(out[0]).slice(0, 300));
    check('usage counted', b.usage.input_tokens > 0, JSON.stringify(b.usage));
  });
} else if (MODE === 'cancel' || MODE === 'expire') {
  await step(`a ${MODE === 'cancel' ? 'cancelled' : 'expired'} batch`, async () => {
    const ls = [];
    for (let i = 0; i < LINES; i++) ls.push(chatLine(i, MODEL, 'k'));
    const f = await upload(ls);
    const b0 = await c.batches.create({ input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    // some lines done first
    const t0 = Date.now();
    let b = b0;
    while (b.request_counts.completed < 3 && Date.now() - t0 < 60000) { await sleep(100); b = await c.batches.retrieve(b0.id); }
    check('some lines completed while it runs', b.request_counts.completed >= 3 && b.status === 'in_progress', JSON.stringify(b.request_counts));
    const code = MODE === 'cancel' ? 'batch_cancelled' : 'batch_expired';
    if (MODE === 'cancel') {
      const cb = await c.batches.cancel(b0.id);
      eq('cancel answers cancelling', cb.status, 'cancelling');
      check('cancelling_at set', cb.cancelling_at > 0, cb.cancelling_at);
      const again = await c.batches.cancel(b0.id);
      check('a second cancel answers the batch', ['cancelling', 'cancelled'].includes(again.status), again.status);
    }
    b = await poll(b0.id, ['completed', 'failed', 'expired', 'cancelled']);
    eq(`ends ${MODE === 'cancel' ? 'cancelled' : 'expired'}`, b.status, MODE === 'cancel' ? 'cancelled' : 'expired');
    check(`${MODE === 'cancel' ? 'cancelled_at' : 'expired_at'} set`, (MODE === 'cancel' ? b.cancelled_at : b.expired_at) > 0, JSON.stringify(b));
    const out = await lines(b.output_file_id), err = await lines(b.error_file_id);
    exactlyOnce(MODE, ls.map((l) => l.custom_id), out, err);
    check('partial results: some output, not all', out.length >= 3 && out.length < LINES, `${out.length}`);
    check(`the rest are ${code} errors`, err.length > 0 && err.every((l) => l.error?.code === code && l.response === null),
      JSON.stringify(err[0]));
    eq('request_counts add up', [b.request_counts.completed, b.request_counts.failed], [out.length, err.length]);
  });
} else if (MODE === 'responses') {
  const respLine = (i, extra = {}) => ({ custom_id: `r-${i}`, method: 'POST', url: '/v1/responses',
    body: { model: `${MODEL}-echo`, instructions: 'Be brief.', input: `line ${i}`, metadata: { n: `${i}` }, ...extra } });
  await step(`a responses batch (${MODEL})`, async () => {
    const ls = [];
    for (let i = 0; i < LINES; i++) ls.push(respLine(i));
    const f = await upload(ls, 'resp.jsonl');
    const b0 = await c.batches.create({ input_file_id: f.id, endpoint: '/v1/responses', completion_window: '24h' });
    eq('create: endpoint', b0.endpoint, '/v1/responses');
    eq('create: total', b0.request_counts.total, LINES);
    const b = await poll(b0.id, ['completed', 'failed', 'expired', 'cancelled']);
    eq('responses batch completed', b.status, 'completed');
    eq('request_counts', b.request_counts, { total: LINES, completed: LINES, failed: 0 });
    const out = await lines(b.output_file_id);
    exactlyOnce('responses', ls.map((l) => l.custom_id), out, []);
    const good = out.every((l) => l.response.status_code === 200 && l.error === null &&
      l.response.body.object === 'response' && l.response.body.status === 'completed' &&
      l.response.body.output?.[0]?.content?.[0]?.text === `line ${l.custom_id.slice(2)}`);
    check('each output line is its own Response object (echo)', good, JSON.stringify(out[0]).slice(0, 400));
    check('usage counted', b.usage.input_tokens > 0 && b.usage.output_tokens > 0 &&
      b.usage.total_tokens === b.usage.input_tokens + b.usage.output_tokens, JSON.stringify(b.usage));
    console.log(`batch ${b.id}`);
  });
  await step('responses lines the batch cannot run: 400 naming the line and field', async () => {
    const upRefused = async (desc, extra, param) => {
      const ls = [respLine(1), respLine(2, extra)];
      try {
        await upload(ls, 'bad.jsonl');
        bad(`${desc}: upload refused`, 'stored');
      } catch (e) {
        eq(`${desc}: upload 400`, e.status, 400);
        eq(`${desc}: param`, e.param ?? e.error?.param, param);
      }
    };
    await upRefused('stream', { stream: true }, 'line[2].body.stream');
    await upRefused('background', { background: true }, 'line[2].body.background');
    if (process.env.BATCH_TRANSLATED) {
      await upRefused('previous_response_id', { previous_response_id: 'resp_1' }, 'line[2].body.previous_response_id');
      await upRefused('a built-in tool', { tools: [{ type: 'web_search' }] }, 'line[2].body.tools[0].type');
    }
  });
} else if (MODE === 'create') {
  const ls = [];
  for (let i = 0; i < LINES; i++) ls.push(chatLine(i, MODEL, process.env.BATCH_TAG || 'x'));
  const f = await upload(ls);
  const b = await c.batches.create({ input_file_id: f.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
  console.log(`batch ${b.id}`);
} else if (MODE === 'verify') {
  await step('verify', async () => {
    const want = process.env.BATCH_WANT || 'completed';
    const b = await poll(process.env.BATCH_ID, ['completed', 'failed', 'expired', 'cancelled'], Number(process.env.BATCH_WAIT || 300));
    eq(`${b.id} ${want}`, b.status, want);
    const out = await lines(b.output_file_id), err = await lines(b.error_file_id);
    const tag = process.env.BATCH_TAG || 'x';
    exactlyOnce('verify', Array.from({ length: LINES }, (_, i) => `${tag}-${i}`), out, err);
    eq('all in the output file', [out.length, err.length], [LINES, 0]);
    eq('request_counts', b.request_counts, { total: LINES, completed: LINES, failed: 0 });
    console.log(`times ${b.in_progress_at} ${b.completed_at}`);
  });
}
ok(`mode ${MODE} ran`);
done();
