/**
 * The dashboard's stylesheet, injected once by the component (so that apps need no CSS import
 * or bundler rule). Class names start with `pw-`; the `.u-*` rules are the parts of uPlot's own
 * stylesheet (MIT, uPlot.min.css) its charts need to lay out.
 */
export const STYLES = `
.pw-dashboard { --pw-fg: #111827; --pw-muted: #4b5563; --pw-line: #d1d5db; --pw-bg: #ffffff; --pw-panel: #f9fafb;
  --pw-good: #047857; --pw-warn: #92400e; --pw-bad: #b91c1c; --pw-focus: #1d4ed8;
  color: var(--pw-fg); background: var(--pw-bg); font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  padding: 1rem; box-sizing: border-box; }
.pw-dashboard *, .pw-dashboard *::before, .pw-dashboard *::after { box-sizing: border-box; }
.pw-dashboard h2 { font-size: 1.35rem; margin: 0; }
.pw-dashboard h3 { font-size: 1rem; margin: 0 0 .5rem; }
.pw-dashboard :focus-visible { outline: 3px solid var(--pw-focus); outline-offset: 2px; }
.pw-header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; justify-content: space-between; margin-bottom: 1rem; }
.pw-controls { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; }
.pw-controls select, .pw-controls button, .pw-token input, .pw-token button, .pw-inline select {
  font: inherit; padding: .35rem .6rem; border: 1px solid #6b7280; border-radius: 6px; background: #fff; color: inherit; min-height: 2.25rem; }
.pw-controls button, .pw-token button { cursor: pointer; background: #1d4ed8; border-color: #1d4ed8; color: #fff; }
.pw-updated { color: var(--pw-muted); }
.pw-cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(13.5rem, 1fr)); gap: .75rem; margin-bottom: 1rem; }
.pw-card { border: 1px solid var(--pw-line); border-left-width: 6px; border-radius: 8px; padding: .75rem; background: var(--pw-panel); }
.pw-card dl { margin: 0; }
.pw-figure { display: flex; justify-content: space-between; gap: .5rem; padding: .1rem 0; }
.pw-figure dt { color: var(--pw-muted); }
.pw-figure dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; text-align: right; }
.pw-tone-healthy { border-left-color: var(--pw-good); }
.pw-tone-warning { border-left-color: #d97706; }
.pw-tone-critical { border-left-color: var(--pw-bad); }
.pw-rating { font-weight: 500; font-size: .85em; padding: 0 .3em; border-radius: 4px; white-space: nowrap; }
.pw-good { color: var(--pw-good); background: #ecfdf5; }
.pw-needs-improvement { color: var(--pw-warn); background: #fffbeb; }
.pw-poor { color: var(--pw-bad); background: #fef2f2; }
.pw-note { color: var(--pw-muted); margin: .25rem 0 .5rem; font-size: .9em; }
.pw-empty { color: var(--pw-muted); font-style: italic; }
.pw-problem { color: var(--pw-bad); background: #fef2f2; border: 1px solid #fecaca; border-radius: 6px; padding: .5rem .75rem; margin: 0 0 .75rem; }
.pw-charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 24rem), 1fr)); gap: .75rem; margin-bottom: 1rem; }
.pw-chart { margin: 0; border: 1px solid var(--pw-line); border-radius: 8px; padding: .75rem; min-width: 0; }
.pw-plot { width: 100%; min-height: 200px; }
.pw-legend { list-style: none; display: flex; flex-wrap: wrap; gap: .25rem 1rem; margin: .5rem 0 0; padding: 0; color: var(--pw-muted); }
.pw-legend li { display: flex; align-items: center; gap: .35rem; }
.pw-legend strong { color: var(--pw-fg); font-variant-numeric: tabular-nums; }
.pw-tables { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 30rem), 1fr)); gap: .75rem; }
.pw-table { border: 1px solid var(--pw-line); border-radius: 8px; padding: .75rem; min-width: 0; }
.pw-table-head { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: baseline; gap: .5rem; }
.pw-scroll { overflow-x: auto; }
.pw-table table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
.pw-table th, .pw-table td { padding: .3rem .5rem; border-bottom: 1px solid #e5e7eb; text-align: left; vertical-align: top; }
.pw-table thead th { color: var(--pw-muted); font-weight: 600; white-space: nowrap; }
.pw-table tbody th { font-weight: 500; overflow-wrap: anywhere; min-width: 7rem; }
.pw-table .pw-num { text-align: right; white-space: nowrap; }
.pw-inline { color: var(--pw-muted); }
.pw-token { max-width: 32rem; border: 1px solid var(--pw-line); border-radius: 8px; padding: 1rem; }
.pw-token form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
.pw-token label { display: flex; flex-direction: column; gap: .25rem; flex: 1 1 14rem; }
.pw-sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
@media (max-width: 480px) { .pw-dashboard { padding: .5rem; } .pw-cards { grid-template-columns: 1fr 1fr; } .pw-figure { flex-direction: column; gap: 0; } .pw-figure dd { text-align: left; } }
.uplot, .uplot *, .uplot *::before, .uplot *::after { box-sizing: border-box; }
.uplot { font-family: inherit; line-height: 1.5; width: min-content; }
.u-wrap { position: relative; user-select: none; }
.u-over, .u-under { position: absolute; }
.u-under { overflow: hidden; }
.uplot canvas { display: block; position: relative; width: 100%; height: 100%; }
.u-axis { position: absolute; }
.u-select { background: rgba(0,0,0,0.07); position: absolute; pointer-events: none; }
.u-cursor-x, .u-cursor-y { position: absolute; left: 0; top: 0; pointer-events: none; will-change: transform; }
.u-hz .u-cursor-x, .u-vt .u-cursor-y { height: 100%; border-right: 1px dashed #607D8B; }
.u-hz .u-cursor-y, .u-vt .u-cursor-x { width: 100%; border-bottom: 1px dashed #607D8B; }
.u-cursor-pt { position: absolute; top: 0; left: 0; border-radius: 50%; border: 0 solid; pointer-events: none; will-change: transform; background-clip: padding-box !important; }
.u-axis.u-off, .u-select.u-off, .u-cursor-x.u-off, .u-cursor-y.u-off, .u-cursor-pt.u-off { display: none; }
`;

/** Adds the stylesheet to `document` once. */
export function injectStyles(): void {
  if (typeof document === 'undefined' || document.getElementById('perfwatch-dashboard-styles')) return;
  const style = document.createElement('style');
  style.id = 'perfwatch-dashboard-styles';
  style.textContent = STYLES;
  document.head.appendChild(style);
}
