import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InputError, parseDataSchema } from '../../ml/data';

const valid = {
  features: [
    { name: 'price', type: 'numeric' },
    { name: 'region', type: 'categorical', categories: ['north', 'south'] },
  ],
  label: { name: 'class', positive: 'UP' },
  time: { name: 'ts' },
};

function messageOf(input: unknown): string {
  try {
    parseDataSchema(input);
  } catch (e) {
    assert.ok(e instanceof InputError, 'expected an InputError');
    return e.message;
  }
  assert.fail('expected the schema to be rejected');
}

test('a well-formed schema parses to the same value', () => {
  assert.deepEqual(parseDataSchema(valid), valid);
});

test('the time column is optional', () => {
  const { time: _time, ...rest } = valid;
  assert.equal(parseDataSchema(rest).time, undefined);
});

test('an unknown feature type names the field path, the accepted values and the value given', () => {
  const msg = messageOf({ ...valid, features: [valid.features[0], { name: 'x', type: 'text' }] });
  assert.match(msg, /features\[1\]\.type: expected one of "numeric" \| "categorical", got "text"/);
});

test('a missing positive class is reported as required at label.positive', () => {
  const msg = messageOf({ ...valid, label: { name: 'class' } });
  assert.match(msg, /label\.positive: required \(a string\)/);
});

test('an unknown field is named along with the fields that are accepted', () => {
  const msg = messageOf({ ...valid, label: { name: 'class', positive: 'UP', classes: ['UP', 'DOWN'] } });
  assert.match(msg, /label: unknown field "classes"; accepted fields: name, positive, negative/);
});

test('every problem is reported, not only the first', () => {
  try {
    parseDataSchema({ features: [], label: { name: '', positive: 'y' } });
    assert.fail('expected a rejection');
  } catch (e) {
    assert.ok(e instanceof InputError);
    assert.deepEqual(
      e.issues.map((i) => i.path),
      ['features', 'label.name'],
    );
    assert.match(e.message, /features: expected >= 1 items, got an array of 0 items/);
  }
});

test('duplicate feature names are rejected at the second occurrence', () => {
  const msg = messageOf({ ...valid, features: [valid.features[0], { name: 'price', type: 'numeric' }] });
  assert.match(msg, /features\[1\]\.name: duplicate feature name "price" \(also features\[0\]\.name\)/);
});

test('categories on a numeric feature are rejected', () => {
  const msg = messageOf({ ...valid, features: [{ name: 'price', type: 'numeric', categories: ['a'] }] });
  assert.match(msg, /features\[0\]\.categories: only allowed when type is "categorical"/);
});

test('the label and the time column may not double as features or as each other', () => {
  assert.match(messageOf({ ...valid, label: { name: 'price', positive: '1' } }), /label\.name: "price" is also a feature/);
  assert.match(messageOf({ ...valid, time: { name: 'region' } }), /time\.name: "region" is also a feature/);
  assert.match(messageOf({ ...valid, time: { name: 'class' } }), /time\.name: "class" is the label column/);
});

test('a non-object input is rejected at the root', () => {
  assert.match(messageOf('features'), /\(root\): expected an object, got "features"/);
});

test('declared negative label values may not repeat or include the positive value', () => {
  const msg = messageOf({ ...valid, label: { name: 'class', positive: 'UP', negative: ['DOWN', 'UP', 'DOWN'] } });
  assert.match(msg, /label\.negative\[1\]: "UP" is the positive value; a value cannot be both/);
  assert.match(msg, /label\.negative\[2\]: duplicate value "DOWN"/);
});
