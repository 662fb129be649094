// Named providers and routes through the SDK: "anth/MODEL" goes to a named
// Anthropic provider, a routed model is renamed upstream, a tenant's own
// provider key replaces the operator's, and /v1/models lists the routes.
import { check, client, done, eq, fakeSeq, HELLO, ok, step, upstream } from './lib.mjs';

const c = client({ maxRetries: 0 });
const user = [{ role: 'user', content: 'routes' }];
const TENANT_KEY = process.env.TENANT_PROVIDER_KEY;

await step('prefix', async () => {
  const s0 = await fakeSeq();
  const r = await c.chat.completions.create({ model: 'anth/fake-ok', messages: user });
  eq('anth/fake-ok: answered through the named Anthropic provider', r.choices[0].message.content, HELLO);
  const up = await upstream(s0, '/anthropic/v1/messages');
  eq('anth/fake-ok: one Messages request', up.length, 1);
  eq('anth/fake-ok: the provider prefix stripped upstream', up[0]?.json?.model, 'fake-ok');
  eq('anth/fake-ok: the tenant\'s own key upstream', up[0]?.headers?.['x-api-key'], TENANT_KEY);
});

await step('route', async () => {
  const s0 = await fakeSeq();
  const out = [];
  const s = await c.chat.completions.create({ model: 'claude-fake', messages: user, stream: true });
  for await (const ch of s) out.push(ch.choices?.[0]?.delta?.content ?? '');
  eq('claude-fake: streamed through the route', out.join(''), HELLO);
  const up = await upstream(s0, '/anthropic/v1/messages');
  eq('claude-fake: --upstream-model used', up[0]?.json?.model, 'fake-delay-5');
});

await step('models', async () => {
  const ids = [];
  for await (const m of c.models.list()) ids.push(m.id);
  check('models: the route listed', ids.includes('claude-fake'), ids.join(','));
  check('models: the default provider\'s models listed', ids.includes('fake-ok'), ids.join(','));
});

ok('routes script ran to the end');
done();
