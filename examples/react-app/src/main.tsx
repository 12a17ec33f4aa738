import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { PerformanceErrorBoundary, PerformanceMonitorProvider } from 'perfwatch/react';
import { App } from './App';
import { monitor } from './perfwatch';

const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      {/* The monitor started in perfwatch.ts (before React, so nothing of the load is missed). */}
      <PerformanceMonitorProvider monitor={monitor}>
        <PerformanceErrorBoundary fallback={<p>Something went wrong; the error was reported.</p>}>
          <App />
        </PerformanceErrorBoundary>
      </PerformanceMonitorProvider>
    </StrictMode>,
  );
}
