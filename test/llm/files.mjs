// The Files API with the official openai SDK as the client (run by
// test/integration/test_files.sh): upload from a stream (purpose batch, and
// with expires_after), list with cursor pages and filters, retrieve, the
// content byte for byte (text and binary), delete, and a bad batch file
// refused with the line and the field.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { client, eq, check, step, done, bad } from './lib.mjs';

const MODEL = process.env.FILES_MODEL; // a routable model ("fk/fake-ok")
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ingot-files-'));
const c = client({ maxRetries: 0 });
const created = [];

function write(name, data) {
  const p = path.join(dir, name);
  fs.writeFileSync(p, data);
  return p;
}

const batchText = [
  { custom_id: 'a-1', method: 'POST', url: '/v1/chat/completions', body: { model: MODEL, messages: [{ role: 'user', content: 'hi' }] } },
  { custom_id: 'a-2', method: 'POST', url: '/v1/embeddings', body: { model: MODEL, input: 'x' } },
  { custom_id: 'a-3', method: 'POST', url: '/v1/responses', body: { model: MODEL, input: 'hello' } },
].map((l) => JSON.stringify(l)).join('\n') + '\n';

await step('create a batch file from a stream', async () => {
  const p = write('in.jsonl', batchText);
  const f = await c.files.create({ file: fs.createReadStream(p), purpose: 'batch' });
  created.push(f);
  eq('create: object', f.object, 'file');
  check('create: id file-...', /^file-[0-9a-f]{24}$/.test(f.id), f.id);
  eq('create: bytes', f.bytes, Buffer.byteLength(batchText));
  eq('create: filename', f.filename, 'in.jsonl');
  eq('create: purpose', f.purpose, 'batch');
  eq('create: status', f.status, 'processed');
  eq('create: no expiry', f.expires_at, null);
  check('create: created_at is now', Math.abs(f.created_at - Date.now() / 1000) < 60, f.created_at);
});

await step('create with expires_after', async () => {
  const p = write('notes.txt', 'some user data\n');
  const f = await c.files.create({
    file: fs.createReadStream(p), purpose: 'user_data', expires_after: { anchor: 'created_at', seconds: 3600 },
  });
  created.push(f);
  eq('expires_after: expires_at = created_at + 3600', f.expires_at, f.created_at + 3600);
  eq('expires_after: purpose', f.purpose, 'user_data');
});

// bytes 0..255 many times, and CRLF-- sequences that look like a boundary start
const binary = Buffer.alloc(300000);
for (let i = 0; i < binary.length; i++) binary[i] = (i * 7 + (i >> 8)) & 255;
Buffer.from('\r\n--\r\n--').copy(binary, 1000);

await step('create a binary file', async () => {
  const p = write('blob.bin', binary);
  const f = await c.files.create({ file: fs.createReadStream(p), purpose: 'assistants' });
  created.push(f);
  eq('binary: bytes', f.bytes, binary.length);
});

await step('more files for pages', async () => {
  for (let i = 0; i < 3; i++) {
    const f = await c.files.create({ file: await OpenAI.toFile(Buffer.from(`page ${i}\n`), `p${i}.txt`), purpose: 'user_data' });
    created.push(f);
  }
});

await step('list: pages of 2, newest first, every file once', async () => {
  const seen = [];
  let pages = 0;
  let page = await c.files.list({ limit: 2 });
  for (;;) {
    pages++;
    check(`list: page ${pages} has at most 2`, page.data.length <= 2, page.data.length);
    seen.push(...page.data.map((f) => f.id));
    if (!page.hasNextPage()) break;
    page = await page.getNextPage();
  }
  eq('list: all files', seen.length, created.length);
  eq('list: newest first', seen, created.map((f) => f.id).reverse());
  check('list: took several pages', pages >= 3, pages);
  const asc = [];
  for await (const f of c.files.list({ limit: 4, order: 'asc' })) asc.push(f.id);
  eq('list: order asc (auto-paging)', asc, created.map((f) => f.id));
  const batch = [];
  for await (const f of c.files.list({ purpose: 'batch' })) batch.push(f.id);
  eq('list: purpose=batch', batch, [created[0].id]);
});

await step('retrieve', async () => {
  const f = await c.files.retrieve(created[1].id);
  eq('retrieve: same object', f, created[1]);
});

await step('content: text and binary, byte for byte', async () => {
  const t = await (await c.files.content(created[0].id)).text();
  eq('content: the batch file', t, batchText);
  const b = Buffer.from(await (await c.files.content(created[2].id)).arrayBuffer());
  check('content: the binary file', b.equals(binary), `${b.length} bytes`);
});

await step('delete', async () => {
  const d = await c.files.delete(created[3].id);
  eq('delete: answer', d, { id: created[3].id, object: 'file', deleted: true });
  try {
    await c.files.retrieve(created[3].id);
    bad('retrieve after delete: 404');
  } catch (e) {
    check('retrieve after delete: NotFoundError', e instanceof OpenAI.NotFoundError, e?.constructor?.name);
  }
  try {
    await c.files.delete(created[3].id);
    bad('delete twice: 404');
  } catch (e) {
    check('delete twice: NotFoundError', e instanceof OpenAI.NotFoundError, e?.constructor?.name);
  }
});

await step('a bad batch file: 400 naming the line and the field', async () => {
  const lines = batchText.split('\n');
  lines[1] = lines[1].replace('"a-2"', '"a-1"'); // line 2 repeats line 1's custom_id
  const p = write('dup.jsonl', lines.join('\n'));
  try {
    await c.files.create({ file: fs.createReadStream(p), purpose: 'batch' });
    bad('duplicate custom_id: refused');
  } catch (e) {
    check('duplicate: BadRequestError', e instanceof OpenAI.BadRequestError, e?.constructor?.name);
    eq('duplicate: param', e?.error?.param ?? e?.param, 'line[2].custom_id');
    check('duplicate: message names line 2', /line 2/.test(e?.message), e?.message);
  }
});

console.log(`ids ${created.map((f) => f.id).join(' ')}`);
fs.rmSync(dir, { recursive: true, force: true });
done();
