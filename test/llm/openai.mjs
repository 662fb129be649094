// The official openai SDK against ingot serve, ingot against fakellm's
// OpenAI-compatible side: chat, stream, tools, embeddings (the SDK's default
// base64), models, error shapes, what reaches the provider.
import { APIError, BadRequestError } from 'openai';
import { attempts, argsOf, bad, check, client, collect, done, eq, fakeEmbedding, fakeSeq, HELLO, KEY, ok, step,
  upstream, UPSTREAM_KEY, WEATHER_TOOL } from './lib.mjs';

const c = client({ maxRetries: 0 });
const user = [{ role: 'user', content: 'hi' }];

function noClientSecrets(desc, rec) {
  const h = rec?.headers ?? {};
  const stainless = Object.keys(h).filter((k) => k.startsWith('x-stainless'));
  eq(`${desc}: provider key upstream, not the tenant's`, h.authorization, `Bearer ${UPSTREAM_KEY}`);
  eq(`${desc}: no x-stainless-* upstream`, stainless, []);
  check(`${desc}: the tenant key never upstream`, !JSON.stringify(h).includes(KEY), JSON.stringify(h));
}

await step('chat', async () => {
  const s0 = await fakeSeq();
  const r = await c.chat.completions.create({ model: 'fake-ok', messages: user });
  eq('chat: content', r.choices[0].message.content, HELLO);
  eq('chat: finish_reason', r.choices[0].finish_reason, 'stop');
  eq('chat: usage', [r.usage.prompt_tokens, r.usage.completion_tokens, r.usage.total_tokens], [12, 5, 17]);
  check('chat: x-request-id', typeof r._request_id === 'string' && r._request_id.length > 0, r._request_id);
  const up = await upstream(s0, '/chat/completions');
  eq('chat: one upstream request', up.length, 1);
  eq('chat: model upstream', up[0]?.json?.model, 'fake-ok');
  noClientSecrets('chat', up[0]);
});

await step('stream', async () => {
  const s0 = await fakeSeq();
  const out = await collect(await c.chat.completions.create({ model: 'fake-ok', messages: user, stream: true }));
  eq('stream: content assembled', out.content, HELLO);
  eq('stream: finish_reason', out.finish, 'stop');
  eq('stream: no usage chunk when not asked', out.usageChunks, 0);
  check('stream: several chunks', out.chunks >= 5, out.chunks);
  const up = await upstream(s0, '/chat/completions');
  eq('stream: include_usage forced upstream', up[0]?.json?.stream_options?.include_usage, true);
  noClientSecrets('stream', up[0]);
  const u = await collect(await c.chat.completions.create({
    model: 'fake-ok', messages: user, stream: true, stream_options: { include_usage: true } }));
  eq('stream: content with include_usage', u.content, HELLO);
  eq('stream: one usage chunk when asked', u.usageChunks, 1);
  eq('stream: usage', [u.usage?.prompt_tokens, u.usage?.completion_tokens, u.usage?.total_tokens], [12, 5, 17]);
});

await step('stream timing', async () => {
  // 8 events 50 ms apart: relayed as they come, so the first arrives long before the last.
  const t0 = Date.now();
  const s = await c.chat.completions.create({ model: 'fake-delay-50', messages: user, stream: true });
  let first = 0, text = '';
  for await (const ch of s) {
    if (!first && ch.choices?.[0]?.delta?.content) first = Date.now() - t0;
    text += ch.choices?.[0]?.delta?.content ?? '';
  }
  const total = Date.now() - t0;
  eq('stream timing: content', text, HELLO);
  check('stream timing: chunks relayed as they arrive (not buffered)', first < 150 && total >= 300, `first ${first} ms, total ${total} ms`);
});

await step('tools', async () => {
  const r = await c.chat.completions.create({ model: 'fake-ok', messages: user, tools: [WEATHER_TOOL] });
  const tc = r.choices[0].message.tool_calls ?? [];
  eq('tools: one call', tc.length, 1);
  eq('tools: name', tc[0]?.function?.name, 'get_weather');
  eq('tools: arguments', tc[0]?.function?.arguments, argsOf(0));
  eq('tools: finish_reason', r.choices[0].finish_reason, 'tool_calls');
  const out = await collect(await c.chat.completions.create({
    model: 'fake-calls-2', messages: user, tools: [WEATHER_TOOL], stream: true }));
  eq('tools stream: two calls assembled', out.tools.map((t) => [t.id, t.name, t.arguments]),
    [['call_fake_0', 'get_weather', argsOf(0)], ['call_fake_1', 'get_weather', argsOf(1)]]);
  eq('tools stream: finish_reason', out.finish, 'tool_calls');
});

await step('embeddings', async () => {
  const s0 = await fakeSeq();
  attempts.bodies.length = 0;
  const r = await c.embeddings.create({ model: 'fake-ok', input: ['a', 'b'] });
  eq('embeddings: the SDK asked for base64', JSON.parse(attempts.bodies[0] || '{}').encoding_format, 'base64');
  eq('embeddings: decoded floats equal the provider\'s', r.data.map((d) => d.embedding), [fakeEmbedding(0), fakeEmbedding(1)]);
  eq('embeddings: usage', r.usage?.prompt_tokens, 12);
  const up = await upstream(s0, '/embeddings');
  const ef = up[0]?.json?.encoding_format;
  check('embeddings: floats asked upstream', ef === undefined || ef === 'float', `encoding_format ${ef}`);
  noClientSecrets('embeddings', up[0]);
  const f = await c.embeddings.create({ model: 'fake-dims-4', input: 'x', encoding_format: 'float' });
  eq('embeddings: float passes through', f.data[0]?.embedding, fakeEmbedding(0, 4));
});

await step('models', async () => {
  const ids = [];
  for await (const m of c.models.list()) ids.push(m.id);
  check('models: the provider\'s list', ids.includes('fake-ok') && ids.includes('fake-embed'), ids.join(','));
  const m = await c.models.retrieve('fake-ok');
  eq('models: retrieve', [m.id, m.object], ['fake-ok', 'model']);
});

async function failure(desc, p) {
  try { await p; bad(`${desc}: succeeded`); return null; } catch (e) { return e; }
}

await step('errors', async () => {
  const e = await failure('provider 400', c.chat.completions.create({ model: 'fake-400', messages: user }));
  check('provider 400: BadRequestError', e instanceof BadRequestError, e?.constructor?.name);
  eq('provider 400: status and param', [e?.status, e?.param], [400, 'temperature']);
  check('provider 400: message kept', /temperature/.test(e?.message ?? ''), e?.message);
  const m = await failure('no messages', c.chat.completions.create({ model: 'fake-ok' }));
  eq('ours 400: status and param', [m?.status, m?.param], [400, 'messages']);
  check('ours 400: x-request-id', !!m?.requestID, m?.requestID);
  const n = await failure('no model', c.chat.completions.create({ messages: user }));
  eq('ours 400 no model: param', [n?.status, n?.param], [400, 'model']);
  const mid = [];
  const me = await failure('midstream', (async () => {
    const s = await c.chat.completions.create({ model: 'fake-midstream-error', messages: user, stream: true });
    for await (const ch of s) mid.push(ch.choices?.[0]?.delta?.content ?? '');
  })());
  check('error after the 200: the SDK raises it', me instanceof APIError, `${me?.constructor?.name} ${me?.message}`);
  check('error after the 200: message', /midstream/.test(me?.message ?? ''), me?.message);
  eq('error after the 200: content before it', mid.join(''), 'Hello!');
  const bj = await failure('bad json', c.chat.completions.create({ model: 'fake-badjson', messages: user }));
  check('malformed provider answer: 502', bj?.status === 502, `${bj?.status} ${bj?.message}`);
});

await step('client timeout', async () => {
  // The SDK gives up on a provider that never answers: ingot drops the upstream call too.
  const s0 = await fakeSeq();
  const t = client({ maxRetries: 0, timeout: 500 });
  const e = await failure('hang', t.chat.completions.create({ model: 'fake-hang', messages: user }));
  const gaveUp = Date.now();
  check('hang: the SDK times out', e?.constructor?.name === 'APIConnectionTimeoutError', e?.constructor?.name);
  let rec;
  for (let i = 0; i < 40 && !rec?.closed_wall_ms; i++) {
    rec = (await upstream(s0, '/chat/completions'))[0];
    if (!rec?.closed_wall_ms) await new Promise((r) => setTimeout(r, 50));
  }
  const lag = rec?.closed_wall_ms ? rec.closed_wall_ms - gaveUp : null;
  check('hang: upstream closed within 100 ms of the client (non-streaming)', lag !== null && lag < 100, `lag ${lag} ms`);
});

ok('openai script ran to the end');
done();
