/**
 * Server-rendered HTML for the console and the status page: ONE escaping rule (every interpolated
 * value is escaped unless it is markup this module built), the page frame with its stylesheet, and
 * the charts as inline SVG (no script, no framework, readable with JavaScript off).
 */

/** Markup that is already safe: built by {@link html} or {@link raw}. */
export class Html {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
  '`': '&#96;',
};

/**
 * Escapes a value for HTML text and for quoted attribute values: `& < > " ' \``. `undefined` and
 * `null` are empty; other values are turned into strings first.
 *
 * @example
 * escapeHtml('<b title="x">Tom & Jerry\'s</b>') // '&lt;b title=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/b&gt;'
 */
export function escapeHtml(value: unknown): string {
  if (value === undefined || value === null) return '';
  return String(value).replace(/[&<>"'`]/g, (c) => ENTITIES[c]!);
}

/** A value as markup: Html as it is, arrays joined, anything else escaped. */
function render(value: unknown): string {
  if (value instanceof Html) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  if (value === false) return '';
  return escapeHtml(value);
}

/**
 * The template tag of every page: interpolated values are escaped, nested `html` and arrays of it
 * are kept; `false`, `undefined` and `null` render nothing (for `cond && html\`…\``).
 *
 * @example
 * html`<td>${name}</td>`.value // name escaped
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** Trusted markup (constants of this project only, never a value read from elsewhere). */
export function raw(markup: string): Html {
  return new Html(markup);
}

/**
 * The stylesheet: high contrast (text ≥ 7:1 on its background, red and green ≥ 4.5:1), visible
 * focus, and a shape besides each colour (✔ ✖ ▲) so that colour is never the only sign.
 */
export const STYLES = `
:root{color-scheme:light;--fg:#111111;--muted:#444444;--bg:#ffffff;--line:#bbbbbb;--red:#a4000f;--redbg:#fde8ea;--green:#0a6b2d;--amber:#7a4a00;--blue:#0645ad}
*{box-sizing:border-box}body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);background:var(--bg);margin:0}
header{border-bottom:1px solid var(--line);padding:.5rem 1rem;display:flex;gap:1.5rem;align-items:center;flex-wrap:wrap}
header strong{font-size:1.05rem}nav a{margin-right:1rem}main{padding:1rem;max-width:80rem}
a{color:var(--blue)}a:focus,button:focus,input:focus,textarea:focus{outline:3px solid #1a56db;outline-offset:2px}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1.5rem}th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top}
th{font-weight:600;background:#f2f2f2}tr.attention td{background:var(--redbg)}
.bad{color:var(--red);font-weight:600}.good{color:var(--green)}.warn{color:var(--amber);font-weight:600}.muted{color:var(--muted)}
pre{background:#f5f5f5;border:1px solid var(--line);padding:.5rem;overflow:auto;max-height:24rem;white-space:pre-wrap}
button{font:inherit;padding:.35rem .9rem;border:1px solid #333;border-radius:4px;background:#f2f2f2;cursor:pointer}
button.approve{background:var(--green);color:#fff;border-color:var(--green)}button.reject{background:var(--red);color:#fff;border-color:var(--red)}
.note{border-left:4px solid var(--line);padding:.25rem .75rem;margin:.5rem 0}.note.bad{border-color:var(--red)}
svg text{font:11px system-ui,sans-serif;fill:#111}.sr{position:absolute;left:-9999px}
`;

/**
 * The frame of a page: title, header with the navigation, the content, and (when `poll` is given)
 * a small inline script that reloads the content every `poll` seconds without a framework; the page
 * is complete without it.
 */
export function page(options: {
  title: string;
  heading: string;
  nav?: Html;
  body: Html;
  poll?: number;
}): string {
  const script = options.poll
    ? raw(`<script>
(function(){var busy=false;setInterval(function(){
if(busy||document.hidden)return;var a=document.activeElement;if(a&&a.closest&&a.closest('form'))return;busy=true;
fetch(location.href,{headers:{'x-stepops-poll':'1'},credentials:'same-origin'}).then(function(r){return r.ok?r.text():null}).then(function(t){
if(!t)return;var d=new DOMParser().parseFromString(t,'text/html');var m=d.querySelector('main');var c=document.querySelector('main');
if(m&&c&&m.innerHTML!==c.innerHTML){c.innerHTML=m.innerHTML;}var s=document.getElementById('updated');if(s)s.textContent='updated '+new Date().toLocaleTimeString();
}).catch(function(){}).finally(function(){busy=false});},${Number(options.poll) * 1000});})();
</script>`)
    : '';
  return `<!doctype html>${html`<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${options.title}</title><style>${raw(STYLES)}</style></head>
<body><header><strong>${options.heading}</strong>${options.nav ?? ''}<span id="updated" class="muted" aria-live="polite"></span></header>
<main id="main">${options.body}</main>${script}</body></html>`}`;
}

/**
 * Bars of daily uptime (oldest left), one per day: green all up, amber partly, red mostly down,
 * grey unknown; each bar has a title for pointers and the chart a text summary for screen readers.
 *
 * @example
 * uptimeBars([undefined, 1, 0.5], 'app-health')
 */
export function uptimeBars(days: readonly (number | undefined)[], label: string): Html {
  const width = 4;
  const gap = 1;
  const height = 24;
  const known = days.filter((d): d is number => d !== undefined);
  const summary =
    known.length === 0
      ? `${label}: no uptime known over ${days.length} days`
      : `${label}: ${percentText(known.reduce((a, b) => a + b, 0) / known.length)} up on average over the ${known.length} known days of ${days.length}`;
  const bars = days.map((d, i) => {
    const fill = d === undefined ? '#d0d0d0' : d >= 0.999 ? '#1e8e3e' : d >= 0.9 ? '#c77700' : '#b00020';
    const title = d === undefined ? 'no data' : percentText(d);
    const ago = days.length - 1 - i;
    return html`<rect x="${i * (width + gap)}" y="0" width="${width}" height="${height}" fill="${fill}"><title>${ago === 0 ? 'today' : `${ago} days ago`}: ${title}</title></rect>`;
  });
  return html`<svg role="img" aria-label="${summary}" width="${days.length * (width + gap)}" height="${height}" viewBox="0 0 ${days.length * (width + gap)} ${height}">${bars}</svg>`;
}

/** A share as a percentage for people: `99.95 %`, `100 %`. */
export function percentText(share: number): string {
  const value = Math.floor(share * 10_000) / 100;
  return `${value} %`;
}

/** One bar of a run's timeline. */
export interface TimelineBar {
  label: string;
  startMs: number;
  durationMs: number;
  outcome: 'succeeded' | 'failed' | 'caught' | 'running';
  depth: number;
}

/**
 * A run's states as a timeline (Gantt-like): one row per state, a bar from its start for its
 * duration, coloured by outcome, with the duration written at its end.
 *
 * @example
 * timelineSvg([{ label: 'PlanDeploy', startMs: 0, durationMs: 12, outcome: 'succeeded', depth: 0 }], 12)
 */
export function timelineSvg(bars: readonly TimelineBar[], totalMs: number): Html {
  const row = 20;
  const labelWidth = 220;
  const chart = 560;
  const scale = chart / Math.max(1, totalMs);
  const colours = { succeeded: '#1e8e3e', failed: '#b00020', caught: '#c77700', running: '#1a56db' };
  const rows = bars.map((b, i) => {
    const x = labelWidth + b.startMs * scale;
    const w = Math.max(2, b.durationMs * scale);
    const y = i * row;
    return html`<g><text x="${4 + b.depth * 12}" y="${y + 14}">${b.label}</text><rect x="${x.toFixed(1)}" y="${y + 4}" width="${w.toFixed(1)}" height="${row - 8}" fill="${colours[b.outcome]}"><title>${b.label}: ${b.outcome}, ${Math.round(b.durationMs)} ms from +${Math.round(b.startMs)} ms</title></rect><text x="${(x + w + 4).toFixed(1)}" y="${y + 14}">${b.outcome === 'succeeded' ? '' : `${b.outcome} `}${formatMs(b.durationMs)}</text></g>`;
  });
  const height = Math.max(row, bars.length * row);
  return html`<svg role="img" aria-label="timeline of ${bars.length} states over ${formatMs(totalMs)}" width="${labelWidth + chart + 130}" height="${height}" viewBox="0 0 ${labelWidth + chart + 130} ${height}">${rows}</svg>`;
}

/** Milliseconds for people: `850 ms`, `2.4 s`, `3 min 5 s`. */
export function formatMs(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/**
 * How long ago, for people (`5 min ago`); `never` without a time.
 *
 * @example
 * ago('2026-12-01T10:00:00Z', Date.parse('2026-12-01T10:05:00Z')) // '5 min ago'
 */
export function ago(iso: string | undefined, now: number): string {
  if (!iso) return 'never';
  const ms = Math.max(0, now - Date.parse(iso));
  if (ms < 5000) return 'just now';
  if (ms < 86_400_000) return `${formatMs(ms).replace(/ \d+ s$/, '')} ago`;
  return `${Math.floor(ms / 86_400_000)} d ago`;
}
