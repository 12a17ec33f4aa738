// What reaches the collector, and what does not: the SDK's delivery, sessions, sampling and
// scrubbing, and the app's own API calls and interactions, in headless Chromium against a real
// collector process.
//
// Where a test needs the network to misbehave, a gate (`startGate`, harness.mjs) stands between
// the page and the collector, on its own origin as a collector would be: it records what
// arrives and answers as the test scripts it (429, 503 with Retry-After, slow answers), else
// forwards to the real collector. "Collector down" is the real collector process stopped and
// started again on the same port and data directory. Whether an event arrived once is read from
// the collector's own API (`/frontend/vitals`: count per name), which stores an event once per
// `(app, session_id, event_id)`.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { eventually, freePort, launchBrowser, root, serveSite, startCollector, startGate, stopCleanly } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
/**
 * A short unique id for names. Not a UUID: the SDK replaces long hex runs in names with
 * `[redacted]`, as it should.
 */
const id = () => randomUUID().replaceAll('-', '').replace(/[0-9a-f]/g, (c) => 'ghijklmnopqrstuv'[parseInt(c, 16)]).slice(0, 12);
const TEST = { timeout: 90_000 };

let collector;
let site;
let browser;

before(async () => {
  collector = await startCollector();
  site = await serveSite({
    mounts: { '/pages/': join(here, 'pages'), '/pw/': join(root, 'npm') },
    config: { collector: collector.url },
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await site?.close();
  await stopCleanly(collector);
});

/**
 * The delivery page in a fresh browser context (its own sessionStorage and localStorage) with
 * `options` (an object, or JS source of one for functions such as `beforeSend`), once the
 * monitor has started. `context` reuses a context (the same origin's storage).
 */
async function open(options = {}, { context, query = '', init = '' } = {}) {
  const ctx = context ?? (await browser.newContext());
  const page = await ctx.newPage();
  const source = typeof options === 'string' ? options : JSON.stringify(options);
  await page.addInitScript({ content: `window.__E2E_OPTS = ${source};\n${init}` });
  await page.goto(`${site.url}pages/delivery.html${query}`);
  await eventually(
    () => page.evaluate(() => (window.__initError ? `init failed: ${window.__initError}` : !!window.__monitor)),
    15_000,
    'the monitor to start',
  ).then((ok) => assert.equal(ok, true));
  return { page, context: ctx };
}

/** How many events of `kind` ('api_calls' or 'interactions') named `name` the collector stored. */
async function stored(at, kind, name) {
  const { status, body } = await at.api('/api/v1/monitoring/frontend/vitals?hours=1');
  assert.equal(status, 200);
  return body.data[kind].find((group) => group.name === name);
}

/** Waits until the collector `at` has `count` of them, then checks that no more arrive. */
async function storedOnce(at, kind, name, { count = 1, settleMs = 1500 } = {}) {
  const group = await eventually(async () => {
    const g = await stored(at, kind, name);
    return g && g.count >= count && g;
  }, 30_000, `${kind} ${name} at the collector`);
  await new Promise((r) => setTimeout(r, settleMs));
  const after = await stored(at, kind, name);
  assert.equal(after.count, count, `${name} stored ${count} time(s), not more`);
  return group;
}

test('unload: events queued when the page is left reach the collector', TEST, async () => {
  const name = `unload-${id()}`;
  // No timed send: only leaving the page can send this event.
  const { page, context } = await open({ flushInterval: 0 });
  await page.evaluate((n) => window.__monitor.monitorUserInteraction(n, () => {}), name);
  await page.goto(`${site.url}pages/blank.html`);
  await storedOnce(collector, 'interactions', name);
  await context.close();
});

test('collector down, then up: the send is retried and stored once', TEST, async () => {
  const port = await freePort();
  let flaky = await startCollector({ port });
  const name = `retry-${id()}`;
  const { page, context } = await open({ endpoint: flaky.url, flushInterval: 0 });
  await flaky.stop({ keep: true });
  await page.evaluate((n) => {
    window.__monitor.monitorUserInteraction(n, () => {});
    window.__monitor.report();
  }, name);
  // Down for the first attempt and at least the first retry (1 s at the earliest).
  await new Promise((r) => setTimeout(r, 1500));
  flaky = await startCollector({ port, dataDir: flaky.dataDir });
  try {
    await storedOnce(flaky, 'interactions', name);
    const stats = await page.evaluate(() => window.__monitor.stats());
    assert.equal(stats.refused, 0);
    assert.ok(stats.delivered >= 1, `delivered after the retry: ${JSON.stringify(stats)}`);
  } finally {
    await context.close();
    await flaky.stop();
  }
});

test('collector down when the page is left: the batch is sent again on the next load', TEST, async () => {
  const port = await freePort();
  let flaky = await startCollector({ port });
  const name = `next-load-${id()}`;
  const { page, context } = await open({ endpoint: flaky.url, flushInterval: 0 });
  await flaky.stop({ keep: true });
  await page.evaluate((n) => window.__monitor.monitorUserInteraction(n, () => {}), name);
  // Leaving hides the page: the batch goes by sendBeacon (its fate unknown) and is kept offline.
  await page.goto(`${site.url}pages/blank.html`);
  const kept = await page.evaluate(() => localStorage.getItem('perfwatch.outbox') ?? '');
  assert.ok(kept.includes(name), 'the unconfirmed batch is in the offline store');
  flaky = await startCollector({ port, dataDir: flaky.dataDir });
  try {
    await open({ endpoint: flaky.url }, { context });
    await storedOnce(flaky, 'interactions', name);
  } finally {
    await context.close();
    await flaky.stop();
  }
});

test('429 and 503 with Retry-After: the SDK waits as told, then the batch is stored once', TEST, async () => {
  const gate = await startGate(collector.url);
  gate.script.push({ status: 429, retryAfter: 2 }, { status: 503, retryAfter: 1 });
  const name = `retry-after-${id()}`;
  const { page, context } = await open({ endpoint: gate.url, flushInterval: 0 });
  try {
    await page.evaluate((n) => {
      window.__monitor.monitorUserInteraction(n, () => {});
      window.__monitor.report();
    }, name);
    await storedOnce(collector, 'interactions', name);
    const sends = gate.requests.filter((r) => r.body.includes(name));
    assert.deepEqual(sends.map((r) => r.answered), [429, 503, 200]);
    // Timers never fire early; the page measured the wait from the answer, the gate from the
    // request, so each gap is at least Retry-After.
    assert.ok(sends[1].at - sends[0].at >= 2000, `waited ${sends[1].at - sends[0].at} ms after 429 (Retry-After: 2)`);
    assert.ok(sends[2].at - sends[1].at >= 1000, `waited ${sends[2].at - sends[1].at} ms after 503 (Retry-After: 1)`);
  } finally {
    await context.close();
    await gate.close();
  }
});

test('keepalive: at most 60 KB of keepalive requests in flight, at most 9 requests, nothing lost', TEST, async () => {
  const gate = await startGate(collector.url);
  gate.delayMs = 1500;
  const name = `GET /budget-${id()}`;
  // Every fetch to the gate, with its keepalive flag, body size and lifetime.
  const spy = `
    window.__sends = [];
    const fetchBefore = window.fetch;
    window.fetch = function (url, init) {
      const send = { url: String(url), keepalive: !!init?.keepalive, bytes: new TextEncoder().encode(init?.body ?? '').length, start: performance.now() };
      window.__sends.push(send);
      const settle = () => { send.end = performance.now(); };
      const p = fetchBefore.apply(this, arguments);
      p.then(settle, settle);
      return p;
    };`;
  const { page, context } = await open({ endpoint: gate.url, flushAt: 10, flushInterval: 0 }, { init: spy });
  try {
    await page.evaluate(async (n) => {
      // 100 calls of about 2.1 KB each: ten batches of about 21 KB, sent at once (and what is
      // left below `flushAt` by `report()`).
      const url = `${location.origin}/${'segment/'.repeat(250)}`;
      const calls = [];
      for (let i = 0; i < 100; i++) {
        calls.push(window.__monitor.monitorApiCall(n, Promise.resolve(new Response('')), { url, status: 200 }));
      }
      await Promise.all(calls);
      window.__monitor.report();
    }, name);
    await storedOnce(collector, 'api_calls', name, { count: 100 }).catch(async (err) => {
      const stats = await page.evaluate(() => window.__monitor.stats());
      const answers = gate.requests.map((r) => [r.answered, JSON.parse(r.body).events.length, r.answer?.slice(0, 200)]);
      const group = await stored(collector, 'api_calls', name);
      throw new Error(`${err.message}; group ${JSON.stringify(group)}; stats ${JSON.stringify(stats)}; answers ${JSON.stringify(answers)}`);
    });
    const sends = (await page.evaluate(() => window.__sends)).filter((s) => s.url.startsWith(gate.url));
    assert.ok(sends.every((s) => s.end !== undefined), 'every request settled');
    const moments = sends.map((s) => s.start);
    let maxAlive = 0;
    let maxCount = 0;
    for (const t of moments) {
      const open = sends.filter((s) => s.start <= t && s.end > t);
      maxAlive = Math.max(maxAlive, open.filter((s) => s.keepalive).reduce((sum, s) => sum + s.bytes, 0));
      maxCount = Math.max(maxCount, open.length);
    }
    assert.ok(maxAlive <= 60_000, `keepalive bytes in flight peaked at ${maxAlive}`);
    assert.ok(maxCount <= 9, `requests in flight peaked at ${maxCount}`);
    assert.ok(sends.some((s) => s.keepalive), 'batches within the budget go with keepalive');
    assert.ok(sends.some((s) => !s.keepalive), 'batches over the budget go as plain fetches');
  } finally {
    await context.close();
    await gate.close();
  }
});

test('sampleRate 0: a session that is sampled out sends nothing', TEST, async () => {
  const gate = await startGate(collector.url);
  const act = (page) =>
    page.evaluate(() => {
      window.__monitor.monitorUserInteraction('sampled', () => {});
      window.__monitor.report();
    });
  try {
    const out = await open({ endpoint: gate.url, sampleRate: 0 });
    await act(out.page);
    await out.page.goto(`${site.url}pages/blank.html`);
    // The same steps with the session sampled in send at once: wait for those, then compare.
    const inn = await open({ endpoint: gate.url, sampleRate: 1 });
    await act(inn.page);
    await inn.page.goto(`${site.url}pages/blank.html`);
    await eventually(() => gate.requests.length > 0, 15_000, 'the sampled-in session to send');
    await new Promise((r) => setTimeout(r, 1000));
    const sessions = new Set(gate.requests.map((r) => JSON.parse(r.body).session_id));
    assert.equal(sessions.size, 1, 'only the sampled-in session sent anything');
    await out.context.close();
    await inn.context.close();
  } finally {
    await gate.close();
  }
});

test('scrubbing: tokens in query strings, e-mail addresses and keys in paths never leave the page', TEST, async () => {
  const gate = await startGate(collector.url);
  const secret = `tok${randomUUID().replaceAll('-', '')}`;
  try {
    const { page, context } = await open(
      { endpoint: gate.url, allowedQueryParams: ['lang'] },
      { query: `?token=${secret}&lang=en#${secret}` },
    );
    await page.evaluate(async (s) => {
      const url = `${location.origin}/users/bob@example.com/orders?token=${s}`;
      await window.__monitor.monitorApiCall('GET /users/bob@example.com/orders', () => fetch(`/pages/blank.html?token=${s}`), { url });
      // A resource whose URL carries the token too.
      await fetch(`/pages/delivery.js?token=${s}`);
      window.__monitor.report();
    }, secret);
    await page.goto(`${site.url}pages/blank.html`);
    await eventually(() => gate.events().some((e) => e.type === 'api_call'), 15_000, 'the API call at the gate');
    await eventually(() => gate.events().some((e) => e.type === 'resource' && e.name.includes('delivery.js')), 15_000, 'the resource');
    for (const request of gate.requests) {
      assert.ok(!request.body.includes(secret), 'no token in anything sent');
      assert.ok(!request.body.includes('bob@example.com'), 'no e-mail address in anything sent');
    }
    const batch = JSON.parse(gate.requests[0].body);
    assert.equal(batch.url, `${site.url}pages/delivery.html?lang=en`, 'the page URL keeps only the allowed parameter');
    const call = gate.events().find((e) => e.type === 'api_call');
    assert.equal(call.name, 'GET /users/[redacted]/orders');
    assert.equal(call.url, `${new URL(site.url).origin}/users/[redacted]/orders`);
    await eventually(() => gate.requests.every((r) => r.answered !== undefined), 15_000, 'every answer');
    assert.deepEqual(
      gate.requests.filter((r) => r.answered !== 200).map((r) => [r.answered, r.body.slice(0, 300)]),
      [],
      'the collector took every batch',
    );
    await context.close();
  } finally {
    await gate.close();
  }
});

test('monitorApiCall around a succeeding and a failing fetch: results pass through, both are recorded', TEST, async () => {
  const ok = `GET /ok-${id()}`;
  const failing = `GET /failing-${id()}`;
  const { page, context } = await open({ flushInterval: 0 });
  const outcome = await page.evaluate(async ([okName, failName]) => {
    const m = window.__monitor;
    const response = await m.monitorApiCall(okName, () => fetch('/pages/blank.html'));
    const thrown = new TypeError('sentinel');
    let caught;
    try {
      // Nothing listens on port 9 of the loopback: the fetch rejects.
      await m.monitorApiCall(failName, () => fetch('http://127.0.0.1:9/nothing'));
    } catch (error) {
      caught = error;
    }
    let syncCaught;
    try {
      m.monitorApiCall('GET /sync', () => {
        throw thrown;
      });
    } catch (error) {
      syncCaught = error;
    }
    m.report();
    return {
      isResponse: response instanceof Response,
      status: response.status,
      caught: caught?.name,
      sameSyncError: syncCaught === thrown,
    };
  }, [ok, failing]);
  assert.deepEqual(outcome, { isResponse: true, status: 200, caught: 'TypeError', sameSyncError: true });
  const good = await storedOnce(collector, 'api_calls', ok);
  const bad = await storedOnce(collector, 'api_calls', failing);
  assert.equal(good.failure_rate_percent, 0);
  assert.equal(bad.failure_rate_percent, 100);
  await context.close();
});

test('bad input from the app: warnings, never an exception into its code', TEST, async () => {
  const beforeSend = `{ beforeSend: (event) => { if (event.type === 'interaction') { const cyclic = { ...event }; cyclic.self = cyclic; return cyclic; } return event; } }`;
  const { page, context } = await open(beforeSend);
  const result = await page.evaluate(() => {
    const m = window.__monitor;
    const returned = [];
    returned.push(m.monitorApiCall(42, 'not a function'));
    returned.push(m.monitorUserInteraction('no handler', 'not a function'));
    returned.push(m.monitorUserInteraction('x'.repeat(5000), () => 'ran'));
    returned.push(m.measure('no such marks', 'missing-start', 'missing-end'));
    m.monitorUserInteraction('cyclic', () => {});
    return { returned: returned.map((v) => (v === undefined ? 'undefined' : v)), warnings: window.__warnings };
  });
  assert.deepEqual(result.returned, ['not a function', 'undefined', 'ran', 'undefined']);
  const warnings = result.warnings.join('\n');
  for (const expected of ['monitorApiCall() takes a non-empty string name', 'monitorUserInteraction() takes a function', 'over 256 characters', 'measure() failed', '`beforeSend` must return the event object']) {
    assert.ok(warnings.includes(expected), `a warning about ${expected}; got:\n${warnings}`);
  }
  await context.close();
});

test('instrumentFetch and instrumentXhr: every request recorded, traceparent only to listed origins', TEST, async () => {
  // Two gates play APIs on other origins (forwarding to the collector's health endpoint); a
  // third stands before the collector, to read what the SDK sent.
  const api = await startGate(collector.url);
  const other = await startGate(collector.url);
  const sink = await startGate(collector.url);
  const path = `/api/v1/monitoring/health?probe=${id()}`;
  const { page, context } = await open({
    endpoint: sink.url,
    instrumentFetch: true,
    instrumentXhr: true,
    tracePropagationOrigins: [api.url],
    flushInterval: 0,
  });
  try {
    await page.evaluate(async ([traced, untraced, p]) => {
      await fetch(traced + p);
      await fetch(untraced + p);
      await new Promise((resolve) => {
        const xhr = new XMLHttpRequest();
        xhr.open('GET', traced + p);
        xhr.onloadend = resolve;
        xhr.send();
      });
      window.__monitor.report();
    }, [api.url, other.url, path]);
    const traced = api.requests.filter((r) => r.path === path);
    assert.equal(traced.length, 2, 'the fetch and the XHR reached the API');
    const parents = traced.map((r) => r.headers.traceparent);
    for (const parent of parents) assert.match(parent ?? '', /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    assert.notEqual(parents[0], parents[1], 'each request its own trace');
    assert.equal(other.requests.find((r) => r.path === path)?.headers.traceparent, undefined, 'no header to an origin not listed');

    // The collector stored the three calls (its own sends are not among them); the traced
    // ones went with the trace ids the API saw, and the collector took them.
    const name = (gate) => `GET ${gate.url}/api/v1/monitoring/health`;
    await storedOnce(collector, 'api_calls', name(api), { count: 2 }).catch((err) => {
      throw new Error(`${err.message}: sent ${JSON.stringify(sink.events().filter((e) => e.type === 'api_call'))}`);
    });
    await storedOnce(collector, 'api_calls', name(other));
    const calls = sink.events().filter((e) => e.type === 'api_call');
    assert.equal(calls.length, 3, JSON.stringify(calls));
    assert.deepEqual(
      calls.filter((c) => c.trace_id).map((c) => c.trace_id).sort(),
      parents.map((p) => p.split('-')[1]).sort(),
    );
    assert.ok(sink.requests.every((r) => JSON.parse(r.answer ?? '{}').data?.rejected?.length === 0), 'nothing rejected');
  } finally {
    await context.close();
    await api.close();
    await other.close();
    await sink.close();
  }
});

test('compress: ordinary sends go gzip-encoded when that is smaller, plain where CORS refuses the header', TEST, async () => {
  const name = `gzip-${id()}`;
  const send = (page) =>
    page.evaluate((n) => {
      for (let i = 0; i < 20; i++) window.__monitor.monitorUserInteraction(n, () => {});
      window.__monitor.report();
    }, name);
  const willing = await startGate(collector.url);
  const unwilling = await startGate(collector.url, { allowHeaders: 'content-type' });
  try {
    const a = await open({ endpoint: willing.url, compress: true, flushInterval: 0 });
    await send(a.page);
    await eventually(() => willing.requests.some((r) => r.body.includes(name) && r.answered), 15_000, 'the gzip send');
    const zipped = willing.requests.find((r) => r.body.includes(name));
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(zipped.bytes < Buffer.byteLength(zipped.body), `${zipped.bytes} bytes on the wire for ${Buffer.byteLength(zipped.body)}`);
    assert.equal(zipped.answered, 200, 'the collector decoded it');

    // This collector's CORS answer leaves Content-Encoding out: the browser refuses the request,
    // and the SDK sends the batch plain.
    const b = await open({ endpoint: unwilling.url, compress: true, flushInterval: 0 });
    await send(b.page);
    await eventually(() => unwilling.requests.some((r) => r.body.includes(name) && r.answered), 15_000, 'the plain send');
    const plain = unwilling.requests.find((r) => r.body.includes(name));
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.answered, 200);
    await storedOnce(collector, 'interactions', name, { count: 40 });
    await a.context.close();
    await b.context.close();
  } finally {
    await willing.close();
    await unwilling.close();
  }
});

test('sessions: one id across the page loads of a tab, another in another browsing context; setUser', TEST, async () => {
  const gate = await startGate(collector.url);
  try {
    const first = await open({ endpoint: gate.url });
    const id1 = await first.page.evaluate(() => window.__monitor.sessionId);
    await first.page.reload();
    await eventually(() => first.page.evaluate(() => !!window.__monitor), 15_000, 'the monitor after reload');
    const id2 = await first.page.evaluate(() => window.__monitor.sessionId);
    assert.equal(id2, id1, 'a reload continues the session');
    await first.page.evaluate(() => {
      window.__monitor.setUser('u_42');
      window.__monitor.monitorUserInteraction('as-user', () => {});
      window.__monitor.report();
    });
    const other = await open({ endpoint: gate.url });
    const id3 = await other.page.evaluate(() => window.__monitor.sessionId);
    assert.notEqual(id3, id1, 'another browsing context is another session');
    await eventually(() => gate.events().some((e) => e.name === 'as-user'), 15_000, 'the interaction');
    const batch = gate.requests.map((r) => JSON.parse(r.body)).find((b) => b.events.some((e) => e.name === 'as-user'));
    assert.equal(batch.session_id, id1);
    assert.equal(batch.user_id, 'u_42');
    await first.context.close();
    await other.context.close();
  } finally {
    await gate.close();
  }
});

test('recordError: an error reaches the collector with its stack, its secrets scrubbed', TEST, async () => {
  const message = `quota exceeded for bob@example.com ${id()}`;
  const { page, context } = await open({ flushInterval: 0 });
  const thrown = await page.evaluate((m) => {
    function askModel() {
      throw new RangeError(m);
    }
    try {
      askModel();
    } catch (error) {
      window.__monitor.recordError(error, { kind: 'unhandled' });
      window.__monitor.report();
      return String(error.stack);
    }
  }, message);
  assert.ok(thrown.includes('askModel'), 'the browser gave the error a stack');
  const scrubbed = message.replace('bob@example.com', '[redacted]');
  const group = await eventually(async () => {
    const { body } = await collector.api('/api/v1/monitoring/frontend/vitals?hours=1');
    return body.data.errors.groups.find((g) => g.message === scrubbed);
  }, 15_000, 'the error at the collector');
  assert.equal(group.kind, 'unhandled');
  assert.equal(group.name, 'RangeError');
  assert.equal(group.count, 1);
  assert.ok(group.sample_stack.includes('askModel'), group.sample_stack);
  assert.ok(!JSON.stringify(group).includes('bob@example.com'));
  await context.close();
});

test('captureErrors: uncaught errors and unhandled rejections become error events', TEST, async () => {
  const tag = id();
  const { page, context } = await open({ flushInterval: 0 });
  await page.evaluate((t) => {
    // The page's own listeners, added after the SDK's, tell the test both were dispatched.
    addEventListener('error', () => (window.__thrown = true));
    addEventListener('unhandledrejection', () => (window.__rejected = true));
    setTimeout(() => {
      throw new TypeError(`uncaught ${t}`);
    });
    Promise.reject(new Error(`rejected ${t}`));
  }, tag);
  await eventually(() => page.evaluate(() => window.__thrown && window.__rejected), 5_000, 'both dispatched');
  // Leaving the page sends them.
  await page.goto(`${site.url}pages/blank.html`);
  const groups = await eventually(async () => {
    const { body } = await collector.api('/api/v1/monitoring/frontend/vitals?hours=1');
    const mine = body.data.errors.groups.filter((g) => g.message.includes(tag));
    return mine.length === 2 && mine;
  }, 15_000, 'both errors at the collector');
  const byKind = Object.fromEntries(groups.map((g) => [g.kind, g]));
  assert.equal(byKind.unhandled?.name, 'TypeError');
  assert.equal(byKind.unhandled?.message, `uncaught ${tag}`);
  assert.equal(byKind.unhandledrejection?.name, 'Error');
  assert.equal(byKind.unhandledrejection?.message, `rejected ${tag}`);
  await context.close();
});
