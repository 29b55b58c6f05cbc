import { SMTPStream } from 'smtp-server/lib/smtp-stream.js';
import { DotUnstuffer } from '../../wire/dot-stuffing.js';

/**
 * smtp-server reads DATA in SMTPStream#_feedDataStream, which takes a bare LF for a line end
 * when it removes transparency dots: "a\n..b" reached Exchange as "a\n.b", and nothing
 * downstream can tell which one the client sent. No option changes that, so the SMTP front
 * replaces that one method with a reader built on DotUnstuffer (RFC 5321: only CRLF ends a
 * line). The rest of smtp-server's data mode is kept: the stream handed to onData, its byte
 * count, back-pressure, and the return to command mode with whatever followed the terminator.
 *
 * This changes SMTPStream for the whole process; smtp-server is used by the SMTP front only.
 * smtp-server is pinned to an exact version in package.json, and test/integration/smtp-data
 * fails if a new version stops calling this method.
 */
export function readDataFaithfully(): void {
  SMTPStream.prototype._feedDataStream = feedDataStream;
}

/** One reader per DATA command, keyed by the stream smtp-server opened for it. */
const readers = new WeakMap<object, DotUnstuffer>();

function feedDataStream(this: SMTPStream, chunk: Buffer, done: (error?: Error | null) => void): void {
  const stream = this._dataStream!;
  let reader = readers.get(stream);
  if (!reader) {
    reader = new DotUnstuffer();
    readers.set(stream, reader);
  }
  const { data, rest } = reader.push(chunk);
  let flowing = true;
  if (data.length > 0) {
    this._countDataBytes(data.length);
    if (stream.writable) flowing = stream.write(data);
  }
  if (rest) {
    readers.delete(stream);
    this._endDataMode(false, rest, done);
    return;
  }
  if (flowing || stream.destroyed) {
    done();
    return;
  }
  // A stream that onData destroys never drains, it only closes.
  const resume = () => {
    stream.off('drain', resume);
    stream.off('close', resume);
    done();
  };
  stream.once('drain', resume);
  stream.once('close', resume);
}
