// The Responses API through ingot with the official openai SDK
// (test/integration/test_llm_responses.sh): passed through to an openai
// provider (plain, streamed), translated for an openai-chat provider and
// for Anthropic, refusals of what cannot be translated, and background
// responses as durable jobs (created, polled, cancelled queued and
// running, other tenants shut out).
import http from 'node:http';
import OpenAI from 'openai';
import { INGOT, KEY, bad, check, client, done, eq, fakeLog, fakeSeq, ok, step } from './lib.mjs';

const c = client({ maxRetries: 0 });
const other = new OpenAI({ baseURL: `${INGOT}/v1`, apiKey: process.env.OTHER_KEY, maxRetries: 0 });
const HELLO = 'Hello! This is fakellm.';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function lastTo(since, path) {
  const log = await fakeLog(since);
  return log.filter((r) => r.path.endsWith(path)).pop();
}

async function refused(desc, body, param) {
  try {
    await c.responses.create(body);
    bad(`${desc}: refused`, 'it was accepted');
  } catch (e) {
    eq(`${desc}: 400`, e.status, 400);
    eq(`${desc}: param names the field`, e.param ?? e.error?.param, param);
    check(`${desc}: the message says why`, (e.message || '').length > 20, e.message);
  }
}

async function poll(id, want, ms = 20000, cl = c) {
  const end = Date.now() + ms;
  let r;
  while (Date.now() < end) {
    r = await cl.responses.retrieve(id);
    if (want.includes(r.status)) return r;
    await sleep(50);
  }
  return r;
}

const weather = {
  type: 'function', name: 'get_weather', description: 'the weather',
  parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};

// A webhook endpoint of acme for the response.* events, verified on
// arrival with the SDK's webhooks.unwrap(): every background response
// that ends is announced once (checked at the end).
const hooks = [];          // {type, id, verified}
const expected = [];       // [resp id, event type]
let hookSecret = '';
const srv = http.createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => { body += d; });
  req.on('end', async () => {
    let ev = null, verified = false;
    try { ev = await c.webhooks.unwrap(body, req.headers, hookSecret); verified = true; } catch (e) { ev = JSON.parse(body || '{}'); }
    hooks.push({ type: ev?.type, id: ev?.data?.id, verified });
    res.writeHead(200);
    res.end('ok');
  });
});
await new Promise((r) => srv.listen(0, '127.0.0.1', r));
await step('webhook endpoint for response.* events', async () => {
  const ep = await c.webhooks.create({ url: `http://127.0.0.1:${srv.address().port}/hook`,
    event_types: ['response.completed', 'response.failed', 'response.cancelled'] });
  hookSecret = ep.signing_secret;
  check('webhook endpoint created', /^whsec_/.test(hookSecret ?? ''), JSON.stringify(ep));
});

await step('passthrough: plain', async () => {
  const since = await fakeSeq();
  const r = await c.responses.create({ model: 'fake-ok', input: 'hi', instructions: 'be brief' });
  eq('passthrough: object response', r.object, 'response');
  eq('passthrough: status completed', r.status, 'completed');
  eq('passthrough: output_text (SDK) is the provider\'s text', r.output_text, HELLO);
  eq('passthrough: usage input_tokens', r.usage?.input_tokens, 12);
  eq('passthrough: usage output_tokens', r.usage?.output_tokens, 5);
  const up = await lastTo(since, '/responses');
  check('passthrough: the provider got POST /responses', up, JSON.stringify(await fakeLog(since)));
  eq('passthrough: the body went as sent (instructions)', up?.json?.instructions, 'be brief');
});

await step('passthrough: streamed', async () => {
  const s = await c.responses.create({ model: 'fake-ok', input: 'hi', stream: true });
  const types = [];
  let text = '', last;
  for await (const ev of s) {
    types.push(ev.type);
    if (ev.type === 'response.output_text.delta') text += ev.delta;
    last = ev;
  }
  eq('stream: first event response.created', types[0], 'response.created');
  eq('stream: five output_text deltas', types.filter((t) => t === 'response.output_text.delta').length, 5);
  eq('stream: deltas add up to the text', text, HELLO);
  eq('stream: last event response.completed', last?.type, 'response.completed');
  eq('stream: usage in response.completed', last?.response?.usage?.output_tokens, 5);
});

await step('passthrough: stream helper (responses.stream)', async () => {
  const s = c.responses.stream({ model: 'fake-ok', input: 'hi' });
  const final = await s.finalResponse();
  eq('stream helper: final output_text', final.output_text, HELLO);
});

await step('passthrough: mid-stream error reaches the SDK', async () => {
  const s = await c.responses.create({ model: 'fake-midstream-error', input: 'hi', stream: true });
  try {
    for await (const ev of s) { void ev; }
    bad('mid-stream error: raised', 'the stream ended normally');
  } catch (e) {
    ok(`mid-stream error: raised (${e.constructor.name})`);
  }
});

await step('chat-only provider: translated', async () => {
  const since = await fakeSeq();
  const r = await c.responses.create({
    model: 'chatonly/fake-ok', instructions: 'be brief', max_output_tokens: 50, store: false,
    input: [{ role: 'user', content: [{ type: 'input_text', text: 'hello there' }] }],
  });
  eq('chat-only: status completed', r.status, 'completed');
  eq('chat-only: output_text', r.output_text, HELLO);
  eq('chat-only: usage input_tokens', r.usage?.input_tokens, 12);
  eq('chat-only: usage output_tokens', r.usage?.output_tokens, 5);
  check('chat-only: id resp_', r.id.startsWith('resp_'), r.id);
  const up = await lastTo(since, '/chat/completions');
  check('chat-only: the provider got chat/completions', up, JSON.stringify(await fakeLog(since)));
  eq('chat-only: instructions -> system message', up?.json?.messages?.[0], { role: 'system', content: 'be brief' });
  eq('chat-only: input parts -> user content', up?.json?.messages?.[1]?.content?.[0]?.text, 'hello there');
  eq('chat-only: max_output_tokens -> max_tokens', up?.json?.max_tokens, 50);
  check('chat-only: nothing went to /responses', !(await lastTo(since, '/responses')));
});

await step('chat-only provider: function tools round trip', async () => {
  const since = await fakeSeq();
  const r = await c.responses.create({ model: 'chatonly/fake-ok', input: 'weather in Paris?', tools: [weather] });
  const call = r.output.find((o) => o.type === 'function_call');
  check('tools: a function_call item', call, JSON.stringify(r.output));
  eq('tools: its name', call?.name, 'get_weather');
  check('tools: arguments a JSON string', typeof call?.arguments === 'string' && JSON.parse(call.arguments).city === 'Paris', call?.arguments);
  const up = await lastTo(since, '/chat/completions');
  eq('tools: sent as chat function tools', up?.json?.tools?.[0]?.function?.name, 'get_weather');
  const r2 = await c.responses.create({
    model: 'chatonly/fake-ok', tools: [weather],
    input: [{ role: 'user', content: 'weather in Paris?' },
      { type: 'function_call', call_id: call.call_id, name: call.name, arguments: call.arguments },
      { type: 'function_call_output', call_id: call.call_id, output: '18C and sunny' }],
  });
  eq('tools: the answer after the tool result is text', r2.output_text, HELLO);
  const up2 = await lastTo(since, '/chat/completions');
  const msgs = up2?.json?.messages ?? [];
  eq('tools: function_call -> assistant tool_calls', msgs[1]?.tool_calls?.[0]?.id, call.call_id);
  eq('tools: function_call_output -> tool message', msgs[2], { role: 'tool', tool_call_id: call.call_id, content: '18C and sunny' });
});

await step('chat-only provider: text.format json_schema', async () => {
  const since = await fakeSeq();
  await c.responses.create({
    model: 'chatonly/fake-ok', input: 'json please',
    text: { format: { type: 'json_schema', name: 'out', schema: { type: 'object', properties: {} }, strict: true } },
  });
  const up = await lastTo(since, '/chat/completions');
  eq('text.format -> response_format json_schema', up?.json?.response_format?.type, 'json_schema');
  eq('text.format: the schema\'s name', up?.json?.response_format?.json_schema?.name, 'out');
});

await step('anthropic provider: translated', async () => {
  const since = await fakeSeq();
  const r = await c.responses.create({ model: 'anth/fake-ok', input: 'hi', instructions: 'be brief' });
  eq('anthropic: status completed', r.status, 'completed');
  eq('anthropic: output_text', r.output_text, HELLO);
  eq('anthropic: usage input_tokens (cache tokens included)', r.usage?.input_tokens, 12);
  const up = await lastTo(since, '/messages');
  check('anthropic: the provider got /messages', up, JSON.stringify(await fakeLog(since)));
  eq('anthropic: instructions -> system', up?.json?.system, 'be brief');
  const t = await c.responses.create({ model: 'anth/fake-ok', input: 'weather?', tools: [weather] });
  eq('anthropic: tool_use -> function_call', t.output.find((o) => o.type === 'function_call')?.name, 'get_weather');
});

for (const [name, model] of [['chat-only', 'chatonly/fake-ok'], ['anthropic', 'anth/fake-ok']]) {
  await step(`${name}: streamed (translated)`, async () => {
    const s = await c.responses.create({ model, input: 'hi', stream: true });
    const types = [];
    let text = '', last;
    for await (const ev of s) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
      last = ev;
    }
    eq(`${name} stream: first event response.created`, types[0], 'response.created');
    check(`${name} stream: output_item.added then content_part.added`, types.indexOf('response.output_item.added') < types.indexOf('response.content_part.added') && types.indexOf('response.content_part.added') < types.indexOf('response.output_text.delta'), types.join(','));
    eq(`${name} stream: deltas add up to the text`, text, HELLO);
    eq(`${name} stream: last event response.completed`, last?.type, 'response.completed');
    eq(`${name} stream: the final response's text`, last?.response?.output?.[0]?.content?.[0]?.text, HELLO);
    eq(`${name} stream: usage in response.completed`, last?.response?.usage?.output_tokens, 5);
    check(`${name} stream: no [DONE] or chat chunk leaked`, !types.some((t) => !t || !t.startsWith('response.')), types.join(','));
  });
  await step(`${name}: streamed tool call (SDK stream helper)`, async () => {
    const s = c.responses.stream({ model, input: 'weather?', tools: [weather] });
    const argDeltas = [];
    s.on('response.function_call_arguments.delta', (e) => argDeltas.push(e.delta));
    const final = await s.finalResponse();
    const call = final.output.find((o) => o.type === 'function_call');
    eq(`${name} stream tools: a function_call item`, call?.name, 'get_weather');
    check(`${name} stream tools: arguments streamed and whole`, argDeltas.length > 0 && argDeltas.join('') === call?.arguments && JSON.parse(call.arguments).city === 'Paris', `${argDeltas.join('|')} vs ${call?.arguments}`);
  });
}

for (const [name, model] of [['passthrough', 'fake-delay-100-words-30-t499'], ['chat-only', 'chatonly/fake-delay-100-words-30-t499']]) {
  await step(`${name}: a client that leaves mid-stream`, async () => {
    const ac = new AbortController();
    const s = await c.responses.create({ model, input: 'long', stream: true }, { signal: ac.signal });
    let deltas = 0;
    try {
      for await (const ev of s) {
        if (ev.type === 'response.output_text.delta' && ++deltas === 3) ac.abort();
      }
    } catch (e) { void e; }
    eq(`${name} leaves: after 3 deltas`, deltas, 3);
  });
}

await step('refusals', async () => {
  await refused('previous_response_id on a chat-only provider', { model: 'chatonly/fake-ok', input: 'x', previous_response_id: 'resp_1' }, 'previous_response_id');
  await refused('conversation on Anthropic', { model: 'anth/fake-ok', input: 'x', conversation: 'conv_1' }, 'conversation');
  await refused('a built-in tool on a chat-only provider', { model: 'chatonly/fake-ok', input: 'x', tools: [{ type: 'web_search' }] }, 'tools[0].type');
  await refused('no input', { model: 'fake-ok' }, 'input');
  await refused('background with previous_response_id (chat-only)', { model: 'chatonly/fake-ok', input: 'x', background: true, previous_response_id: 'resp_1' }, 'previous_response_id');
  await refused('background and stream', { model: 'fake-ok', input: 'x', background: true, stream: true }, 'stream');
});

for (const [name, model] of [['passthrough', 'fake-ok'], ['chat-only', 'chatonly/fake-ok'], ['anthropic', 'anth/fake-ok']]) {
  await step(`background (${name}): created, polled to completed`, async () => {
    const r = await c.responses.create({ model, input: 'hi', background: true, metadata: { t: name } });
    eq(`background ${name}: answered queued`, r.status, 'queued');
    eq(`background ${name}: background true`, r.background, true);
    check(`background ${name}: id resp_N`, /^resp_\d+$/.test(r.id), r.id);
    const f = await poll(r.id, ['completed', 'failed', 'incomplete']);
    eq(`background ${name}: completed`, f.status, 'completed');
    eq(`background ${name}: the same id`, f.id, r.id);
    eq(`background ${name}: output_text`, f.output_text, HELLO);
    eq(`background ${name}: usage output_tokens`, f.usage?.output_tokens, 5);
    eq(`background ${name}: metadata kept`, f.metadata, { t: name });
    expected.push([r.id, 'response.completed']);
  });
}

await step('background: a provider refusal ends failed', async () => {
  const r = await c.responses.create({ model: 'fake-400', input: 'x', background: true });
  const f = await poll(r.id, ['failed', 'completed']);
  eq('failed: status failed', f.status, 'failed');
  check('failed: error.message says what the provider said', /400/.test(f.error?.message ?? '') && /temperature/.test(f.error?.message ?? ''), JSON.stringify(f.error));
  check('failed: error.code', typeof f.error?.code === 'string' && f.error.code.length > 0, JSON.stringify(f.error));
  eq('failed: no output', f.output, []);
  expected.push([r.id, 'response.failed']);
});

await step('background: cancel while running stops the call', async () => {
  const since = await fakeSeq();
  const r = await c.responses.create({ model: 'fake-hang', input: 'slow', background: true });
  const run = await poll(r.id, ['in_progress']);
  eq('cancel running: it ran', run.status, 'in_progress');
  const x = await c.responses.cancel(r.id);
  eq('cancel running: answered cancelled', x.status, 'cancelled');
  expected.push([r.id, 'response.cancelled']);
  eq('cancel running: stays cancelled', (await c.responses.retrieve(r.id)).status, 'cancelled');
  let closed = false;
  for (let i = 0; i < 100 && !closed; i++) {
    const rec = await lastTo(since, '/responses');
    closed = !!rec?.closed_mono_ms;
    if (!closed) await sleep(50);
  }
  check('cancel running: the provider call was stopped', closed);
});

await step('background: cancel while queued', async () => {
  const q = (paused) => fetch(`${INGOT}/v1/queues/responses`, {
    method: 'PUT', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ paused }),
  });
  eq('cancel queued: queue responses paused', (await q(true)).status, 200);
  try {
    const r = await c.responses.create({ model: 'fake-ok', input: 'never runs', background: true });
    await sleep(300);
    eq('cancel queued: still queued', (await c.responses.retrieve(r.id)).status, 'queued');
    const x = await c.responses.cancel(r.id);
    eq('cancel queued: cancelled at once', x.status, 'cancelled');
    expected.push([r.id, 'response.cancelled']);
    eq('cancel queued: no output', x.output, []);
    // a bulk cancel of the queue's waiting responses announces each
    const b1 = await c.responses.create({ model: 'fake-ok', input: 'bulk 1', background: true });
    const b2 = await c.responses.create({ model: 'fake-ok', input: 'bulk 2', background: true });
    const bulk = await fetch(`${INGOT}/v1/jobs/cancel`, {
      method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ queue: 'responses', status: 'queued' }),
    });
    const bj = await bulk.json();
    eq('bulk cancel: both changed', bj.changed, 2);
    for (const b of [b1, b2]) {
      eq(`bulk cancel: ${b.id} cancelled`, (await c.responses.retrieve(b.id)).status, 'cancelled');
      expected.push([b.id, 'response.cancelled']);
    }
  } finally {
    await q(false);
  }
});

await step('other tenants see nothing', async () => {
  const r = await c.responses.create({ model: 'fake-ok', input: 'mine', background: true });
  for (const [what, fn] of [['retrieve', () => other.responses.retrieve(r.id)], ['cancel', () => other.responses.cancel(r.id)]]) {
    try {
      await fn();
      bad(`isolation: ${what} by another tenant refused`);
    } catch (e) {
      eq(`isolation: ${what} by another tenant is 404`, e.status, 404);
    }
  }
  eq('isolation: the owner still sees it', (await poll(r.id, ['completed'])).status, 'completed');
  expected.push([r.id, 'response.completed']);
  try {
    await c.responses.retrieve('resp_nope');
    bad('a malformed id: 404');
  } catch (e) { eq('a malformed id: 404', e.status, 404); }
});

await step('webhooks: every background response that ended was announced once', async () => {
  const end = Date.now() + 20000;
  while (Date.now() < end && !expected.every(([id]) => hooks.some((h) => h.id === id))) await sleep(100);
  for (const [id, type] of expected) {
    const got = hooks.filter((h) => h.id === id);
    eq(`webhook for ${id}: once, ${type}`, got.map((h) => h.type), [type]);
    check(`webhook for ${id}: verified by webhooks.unwrap()`, got.length === 1 && got[0].verified);
  }
  eq('webhooks: nothing else (no sync call, no chat) announced', hooks.length, expected.length);
  check('webhooks: all kinds of end seen', ['response.completed', 'response.failed', 'response.cancelled'].every((t) => expected.some(([, e]) => e === t)));
});
srv.close();

done();
