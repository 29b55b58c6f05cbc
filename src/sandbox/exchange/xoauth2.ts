// Parses the SASL XOAUTH2 initial client response:
//   base64("user=" mailbox "\x01auth=Bearer " token "\x01\x01")

export interface Xoauth2Response {
  user: string;
  token: string;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function parseXoauth2(base64: string): Xoauth2Response | undefined {
  const text = base64.trim();
  if (text.length === 0 || text.length % 4 !== 0 || !BASE64.test(text)) return undefined;
  const decoded = Buffer.from(text, 'base64').toString('utf8');
  if (!decoded.endsWith('\x01\x01')) return undefined;
  const fields = decoded.slice(0, -2).split('\x01');
  if (fields.length !== 2) return undefined;
  const [userField, authField] = fields as [string, string];
  if (!userField.startsWith('user=')) return undefined;
  const auth = /^auth=Bearer (\S+)$/i.exec(authField);
  const user = userField.slice('user='.length);
  if (!user || !auth?.[1]) return undefined;
  return { user, token: auth[1] };
}
