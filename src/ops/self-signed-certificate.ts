// @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs this polyfill loaded first.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export interface GeneratedCertificate {
  certPem: string;
  keyPem: string;
}

const DNS_NAME = /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;

/**
 * Sorts hosts into the certificate's subject alternative names. An address must be an IP SAN:
 * clients that check an address (Java, openssl -verify_ip, curl) never match it against a DNS
 * SAN, so `DNS:10.1.2.3` is refused. Brackets around an IPv6 address are dropped.
 */
export function subjectAltNames(hosts: string[]): { dns: string[]; ips: string[]; invalid: string[] } {
  const dns: string[] = [];
  const ips: string[] = [];
  const invalid: string[] = [];
  for (const host of hosts) {
    const bare = host.replace(/^\[(.*)\]$/, '$1');
    if (isIP(bare)) ips.push(bare);
    else if (DNS_NAME.test(host) && host.length <= 253) dns.push(host.toLowerCase());
    else invalid.push(host);
  }
  return { dns: [...new Set(dns)], ips: [...new Set(ips)], invalid };
}

/**
 * A self-signed certificate for the local listeners, made in-process (no openssl CLI, so it
 * works on Windows too). RSA 2048 because old Java and .NET clients may not speak ECDSA. The
 * first host names the subject; every name and address goes into the SAN of its type, also an
 * address given among the host names.
 */
export async function generateSelfSignedCertificate(hosts: string[] = ['localhost'], addresses: string[] = ['127.0.0.1', '::1'], days = 825): Promise<GeneratedCertificate> {
  const { dns, ips } = subjectAltNames([...hosts, ...addresses]);
  const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const notBefore = new Date(Date.now() - 60_000);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(16))).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${hosts[0] ?? 'localhost'}, O=o365-mail-proxy`,
    notBefore,
    notAfter: new Date(notBefore.getTime() + days * 86_400_000),
    signingAlgorithm: algorithm,
    keys: keys as unknown as CryptoKeyPair,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([
        ...dns.map((value) => ({ type: 'dns' as const, value })),
        ...ips.map((value) => ({ type: 'ip' as const, value })),
      ]),
    ],
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const keyPem = x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
  return { certPem: certificate.toString('pem'), keyPem };
}
