/**
 * The console's pages as pure functions of what was read: the overview of every target, one
 * target, one run, the open approvals. Every value goes through {@link html}, which escapes it.
 */
import type { DeliveryReport, Percentiles } from '../report/dora.ts';
import { ago, type Html, html, percentText, type TimelineBar, timelineSvg, uptimeBars } from './html.ts';
import { type LatencyDay, latencySection } from './latency.ts';

/** A run as the pages show it. */
export interface RunView {
  runId: string;
  workflow: string;
  status: string;
  target?: string;
  ref?: string;
  reason?: string;
  requestedBy?: string;
  startedAt: string;
  stoppedAt?: string;
  error?: string;
  cause?: string;
  executionArn?: string;
}

/** A probe as the health state keeps it. */
export interface ProbeView {
  probe: string;
  host?: string;
  status: 'up' | 'down';
  since: string;
  lastAt: string;
  lastDetail: string;
  lastOk?: boolean;
  consecutiveFailures?: number;
}

/** How a target's health reads at a glance. */
export type HealthWord = 'up' | 'down' | 'failing' | 'muted' | 'never checked' | 'unknown';

/** A backup job's newest good copy. */
export interface BackupView {
  backup: string;
  newestGood?: {
    runId: string;
    location: string;
    startedAt: string;
    finishedAt?: string;
    sizeBytes?: number;
  };
  late?: boolean;
  rpoHours?: number;
  /** The newest restore test of this job, when one ran. */
  restoreTest?: { status: string; at: string; runId: string };
}

/** A scheduled run. */
export interface ScheduleView {
  workflow: string;
  job: string;
  expression: string;
  next?: { at: number; estimated?: boolean };
}

/** An open approval. */
export interface ApprovalView {
  runId: string;
  target: string;
  runbook: string;
  expiresAt: number;
  planText?: string;
  reason?: string;
  requestedBy?: string;
}

/** One target, everything the overview and its page show. */
export interface TargetView {
  name: string;
  description?: string;
  lastDeploy?: RunView;
  running: RunView[];
  recent: RunView[];
  /** `unknown`: the health state could not be read. */
  probes: ProbeView[] | 'unknown';
  maintenance?: { reason: string; since: string };
  /** Daily uptime of each probe (key `probe` or `probe on host`), oldest first, where history exists. */
  uptime: Record<string, (number | undefined)[]>;
  /** Each probe's latency per day (key `probe` or `probe on host`), oldest first; `unknown`: the history could not be read. Absent on the overview. */
  latency?: Record<string, LatencyDay[]> | 'unknown';
  /** `unknown`: the catalogue could not be read. */
  backups: BackupView[] | 'unknown';
  schedules: ScheduleView[];
  approvals: ApprovalView[];
  runbooks: { name: string; description?: string; approval?: string }[];
  report?: DeliveryReport;
}

/** The overview. */
export interface OverviewView {
  where: string;
  now: number;
  targets: TargetView[];
}

/** How the console links: every link carries nothing secret (the access is a cookie). */
const link = {
  target: (name: string) => `/targets/${encodeURIComponent(name)}`,
  run: (id: string) => `/runs/${encodeURIComponent(id)}`,
};

function probeKey(p: { probe: string; host?: string }): string {
  return p.host ? `${p.probe} on ${p.host}` : p.probe;
}

/**
 * The health of a target in one word: `muted` during a maintenance, `down` when a probe is down,
 * `failing` when a probe is up but its last checks failed, `up`, or `never checked`.
 *
 * @example
 * healthWord({ probes: [{ status: 'up', lastOk: false, … }] }) // 'failing'
 */
export function healthWord(target: Pick<TargetView, 'probes' | 'maintenance'>): HealthWord {
  if (target.probes === 'unknown') return 'unknown';
  if (target.probes.length === 0) return 'never checked';
  if (target.maintenance) return 'muted';
  if (target.probes.some((p) => p.status === 'down')) return 'down';
  if (target.probes.some((p) => p.lastOk === false)) return 'failing';
  return 'up';
}

/**
 * What needs a person about a target (empty when nothing does): a failed last deploy, a probe down
 * or failing, a backup older than its RPO, an open approval.
 *
 * @example
 * needsPerson(target) // ['deploy v3 FAILED', 'app-health down']
 */
export function needsPerson(target: TargetView): string[] {
  const reasons: string[] = [];
  const d = target.lastDeploy;
  if (d && d.status !== 'SUCCEEDED' && d.status !== 'RUNNING') {
    reasons.push(`last deploy${d.ref ? ` of ${d.ref}` : ''} ${d.status}${d.error ? ` (${d.error})` : ''}`);
  }
  const word = healthWord(target);
  if (word === 'down' || word === 'failing') {
    for (const p of target.probes as ProbeView[]) {
      if (p.status === 'down') reasons.push(`${probeKey(p)} down`);
      else if (p.lastOk === false) reasons.push(`${probeKey(p)} failing`);
    }
  }
  if (target.backups !== 'unknown') {
    for (const b of target.backups) if (b.late) reasons.push(`backup ${b.backup} older than its RPO`);
  }
  if (target.approvals.length) {
    reasons.push(`${target.approvals.length} approval${target.approvals.length === 1 ? '' : 's'} waiting`);
  }
  return reasons;
}

function outcome(run: RunView | undefined, now: number): Html {
  if (!run) return html`<span class="muted">never run</span>`;
  const ok = run.status === 'SUCCEEDED';
  const running = run.status === 'RUNNING';
  const mark = ok ? '✔' : running ? '…' : '✖';
  return html`<a href="${link.run(run.runId)}">${run.ref ?? run.runId}</a> <span class="${ok ? 'good' : running ? '' : 'bad'}">${mark} ${run.status}${!ok && !running && run.error ? ` ${run.error}` : ''}</span> <span class="muted">${ago(run.stoppedAt ?? run.startedAt, now)}</span>`;
}

function healthCell(target: TargetView): Html {
  const word = healthWord(target);
  const cls = word === 'up' ? 'good' : word === 'down' || word === 'failing' ? 'bad' : 'warn';
  const mark = word === 'up' ? '✔' : word === 'down' || word === 'failing' ? '✖' : '▲';
  const detail =
    word === 'muted' && target.maintenance
      ? html` <span class="muted">(${target.maintenance.reason})</span>`
      : word === 'down' || word === 'failing'
        ? html` <span class="muted">${(target.probes as ProbeView[])
            .filter((p) => p.status === 'down' || p.lastOk === false)
            .map(probeKey)
            .join(', ')}</span>`
        : '';
  return html`<span class="${cls}">${mark} ${word}</span>${detail}`;
}

function backupCell(target: TargetView, now: number): Html {
  if (target.backups === 'unknown') return html`<span class="muted">unknown</span>`;
  if (target.backups.length === 0) return html`<span class="muted">none declared</span>`;
  return html`${target.backups.map((b) => {
    const copy = b.newestGood;
    const when = copy ? ago(copy.finishedAt ?? copy.startedAt, now) : 'no good copy';
    return html`<div><span class="${b.late ? 'bad' : copy ? 'good' : 'warn'}">${b.late ? '✖' : copy ? '✔' : '▲'} ${b.backup}: ${when}</span>${b.rpoHours !== undefined ? html` <span class="muted">(RPO ${b.rpoHours} h)</span>` : ''}</div>`;
  })}`;
}

function nextCell(schedules: readonly ScheduleView[], now: number): Html {
  const soon = schedules
    .filter((s) => s.next)
    .sort((a, b) => a.next!.at - b.next!.at)
    .slice(0, 2);
  if (soon.length === 0) return html`<span class="muted">${schedules.length ? 'unknown' : 'none'}</span>`;
  return html`${soon.map(
    (s) =>
      html`<div>${s.workflow} ${s.job} ${s.next!.estimated ? '~' : ''}in ${untilText(s.next!.at - now)}</div>`,
  )}`;
}

function untilText(ms: number): string {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  if (minutes < 60) return `${minutes} min`;
  if (minutes < 2880) return `${Math.round(minutes / 60)} h`;
  return `${Math.round(minutes / 1440)} d`;
}

/**
 * The overview: one row per target, red where something needs a person.
 *
 * @example
 * overviewBody({ where: 'local', now: Date.now(), targets })
 */
export function overviewBody(view: OverviewView): Html {
  const attention = view.targets.filter((t) => needsPerson(t).length > 0);
  return html`<h1>Overview <span class="muted">(${view.where === 'local' ? 'local runs' : `stage ${view.where}`})</span></h1>
<p role="status" class="${attention.length ? 'bad' : 'good'}">${
    attention.length
      ? `${attention.length} of ${view.targets.length} target${view.targets.length === 1 ? '' : 's'} need${attention.length === 1 ? 's' : ''} a person: ${attention.map((t) => t.name).join(', ')}`
      : `✔ nothing needs a person (${view.targets.length} target${view.targets.length === 1 ? '' : 's'})`
  }</p>
<table aria-label="targets">
<thead><tr><th scope="col">Target</th><th scope="col">Last deploy</th><th scope="col">Health</th><th scope="col">Newest good backup</th><th scope="col">Approvals</th><th scope="col">Next runs</th></tr></thead>
<tbody>${view.targets.map((t) => {
    const reasons = needsPerson(t);
    return html`<tr class="${reasons.length ? 'attention' : ''}" data-target="${t.name}"><th scope="row"><a href="${link.target(t.name)}">${t.name}</a>${reasons.length ? html`<div class="bad">needs a person: ${reasons.join('; ')}</div>` : ''}</th>
<td>${outcome(t.lastDeploy, view.now)}${t.running.length ? html`<div>running: ${t.running.map((r) => html`<a href="${link.run(r.runId)}">${r.workflow} ${r.ref ?? ''}</a> `)}</div>` : ''}</td>
<td>${healthCell(t)}</td><td>${backupCell(t, view.now)}</td>
<td>${t.approvals.length ? html`<a class="bad" href="/approvals">${t.approvals.length} waiting</a>` : html`<span class="muted">none</span>`}</td>
<td>${nextCell(t.schedules, view.now)}</td></tr>`;
  })}</tbody></table>`;
}

function runsTable(runs: readonly RunView[], now: number, caption: string): Html {
  if (runs.length === 0) return html`<p class="muted">No runs recorded.</p>`;
  return html`<table aria-label="${caption}"><thead><tr><th scope="col">Run</th><th scope="col">Workflow</th><th scope="col">Outcome</th><th scope="col">Ref</th><th scope="col">Started</th><th scope="col">Reason</th><th scope="col">By</th></tr></thead><tbody>${runs.map(
    (r) =>
      html`<tr class="${r.status === 'SUCCEEDED' || r.status === 'RUNNING' ? '' : 'attention'}"><td><a href="${link.run(r.runId)}">${r.runId}</a></td><td>${r.workflow}</td><td class="${r.status === 'SUCCEEDED' ? 'good' : r.status === 'RUNNING' ? '' : 'bad'}">${r.status === 'SUCCEEDED' ? '✔' : r.status === 'RUNNING' ? '…' : '✖'} ${r.status}${r.error && r.status !== 'SUCCEEDED' ? ` ${r.error}` : ''}</td><td>${r.ref ?? '—'}</td><td>${ago(r.startedAt, now)}</td><td>${r.reason ?? '—'}</td><td>${r.requestedBy ?? '—'}</td></tr>`,
  )}</tbody></table>`;
}

function spread(p: Percentiles): string {
  if (p.count === 0) return 'no data';
  const f = (ms: number) =>
    ms < 60_000 ? `${Math.round(ms / 100) / 10} s` : `${Math.round(ms / 6000) / 10} min`;
  return `median ${f(p.p50!)}, p90 ${f(p.p90!)} (${p.count})`;
}

function reportSection(r: DeliveryReport): Html {
  const c = r.changeFailure;
  return html`<h2>Delivery, last ${r.days} days</h2>
<table aria-label="delivery metrics"><tbody>
<tr><th scope="row">Deploy frequency</th><td>${r.deployFrequency.deploys} successful (${r.deployFrequency.perWeek.toFixed(1)} a week)</td></tr>
<tr><th scope="row">Lead time for changes</th><td>${spread(r.leadTime)}${r.leadTime.unknown ? `; ${r.leadTime.unknown} with no known commit time` : ''}</td></tr>
<tr><th scope="row">Change failure rate</th><td>${c.rate === undefined ? 'no deploy ended' : `${percentText(c.rate)} (${c.failed} of ${c.deploys}, ${c.rolledBack} rolled back)`}</td></tr>
<tr><th scope="row">Time to restore</th><td>probes: ${spread(r.timeToRestore.incidents)}; recovery runs: ${spread(r.timeToRestore.recoveries)}</td></tr>
${r.jobs.map((j) => html`<tr><th scope="row">${j.workflow} runs</th><td>${j.runs}, success ${j.successRate === undefined ? '—' : percentText(j.successRate)}, duration ${spread(j.durationMs)}</td></tr>`)}
</tbody></table>`;
}

/**
 * One target: probes with their daily uptime, recent runs, backups, runbooks, schedules, delivery.
 *
 * @example
 * targetBody(target, Date.now())
 */
export function targetBody(t: TargetView, now: number): Html {
  const reasons = needsPerson(t);
  const probes =
    t.probes === 'unknown'
      ? html`<p class="muted">The health state could not be read.</p>`
      : t.probes.length === 0
        ? html`<p class="muted">Never checked.</p>`
        : html`<table aria-label="probes"><thead><tr><th scope="col">Probe</th><th scope="col">State</th><th scope="col">Since</th><th scope="col">Last check</th><th scope="col">Uptime, 90 days</th></tr></thead><tbody>${t.probes.map(
            (p) => {
              const bad = p.status === 'down' || p.lastOk === false;
              const days = t.uptime[probeKey(p)];
              return html`<tr class="${bad ? 'attention' : ''}"><td>${probeKey(p)}</td><td class="${bad ? 'bad' : 'good'}">${bad ? '✖' : '✔'} ${p.status === 'up' && p.lastOk === false ? 'failing' : p.status}</td><td>${ago(p.since, now)}</td><td>${ago(p.lastAt, now)}: ${p.lastDetail}</td><td>${days ? uptimeBars(days, probeKey(p)) : html`<span class="muted">no history</span>`}</td></tr>`;
            },
          )}</tbody></table>`;
  const backups =
    t.backups === 'unknown'
      ? html`<p class="muted">The backup catalogue could not be read.</p>`
      : t.backups.length === 0
        ? html`<p class="muted">No backups declared.</p>`
        : html`<table aria-label="backups"><thead><tr><th scope="col">Backup</th><th scope="col">Newest good copy</th><th scope="col">Size</th><th scope="col">Where</th><th scope="col">Restore test</th></tr></thead><tbody>${t.backups.map(
            (b) =>
              html`<tr class="${b.late ? 'attention' : ''}"><td>${b.backup}</td><td class="${b.late ? 'bad' : ''}">${b.newestGood ? ago(b.newestGood.finishedAt ?? b.newestGood.startedAt, now) : 'none'}${b.late ? ' — older than its RPO' : ''}</td><td>${b.newestGood?.sizeBytes === undefined ? '—' : bytes(b.newestGood.sizeBytes)}</td><td><code>${b.newestGood?.location ?? '—'}</code></td><td>${b.restoreTest ? html`<a href="${link.run(b.restoreTest.runId)}" class="${b.restoreTest.status === 'SUCCEEDED' ? 'good' : 'bad'}">${b.restoreTest.status}</a> ${ago(b.restoreTest.at, now)}` : html`<span class="muted">none run</span>`}</td></tr>`,
          )}</tbody></table>`;
  return html`<p><a href="/">← Overview</a></p><h1>${t.name}</h1>${t.description ? html`<p class="muted">${t.description}</p>` : ''}
${reasons.length ? html`<div class="note bad" role="alert">Needs a person: ${reasons.join('; ')}</div>` : ''}
${t.approvals.length ? html`<p><a class="bad" href="/approvals">${t.approvals.length} approval${t.approvals.length === 1 ? '' : 's'} waiting</a></p>` : ''}
<h2>Probes</h2>${probes}${t.maintenance ? html`<p class="warn">▲ Muted: ${t.maintenance.reason} since ${ago(t.maintenance.since, now)}</p>` : ''}
${t.latency === undefined ? '' : html`<h2>Latency</h2>${t.latency === 'unknown' ? html`<p class="muted">The uptime history could not be read.</p>` : latencySection(t.latency)}`}
<h2>Recent runs</h2>${runsTable(t.recent, now, 'recent runs')}
<h2>Backups</h2>${backups}
<h2>Runbooks</h2>${
    t.runbooks.length
      ? html`<ul>${t.runbooks.map((r) => html`<li><strong>${r.name}</strong>${r.description ? ` — ${r.description}` : ''}${r.approval ? html` <span class="muted">(approval: ${r.approval})</span>` : ''}</li>`)}</ul>`
      : html`<p class="muted">No runbooks.</p>`
  }
<h2>Schedules</h2>${
    t.schedules.length
      ? html`<ul>${t.schedules.map((s) => html`<li>${s.workflow} ${s.job}: <code>${s.expression}</code>${s.next ? ` — next ${s.next.estimated ? '~' : ''}in ${untilText(s.next.at - now)}` : ''}</li>`)}</ul>`
      : html`<p class="muted">None.</p>`
  }
${t.report ? reportSection(t.report) : ''}`;
}

function bytes(n: number): string {
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** One run's detail. */
export interface RunDetailView {
  run: RunView;
  bars: TimelineBar[];
  totalMs: number;
  failed?: { state: string; error?: string; cause?: string };
  /** The tail of the failed step's output, or of the run's cause. */
  outputTail?: string;
  /** Hosts of each batch (Map iteration), in order. */
  batches: { batch: number; hosts: string[] }[];
  consoleUrl?: string;
  approval?: ApprovalView;
}

/**
 * A run: its states as a timeline, the failed state's error and output, the hosts of each batch,
 * the link to the AWS console.
 *
 * @example
 * runBody(detail, Date.now())
 */
export function runBody(d: RunDetailView, now: number): Html {
  const r = d.run;
  const ok = r.status === 'SUCCEEDED';
  return html`<p>${r.target ? html`<a href="${link.target(r.target)}">← ${r.target}</a>` : html`<a href="/">← Overview</a>`}</p>
<h1>${r.workflow} ${r.ref ?? ''} <span class="${ok ? 'good' : r.status === 'RUNNING' ? '' : 'bad'}">${ok ? '✔' : r.status === 'RUNNING' ? '…' : '✖'} ${r.status}</span></h1>
<table aria-label="run"><tbody>
<tr><th scope="row">Run</th><td><code>${r.runId}</code></td></tr>
<tr><th scope="row">Started</th><td>${r.startedAt} (${ago(r.startedAt, now)})</td></tr>
<tr><th scope="row">Ended</th><td>${r.stoppedAt ?? 'still running'}</td></tr>
<tr><th scope="row">Reason</th><td>${r.reason ?? '—'}</td></tr>
<tr><th scope="row">By</th><td>${r.requestedBy ?? '—'}</td></tr>
${d.consoleUrl ? html`<tr><th scope="row">AWS</th><td><a href="${d.consoleUrl}" rel="noreferrer">the execution in the Step Functions console</a></td></tr>` : ''}
</tbody></table>
${d.approval ? html`<div class="note bad" role="alert">This run waits for approval. <a href="/approvals">Answer it</a>.</div>` : ''}
${
  d.failed || (!ok && r.error)
    ? html`<h2>What failed</h2><div class="note bad"><p><strong>${d.failed?.state ?? 'the run'}</strong>: ${d.failed?.error ?? r.error ?? ''}</p>${d.failed?.cause ? html`<pre>${d.failed.cause}</pre>` : ''}${r.cause && r.cause !== d.failed?.cause ? html`<p>The run ended with ${r.error ?? 'an error'}:</p><pre>${r.cause}</pre>` : ''}</div>`
    : ''
}
${d.outputTail ? html`<h2>Output (tail)</h2><pre>${d.outputTail}</pre>` : ''}
<h2>Timeline</h2>${d.bars.length ? timelineSvg(d.bars, d.totalMs) : html`<p class="muted">No states recorded.</p>`}
${
  d.batches.length
    ? html`<h2>Batches</h2><ol>${d.batches.map((b) => html`<li>batch ${b.batch + 1}: ${b.hosts.join(', ') || '—'}</li>`)}</ol>`
    : ''
}`;
}

/**
 * The open approvals, each with its plan, the exact commands and the approve and reject buttons.
 *
 * @param csrf the form token the server checks on each answer
 * @example
 * approvalsBody(approvals, csrf, Date.now())
 */
export function approvalsBody(
  approvals: readonly ApprovalView[],
  csrf: string,
  now: number,
  message?: { ok: boolean; text: string },
): Html {
  return html`<h1>Approvals</h1>
${message ? html`<div class="note ${message.ok ? '' : 'bad'}" role="status">${message.text}</div>` : ''}
${
  approvals.length === 0
    ? html`<p class="good">✔ No approval is waiting.</p>`
    : approvals.map(
        (a) => html`<section aria-labelledby="a-${a.runId}" class="approval" data-run="${a.runId}">
<h2 id="a-${a.runId}">${a.target}: runbook ${a.runbook}</h2>
<p>Run <a href="${link.run(a.runId)}"><code>${a.runId}</code></a>${a.requestedBy ? `, started by ${a.requestedBy}` : ''}${a.reason ? ` — ${a.reason}` : ''}. Waits until ${new Date(a.expiresAt * 1000).toISOString()} (${untilText(a.expiresAt * 1000 - now)} left).</p>
<h3>Plan</h3><pre>${a.planText ?? 'the plan was not recorded'}</pre>
<h3>The same from a shell</h3><pre>stepops approve ${a.runId}\nstepops reject ${a.runId}</pre>
<form method="post" action="/approvals/${encodeURIComponent(a.runId)}">
<input type="hidden" name="csrf" value="${csrf}">
<p><label for="c-${a.runId}">Comment (optional)</label><br><input id="c-${a.runId}" name="comment" maxlength="500" size="60"></p>
<button type="submit" name="decision" value="approve" class="approve">Approve</button>
<button type="submit" name="decision" value="reject" class="reject">Reject</button>
</form></section>`,
      )
}`;
}

/** The navigation of every console page. */
export function consoleNav(approvals: number): Html {
  return html`<nav aria-label="main"><a href="/">Overview</a><a href="/approvals">Approvals${approvals ? ` (${approvals})` : ''}</a><a href="/status">Status page</a></nav>`;
}
