import { describe, expect, it } from 'vitest';
import { CREDENTIALS } from './drive/proxy.js';
import { generateScript } from './generate/index.js';
import { LogWatch } from './oracle/log.js';
import { memoryProblems } from './oracle/memory.js';
import { compareDeliveries, decodeData } from './oracle/messages.js';
import { answersOwed, checkReplies, type Phase } from './oracle/replies.js';

/** The fuzzer's own parts that decide pass or fail: what they accept and what they catch. */
const phase = (sent: string, received: string, tls = false): Phase => ({ tls, sent: Buffer.from(sent, 'latin1'), received: Buffer.from(received, 'latin1') });
const check = (protocol: 'imap' | 'pop3' | 'smtp', ...phases: Phase[]) => checkReplies(protocol, { phases, readToClose: true });

describe('fuzz generator', () => {
  it('builds the same bytes from the same seed and index, other bytes from another index', () => {
    const options = { seed: 7, creds: CREDENTIALS, heavyEvery: 0 };
    const bytes = (index: number) => Buffer.concat(generateScript('imap', index, options).inputs.map((i) => i.bytes)).toString('hex');
    expect(bytes(41)).toBe(bytes(41));
    expect(bytes(41)).not.toBe(bytes(42));
  });
});

describe('reply oracle', () => {
  it('accepts a well-formed IMAP exchange', () => {
    expect(check('imap', phase('a1 CAPABILITY\r\nx LOGOUT\r\n', '* OK ready\r\n* CAPABILITY IMAP4rev1\r\na1 OK done\r\n* BYE bye\r\nx OK done\r\n'))).toBeUndefined();
  });

  it('catches an answer to a tag the client never sent, a partial line at close and 8-bit bytes', () => {
    expect(check('imap', phase('a(2 NOOP\r\n', '* OK ready\r\na BAD no\r\n'))).toMatch(/tag the client never sent/);
    expect(check('imap', phase('a1 NOOP\r\n', '* OK ready\r\na1 OK do'))).toMatch(/incomplete line/);
    expect(check('pop3', phase('CAPA\r\n', '+OK ready\r\n-ERR \xe9\r\n'))).toMatch(/not printable/);
  });

  it('catches a command sent before STARTTLS and answered after it', () => {
    expect(check('imap', phase('a1 STARTTLS\r\ninj2 NOOP\r\n', '* OK ready\r\na1 OK go\r\n'), phase('', 'inj2 OK done\r\n', true))).toMatch(/inside TLS/);
    expect(check('smtp', phase('STARTTLS\r\nHELP\r\n', '220 hi\r\n220 go\r\n'), phase('EHLO x\r\n', '214 help\r\n250 ok\r\n', true))).toMatch(/before STARTTLS was answered/);
  });

  it('knows POP3 multi-line answers and SMTP multi-line replies', () => {
    expect(check('pop3', phase('CAPA\r\n', '+OK hi\r\n+OK list\r\nUSER\r\n.\r\n'))).toBeUndefined();
    expect(check('pop3', phase('CAPA\r\n', '+OK hi\r\nUSER\r\n'))).toMatch(/not a POP3 response line/);
    expect(check('smtp', phase('EHLO x\r\n', '220 hi\r\n250-a\r\n251 b\r\n'))).toMatch(/changes its code/);
    expect(check('smtp', phase('QUIT\r\nNOOP\r\n', '220 hi\r\n221 bye\r\n250 ok\r\n'))).toMatch(/reply after 221/);
  });

  it('counts the answers POP3 and SMTP owe: CRLF lines and LF lines', () => {
    expect(answersOwed('pop3', Buffer.from('USER a\r\nPASS b\nc\r\n'))).toBe(2);
    expect(answersOwed('smtp', Buffer.from('NOOP\r\n\nHELP\n'))).toBe(3);
  });
});

describe('delivery oracle', () => {
  it('decodes DATA strictly: only CRLF ends a line, one dot is removed, "." alone ends', () => {
    expect(decodeData(Buffer.from('a\r\n..b\r\nc\n..d\r\n.\r\n')).toString()).toBe('a\r\n.b\r\nc\n..d\r\n');
    expect(decodeData(Buffer.from('.\r\n')).toString()).toBe('');
  });

  it('reports a message that arrived changed, and one that arrived unasked', () => {
    const sent = [{ message: Buffer.from('X-Fuzz: 1\r\na\n..b\r\n'), verdict: 'accepted' as const, origin: 'smtp #1' }];
    expect(compareDeliveries(sent, [Buffer.from('X-Fuzz: 1\r\na\n.b\r\n')])).toEqual([expect.stringMatching(/^smtp #1: accepted with 250 and delivered changed: from byte 14/)]);
    expect(compareDeliveries([], [Buffer.from('x')])).toEqual([expect.stringMatching(/never accepted/)]);
  });
});

describe('log and memory oracles', () => {
  it('finds a secret in any form a JSON log line gives it, error lines and sessions left open', () => {
    const log = new LogWatch({ password: 'p ä"ss' });
    log.push('{"level":40,"sid":"s1","event":"connect"}\n{"level":40,"user":"p ä\\"ss"}\n{"level":50,"msg":"x"}\nTypeError: boom\n');
    expect(log.problems).toEqual([expect.stringMatching(/the password is in the log/), expect.stringMatching(/error-level/), expect.stringMatching(/not a log line/)]);
    expect(log.openSessions).toBe(1);
  });

  it('flags a peak over the bound and a floor that keeps rising', () => {
    expect(memoryProblems({ peakMiB: 300, startMiB: 80, earlyFloorMiB: 90, lateFloorMiB: 200 }, { maxRssMiB: 256, maxGrowthMiB: 64 })).toHaveLength(2);
    expect(memoryProblems({ peakMiB: 120, startMiB: 80, earlyFloorMiB: 90, lateFloorMiB: 100 }, { maxRssMiB: 256, maxGrowthMiB: 64 })).toEqual([]);
  });
});
