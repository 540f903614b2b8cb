/**
 * The visibility query language of `ListWorkflowExecutions` / `CountWorkflowExecutions`: a tokenizer and a
 * recursive-descent parser for Temporal's SQL-like WHERE clause (plus ORDER BY and GROUP BY), type-checked against
 * a search-attribute registry, and an evaluator over in-memory visibility records.
 *
 * Semantics follow the Go server's query converter (`common/persistence/visibility/store/query/converter.go`) and
 * its SQLite store, which is what `temporal server start-dev` runs:
 * - Operators per type: Keyword takes comparisons, IN, BETWEEN and STARTS_WITH; Int, Double, Datetime take
 *   comparisons, IN and BETWEEN; Bool comparisons and IN; KeywordList `=`, `!=`, IN, NOT IN; Text `=` and `!=`.
 *   IS [NOT] NULL works on every attribute. NOT negates any condition.
 * - A missing attribute makes a comparison unknown (SQL NULL), and NOT of unknown stays unknown, so
 *   `NOT CustomIntField = 1` does not match executions without CustomIntField. KeywordList and Text conditions are
 *   SQLite full-text subqueries (`rowid [NOT] IN (…)`), so for them a missing attribute is plainly false for `=`/IN
 *   and true for `!=`/NOT IN.
 * - KeywordList `=` means "contains", IN "contains any". Text `=` matches when any token of the value occurs in the
 *   attribute (tokens: runs of letters and digits, case-insensitive), a simplification of full-text search.
 * - ExecutionStatus takes status names (`'Running'`) or numbers; Datetime takes RFC 3339 strings or integer
 *   nanoseconds; ExecutionDuration takes integer nanoseconds or durations such as `'1h30m'`, `'1.5s'` or `'01:30:00'`.
 * - Strings compare by code point (SQLite's BINARY collation on UTF-8); STARTS_WITH is case-sensitive.
 * - ORDER BY (which only the Elasticsearch store accepts upstream) sorts missing values last in either direction.
 *   Ties, and the default order, end with RunId ascending; the default order is StartTime DESC.
 */
import type { temporal } from '@temporalio/proto';
import type { IndexedValueType, SearchAttributeRegistry, TypedSearchAttribute } from './search-attributes';
import { encodeSearchAttribute, parseRfc3339 } from './search-attributes';

type IPayload = temporal.api.common.v1.IPayload;

/** Workflow execution statuses by name, with their `temporal.api.enums.v1.WorkflowExecutionStatus` numbers. */
export const ExecutionStatus = {
  Running: 1,
  Completed: 2,
  Failed: 3,
  Canceled: 4,
  Terminated: 5,
  ContinuedAsNew: 6,
  TimedOut: 7,
  Paused: 8,
} as const;
export type ExecutionStatusName = keyof typeof ExecutionStatus;
const STATUS_NAMES: readonly ExecutionStatusName[] = Object.keys(ExecutionStatus) as ExecutionStatusName[];
const STATUS_BY_NUMBER = new Map<number, ExecutionStatusName>(STATUS_NAMES.map((n) => [ExecutionStatus[n], n]));
const STATUS_PROTO_PREFIX = 'WORKFLOW_EXECUTION_STATUS_';

/** One execution as visibility sees it. Times are epoch milliseconds. */
export interface VisibilityRecord {
  namespace: string;
  workflowId: string;
  runId: string;
  workflowType: string;
  taskQueue: string;
  status: ExecutionStatusName;
  startTime: number;
  executionTime: number;
  closeTime?: number;
  historyLength: number;
  historySizeBytes: number;
  stateTransitionCount?: number;
  parentWorkflowId?: string;
  parentRunId?: string;
  rootWorkflowId?: string;
  rootRunId?: string;
  memo?: unknown;
  /** Custom and predefined attributes; values as `decodeSearchAttributes` gives them (Datetime in epoch ms). */
  searchAttributes: Map<string, TypedSearchAttribute>;
}

// ---------------------------------------------------------------------------------------------------------------
// Errors

/** A query that does not parse or type-check; the server answers INVALID_ARGUMENT with `message`. */
export class QueryError extends Error {
  constructor(
    message: string,
    /** The offending token as written ('' at the end of the query). */
    readonly token: string,
    /** 0-based character offset of that token in the query text. */
    readonly position: number,
  ) {
    super(message);
    this.name = 'QueryError';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Tokens

type TokenKind = 'ident' | 'string' | 'number' | 'keyword' | 'op' | 'sign' | '(' | ')' | ',' | 'unknown' | 'eof';

interface Token {
  kind: TokenKind;
  /** Source text of the token. */
  text: string;
  pos: number;
  /** ident: the name; string: unescaped contents; keyword: upper case; op: normalized (`<>` → `!=`). */
  value: string;
  /** For numbers: whether it is written as an integer. */
  integer?: boolean;
}

const KEYWORDS = new Set([
  'AND', 'OR', 'NOT', 'IN', 'BETWEEN', 'IS', 'NULL', 'STARTS_WITH', 'ORDER', 'GROUP', 'BY', 'ASC', 'DESC', 'TRUE',
  'FALSE', 'LIMIT', 'LIKE', 'WHERE', 'SELECT', 'FROM', 'HAVING', 'OFFSET',
]);

const STRING_ESCAPES: Record<string, string> = { '0': '\0', b: '\b', n: '\n', r: '\r', t: '\t', Z: '\x1a' };

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
}
function isIdentPart(c: number): boolean {
  return isIdentStart(c) || (c >= 48 && c <= 57);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src.charCodeAt(i);
    if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12) {
      i++;
      continue;
    }
    const start = i;
    const ch = src[i];
    if (ch === "'" || ch === '"') {
      let value = '';
      i++;
      let closed = false;
      while (i < n) {
        const d = src[i];
        if (d === '\\' && i + 1 < n) {
          const e = src[i + 1];
          value += STRING_ESCAPES[e] ?? e;
          i += 2;
        } else if (d === ch) {
          if (src[i + 1] === ch) {
            value += ch;
            i += 2;
          } else {
            i++;
            closed = true;
            break;
          }
        } else {
          value += d;
          i++;
        }
      }
      if (!closed) {
        throw new QueryError(
          `invalid query: unterminated string starting at position ${start}`,
          src.slice(start),
          start,
        );
      }
      tokens.push({ kind: 'string', text: src.slice(start, i), pos: start, value });
      continue;
    }
    if (ch === '`') {
      let value = '';
      i++;
      let closed = false;
      while (i < n) {
        if (src[i] === '`') {
          if (src[i + 1] === '`') {
            value += '`';
            i += 2;
            continue;
          }
          i++;
          closed = true;
          break;
        }
        value += src[i++];
      }
      if (!closed) {
        throw new QueryError(
          `invalid query: unterminated quoted name starting at position ${start}`,
          src.slice(start),
          start,
        );
      }
      if (value === '') throw new QueryError(`invalid query: empty quoted name at position ${start}`, '``', start);
      tokens.push({ kind: 'ident', text: src.slice(start, i), pos: start, value });
      continue;
    }
    if (isDigit(c) || (ch === '.' && isDigit(src.charCodeAt(i + 1)))) {
      while (i < n && isDigit(src.charCodeAt(i))) i++;
      let integer = true;
      if (src[i] === '.') {
        integer = false;
        i++;
        while (i < n && isDigit(src.charCodeAt(i))) i++;
      }
      if ((src[i] === 'e' || src[i] === 'E') && (isDigit(src.charCodeAt(i + 1)) || ((src[i + 1] === '+' || src[i + 1] === '-') && isDigit(src.charCodeAt(i + 2))))) {
        integer = false;
        i += 2;
        while (i < n && isDigit(src.charCodeAt(i))) i++;
      }
      // `1abc` is neither a number nor a name.
      if (i < n && isIdentPart(src.charCodeAt(i))) {
        while (i < n && isIdentPart(src.charCodeAt(i))) i++;
        tokens.push({ kind: 'unknown', text: src.slice(start, i), pos: start, value: src.slice(start, i) });
        continue;
      }
      const text = src.slice(start, i);
      tokens.push({ kind: 'number', text, pos: start, value: text, integer });
      continue;
    }
    if (isIdentStart(c)) {
      while (i < n && isIdentPart(src.charCodeAt(i))) i++;
      const text = src.slice(start, i);
      const upper = text.toUpperCase();
      if (KEYWORDS.has(upper)) tokens.push({ kind: 'keyword', text, pos: start, value: upper });
      else tokens.push({ kind: 'ident', text, pos: start, value: text });
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '<=' || two === '>=' || two === '!=' || two === '<>') {
      i += 2;
      tokens.push({ kind: 'op', text: two, pos: start, value: two === '<>' ? '!=' : two });
      continue;
    }
    if (ch === '=' || ch === '<' || ch === '>') {
      i++;
      tokens.push({ kind: 'op', text: ch, pos: start, value: ch });
      continue;
    }
    if (ch === '-' || ch === '+') {
      i++;
      tokens.push({ kind: 'sign', text: ch, pos: start, value: ch });
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',') {
      i++;
      tokens.push({ kind: ch, text: ch, pos: start, value: ch });
      continue;
    }
    // Anything else becomes a token of its own so that the parser can say what it expected instead.
    const cp = src.codePointAt(i) ?? c;
    i += cp > 0xffff ? 2 : 1;
    tokens.push({ kind: 'unknown', text: src.slice(start, i), pos: start, value: src.slice(start, i) });
  }
  tokens.push({ kind: 'eof', text: '', pos: n, value: '' });
  return tokens;
}

// ---------------------------------------------------------------------------------------------------------------
// AST

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

/** A search attribute as used in the query, resolved against the registry. */
export interface AttrRef {
  name: string;
  type: IndexedValueType;
  position: number;
}

/**
 * Literal values, normalized per attribute: strings for Keyword/Text/KeywordList, numbers for Int/Double, booleans
 * for Bool, epoch milliseconds for Datetime, status numbers for ExecutionStatus, nanoseconds for ExecutionDuration.
 */
export type Literal = string | number | boolean;

export type Expr =
  | { kind: 'and'; left: Expr; right: Expr }
  | { kind: 'or'; left: Expr; right: Expr }
  | { kind: 'not'; expr: Expr }
  | { kind: 'compare'; attr: AttrRef; op: CompareOp; value: Literal }
  | { kind: 'in'; attr: AttrRef; negated: boolean; values: Literal[] }
  | { kind: 'between'; attr: AttrRef; negated: boolean; low: Literal; high: Literal }
  | { kind: 'startsWith'; attr: AttrRef; negated: boolean; prefix: string }
  | { kind: 'isNull'; attr: AttrRef; negated: boolean };

export interface OrderBy {
  attr: string;
  desc: boolean;
}

export interface ParsedQuery {
  where?: Expr;
  orderBy: OrderBy[];
  groupBy: string[];
  /** Where the GROUP BY clause starts, so that list queries can point at it when refusing it. */
  groupByPosition?: number;
}

// ---------------------------------------------------------------------------------------------------------------
// Parser

type Operator = CompareOp | 'IN' | 'BETWEEN' | 'STARTS_WITH';

const COMPARISONS: readonly CompareOp[] = ['=', '!=', '<', '<=', '>', '>='];
const OPS_BY_TYPE: Record<IndexedValueType, ReadonlySet<Operator>> = {
  Keyword: new Set<Operator>([...COMPARISONS, 'IN', 'BETWEEN', 'STARTS_WITH']),
  Int: new Set<Operator>([...COMPARISONS, 'IN', 'BETWEEN']),
  Double: new Set<Operator>([...COMPARISONS, 'IN', 'BETWEEN']),
  Datetime: new Set<Operator>([...COMPARISONS, 'IN', 'BETWEEN']),
  Bool: new Set<Operator>([...COMPARISONS, 'IN']),
  KeywordList: new Set<Operator>(['=', '!=', 'IN']),
  Text: new Set<Operator>(['=', '!=']),
};

const EXPECT_OPERATOR = 'an operator (=, !=, <, <=, >, >=, IN, NOT IN, BETWEEN, STARTS_WITH, IS NULL)';
const EXPECT_CONDITION = 'a search attribute name, "(" or NOT';
const EXPECT_AFTER_CONDITION = 'AND, OR, ORDER BY, GROUP BY or the end of the query';

class Parser {
  private i = 0;

  constructor(
    private readonly tokens: Token[],
    private readonly registry: SearchAttributeRegistry,
  ) {}

  private peek(): Token {
    return this.tokens[this.i];
  }
  private next(): Token {
    return this.tokens[this.i++];
  }
  private isKeyword(word: string, offset = 0): boolean {
    const t = this.tokens[this.i + offset];
    return t !== undefined && t.kind === 'keyword' && t.value === word;
  }
  private unexpected(tok: Token, expected: string): QueryError {
    if (tok.kind === 'eof') {
      return new QueryError(`invalid query: unexpected end of query at position ${tok.pos}, expected ${expected}`, '', tok.pos);
    }
    return new QueryError(
      `invalid query: unexpected token ${JSON.stringify(tok.text)} at position ${tok.pos}, expected ${expected}`,
      tok.text,
      tok.pos,
    );
  }
  private expectKeyword(word: string, expected = word): Token {
    const t = this.peek();
    if (!this.isKeyword(word)) throw this.unexpected(t, expected);
    return this.next();
  }

  parse(): ParsedQuery {
    const result: ParsedQuery = { orderBy: [], groupBy: [] };
    if (!this.isKeyword('ORDER') && !this.isKeyword('GROUP') && this.peek().kind !== 'eof') {
      result.where = this.parseOr();
    }
    if (this.isKeyword('GROUP')) {
      const groupTok = this.next();
      result.groupByPosition = groupTok.pos;
      this.expectKeyword('BY', 'BY after GROUP');
      const attr = this.parseAttr('a search attribute name');
      if (attr.name !== 'ExecutionStatus') {
        throw new QueryError(
          `invalid query: GROUP BY is only supported for ExecutionStatus, got ${JSON.stringify(attr.name)} at position ${attr.position}`,
          this.tokens[this.i - 1].text,
          attr.position,
        );
      }
      result.groupBy.push(attr.name);
      const comma = this.peek();
      if (comma.kind === ',') {
        throw new QueryError(
          `invalid query: GROUP BY supports only a single field, got "," at position ${comma.pos}`,
          ',',
          comma.pos,
        );
      }
    }
    if (this.isKeyword('ORDER')) {
      this.next();
      this.expectKeyword('BY', 'BY after ORDER');
      for (;;) {
        const attrTok = this.peek();
        const attr = this.parseAttr('a search attribute name');
        if (attr.type === 'Text') {
          throw new QueryError(
            `invalid query: cannot ORDER BY ${attr.name}: attributes of type Text are not sortable (at position ${attr.position})`,
            attrTok.text,
            attr.position,
          );
        }
        let desc = false;
        if (this.isKeyword('DESC')) {
          this.next();
          desc = true;
        } else if (this.isKeyword('ASC')) {
          this.next();
        }
        result.orderBy.push({ attr: attr.name, desc });
        if (this.peek().kind !== ',') break;
        this.next();
      }
    }
    const t = this.peek();
    if (t.kind !== 'eof') {
      if (this.isKeyword('LIMIT') || this.isKeyword('OFFSET') || this.isKeyword('HAVING')) {
        throw new QueryError(
          `invalid query: ${t.value} is not supported (at position ${t.pos}); use the page size and page token instead`,
          t.text,
          t.pos,
        );
      }
      if (this.isKeyword('GROUP') && result.orderBy.length > 0) {
        throw this.unexpected(t, 'the end of the query (GROUP BY must come before ORDER BY)');
      }
      const expected =
        result.orderBy.length > 0
          ? '",", ASC, DESC or the end of the query'
          : result.groupBy.length > 0
            ? 'ORDER BY or the end of the query'
            : EXPECT_AFTER_CONDITION;
      throw this.unexpected(t, expected);
    }
    return result;
  }

  private parseOr(): Expr {
    let left = this.parseAnd();
    while (this.isKeyword('OR')) {
      this.next();
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): Expr {
    let left = this.parseNot();
    while (this.isKeyword('AND')) {
      this.next();
      left = { kind: 'and', left, right: this.parseNot() };
    }
    return left;
  }

  private parseNot(): Expr {
    if (this.isKeyword('NOT')) {
      this.next();
      return { kind: 'not', expr: this.parseNot() };
    }
    if (this.peek().kind === '(') {
      this.next();
      const inner = this.parseOr();
      const close = this.peek();
      if (close.kind !== ')') throw this.unexpected(close, '")" or AND, OR');
      this.next();
      return inner;
    }
    return this.parsePredicate();
  }

  private parseAttr(expected: string): AttrRef {
    const t = this.peek();
    if (t.kind !== 'ident') throw this.unexpected(t, expected);
    this.next();
    const type = this.registry.typeOf(t.value);
    if (type === undefined) {
      throw new QueryError(
        `invalid query: unknown search attribute ${JSON.stringify(t.value)} at position ${t.pos}`,
        t.text,
        t.pos,
      );
    }
    return { name: t.value, type, position: t.pos };
  }

  private parsePredicate(): Expr {
    const attr = this.parseAttr(EXPECT_CONDITION);
    const opTok = this.peek();

    if (this.isKeyword('IS')) {
      this.next();
      let negated = false;
      if (this.isKeyword('NOT')) {
        this.next();
        negated = true;
      }
      this.expectKeyword('NULL', negated ? 'NULL' : 'NULL or NOT NULL');
      return { kind: 'isNull', attr, negated };
    }

    let negated = false;
    if (this.isKeyword('NOT')) {
      this.next();
      negated = true;
      const t = this.peek();
      if (!this.isKeyword('IN') && !this.isKeyword('BETWEEN') && !this.isKeyword('STARTS_WITH')) {
        throw this.unexpected(t, 'IN, BETWEEN or STARTS_WITH after NOT');
      }
    }
    const t = this.peek();
    if (t.kind === 'op') {
      this.next();
      const op = t.value as CompareOp;
      this.checkOperator(attr, op, t);
      const value = this.parseValue(attr);
      return { kind: 'compare', attr, op, value };
    }
    if (this.isKeyword('IN')) {
      this.next();
      this.checkOperator(attr, 'IN', t, negated);
      const open = this.peek();
      if (open.kind !== '(') throw this.unexpected(open, '"(" after IN');
      this.next();
      const values: Literal[] = [this.parseValue(attr)];
      while (this.peek().kind === ',') {
        this.next();
        values.push(this.parseValue(attr));
      }
      const close = this.peek();
      if (close.kind !== ')') throw this.unexpected(close, '"," or ")"');
      this.next();
      return { kind: 'in', attr, negated, values };
    }
    if (this.isKeyword('BETWEEN')) {
      this.next();
      this.checkOperator(attr, 'BETWEEN', t, negated);
      const low = this.parseValue(attr);
      this.expectKeyword('AND', 'AND in BETWEEN … AND …');
      const high = this.parseValue(attr);
      return { kind: 'between', attr, negated, low, high };
    }
    if (this.isKeyword('STARTS_WITH')) {
      this.next();
      this.checkOperator(attr, 'STARTS_WITH', t, negated);
      const v = this.peek();
      if (v.kind !== 'string') throw this.unexpected(v, 'a string after STARTS_WITH');
      const prefix = this.parseValue(attr);
      return { kind: 'startsWith', attr, negated, prefix: String(prefix) };
    }
    if (this.isKeyword('LIKE')) {
      throw new QueryError(
        `invalid query: operator LIKE is not supported (at position ${t.pos}); use STARTS_WITH`,
        t.text,
        t.pos,
      );
    }
    throw this.unexpected(opTok, EXPECT_OPERATOR);
  }

  private checkOperator(attr: AttrRef, op: Operator, tok: Token, negated = false): void {
    // Statuses are stored as numbers (as in the SQL stores), so a prefix of one means nothing.
    const statusPrefix = op === 'STARTS_WITH' && attr.name === 'ExecutionStatus';
    if (OPS_BY_TYPE[attr.type].has(op) && !statusPrefix) return;
    const shown = `${negated ? 'NOT ' : ''}${op}`;
    throw new QueryError(
      `invalid query: operator ${shown} is not supported for search attribute ${attr.name} of type ${attr.type} (at position ${tok.pos})`,
      tok.text,
      tok.pos,
    );
  }

  /** Reads one literal and converts it to the attribute's domain. */
  private parseValue(attr: AttrRef): Literal {
    const t = this.peek();
    let sign = '';
    if (t.kind === 'sign') {
      const num = this.tokens[this.i + 1];
      if (num.kind !== 'number') throw this.unexpected(num, 'a number after the sign');
      this.next();
      sign = t.value;
    }
    const v = this.next();
    const start = sign ? t : v;
    const shown = sign ? `${sign}${v.text}` : v.text;
    switch (v.kind) {
      case 'string':
        return this.convert(attr, { kind: 'string', text: v.value }, shown, start.pos);
      case 'number': {
        const num = Number(v.value) * (sign === '-' ? -1 : 1);
        return this.convert(attr, { kind: 'number', num, integer: v.integer === true, text: sign === '-' ? `-${v.value}` : v.value }, shown, start.pos);
      }
      case 'keyword':
        if (v.value === 'TRUE' || v.value === 'FALSE') {
          return this.convert(attr, { kind: 'bool', bool: v.value === 'TRUE' }, shown, start.pos);
        }
        if (v.value === 'NULL') {
          throw new QueryError(
            `invalid query: unexpected token ${JSON.stringify(v.text)} at position ${v.pos}, expected a value (use IS NULL to test for a missing attribute)`,
            v.text,
            v.pos,
          );
        }
        throw this.unexpected(v, 'a value');
      case 'ident':
        throw new QueryError(
          `invalid query: unexpected token ${JSON.stringify(v.text)} at position ${v.pos}, expected a value (did you forget to quote ${JSON.stringify(v.text)}?)`,
          v.text,
          v.pos,
        );
      default:
        throw this.unexpected(v, 'a value');
    }
  }

  private convert(attr: AttrRef, raw: RawValue, shown: string, pos: number): Literal {
    const bad = (expected: string): QueryError =>
      new QueryError(
        `invalid query: invalid value ${shown} for search attribute ${attr.name} of type ${attr.type} at position ${pos}, expected ${expected}`,
        shown,
        pos,
      );
    if (attr.name === 'ExecutionStatus') {
      if (raw.kind === 'string') {
        const name = raw.text.startsWith(STATUS_PROTO_PREFIX) ? protoStatusToName(raw.text) : raw.text;
        if (name !== undefined && Object.hasOwn(ExecutionStatus, name)) return ExecutionStatus[name as ExecutionStatusName];
      } else if (raw.kind === 'number' && raw.integer && STATUS_BY_NUMBER.has(raw.num)) {
        return raw.num;
      }
      throw bad(`one of ${STATUS_NAMES.join(', ')}`);
    }
    if (attr.name === 'ExecutionDuration') {
      if (raw.kind === 'number' && raw.integer) return raw.num;
      if (raw.kind === 'string') {
        const ns = parseDuration(raw.text);
        if (ns !== undefined) return ns;
      }
      throw bad("integer nanoseconds or a duration such as '1h30m', '1.5s' or '01:30:00'");
    }
    switch (attr.type) {
      case 'Keyword':
      case 'KeywordList':
        if (raw.kind === 'string') return raw.text;
        throw bad('a string');
      case 'Text':
        if (raw.kind !== 'string') throw bad('a string');
        if (textTokens(raw.text).length === 0) throw bad('a string with at least one word');
        return raw.text;
      case 'Int':
      case 'Double':
        if (raw.kind === 'number' && Number.isFinite(raw.num)) return raw.num;
        throw bad('a number');
      case 'Bool':
        if (raw.kind === 'bool') return raw.bool;
        throw bad('true or false');
      case 'Datetime':
        if (raw.kind === 'string') {
          const ms = parseRfc3339(raw.text);
          if (ms !== undefined) return ms;
          throw bad("an RFC 3339 timestamp such as '2024-05-01T12:00:00Z'");
        }
        if (raw.kind === 'number' && raw.integer) return nanosToMillis(raw.text);
        throw bad('an RFC 3339 timestamp string or integer nanoseconds since the epoch');
    }
  }
}

type RawValue =
  | { kind: 'string'; text: string }
  | { kind: 'number'; num: number; integer: boolean; text: string }
  | { kind: 'bool'; bool: boolean };

function protoStatusToName(proto: string): string | undefined {
  const rest = proto.slice(STATUS_PROTO_PREFIX.length);
  return STATUS_NAMES.find((n) => n.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() === rest);
}

/** Integer nanoseconds (as written, so no precision is lost before the division) to epoch ms, kept to the µs. */
function nanosToMillis(text: string): number {
  const big = BigInt(text);
  return Number(big / 1000n) / 1000;
}

const DURATION_UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  'µs': 1e3,
  'μs': 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
  d: 86400e9,
};
const GO_DURATION = /^[+-]?(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h|d))+$/;
const GO_DURATION_PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h|d)/g;

/**
 * A duration in nanoseconds: integer nanoseconds, Go duration syntax with the server's extra `d` unit
 * (`'1h30m'`, `'-1.5h'`, `'300ms'`), or `hh:mm:ss`. Undefined if it is none of those.
 */
export function parseDuration(text: string): number | undefined {
  if (/^[+-]?\d+$/.test(text)) return Number(text);
  if (GO_DURATION.test(text)) {
    let total = 0;
    for (const m of text.matchAll(GO_DURATION_PART)) total += Number(m[1]) * DURATION_UNITS[m[2]];
    return Math.round(text.startsWith('-') ? -total : total);
  }
  const hms = /^(\d+):([0-5]\d):([0-5]\d)$/.exec(text);
  if (hms) return (Number(hms[1]) * 3600 + Number(hms[2]) * 60 + Number(hms[3])) * 1e9;
  return undefined;
}

/** Parses and type-checks a visibility query. Throws {@link QueryError}. */
export function parseQuery(text: string, registry: SearchAttributeRegistry): ParsedQuery {
  if (typeof text !== 'string') throw new TypeError(`query: expected a string, got ${typeof text}`);
  return new Parser(tokenize(text), registry).parse();
}

// ---------------------------------------------------------------------------------------------------------------
// Values of a record

/** Comparable value of an attribute on a record: number, string, string[] (KeywordList), or undefined if absent. */
type Getter = (r: VisibilityRecord) => number | string | boolean | string[] | undefined;

const SYSTEM_GETTERS: Record<string, Getter> = {
  WorkflowId: (r) => r.workflowId,
  RunId: (r) => r.runId,
  WorkflowType: (r) => r.workflowType,
  TaskQueue: (r) => r.taskQueue,
  ExecutionStatus: (r) => ExecutionStatus[r.status],
  StartTime: (r) => r.startTime,
  ExecutionTime: (r) => r.executionTime,
  CloseTime: (r) => r.closeTime,
  // The Go server records close time minus execution time, in nanoseconds, once the execution has closed.
  ExecutionDuration: (r) => (r.closeTime === undefined ? undefined : Math.round((r.closeTime - r.executionTime) * 1e6)),
  HistoryLength: (r) => r.historyLength,
  HistorySizeBytes: (r) => r.historySizeBytes,
  StateTransitionCount: (r) => r.stateTransitionCount,
  ParentWorkflowId: (r) => r.parentWorkflowId,
  ParentRunId: (r) => r.parentRunId,
  RootWorkflowId: (r) => r.rootWorkflowId,
  RootRunId: (r) => r.rootRunId,
};

function getterFor(name: string): Getter {
  const system = SYSTEM_GETTERS[name];
  if (system) return system;
  return (r) => r.searchAttributes.get(name)?.value;
}

/**
 * Orders strings by Unicode code point, which is UTF-8 byte order (SQLite's BINARY collation), rather than by
 * UTF-16 code unit as `<` does: surrogates (U+D800–DFFF, standing for code points above U+FFFF) must sort after
 * U+E000–FFFF.
 */
export function compareStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        x = x >= 0xe000 ? x - 0x800 : x + 0x2000;
        y = y >= 0xe000 ? y - 0x800 : y + 0x2000;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

function compareScalars(a: number | string | boolean, b: number | string | boolean): number {
  if (typeof a === 'string' && typeof b === 'string') return compareStrings(a, b);
  const x = typeof a === 'boolean' ? Number(a) : a;
  const y = typeof b === 'boolean' ? Number(b) : b;
  if (typeof x === 'number' && typeof y === 'number') return x < y ? -1 : x > y ? 1 : 0;
  // Mixed kinds only arise from records that disagree with the registry; keep the order total anyway.
  return typeof x === 'number' ? -1 : 1;
}

const TOKEN_SPLIT = /[^\p{L}\p{N}]+/u;
function textTokens(text: string): string[] {
  return text.toLowerCase().split(TOKEN_SPLIT).filter((t) => t.length > 0);
}

// ---------------------------------------------------------------------------------------------------------------
// Evaluation (three-valued: SQL NULL semantics)

const F = 0;
const T = 1;
const U = 2;
type Truth = typeof F | typeof T | typeof U;
type Node = (r: VisibilityRecord) => Truth;

function cmpTruth(op: CompareOp, c: number): Truth {
  switch (op) {
    case '=':
      return c === 0 ? T : F;
    case '!=':
      return c !== 0 ? T : F;
    case '<':
      return c < 0 ? T : F;
    case '<=':
      return c <= 0 ? T : F;
    case '>':
      return c > 0 ? T : F;
    case '>=':
      return c >= 0 ? T : F;
  }
}

function compileNode(e: Expr): Node {
  switch (e.kind) {
    case 'and': {
      const l = compileNode(e.left);
      const r = compileNode(e.right);
      return (rec) => {
        const a = l(rec);
        if (a === F) return F;
        const b = r(rec);
        if (b === F) return F;
        return a === T && b === T ? T : U;
      };
    }
    case 'or': {
      const l = compileNode(e.left);
      const r = compileNode(e.right);
      return (rec) => {
        const a = l(rec);
        if (a === T) return T;
        const b = r(rec);
        if (b === T) return T;
        return a === F && b === F ? F : U;
      };
    }
    case 'not': {
      const inner = compileNode(e.expr);
      return (rec) => {
        const a = inner(rec);
        return a === U ? U : a === T ? F : T;
      };
    }
    case 'isNull': {
      const get = getterFor(e.attr.name);
      const when = e.negated ? F : T;
      const otherwise = e.negated ? T : F;
      return (rec) => (get(rec) === undefined ? when : otherwise);
    }
    case 'compare':
      return compileCompare(e.attr, e.op, e.value);
    case 'in':
      return compileIn(e.attr, e.values, e.negated);
    case 'between': {
      const get = getterFor(e.attr.name);
      const { low, high, negated } = e;
      return (rec) => {
        const v = get(rec);
        if (v === undefined || Array.isArray(v)) return U;
        const inside = compareScalars(v, low) >= 0 && compareScalars(v, high) <= 0;
        return inside !== negated ? T : F;
      };
    }
    case 'startsWith': {
      const get = getterFor(e.attr.name);
      const { prefix, negated } = e;
      return (rec) => {
        const v = get(rec);
        if (typeof v !== 'string') return U;
        return v.startsWith(prefix) !== negated ? T : F;
      };
    }
  }
}

function compileCompare(attr: AttrRef, op: CompareOp, value: Literal): Node {
  const get = getterFor(attr.name);
  if (attr.type === 'KeywordList') {
    const wanted = String(value);
    const positive = op === '=';
    return (rec) => {
      const v = get(rec);
      const has = Array.isArray(v) && v.includes(wanted);
      return has === positive ? T : F;
    };
  }
  if (attr.type === 'Text') {
    const wanted = new Set(textTokens(String(value)));
    const positive = op === '=';
    return (rec) => {
      const v = get(rec);
      const has = typeof v === 'string' && textTokens(v).some((t) => wanted.has(t));
      return has === positive ? T : F;
    };
  }
  return (rec) => {
    const v = get(rec);
    if (v === undefined || Array.isArray(v)) return U;
    return cmpTruth(op, compareScalars(v, value));
  };
}

function compileIn(attr: AttrRef, values: Literal[], negated: boolean): Node {
  const get = getterFor(attr.name);
  if (attr.type === 'KeywordList') {
    const wanted = new Set(values.map(String));
    return (rec) => {
      const v = get(rec);
      const has = Array.isArray(v) && v.some((x) => wanted.has(x));
      return has !== negated ? T : F;
    };
  }
  return (rec) => {
    const v = get(rec);
    if (v === undefined || Array.isArray(v)) return U;
    let found = false;
    for (const x of values) {
      if (compareScalars(v, x) === 0) {
        found = true;
        break;
      }
    }
    return found !== negated ? T : F;
  };
}

/** A predicate for the query's WHERE clause (everything matches when there is none). */
export function compile(parsed: ParsedQuery): (record: VisibilityRecord) => boolean {
  if (!parsed.where) return () => true;
  const node = compileNode(parsed.where);
  return (r) => node(r) === T;
}

// ---------------------------------------------------------------------------------------------------------------
// Ordering

/** The default order: newest first. */
export const DEFAULT_ORDER: readonly OrderBy[] = Object.freeze([{ attr: 'StartTime', desc: true }]);

/** A sort key component: null for a missing value (sorted last in both directions). */
export type SortValue = number | string | null;

/** Builds the function giving the values a record sorts by under `orderBy` (not including the final RunId). */
export function sortKeyFn(orderBy: readonly OrderBy[]): (record: VisibilityRecord) => SortValue[] {
  const getters = orderBy.map((o) => getterFor(o.attr));
  const desc = orderBy.map((o) => o.desc);
  const n = orderBy.length;
  return (record) => {
    const key: SortValue[] = new Array(n);
    for (let i = 0; i < n; i++) key[i] = toSortValue(getters[i](record), desc[i]);
    return key;
  };
}

function toSortValue(v: ReturnType<Getter>, desc: boolean): SortValue {
  if (v === undefined) return null;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (Array.isArray(v)) {
    // Like Elasticsearch on a multi-valued field: the smallest element ascending, the largest descending.
    if (v.length === 0) return null;
    let best = v[0];
    for (const x of v) if (desc ? compareStrings(x, best) > 0 : compareStrings(x, best) < 0) best = x;
    return best;
  }
  return v;
}

/** Compares two (key, runId) pairs under `orderBy`; RunId ascending breaks ties, so the order is total. */
export function compareSortKeys(
  a: readonly SortValue[],
  aRunId: string,
  b: readonly SortValue[],
  bRunId: string,
  orderBy: readonly OrderBy[],
): number {
  for (let i = 0; i < orderBy.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x === null) return 1;
    if (y === null) return -1;
    const c = typeof x === 'number' && typeof y === 'number' ? (x < y ? -1 : 1) : compareScalars(x, y);
    if (c !== 0) return orderBy[i].desc ? -c : c;
  }
  return compareStrings(aRunId, bRunId);
}

/** `orderBy` if given, else {@link DEFAULT_ORDER}. */
export function effectiveOrder(orderBy: readonly OrderBy[]): readonly OrderBy[] {
  return orderBy.length > 0 ? orderBy : DEFAULT_ORDER;
}

/** A sorted copy: by `orderBy` (default StartTime DESC), then RunId ascending. */
export function sortRecords(records: readonly VisibilityRecord[], orderBy: readonly OrderBy[]): VisibilityRecord[] {
  const order = effectiveOrder(orderBy);
  const key = sortKeyFn(order);
  const decorated = records.map((r) => ({ r, k: key(r) }));
  decorated.sort((a, b) => compareSortKeys(a.k, a.r.runId, b.k, b.r.runId, order));
  return decorated.map((d) => d.r);
}

// ---------------------------------------------------------------------------------------------------------------
// Counting

export interface CountGroup {
  groupValues: IPayload[];
  count: number;
}

/**
 * Groups for `CountWorkflowExecutionsResponse.groups`: one per status present, its value a `json/plain` Keyword
 * payload holding the status name as the Go server encodes it; largest group first, ties in status order.
 */
export function countGroups(records: readonly VisibilityRecord[], groupBy: readonly string[]): CountGroup[] {
  if (groupBy.length === 0) return [];
  if (groupBy.length !== 1 || groupBy[0] !== 'ExecutionStatus') {
    throw new RangeError(`groupBy: only ["ExecutionStatus"] is supported, got ${JSON.stringify(groupBy)}`);
  }
  const counts = new Map<ExecutionStatusName, number>();
  for (const r of records) counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || ExecutionStatus[a[0]] - ExecutionStatus[b[0]])
    .map(([status, count]) => ({
      groupValues: [encodeSearchAttribute('ExecutionStatus', 'Keyword', status)],
      count,
    }));
}
