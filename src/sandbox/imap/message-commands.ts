// Commands of the selected state: FETCH, STORE, SEARCH, COPY, MOVE, EXPUNGE, CLOSE, UNSELECT.
// With `uid` set (UID FETCH etc.), sets name UIDs instead of sequence numbers.
import type { StoredMessage } from '../mail-store.js';
import { ARGUMENT_ERROR, type Handler, type SessionState } from './context.js';
import { fetchResponse, parseFetchItems, setsSeen } from './fetch.js';
import { flagList } from './format.js';
import { astring, isAtom } from './parser.js';
import { parseSearch, SearchSyntaxError } from './search.js';
import { inSequenceSet, parseSequenceSet } from './sequence.js';
import type { SelectedFolder } from './selected.js';

/** Small pieces of a FETCH answer are batched up to this size before writing. */
const BATCH_BYTES = 64 * 1024;

interface Target {
  seq: number;
  message: StoredMessage;
}

function targets(selected: SelectedFolder, setText: string | undefined, uid: boolean): Target[] | undefined {
  const set = setText === undefined ? undefined : parseSequenceSet(setText);
  if (!set) return undefined;
  const { view } = selected;
  const largest = uid ? selected.maxUid : view.length;
  const found: Target[] = [];
  view.forEach((message, i) => {
    if (inSequenceSet(set, uid ? message.uid : i + 1, largest)) found.push({ seq: i + 1, message });
  });
  return found;
}

const fetch: Handler = async (state, args, uid) => {
  const selected = state.selected!;
  const items = parseFetchItems(args[1]);
  const found = targets(selected, isAtom(args[0]) ? args[0].value : undefined, uid);
  if (!items || !found || args.length !== 2) return ARGUMENT_ERROR;
  if (uid && !items.some((i) => i.kind === 'UID')) items.unshift({ kind: 'UID' });
  const marksSeen = setsSeen(items) && !selected.readOnly;
  const batch: Buffer[] = [];
  let batched = 0;
  const flush = async (): Promise<void> => {
    if (batched === 0) return;
    const data = Buffer.concat(batch, batched);
    batch.length = 0;
    batched = 0;
    await state.conn.send(data);
  };
  for (const { seq, message } of found) {
    let wanted = items;
    if (marksSeen && !message.flags.has('\\Seen')) {
      message.flags.add('\\Seen');
      // RFC 3501: the implicit flag change is reported in the same response
      if (!items.some((i) => i.kind === 'FLAGS')) wanted = [...items, { kind: 'FLAGS' }];
    }
    for (const piece of fetchResponse(seq, message, wanted)) {
      const data = typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece;
      if (data.length >= BATCH_BYTES) {
        // a big literal goes straight to the socket, paced by backpressure
        await flush();
        await state.conn.send(data);
      } else {
        batch.push(data);
        batched += data.length;
        if (batched >= BATCH_BYTES) await flush();
      }
    }
  }
  await flush();
  return 'OK FETCH completed.';
};

const store: Handler = async (state, args, uid) => {
  const selected = state.selected!;
  const found = targets(selected, astring(args[0]), uid);
  const operation = /^([+-]?)FLAGS(\.SILENT)?$/i.exec(astring(args[1]) ?? '');
  const flagValues = args[2]?.type === 'list' ? args[2].items : args.slice(2);
  if (!found || !operation || flagValues.some((f) => f.type !== 'atom') || (args[2]?.type === 'list' && args.length !== 3)) return ARGUMENT_ERROR;
  if (selected.readOnly) return 'NO Mailbox is read-only.';
  const flags = flagValues.map((f) => (f as { value: string }).value).filter((f) => f.toLowerCase() !== '\\recent');
  let out = '';
  for (const { seq, message } of found) {
    if (operation[1] === '') message.flags.clear();
    for (const flag of flags) {
      if (operation[1] === '-') message.flags.delete(flag);
      else message.flags.add(flag);
    }
    if (!operation[2]) out += `* ${seq} FETCH (${uid ? `UID ${message.uid} ` : ''}FLAGS ${flagList(message.flags)})\r\n`;
  }
  if (out) await state.conn.send(out);
  return 'OK STORE completed.';
};

const search: Handler = async (state, args, uid) => {
  const selected = state.selected!;
  let predicate;
  try {
    predicate = parseSearch(args);
  } catch (error) {
    if (error instanceof SearchSyntaxError) return ARGUMENT_ERROR;
    throw error;
  }
  const maxSeq = selected.view.length;
  const maxUid = selected.maxUid;
  const hits = selected.view.flatMap((message, i) => (predicate({ message, seq: i + 1, maxSeq, maxUid }) ? [uid ? message.uid : i + 1] : []));
  await state.conn.send(`* SEARCH${hits.map((n) => ` ${n}`).join('')}\r\n`);
  return 'OK SEARCH completed.';
};

/** Removes \Deleted messages (optionally only those in `only`) and reports them unless silent. */
async function expungeDeleted(state: SessionState, silent: boolean, only?: Set<StoredMessage>): Promise<void> {
  const selected = state.selected!;
  const inView = new Set(selected.view);
  const removed = new Set(selected.folder.expunge((m) => inView.has(m) && m.flags.has('\\Deleted') && (!only || only.has(m))));
  const lines = selected.removeFromView((m) => removed.has(m));
  if (!silent && lines) await state.conn.send(lines);
}

const expunge: Handler = async (state, args, uid) => {
  const selected = state.selected!;
  let only: Set<StoredMessage> | undefined;
  if (uid) {
    const found = targets(selected, astring(args[0]), true);
    if (!found || args.length !== 1) return ARGUMENT_ERROR;
    only = new Set(found.map((t) => t.message));
  } else if (args.length !== 0) return ARGUMENT_ERROR;
  if (selected.readOnly) return 'NO Mailbox is read-only.';
  await expungeDeleted(state, false, only);
  return 'OK EXPUNGE completed.';
};

const copyOrMove = (move: boolean): Handler => async (state, args, uid) => {
  const command = move ? 'MOVE' : 'COPY';
  const selected = state.selected!;
  const found = targets(selected, astring(args[0]), uid);
  const name = astring(args[1]);
  if (!found || name === undefined || args.length !== 2) return ARGUMENT_ERROR;
  if (move && selected.readOnly) return 'NO Mailbox is read-only.';
  const destination = state.mailbox.folder(name);
  if (!destination) return "NO [TRYCREATE] Mailbox doesn't exist.";
  if (found.length === 0) return `OK ${command} completed.`;
  const copies = found.map(({ message }) => destination.append(message.raw, message.flags, message.internalDate));
  const code = `[COPYUID ${destination.uidValidity} ${found.map((t) => t.message.uid).join(',')} ${copies.map((c) => c.uid).join(',')}]`;
  if (!move) return `OK ${code} COPY completed.`;
  const moved = new Set(found.map((t) => t.message));
  selected.folder.expunge((m) => moved.has(m));
  await state.conn.send(`* OK ${code} Moved\r\n${selected.removeFromView((m) => moved.has(m))}`);
  return 'OK MOVE completed.';
};

export const messageCommands: Record<string, Handler> = {
  FETCH: fetch,
  STORE: store,
  SEARCH: search,
  COPY: copyOrMove(false),
  MOVE: copyOrMove(true),
  EXPUNGE: expunge,
};

/** Commands that have no UID form. */
export const selectedCommands: Record<string, Handler> = {
  CHECK: async () => 'OK CHECK completed.',
  CLOSE: async (state) => {
    if (!state.selected!.readOnly) await expungeDeleted(state, true);
    state.select(undefined);
    return 'OK CLOSE completed.';
  },
  UNSELECT: async (state) => {
    state.select(undefined);
    return 'OK UNSELECT completed.';
  },
};
