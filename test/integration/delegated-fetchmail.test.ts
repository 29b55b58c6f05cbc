// The "done": a person with only their own mailbox signs in once, and fetchmail reads
// their mail through the proxy with a local password, over IMAP and POP3.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACCOUNT, delegatedSetup, UPN, userCodeIn, type DelegatedSetup } from '../helpers/delegated.js';
import { PASSWORD } from '../helpers/stack.js';

let setup: DelegatedSetup;
beforeAll(async () => {
  setup = await delegatedSetup();
  const login = await setup.login([], { approve: (shown) => setup.sandbox.approveDeviceCode(userCodeIn(shown), UPN) });
  expect(login.status).toBe(0);
});
afterAll(() => setup?.close());

function fetchmail(protocol: 'IMAP' | 'POP3', port: number, out: string): Promise<string[]> {
  mkdirSync(out, { recursive: true });
  const rc = join(out, 'fetchmailrc');
  // fetchmail's rc strings know no \" escape; single quotes keep the double quotes literal.
  writeFileSync(rc, [
    'set no syslog',
    'set no bouncemail',
    `poll 127.0.0.1 service ${port} protocol ${protocol} auth password timeout 60`,
    `  user "${ACCOUNT}" password '${PASSWORD.replaceAll('\\', '\\\\')}' is root here`,
    '  keep fetchall sslproto ""',
    `  mda "cat > ${out}/message-$$"`,
    '',
  ].join('\n'), { mode: 0o600 });
  return new Promise((resolve, reject) => {
    const child = spawn('fetchmail', ['-f', rc, '--nodetach', '--idfile', join(out, 'ids'), '--pidfile', join(out, 'pid')], { env: { ...process.env, HOME: out, FETCHMAILHOME: out } });
    let log = '';
    child.stderr.on('data', (c: Buffer) => (log += c.toString()));
    child.stdout.on('data', (c: Buffer) => (log += c.toString()));
    child.on('close', (code) => (code === 0 ? resolve(readdirSync(out).filter((f) => f.startsWith('message-'))) : reject(new Error(`fetchmail exit ${code}: ${log.trim()}`))));
  });
}

describe('fetchmail with a delegated sign-in', () => {
  it('reads the signed-in person\'s mailbox over IMAP and POP3 with the local password', async () => {
    const stack = await setup.startProxy();
    try {
      for (const protocol of ['IMAP', 'POP3'] as const) {
        const out = join(setup.dir, `fetchmail-${protocol}`);
        const files = await fetchmail(protocol, stack.port(protocol === 'IMAP' ? 'imap' : 'pop3'), out);
        expect(files).toHaveLength(2);
        const fetched = files.map((f) => readFileSync(join(out, f), 'utf8')).join('');
        expect(fetched).toContain('Subject: First\n');
        expect(fetched).toContain('Subject: Second\n');
      }
    } finally {
      await stack.close();
    }
  });
});
