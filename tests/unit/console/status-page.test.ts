import { describe, expect, it } from 'vitest';
import { parseTarget } from '../../../shared/config/load.ts';
import { publicProbeNames, publicTarget, statusPageHtml } from '../../../shared/console/status-page.ts';

const target = parseTarget(
  {
    name: 'shop',
    description: 'the shop',
    hosts: { type: 'local', directory: '/srv/secret-host-dir' },
    health: {
      schedule: 'rate(1 minute)',
      probes: [
        { name: 'storefront', type: 'http', url: 'https://internal.shop.example/health' },
        { name: 'admin', type: 'http', url: 'http://10.0.0.5/admin', from: 'host' },
        { name: 'db-port', type: 'tcp', host: 'db.internal', port: 5432 },
      ],
    },
  },
  'test',
  'shop',
);

const NOW = Date.parse('2026-12-10T12:00:00Z');

describe('the public status page', () => {
  it('shows only HTTP probes made from outside', () => {
    expect(publicProbeNames(target)).toEqual(['storefront']);
  });
  it('shows status, uptime and incidents of public probes only, with no URL, host or detail', () => {
    const status = publicTarget(
      target,
      {
        storefront: { probe: 'storefront', status: 'down', since: '2026-12-10T11:00:00Z' },
        admin: { probe: 'admin', status: 'down', since: '2026-12-10T11:00:00Z' },
      },
      [
        { probe: 'storefront', kind: 'down', at: '2026-12-10T06:00:00Z' },
        { probe: 'storefront', kind: 'up', at: '2026-12-10T07:00:00Z' },
        { probe: 'storefront', kind: 'down', at: '2026-12-10T11:00:00Z' },
        { probe: 'admin', kind: 'down', at: '2026-12-10T11:00:00Z' },
      ],
      Date.parse('2026-12-10T00:00:00Z'),
      NOW,
    );
    expect(status.probes.map((p) => [p.name, p.status, p.uptime])).toEqual([['storefront', 'down', 10 / 12]]);
    expect(status.incidents).toEqual([
      { probe: 'storefront', from: '2026-12-10T11:00:00Z' },
      { probe: 'storefront', from: '2026-12-10T06:00:00Z', to: '2026-12-10T07:00:00Z' },
    ]);
    const page = statusPageHtml({
      title: 'prod',
      generatedAt: new Date(NOW).toISOString(),
      targets: [status],
    });
    for (const secret of [
      'internal.shop.example',
      '10.0.0.5',
      'db.internal',
      'secret-host-dir',
      'admin',
      '<script',
    ]) {
      expect(page).not.toContain(secret);
    }
    expect(page).toContain('✖ Down now: shop storefront');
    expect(page).toContain('83.33 %');
    expect(page).toContain('down since 2026-12-10T11:00:00Z — ongoing');
  });
});
