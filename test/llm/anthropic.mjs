// The official openai SDK against ingot serve whose provider is Anthropic
// (fakellm's /anthropic/v1): translation both ways, streamed tool calls
// included, checked at the client and in what reached the provider.
import { APIError, BadRequestError } from 'openai';
import { argsOf, bad, check, client, collect, done, eq, fakeSeq, HELLO, KEY, ok, step, upstream, UPSTREAM_KEY,
  WEATHER_TOOL } from './lib.mjs';

const c = client({ maxRetries: 0 });
const user = [{ role: 'user', content: 'hi' }];
async function failure(p) {
  try { await p; return null; } catch (e) { return e; }
}
async function sent(s0) {
  const up = await upstream(s0, '/messages');
  return up[up.length - 1];
}

await step('chat', async () => {
  const s0 = await fakeSeq();
  const r = await c.chat.completions.create({
    model: 'fake-ok',
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'developer', content: 'Answer in English.' },
      { role: 'user', content: 'hi' },
      { role: 'user', content: 'there' },
    ],
    stop: ['END'],
  });
  eq('chat: content', r.choices[0].message.content, HELLO);
  eq('chat: finish_reason (end_turn)', r.choices[0].finish_reason, 'stop');
  eq('chat: usage (prompt = input + cache read + cache creation)',
    [r.usage?.prompt_tokens, r.usage?.completion_tokens, r.usage?.total_tokens], [12, 5, 17]);
  eq('chat: cached tokens', r.usage?.prompt_tokens_details?.cached_tokens, 3);
  check('chat: x-request-id', !!r._request_id, r._request_id);
  const rec = await sent(s0);
  const h = rec?.headers ?? {};
  eq('chat: x-api-key upstream', h['x-api-key'], UPSTREAM_KEY);
  eq('chat: anthropic-version', h['anthropic-version'], '2023-06-01');
  eq('chat: no authorization upstream', h.authorization, undefined);
  eq('chat: no x-stainless-* upstream', Object.keys(h).filter((k) => k.startsWith('x-stainless')), []);
  check('chat: the tenant key never upstream', !JSON.stringify(h).includes(KEY));
  const b = rec?.json ?? {};
  const sys = typeof b.system === 'string' ? b.system : (b.system ?? []).map((x) => x.text).join('\n');
  check('chat: system and developer hoisted', sys.includes('Be brief.') && sys.includes('Answer in English.'), JSON.stringify(b.system));
  eq('chat: no system role left in messages', (b.messages ?? []).filter((m) => m.role !== 'user' && m.role !== 'assistant').length, 0);
  eq('chat: consecutive user turns merged', (b.messages ?? []).map((m) => m.role), ['user']);
  check('chat: max_tokens set', Number.isInteger(b.max_tokens) && b.max_tokens > 0, b.max_tokens);
  eq('chat: stop -> stop_sequences', b.stop_sequences, ['END']);
  eq('chat: no stop field upstream', b.stop, undefined);
});

await step('stream', async () => {
  const out = await collect(await c.chat.completions.create({
    model: 'fake-ok', messages: user, stream: true, stream_options: { include_usage: true } }));
  eq('stream: content', out.content, HELLO);
  eq('stream: finish_reason', out.finish, 'stop');
  eq('stream: usage chunk', [out.usageChunks, out.usage?.prompt_tokens, out.usage?.completion_tokens], [1, 12, 5]);
  eq('stream: one id for every chunk', out.ids.size, 1);
  const plain = await collect(await c.chat.completions.create({ model: 'fake-ok', messages: user, stream: true }));
  eq('stream without include_usage: content', plain.content, HELLO);
  eq('stream without include_usage: no usage chunk', plain.usageChunks, 0);
  const cut = await collect(await c.chat.completions.create({ model: 'fake-ok', messages: user, stream: true, max_tokens: 2 }));
  eq('stream max_tokens: content cut', cut.content, 'Hello!');
  eq('stream max_tokens: finish_reason length', cut.finish, 'length');
});

await step('tools', async () => {
  const s0 = await fakeSeq();
  const r = await c.chat.completions.create({
    model: 'fake-ok', messages: user, tools: [WEATHER_TOOL], tool_choice: 'required', parallel_tool_calls: false });
  const tc = r.choices[0].message.tool_calls ?? [];
  eq('tools: one call', tc.length, 1);
  eq('tools: id and name', [tc[0]?.id, tc[0]?.function?.name], ['toolu_fake_0', 'get_weather']);
  eq('tools: arguments (input object -> JSON string)', JSON.parse(tc[0]?.function?.arguments ?? 'null'), JSON.parse(argsOf(0)));
  eq('tools: finish_reason tool_calls', r.choices[0].finish_reason, 'tool_calls');
  const b = (await sent(s0))?.json ?? {};
  eq('tools: tool translated', b.tools?.[0] && [b.tools[0].name, b.tools[0].description, b.tools[0].input_schema],
    ['get_weather', WEATHER_TOOL.function.description, WEATHER_TOOL.function.parameters]);
  eq('tools: required -> any', b.tool_choice?.type, 'any');
  eq('tools: parallel_tool_calls false -> disable_parallel_tool_use', b.tool_choice?.disable_parallel_tool_use, true);
});

await step('tools stream', async () => {
  const out = await collect(await c.chat.completions.create({
    model: 'fake-pretext-calls-2', messages: user, tools: [WEATHER_TOOL], stream: true }));
  eq('tools stream: text before the calls', out.content, 'Let me check.');
  eq('tools stream: two calls assembled from input_json_delta', out.tools.map((t) => [t.id, t.name, t.arguments]),
    [['toolu_fake_0', 'get_weather', argsOf(0)], ['toolu_fake_1', 'get_weather', argsOf(1)]]);
  eq('tools stream: finish_reason tool_calls (not stop)', out.finish, 'tool_calls');
});

await step('tool round trip', async () => {
  const s0 = await fakeSeq();
  const r = await c.chat.completions.create({
    model: 'fake-ok',
    tools: [WEATHER_TOOL],
    messages: [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: [
        { id: 'toolu_fake_0', type: 'function', function: { name: 'get_weather', arguments: argsOf(0) } }] },
      { role: 'tool', tool_call_id: 'toolu_fake_0', content: '18C and sunny' },
    ],
  });
  eq('round trip: text after the tool result', r.choices[0].message.content, HELLO);
  eq('round trip: finish_reason', r.choices[0].finish_reason, 'stop');
  const b = (await sent(s0))?.json ?? {};
  const ms = b.messages ?? [];
  eq('round trip: roles upstream', ms.map((m) => m.role), ['user', 'assistant', 'user']);
  const use = (ms[1]?.content ?? []).find((x) => x.type === 'tool_use');
  eq('round trip: tool_use block', use && [use.id, use.name, use.input], ['toolu_fake_0', 'get_weather', JSON.parse(argsOf(0))]);
  const res = (Array.isArray(ms[2]?.content) ? ms[2].content : []).find((x) => x.type === 'tool_result');
  const text = typeof res?.content === 'string' ? res.content : (res?.content ?? []).map((x) => x.text).join('');
  eq('round trip: tool_result block', res && [res.tool_use_id, text], ['toolu_fake_0', '18C and sunny']);
});

await step('errors', async () => {
  const o = await failure(c.chat.completions.create({ model: 'fake-529', messages: user }));
  eq('overloaded 529 -> 503', o?.status, 503);
  const rl = await failure(c.chat.completions.create({ model: 'fake-429-retry-20', messages: user }));
  eq('rate_limit_error -> 429', rl?.status, 429);
  check('429: retry-after', !!rl?.headers?.get?.('retry-after'), rl?.headers && [...rl.headers.entries()].join(' '));
  const bad400 = await failure(c.chat.completions.create({ model: 'fake-400', messages: user }));
  check('invalid_request_error -> BadRequestError', bad400 instanceof BadRequestError, bad400?.constructor?.name);
  check('invalid_request_error: message kept', /temperature/.test(bad400?.message ?? ''), bad400?.message);
  const mid = [];
  const me = await failure((async () => {
    const s = await c.chat.completions.create({ model: 'fake-midstream-error', messages: user, stream: true });
    for await (const ch of s) mid.push(ch.choices?.[0]?.delta?.content ?? '');
  })());
  check('error event after the 200: the SDK raises it', me instanceof APIError, `${me?.constructor?.name} ${me?.message}`);
  eq('error event after the 200: content before it', mid.join(''), 'Hello!');
  const em = await failure(c.embeddings.create({ model: 'fake-ok', input: 'x' }));
  eq('embeddings on anthropic: 400 naming model', [em?.status, em?.param], [400, 'model']);
});

ok('anthropic script ran to the end');
done();
