import { describe, expect, it } from 'vitest';
import { prettyMessage } from '../../src/ops/pretty-line.js';

describe('the pretty log line', () => {
  it('puts the event, the message and every field on one line', () => {
    expect(prettyMessage({ level: 30, time: 1, pid: 7, event: 'connect', sid: 'a1', client: '127.0.0.1:5000', tls: false, msg: 'client connected' }, 'msg'))
      .toBe('connect: client connected  sid=a1 client=127.0.0.1:5000 tls=false');
  });

  it('quotes what could be misread and shows control characters instead of obeying them', () => {
    const line = prettyMessage({ event: 'smtp.message-refused', reply: '550 5.7.60 no\r\n[fake] INFO: x', roles: ['A', 'B'], msg: 'refused: 550\r\n[12:00:00.000] INFO: forged' }, 'msg');
    expect(line).toBe('smtp.message-refused: refused: 550\\r\\n[12:00:00.000] INFO: forged  reply="550 5.7.60 no\\r\\n[fake] INFO: x" roles=["A","B"]');
    expect(line).not.toMatch(/[\r\n]/);
  });
});
