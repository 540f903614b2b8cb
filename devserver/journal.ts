/**
 * The append-only journal behind `--db-filename`: history events (the source of truth) and the few state changes no
 * history event records (namespaces, search attribute registrations, start and signal request ids, an activity's
 * attempt, heartbeat details and retry time, events buffered behind a started workflow task). Records are group
 * committed: every record appended during one turn of the event loop goes out in one write and one fdatasync, and a
 * call is answered only once the records it appended are durable (see `whenDurable`). On open the file is read back
 * whole; a torn last record (a crash mid-write) is dropped with a warning, while a bad record anywhere before the last
 * is corruption and stops the server with its offset.
 *
 * File: the 8-byte magic `RTJRNL1\n`, then records `u32 LE length | u32 LE crc32(body) | body`, where body is
 * `u32 LE json length | JSON header | binary tail` (the tail holds a protobuf-encoded HistoryEvent where one is carried).
 */
import { closeSync, fdatasync, openSync, readFileSync, existsSync, ftruncateSync, write as fsWrite, writeSync, fsyncSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';

export const MAGIC = Buffer.from('RTJRNL1\n');

export interface JournalRecord {
  /** The record's JSON header (its `t` field names the kind). */
  head: { t: string; [k: string]: unknown };
  /** Binary tail, empty when the record carries none. */
  tail: Buffer;
  /** Byte offset of the record in the file (for messages). */
  offset: number;
  /** Bytes the record takes in the file, framing included. */
  size: number;
}

export class JournalCorruptError extends Error {}

/** Parses a journal's bytes. A torn or corrupt last record is reported in `torn`; corruption before it throws. */
export function parseJournal(bytes: Buffer, path: string): { records: JournalRecord[]; validLength: number; torn?: string } {
  if (bytes.length === 0) return { records: [], validLength: 0 };
  if (bytes.length < MAGIC.length || !bytes.subarray(0, MAGIC.length).equals(MAGIC)) {
    // A header cut short by a crash on the very first write is a torn tail too; anything else is not our file.
    if (bytes.length < MAGIC.length && MAGIC.subarray(0, bytes.length).equals(bytes)) {
      return { records: [], validLength: 0, torn: `journal ${path}: header cut short (${bytes.length} bytes); starting empty` };
    }
    throw new JournalCorruptError(`journal ${path}: not a Retrain devserver journal (bad magic at offset 0)`);
  }
  const records: JournalRecord[] = [];
  let off = MAGIC.length;
  while (off < bytes.length) {
    const remaining = bytes.length - off;
    if (remaining < 8) return { records, validLength: off, torn: `journal ${path}: torn record header at offset ${off} (${remaining} bytes); dropped` };
    const len = bytes.readUInt32LE(off);
    const sum = bytes.readUInt32LE(off + 4);
    const end = off + 8 + len;
    if (end > bytes.length) {
      return { records, validLength: off, torn: `journal ${path}: torn last record at offset ${off} (${len} bytes announced, ${remaining - 8} present); dropped` };
    }
    const body = bytes.subarray(off + 8, end);
    if (crc32(body) !== sum || len < 4) {
      if (end === bytes.length) {
        return { records, validLength: off, torn: `journal ${path}: last record at offset ${off} fails its checksum; dropped` };
      }
      throw new JournalCorruptError(`journal ${path}: corrupt record at offset ${off} (checksum mismatch, ${bytes.length - end} bytes follow it)`);
    }
    const jsonLen = body.readUInt32LE(0);
    if (4 + jsonLen > body.length) throw new JournalCorruptError(`journal ${path}: corrupt record at offset ${off} (header length ${jsonLen})`);
    let head: JournalRecord['head'];
    try {
      head = JSON.parse(body.subarray(4, 4 + jsonLen).toString('utf8'));
    } catch {
      throw new JournalCorruptError(`journal ${path}: corrupt record at offset ${off} (header is not JSON)`);
    }
    records.push({ head, tail: body.subarray(4 + jsonLen), offset: off, size: end - off });
    off = end;
  }
  return { records, validLength: off };
}

/** Encodes one record as it lies in the file. */
export function encodeRecord(head: object, tail?: Uint8Array): Buffer {
  const json = Buffer.from(JSON.stringify(head), 'utf8');
  const tailLen = tail?.length ?? 0;
  const buf = Buffer.allocUnsafe(8 + 4 + json.length + tailLen);
  buf.writeUInt32LE(4 + json.length + tailLen, 0);
  buf.writeUInt32LE(json.length, 8);
  json.copy(buf, 12);
  if (tail) buf.set(tail, 12 + json.length);
  buf.writeUInt32LE(crc32(buf.subarray(8)), 4);
  return buf;
}

export class Journal {
  private fd: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  /** Records appended so far, and the count known durable. */
  private appended = 0;
  private durable = 0;
  private flushing = false;
  private scheduled = false;
  private failed: Error | null = null;
  private waiters: Array<{ upTo: number; resolve: () => void; reject: (e: Error) => void }> = [];
  /** Counters for tests and benchmarks. */
  readonly stats = { writes: 0, records: 0, bytes: 0, compactions: 0 };
  /** A compaction asked for while a write was in flight, run once it lands. */
  private compactAfterFlush: { keep: (head: JournalRecord['head']) => boolean; prelude: object[] } | null = null;

  private constructor(
    readonly path: string,
    fd: number,
    private readonly log: (m: string) => void,
  ) {
    this.fd = fd;
  }

  /**
   * Reads the journal at `path` (creating it when missing), cuts a torn tail off the file, and opens it for appending.
   * Throws JournalCorruptError on corruption before the last record.
   */
  static open(path: string, log: (m: string) => void): { journal: Journal; records: JournalRecord[] } {
    const bytes = existsSync(path) ? readFileSync(path) : Buffer.alloc(0);
    const parsed = parseJournal(bytes, path);
    if (parsed.torn) log(`WARNING: ${parsed.torn}`);
    const fd = openSync(path, existsSync(path) ? 'r+' : 'w+');
    if (parsed.validLength < bytes.length || bytes.length === 0 || parsed.validLength === 0) {
      ftruncateSync(fd, parsed.validLength);
    }
    let size = parsed.validLength;
    if (size === 0) {
      writeSync(fd, MAGIC, 0, MAGIC.length, 0);
      size = MAGIC.length;
    }
    fsyncSync(fd);
    const journal = new Journal(path, fd, log);
    journal.position = size;
    return { journal, records: parsed.records };
  }

  private position = 0;

  /** The file's size once what is pending is written. */
  get size(): number {
    return this.position + this.pendingBytes;
  }

  /** Queues a record for the next group commit; returns its size in the file. */
  append(head: object, tail?: Uint8Array): number {
    if (this.fd < 0) return 0;
    const rec = encodeRecord(head, tail);
    this.pending.push(rec);
    this.pendingBytes += rec.length;
    this.appended++;
    if (!this.scheduled && !this.flushing) {
      this.scheduled = true;
      // After the current turn: every record written by the calls handled in this turn shares one write and fsync.
      setImmediate(() => this.flush());
    }
    return rec.length;
  }

  /**
   * Rewrites the file with only the records `keep` accepts, after the `prelude` records: into a temporary file beside
   * it, fsynced, renamed over the journal (atomic), and the directory fsynced, so a crash at any point leaves either
   * the old file or the new one whole. Runs between two group commits: records already written are all durable then,
   * and records still pending go to the new file with the next commit. Returns false when it could not (the journal
   * goes on unchanged) or was deferred behind a write in flight.
   */
  compact(keep: (head: JournalRecord['head']) => boolean, prelude: object[] = []): boolean {
    if (this.fd < 0 || this.failed) return false;
    if (this.flushing) {
      this.compactAfterFlush = { keep, prelude };
      return false;
    }
    const tmp = `${this.path}.compact`;
    let newSize = 0;
    try {
      const bytes = readFileSync(this.path).subarray(0, this.position);
      const { records } = parseJournal(bytes, this.path);
      const out = openSync(tmp, 'w');
      try {
        const chunks: Buffer[] = [MAGIC, ...prelude.map((h) => encodeRecord(h))];
        for (const r of records) if (keep(r.head)) chunks.push(bytes.subarray(r.offset, r.offset + r.size));
        // Kept records are copied as they lie (framing and checksum included), in their order.
        const all = Buffer.concat(chunks);
        let off = 0;
        while (off < all.length) off += writeSync(out, all, off, all.length - off, off);
        newSize = all.length;
        fsyncSync(out);
      } finally {
        closeSync(out);
      }
      renameSync(tmp, this.path);
    } catch (e) {
      rmSync(tmp, { force: true });
      this.log(`journal ${this.path}: compaction failed, the journal goes on uncompacted: ${(e as Error).message}`);
      return false;
    }
    try {
      // The rename itself is durable only once the directory is.
      const dir = openSync(dirname(this.path), 'r');
      try {
        fsyncSync(dir);
      } finally {
        closeSync(dir);
      }
      closeSync(this.fd);
      this.fd = openSync(this.path, 'r+');
      this.position = newSize;
      this.stats.compactions++;
      return true;
    } catch (e) {
      // The old descriptor names a file no longer in the directory: nothing written now would survive a restart.
      this.failed = new Error(`journal ${this.path}: reopening after compaction failed: ${(e as Error).message}`);
      this.log(this.failed.message);
      for (const w of this.waiters.splice(0)) w.reject(this.failed);
      return false;
    }
  }

  /** Resolves once every record appended so far is on disk; null when nothing is waiting to be (the common read path). */
  whenDurable(): Promise<void> | null {
    if (this.failed) return Promise.reject(this.failed);
    if (this.durable >= this.appended) return null;
    const upTo = this.appended;
    return new Promise((resolve, reject) => this.waiters.push({ upTo, resolve, reject }));
  }

  private flush(): void {
    this.scheduled = false;
    if (this.flushing || this.fd < 0 || this.pending.length === 0) return;
    this.flushing = true;
    const batch = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    const count = this.appended;
    const records = this.pending.length;
    this.pending = [];
    this.pendingBytes = 0;
    const fd = this.fd;
    const at = this.position;
    this.position += batch.length;
    const done = (err: Error | null) => {
      this.flushing = false;
      if (err) {
        // Nothing written after a failed write can be trusted to follow it: fail every waiting call from now on.
        this.failed = new Error(`journal ${this.path}: write failed: ${err.message}`);
        this.log(this.failed.message);
        for (const w of this.waiters.splice(0)) w.reject(this.failed);
        return;
      }
      this.stats.writes++;
      this.stats.records += records;
      this.stats.bytes += batch.length;
      this.durable = count;
      const still: typeof this.waiters = [];
      for (const w of this.waiters) (w.upTo <= count ? w.resolve() : still.push(w));
      this.waiters = still;
      if (this.compactAfterFlush) {
        const c = this.compactAfterFlush;
        this.compactAfterFlush = null;
        this.compact(c.keep, c.prelude);
      }
      if (this.pending.length) this.flush();
    };
    const writeAll = (offset: number) => {
      fsWrite(fd, batch, offset, batch.length - offset, at + offset, (err, n) => {
        if (err) return done(err);
        if (offset + n < batch.length) return writeAll(offset + n);
        fdatasync(fd, (e) => done(e));
      });
    };
    writeAll(0);
  }

  /** Writes what is pending synchronously and closes the file. */
  close(): void {
    if (this.fd < 0) return;
    if (!this.flushing && this.pending.length) {
      const batch = Buffer.concat(this.pending);
      writeSync(this.fd, batch, 0, batch.length, this.position);
      this.position += batch.length;
      this.pending = [];
      fsyncSync(this.fd);
      this.durable = this.appended;
    }
    // A flush in flight finishes on its own callback; closing under it would fail it, so leave the fd to the process.
    if (!this.flushing) closeSync(this.fd);
    this.fd = -1;
    for (const w of this.waiters.splice(0)) (w.upTo <= this.durable ? w.resolve() : w.reject(new Error('journal closed')));
  }
}
