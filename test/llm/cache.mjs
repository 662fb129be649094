// The response cache through the official SDK (Ingot-Cache as a default
// header): a miss then a hit with the same answer and no upstream request,
// a streamed request answered from the cache as SSE the SDK assembles, a
// streamed miss stored and served plain, refresh, and a request that is not
// deterministic never cached.
import { check, client, collect, done, eq, fakeSeq, HELLO, ok, step, upstream, WEATHER_TOOL } from './lib.mjs';

const use = client({ maxRetries: 0, defaultHeaders: { 'Ingot-Cache': 'use' } });
const refresh = client({ maxRetries: 0, defaultHeaders: { 'Ingot-Cache': 'refresh' } });
const tag = process.argv[2] ?? 'sdk';
const body = (what, extra = {}) => ({ model: 'fake-ok', temperature: 0, messages: [{ role: 'user', content: `${tag} ${what}` }], ...extra });

await step('plain', async () => {
  const s0 = await fakeSeq();
  const a = await use.chat.completions.create(body('plain')).withResponse();
  eq('plain: the first is a miss', a.response.headers.get('ingot-cache-status'), 'miss');
  const b = await use.chat.completions.create(body('plain')).withResponse();
  eq('plain: the second is a hit', b.response.headers.get('ingot-cache-status'), 'hit');
  eq('plain: the same answer (its id too)', b.data.id, a.data.id);
  eq('plain: content', b.data.choices[0].message.content, HELLO);
  eq('plain: one upstream request for two calls', (await upstream(s0, '/chat/completions')).length, 1);
});

await step('streamed hit', async () => {
  const s0 = await fakeSeq();
  const plain = await use.chat.completions.create(body('stream-hit')); // miss: stored
  const { data: stream, response } = await use.chat.completions
    .create({ ...body('stream-hit'), stream: true, stream_options: { include_usage: true } })
    .withResponse();
  eq('streamed hit: status', response.headers.get('ingot-cache-status'), 'hit');
  eq('streamed hit: text/event-stream', response.headers.get('content-type')?.split(';')[0], 'text/event-stream');
  const got = await collect(stream);
  eq('streamed hit: the content', got.content, plain.choices[0].message.content);
  eq('streamed hit: finish_reason', got.finish, 'stop');
  eq('streamed hit: the usage chunk asked for', got.usage?.total_tokens, plain.usage.total_tokens);
  eq('streamed hit: no upstream request for it', (await upstream(s0, '/chat/completions')).length, 1);
});

await step('streamed miss stored', async () => {
  const s0 = await fakeSeq();
  const st = await use.chat.completions.create({ ...body('stream-miss'), stream: true });
  const got = await collect(st);
  eq('streamed miss: no usage chunk when not asked', got.usageChunks, 0);
  const r = await use.chat.completions.create(body('stream-miss')).withResponse();
  eq('streamed miss: then a plain hit', r.response.headers.get('ingot-cache-status'), 'hit');
  eq('  its content is the stream\'s', r.data.choices[0].message.content, got.content);
  eq('  object', r.data.object, 'chat.completion');
  check('  usage kept from the stream', r.data.usage?.total_tokens > 0, JSON.stringify(r.data.usage));
  eq('  one upstream request', (await upstream(s0, '/chat/completions')).length, 1);
});

await step('tool calls', async () => {
  const b = body('tools', { tools: [WEATHER_TOOL], tool_choice: 'required' });
  const st = await use.chat.completions.create({ ...b, stream: true });
  const got = await collect(st);
  const r = await use.chat.completions.create(b).withResponse();
  eq('tools: a hit', r.response.headers.get('ingot-cache-status'), 'hit');
  const tc = r.data.choices[0].message.tool_calls ?? [];
  eq('tools: the calls put together', tc.map((t) => [t.id, t.function.name, t.function.arguments]),
    got.tools.map((t) => [t.id, t.name, t.arguments]));
  eq('tools: finish_reason', r.data.choices[0].finish_reason, 'tool_calls');
  const again = await collect(await use.chat.completions.create({ ...b, stream: true }));
  eq('tools: streamed from the cache, the same calls', again.tools, got.tools);
});

await step('refresh', async () => {
  const s0 = await fakeSeq();
  const a = await use.chat.completions.create(body('refresh'));
  const r = await refresh.chat.completions.create(body('refresh')).withResponse();
  eq('refresh: goes upstream (miss)', r.response.headers.get('ingot-cache-status'), 'miss');
  check('refresh: a fresh answer', r.data.id !== a.id, `${r.data.id} vs ${a.id}`);
  const b = await use.chat.completions.create(body('refresh'));
  eq('refresh: later hits get the refreshed answer', b.id, r.data.id);
  eq('refresh: two upstream requests', (await upstream(s0, '/chat/completions')).length, 2);
});

await step('not deterministic', async () => {
  const s0 = await fakeSeq();
  const b = { ...body('random'), temperature: 0.7 };
  for (let i = 0; i < 2; i++) {
    const r = await use.chat.completions.create(b).withResponse();
    eq(`temperature 0.7 (${i + 1}): skip`, r.response.headers.get('ingot-cache-status'), 'skip');
  }
  eq('temperature 0.7: every call upstream', (await upstream(s0, '/chat/completions')).length, 2);
});

await step('seed', async () => {
  const b = { ...body('seed'), temperature: 1, seed: 42 };
  await use.chat.completions.create(b);
  const r = await use.chat.completions.create(b).withResponse();
  eq('a seed makes it deterministic: hit', r.response.headers.get('ingot-cache-status'), 'hit');
});

await step('embeddings', async () => {
  const b = { model: 'fake-embed', input: [`${tag} one`, `${tag} two`] };
  const a = await use.embeddings.create(b).withResponse();
  const r = await use.embeddings.create(b).withResponse();
  eq('embeddings: miss then hit', [a.response.headers.get('ingot-cache-status'), r.response.headers.get('ingot-cache-status')], ['miss', 'hit']);
  eq('embeddings: the same vectors', r.data.data.map((d) => d.embedding), a.data.data.map((d) => d.embedding));
});

ok('cache script ran to the end');
done();
