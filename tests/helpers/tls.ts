/**
 * A self-signed certificate for 127.0.0.1, made with openssl, that this test process trusts: real
 * HTTPS servers on 127.0.0.1 for code that refuses plain http (Slack webhooks).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';

/** A key and certificate for `https.createServer`. */
export interface TestCertificate {
  key: string;
  cert: string;
}

/**
 * Creates a key and a certificate for IP 127.0.0.1 valid for `days` days, with openssl.
 *
 * @example
 * const { key, cert } = loopbackCertificate(30);
 */
export function loopbackCertificate(days = 1): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), 'stepops-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        String(days),
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
      ],
      { stdio: 'ignore' },
    );
    return {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Creates a key and a one-day certificate for IP 127.0.0.1 and adds it to the default CA
 * certificates of this process (so `fetch` trusts it; other processes are unaffected).
 *
 * @example
 * const server = https.createServer(trustedLoopbackCertificate(), handler);
 */
export function trustedLoopbackCertificate(): TestCertificate {
  const certificate = loopbackCertificate();
  tls.setDefaultCACertificates([...tls.getCACertificates('default'), certificate.cert]);
  return certificate;
}
