import { describe, expect, it } from 'vitest';
import { escapeHtml, html, percentText, raw, uptimeBars } from '../../../shared/console/html.ts';
import {
  approvalsBody,
  healthWord,
  needsPerson,
  overviewBody,
  type TargetView,
} from '../../../shared/console/pages.ts';

const HOSTILE = `<script>alert("x")</script>' onmouseover='a' \`b\` &amp;`;

describe('escapeHtml', () => {
  it('escapes every character that can end text or a quoted attribute', () => {
    expect(escapeHtml(`<b title="x">Tom & Jerry's \`x\`</b>`)).toBe(
      '&lt;b title=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s &#96;x&#96;&lt;/b&gt;',
    );
  });
  it('renders nothing for undefined and null, and strings of other values', () => {
    expect(escapeHtml(undefined)).toBe('');
    expect(escapeHtml(null)).toBe('');
    expect(escapeHtml(42)).toBe('42');
  });
});

describe('html', () => {
  it('escapes interpolated values, keeps nested markup and arrays of it, drops false', () => {
    const inner = html`<i>${'<x>'}</i>`;
    expect(html`<p title="${HOSTILE}">${inner}${[html`<b>1</b>`, '<2>']}${false}</p>`.value).toBe(
      `<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;a&#39; &#96;b&#96; &amp;amp;"><i>&lt;x&gt;</i><b>1</b>&lt;2&gt;</p>`,
    );
  });
  it('keeps raw markup as it is', () => {
    expect(html`${raw('<br>')}`.value).toBe('<br>');
  });
});

function target(partial: Partial<TargetView>): TargetView {
  return {
    name: 'shop',
    running: [],
    recent: [],
    probes: [],
    uptime: {},
    backups: [],
    schedules: [],
    approvals: [],
    runbooks: [],
    ...partial,
  };
}

const probe = {
  probe: 'api',
  status: 'up' as const,
  since: '2026-12-01T00:00:00Z',
  lastAt: '2026-12-01T00:00:00Z',
  lastDetail: '200',
};

describe('the overview', () => {
  it('says what needs a person: a failed deploy, a probe down or failing, a late backup, an approval', () => {
    const t = target({
      lastDeploy: {
        runId: 'r1',
        workflow: 'deploy',
        status: 'FAILED',
        ref: 'v3',
        error: 'DeployFailedError',
        startedAt: '2026-12-01T00:00:00Z',
      },
      probes: [
        { ...probe, status: 'down' },
        { ...probe, probe: 'db', lastOk: false },
      ],
      backups: [{ backup: 'nightly', late: true }],
      approvals: [{ runId: 'r2', target: 'shop', runbook: 'restore', expiresAt: 0 }],
    });
    expect(needsPerson(t)).toEqual([
      'last deploy of v3 FAILED (DeployFailedError)',
      'api down',
      'db failing',
      'backup nightly older than its RPO',
      '1 approval waiting',
    ]);
    expect(needsPerson(target({ probes: [probe] }))).toEqual([]);
  });
  it('names the health in one word', () => {
    expect(healthWord(target({ probes: [probe] }))).toBe('up');
    expect(healthWord(target({ probes: [{ ...probe, lastOk: false }] }))).toBe('failing');
    expect(healthWord(target({ probes: [{ ...probe, status: 'down' }] }))).toBe('down');
    expect(
      healthWord(
        target({ probes: [{ ...probe, status: 'down' }], maintenance: { reason: 'deploy', since: '' } }),
      ),
    ).toBe('muted');
    expect(healthWord(target({ probes: [] }))).toBe('never checked');
    expect(healthWord(target({ probes: 'unknown' }))).toBe('unknown');
  });
  it('escapes what it shows (a ref or a reason is user input)', () => {
    const body = overviewBody({
      where: 'local',
      now: Date.parse('2026-12-01T00:05:00Z'),
      targets: [
        target({
          lastDeploy: {
            runId: 'r1',
            workflow: 'deploy',
            status: 'FAILED',
            ref: HOSTILE,
            startedAt: '2026-12-01T00:00:00Z',
          },
        }),
      ],
    }).value;
    expect(body).not.toContain('<script>');
    expect(body).toContain('&lt;script&gt;');
    expect(body).toContain('class="attention"');
  });
});

describe('the approvals page', () => {
  it('shows the plan, the commands and a form with the form token, escaped', () => {
    const body = approvalsBody(
      [
        {
          runId: 'demo-1',
          target: 'demo',
          runbook: 'restart-app',
          expiresAt: 1_800_000_000,
          planText: HOSTILE,
        },
      ],
      'tok"en',
      1_799_999_000_000,
    ).value;
    expect(body).toContain('stepops approve demo-1');
    expect(body).toContain('stepops reject demo-1');
    expect(body).toContain('name="csrf" value="tok&quot;en"');
    expect(body).toContain('<label for="c-demo-1">');
    expect(body).not.toContain('<script>');
  });
});

describe('uptime bars', () => {
  it('draws one bar per day with a title and a summary for screen readers', () => {
    const svg = uptimeBars([undefined, 1, 0.5], 'api').value;
    expect(svg.match(/<rect /g)).toHaveLength(3);
    expect(svg).toContain('aria-label="api: 75 % up on average over the 2 known days of 3"');
    expect(svg).toContain('<title>today: 50 %</title>');
    expect(svg).toContain('<title>2 days ago: no data</title>');
  });
  it('writes shares as percentages without rounding up to 100', () => {
    expect(percentText(0.99999)).toBe('99.99 %');
    expect(percentText(1)).toBe('100 %');
  });
});

/** WCAG 2 relative luminance of `#rrggbb`. */
function luminance(hex: string): number {
  const [r, g, b] = [1, 3, 5].map((i) => {
    const c = Number.parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function contrast(a: string, b: string): number {
  const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
  return (x! + 0.05) / (y! + 0.05);
}

describe('the palette', () => {
  it('gives text at least 4.5:1 against the backgrounds it is shown on (WCAG AA)', async () => {
    const { STYLES } = await import('../../../shared/console/html.ts');
    const colour = (name: string) => new RegExp(`--${name}:(#[0-9a-f]{6})`).exec(STYLES)![1]!;
    const pairs: [string, string][] = [
      [colour('fg'), colour('bg')],
      [colour('muted'), colour('bg')],
      [colour('red'), colour('bg')],
      [colour('red'), colour('redbg')],
      [colour('fg'), colour('redbg')],
      [colour('green'), colour('bg')],
      [colour('amber'), colour('bg')],
      [colour('blue'), colour('bg')],
      [colour('blue'), colour('redbg')],
      ['#ffffff', colour('green')],
      ['#ffffff', colour('red')],
    ];
    for (const [fg, bg] of pairs) expect(contrast(fg, bg), `${fg} on ${bg}`).toBeGreaterThanOrEqual(4.5);
  });
});

describe("a run's failure", () => {
  it('names the state that failed inside a batch, from the JSON its batch failure carries', async () => {
    const { firstFailure } = await import('../../../shared/console/run-detail.ts');
    const cause = JSON.stringify({
      batchIndex: 0,
      state: 'CheckHealth',
      error: 'HealthGateFailedError',
      message: 'got 503',
    });
    expect(
      firstFailure([
        { kind: 'state-entered', at: 0, elapsedMs: 0, depth: 0, state: 'Plan' },
        {
          kind: 'state-failed',
          at: 1,
          elapsedMs: 1,
          depth: 1,
          state: 'BatchFailed',
          error: 'HealthGateFailedError',
          cause,
        },
        {
          kind: 'state-failed',
          at: 2,
          elapsedMs: 2,
          depth: 0,
          state: 'Failed',
          error: 'DeployFailedError',
          cause: 'rolled back',
        },
      ]),
    ).toEqual({ state: 'CheckHealth (batch 1)', error: 'HealthGateFailedError', cause: 'got 503' });
    expect(
      firstFailure([
        {
          kind: 'state-failed',
          at: 2,
          elapsedMs: 2,
          depth: 0,
          state: 'Failed',
          error: 'X',
          cause: 'plain words',
        },
      ]),
    ).toEqual({ state: 'Failed', error: 'X', cause: 'plain words' });
  });
});
