// How the sandbox's Exchange names itself. Real greetings carry the front-end server's name;
// IMAP and POP3 put it base64-encoded (UTF-16LE) in brackets.

export const SERVER_NAME = 'SB1PR01MB0001.sandbox.prod.outlook.com';

export const serverId = (): string => Buffer.from(SERVER_NAME, 'utf16le').toString('base64');

/** "Mon, 6 Jan 2025 10:12:13 +0000", as in SMTP greetings. */
export function smtpDate(date = new Date()): string {
  return date.toUTCString().replace(/^(\w{3}), 0?(\d{1,2}) (\w{3}) (\d{4}) ([\d:]{8}) GMT$/, '$1, $2 $3 $4 $5 +0000');
}
