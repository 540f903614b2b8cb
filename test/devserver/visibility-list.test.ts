/**
 * Visibility through the real SDK against the devserver launched as the Temporal CLI (`createLocal`, with
 * `--search-attribute` launch flags): 60 executions with random typed custom search attributes (registered through
 * OperatorService and through the launch flag) in every status, ~40 generated list queries checked against a
 * brute-force filter of what the test started (set, and order under ORDER BY), count with and without GROUP BY
 * ExecutionStatus, raw paging with small pages, INVALID_ARGUMENT for malformed queries, search attributes and memo
 * upserted by workflow code, memo round trips and typedSearchAttributes decoding in describe() and list().
 */
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowExecutionInfo, WorkflowHandle } from '@temporalio/client';
import { defineSearchAttributeKey, type SearchAttributePair } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { assertReplays, useHarness } from './helpers';
import { finishSignal, upsertUpdate, visTarget, visUpserter } from './fixtures/ext2-workflows';
import { replaysEveryRun } from './replay-all';

const WF = require.resolve('./fixtures/ext2-workflows');

// Registered at launch through `--search-attribute Name=Type` (createLocal's searchAttributes option).
const LaunchTeam = defineSearchAttributeKey('LaunchTeam', 'KEYWORD');
const LaunchScore = defineSearchAttributeKey('LaunchScore', 'INT');
// Registered through OperatorService.AddSearchAttributes before the executions start.
const VisBatch = defineSearchAttributeKey('VisBatch', 'KEYWORD');
const VisKeyword = defineSearchAttributeKey('VisKeyword', 'KEYWORD');
const VisText = defineSearchAttributeKey('VisText', 'TEXT');
const VisInt = defineSearchAttributeKey('VisInt', 'INT');
const VisDouble = defineSearchAttributeKey('VisDouble', 'DOUBLE');
const VisBool = defineSearchAttributeKey('VisBool', 'BOOL');
const VisDatetime = defineSearchAttributeKey('VisDatetime', 'DATETIME');
const VisKeywordList = defineSearchAttributeKey('VisKeywordList', 'KEYWORD_LIST');
const VisSeq = defineSearchAttributeKey('VisSeq', 'INT');

const h = useHarness({ local: true, worker: { workflowsPath: WF }, searchAttributes: [LaunchTeam, LaunchScore] });

const IVT = temporal.api.enums.v1.IndexedValueType;
const NS = 'default';

/** Registers the Vis* attributes once (suites call it from their own before hooks, which run after the harness's). */
let registered: Promise<unknown> | undefined;
function registerAttributes(): Promise<unknown> {
  registered ??= h().env.connection.operatorService.addSearchAttributes({
    namespace: NS,
    searchAttributes: {
      VisBatch: IVT.INDEXED_VALUE_TYPE_KEYWORD,
      VisKeyword: IVT.INDEXED_VALUE_TYPE_KEYWORD,
      VisText: IVT.INDEXED_VALUE_TYPE_TEXT,
      VisInt: IVT.INDEXED_VALUE_TYPE_INT,
      VisDouble: IVT.INDEXED_VALUE_TYPE_DOUBLE,
      VisBool: IVT.INDEXED_VALUE_TYPE_BOOL,
      VisDatetime: IVT.INDEXED_VALUE_TYPE_DATETIME,
      VisKeywordList: IVT.INDEXED_VALUE_TYPE_KEYWORD_LIST,
      VisSeq: IVT.INDEXED_VALUE_TYPE_INT,
    },
  });
  return registered;
}

/** mulberry32: a small seeded generator, so the executions and queries are the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Status = 'Running' | 'Completed' | 'Failed' | 'Terminated';

/** What the test knows about one execution it started: the ground truth the brute-force filter reads. */
interface Model {
  workflowId: string;
  runId: string;
  workflowType: 'visTarget' | 'visUpserter';
  status: Status;
  startTime: number;
  keyword: string;
  text?: string;
  int?: number;
  double: number;
  bool?: boolean;
  datetime?: number;
  keywords: string[];
  seq: number;
  team?: string;
  score?: number;
}

const KEYWORDS = ['alpha', 'alphabet', 'beta', 'delta', 'gamma', 'Zeta'];
const WORDS = ['model', 'drift', 'retrain', 'churn', 'fraud', 'score'];
const COLOURS = ['red', 'green', 'blue', 'cyan'];
const BASE_TIME = Date.parse('2025-03-01T00:00:00.000Z');

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)];
}

function rfc(ms: number): string {
  return new Date(ms).toISOString();
}

function quote(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

interface Atom {
  text: string;
  test: (m: Model) => boolean;
}

/** Random conditions over every attribute kind. `!=` is only generated for attributes every execution has. */
function atomGenerators(models: Model[], r: () => number): Array<() => Atom> {
  const starts = [...new Set(models.map((m) => m.startTime))].sort((a, b) => a - b);
  const cut = (q: number) => {
    const i = Math.min(starts.length - 2, Math.max(0, Math.floor(q * starts.length)));
    return Math.floor((starts[i] + starts[i + 1]) / 2);
  };
  const int = () => Math.floor(r() * 101) - 50;
  const dt = () => BASE_TIME + Math.floor(r() * 10_000) * 60_000 + 30_000;
  return [
    () => {
      const v = pick(r, KEYWORDS);
      return { text: `VisKeyword = ${quote(v)}`, test: (m) => m.keyword === v };
    },
    () => {
      const v = pick(r, KEYWORDS);
      return { text: `VisKeyword != ${quote(v)}`, test: (m) => m.keyword !== v };
    },
    () => {
      const vs = [pick(r, KEYWORDS), pick(r, KEYWORDS)];
      return { text: `VisKeyword IN (${vs.map(quote).join(', ')})`, test: (m) => vs.includes(m.keyword) };
    },
    () => {
      const p = pick(r, ['alph', 'alpha', 'ga', 'Z', 'z']);
      return { text: `VisKeyword STARTS_WITH ${quote(p)}`, test: (m) => m.keyword.startsWith(p) };
    },
    () => ({ text: `VisKeyword BETWEEN 'b' AND 'e'`, test: (m) => m.keyword >= 'b' && m.keyword <= 'e' }),
    () => ({ text: `VisKeyword < 'beta'`, test: (m) => m.keyword < 'beta' }),
    () => {
      const w = pick(r, WORDS);
      return { text: `VisText = ${quote(w)}`, test: (m) => (m.text ?? '').split(' ').includes(w) };
    },
    () => {
      const [op, v] = [pick(r, ['=', '<', '<=', '>', '>=']), int()];
      const f: Record<string, (a: number) => boolean> = {
        '=': (a) => a === v,
        '<': (a) => a < v,
        '<=': (a) => a <= v,
        '>': (a) => a > v,
        '>=': (a) => a >= v,
      };
      return { text: `VisInt ${op} ${v}`, test: (m) => m.int !== undefined && f[op](m.int) };
    },
    () => {
      const [a, b] = [int(), int()].sort((x, y) => x - y);
      return { text: `VisInt BETWEEN ${a} AND ${b}`, test: (m) => m.int !== undefined && m.int >= a && m.int <= b };
    },
    () => {
      const vs = models.filter((m) => m.int !== undefined).slice(0, 40).filter(() => r() < 0.15).map((m) => m.int!);
      if (!vs.length) vs.push(0);
      return { text: `VisInt IN (${vs.join(', ')})`, test: (m) => m.int !== undefined && vs.includes(m.int) };
    },
    () => ({ text: `VisInt IS NULL`, test: (m) => m.int === undefined }),
    () => ({ text: `VisInt IS NOT NULL`, test: (m) => m.int !== undefined }),
    () => {
      const v = Math.round(r() * 10_000) / 100;
      return r() < 0.5
        ? { text: `VisDouble < ${v}`, test: (m) => m.double < v }
        : { text: `VisDouble >= ${v}`, test: (m) => m.double >= v };
    },
    () => {
      const [a, b] = [Math.round(r() * 10_000) / 100, Math.round(r() * 10_000) / 100].sort((x, y) => x - y);
      return { text: `VisDouble BETWEEN ${a} AND ${b}`, test: (m) => m.double >= a && m.double <= b };
    },
    () => {
      const v = r() < 0.5;
      return { text: `VisBool = ${v}`, test: (m) => m.bool === v };
    },
    () => ({ text: `VisBool IS NULL`, test: (m) => m.bool === undefined }),
    () => {
      const v = dt();
      return r() < 0.5
        ? { text: `VisDatetime > ${quote(rfc(v))}`, test: (m) => m.datetime !== undefined && m.datetime > v }
        : { text: `VisDatetime <= ${quote(rfc(v))}`, test: (m) => m.datetime !== undefined && m.datetime <= v };
    },
    () => {
      const [a, b] = [dt(), dt()].sort((x, y) => x - y);
      return {
        text: `VisDatetime BETWEEN ${quote(rfc(a))} AND ${quote(rfc(b))}`,
        test: (m) => m.datetime !== undefined && m.datetime >= a && m.datetime <= b,
      };
    },
    () => ({ text: `VisDatetime IS NULL`, test: (m) => m.datetime === undefined }),
    () => {
      const c = pick(r, COLOURS);
      return { text: `VisKeywordList = ${quote(c)}`, test: (m) => m.keywords.includes(c) };
    },
    () => {
      const cs = [pick(r, COLOURS), pick(r, COLOURS)];
      return { text: `VisKeywordList IN (${cs.map(quote).join(', ')})`, test: (m) => cs.some((c) => m.keywords.includes(c)) };
    },
    () => {
      const c = pick(r, COLOURS);
      return { text: `VisKeywordList != ${quote(c)}`, test: (m) => !m.keywords.includes(c) };
    },
    () => {
      const v = Math.floor(r() * 60);
      return { text: `VisSeq >= ${v}`, test: (m) => m.seq >= v };
    },
    () => {
      const s = pick(r, ['Running', 'Completed', 'Failed', 'Terminated'] as const);
      return { text: `ExecutionStatus = ${quote(s)}`, test: (m) => m.status === s };
    },
    () => ({ text: `ExecutionStatus IN ('Completed', 'Failed')`, test: (m) => m.status === 'Completed' || m.status === 'Failed' }),
    () => ({ text: `ExecutionStatus != 'Running'`, test: (m) => m.status !== 'Running' }),
    () => {
      const prefix = models[0].workflowId.replace(/-a-\d+$/, '-a-');
      return { text: `WorkflowId STARTS_WITH ${quote(prefix)}`, test: (m) => m.workflowId.startsWith(prefix) };
    },
    () => {
      const m0 = pick(r, models);
      return { text: `WorkflowId = ${quote(m0.workflowId)}`, test: (m) => m.workflowId === m0.workflowId };
    },
    () => ({ text: `WorkflowType = 'visUpserter'`, test: (m) => m.workflowType === 'visUpserter' }),
    () => {
      const t = cut(r());
      return r() < 0.5
        ? { text: `StartTime > ${quote(rfc(t))}`, test: (m) => m.startTime > t }
        : { text: `StartTime < ${quote(rfc(t))}`, test: (m) => m.startTime < t };
    },
    () => {
      const t = pick(r, ['team-a', 'team-b']);
      return { text: `LaunchTeam = ${quote(t)}`, test: (m) => m.team === t };
    },
    () => ({ text: `LaunchTeam IS NULL`, test: (m) => m.team === undefined }),
    () => ({ text: `LaunchScore >= 5`, test: (m) => m.score !== undefined && m.score >= 5 }),
  ];
}

interface GeneratedQuery {
  where: string;
  test: (m: Model) => boolean;
  order?: { attr: string; dir: 'ASC' | 'DESC'; key: (m: Model) => number | undefined };
}

function generateQueries(models: Model[], count: number, seed: number): GeneratedQuery[] {
  const r = rng(seed);
  const gens = atomGenerators(models, r);
  const atom = () => pick(r, gens)();
  const orders: Array<[string, (m: Model) => number | undefined]> = [
    ['VisSeq', (m) => m.seq],
    ['VisInt', (m) => m.int],
    ['VisDouble', (m) => m.double],
    ['VisDatetime', (m) => m.datetime],
    ['StartTime', (m) => m.startTime],
    ['LaunchScore', (m) => m.score],
  ];
  const out: GeneratedQuery[] = [];
  for (let i = 0; i < count; i++) {
    const [a, b, c, d] = [atom(), atom(), atom(), atom()];
    let where: string;
    let test: (m: Model) => boolean;
    switch (i % 6) {
      case 0:
        [where, test] = [a.text, a.test];
        break;
      case 1:
        [where, test] = [`${a.text} AND ${b.text}`, (m) => a.test(m) && b.test(m)];
        break;
      case 2:
        [where, test] = [`${a.text} OR ${b.text}`, (m) => a.test(m) || b.test(m)];
        break;
      case 3:
        [where, test] = [`(${a.text} OR ${b.text}) AND ${c.text}`, (m) => (a.test(m) || b.test(m)) && c.test(m)];
        break;
      case 4:
        [where, test] = [`${a.text} AND (${b.text} OR ${c.text})`, (m) => a.test(m) && (b.test(m) || c.test(m))];
        break;
      default:
        [where, test] = [
          `(${a.text} AND ${b.text}) OR (${c.text} AND ${d.text})`,
          (m) => (a.test(m) && b.test(m)) || (c.test(m) && d.test(m)),
        ];
    }
    const q: GeneratedQuery = { where, test };
    if (r() < 0.45) {
      const [attr, key] = pick(r, orders);
      q.order = { attr, dir: r() < 0.5 ? 'ASC' : 'DESC', key };
    }
    out.push(q);
  }
  return out;
}

/** Expected key sequence under ORDER BY: missing values last in either direction, as the server documents. */
function expectedKeys(models: Model[], key: (m: Model) => number | undefined, dir: 'ASC' | 'DESC'): Array<number | null> {
  const present = models.map(key).filter((k): k is number => k !== undefined);
  present.sort((x, y) => (dir === 'ASC' ? x - y : y - x));
  return [...present, ...Array<null>(models.length - present.length).fill(null)];
}

async function listAll(query: string): Promise<WorkflowExecutionInfo[]> {
  const out: WorkflowExecutionInfo[] = [];
  for await (const e of h().env.client.workflow.list({ query })) out.push(e);
  return out;
}

describe('visibility: list and count against a brute-force filter', { timeout: 60_000 }, () => {
  const batch = `b${process.pid}`;
  const models: Model[] = [];
  const handles = new Map<string, WorkflowHandle>();

  before(async () => {
    await registerAttributes();
    const { env, taskQueue } = h();
    const r = rng(20251122);
    const plan: Status[] = ['Completed', 'Failed', 'Terminated', 'Running', 'Running', 'Running'];
    for (let i = 0; i < 60; i++) {
      const workflowType = i % 4 === 3 ? 'visUpserter' : 'visTarget';
      const status = plan[i % 6];
      const m: Model = {
        workflowId: `vis-${batch}-${i % 2 ? 'b' : 'a'}-${i}`,
        runId: '',
        workflowType,
        status,
        startTime: 0,
        keyword: pick(r, KEYWORDS),
        text: r() < 0.15 ? undefined : Array.from({ length: 1 + Math.floor(r() * 3) }, () => pick(r, WORDS)).join(' '),
        int: r() < 0.15 ? undefined : Math.floor(r() * 101) - 50,
        double: Math.round((r() * 120 - 10) * 100) / 100,
        bool: r() < 0.2 ? undefined : r() < 0.5,
        datetime: r() < 0.1 ? undefined : BASE_TIME + Math.floor(r() * 10_000) * 60_000,
        keywords: COLOURS.filter(() => r() < 0.5),
        seq: i,
        team: r() < 0.25 ? undefined : pick(r, ['team-a', 'team-b']),
        score: r() < 0.2 ? undefined : Math.floor(r() * 10),
      };
      if (!m.keywords.length) m.keywords.push(pick(r, COLOURS));
      const pairs: SearchAttributePair[] = [
        { key: VisBatch, value: batch },
        { key: VisKeyword, value: m.keyword },
        { key: VisDouble, value: m.double },
        { key: VisKeywordList, value: m.keywords },
        { key: VisSeq, value: m.seq },
      ];
      if (m.text !== undefined) pairs.push({ key: VisText, value: m.text });
      if (m.int !== undefined) pairs.push({ key: VisInt, value: m.int });
      if (m.bool !== undefined) pairs.push({ key: VisBool, value: m.bool });
      if (m.datetime !== undefined) pairs.push({ key: VisDatetime, value: new Date(m.datetime) });
      if (m.team !== undefined) pairs.push({ key: LaunchTeam, value: m.team });
      if (m.score !== undefined) pairs.push({ key: LaunchScore, value: m.score });
      const opts = { taskQueue, workflowId: m.workflowId, typedSearchAttributes: pairs, memo: { seq: i } };
      const handle =
        workflowType === 'visTarget'
          ? await env.client.workflow.start(visTarget, { ...opts, args: [status === 'Completed' ? 'complete' : status === 'Failed' ? 'fail' : 'wait'] })
          : await env.client.workflow.start(visUpserter, opts);
      m.runId = handle.firstExecutionRunId;
      models.push(m);
      handles.set(m.workflowId, handle);
    }
    // Settle every execution into its planned status.
    for (const m of models) {
      const handle = handles.get(m.workflowId)!;
      if (m.status === 'Terminated' || (m.status === 'Failed' && m.workflowType === 'visUpserter')) {
        m.status = 'Terminated';
        await handle.terminate('planned');
      } else if (m.status === 'Completed') {
        if (m.workflowType === 'visUpserter') await handle.signal(finishSignal);
        await handle.result();
      } else if (m.status === 'Failed') {
        await assert.rejects(handle.result());
      }
    }
    for (const m of models) {
      const d = await handles.get(m.workflowId)!.describe();
      assert.equal(d.status.name, m.status.toUpperCase(), m.workflowId);
      m.startTime = d.startTime.getTime();
    }
  });

  test('~40 generated queries (comparisons, IN, BETWEEN, STARTS_WITH, IS NULL, AND/OR, parentheses, ORDER BY) match the brute-force filter', async () => {
    const queries = generateQueries(models, 42, 7);
    let nonEmpty = 0;
    let partial = 0;
    let ordered = 0;
    for (const q of queries) {
      const query = `VisBatch = ${quote(batch)} AND (${q.where})${q.order ? ` ORDER BY ${q.order.attr} ${q.order.dir}` : ''}`;
      const expected = models.filter(q.test);
      const got = await listAll(query);
      const gotIds = got.map((e) => e.workflowId);
      assert.equal(new Set(gotIds).size, gotIds.length, `duplicates for ${query}`);
      assert.deepEqual([...gotIds].sort(), expected.map((m) => m.workflowId).sort(), `query: ${query}`);
      if (q.order) {
        const byId = new Map(models.map((m) => [m.workflowId, m]));
        const keys = gotIds.map((id) => q.order!.key(byId.get(id)!) ?? null);
        assert.deepEqual(keys, expectedKeys(expected, q.order.key, q.order.dir), `order: ${query}`);
        if (expected.length > 1) ordered++;
      }
      if (expected.length) nonEmpty++;
      if (expected.length && expected.length < models.length) partial++;
    }
    // The generated set is not degenerate: most queries select something, and most select a proper subset.
    assert.ok(nonEmpty >= 25, `only ${nonEmpty} queries matched anything`);
    assert.ok(partial >= 20, `only ${partial} queries selected a proper subset`);
    assert.ok(ordered >= 8, `only ${ordered} ordered queries with more than one result`);
    await assertReplays(handles.get(models[0].workflowId)!, WF);
  });

  test('count matches the filter, with and without GROUP BY ExecutionStatus', async () => {
    const { env } = h();
    const all = await env.client.workflow.count(`VisBatch = ${quote(batch)}`);
    assert.equal(all.count, 60);
    for (const q of generateQueries(models, 10, 99)) {
      const res = await env.client.workflow.count(`VisBatch = ${quote(batch)} AND (${q.where})`);
      assert.equal(res.count, models.filter(q.test).length, q.where);
    }
    const grouped = await env.client.workflow.count(`VisBatch = ${quote(batch)} GROUP BY ExecutionStatus`);
    assert.equal(grouped.count, 60);
    const got = Object.fromEntries(grouped.groups.map((g) => [String(g.groupValues[0]), g.count]));
    const want: Record<string, number> = {};
    for (const m of models) want[m.status] = (want[m.status] ?? 0) + 1;
    assert.deepEqual(got, want);
    const running = await env.client.workflow.count(`VisBatch = ${quote(batch)} AND ExecutionStatus = 'Running' GROUP BY ExecutionStatus`);
    // The SDK decodes each group value with the legacy search-attribute converter, which wraps it in an array.
    assert.deepEqual(running.groups.map((g) => [g.groupValues, g.count]), [[[['Running']], want.Running]]);
    await assertReplays(handles.get(models[1].workflowId)!, WF);
  });

  test('raw ListWorkflowExecutions pages through small pages without gaps or repeats, in ORDER BY order', async () => {
    const { env } = h();
    for (const [query, pageSize] of [
      [`VisBatch = ${quote(batch)} ORDER BY VisSeq ASC`, 7],
      [`VisBatch = ${quote(batch)} ORDER BY VisSeq DESC`, 13],
      [`VisBatch = ${quote(batch)}`, 1],
    ] as const) {
      const seqs: number[] = [];
      const ids: string[] = [];
      let token: Uint8Array | undefined;
      let pages = 0;
      do {
        const res = await env.client.workflowService.listWorkflowExecutions({ namespace: NS, query, pageSize, nextPageToken: token });
        pages++;
        assert.ok((res.executions?.length ?? 0) <= pageSize);
        for (const e of res.executions ?? []) {
          ids.push(e.execution!.workflowId!);
          seqs.push(models.find((m) => m.workflowId === e.execution!.workflowId)!.seq);
        }
        token = res.nextPageToken?.length ? res.nextPageToken : undefined;
        assert.ok(pages <= 61, 'paging does not end');
      } while (token);
      assert.equal(ids.length, 60, query);
      assert.equal(new Set(ids).size, 60, query);
      assert.ok(pages >= Math.ceil(60 / pageSize) && pages <= Math.ceil(60 / pageSize) + 1, `${pages} pages for ${query}`);
      if (query.endsWith('ASC')) assert.deepEqual(seqs, Array.from({ length: 60 }, (_, i) => i));
      if (query.endsWith('DESC')) assert.deepEqual(seqs, Array.from({ length: 60 }, (_, i) => 59 - i));
    }
    // Executions started between pages (newer, so ahead of the cursor in the default StartTime DESC order)
    // neither repeat nor push out the ones still to come.
    const { taskQueue } = h();
    const late = `${batch}-late`;
    const query = `VisBatch IN (${quote(batch)}, ${quote(late)})`;
    const ids: string[] = [];
    let token: Uint8Array | undefined;
    const extra: WorkflowHandle[] = [];
    do {
      const res = await env.client.workflowService.listWorkflowExecutions({ namespace: NS, query, pageSize: 8, nextPageToken: token });
      ids.push(...(res.executions ?? []).map((e) => e.execution!.workflowId!));
      token = res.nextPageToken?.length ? res.nextPageToken : undefined;
      if (token) {
        extra.push(
          await env.client.workflow.start(visTarget, {
            taskQueue,
            workflowId: `vis-${late}-${extra.length}`,
            args: ['complete'],
            typedSearchAttributes: [{ key: VisBatch, value: late }],
          }),
        );
      }
    } while (token);
    assert.deepEqual([...ids].sort(), models.map((m) => m.workflowId).sort());
    for (const x of extra) await x.result();
    assert.equal((await env.client.workflow.count(query)).count, 60 + extra.length);
    await assertReplays(handles.get(models[2].workflowId)!, WF);
  });

  test('a malformed query answers INVALID_ARGUMENT naming the offending token and its position', async () => {
    const { env } = h();
    const cases: Array<[string, string, number]> = [
      ['VisInt >', '', 8],
      ['VisInt = 1 AND', '', 14],
      ['VisInt === 3', '"="', 8],
      ["VisKeyword = 'x' ORDER VisInt", '"VisInt"', 23],
      ['NoSuchAttribute = 1', '"NoSuchAttribute"', 0],
      ["VisInt = 'abc'", "'abc'", 9],
      ["VisKeyword = 'a' )", '")"', 17],
    ];
    for (const [query, token, position] of cases) {
      for (const call of [
        () => env.client.workflowService.listWorkflowExecutions({ namespace: NS, query }),
        () => env.client.workflowService.countWorkflowExecutions({ namespace: NS, query }),
      ]) {
        await assert.rejects(call(), (e: { code?: number; details?: string }) => {
          assert.equal(e.code, 3, `${query}: code ${e.code}`);
          assert.match(e.details ?? '', new RegExp(`position ${position}\\b`), `${query}: ${e.details}`);
          if (token) assert.ok(e.details!.includes(token), `${query}: ${e.details}`);
          else assert.match(e.details!, /end of query/);
          return true;
        });
      }
    }
    // The SDK's list() surfaces the same rejection.
    await assert.rejects(listAll('VisInt >'), (e: Error & { cause?: { code?: number } }) => (e.cause?.code ?? (e as { code?: number }).code) === 3);
    await assertReplays(handles.get(models[3].workflowId)!, WF);
  });

  test('describe() and list() decode typed search attributes and memo as they were set at start', async () => {
    const { env } = h();
    const listed = new Map((await listAll(`VisBatch = ${quote(batch)}`)).map((e) => [e.workflowId, e]));
    for (const m of models.filter((x) => x.seq % 7 === 0 || x.int === undefined)) {
      for (const info of [await handles.get(m.workflowId)!.describe(), listed.get(m.workflowId)!]) {
        const sa = info.typedSearchAttributes;
        assert.equal(sa.get(VisBatch), batch);
        assert.equal(sa.get(VisKeyword), m.keyword);
        assert.equal(sa.get(VisText), m.text);
        assert.equal(sa.get(VisInt), m.int);
        assert.equal(sa.get(VisDouble), m.double);
        assert.equal(sa.get(VisBool), m.bool);
        assert.equal(sa.get(VisDatetime)?.getTime(), m.datetime);
        assert.ok(m.datetime === undefined || sa.get(VisDatetime) instanceof Date);
        assert.deepEqual(sa.get(VisKeywordList), m.keywords);
        assert.equal(sa.get(VisSeq), m.seq);
        assert.equal(sa.get(LaunchTeam), m.team);
        assert.equal(sa.get(LaunchScore), m.score);
        assert.deepEqual(info.memo, { seq: m.seq });
        assert.equal(info.type, m.workflowType);
        assert.equal(info.status.name, m.status.toUpperCase());
      }
    }
    await assertReplays(handles.get(models[4].workflowId)!, WF);
  });
});

describe('visibility: workflow-side upserts and memo', { timeout: 60_000 }, () => {
  before(() => registerAttributes());

  test('upsertSearchAttributes and upsertMemo in workflow code are visible to list queries and describe()', async () => {
    const { env, taskQueue, nextId } = h();
    const workflowId = nextId('upserter');
    const memo = { owner: 'ml-platform', config: { threshold: 0.7, tags: ['a', 'b'] } };
    const handle = await env.client.workflow.start(visUpserter, {
      taskQueue,
      workflowId,
      memo,
      typedSearchAttributes: [{ key: VisKeyword, value: 'upsert-target' }],
    });
    const ids = async (where: string) => (await listAll(`WorkflowId = ${quote(workflowId)} AND ${where}`)).map((e) => e.workflowId);
    assert.deepEqual(await ids('VisInt = 42'), []);
    assert.deepEqual(await ids('VisInt IS NULL'), [workflowId]);

    assert.equal(await handle.executeUpdate(upsertUpdate, { args: [{ int: 42, keywords: ['x', 'y'], memo: { stage: 'approved' } }] }), 'upserted');
    assert.deepEqual(await ids('VisInt = 42'), [workflowId]);
    assert.deepEqual(await ids(`VisKeywordList = 'y' AND VisKeyword = 'upsert-target'`), [workflowId]);
    let d = await handle.describe();
    assert.equal(d.typedSearchAttributes.get(VisInt), 42);
    assert.deepEqual(d.typedSearchAttributes.get(VisKeywordList), ['x', 'y']);
    assert.equal(d.typedSearchAttributes.get(VisKeyword), 'upsert-target');
    assert.deepEqual(d.memo, { ...memo, stage: 'approved' });

    // Upserting null removes the attribute; the memo keeps its other fields.
    await handle.executeUpdate(upsertUpdate, { args: [{ int: null, memo: { owner: 'ops' } }] });
    assert.deepEqual(await ids('VisInt = 42'), []);
    assert.deepEqual(await ids('VisInt IS NULL'), [workflowId]);
    d = await handle.describe();
    assert.equal(d.typedSearchAttributes.get(VisInt), undefined);
    assert.deepEqual(d.memo, { ...memo, owner: 'ops', stage: 'approved' });
    const [listed] = await listAll(`WorkflowId = ${quote(workflowId)}`);
    assert.deepEqual(listed.memo, { ...memo, owner: 'ops', stage: 'approved' });

    await handle.signal(finishSignal);
    assert.equal(await handle.result(), 'done');
    assert.deepEqual(await ids(`ExecutionStatus = 'Completed' AND VisKeywordList = 'x'`), [workflowId]);
    const types = ((await handle.fetchHistory()).events ?? []).map((e) => e.eventType);
    const E = temporal.api.enums.v1.EventType;
    assert.equal(types.filter((t) => t === E.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES).length, 2);
    assert.equal(types.filter((t) => t === E.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED).length, 2);
    await assertReplays(handle, WF);
  });

  test('search attributes of an unregistered name or the wrong type are rejected at start with INVALID_ARGUMENT', async () => {
    const { env, taskQueue, nextId } = h();
    await assert.rejects(
      env.client.workflow.start(visTarget, {
        taskQueue,
        workflowId: nextId('bad-sa'),
        args: ['complete'],
        typedSearchAttributes: [{ key: defineSearchAttributeKey('NeverRegistered', 'KEYWORD'), value: 'x' }],
      }),
      (e: Error & { cause?: { code?: number } }) => e.cause?.code === 3 || (e as { code?: number }).code === 3,
    );
    await assert.rejects(
      env.client.workflow.start(visTarget, {
        taskQueue,
        workflowId: nextId('bad-sa'),
        args: ['complete'],
        searchAttributes: { VisInt: ['not a number'] } as never,
      }),
      (e: Error & { cause?: { code?: number } }) => e.cause?.code === 3 || (e as { code?: number }).code === 3,
    );
    // A good start under the same attributes works and lists.
    const ok = await env.client.workflow.start(visTarget, {
      taskQueue,
      workflowId: nextId('good-sa'),
      args: ['complete'],
      typedSearchAttributes: [{ key: LaunchTeam, value: 'team-z' }],
    });
    assert.equal(await ok.result(), 'complete');
    assert.deepEqual((await listAll(`LaunchTeam = 'team-z'`)).map((e) => e.workflowId), [ok.workflowId]);
    await assertReplays(ok, WF);
  });
});

replaysEveryRun(h, WF);
