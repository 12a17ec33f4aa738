/**
 * The app's own work: API calls (`monitorApiCall`), user interactions
 * (`monitorUserInteraction`) and custom timings (`mark`, `measure`). Each times what the app
 * does and hands the result to the WebAssembly module, which scrubs and queues it. The app's
 * result or error passes through untouched; a mistake in how the app calls these gets a
 * console warning, never an exception.
 */

/** The part of the WebAssembly monitor these record through (sdk-wasm/src/lib.rs). */
export interface Recorder {
  apiCall(
    name: string,
    method: string | undefined,
    url: string | undefined,
    status: number,
    ok: boolean,
    startTime: number,
    duration: number,
    errorType: string | undefined,
    traceId: string | undefined,
  ): void;
  timed(name: string, startTime: number, duration: number, ok: boolean | undefined): void;
  recordError(
    kind: string,
    name: string | undefined,
    message: string,
    stack: string | undefined,
    componentStack: string | undefined,
  ): void;
}

/** Where an error came from, for {@link recordError}. */
export interface ErrorContext {
  /** `render` for an error boundary's, else the app's own word (default `manual`). */
  kind?: string;
  /** React's component stack. */
  componentStack?: string;
}

/** What `monitorApiCall` cannot learn from the call itself. */
export interface ApiCallOptions {
  /** The HTTP method; else the name's leading verb (`GET /models`), else GET. */
  method?: string;
  /** The called URL; else a returned `Response`'s. */
  url?: string;
  /** The answer's status, when the call does not return a `Response`. */
  status?: number;
  /** The W3C trace id sent with the call (set by the fetch instrumentation). */
  traceId?: string;
}

const METHODS = new Set(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS']);
/** The collector keeps names up to 256 bytes; longer ones are cut there. */
const MAX_NAME = 256;

function warn(message: string): void {
  console.warn(`perfwatch: ${message}`);
}

/** `name` as a string the collector takes, with a warning for what had to change. */
function checkedName(api: string, name: unknown): string {
  if (typeof name !== 'string' || name === '') {
    warn(`${api}() takes a non-empty string name first; got ${typeof name}`);
    return String(name) || 'unnamed';
  }
  if (name.length > MAX_NAME) warn(`${api}() name is over ${MAX_NAME} characters and is cut`);
  return name;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * Runs `call` (work of the SDK's, such as recording), never throwing into the app: a failure is
 * a console warning naming `what`.
 */
export function guarded(what: string, call: () => void): void {
  try {
    call();
  } catch (error) {
    warn(`${what} failed: ${String(error)}`);
  }
}

/**
 * Runs `work` (a function, or a promise already running) and calls `done` with whether it
 * failed, the value or error, and its start and duration; returns what `work` returns or
 * throws, unchanged (a promise settles as the original does).
 */
function timeWork<T>(
  work: (() => T) | T,
  done: (failed: boolean, outcome: unknown, start: number, duration: number) => void,
): T {
  const start = performance.now();
  const finish = (failed: boolean, outcome: unknown): void =>
    guarded('recording a timing', () => done(failed, outcome, start, performance.now() - start));
  let result: T;
  try {
    result = typeof work === 'function' ? (work as () => T)() : work;
  } catch (error) {
    finish(true, error);
    throw error;
  }
  if (isThenable(result)) {
    return (result as PromiseLike<unknown>).then(
      (value) => {
        finish(false, value);
        return value;
      },
      (error: unknown) => {
        finish(true, error);
        throw error;
      },
    ) as T;
  }
  finish(false, result);
  return result;
}

function errorType(error: unknown): string {
  if (error instanceof Error) return error.name;
  return typeof error;
}

/** See `Monitor.monitorApiCall`. */
export function monitorApiCall<T>(
  recorder: Recorder,
  name: string,
  call: (() => T) | T,
  options: ApiCallOptions = {},
): T {
  const checked = checkedName('monitorApiCall', name);
  if (typeof call !== 'function' && !isThenable(call)) {
    warn('monitorApiCall() takes a function or a promise second; the value is returned as is');
    return call;
  }
  const verb = checked.split(' ', 1)[0]?.toUpperCase() ?? '';
  const method = options.method?.toUpperCase() ?? (METHODS.has(verb) ? verb : undefined);
  return timeWork(call, (failed, outcome, start, duration) => {
    if (failed) {
      recorder.apiCall(checked, method, options.url, 0, false, start, duration, errorType(outcome), options.traceId);
      return;
    }
    const response = typeof Response === 'function' && outcome instanceof Response ? outcome : undefined;
    const status = response?.status ?? options.status ?? 0;
    const ok = response ? response.ok : status === 0 || (status >= 200 && status < 400);
    const url = options.url ?? (response?.url || undefined);
    recorder.apiCall(checked, method, url, status, ok, start, duration, undefined, options.traceId);
  });
}

/** See `Monitor.monitorUserInteraction`. */
export function monitorUserInteraction<T>(recorder: Recorder, name: string, handler: () => T): T | undefined {
  const checked = checkedName('monitorUserInteraction', name);
  if (typeof handler !== 'function') {
    warn('monitorUserInteraction() takes a function second; nothing was run');
    return undefined;
  }
  return timeWork(handler, (failed, _outcome, start, duration) =>
    recorder.timed(checked, start, duration, !failed),
  );
}

/** See `Monitor.mark`. */
export function mark(name: string): void {
  try {
    performance.mark(checkedName('mark', name));
  } catch (error) {
    warn(`mark() failed: ${String(error)}`);
  }
}

/** See `Monitor.measure`. */
export function measure(
  recorder: Recorder,
  name: string,
  start?: string | number,
  end?: string | number,
): number | undefined {
  const checked = checkedName('measure', name);
  try {
    const entry =
      typeof start === 'number' || typeof end === 'number'
        ? performance.measure(checked, {
            start: start ?? 0,
            end: end ?? performance.now(),
          } as PerformanceMeasureOptions)
        : performance.measure(checked, start, end);
    guarded('recording a measure', () => recorder.timed(checked, entry.startTime, entry.duration, undefined));
    return entry.duration;
  } catch (error) {
    warn(`measure() failed (is the start or end mark set?): ${String(error)}`);
    return undefined;
  }
}

/** See `Monitor.recordError`. */
export function recordError(recorder: Recorder, error: unknown, context: ErrorContext = {}): void {
  guarded('recording an error', () => {
    const isError = error instanceof Error;
    const message = isError ? error.message : typeof error === 'string' ? error : safeString(error);
    recorder.recordError(
      context.kind ?? 'manual',
      isError ? error.name : undefined,
      message || '(no message)',
      isError ? error.stack : undefined,
      context.componentStack,
    );
  });
}

/** `String(value)`, or a placeholder when even that throws (an object with a hostile `toString`). */
function safeString(value: unknown): string {
  try {
    return String(value);
  } catch {
    return '(unprintable value)';
  }
}
