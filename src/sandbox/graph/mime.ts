// The few changes Graph's Exchange makes to a MIME message on its way out, done on the raw
// bytes (latin1 strings map byte for byte, so 8-bit content is kept exactly):
// - recipients are read from To/Cc/Bcc, and the Bcc header is not delivered. Graph's pages do
//   not say what becomes of a Bcc header in MIME content; this follows how Exchange converts
//   MIME (Bcc addresses become Bcc recipients) and MS-OXCMAIL 2.1.3.1.1.2: "When generating a
//   message for outbound submission to SMTP, MIME writers MUST NOT copy Bcc recipients to the
//   MIME Bcc header". An assumption to check against a real tenant;
// - header fields can be replaced (To/Cc after a draft's recipients were changed);
// - files attached to a draft are added as parts of a multipart/mixed.
import { randomBytes } from 'node:crypto';
import { splitMessage } from '../rfc5322.js';
import type { GraphAttachment, GraphRecipient } from '../types.js';
import { parseAddressList, renderAddress } from './addresses.js';

interface HeaderField {
  /** Lower-case field name. */
  name: string;
  /** The whole field with its folded lines and line end, latin1. */
  text: string;
}

export function headerFields(raw: Buffer): { fields: HeaderField[]; body: Buffer } {
  const { header, body } = splitMessage(raw);
  const lines = header.toString('latin1').split(/(?<=\n)/);
  const fields: HeaderField[] = [];
  for (const line of lines) {
    if (line === '\r\n' || line === '\n') break;
    const last = fields[fields.length - 1];
    if ((line.startsWith(' ') || line.startsWith('\t')) && last) last.text += line;
    else fields.push({ name: line.slice(0, Math.max(0, line.indexOf(':'))).trim().toLowerCase(), text: line });
  }
  return { fields, body };
}

const valueOf = (field: HeaderField): string => field.text.slice(field.text.indexOf(':') + 1).trim();

export function fieldValues(raw: Buffer, name: string): string[] {
  return headerFields(raw).fields.filter((f) => f.name === name).map(valueOf);
}

export interface HeaderRecipients {
  to: GraphRecipient[];
  cc: GraphRecipient[];
  bcc: GraphRecipient[];
}

export function headerRecipients(raw: Buffer): HeaderRecipients {
  const list = (name: string): GraphRecipient[] => fieldValues(raw, name).flatMap(parseAddressList);
  return { to: list('to'), cc: list('cc'), bcc: list('bcc') };
}

/** The first From address, if any. */
export const fromAddress = (raw: Buffer): string | undefined => fieldValues(raw, 'from').flatMap(parseAddressList)[0]?.address;

/** The message with the fields named in `replace` taken out, and `add` (whole lines) put first. */
export function rewriteHeader(raw: Buffer, replace: string[], add: string[] = []): Buffer {
  const { fields, body } = headerFields(raw);
  const eol = raw.includes('\r\n') ? '\r\n' : '\n';
  const kept = fields.filter((f) => !replace.includes(f.name)).map((f) => f.text);
  const text = [...add.map((line) => line + eol), ...kept, eol].join('');
  return Buffer.concat([Buffer.from(text, 'latin1'), body]);
}

export const withoutBcc = (raw: Buffer): Buffer => rewriteHeader(raw, ['bcc']);

/** A `To:`/`Cc:`/`Bcc:` line for `recipients`, or nothing for an empty list. */
export function addressLine(name: string, recipients: GraphRecipient[]): string[] {
  return recipients.length === 0 ? [] : [`${name}: ${recipients.map(renderAddress).join(', ')}`];
}

function attachmentPart(attachment: GraphAttachment): string {
  // eslint-disable-next-line no-control-regex
  const name = /^[\x20-\x7e]*$/.test(attachment.name) ? attachment.name.replace(/(["\\])/g, '\\$1') : `=?UTF-8?B?${Buffer.from(attachment.name).toString('base64')}?=`;
  const lines = attachment.content.toString('base64').match(/.{1,76}/g) ?? [];
  return `Content-Type: ${attachment.contentType}; name="${name}"\r\nContent-Disposition: attachment; filename="${name}"\r\nContent-Transfer-Encoding: base64\r\n\r\n${lines.join('\r\n')}\r\n`;
}

/** Adds `attachments`: into a multipart/mixed message before its closing boundary, else by wrapping the body. */
export function withAttachments(raw: Buffer, attachments: GraphAttachment[]): Buffer {
  if (attachments.length === 0) return raw;
  const { fields, body } = headerFields(raw);
  const contentType = fields.find((f) => f.name === 'content-type');
  const boundary = contentType && /^multipart\/mixed\b/i.test(valueOf(contentType)) ? /boundary="?([^";\r\n]+)"?/i.exec(valueOf(contentType))?.[1] : undefined;
  const parts = (b: string): string => attachments.map((a) => `--${b}\r\n${attachmentPart(a)}`).join('');
  if (boundary) {
    const close = body.lastIndexOf(`--${boundary}--`);
    if (close >= 0) {
      const before = body.subarray(0, close);
      const glue = before.subarray(-2).toString('latin1') === '\r\n' || before.subarray(-1).toString('latin1') === '\n' ? '' : '\r\n';
      return Buffer.concat([raw.subarray(0, raw.length - body.length), before, Buffer.from(glue + parts(boundary), 'latin1'), body.subarray(close)]);
    }
  }
  const outer = `----=_sandbox_${randomBytes(12).toString('hex')}`;
  const moved = fields.filter((f) => f.name.startsWith('content-')).map((f) => f.text).join('');
  const top = rewriteHeader(raw.subarray(0, raw.length - body.length), fields.filter((f) => f.name.startsWith('content-')).map((f) => f.name), [`Content-Type: multipart/mixed; boundary="${outer}"`]);
  return Buffer.concat([
    top,
    Buffer.from(`--${outer}\r\n${moved}\r\n`, 'latin1'),
    body,
    Buffer.from(`\r\n${parts(outer)}--${outer}--\r\n`, 'latin1'),
  ]);
}
