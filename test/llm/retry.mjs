// The SDK's retries against ingot's answers: retried on 429 (the provider's,
// relayed; ours, from a tenant's rpm limit), not retried when ingot says
// x-should-retry: false (budget spent). Attempts are counted at the SDK's
// fetch and at the fake provider. Usage: node retry.mjs upstream|rpm|budget
import { attempts, bad, check, client, done, eq, fakeSeq, HELLO, ok, step, upstream } from './lib.mjs';

const mode = process.argv[2];
const c = client({ maxRetries: 2 });
const msg = (s) => [{ role: 'user', content: s }];

async function failure(p) {
  try { await p; return null; } catch (e) { return e; }
}

if (mode === 'upstream') {
  await step('upstream 429', async () => {
    const s0 = await fakeSeq();
    attempts.n = 0;
    const e = await failure(c.chat.completions.create({ model: 'fake-429-retry-20', messages: msg('a') }));
    eq('provider 429: the client sees 429', e?.status, 429);
    eq('provider 429: the SDK tried 3 times (1 + 2 retries)', attempts.n, 3);
    const hs = e?.headers ?? {};
    const get = (k) => (typeof hs.get === 'function' ? hs.get(k) : hs[k]);
    check('provider 429: retry-after-ms given', get('retry-after-ms') !== null && get('retry-after-ms') !== undefined, JSON.stringify(hs));
    check('provider 429: retry-after given', get('retry-after') !== null && get('retry-after') !== undefined, JSON.stringify(hs));
    const up = await upstream(s0, '/chat/completions');
    check('provider 429: every attempt reached the provider', up.length >= 3, up.length);
  });
  await step('flaky', async () => {
    attempts.n = 0;
    const r = await c.chat.completions.create({ model: 'fake-flaky-2-429-retry-20', messages: msg(`flaky ${Date.now()}`) });
    eq('flaky provider: answered after the retries', r.choices[0].message.content, HELLO);
    eq('flaky provider: 3 attempts', attempts.n, 3);
  });
} else if (mode === 'rpm') {
  // The tenant may make 2 requests a minute (set by the shell test). The
  // third is refused with our 429 and a retry-after until the window frees;
  // the SDK retries it (the wait shortened client-side, see lib.mjs).
  await step('rpm', async () => {
    const fast = client({ maxRetries: 2, fastRetry: true });
    const s0 = await fakeSeq();
    for (let i = 0; i < 2; i++) {
      const r = await fast.chat.completions.create({ model: 'fake-ok', messages: msg(`rpm ${i}`) });
      eq(`rpm: request ${i + 1} of 2 answered`, r.choices[0].message.content, HELLO);
    }
    attempts.n = 0;
    attempts.answers.length = 0;
    const e = await failure(fast.chat.completions.create({ model: 'fake-ok', messages: msg('rpm 3') }));
    const first = attempts.answers[0] ?? {};
    eq('rpm: the third gets our 429', first.status, 429);
    const ms = Number(first.headers?.['retry-after-ms']);
    check('rpm: retry-after-ms until the window frees (0 < ms <= 60000)', ms > 0 && ms <= 60000, JSON.stringify(first.headers));
    check('rpm: retry-after too', Number(first.headers?.['retry-after']) >= 1, first.headers?.['retry-after']);
    check('rpm: not x-should-retry false', first.headers?.['x-should-retry'] !== 'false', first.headers?.['x-should-retry']);
    check('rpm: the SDK retried our 429', attempts.n >= 2, attempts.n);
    const admitted = attempts.answers.filter((a) => a.status === 200).length;
    eq('rpm: every attempt refused or answered, nothing else', attempts.answers.filter((a) => a.status !== 429 && a.status !== 200).length, 0);
    eq('rpm: the final outcome matches the last answer', e ? 429 : 200, attempts.answers[attempts.answers.length - 1]?.status);
    eq('rpm: the provider saw only the admitted requests', (await upstream(s0, '/chat/completions')).length, 2 + admitted);
  });
} else if (mode === 'budget') {
  // The tenant's daily token budget is small (set by the shell test): spend it.
  await step('budget', async () => {
    let answered = 0, e = null;
    for (let i = 0; i < 20 && !e; i++) {
      attempts.n = 0;
      e = await failure(c.chat.completions.create({ model: 'fake-ok', max_tokens: 5, messages: msg(`b ${i}`) }));
      if (!e) answered++;
    }
    check('budget: some requests answered first', answered >= 1, answered);
    eq('budget: then refused with 429', e?.status, 429);
    eq('budget: x-should-retry: false', e?.headers?.get?.('x-should-retry'), 'false');
    eq('budget: the SDK did not retry (1 attempt)', attempts.n, 1);
    attempts.n = 0;
    const again = await failure(c.chat.completions.create({ model: 'fake-ok', max_tokens: 5, messages: msg('again') }));
    eq('budget: still refused', [again?.status, attempts.n], [429, 1]);
  });
} else {
  bad(`unknown mode ${mode}`);
}
ok(`retry ${mode} ran to the end`);
done();
