/**
 * The I/O the WebAssembly module asks of the page (`Host` in sdk-wasm/src/bindings.rs). The
 * module decides what to send, when, and what to retry; this does the sending and the storing.
 * Nothing here throws into the module: every failure becomes an answer (status 0) or a no-op.
 */

/** Called with the collector's answer to request `id`: its status (0 for none) and `Retry-After`. */
export type Answer = (id: number, status: number, retryAfterMs: number) => void;

/** What `Host` in sdk-wasm/src/bindings.rs declares. */
export interface Host {
  post(url: string, body: string, keepalive: boolean, gzip: boolean, id: number): void;
  beacon(url: string, body: string): boolean;
  load(key: string, session: boolean): string | undefined;
  save(key: string, value: string, session: boolean): void;
  warn(message: string): void;
}

/** `Retry-After` (seconds, or an HTTP date) in ms; -1 when absent or unreadable. */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (header === null || header.trim() === '') return -1;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? -1 : Math.max(0, at - now);
}

/** `body` gzip-encoded by the browser's `CompressionStream`, when that is smaller. */
async function gzipped(body: string): Promise<[BodyInit, boolean]> {
  if (typeof CompressionStream !== 'function') return [body, false];
  const raw = new TextEncoder().encode(body);
  const stream = new Blob([raw]).stream().pipeThrough(new CompressionStream('gzip'));
  const zipped = await new Response(stream).arrayBuffer();
  return zipped.byteLength < raw.byteLength ? [zipped, true] : [body, false];
}

function storage(session: boolean): Storage {
  return session ? sessionStorage : localStorage;
}

/**
 * The page's host. `fetch` is taken now, before the SDK's optional fetch instrumentation wraps
 * it, so that the SDK's own sends are never recorded as the app's API calls.
 */
export function createHost(answer: Answer): Host {
  const fetchNow = fetch.bind(globalThis);
  // Set when a gzip-encoded send failed and the same body plain went through: the collector's
  // CORS answer does not allow `Content-Encoding`; this page stops compressing.
  let gzipRefused = false;
  return {
    post(url, body, keepalive, gzip, id) {
      const send = (payload: BodyInit, encoded: boolean, alive: boolean): Promise<Response> =>
        fetchNow(url, {
          method: 'POST',
          body: payload,
          keepalive: alive,
          credentials: 'omit',
          mode: 'cors',
          headers: encoded
            ? { 'Content-Type': 'text/plain;charset=UTF-8', 'Content-Encoding': 'gzip' }
            : { 'Content-Type': 'text/plain;charset=UTF-8' },
        });
      (gzip && !gzipRefused ? gzipped(body) : Promise.resolve<[BodyInit, boolean]>([body, false]))
        .then(([payload, encoded]) =>
          send(payload, encoded, keepalive).catch(async (error: unknown) => {
            // A keepalive request the browser refuses (over its quota) goes as a plain fetch;
            // a gzip-encoded one the collector's CORS refuses goes uncompressed.
            if (!keepalive && !encoded) throw error;
            const response = await send(encoded ? body : payload, false, false);
            if (encoded) gzipRefused = true;
            return response;
          }),
        )
        .then(
          async (response) => {
            const retryAfter = retryAfterMs(response.headers.get('Retry-After'));
            // Drained, so the connection is free for the next request.
            await response.arrayBuffer().catch(() => undefined);
            answer(id, response.status, retryAfter);
          },
          () => answer(id, 0, -1),
        );
    },
    beacon(url, body) {
      try {
        return navigator.sendBeacon(url, body);
      } catch {
        return false;
      }
    },
    load(key, session) {
      try {
        return storage(session).getItem(key) ?? undefined;
      } catch {
        return undefined;
      }
    },
    save(key, value, session) {
      try {
        if (value) storage(session).setItem(key, value);
        else storage(session).removeItem(key);
      } catch {
        // Storage disabled or full: the SDK goes on without it.
      }
    },
    warn(message) {
      console.warn(message);
    },
  };
}
