import { describe, expect, it } from 'vitest';
import { looksLikeProxyHeader, parseProxyHeader, V2_MAX_LENGTH } from '../../src/listen/proxy-header.js';

const SIGNATURE = '0d0a0d0a000d0a515549540a';

/** A v2 header: signature, ver/cmd, family/transport, length, then the hex body. */
function v2(verCmd: number, famTransport: number, bodyHex: string, lengthOverride?: number): Buffer {
  const body = Buffer.from(bodyHex, 'hex');
  const head = Buffer.alloc(4);
  head[0] = verCmd;
  head[1] = famTransport;
  head.writeUInt16BE(lengthOverride ?? body.length, 2);
  return Buffer.concat([Buffer.from(SIGNATURE, 'hex'), head, body]);
}

const IPV4_BLOCK = 'cb007107' + '0a000005' + '15b3' + '008f'; // 203.0.113.7 → 10.0.0.5, 5555 → 143
const IPV6_BLOCK = '20010db8000000000000000000000007' + '20010db8000000000000000000000001' + '15b3' + '03e1';
const MAPPED_BLOCK = '00000000000000000000ffffcb007107' + '00000000000000000000ffff0a000005' + '15b3' + '008f';
const TLVS = '0400034142' + '20000501' + '00000000'; // PP2_TYPE_NOOP, PP2_TYPE_SSL

const complete = (version: 1 | 2, length: number, source?: { address: string; port: number }) => ({ status: 'complete', version, length, ...(source ? { source } : {}) });

describe('PROXY protocol header parser', () => {
  const cases: [string, Buffer, object][] = [
    ['v1 TCP4', Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.5 5555 143\r\n'), complete(1, 42, { address: '203.0.113.7', port: 5555 })],
    ['v1 TCP6', Buffer.from('PROXY TCP6 2001:db8::7 2001:db8::1 5555 993\r\n'), complete(1, 45, { address: '2001:db8::7', port: 5555 })],
    ['v1 UNKNOWN keeps the socket address', Buffer.from('PROXY UNKNOWN\r\n'), complete(1, 15)],
    ['v1 UNKNOWN with addresses after it', Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n'), complete(1, 35)],
    ['v1 with client bytes after it', Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.5 5555 143\r\na1 CAPABILITY\r\n'), complete(1, 42, { address: '203.0.113.7', port: 5555 })],
    ['v1 of the maximum length', Buffer.from('PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n'), complete(1, 104, { address: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', port: 65535 })],
    ['v1 truncated', Buffer.from('PROXY TCP4 203.0.113.7 10.0'), { status: 'incomplete' }],
    ['v1 prefix only', Buffer.from('PROX'), { status: 'incomplete' }],
    ['v1 without CRLF past 107 bytes', Buffer.from(`PROXY UNKNOWN ${'x'.repeat(100)}`), { status: 'invalid', problem: expect.stringMatching(/longer than 107/) }],
    ['v1 IPv6 address under TCP4', Buffer.from('PROXY TCP4 2001:db8::7 10.0.0.5 5555 143\r\n'), { status: 'invalid', problem: expect.stringMatching(/not TCP4 addresses/) }],
    ['v1 unknown protocol', Buffer.from('PROXY UDP4 203.0.113.7 10.0.0.5 5555 143\r\n'), { status: 'invalid', problem: expect.stringMatching(/not TCP4, TCP6 or UNKNOWN/) }],
    ['v1 port out of range', Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.5 65536 143\r\n'), { status: 'invalid', problem: expect.stringMatching(/port/) }],
    ['v1 port with a leading zero', Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.5 0555 143\r\n'), { status: 'invalid', problem: expect.stringMatching(/port/) }],
    ['v1 with two spaces', Buffer.from('PROXY TCP4  203.0.113.7 10.0.0.5 5555 143\r\n'), { status: 'invalid', problem: expect.stringMatching(/six fields/) }],
    ['v2 PROXY IPv4', v2(0x21, 0x11, IPV4_BLOCK), complete(2, 28, { address: '203.0.113.7', port: 5555 })],
    ['v2 PROXY IPv6', v2(0x21, 0x21, IPV6_BLOCK), complete(2, 52, { address: '2001:db8::7', port: 5555 })],
    ['v2 PROXY IPv4-mapped IPv6 reads as IPv4', v2(0x21, 0x21, MAPPED_BLOCK), complete(2, 52, { address: '203.0.113.7', port: 5555 })],
    ['v2 TLVs are skipped', v2(0x21, 0x11, IPV4_BLOCK + TLVS), complete(2, 41, { address: '203.0.113.7', port: 5555 })],
    ['v2 LOCAL keeps the socket address', v2(0x20, 0x00, ''), complete(2, 16)],
    ['v2 LOCAL with an address block ignores it', v2(0x20, 0x11, IPV4_BLOCK), complete(2, 28)],
    ['v2 PROXY UNSPEC keeps the socket address', v2(0x21, 0x00, ''), complete(2, 16)],
    ['v2 signature only', Buffer.from(SIGNATURE, 'hex'), { status: 'incomplete' }],
    ['v2 part of the signature', Buffer.from(SIGNATURE.slice(0, 10), 'hex'), { status: 'incomplete' }],
    ['v2 truncated address block', v2(0x21, 0x11, IPV4_BLOCK).subarray(0, 22), { status: 'incomplete' }],
    ['v2 oversize', v2(0x21, 0x11, IPV4_BLOCK, V2_MAX_LENGTH), { status: 'invalid', problem: expect.stringMatching(/over the 1040-byte limit/) }],
    ['v2 version 1 in the version nibble', v2(0x11, 0x11, IPV4_BLOCK), { status: 'invalid', problem: expect.stringMatching(/version 1/) }],
    ['v2 unknown command', v2(0x22, 0x11, IPV4_BLOCK), { status: 'invalid', problem: expect.stringMatching(/neither LOCAL nor PROXY/) }],
    ['v2 UDP', v2(0x21, 0x12, IPV4_BLOCK), { status: 'invalid', problem: expect.stringMatching(/not for a TCP/) }],
    ['v2 address block shorter than IPv6 needs', v2(0x21, 0x21, IPV4_BLOCK), { status: 'invalid', problem: expect.stringMatching(/shorter/) }],
    ['v2 unknown family', v2(0x21, 0x41, IPV4_BLOCK), { status: 'invalid', problem: expect.stringMatching(/family 4/) }],
    ['wrong signature: an IMAP command', Buffer.from('a1 LOGIN talend secret\r\n'), { status: 'invalid', problem: 'no PROXY protocol signature' }],
    ['wrong signature: lower-case v1', Buffer.from('proxy TCP4 203.0.113.7 10.0.0.5 5555 143\r\n'), { status: 'invalid', problem: 'no PROXY protocol signature' }],
    ['wrong signature: a TLS ClientHello', Buffer.from('160301020001', 'hex'), { status: 'invalid', problem: 'no PROXY protocol signature' }],
    ['wrong signature: damaged v2', Buffer.from(`${SIGNATURE.slice(0, 20)}ff0a2111000c`, 'hex'), { status: 'invalid', problem: 'no PROXY protocol signature' }],
  ];

  it.each(cases)('%s', (_name, input, expected) => {
    expect(parseProxyHeader(input)).toEqual(expected);
  });

  it('takes the same header however the bytes were split', () => {
    for (const header of [Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.5 5555 143\r\n'), v2(0x21, 0x11, IPV4_BLOCK + TLVS)]) {
      for (let cut = 1; cut < header.length; cut++) expect(parseProxyHeader(header.subarray(0, cut)).status).toBe('incomplete');
      expect(parseProxyHeader(header).status).toBe('complete');
    }
  });

  it('tells what an untrusted client must not send from what a mail client sends', () => {
    expect(looksLikeProxyHeader(Buffer.from('PROXY TCP4 203.0.113.7 10.0.0.5 5555 143\r\n'))).toBe(true);
    expect(looksLikeProxyHeader(v2(0x21, 0x11, IPV4_BLOCK))).toBe(true);
    expect(looksLikeProxyHeader(v2(0x20, 0x00, ''))).toBe(true);
    expect(looksLikeProxyHeader(Buffer.from('PROXY TCP4 203.0.'))).toBe(true);
    // An IMAP tag may even be "PROXY"; a whole command line is not a header.
    expect(looksLikeProxyHeader(Buffer.from('PROXY LOGIN talend secret\r\n'))).toBe(false);
    expect(looksLikeProxyHeader(Buffer.from('EHLO client.example\r\n'))).toBe(false);
    expect(looksLikeProxyHeader(Buffer.from('P'))).toBe(false);
  });
});
