/**
 * The public status page: per target, its public probes (HTTP probes made from outside, by name
 * only), up or down, uptime over 90 days where known, and the current incidents. A static page,
 * no script: it renders with JavaScript off. What it leaves out on purpose: URLs, host names,
 * commands, details of the checks (they may name internal things).
 */
import type { Target } from '../config/schema.ts';
import type { Notification } from '../drivers/ports.ts';
import { publicProbeNames } from '../health/status-publish.ts';
import {
  dailyUptime,
  type Incident,
  incidentsOf,
  overallUptime,
  type ProbeTransition,
} from '../report/dora.ts';
import { ago, html, page, percentText, uptimeBars } from './html.ts';
import { type HealthStateView, probeTransitions } from './transitions.ts';

export { publicProbeNames, shouldPublish } from '../health/status-publish.ts';

/** Days of uptime the page shows. */
export const STATUS_DAYS = 90;

/** One public probe as the page shows it. */
export interface PublicProbe {
  name: string;
  status: 'up' | 'down' | 'unknown';
  /** Since when it is in this status (ISO), when known. */
  since?: string;
  days: (number | undefined)[];
  uptime?: number;
}

/** One target as the page shows it. */
export interface PublicTarget {
  name: string;
  probes: PublicProbe[];
  /** Incidents still open, and those of the last 7 days. */
  incidents: { probe: string; from: string; to?: string }[];
}

/** The page's content. */
export interface PublicStatus {
  title: string;
  generatedAt: string;
  targets: PublicTarget[];
}

/** What the health state says of one probe (host-less: public probes run from outside). */
interface ProbeStateView {
  probe: string;
  host?: string;
  status: 'up' | 'down';
  since: string;
}

/**
 * A target's public status from its health state and probe transitions: only public probes,
 * and of each only its name, status and uptime. `firstCheck` is the time the first check was
 * recorded (uptime before it is unknown, not 100 %).
 *
 * @example
 * publicTarget(target, state.probes, transitions, Date.parse(firstCheck), Date.now())
 */
export function publicTarget(
  target: Target,
  probes: Readonly<Record<string, ProbeStateView>> | undefined,
  transitions: readonly ProbeTransition[],
  firstCheck: number | undefined,
  now: number,
): PublicTarget {
  const names = publicProbeNames(target);
  const states = Object.values(probes ?? {}).filter((p) => !p.host);
  const incidents: Incident[] = incidentsOf(
    transitions.filter((t) => !t.host && names.includes(t.probe)),
    now,
  );
  const week = now - 7 * 86_400_000;
  return {
    name: target.name,
    probes: names.map((name) => {
      const state = states.find((s) => s.probe === name);
      const mine = incidents.filter((i) => i.probe === name);
      const known = state ? (firstCheck ?? Date.parse(state.since)) : undefined;
      const uptime = overallUptime(mine, now, STATUS_DAYS, known);
      return {
        name,
        status: state?.status ?? 'unknown',
        ...(state ? { since: state.since } : {}),
        days: dailyUptime(mine, now, STATUS_DAYS, known),
        ...(uptime !== undefined ? { uptime } : {}),
      };
    }),
    incidents: incidents
      .filter((i) => !i.to || Date.parse(i.to) >= week)
      .map((i) => ({ probe: i.probe, from: i.from, ...(i.to ? { to: i.to } : {}) }))
      .reverse(),
  };
}

/**
 * The status page as a complete HTML document (no script).
 *
 * @example
 * await writeFile('index.html', statusPageHtml({ title: 'prod', generatedAt: new Date().toISOString(), targets }));
 */
export function statusPageHtml(status: PublicStatus): string {
  const now = Date.parse(status.generatedAt);
  const down = status.targets.flatMap((t) =>
    t.probes.filter((p) => p.status === 'down').map((p) => `${t.name} ${p.name}`),
  );
  const body = html`<p role="status" class="${down.length ? 'bad' : 'good'}">${
    down.length ? `✖ Down now: ${down.join(', ')}` : '✔ All systems up'
  }</p>
${status.targets.map(
  (t) => html`<section aria-labelledby="t-${t.name}"><h2 id="t-${t.name}">${t.name}</h2>
${
  t.probes.length === 0
    ? html`<p class="muted">No public checks.</p>`
    : html`<table aria-label="${t.name} checks"><thead><tr><th scope="col">Check</th><th scope="col">Now</th><th scope="col">Uptime, ${STATUS_DAYS} days</th><th scope="col">History</th></tr></thead><tbody>${t.probes.map(
        (p) =>
          html`<tr class="${p.status === 'down' ? 'attention' : ''}"><td>${p.name}</td><td class="${p.status === 'up' ? 'good' : p.status === 'down' ? 'bad' : 'muted'}">${p.status === 'up' ? '✔ up' : p.status === 'down' ? '✖ down' : 'unknown'}${p.since ? html` <span class="muted">since ${ago(p.since, now)}</span>` : ''}</td><td>${p.uptime === undefined ? 'unknown' : percentText(p.uptime)}</td><td>${uptimeBars(p.days, p.name)}</td></tr>`,
      )}</tbody></table>`
}
<h3>Incidents</h3>${
    t.incidents.length === 0
      ? html`<p class="muted">No incident in the last 7 days.</p>`
      : html`<ul>${t.incidents.map(
          (i) =>
            html`<li class="${i.to ? '' : 'bad'}">${i.probe}: ${i.to ? `down from ${i.from} to ${i.to}` : `down since ${i.from} — ongoing`}</li>`,
        )}</ul>`
  }</section>`,
)}
<p class="muted">Generated ${status.generatedAt}.</p>`;
  return page({ title: `Status: ${status.title}`, heading: `Status: ${status.title}`, body });
}

/**
 * The page's content from each target's health state and the health alerts (the local outbox;
 * none on a stage): per target its public probes and their incidents. The first check of a target
 * is the oldest time its state or transitions know (uptime before it is unknown).
 *
 * @example
 * statusPageHtml(publicStatusOf({ title: 'prod', now: Date.now(), targets: [{ target, state }] }))
 */
export function publicStatusOf(input: {
  title: string;
  now: number;
  targets: readonly { target: Target; state: HealthStateView | undefined }[];
  alerts?: readonly Notification[];
}): PublicStatus {
  return {
    title: input.title,
    generatedAt: new Date(input.now).toISOString(),
    targets: input.targets.map(({ target, state }) => {
      const transitions = probeTransitions(target.name, input.alerts ?? [], state);
      const firsts = [
        ...Object.values(state?.probes ?? {}).map((p) => Date.parse(p.since)),
        ...transitions.map((t) => Date.parse(t.at)),
      ].filter(Number.isFinite);
      return publicTarget(
        target,
        state?.probes,
        transitions,
        firsts.length ? Math.min(...firsts) : undefined,
        input.now,
      );
    }),
  };
}
