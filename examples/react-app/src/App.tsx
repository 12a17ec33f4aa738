import { useEffect, useState } from 'react';
import type { Metric } from 'perfwatch';
import { subscribe } from './perfwatch';
import { Chat } from './pages/Chat';
import { Home } from './pages/Home';
import { useRoute } from './router';

function format(metric: Metric): string {
  return metric.name === 'CLS' ? metric.value.toFixed(3) : `${Math.round(metric.value)} ms`;
}

/** The vitals perfwatch measured on this page load, as they arrive. */
function VitalsPanel() {
  const [metrics, setMetrics] = useState<readonly Metric[]>([]);
  useEffect(() => subscribe(setMetrics), []);
  return (
    <section aria-labelledby="vitals-heading">
      <h2 id="vitals-heading">This page's vitals</h2>
      {metrics.length === 0 ? (
        <p>Waiting for the first paint…</p>
      ) : (
        <ul data-testid="vitals">
          {metrics.map((m) => (
            <li key={`${m.id}-${m.value}`} data-name={m.name} data-value={m.value} data-rating={m.rating}>
              <strong>{m.name}</strong> {format(m)} ({m.rating})
            </li>
          ))}
        </ul>
      )}
      <p>
        LCP is final after your first click or key press; everything is sent to the collector when
        you leave or hide the page.
      </p>
    </section>
  );
}

export function App() {
  const route = useRoute();
  return (
    <main style={{ fontFamily: 'system-ui, sans-serif', maxWidth: 720, margin: '2rem auto', padding: '0 1rem' }}>
      <h1>AI Hub</h1>
      <p>
        A chat assistant for your team. This example page is monitored by perfwatch: its Core Web
        Vitals, API calls and interactions reach the collector at{' '}
        <code>/api/v1/monitoring/frontend/vitals</code>.
      </p>
      {route.name === 'chat' ? <Chat key={route.model} model={route.model} /> : <Home />}
      <VitalsPanel />
    </main>
  );
}
