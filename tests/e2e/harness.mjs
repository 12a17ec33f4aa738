// Real parts for the end-to-end tests: the collector binary as a process on a free loopback
// port with a temporary data dir, a static server for the built example app, and headless
// Debian Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { deflateSync, gunzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';

export const root = resolve(fileURLToPath(import.meta.url), '../../..');

/**
 * Starts `perfwatch-collector --listen 127.0.0.1:<port>` (a free port by default) and waits for
 * the address it prints. With `dataDir`, that directory is used and kept on `stop({ keep: true
 * })`, so that a test can stop the collector and start it again on the same port and data;
 * `env` adds environment variables (`PERFWATCH_READ_TOKENS`, say).
 */
export async function startCollector({ port = 0, dataDir: given, env = {} } = {}) {
  const bin = process.env.PERFWATCH_COLLECTOR_BIN ?? join(root, 'target/debug/perfwatch-collector');
  const dataDir = given ?? (await mkdtemp(join(tmpdir(), 'perfwatch-e2e-')));
  const proc = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info', ...env },
  });
  const logs = [];
  createInterface({ input: proc.stderr }).on('line', (line) => logs.push(line));
  const url = await new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start:\n${logs.join('\n')}`)), 30_000);
    proc.once('exit', (code) => reject(new Error(`collector exited with ${code}:\n${logs.join('\n')}`)));
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const match = /^perfwatch-collector listening on (http:\/\/\S+)$/.exec(line);
      if (match) {
        clearTimeout(timer);
        resolveUrl(match[1]);
      }
    });
  });
  return {
    url,
    dataDir,
    logs,
    async api(path) {
      const res = await fetch(new URL(path, url));
      return { status: res.status, body: await res.json() };
    },
    /** The `data` of a read endpoint's answer; throws unless it answered 200. */
    async data(path) {
      const { status, body } = await this.api(path);
      if (status !== 200) throw new Error(`${path}: ${status} ${JSON.stringify(body)}`);
      return body.data;
    },
    async stop({ keep = false } = {}) {
      const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
      proc.kill('SIGTERM');
      const result = await exited;
      if (!keep) await rm(dataDir, { recursive: true, force: true });
      return result;
    },
  };
}

/** Starts `perfwatch-example-backend` on a free port, reporting to `collectorUrl`. */
export async function startBackend(collectorUrl) {
  const bin = process.env.PERFWATCH_EXAMPLE_BACKEND_BIN ?? join(root, 'target/debug/perfwatch-example-backend');
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const logs = [];
  const proc = spawn(
    bin,
    ['--listen', `127.0.0.1:${port}`, '--collector', collectorUrl, '--static-dir', join(root, 'examples/react-app/dist')],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout.on('data', (d) => logs.push(String(d)));
  proc.stderr.on('data', (d) => logs.push(String(d)));
  await eventually(async () => {
    try {
      return (await fetch(`${url}/api/models`)).ok;
    } catch {
      return false;
    }
  }, 30_000, `the example backend to answer; logs:\n${logs.join('')}`);
  return {
    url,
    logs,
    stop: async () => {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    },
  };
}

/**
 * The example stack as the README's run command starts it: a collector, the example backend
 * reporting to it (serving the example app), and Chromium. `stop()` stops them all, the
 * collector cleanly (see {@link stopCleanly}).
 */
export async function startExampleStack() {
  const collector = await startCollector();
  const stack = { collector, backend: undefined, browser: undefined };
  try {
    stack.backend = await startBackend(collector.url);
    stack.browser = await launchChromium();
  } catch (error) {
    await stack.backend?.stop();
    await collector.stop();
    throw error;
  }
  stack.stop = async () => {
    await stack.browser?.close();
    await stack.backend?.stop();
    await stopCleanly(collector);
  };
  return stack;
}

/**
 * Stops `collector` (from {@link startCollector}) with SIGTERM and fails unless it exited 0, as
 * its graceful shutdown promises; a test's `after` calls it, with `undefined` when `before`
 * failed early.
 */
export async function stopCleanly(collector) {
  if (!collector) return;
  const { code, signal } = await collector.stop();
  if (code !== 0) {
    throw new Error(`collector exited with ${code ?? signal} on SIGTERM, not 0; logs:\n${collector.logs.join('\n')}`);
  }
}

/** A loopback port free at the time of asking. */
export async function freePort() {
  const server = createServer();
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

/**
 * A stand-in for the network between the page and the collector, on its own origin: every
 * request is recorded (arrival time, headers, body gunzipped) and then answered as the test
 * scripts it: `gate.script.push({ status, retryAfter })` answers the next request itself,
 * `gate.delayMs` holds answers back, and everything else is forwarded to `target` (the real
 * collector) and answered with its answer. CORS as the collector answers it, or with `allowHeaders`
 * (the request headers a preflight may ask for) narrower.
 */
export async function startGate(target, { allowHeaders = 'content-type, content-encoding, traceparent' } = {}) {
  const requests = [];
  const gate = { requests, script: [], delayMs: 0, target, url: '' };
  const cors = {
    'access-control-allow-origin': '*',
    'access-control-expose-headers': 'Retry-After',
    'access-control-allow-headers': allowHeaders,
    'access-control-allow-methods': 'GET, POST, OPTIONS',
  };
  const server = createServer(async (req, res) => {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, cors);
      return res.end();
    }
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    let body = Buffer.concat(chunks);
    if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
    const record = { at: Date.now(), path: req.url, headers: req.headers, bytes: Buffer.concat(chunks).length, body: body.toString('utf8') };
    requests.push(record);
    if (gate.delayMs) await new Promise((r) => setTimeout(r, gate.delayMs));
    const scripted = gate.script.shift();
    if (scripted) {
      record.answered = scripted.status;
      const headers = { ...cors, 'content-type': 'application/json' };
      if (scripted.retryAfter !== undefined) headers['retry-after'] = String(scripted.retryAfter);
      res.writeHead(scripted.status, headers);
      return res.end('{"success":false,"error":{"code":"scripted","message":"scripted by the test"}}');
    }
    try {
      // The body as the page sent it, so that the collector decodes a gzip-encoded one itself.
      const encoding = req.headers['content-encoding'];
      const answer = await fetch(new URL(req.url, gate.target), {
        method: req.method,
        headers: {
          'content-type': req.headers['content-type'] ?? 'text/plain',
          ...(encoding ? { 'content-encoding': encoding } : {}),
        },
        body: req.method === 'POST' ? Buffer.concat(chunks) : undefined,
      });
      const text = await answer.text();
      record.answer = text;
      record.answered = answer.status;
      res.writeHead(answer.status, { ...cors, 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
      res.end(text);
    } catch (err) {
      record.answered = 502;
      res.writeHead(502, cors);
      res.end(String(err));
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  gate.url = `http://127.0.0.1:${server.address().port}`;
  gate.close = () => {
    server.closeAllConnections();
    return new Promise((r) => server.close(r));
  };
  /** The events of every batch the gate received so far. */
  gate.events = () =>
    requests.flatMap((r) => {
      try {
        return JSON.parse(r.body).events ?? [];
      } catch {
        return [];
      }
    });
  return gate;
}

const MIME = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/** Serves a built app directory on a free loopback port (index.html for unknown paths). */
export async function serveStatic(dir) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
    const file = join(dir, path.endsWith('/') ? 'index.html' : path);
    try {
      const body = await readFile(file.startsWith(dir) ? file : join(dir, 'index.html'));
      res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(200, { 'content-type': MIME['.html'] });
      res.end(await readFile(join(dir, 'index.html')));
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(r)) };
}

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Debian's Chromium, headless, with the flags this machine's closed network needs. */
export async function launchChromium() {
  const userDataDir = await mkdtemp(join(tmpdir(), 'perfwatch-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The same Chromium as a plain (not persistent) browser, for tests that need a fresh context per
 * page load or targets Playwright does not manage. With `bfcache`, Playwright's default
 * `--disable-back-forward-cache` is dropped, so that pages can enter the back/forward cache.
 */
export async function launchBrowser({ bfcache = false, args = [] } = {}) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
    ignoreDefaultArgs: bfcache ? ['--disable-back-forward-cache'] : [],
  });
}

/**
 * The same Chromium with no DevTools session attached to any page, driven over
 * `--remote-debugging-pipe` by a minimal CDP client at the browser level (`send(method, params)`).
 * Playwright attaches to every page (browser-wide auto-attach) and enables focus emulation on
 * each, which keeps every tab visible and disables prerendering (PrerenderingDisabledByDevTools);
 * tests of background tabs and prerendering need a browser without that.
 */
export async function launchRawChromium({ args = [] } = {}) {
  const userDataDir = await mkdtemp(join(tmpdir(), 'perfwatch-chromium-raw-'));
  const proc = spawn(
    process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    ['--headless', ...CHROMIUM_ARGS, ...args, '--remote-debugging-pipe', `--user-data-dir=${userDataDir}`, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'ignore', 'pipe', 'pipe'] },
  );
  const [toBrowser, fromBrowser] = [proc.stdio[3], proc.stdio[4]];
  const pending = new Map();
  let nextId = 1;
  let buffer = Buffer.alloc(0);
  fromBrowser.on('data', (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    let end;
    while ((end = buffer.indexOf(0)) >= 0) {
      const message = JSON.parse(buffer.subarray(0, end).toString('utf8'));
      buffer = buffer.subarray(end + 1);
      const waiter = pending.get(message.id);
      if (!waiter) continue;
      pending.delete(message.id);
      if (message.error) waiter.reject(new Error(`${waiter.method}: ${message.error.message}`));
      else waiter.resolve(message.result);
    }
  });
  const exited = new Promise((r) => proc.once('exit', r));
  return {
    send(method, params = {}) {
      const id = nextId++;
      return new Promise((resolveResult, reject) => {
        pending.set(id, { method, resolve: resolveResult, reject });
        toBrowser.write(`${JSON.stringify({ id, method, params })}\0`);
      });
    },
    async close() {
      // Browser.close lets Chromium shut its helper processes down and flush the profile; a
      // plain SIGTERM leaves them writing into the directory being removed.
      const killer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      toBrowser.write(`${JSON.stringify({ id: nextId++, method: 'Browser.close' })}\0`);
      await exited;
      clearTimeout(killer);
      await rm(userDataDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
}

/**
 * A static server for test pages, with the parts a scenario needs to be deterministic:
 * - `mounts`: URL prefix (e.g. `/pages/`) to directory; unknown files are 404, never a fallback;
 * - `wasmDelays`: URL prefix to milliseconds: `.wasm` files under it are sent that much later
 *   (a slow network for the SDK's module, while its JS has loaded);
 * - `/config.js`: `window.__E2E_CONFIG = config`;
 * - `/slow.png?ms=1500&w=800&h=400&color=3366cc`: a PNG of that size (noise around that colour),
 *   sent after `ms`;
 * - `POST /sink`: records a page sends with `sendBeacon` (`{run, doc, seq, ...}` or an array of
 *   them), kept per `run` in arrival order, so that a test reads them after the page is gone or
 *   never attached; `GET /records?run=` answers them (for a page that waits for another one).
 * Every response is `Cache-Control: no-cache` (revalidate, but not `no-store`, which would keep
 * pages out of the back/forward cache).
 */
export async function serveSite({ mounts, wasmDelays = {}, config = {} }) {
  const records = new Map();
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (status, type, body) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache' });
      res.end(body);
    };
    try {
      if (url.pathname === '/sink' && req.method === 'POST') {
        const chunks = [];
        for await (const chunk of req) chunks.push(chunk);
        for (const record of [JSON.parse(Buffer.concat(chunks).toString('utf8'))].flat()) {
          if (!records.has(record.run)) records.set(record.run, []);
          records.get(record.run).push(record);
        }
        return send(204, 'text/plain', '');
      }
      if (url.pathname === '/records') {
        return send(200, MIME['.json'], JSON.stringify(records.get(url.searchParams.get('run')) ?? []));
      }
      if (url.pathname === '/config.js') {
        return send(200, MIME['.js'], `window.__E2E_CONFIG = ${JSON.stringify(config)};\n`);
      }
      if (url.pathname === '/slow.png') {
        const q = (name, fallback) => Number(url.searchParams.get(name) ?? fallback);
        await new Promise((r) => setTimeout(r, q('ms', 0)));
        const color = url.searchParams.get('color') ?? '3366cc';
        return send(200, 'image/png', noisyPng(q('w', 100), q('h', 100), color));
      }
      const path = normalize(decodeURIComponent(url.pathname));
      for (const [prefix, ms] of Object.entries(wasmDelays)) {
        if (path.startsWith(prefix) && path.endsWith('.wasm')) await new Promise((r) => setTimeout(r, ms));
      }
      for (const [prefix, dir] of Object.entries(mounts)) {
        if (!path.startsWith(prefix)) continue;
        const file = join(dir, path.slice(prefix.length) || 'index.html');
        if (!file.startsWith(resolve(dir) + sep)) break;
        const body = await readFile(file).catch(() => undefined);
        if (body) return send(200, MIME[extname(file)] ?? 'application/octet-stream', body);
      }
      send(404, 'text/plain', 'not found');
    } catch (err) {
      send(500, 'text/plain', String(err));
    }
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}/`,
    /** What pages of `run` sent to `/sink` so far, in arrival order. */
    records: (run) => [...(records.get(run) ?? [])],
    close: () => new Promise((r) => server.close(r)),
  };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(buf) {
  let c = 0xffffffff;
  for (const byte of buf) c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const pngs = new Map();

/**
 * A `w`×`h` RGB PNG: noise around one colour (`rrggbb`), deterministic per arguments. Noise,
 * because Chrome ignores images of low entropy (under 0.05 bits per pixel, such as a solid
 * colour) as LCP candidates.
 */
function noisyPng(w, h, hex) {
  const key = `${w}x${h}#${hex}`;
  if (pngs.has(key)) return pngs.get(key);
  const chunk = (type, data) => {
    const out = Buffer.alloc(12 + data.length);
    out.writeUInt32BE(data.length, 0);
    out.write(type, 4, 'ascii');
    data.copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(w, 0);
  header.writeUInt32BE(h, 4);
  header.set([8, 2, 0, 0, 0], 8); // 8 bits per channel, RGB, no interlace
  const rgb = [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
  const pixels = Buffer.alloc(h * (1 + 3 * w)); // each row: filter byte 0, then the pixels
  let seed = w * 31 + h * 17 + rgb[0] + 1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        pixels[y * (1 + 3 * w) + 1 + 3 * x + c] = Math.max(0, Math.min(255, rgb[c] - 32 + ((seed >>> 16) & 63)));
      }
    }
  }
  const png = Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(pixels)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
  pngs.set(key, png);
  return png;
}

/** Polls `check` until it returns a truthy value or `ms` pass. */
export async function eventually(check, ms = 15_000, what = 'condition') {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}
