import { X509Certificate } from 'node:crypto';
import type { ProxyConfig } from '../config/types.js';

/** Fewer days than this left: time to renew, and to update trust stores or the app registration. */
export const RENEW_WITHIN_DAYS = 30;

export interface CertificateValidity {
  /** The config key the certificate comes from. */
  key: string;
  validTo: Date;
  /** Whole days left; negative once expired. */
  daysLeft: number;
  /** What to do about it. */
  renew: string;
}

/**
 * When the certificates in the config run out. The local one made by gen-cert lasts 825 days,
 * long enough to be forgotten: then every Java client fails with a PKIX error at once. An
 * app's certificate credential running out stops all token requests (AADSTS700027).
 */
export function certificateValidities(config: ProxyConfig, now = Date.now()): CertificateValidity[] {
  const found: Omit<CertificateValidity, 'daysLeft'>[] = [];
  if (config.tls) {
    found.push({
      key: 'tls.certFile',
      validTo: validTo(config.tls.cert),
      renew: 'run "o365-mail-proxy gen-cert --force", reload the proxy (SIGHUP) or restart it, and trust the new certificate in the clients (e.g. keytool -importcert)',
    });
  }
  for (const app of config.apps.values()) {
    if (app.credential.kind !== 'certificate') continue;
    found.push({
      key: `apps.${app.name}.certificate.certFile`,
      validTo: validTo(app.credential.certificatePem),
      renew: `make a new certificate, upload it under Certificates & secrets of app registration ${app.clientId}, and point apps.${app.name}.certificate at it`,
    });
  }
  return found.map((c) => ({ ...c, daysLeft: Math.floor((c.validTo.getTime() - now) / 86_400_000) }));
}

function validTo(pem: string): Date {
  return new Date(new X509Certificate(pem).validTo);
}

/** One sentence for a log line or a checklist. */
export function describeValidity(c: CertificateValidity): string {
  const date = c.validTo.toISOString().slice(0, 10);
  if (c.daysLeft < 0) return `${c.key} expired on ${date}`;
  return `${c.key} is valid until ${date} (${c.daysLeft} days)`;
}
