// Shared by the SDK end-to-end scripts (run by test/integration/test_llm_sdk.sh):
// the official openai client pointed at ingot, the fake provider's record,
// and assertions printed as "ok ..." / "FAIL ..." lines the shell test counts.
import OpenAI from 'openai';

export const INGOT = process.env.INGOT_URL;   // http://127.0.0.1:PORT (ingot serve)
export const KEY = process.env.INGOT_KEY;     // a tenant key
export const FAKE = process.env.FAKE_URL;     // http://127.0.0.1:PORT (fakellm)
export const UPSTREAM_KEY = process.env.UPSTREAM_KEY;

let failed = 0;
export function ok(desc) { console.log(`ok   ${desc}`); }
export function bad(desc, detail) {
  failed++;
  console.log(`FAIL ${desc}`);
  if (detail !== undefined) console.log(`  ${String(detail).slice(0, 600)}`);
}
export function check(desc, cond, detail) { cond ? ok(desc) : bad(desc, detail); }
export function eq(desc, got, want) {
  const g = JSON.stringify(got), w = JSON.stringify(want);
  g === w ? ok(desc) : bad(desc, `got ${g}, want ${w}`);
}
// Runs one named step; an exception is a failure of that step, not of the script.
export async function step(name, fn) {
  try { await fn(); } catch (e) { bad(`${name}: threw`, `${e?.constructor?.name} ${e?.status ?? ''} ${e?.message}`); }
}
export function done() { process.exit(failed ? 1 : 0); }

// attempts: every HTTP request the SDK makes (retries included) goes through here.
// attempts.bodies: what the SDK sent, in order; attempts.answers: the status
// and headers of each answer as ingot sent them.
export const attempts = { n: 0, bodies: [], answers: [] };
function countingFetch(fastRetry) {
  return async (url, init) => {
    attempts.n++;
    attempts.bodies.push(typeof init?.body === 'string' ? init.body : '');
    const r = await fetch(url, init);
    attempts.answers.push({ status: r.status, headers: Object.fromEntries(r.headers.entries()) });
    if (!fastRetry || r.status !== 429 || r.headers.get('x-should-retry') === 'false') return r;
    // The SDK waits as long as ingot says (up to 60 s): the wait was recorded
    // above; shorten it so the retries themselves are what the test sees.
    const h = new Headers(r.headers);
    h.set('retry-after-ms', '10');
    h.delete('retry-after');
    return new Response(r.body, { status: r.status, statusText: r.statusText, headers: h });
  };
}

export function client(opts = {}) {
  const { fastRetry, ...rest } = opts;
  return new OpenAI({ baseURL: `${INGOT}/v1`, apiKey: KEY, fetch: countingFetch(fastRetry), ...rest });
}

// The fake's record of what reached it (one object per request).
export async function fakeLog(since = 0) {
  const r = await fetch(`${FAKE}/_log?since=${since}`);
  const t = await r.text();
  return t.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
export async function fakeSeq() {
  const l = await fakeLog();
  return l.length ? l[l.length - 1].seq : 0;
}
// The upstream requests made since `since` (by the fake's path).
export async function upstream(since, path) {
  return (await fakeLog(since)).filter((r) => !path || r.path.includes(path));
}
export const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// fakellm's default reply and embedding values (see test/fakes/fakellm.c).
export const HELLO = 'Hello! This is fakellm.';
export function fakeEmbedding(i, dims = 8) {
  const v = [];
  for (let j = 0; j < dims; j++) v.push(Math.fround(((i * 31 + j * 7) % 100) / 64 - 0.75));
  return v;
}
export const WEATHER_TOOL = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'The weather in a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};
export function argsOf(k) { return `{"city":"Paris","n":${k}}`; }

// Assembles a streamed chat completion: content, tool calls by index, finish, usage.
export async function collect(stream) {
  const out = { content: '', tools: [], finish: null, usage: null, chunks: 0, usageChunks: 0, ids: new Set() };
  for await (const ch of stream) {
    out.chunks++;
    out.ids.add(ch.id);
    if (ch.usage) { out.usage = ch.usage; out.usageChunks++; }
    const c = ch.choices?.[0];
    if (!c) continue;
    if (c.delta?.content) out.content += c.delta.content;
    for (const tc of c.delta?.tool_calls ?? []) {
      const t = (out.tools[tc.index] ??= { id: '', name: '', arguments: '' });
      if (tc.id) t.id = tc.id;
      if (tc.function?.name) t.name += tc.function.name;
      if (tc.function?.arguments) t.arguments += tc.function.arguments;
    }
    if (c.finish_reason) out.finish = c.finish_reason;
  }
  return out;
}
