// Real parts for the end-to-end tests: the collector binary as a process on a free loopback
// port with a temporary data dir, a static server for the built example app, and headless
// Debian Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { extname, join, normalize, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const root = resolve(fileURLToPath(import.meta.url), '../../..');

/** Starts `perfwatch-collector --listen 127.0.0.1:0` and waits for the address it prints. */
export async function startCollector() {
  const bin = process.env.PERFWATCH_COLLECTOR_BIN ?? join(root, 'target/debug/perfwatch-collector');
  const dataDir = await mkdtemp(join(tmpdir(), 'perfwatch-e2e-'));
  const proc = spawn(bin, ['--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'info' },
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
    logs,
    async api(path) {
      const res = await fetch(new URL(path, url));
      return { status: res.status, body: await res.json() };
    },
    async stop() {
      const exited = new Promise((r) => proc.once('exit', (code, signal) => r({ code, signal })));
      proc.kill('SIGTERM');
      const result = await exited;
      await rm(dataDir, { recursive: true, force: true });
      return result;
    },
  };
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

/** Debian's Chromium, headless, with the flags this machine's closed network needs. */
export async function launchChromium() {
  const userDataDir = await mkdtemp(join(tmpdir(), 'perfwatch-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    async close() {
      await context.close();
      await rm(userDataDir, { recursive: true, force: true });
    },
  };
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
