// A client that goes away mid-stream: the fake provider must see the
// upstream connection closed within 100 ms. Prints "request_id ID" for the
// shell test, which then looks for the usage row (status 499).
import { check, client, done, eq, fakeSeq, ok, sleep, step, upstream } from './lib.mjs';

const model = process.argv[2] || 'fake-delay-100-words-50';
await step('disconnect', async () => {
  const s0 = await fakeSeq();
  const c = client({ maxRetries: 0 });
  const { data: stream, response } = await c.chat.completions
    .create({ model, messages: [{ role: 'user', content: 'go away' }], stream: true }).withResponse();
  console.log(`request_id ${response.headers.get('x-request-id')}`);
  let text = '';
  for await (const ch of stream) {
    text += ch.choices?.[0]?.delta?.content ?? '';
    if (text.endsWith('w3')) break; // leaving the loop aborts the request
  }
  const gone = Date.now();
  eq('disconnect: content before leaving', text, ' w1 w2 w3');
  let rec;
  for (let i = 0; i < 40; i++) {
    rec = (await upstream(s0)).find((r) => JSON.stringify(r.json ?? {}).includes('go away'));
    if (rec?.closed_wall_ms) break;
    await sleep(25);
  }
  const lag = rec?.closed_wall_ms ? rec.closed_wall_ms - gone : null;
  check('disconnect: the provider saw the upstream closed within 100 ms', lag !== null && lag < 100, `lag ${lag} ms`);
  check('disconnect: the provider did not finish the stream', !rec?.done_mono_ms, JSON.stringify(rec?.done_mono_ms));
});
ok('disconnect ran to the end');
done();
