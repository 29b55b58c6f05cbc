import type { HostPort } from './types.js';

/** Microsoft's national clouds: endpoints from Microsoft's documentation (see README). */
export interface CloudDefaults {
  authorityHost: string;
  scope: string;
  imap: HostPort;
  pop3: HostPort;
  smtp: HostPort;
  /** Microsoft Graph's base URL in this cloud. */
  graphUrl: string;
}

function cloud(login: string, mail: string, smtp: string, graph: string): CloudDefaults {
  return {
    authorityHost: `https://${login}`,
    scope: `https://${mail}/.default`,
    imap: { host: mail, port: 993 },
    pop3: { host: mail, port: 995 },
    smtp: { host: smtp, port: 587 },
    graphUrl: `https://${graph}`,
  };
}

export const CLOUDS = {
  commercial: cloud('login.microsoftonline.com', 'outlook.office365.com', 'smtp.office365.com', 'graph.microsoft.com'),
  'gcc-high': cloud('login.microsoftonline.us', 'outlook.office365.us', 'smtp.office365.us', 'graph.microsoft.us'),
  dod: cloud('login.microsoftonline.us', 'outlook-dod.office365.us', 'outlook-dod.office365.us', 'dod-graph.microsoft.us'),
  china: cloud('login.partner.microsoftonline.cn', 'partner.outlook.cn', 'smtp.partner.outlook.cn', 'microsoftgraph.chinacloudapi.cn'),
} as const satisfies Record<string, CloudDefaults>;

export type CloudName = keyof typeof CLOUDS;

/** Hosts MSAL knows without being told (it runs instance discovery for them). */
export const MICROSOFT_AUTHORITY_HOSTS = new Set(Object.values(CLOUDS).map((c) => new URL(c.authorityHost).host));
