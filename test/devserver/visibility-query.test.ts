import { test } from 'node:test';
import assert from 'node:assert/strict';
import { searchAttributePayloadConverter } from '@temporalio/common/lib/converter/payload-search-attributes';
import { SearchAttributeRegistry, type TypedSearchAttribute } from '../../devserver/visibility/search-attributes';
import {
  QueryError,
  compareStrings,
  compile,
  countGroups,
  parseDuration,
  parseQuery,
  sortRecords,
  type Expr,
  type VisibilityRecord,
} from '../../devserver/visibility/query';

const registry = new SearchAttributeRegistry();
registry.add('Tags', 'KeywordList');
registry.add('Model', 'Keyword');
registry.add('odd-name', 'Keyword');

const T0 = Date.UTC(2024, 4, 1, 12);

function rec(partial: Partial<VisibilityRecord> & { runId: string }, attrs: Record<string, TypedSearchAttribute> = {}): VisibilityRecord {
  return {
    namespace: 'default',
    workflowId: `wf-${partial.runId}`,
    workflowType: 'retrain',
    taskQueue: 'default',
    status: 'Running',
    startTime: T0,
    executionTime: T0,
    historyLength: 3,
    historySizeBytes: 300,
    searchAttributes: new Map(Object.entries(attrs)),
    ...partial,
  };
}

function matching(query: string, records: VisibilityRecord[]): string[] {
  const pred = compile(parseQuery(query, registry));
  return records.filter(pred).map((r) => r.runId).sort();
}

function queryError(query: string): QueryError {
  try {
    parseQuery(query, registry);
  } catch (e) {
    if (e instanceof QueryError) return e;
    throw e;
  }
  assert.fail(`expected ${JSON.stringify(query)} to be rejected`);
}

test('the parser accepts every construct of the query language', () => {
  const accepted = [
    '',
    '   ',
    "WorkflowId = 'a'",
    'WorkflowId = "a"',
    "WorkflowId != 'a'",
    "WorkflowId <> 'a'",
    "WorkflowId > 'a' and WorkflowId >= 'a' AnD WorkflowId < 'z' AND WorkflowId <= 'z'",
    "WorkflowId IN ('a', 'b', \"c\")",
    "WorkflowId NOT IN ('a')",
    "WorkflowId BETWEEN 'a' AND 'm'",
    "WorkflowId NOT BETWEEN 'a' AND 'm'",
    "WorkflowId STARTS_WITH 'retrain/'",
    "WorkflowId NOT STARTS_WITH 'retrain/'",
    'ParentWorkflowId IS NULL',
    'ParentWorkflowId is not null',
    "NOT WorkflowId = 'a'",
    "NOT (WorkflowId = 'a' OR WorkflowId = 'b')",
    "((WorkflowId = 'a'))",
    "WorkflowId = 'a' OR WorkflowId = 'b' AND RunId = 'c'",
    "`WorkflowId` = 'a'",
    "`odd-name` = 'x'",
    'CustomIntField = -3',
    'CustomIntField = +3',
    'CustomIntField > 2.5',
    'CustomDoubleField BETWEEN -1.5 AND 1e3',
    'CustomBoolField = true',
    'CustomBoolField != FALSE',
    "CustomDatetimeField > '2024-05-01T12:00:00Z'",
    'CustomDatetimeField < 1714564800000000000',
    "CustomTextField = 'drift'",
    "Tags = 'gpu'",
    "Tags IN ('gpu', 'cpu')",
    "Tags NOT IN ('gpu')",
    "ExecutionStatus = 'Running'",
    'ExecutionStatus = 2',
    "ExecutionStatus = 'WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW'",
    "ExecutionDuration > '1h30m'",
    'ExecutionDuration < 5000000000',
    "ExecutionDuration >= '00:10:00'",
    "StartTime BETWEEN '2024-01-01T00:00:00Z' AND '2024-12-31T23:59:59.999999999+01:00'",
    'ORDER BY StartTime',
    'order by StartTime desc, WorkflowId asc',
    "WorkflowType = 'x' ORDER BY CloseTime DESC",
    'GROUP BY ExecutionStatus',
    "WorkflowType = 'x' group by ExecutionStatus",
    "WorkflowType = 'x' GROUP BY ExecutionStatus ORDER BY StartTime",
    "WorkflowId = 'it''s' OR WorkflowId = 'it\\'s' OR WorkflowId = \"say \\\"hi\\\"\"",
  ];
  for (const q of accepted) assert.doesNotThrow(() => parseQuery(q, registry), q);
});

test('the parse tree follows SQL precedence: NOT binds tighter than AND, AND tighter than OR', () => {
  const { where } = parseQuery("NOT WorkflowId = 'a' OR WorkflowId = 'b' AND RunId = 'c'", registry);
  const shape = (e: Expr | undefined): unknown => {
    if (!e) return null;
    switch (e.kind) {
      case 'and':
      case 'or':
        return [e.kind, shape(e.left), shape(e.right)];
      case 'not':
        return ['not', shape(e.expr)];
      default:
        return e.attr.name;
    }
  };
  assert.deepEqual(shape(where), ['or', ['not', 'WorkflowId'], ['and', 'WorkflowId', 'RunId']]);
  const parsed = parseQuery("WorkflowType = 'x' GROUP BY ExecutionStatus ORDER BY StartTime, RunId DESC", registry);
  assert.deepEqual(parsed.groupBy, ['ExecutionStatus']);
  assert.deepEqual(parsed.orderBy, [
    { attr: 'StartTime', desc: false },
    { attr: 'RunId', desc: true },
  ]);
});

test('string literals unescape doubled quotes and backslash escapes', () => {
  const where = parseQuery("WorkflowId IN ('it''s', 'a\\'b', \"q\\\"x\", 'tab\\there', 'back\\\\slash')", registry).where;
  assert.ok(where && where.kind === 'in');
  assert.deepEqual(where.values, ["it's", "a'b", 'q"x', 'tab\there', 'back\\slash']);
});

test('malformed queries name the offending token and its position', () => {
  const cases: Array<[string, string, number, RegExp]> = [
    // unbalanced parentheses
    ["(WorkflowId = 'a'", '', 17, /unexpected end of query at position 17, expected "\)"/],
    ["WorkflowId = 'a')", ')', 16, /unexpected token "\)" at position 16/],
    ["((WorkflowId = 'a') AND RunId = 'b'", '', 35, /expected "\)"/],
    // missing value
    ["WorkflowId = AND RunId = 'b'", 'AND', 13, /invalid query: unexpected token "AND" at position 13, expected a value/],
    ['WorkflowId =', '', 12, /unexpected end of query at position 12, expected a value/],
    ["WorkflowId IN ()", ')', 15, /expected a value/],
    ["WorkflowId BETWEEN 'a'", '', 22, /expected AND/],
    ["WorkflowId = 'a' AND", '', 20, /expected a search attribute name/],
    ['WorkflowId = abc', 'abc', 13, /did you forget to quote "abc"\?/],
    ['WorkflowId = NULL', 'NULL', 13, /use IS NULL/],
    // unknown operator
    ["WorkflowId ~ 'a'", '~', 11, /unexpected token "~" at position 11, expected an operator/],
    ["WorkflowId == 'a'", '=', 12, /expected a value/],
    ["WorkflowId LIKE 'a%'", 'LIKE', 11, /LIKE is not supported/],
    ["WorkflowId NOT = 'a'", '=', 15, /expected IN, BETWEEN or STARTS_WITH after NOT/],
    ["WorkflowId 'a'", "'a'", 11, /expected an operator/],
    // unterminated strings and names
    ["WorkflowId = 'abc", "'abc", 13, /unterminated string starting at position 13/],
    ['WorkflowId = "abc', '"abc', 13, /unterminated string/],
    ["`WorkflowId = 'a'", "`WorkflowId = 'a'", 0, /unterminated quoted name/],
    // unknown attribute
    ["Foo = 'a'", 'Foo', 0, /unknown search attribute "Foo" at position 0/],
    ["WorkflowId = 'a' AND `Bar` = 1", '`Bar`', 21, /unknown search attribute "Bar" at position 21/],
    ['ORDER BY Nope', 'Nope', 9, /unknown search attribute "Nope"/],
    // operator not valid for the type
    ["CustomIntField STARTS_WITH '1'", 'STARTS_WITH', 15, /operator STARTS_WITH is not supported for search attribute CustomIntField of type Int/],
    ["Tags > 'a'", '>', 5, /operator > is not supported .* KeywordList/],
    ["CustomTextField IN ('a')", 'IN', 16, /operator IN is not supported .* Text/],
    ['CustomBoolField BETWEEN false AND true', 'BETWEEN', 16, /BETWEEN is not supported .* Bool/],
    ["Tags NOT BETWEEN 'a' AND 'b'", 'BETWEEN', 9, /NOT BETWEEN is not supported/],
    ["ExecutionStatus STARTS_WITH 'Run'", 'STARTS_WITH', 16, /STARTS_WITH is not supported/],
    // value that does not fit the type
    ["CustomIntField = 'x'", "'x'", 17, /invalid value 'x' for search attribute CustomIntField of type Int at position 17, expected a number/],
    ['CustomKeywordField = 3', '3', 21, /expected a string/],
    ["CustomBoolField = 'true'", "'true'", 18, /expected true or false/],
    ["CustomDatetimeField > 'yesterday'", "'yesterday'", 22, /RFC 3339/],
    ['CustomDatetimeField > 1.5', '1.5', 22, /RFC 3339 timestamp string or integer nanoseconds/],
    ["ExecutionStatus = 'Runing'", "'Runing'", 18, /one of Running, Completed/],
    ['ExecutionStatus = 42', '42', 18, /one of Running/],
    ["ExecutionDuration > 'soon'", "'soon'", 20, /duration/],
    ["CustomTextField = '  '", "'  '", 18, /at least one word/],
    ['CustomIntField = -x', 'x', 18, /a number after the sign/],
    // clauses
    ['GROUP BY WorkflowType', 'WorkflowType', 9, /GROUP BY is only supported for ExecutionStatus/],
    ['GROUP BY ExecutionStatus, WorkflowType', ',', 24, /only a single field/],
    ['ORDER BY CustomTextField', 'CustomTextField', 9, /Text are not sortable/],
    ["WorkflowId = 'a' LIMIT 10", 'LIMIT', 17, /LIMIT is not supported/],
    ['ORDER BY StartTime GROUP BY ExecutionStatus', 'GROUP', 19, /GROUP BY must come before ORDER BY/],
    ['ORDER StartTime', 'StartTime', 6, /expected BY after ORDER/],
    ["WorkflowId = 'a' RunId = 'b'", 'RunId', 17, /expected AND, OR, ORDER BY, GROUP BY or the end of the query/],
    ["WHERE WorkflowId = 'a'", 'WHERE', 0, /expected a search attribute name/],
  ];
  for (const [query, token, position, message] of cases) {
    const e = queryError(query);
    assert.equal(e.token, token, `token for ${query}: ${e.message}`);
    assert.equal(e.position, position, `position for ${query}: ${e.message}`);
    assert.match(e.message, /^invalid query: /, query);
    assert.match(e.message, message, query);
  }
});

test('durations parse as integer nanoseconds, Go durations with days, or hh:mm:ss', () => {
  assert.equal(parseDuration('1500'), 1500);
  assert.equal(parseDuration('30s'), 30e9);
  assert.equal(parseDuration('1h30m'), 5400e9);
  assert.equal(parseDuration('1.5h'), 5400e9);
  assert.equal(parseDuration('-2ms'), -2e6);
  assert.equal(parseDuration('2d'), 2 * 86400e9);
  assert.equal(parseDuration('3us'), 3000);
  assert.equal(parseDuration('01:30:00'), 5400e9);
  assert.equal(parseDuration('1x'), undefined);
  assert.equal(parseDuration('01:60:00'), undefined);
  assert.equal(parseDuration(''), undefined);
});

test('comparisons on system attributes read the record fields', () => {
  const records = [
    rec({ runId: 'r1', workflowId: 'retrain/a/1', status: 'Completed', closeTime: T0 + 90 * 60_000, historyLength: 10 }),
    rec({ runId: 'r2', workflowId: 'retrain/b/1', status: 'Failed', closeTime: T0 + 10_000, parentWorkflowId: 'monitor/b' }),
    rec({ runId: 'r3', workflowId: 'monitor/a', startTime: T0 + 1000, executionTime: T0 + 5000 }),
  ];
  assert.deepEqual(matching("WorkflowId STARTS_WITH 'retrain/'", records), ['r1', 'r2']);
  assert.deepEqual(matching("WorkflowId NOT STARTS_WITH 'retrain/'", records), ['r3']);
  assert.deepEqual(matching("ExecutionStatus = 'Running'", records), ['r3']);
  assert.deepEqual(matching("ExecutionStatus IN ('Completed', 'Failed')", records), ['r1', 'r2']);
  assert.deepEqual(matching('ExecutionStatus != 1', records), ['r1', 'r2']);
  assert.deepEqual(matching('CloseTime IS NULL', records), ['r3']);
  assert.deepEqual(matching("CloseTime > '2024-05-01T12:00:00Z'", records), ['r1', 'r2']);
  assert.deepEqual(matching("StartTime > '2024-05-01T12:00:00Z'", records), ['r3']);
  assert.deepEqual(matching(`StartTime = ${T0}000000`, records), ['r1', 'r2']);
  assert.deepEqual(matching("ExecutionTime >= '2024-05-01T12:00:05Z'", records), ['r3']);
  assert.deepEqual(matching("ExecutionDuration > '1h'", records), ['r1']);
  assert.deepEqual(matching("ExecutionDuration BETWEEN '5s' AND '00:00:10'", records), ['r2']);
  assert.deepEqual(matching('HistoryLength > 5', records), ['r1']);
  assert.deepEqual(matching("ParentWorkflowId = 'monitor/b'", records), ['r2']);
  assert.deepEqual(matching('ParentWorkflowId IS NOT NULL', records), ['r2']);
});

test('a missing attribute makes scalar comparisons unknown, even under NOT', () => {
  const records = [
    rec({ runId: 'has1' }, { CustomIntField: { type: 'Int', value: 1 } }),
    rec({ runId: 'has2' }, { CustomIntField: { type: 'Int', value: 2 } }),
    rec({ runId: 'none' }),
  ];
  assert.deepEqual(matching('CustomIntField != 1', records), ['has2']);
  assert.deepEqual(matching('NOT CustomIntField = 1', records), ['has2']);
  assert.deepEqual(matching('CustomIntField NOT IN (1)', records), ['has2']);
  assert.deepEqual(matching('CustomIntField NOT BETWEEN 0 AND 1', records), ['has2']);
  // unknown OR true is true; unknown AND false is false
  assert.deepEqual(matching("CustomIntField = 1 OR WorkflowId = 'wf-none'", records), ['has1', 'none']);
  assert.deepEqual(matching('NOT (CustomIntField = 1 AND CustomIntField = 2)', records), ['has1', 'has2']);
  assert.deepEqual(matching('CustomIntField IS NULL OR CustomIntField = 2', records), ['has2', 'none']);
});

test('KeywordList = means contains and a missing list never contains anything', () => {
  const records = [
    rec({ runId: 'gpu' }, { Tags: { type: 'KeywordList', value: ['gpu', 'large'] } }),
    rec({ runId: 'cpu' }, { Tags: { type: 'KeywordList', value: ['cpu'] } }),
    rec({ runId: 'none' }),
  ];
  assert.deepEqual(matching("Tags = 'gpu'", records), ['gpu']);
  assert.deepEqual(matching("Tags = 'larg'", records), []);
  assert.deepEqual(matching("Tags IN ('large', 'cpu')", records), ['cpu', 'gpu']);
  assert.deepEqual(matching("Tags != 'gpu'", records), ['cpu', 'none']);
  assert.deepEqual(matching("Tags NOT IN ('gpu', 'cpu')", records), ['none']);
  assert.deepEqual(matching("NOT Tags = 'gpu'", records), ['cpu', 'none']);
});

test('Text = matches when any word of the value occurs in the attribute, ignoring case', () => {
  const records = [
    rec({ runId: 't1' }, { CustomTextField: { type: 'Text', value: 'Drift detected on feature_x' } }),
    rec({ runId: 't2' }, { CustomTextField: { type: 'Text', value: 'scheduled retraining' } }),
    rec({ runId: 'none' }),
  ];
  assert.deepEqual(matching("CustomTextField = 'drift'", records), ['t1']);
  assert.deepEqual(matching("CustomTextField = 'DETECTED nothing'", records), ['t1']);
  assert.deepEqual(matching("CustomTextField = 'retrain'", records), []);
  assert.deepEqual(matching("CustomTextField != 'drift'", records), ['none', 't2']);
});

test('Datetime, Double and Bool attributes compare by value', () => {
  const records = [
    rec({ runId: 'early' }, {
      CustomDatetimeField: { type: 'Datetime', value: T0 },
      CustomDoubleField: { type: 'Double', value: 0.5 },
      CustomBoolField: { type: 'Bool', value: false },
    }),
    rec({ runId: 'late' }, {
      CustomDatetimeField: { type: 'Datetime', value: T0 + 3_600_000 },
      CustomDoubleField: { type: 'Double', value: 2 },
      CustomBoolField: { type: 'Bool', value: true },
    }),
  ];
  assert.deepEqual(matching("CustomDatetimeField > '2024-05-01T12:30:00Z'", records), ['late']);
  assert.deepEqual(matching("CustomDatetimeField = '2024-05-01T14:00:00+02:00'", records), ['early']);
  assert.deepEqual(matching(`CustomDatetimeField <= ${T0}000000`, records), ['early']);
  assert.deepEqual(matching('CustomDoubleField >= 2', records), ['late']);
  assert.deepEqual(matching('CustomDoubleField IN (0.5, 3)', records), ['early']);
  assert.deepEqual(matching('CustomBoolField = true', records), ['late']);
  assert.deepEqual(matching('CustomBoolField < true', records), ['early']);
});

test('strings compare by code point, so astral characters sort after U+FFFD', () => {
  // U+1F600 (surrogates D83D DE00) > U+FFFD in code point order, but '\uD83D' < '\uFFFD' as UTF-16 units.
  assert.ok(compareStrings('\u{1F600}', '\uFFFD') > 0);
  assert.ok('\u{1F600}' < '\uFFFD');
  assert.ok(compareStrings('a', 'b') < 0);
  assert.ok(compareStrings('ab', 'a') > 0);
  assert.equal(compareStrings('x', 'x'), 0);
});

test('records sort by StartTime descending then RunId by default, and by ORDER BY with missing values last', () => {
  const records = [
    rec({ runId: 'b', startTime: T0 }, { CustomIntField: { type: 'Int', value: 5 } }),
    rec({ runId: 'a', startTime: T0 }),
    rec({ runId: 'c', startTime: T0 + 1 }, { CustomIntField: { type: 'Int', value: 1 } }),
    rec({ runId: 'd', startTime: T0 - 1 }, { CustomIntField: { type: 'Int', value: 9 } }),
  ];
  assert.deepEqual(sortRecords(records, []).map((r) => r.runId), ['c', 'a', 'b', 'd']);
  const by = (q: string) => sortRecords(records, parseQuery(q, registry).orderBy).map((r) => r.runId);
  assert.deepEqual(by('ORDER BY CustomIntField'), ['c', 'b', 'd', 'a']);
  assert.deepEqual(by('ORDER BY CustomIntField DESC'), ['d', 'b', 'c', 'a']);
  assert.deepEqual(by('ORDER BY StartTime ASC'), ['d', 'a', 'b', 'c']);
  assert.deepEqual(by('ORDER BY WorkflowType, RunId DESC'), ['d', 'c', 'b', 'a']);
});

test('count groups by ExecutionStatus hold the status name as a Keyword payload the SDK decodes', () => {
  const records = [
    rec({ runId: '1', status: 'Completed' }),
    rec({ runId: '2', status: 'Running' }),
    rec({ runId: '3', status: 'Completed' }),
    rec({ runId: '4', status: 'Failed' }),
  ];
  const groups = countGroups(records, ['ExecutionStatus']);
  // The SDK's decodeCountWorkflowExecutionsResponse runs each group value through searchAttributePayloadConverter.
  const decoded = groups.map((g) => ({ values: g.groupValues.map((v) => searchAttributePayloadConverter.fromPayload(v)), count: g.count }));
  assert.deepEqual(decoded, [
    { values: [['Completed']], count: 2 },
    { values: [['Running']], count: 1 },
    { values: [['Failed']], count: 1 },
  ]);
  assert.equal(Buffer.from(groups[0].groupValues[0].metadata!.type!).toString(), 'Keyword');
  assert.deepEqual(countGroups(records, []), []);
  assert.throws(() => countGroups(records, ['WorkflowType']), /only \["ExecutionStatus"\]/);
});
