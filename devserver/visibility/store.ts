/**
 * The in-memory visibility store behind ListWorkflowExecutions and CountWorkflowExecutions. Records are kept per
 * namespace; a query is filtered and sorted once and the sorted result cached until the next write, so paging
 * through a large result costs a binary search per page. Page tokens carry the sort key of the last record
 * returned (not an offset), so executions started or closed between two pages neither repeat nor push others out.
 */
import type { SearchAttributeRegistry } from './search-attributes';
import {
  type OrderBy,
  type SortValue,
  type VisibilityRecord,
  type CountGroup,
  QueryError,
  compareSortKeys,
  compile,
  countGroups,
  effectiveOrder,
  parseQuery,
  sortKeyFn,
} from './query';

/** What the Go frontend uses when a request leaves the page size at 0. */
export const DEFAULT_PAGE_SIZE = 1000;
const CACHE_ENTRIES = 8;
const TOKEN_VERSION = 1;

/** A page token that is not one of ours, or belongs to a differently ordered query; answer INVALID_ARGUMENT. */
export class InvalidPageTokenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidPageTokenError';
  }
}

interface Sorted {
  version: number;
  order: readonly OrderBy[];
  keys: SortValue[][];
  records: VisibilityRecord[];
}

interface PageCursor {
  key: SortValue[];
  runId: string;
}

export class VisibilityStore {
  private readonly byRunId = new Map<string, VisibilityRecord>();
  private readonly byNamespace = new Map<string, Map<string, VisibilityRecord>>();
  private version = 0;
  private readonly cache = new Map<string, Sorted>();

  /** `registryFor` gives the namespace's search attributes (one registry for all namespaces is fine too). */
  constructor(private readonly registryFor: (namespace: string) => SearchAttributeRegistry) {}

  /**
   * Inserts or replaces the record with this run id. Records are kept by reference: after changing one, upsert it
   * again so that cached query results are dropped.
   */
  upsert(record: VisibilityRecord): void {
    const previous = this.byRunId.get(record.runId);
    if (previous && previous.namespace !== record.namespace) this.byNamespace.get(previous.namespace)?.delete(record.runId);
    this.byRunId.set(record.runId, record);
    let ns = this.byNamespace.get(record.namespace);
    if (!ns) {
      ns = new Map();
      this.byNamespace.set(record.namespace, ns);
    }
    ns.set(record.runId, record);
    this.version++;
  }

  get(runId: string): VisibilityRecord | undefined {
    return this.byRunId.get(runId);
  }

  /** DeleteWorkflowExecution. Returns whether there was such a record. */
  delete(runId: string): boolean {
    const record = this.byRunId.get(runId);
    if (!record) return false;
    this.byRunId.delete(runId);
    this.byNamespace.get(record.namespace)?.delete(runId);
    this.version++;
    return true;
  }

  get size(): number {
    return this.byRunId.size;
  }

  /**
   * One page of the executions matching `query`, in its ORDER BY order (default StartTime DESC, then RunId).
   * `nextPageToken` is undefined on the last page. Throws QueryError (GROUP BY included: that is for count) and
   * InvalidPageTokenError.
   */
  list(
    namespace: string,
    query: string,
    pageSize: number,
    nextPageToken?: Uint8Array | null,
  ): { records: VisibilityRecord[]; nextPageToken?: Uint8Array } {
    const parsed = parseQuery(query, this.registryFor(namespace));
    if (parsed.groupBy.length > 0) {
      const pos = parsed.groupByPosition ?? 0;
      throw new QueryError(
        `invalid query: GROUP BY is only supported in count queries (at position ${pos})`,
        query.slice(pos, pos + 5),
        pos,
      );
    }
    if (!Number.isInteger(pageSize) || pageSize < 0) {
      throw new RangeError(`pageSize: expected a non-negative integer, got ${pageSize}`);
    }
    const size = pageSize === 0 ? DEFAULT_PAGE_SIZE : pageSize;
    const order = effectiveOrder(parsed.orderBy);
    const sorted = this.sorted(namespace, query, () => {
      const matches = compile(parsed);
      const records: VisibilityRecord[] = [];
      for (const r of this.byNamespace.get(namespace)?.values() ?? []) if (matches(r)) records.push(r);
      return records;
    }, order);

    let start = 0;
    if (nextPageToken && nextPageToken.length > 0) {
      const cursor = decodeToken(nextPageToken, order);
      start = firstAfter(sorted, cursor, order);
    }
    const end = Math.min(start + size, sorted.records.length);
    const records = sorted.records.slice(start, end);
    if (end >= sorted.records.length) return { records };
    return { records, nextPageToken: encodeToken(sorted.keys[end - 1], sorted.records[end - 1].runId, order) };
  }

  /** The number of matching executions; with GROUP BY ExecutionStatus also the per-status groups. */
  count(namespace: string, query: string): { count: number; groups?: CountGroup[] } {
    const parsed = parseQuery(query, this.registryFor(namespace));
    const matches = compile(parsed);
    const records: VisibilityRecord[] = [];
    for (const r of this.byNamespace.get(namespace)?.values() ?? []) if (matches(r)) records.push(r);
    if (parsed.groupBy.length === 0) return { count: records.length };
    return { count: records.length, groups: countGroups(records, parsed.groupBy) };
  }

  private sorted(
    namespace: string,
    query: string,
    filter: () => VisibilityRecord[],
    order: readonly OrderBy[],
  ): Sorted {
    const cacheKey = `${namespace}\u0000${query}`;
    const hit = this.cache.get(cacheKey);
    if (hit && hit.version === this.version) {
      // Refresh its place in the LRU order.
      this.cache.delete(cacheKey);
      this.cache.set(cacheKey, hit);
      return hit;
    }
    const key = sortKeyFn(order);
    const decorated = filter().map((r) => ({ r, k: key(r) }));
    decorated.sort((a, b) => compareSortKeys(a.k, a.r.runId, b.k, b.r.runId, order));
    const entry: Sorted = {
      version: this.version,
      order,
      keys: decorated.map((d) => d.k),
      records: decorated.map((d) => d.r),
    };
    this.cache.delete(cacheKey);
    this.cache.set(cacheKey, entry);
    while (this.cache.size > CACHE_ENTRIES) this.cache.delete(this.cache.keys().next().value as string);
    return entry;
  }
}

/** Index of the first record strictly after the cursor. */
function firstAfter(sorted: Sorted, cursor: PageCursor, order: readonly OrderBy[]): number {
  let lo = 0;
  let hi = sorted.records.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareSortKeys(sorted.keys[mid], sorted.records[mid].runId, cursor.key, cursor.runId, order) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function orderSignature(order: readonly OrderBy[]): string {
  return order.map((o) => `${o.attr}${o.desc ? '-' : '+'}`).join(',');
}

function encodeToken(key: SortValue[], runId: string, order: readonly OrderBy[]): Uint8Array {
  const json = JSON.stringify({ v: TOKEN_VERSION, o: orderSignature(order), k: key, r: runId });
  return new Uint8Array(Buffer.from(json, 'utf8'));
}

function decodeToken(token: Uint8Array, order: readonly OrderBy[]): PageCursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token).toString('utf8'));
  } catch {
    throw new InvalidPageTokenError('invalid page token: not a token this server issued');
  }
  const t = parsed as { v?: unknown; o?: unknown; k?: unknown; r?: unknown };
  if (
    typeof parsed !== 'object' ||
    parsed === null ||
    t.v !== TOKEN_VERSION ||
    typeof t.r !== 'string' ||
    !Array.isArray(t.k) ||
    t.k.length !== order.length ||
    !t.k.every((x) => x === null || typeof x === 'string' || typeof x === 'number')
  ) {
    throw new InvalidPageTokenError('invalid page token: not a token this server issued');
  }
  if (t.o !== orderSignature(order)) {
    throw new InvalidPageTokenError('invalid page token: it belongs to a query with a different ORDER BY');
  }
  return { key: t.k as SortValue[], runId: t.r };
}
