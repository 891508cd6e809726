import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A self-signed certificate for 127.0.0.1, made with `openssl` at run time (never committed),
 * and the base64 SHA-256 of its public key, which is what Chromium's
 * `--ignore-certificate-errors-spki-list` trusts: that one key, not every certificate error.
 */
export async function makeSelfSignedCert() {
  const dir = await mkdtemp(join(tmpdir(), 'duplex-tls-'));
  const keyPath = join(dir, 'key.pem');
  const certPath = join(dir, 'cert.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    keyPath,
    '-out',
    certPath,
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  const { stdout: spki } = await run('sh', [
    '-c',
    `openssl x509 -in '${certPath}' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`,
  ]);
  const [key, cert] = await Promise.all([readFile(keyPath, 'utf8'), readFile(certPath, 'utf8')]);
  return {
    key,
    cert,
    spkiHash: spki.trim(),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
