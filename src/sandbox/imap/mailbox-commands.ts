// Commands of the authenticated state: folders (SELECT, LIST, STATUS, CREATE, ...) and APPEND.
import { DELIMITER, type Folder } from '../mail-store.js';
import { ARGUMENT_ERROR, FLAGS, type Handler, type SessionState } from './context.js';
import { flagList, mailboxName, parseImapDate } from './format.js';
import { astring, type ImapValue } from './parser.js';
import { SelectedFolder } from './selected.js';

const NO_SUCH_FOLDER = "NO Mailbox doesn't exist.";

const openFolder = (readOnly: boolean): Handler => async (state, args) => {
  const command = readOnly ? 'EXAMINE' : 'SELECT';
  const name = astring(args[0]);
  if (name === undefined || args.length !== 1) return ARGUMENT_ERROR;
  state.select(undefined);
  const folder = state.mailbox.folder(name);
  if (!folder) return NO_SUCH_FOLDER;
  const selected = new SelectedFolder(folder, readOnly);
  state.select(selected);
  const firstUnseen = selected.view.findIndex((m) => !m.flags.has('\\Seen'));
  let out = `* ${selected.view.length} EXISTS\r\n* 0 RECENT\r\n* FLAGS ${flagList(FLAGS)}\r\n`;
  out += `* OK [PERMANENTFLAGS ${readOnly ? '()' : flagList(FLAGS)}] Permanent flags\r\n`;
  if (firstUnseen >= 0) out += `* OK [UNSEEN ${firstUnseen + 1}] Is the first unseen message\r\n`;
  out += `* OK [UIDVALIDITY ${folder.uidValidity}] UIDVALIDITY value\r\n* OK [UIDNEXT ${folder.uidNext}] The next unique identifier value\r\n`;
  await state.conn.send(out);
  return `OK [${readOnly ? 'READ-ONLY' : 'READ-WRITE'}] ${command} completed.`;
};

/** LIST/LSUB wildcards: "*" matches anything, "%" anything but the hierarchy delimiter. */
function patternToRegExp(pattern: string): RegExp {
  const source = [...pattern].map((c) => (c === '*' ? '.*' : c === '%' ? '[^/]*' : c.replace(/[.+?^${}()|[\]\\/]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, 'i');
}

const listing = (kind: 'LIST' | 'LSUB'): Handler => async (state, args) => {
  const reference = astring(args[0]);
  const pattern = astring(args[1]);
  if (reference === undefined || pattern === undefined || args.length !== 2) return ARGUMENT_ERROR;
  if (pattern === '') {
    await state.conn.send(`* ${kind} (\\Noselect) "${DELIMITER}" ""\r\n`);
    return `OK ${kind} completed.`;
  }
  const matcher = patternToRegExp(reference + pattern);
  const folders = state.mailbox.folders();
  let out = '';
  for (const folder of folders) {
    if (!matcher.test(folder.name)) continue;
    const prefix = `${folder.name}${DELIMITER}`.toLowerCase();
    const children = folders.some((f) => f.name.toLowerCase().startsWith(prefix));
    out += `* ${kind} (${children ? '\\HasChildren' : '\\HasNoChildren'}) "${DELIMITER}" ${mailboxName(folder.name)}\r\n`;
  }
  if (out) await state.conn.send(out);
  return `OK ${kind} completed.`;
};

const STATUS_ITEMS: Record<string, (folder: Folder) => number> = {
  MESSAGES: (f) => f.messages.length,
  RECENT: () => 0,
  UIDNEXT: (f) => f.uidNext,
  UIDVALIDITY: (f) => f.uidValidity,
  UNSEEN: (f) => f.messages.filter((m) => !m.flags.has('\\Seen')).length,
};

const status: Handler = async (state, args) => {
  const name = astring(args[0]);
  const items = args[1];
  if (name === undefined || items?.type !== 'list' || args.length !== 2) return ARGUMENT_ERROR;
  const names = items.items.map((i) => (i.type === 'atom' ? i.value.toUpperCase() : ''));
  if (names.length === 0 || names.some((n) => !STATUS_ITEMS[n])) return ARGUMENT_ERROR;
  const folder = state.mailbox.folder(name);
  if (!folder) return NO_SUCH_FOLDER;
  await state.conn.send(`* STATUS ${mailboxName(folder.name)} (${names.map((n) => `${n} ${STATUS_ITEMS[n]!(folder)}`).join(' ')})\r\n`);
  return 'OK STATUS completed.';
};

const append: Handler = async (state, args) => {
  const name = astring(args[0]);
  const rest: ImapValue[] = args.slice(1);
  let flags: string[] = [];
  let date: Date | undefined;
  const first = rest[0];
  if (first?.type === 'list') {
    rest.shift();
    flags = first.items.map((f) => (f.type === 'atom' ? f.value : ''));
  }
  const second = rest[0];
  if (rest.length === 2 && second?.type === 'string') {
    rest.shift();
    date = parseImapDate(second.value);
    if (!date) return ARGUMENT_ERROR;
  }
  const message = rest[0];
  if (name === undefined || rest.length !== 1 || message?.type !== 'string' || flags.some((f) => !f)) return ARGUMENT_ERROR;
  const folder = state.mailbox.folder(name);
  if (!folder) return "NO [TRYCREATE] Mailbox doesn't exist.";
  const raw = message.bytes ?? Buffer.from(message.value, 'latin1');
  const stored = folder.append(raw, flags.filter((f) => f.toLowerCase() !== '\\recent'), date);
  return `OK [APPENDUID ${folder.uidValidity} ${stored.uid}] APPEND completed.`;
};

const folderCommand = (command: string, act: (state: SessionState, name: string, other?: string) => boolean, arity = 1): Handler => async (state, args) => {
  const names = args.map(astring);
  if (args.length !== arity || names.some((n) => n === undefined || n === '')) return ARGUMENT_ERROR;
  return act(state, names[0]!, names[1]) ? `OK ${command} completed.` : `NO ${command} failed.`;
};

export const mailboxCommands: Record<string, Handler> = {
  SELECT: openFolder(false),
  EXAMINE: openFolder(true),
  LIST: listing('LIST'),
  LSUB: listing('LSUB'),
  STATUS: status,
  APPEND: append,
  CREATE: folderCommand('CREATE', (s, name) => s.mailbox.createFolder(name.replace(/\/$/, '')) !== undefined),
  DELETE: folderCommand('DELETE', (s, name) => {
    if (s.selected && s.selected.folder === s.mailbox.folder(name)) s.select(undefined);
    return s.mailbox.deleteFolder(name);
  }),
  RENAME: folderCommand('RENAME', (s, from, to) => s.mailbox.renameFolder(from, to!), 2),
  SUBSCRIBE: folderCommand('SUBSCRIBE', (s, name) => s.mailbox.folder(name) !== undefined),
  UNSUBSCRIBE: folderCommand('UNSUBSCRIBE', () => true),
  NAMESPACE: async (state) => {
    await state.conn.send(`* NAMESPACE (("" "${DELIMITER}")) NIL NIL\r\n`);
    return 'OK NAMESPACE completed.';
  },
};
