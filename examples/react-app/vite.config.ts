import { defineConfig } from 'vite';

export default defineConfig({
  // JSX with React's automatic runtime, without a plugin (no Fast Refresh needed here).
  oxc: { jsx: { runtime: 'automatic' } },
  build: { target: 'es2022' },
});
