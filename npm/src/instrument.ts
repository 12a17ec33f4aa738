/**
 * Optional automatic instrumentation (off by default): every `fetch` and `XMLHttpRequest` the
 * page makes becomes an `api_call` event, and requests to the origins on
 * `tracePropagationOrigins` carry a W3C `traceparent` header, whose trace id the event keeps
 * so that the backend's records of the same request can be joined to the page.
 *
 * Only the origins listed get the header: a header a server does not allow in its CORS answer
 * would make the browser refuse the request.
 */
import { monitorApiCall, type Recorder } from './app.js';

/** What to instrument. */
export interface InstrumentOptions {
  /** Requests to URLs starting with this (the collector) are the SDK's own, never recorded. */
  ownPrefix: string;
  /** Origins (`https://api.example`) whose requests get a `traceparent` header. */
  traceOrigins: readonly string[];
}

function randomHex(bytes: number): string {
  const values = new Uint8Array(bytes);
  crypto.getRandomValues(values);
  let hex = '';
  for (const value of values) hex += value.toString(16).padStart(2, '0');
  return hex;
}

/** A fresh `traceparent` value and its trace id (sampled flag set). */
export function newTraceparent(): { header: string; traceId: string } {
  const traceId = randomHex(16);
  return { header: `00-${traceId}-${randomHex(8)}-01`, traceId };
}

/** The call's name: `METHOD /path` on the page's origin, `METHOD origin/path` elsewhere. */
function callName(method: string, url: URL): string {
  const where = url.origin === location.origin ? url.pathname : url.origin + url.pathname;
  return `${method} ${where}`;
}

function resolve(target: string | URL): URL | undefined {
  try {
    return new URL(target, location.href);
  } catch {
    return undefined;
  }
}

/** Wraps `fetch` so that each call is timed (and traced where allowed). */
export function instrumentFetch(recorder: Recorder, options: InstrumentOptions): void {
  const original = globalThis.fetch;
  if (typeof original !== 'function') return;
  globalThis.fetch = function fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const request = typeof Request === 'function' && input instanceof Request ? input : undefined;
    const url = resolve(request ? request.url : input instanceof URL ? input : String(input));
    if (!url || url.href.startsWith(options.ownPrefix)) return original(input, init);
    const method = (init?.method ?? request?.method ?? 'GET').toUpperCase();
    let traceId: string | undefined;
    if (options.traceOrigins.includes(url.origin)) {
      const trace = newTraceparent();
      traceId = trace.traceId;
      const headers = new Headers(init?.headers ?? request?.headers);
      headers.set('traceparent', trace.header);
      init = { ...init, headers };
    }
    return monitorApiCall(recorder, callName(method, url), () => original(input, init), {
      method,
      url: url.href,
      ...(traceId ? { traceId } : {}),
    });
  };
}

/** Wraps `XMLHttpRequest` so that each request is timed (and traced where allowed). */
export function instrumentXhr(recorder: Recorder, options: InstrumentOptions): void {
  if (typeof XMLHttpRequest !== 'function') return;
  const proto = XMLHttpRequest.prototype;
  const open = proto.open;
  const send = proto.send;
  const calls = new WeakMap<XMLHttpRequest, { method: string; url: URL }>();
  proto.open = function (this: XMLHttpRequest, method: string, url: string | URL, ...rest: unknown[]) {
    const resolved = resolve(url);
    if (resolved && !resolved.href.startsWith(options.ownPrefix)) {
      calls.set(this, { method: method.toUpperCase(), url: resolved });
    } else {
      calls.delete(this);
    }
    return (open as (...args: unknown[]) => void).call(this, method, url, ...rest);
  } as typeof proto.open;
  proto.send = function (this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
    const call = calls.get(this);
    if (call) {
      let traceId: string | undefined;
      if (options.traceOrigins.includes(call.url.origin)) {
        const trace = newTraceparent();
        traceId = trace.traceId;
        this.setRequestHeader('traceparent', trace.header);
      }
      const start = performance.now();
      // readyState DONE comes before the `load` and `loadend` events, so the call is recorded
      // before the app's own handlers of those run.
      const done = (): void => {
        if (this.readyState !== XMLHttpRequest.DONE) return;
        this.removeEventListener('readystatechange', done);
        try {
          const status = this.status;
          recorder.apiCall(
            callName(call.method, call.url),
            call.method,
            call.url.href,
            status,
            status >= 200 && status < 400,
            start,
            performance.now() - start,
            status === 0 ? 'NetworkError' : undefined,
            traceId,
          );
        } catch (error) {
          console.warn(`perfwatch: could not record a request: ${String(error)}`);
        }
      };
      this.addEventListener('readystatechange', done);
    }
    return send.call(this, body);
  };
}
