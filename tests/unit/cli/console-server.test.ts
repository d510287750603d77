/**
 * The console's server without a browser, over an empty local home: who gets in, and what a form
 * must carry to answer an approval.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConsoleServer, consoleData, startConsole } from '../../../cli/commands/console.ts';

let home: string;
let server: ConsoleServer;
let base: string;
let cookie: string;
const savedHome = process.env.STEPOPS_HOME;

/** A raw request (fetch would not let the test choose the Host header). */
function get(url: string, headers: Record<string, string> = {}, method = 'GET', body?: string) {
  return new Promise<{ status: number; headers: Record<string, unknown>; body: string }>(
    (resolve, reject) => {
      const req = request(url, { method, headers }, (res) => {
        let text = '';
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      });
      req.once('error', reject);
      req.end(body);
    },
  );
}

beforeAll(async () => {
  home = mkdtempSync(path.join(tmpdir(), 'stepops-console-'));
  process.env.STEPOPS_HOME = home;
  server = await startConsole(await consoleData({ local: true }), { by: 'unit test' });
  base = `http://127.0.0.1:${server.port}`;
  const first = await get(server.url);
  cookie = String((first.headers['set-cookie'] as string[])[0]).split(';')[0]!;
});

afterAll(async () => {
  await server.close();
  if (savedHome === undefined) delete process.env.STEPOPS_HOME;
  else process.env.STEPOPS_HOME = savedHome;
  rmSync(home, { recursive: true, force: true });
});

describe('the console server', () => {
  it('moves the token from the URL into an HTTP-only same-site cookie', async () => {
    const first = await get(server.url);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    expect(String((first.headers['set-cookie'] as string[])[0])).toMatch(
      /^stepops_console=[A-Za-z0-9_-]{43}; HttpOnly; SameSite=Strict; Path=\/$/,
    );
  });

  it('answers 401 without the token, 403 with a wrong one or a foreign Host', async () => {
    expect((await get(`${base}/`)).status).toBe(401);
    expect((await get(`${base}/?token=x`)).status).toBe(403);
    expect((await get(`${base}/`, { cookie: 'stepops_console=x' })).status).toBe(403);
    expect((await get(`${base}/`, { cookie, host: `evil.example:${server.port}` })).status).toBe(403);
    expect((await get(`${base}/`, { cookie })).status).toBe(200);
  });

  it('serves the pages with a strict content security policy, and 404 for what does not exist', async () => {
    const overview = await get(`${base}/`, { cookie });
    expect(overview.headers['content-security-policy']).toContain("default-src 'none'");
    expect(overview.headers['x-frame-options']).toBe('DENY');
    expect((await get(`${base}/runs/demo-0000000000000000`, { cookie })).status).toBe(404);
    expect((await get(`${base}/runs/..%2F..%2Fetc`, { cookie })).status).toBe(404);
    expect((await get(`${base}/targets/%3Cscript%3E`, { cookie })).body).toContain(
      'No target &lt;script&gt;',
    );
  });

  it('refuses an approval form without the form token or from another origin, and methods it does not serve', async () => {
    const form = { cookie, 'content-type': 'application/x-www-form-urlencoded' };
    expect((await get(`${base}/approvals/demo-1`, form, 'POST', 'decision=approve')).status).toBe(403);
    const page = await get(`${base}/approvals`, { cookie });
    expect(page.body).toContain('No approval is waiting.');
    expect(
      (
        await get(
          `${base}/approvals/demo-1`,
          { ...form, origin: 'http://evil.example' },
          'POST',
          'decision=approve',
        )
      ).status,
    ).toBe(403);
    expect((await get(`${base}/`, { cookie }, 'DELETE')).status).toBe(405);
  });
});
