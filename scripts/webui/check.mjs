// Drives the chat page of a running `sieve serve` in headless Chromium (playwright-core, no browser download).
// Usage: node scripts/webui/check.mjs BASE_URL SCREENSHOT_PATH      (scripts/webui-check.sh starts the server)
// Environment: CHROMIUM (default /usr/bin/chromium), WEBUI_API_KEY (the server's --api-key: the page must first
// refuse to go on without it, then work once it is typed in), WEBUI_LONG_TOKENS (max tokens of the round trip that
// is stopped), WEBUI_KV (the --kv method the third round picks; default: the first non-dense one the server lists).
// Every failed step throws with a message that says which step and what the page showed; the exit code is 1 then.
import { chromium } from 'playwright-core';

const [base, screenshotPath] = process.argv.slice(2);
if (!base || !screenshotPath) {
  console.error('usage: node check.mjs BASE_URL SCREENSHOT_PATH');
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
// The stopped round trip must still be generating when Stop is pressed: stories260K decodes ~470 tokens/s on
// 2 cores, so 400 tokens with end of text ignored last close to a second, against ~50 ms for the click.
const apiKey = process.env.WEBUI_API_KEY || '';
const auth = apiKey ? { Authorization: `Bearer ${apiKey}` } : {};
const longTokens = Number(process.env.WEBUI_LONG_TOKENS || 400);
const STEP_MS = 120_000;   // a generous bound for one step on a loaded 2-core machine; nothing waits this long normally

const log = (msg) => console.log(`webui-check: ${msg}`);
class CheckFailed extends Error {}
const check = (ok, msg) => { if (!ok) throw new CheckFailed(msg); };

async function getJson(path) {
  const res = await fetch(new URL(path, base), { headers: auth });
  check(res.ok, `GET ${path} answered ${res.status}`);
  return res.json();
}

// Prometheus samples of /metrics by name (the server's gauges and counters have no labels but the HTTP counter).
async function metrics() {
  const res = await fetch(new URL('metrics', base), { headers: auth });
  check(res.ok, `GET /metrics answered ${res.status}`);
  const text = await res.text();
  const values = new Map();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\s+(\S+)$/.exec(line);
    if (m) values.set(m[1], Number(m[2]));
  }
  const get = (name) => {
    check(values.has(name), `/metrics has no ${name}:\n${text}`);
    return values.get(name);
  };
  return { get };
}

async function main() {
  const models = await getJson('v1/models');
  const modelId = models.data[0].id;
  const methods = await getJson('sieve/methods');
  log(`server model ${modelId}; kv methods ${JSON.stringify(methods.kv)}`);

  const browser = await chromium.launch({ executablePath, headless: true, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const pageErrors = [];
    page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') pageErrors.push(`console error: ${m.text()}`); });
    const bodies = [];   // the JSON the page posted to /v1/chat/completions, in order
    page.on('request', (r) => {
      if (r.method() === 'POST' && r.url().endsWith('/v1/chat/completions')) bodies.push(JSON.parse(r.postData()));
    });
    page.setDefaultTimeout(STEP_MS);

    // 1. The page loads and names the model the server lists (with a key: once the key is typed in).
    await page.goto(base);
    if (apiKey) {
      await page.waitForFunction(() => !document.getElementById('error').hidden)
        .catch(() => { throw new CheckFailed('without the API key the page showed no error'); });
      const error = await page.textContent('#error');
      check(/401/.test(error) && /API key/i.test(error), `without the API key the page says "${error}"`);
      check(await page.isDisabled('#send'), 'Send is enabled before the page could list the model');
      log(`without the key the page says: ${error}`);
      // The browser logs each refused fetch (/v1/models, /sieve/methods) as a console error: expected here, and only here.
      const unexpected = pageErrors.splice(0).filter((e) => !/status of 401/.test(e));
      check(unexpected.length === 0, `the page reported errors before the key was typed in:\n${unexpected.join('\n')}`);
      await page.fill('#api-key', apiKey);
      await page.click('#reconnect');
    }
    await page.waitForFunction((id) => document.getElementById('model').textContent === id, modelId)
      .catch(async () => { throw new CheckFailed(`the page never showed model "${modelId}"; it shows "${await page.textContent('#model')}", error "${await page.textContent('#error')}"`); });
    const kvOptions = await page.$$eval('#kv option', (os) => os.map((o) => o.value).filter(Boolean));
    check(JSON.stringify(kvOptions) === JSON.stringify(methods.kv),
      `the KV picker lists ${JSON.stringify(kvOptions)}, the server ${JSON.stringify(methods.kv)}`);
    log(`page shows model ${modelId} and ${kvOptions.length} kv methods`);

    // 2. A streamed reply with text in it.
    await page.fill('#temperature', '0');
    await page.fill('#max-tokens', '48');
    await page.fill('#seed', '42');
    const first = await roundTrip(page, 'Tell me a story about a cat.');
    check(first.state === 'done', `the first reply ended "${first.state}", not done; error "${first.error}"`);
    check(first.text.trim().length > 0, 'the first reply is empty');
    check(first.chunks >= 2, `the first reply came in ${first.chunks} streamed chunk(s), not a stream`);
    check(first.elementsInText === 0, 'model text was inserted as HTML (the reply holds elements)');
    check(/tokens\/s/.test(first.stats), `no tokens/s after the reply; stats line "${first.stats}"`);
    const b1 = bodies.at(-1);
    check(b1.stream === true && b1.model === modelId && b1.max_tokens === 48 && b1.temperature === 0 && b1.seed === 42,
      `the page posted ${JSON.stringify(b1)}`);
    log(`reply 1: ${first.chunks} chunks, ${JSON.stringify(first.text.slice(0, 60))}…; stats: ${first.stats}`);
    await page.$eval('.settings', (el) => { el.scrollTop = 0; });   // typing the key scrolled it down
    await page.screenshot({ path: screenshotPath });
    log(`screenshot ${screenshotPath}`);

    const before = await metrics();
    const [cancelledBefore, decodedBefore] = ['sieve_generations_cancelled_total', 'sieve_decode_tokens_total'].map(before.get);

    // 3. A long reply, stopped as soon as its first text shows: the reply stays as far as it got, the page is
    //    usable again and the server lets go of the sequence.
    await page.fill('#max-tokens', String(longTokens));
    await page.check('#ignore-eos');
    const stopped = await roundTrip(page, 'Tell me a very long story about a dog.', { stopAfterFirstText: true });
    check(bodies.at(-1).ignore_eos === true && bodies.at(-1).max_tokens === longTokens, `the page posted ${JSON.stringify(bodies.at(-1))}`);
    check(stopped.state === 'stopped', `the stopped reply ended "${stopped.state}" (${stopped.chunks} chunks), not stopped — `
      + 'did it finish before Stop was pressed?');
    check(stopped.chunks < longTokens, `the stopped reply still got ${stopped.chunks} chunks of ${longTokens}`);
    check(await page.isEnabled('#send') && await page.isDisabled('#stop'), 'after Stop, Send is not enabled again (or Stop still is)');
    log(`reply 2 stopped after ${stopped.chunks} of ${longTokens} tokens; stats: ${stopped.stats}`);

    // The server noticed the closed connection when its batch is empty again and it decoded far fewer tokens than
    // asked (all 400 would take it ~2 s at stories260K's ~200 tokens/s through the server).
    let running, kvBytes, cancelled, decoded;
    for (let i = 0; i < 100; i++) {            // up to 10 s for the server to notice the closed connection
      const m = await metrics();
      [running, kvBytes, cancelled, decoded] = ['sieve_running_sequences', 'sieve_kv_bytes_in_use',
        'sieve_generations_cancelled_total', 'sieve_decode_tokens_total'].map(m.get);
      if (running === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    check(running === 0, `/metrics still shows ${running} running sequence(s) 10 s after Stop`);
    check(kvBytes === 0, `/metrics still shows ${kvBytes} KV bytes in use after Stop`);
    const decodedAfterStop = decoded - decodedBefore;
    check(decodedAfterStop < longTokens / 2,
      `the server decoded ${decodedAfterStop} tokens for the stopped request of ${longTokens}: it did not cancel the generation`);
    log(`/metrics after Stop: sieve_running_sequences ${running}, sieve_kv_bytes_in_use ${kvBytes}, `
      + `${decodedAfterStop} tokens decoded for the stopped request, sieve_generations_cancelled_total ${cancelledBefore} -> ${cancelled}`);

    // 4. Send works again, with a Sieve method picked from the list, and the conversation carries on.
    await page.uncheck('#ignore-eos');
    await page.fill('#max-tokens', '32');
    const kv = process.env.WEBUI_KV || kvOptions.find((k) => !k.startsWith('dense')) || kvOptions[0];
    if (kv) {
      await page.selectOption('#kv', kv);
      if (await page.isEnabled('#budget')) await page.fill('#budget', '64');
    }
    await page.fill('#pop', '1');
    const third = await roundTrip(page, 'And then?');
    check(third.state === 'done' && third.text.trim().length > 0,
      `the reply after Stop ended "${third.state}" with text ${JSON.stringify(third.text)}; error "${third.error}"`);
    const b3 = bodies.at(-1);
    check(b3.sieve && b3.sieve.pop === 1 && (!kv || b3.sieve.kv === kv), `the page posted sieve ${JSON.stringify(b3.sieve)}, not kv ${kv} and pop 1`);
    check(b3.messages.filter((m) => m.role === 'user').length === 3 && b3.messages.filter((m) => m.role === 'assistant').length === 2,
      `the third request does not carry the conversation: ${JSON.stringify(b3.messages.map((m) => m.role))}`);
    log(`reply 3 with sieve ${JSON.stringify(b3.sieve)}: ${JSON.stringify(third.text.slice(0, 60))}…`);

    check(pageErrors.length === 0, `the page reported errors:\n${pageErrors.join('\n')}`);
  } finally {
    await browser.close();
  }
}

// Types a message, sends it and waits for the reply to end; returns what the page shows of it.
async function roundTrip(page, text, { stopAfterFirstText = false } = {}) {
  const before = await page.locator('#messages .msg-assistant').count();
  check(await page.isEnabled('#send'), 'Send is disabled before sending');
  await page.fill('#prompt', text);
  await page.click('#send');
  const reply = page.locator('#messages .msg-assistant').nth(before);
  if (stopAfterFirstText) {
    await page.waitForFunction((i) => {
      const el = document.querySelectorAll('#messages .msg-assistant')[i];
      return el && (el.dataset.state !== 'streaming' || el.querySelector('.text').textContent.length > 0);
    }, before, { polling: 'raf' });
    await page.click('#stop');
  }
  await page.waitForFunction(() => document.body.dataset.busy === 'false' && document.activeElement !== null)
    .catch(() => { throw new CheckFailed('the page stayed busy'); });
  if (await reply.count() === 0) return { state: 'removed', text: '', chunks: 0, error: await page.textContent('#error') };
  return {
    state: await reply.getAttribute('data-state'),
    text: await reply.locator('.text').textContent(),
    chunks: Number(await reply.getAttribute('data-chunks') || 0),
    elementsInText: await reply.locator('.text *').count(),
    stats: await page.textContent('#stats'),
    error: await page.textContent('#error'),
  };
}

main().then(() => log('all checks passed'), (e) => {
  console.error(`webui-check: FAIL: ${e instanceof CheckFailed ? e.message : e.stack || e}`);
  process.exit(1);
});
