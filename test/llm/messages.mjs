// The official Anthropic SDK (npm, test/package-lock.json) against ingot's
// POST /v1/messages (run by test/integration/test_llm_messages.sh): plain,
// streamed and tool-use calls, checked at the client and in what reached
// the provider. PREFIX picks the provider: "" the default one (fakellm's
// OpenAI-compatible API: the request and answer are translated), "anth/"
// an anthropic provider (fakellm's Messages API: passed through).
import Anthropic from '@anthropic-ai/sdk';
import { bad, check, done, eq, fakeSeq, HELLO, INGOT, KEY, ok, step, upstream } from './lib.mjs';

const PREFIX = process.env.PREFIX ?? '';
const ANTH = PREFIX !== '';
const TAG = ANTH ? 'anth' : 'oai';
const PATH = ANTH ? '/messages' : '/chat/completions';
// fakellm's usage: prompt 12 of which Anthropic says cache_read 3 and
// cache_creation 2; the OpenAI side says cached 0.
const IN = ANTH ? 7 : 12;
const CACHE_READ = ANTH ? 3 : 0;

// The key in x-api-key, as Anthropic's tools and the SDK's earlier versions
// send it (this version sends apiKey as Authorization: Bearer: the bearer
// step below).
let sentHeaders = [];
const c = new Anthropic({
  baseURL: INGOT, apiKey: null, authToken: null, defaultHeaders: { 'x-api-key': KEY }, maxRetries: 0,
  fetch: async (url, init) => { sentHeaders.push(new Headers(init?.headers)); return fetch(url, init); },
});
const WEATHER = {
  name: 'get_weather',
  description: 'The weather in a city',
  input_schema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
};
async function sent(s0) {
  const up = await upstream(s0, PATH);
  return up[up.length - 1] ?? {};
}
const m = (name) => `${PREFIX}fake-${name}-${TAG}`;

await step('plain', async () => {
  const s0 = await fakeSeq();
  sentHeaders = [];
  const r = await c.messages.create({
    model: m('ok-plain'), max_tokens: 100, system: 'Be brief.',
    messages: [{ role: 'user', content: 'hi' }], stop_sequences: ['END'], temperature: 0.5,
    metadata: { user_id: 'user-7' },
  });
  eq('plain: x-api-key sent, no authorization', [sentHeaders[0]?.get('x-api-key'), sentHeaders[0]?.get('authorization')],
    [KEY, null]);
  eq('plain: type message', r.type, 'message');
  eq('plain: role', r.role, 'assistant');
  eq('plain: text', r.content.map((b) => b.type === 'text' ? b.text : '').join(''), HELLO);
  eq('plain: stop_reason', r.stop_reason, 'end_turn');
  eq('plain: usage', [r.usage.input_tokens, r.usage.output_tokens, r.usage.cache_read_input_tokens ?? 0],
    [IN, 5, CACHE_READ]);
  check('plain: id', typeof r.id === 'string' && r.id.startsWith('msg_'), r.id);
  const rec = await sent(s0);
  const b = rec.json ?? {};
  eq('plain: upstream model', b.model, `fake-ok-plain-${TAG}`);
  if (ANTH) {
    eq('plain: passed through (system)', b.system, 'Be brief.');
    eq('plain: passed through (stop_sequences, metadata)', [b.stop_sequences, b.metadata], [['END'], { user_id: 'user-7' }]);
    eq('plain: the client\'s anthropic-version upstream', rec.headers?.['anthropic-version'],
      sentHeaders[0]?.get('anthropic-version'));
    eq('plain: no authorization upstream', rec.headers?.authorization, undefined);
    eq('plain: the operator\'s key upstream', rec.headers?.['x-api-key'], 'anth-operator-key-17');
    check('plain: the tenant key never upstream', !JSON.stringify(rec.headers ?? {}).includes(KEY));
  } else {
    eq('plain: system message', b.messages?.[0], { role: 'system', content: 'Be brief.' });
    eq('plain: user message', b.messages?.[1], { role: 'user', content: 'hi' });
    eq('plain: max_tokens, stop, temperature, user', [b.max_tokens, b.stop, b.temperature, b.user],
      [100, ['END'], 0.5, 'user-7']);
    eq('plain: not streamed', b.stream, undefined);
  }
});

await step('stream', async () => {
  const s0 = await fakeSeq();
  const types = [];
  let text = '';
  const st = c.messages.stream({ model: m('ok-stream'), max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  st.on('streamEvent', (ev) => types.push(ev.type));
  st.on('text', (t) => { text += t; });
  const fin = await st.finalMessage();
  eq('stream: text', text, HELLO);
  eq('stream: final text', fin.content.map((b) => b.text ?? '').join(''), HELLO);
  eq('stream: stop_reason', fin.stop_reason, 'end_turn');
  eq('stream: usage', [fin.usage.input_tokens, fin.usage.output_tokens], [IN, 5]);
  eq('stream: first and last events', [types[0], types[types.length - 2], types[types.length - 1]],
    ['message_start', 'message_delta', 'message_stop']);
  check('stream: block start, deltas, stop', types.includes('content_block_start') &&
    types.filter((t) => t === 'content_block_delta').length === 5 && types.includes('content_block_stop'), types.join(','));
  const b = (await sent(s0)).json ?? {};
  eq('stream: streamed upstream', b.stream, true);
  if (!ANTH) eq('stream: include_usage upstream', b.stream_options, { include_usage: true });
});

await step('tool use (plain)', async () => {
  const s0 = await fakeSeq();
  const r = await c.messages.create({
    model: m('ok-calls-2-pretext'), max_tokens: 200, tools: [WEATHER], tool_choice: { type: 'any' },
    messages: [{ role: 'user', content: 'weather in Paris?' }],
  });
  eq('tools: blocks', r.content.map((b) => b.type), ['text', 'tool_use', 'tool_use']);
  eq('tools: text', r.content[0].text, 'Let me check.');
  eq('tools: input parsed', [r.content[1].input, r.content[2].input], [{ city: 'Paris', n: 0 }, { city: 'Paris', n: 1 }]);
  eq('tools: names', [r.content[1].name, r.content[2].name], ['get_weather', 'get_weather']);
  check('tools: ids', r.content[1].id && r.content[1].id !== r.content[2].id, JSON.stringify(r.content));
  eq('tools: stop_reason', r.stop_reason, 'tool_use');
  const b = (await sent(s0)).json ?? {};
  if (ANTH) {
    eq('tools: passed through', [b.tools, b.tool_choice], [[WEATHER], { type: 'any' }]);
  } else {
    eq('tools: functions upstream', b.tools, [{ type: 'function', function: { name: 'get_weather',
      description: 'The weather in a city', parameters: WEATHER.input_schema } }]);
    eq('tools: tool_choice any -> required', b.tool_choice, 'required');
  }
});

await step('tool use (stream)', async () => {
  const types = new Set();
  const st = c.messages.stream({
    model: m('ok-calls-2'), max_tokens: 200, tools: [WEATHER],
    messages: [{ role: 'user', content: 'weather in Paris?' }],
  });
  st.on('streamEvent', (ev) => { if (ev.type === 'content_block_delta') types.add(ev.delta.type); });
  const fin = await st.finalMessage();
  eq('stream tools: blocks', fin.content.map((b) => b.type), ['tool_use', 'tool_use']);
  eq('stream tools: input assembled', fin.content.map((b) => b.input), [{ city: 'Paris', n: 0 }, { city: 'Paris', n: 1 }]);
  eq('stream tools: input_json_delta', [...types], ['input_json_delta']);
  eq('stream tools: stop_reason', fin.stop_reason, 'tool_use');
  check('stream tools: output tokens', fin.usage.output_tokens > 0, fin.usage.output_tokens);
});

await step('tool result', async () => {
  const s0 = await fakeSeq();
  const r = await c.messages.create({
    model: m('ok-result'), max_tokens: 100, tools: [WEATHER],
    messages: [
      { role: 'user', content: 'weather in Paris?' },
      { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' },
        { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' }] },
    ],
  });
  eq('tool result: answered with text', r.content.map((b) => b.type), ['text']);
  eq('tool result: stop_reason', r.stop_reason, 'end_turn');
  const b = (await sent(s0)).json ?? {};
  if (!ANTH) {
    eq('tool result: roles upstream', (b.messages ?? []).map((x) => x.role), ['user', 'assistant', 'tool']);
    eq('tool result: tool_calls upstream', b.messages?.[1]?.tool_calls,
      [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
    eq('tool result: assistant text', b.messages?.[1]?.content, 'Let me check.');
    eq('tool result: tool message', b.messages?.[2], { role: 'tool', tool_call_id: 'toolu_1', content: 'sunny' });
  }
});

await step('image', async () => {
  const s0 = await fakeSeq();
  await c.messages.create({
    model: m('ok-image'), max_tokens: 50,
    messages: [{ role: 'user', content: [
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'text', text: 'what is it?' }] }],
  });
  const b = (await sent(s0)).json ?? {};
  if (!ANTH)
    eq('image: image_url part upstream', b.messages?.[0]?.content?.[0],
      { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } });
  else
    eq('image: passed through', b.messages?.[0]?.content?.[0]?.source?.type, 'base64');
});

await step('max_tokens', async () => {
  const r = await c.messages.create({ model: m('ok-max'), max_tokens: 2, messages: [{ role: 'user', content: 'hi' }] });
  eq('max_tokens: stop_reason', r.stop_reason, 'max_tokens');
  eq('max_tokens: output tokens', r.usage.output_tokens, 2);
});

await step('errors', async () => {
  try {
    await c.messages.create({ model: m('500'), max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    bad('error: a 500 raised');
  } catch (e) {
    eq('error: status', e.status, 500);
    eq('error: Anthropic shape', [e.error?.type, e.error?.error?.type], ['error', 'api_error']);
  }
  try {
    await c.messages.create({ model: m('ok'), max_tokens: 10, messages: [{ role: 'system', content: 'x' }] });
    bad('error: a bad role raised');
  } catch (e) {
    eq('error: 400', e.status, 400);
    eq('error: invalid_request_error', e.error?.error?.type, 'invalid_request_error');
    check('error: names the field', String(e.error?.error?.message).startsWith('messages.0.role:'), e.error?.error?.message);
  }
  const st = c.messages.stream({ model: m('ok-midstream-error'), max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  try {
    await st.finalMessage();
    bad('error: a mid-stream error raised');
  } catch (e) {
    check('error: mid-stream error event raised', /overloaded|error/i.test(String(e?.message)), String(e?.message));
  }
});

await step('bearer', async () => {
  const cb = new Anthropic({ baseURL: INGOT, apiKey: KEY, maxRetries: 0 });
  const r = await cb.messages.create({ model: m('ok-bearer'), max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] });
  eq('bearer: Authorization: Bearer works too', r.content[0]?.text, HELLO);
});

ok(`done ${TAG}`);
done();
