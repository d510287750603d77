/**
 * The lab app: a small HTTP service that stepops deploys in the demo and the end-to-end tests.
 *
 * It reads its release from `release.json` beside this file (`version`, `greeting`, and the files
 * the release `requires`), listens on 127.0.0.1:$PORT, writes its pid to $PID_FILE once it listens,
 * and answers:
 *
 *   GET /        the greeting of this release, as text
 *   GET /health  200 {"status":"ok","version":"v2",...} when every required file is present,
 *                503 {"status":"unhealthy","version":"v3","problems":[...]} otherwise
 *
 * Plain node:http, no dependencies: it runs on any Node from 20 on.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';

const appDir = import.meta.dirname;
const release = JSON.parse(readFileSync(path.join(appDir, 'release.json'), 'utf8'));
const port = Number(process.env.PORT ?? '8080');
const pidFile = process.env.PID_FILE;
const startedAt = new Date().toISOString();

if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error(`lab app: PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}

/** The health of this release: every file it requires must exist in the app directory. */
function health() {
  const problems = (release.requires ?? [])
    .filter((file) => !existsSync(path.join(appDir, file)))
    .map((file) => `required file ${file} is missing`);
  return {
    status: problems.length === 0 ? 'ok' : 'unhealthy',
    version: release.version,
    pid: process.pid,
    startedAt,
    ...(problems.length > 0 ? { problems } : {}),
  };
}

function send(response, status, type, body) {
  response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
  response.end(body);
}

const server = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://localhost');
  if (url.pathname === '/health') {
    const body = health();
    send(response, body.status === 'ok' ? 200 : 503, 'application/json', `${JSON.stringify(body)}\n`);
  } else if (url.pathname === '/') {
    send(response, 200, 'text/plain; charset=utf-8', `${release.greeting}\n`);
  } else {
    send(response, 404, 'application/json', `${JSON.stringify({ error: 'not found' })}\n`);
  }
});

server.on('error', (error) => {
  console.error(`lab app ${release.version}: ${error.message}`);
  process.exit(1);
});

server.listen(port, '127.0.0.1', () => {
  if (pidFile) writeFileSync(pidFile, `${process.pid}\n`);
  console.log(`lab app ${release.version} listening on http://127.0.0.1:${port} (pid ${process.pid})`);
});

function shutdown(signal) {
  console.log(`lab app ${release.version}: ${signal}, stopping`);
  server.close();
  server.closeAllConnections();
  if (pidFile && existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() === String(process.pid)) {
    rmSync(pidFile, { force: true });
  }
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
