/**
 * HTTP probes and redirects: a redirect is judged as the response it is unless the probe allows
 * following, and then only to the same origin, so that a down app redirecting to a page elsewhere
 * is not counted up and no redirect leads the prober to another address.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { probeSchema } from '../../../shared/config/schema.ts';
import {
  type HttpProbe,
  httpProbe,
  MAX_REDIRECTS,
  sameOriginLocation,
} from '../../../shared/health/probe.ts';

function http(fields: Record<string, unknown>): HttpProbe {
  return probeSchema.parse({ name: 'site', type: 'http', ...fields }) as HttpProbe;
}

async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; base: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('httpProbe and redirects', () => {
  let app: { server: Server; base: string };
  let elsewhere: { server: Server; base: string };
  let elsewhereHits: number;

  beforeAll(async () => {
    elsewhere = await serve((_req, res) => {
      elsewhereHits++;
      res.writeHead(200).end('a healthy page elsewhere');
    });
    app = await serve((req, res) => {
      if (req.url === '/health') return res.writeHead(302, { location: '/ok' }).end();
      if (req.url === '/ok') return res.writeHead(200).end('healthy');
      if (req.url === '/away') return res.writeHead(302, { location: `${elsewhere.base}/` }).end();
      if (req.url?.startsWith('/loop')) {
        const n = Number(req.url.slice('/loop'.length) || '0');
        return res.writeHead(307, { location: `/loop${n + 1}` }).end();
      }
      if (req.url === '/long-field') {
        return res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'x'.repeat(5_000) }));
      }
      res.writeHead(404).end();
    });
  });
  beforeEach(() => {
    elsewhereHits = 0;
  });
  afterAll(() => {
    app.server.close();
    elsewhere.server.close();
  });

  it('judges a redirect as the response it is by default', async () => {
    // Act
    const result = await httpProbe(http({ url: `${app.base}/health` }));

    // Assess
    expect(result.ok).toBe(false);
    expect(result.detail).toBe('expected status 200, got 302');
  });

  it('does not count a down app that redirects to a healthy page elsewhere as up, nor visit it', async () => {
    // Act
    const result = await httpProbe(http({ url: `${app.base}/away`, bodyContains: 'healthy' }));

    // Assess
    expect(result.ok).toBe(false);
    expect(result.detail).toBe('expected status 200, got 302');
    expect(elsewhereHits).toBe(0);
  });

  it('follows a same-origin redirect when the probe allows it', async () => {
    // Act
    const result = await httpProbe(
      http({ url: `${app.base}/health`, followRedirects: true, bodyContains: 'healthy' }),
    );

    // Assess
    expect(result.ok).toBe(true);
  });

  it('refuses to follow a redirect to another origin even when allowed', async () => {
    // Act
    const result = await httpProbe(http({ url: `${app.base}/away`, followRedirects: true }));

    // Assess
    expect(result.ok).toBe(false);
    expect(result.detail).toBe('redirected (302) to another origin, not followed');
    expect(elsewhereHits).toBe(0);
  });

  it(`stops after ${MAX_REDIRECTS} redirects`, async () => {
    // Act
    const result = await httpProbe(http({ url: `${app.base}/loop`, followRedirects: true }));

    // Assess
    expect(result.ok).toBe(false);
    expect(result.detail).toBe('more than 5 redirects');
  });

  it('quotes at most the first 80 characters of a field value in its detail', async () => {
    // Act
    const result = await httpProbe(
      http({ url: `${app.base}/long-field`, jsonField: { path: 'status', equals: 'ok' } }),
    );

    // Assess
    expect(result.ok).toBe(false);
    expect(result.detail).toBe(`status is "${'x'.repeat(79)}… (5002 characters), expected "ok"`);
  });
});

describe('sameOriginLocation', () => {
  it.each([
    ['https://a.example/health', '/login', 'https://a.example/login'],
    ['https://a.example/health', 'https://a.example:443/x', 'https://a.example/x'],
    ['https://a.example/health', 'http://a.example/x', undefined],
    ['https://a.example/health', 'https://a.example:8443/x', undefined],
    ['https://a.example/health', 'http://169.254.169.254/latest/meta-data/', undefined],
    ['https://a.example/health', '//b.example/x', undefined],
    ['https://a.example/health', null, undefined],
  ])('from %s to %s gives %s', (from, location, expected) => {
    expect(sameOriginLocation(from, location)).toBe(expected);
  });
});

describe('followRedirects in a target file', () => {
  it('is refused on a probe made from the host, naming the field', () => {
    // Act
    const result = probeSchema.safeParse({
      name: 'es',
      type: 'http',
      url: 'http://127.0.0.1:9200/',
      from: 'host',
      followRedirects: true,
    });

    // Assess
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['followRedirects']);
    expect(result.error?.issues[0]?.message).toContain('followRedirects is for probes from outside');
  });
});
