/**
 * The artifact store on the local filesystem (the default, rooted at `RETRAIN_HOME`). Every write goes to a temp
 * file in the target's folder, is fsynced, then renamed (or hard-linked, for create-only writes) into place, so a
 * crash or a concurrent reader never sees a partial object. Compare-and-set documents are guarded by a lock file
 * created with O_EXCL, which is atomic across processes on one machine (and on NFSv3+), with stale locks of dead
 * processes broken so a SIGKILLed worker cannot wedge the registry.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { promises as fs, type Stats } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join, resolve, sep, basename } from 'node:path';
import type { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  bytesToText,
  parseStoredJson,
  checkKey,
  checkPrefix,
  toBytes,
  type ArtifactStore,
  type Body,
  type ConditionalPutResult,
  type DocumentVersion,
  type VersionedDocument,
} from './artifact-store';
import { BadUriError, NotFoundError, StoreConflictError } from './errors';

export interface LocalArtifactStoreOptions {
  /** How long a compare-and-set waits for another writer's lock before giving up with STORE_CONFLICT. */
  lockTimeoutMs?: number;
  /** A lock older than this is considered abandoned even if its owner cannot be checked (another host). */
  staleLockMs?: number;
}

export class LocalArtifactStore implements ArtifactStore {
  readonly scheme = 'file' as const;
  readonly root: string;
  private readonly rootUri: string;
  private readonly lockTimeoutMs: number;
  private readonly staleLockMs: number;

  constructor(root: string, options: LocalArtifactStoreOptions = {}) {
    this.root = resolve(root);
    this.rootUri = pathToFileURL(this.root + sep).href;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    this.staleLockMs = options.staleLockMs ?? 30_000;
  }

  uriFor(key: string): string {
    return pathToFileURL(this.pathOf(checkKey(key))).href;
  }

  keyOf(uriOrKey: string): string {
    if (!uriOrKey.includes('://')) return checkKey(uriOrKey);
    if (!uriOrKey.startsWith('file://')) throw new BadUriError(uriOrKey, `a file:// URI under ${this.rootUri}`);
    let path: string;
    try {
      path = fileURLToPath(uriOrKey);
    } catch {
      throw new BadUriError(uriOrKey, `a file:// URI under ${this.rootUri}`);
    }
    if (!path.startsWith(this.root + sep)) throw new BadUriError(uriOrKey, `a file:// URI under ${this.rootUri}`);
    return checkKey(path.slice(this.root.length + 1).split(sep).join('/'));
  }

  async put(key: string, body: Body): Promise<string> {
    const path = this.pathOf(checkKey(key));
    const temp = await this.writeTemp(path, toBytes(body));
    try {
      await fs.rename(temp, path);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
    await syncDir(dirname(path));
    return pathToFileURL(path).href;
  }

  async putIfAbsent(key: string, body: Body): Promise<{ uri: string; created: boolean }> {
    const path = this.pathOf(checkKey(key));
    const uri = pathToFileURL(path).href;
    const temp = await this.writeTemp(path, toBytes(body));
    // link() fails with EEXIST instead of replacing, which makes it an atomic create-only rename.
    try {
      await fs.link(temp, path);
    } catch (err) {
      if (errno(err) === 'EEXIST') return { uri, created: false };
      throw err;
    } finally {
      await fs.rm(temp, { force: true });
    }
    await syncDir(dirname(path));
    return { uri, created: true };
  }

  async get(uriOrKey: string): Promise<Uint8Array> {
    const key = this.keyOf(uriOrKey);
    try {
      return new Uint8Array(await fs.readFile(this.pathOf(key)));
    } catch (err) {
      throw this.mapReadError(err, key);
    }
  }

  async getText(uriOrKey: string): Promise<string> {
    return bytesToText(await this.get(uriOrKey));
  }

  async getJson<T = unknown>(uriOrKey: string): Promise<T> {
    return parseStoredJson<T>(await this.getText(uriOrKey), this.uriFor(this.keyOf(uriOrKey)));
  }

  async exists(uriOrKey: string): Promise<boolean> {
    const st = await statOrNull(this.pathOf(this.keyOf(uriOrKey)));
    return st !== null && st.isFile();
  }

  async list(prefix: string): Promise<string[]> {
    checkPrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    const folder = slash < 0 ? '' : prefix.slice(0, slash);
    const out: string[] = [];
    await this.walk(folder, prefix, out);
    return out.sort();
  }

  async delete(uriOrKey: string): Promise<void> {
    await fs.rm(this.pathOf(this.keyOf(uriOrKey)), { force: true });
  }

  async stream(uriOrKey: string): Promise<Readable> {
    const key = this.keyOf(uriOrKey);
    // Opening first turns a missing file into NOT_FOUND here rather than an 'error' event later.
    let handle: fs.FileHandle;
    try {
      handle = await fs.open(this.pathOf(key), 'r');
    } catch (err) {
      throw this.mapReadError(err, key);
    }
    return handle.createReadStream();
  }

  async getWithVersion(key: string): Promise<VersionedDocument | null> {
    checkKey(key);
    try {
      const bytes = new Uint8Array(await fs.readFile(this.pathOf(key)));
      return { bytes, version: versionOf(bytes) };
    } catch (err) {
      if (errno(err) === 'ENOENT') return null;
      throw err;
    }
  }

  async putIfVersion(key: string, body: Body, expectedVersion: DocumentVersion | null): Promise<ConditionalPutResult> {
    const path = this.pathOf(checkKey(key));
    await fs.mkdir(dirname(path), { recursive: true });
    const release = await this.lock(key, `${dirname(path)}${sep}.${basename(path)}.lock`, expectedVersion);
    try {
      const current = await this.getWithVersion(key);
      if ((current?.version ?? null) !== expectedVersion) return { ok: false };
      const bytes = toBytes(body);
      await this.put(key, bytes);
      return { ok: true, version: versionOf(bytes) };
    } finally {
      await release();
    }
  }

  private pathOf(key: string): string {
    return join(this.root, ...key.split('/'));
  }

  private mapReadError(err: unknown, key: string): unknown {
    const code = errno(err);
    return code === 'ENOENT' || code === 'EISDIR' || code === 'ENOTDIR' ? new NotFoundError(this.uriFor(key)) : err;
  }

  private async writeTemp(path: string, bytes: Uint8Array): Promise<string> {
    await fs.mkdir(dirname(path), { recursive: true });
    const temp = `${dirname(path)}${sep}.${basename(path)}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
    const handle = await fs.open(temp, 'wx');
    try {
      await handle.writeFile(bytes);
      // Without fsync a crash after the rename can leave a zero-length file under the final name.
      await handle.sync();
    } catch (err) {
      await handle.close();
      await fs.rm(temp, { force: true });
      throw err;
    }
    await handle.close();
    return temp;
  }

  private async walk(folder: string, prefix: string, out: string[]): Promise<void> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(folder === '' ? this.root : this.pathOf(folder), { withFileTypes: true });
    } catch (err) {
      if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return;
      throw err;
    }
    for (const entry of entries) {
      if (entry.name.startsWith('.')) continue; // temp files, lock files
      const key = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (entry.isDirectory()) {
        if (prefix.startsWith(key + '/') || (key + '/').startsWith(prefix) || key.startsWith(prefix)) {
          await this.walk(key, prefix, out);
        }
      } else if (entry.isFile() && key.startsWith(prefix)) {
        out.push(key);
      }
    }
  }

  private async lock(key: string, lockPath: string, expected: DocumentVersion | null): Promise<() => Promise<void>> {
    const token = randomUUID();
    const content = JSON.stringify({ pid: process.pid, host: hostname(), token, at: Date.now() });
    const deadline = Date.now() + this.lockTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await fs.writeFile(lockPath, content, { flag: 'wx' });
        return async () => {
          // Only remove the lock if it is still ours (it may have been broken as stale after a long pause).
          const now = await fs.readFile(lockPath, 'utf8').catch(() => '');
          if (now === content) await fs.rm(lockPath, { force: true });
        };
      } catch (err) {
        if (errno(err) !== 'EEXIST') throw err;
      }
      await this.breakIfStale(lockPath);
      if (Date.now() > deadline) {
        throw new StoreConflictError(key, expected, `could not lock ${lockPath} within ${this.lockTimeoutMs} ms`);
      }
      await sleep(Math.min(50, 1 + attempt * 2) * Math.random());
    }
  }

  private async breakIfStale(lockPath: string): Promise<void> {
    const st = await statOrNull(lockPath);
    if (!st) return;
    const text = await fs.readFile(lockPath, 'utf8').catch(() => null);
    if (text === null) return;
    let owner: { pid?: number; host?: string; token?: string } = {};
    try {
      owner = JSON.parse(text);
    } catch {
      // Created but not yet written by its owner: only its age can tell it is abandoned.
    }
    const dead = owner.host === hostname() && typeof owner.pid === 'number' && !processAlive(owner.pid);
    if (!dead && Date.now() - st.mtimeMs < this.staleLockMs) return;
    // Move it aside first and check that what we moved is the lock we judged, so two breakers cannot remove a fresh lock.
    const aside = `${lockPath}.stale-${randomBytes(6).toString('hex')}`;
    try {
      await fs.rename(lockPath, aside);
    } catch {
      return;
    }
    const moved = await fs.readFile(aside, 'utf8').catch(() => null);
    if (moved !== text) await fs.link(aside, lockPath).catch(() => undefined);
    await fs.rm(aside, { force: true });
  }
}

export function versionOf(bytes: Uint8Array): DocumentVersion {
  return 'sha256:' + createHash('sha256').update(bytes).digest('hex');
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errno(err) === 'EPERM';
  }
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await fs.stat(path);
  } catch (err) {
    if (errno(err) === 'ENOENT' || errno(err) === 'ENOTDIR') return null;
    throw err;
  }
}

async function syncDir(path: string): Promise<void> {
  // Makes the rename itself durable; some filesystems refuse to fsync a directory, which only weakens durability.
  try {
    const handle = await fs.open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    /* best effort */
  }
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
