import { init, type Metric, type Monitor } from 'perfwatch';

declare global {
  interface Window {
    /** Overrides the collector's address; the end-to-end tests set it before the page loads. */
    __PERFWATCH_ENDPOINT__?: string;
  }
}

/** Where the collector runs: the test harness's override, the build's setting, or the default. */
const endpoint =
  window.__PERFWATCH_ENDPOINT__ ?? import.meta.env.VITE_PERFWATCH_ENDPOINT ?? 'http://127.0.0.1:8001';

type Listener = (metrics: readonly Metric[]) => void;
const metrics: Metric[] = [];
const listeners = new Set<Listener>();

/** Subscribes to the metrics this page has reported so far and from now on. */
export function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  listener(metrics);
  return () => listeners.delete(listener);
}

/** Starts perfwatch for this page (once). */
export const monitor: Promise<Monitor> = init({
  endpoint,
  app: 'ai-hub-example',
  key: 'pk_example',
  release: '0.1.0',
  route: window.location.pathname.startsWith('/chat/') ? '/chat/:model' : '/',
  onMetric(metric) {
    metrics.push(metric);
    for (const listener of listeners) listener([...metrics]);
  },
});
