/**
 * The collector's own dashboard page (served at `/` from the collector's binary): the
 * `PerformanceDashboard` component over the collector that serves it. `?hours=` holds the
 * range, so a reload or a shared link shows the same one.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { PerformanceDashboard } from '../src/dashboard.js';

// The API is beside the page, also behind a proxy that serves the collector under a path.
const endpoint = new URL('.', location.href).href;
const hours = Number(new URLSearchParams(location.search).get('hours')) || 1;
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <PerformanceDashboard
        endpoint={endpoint}
        hours={hours}
        title="perfwatch"
        onHoursChange={(chosen) => {
          const url = new URL(location.href);
          url.searchParams.set('hours', String(chosen));
          history.replaceState(null, '', url);
        }}
      />
    </StrictMode>,
  );
}
