import { readFile } from 'node:fs/promises';
import test from 'ava';
import { policyJsonSchema, policyJsonSchemaText } from '../../src/config/json-schema.js';

test('policies/schema.json is up to date with the zod schema', async (t) => {
  const checkedIn = await readFile(new URL('../../policies/schema.json', import.meta.url), 'utf8');
  t.true(
    checkedIn === policyJsonSchemaText(),
    'policies/schema.json is stale: run `npm run schema` and commit it',
  );
});

test('the JSON schema is strict and carries the ranges editors should show', (t) => {
  const schema = policyJsonSchema() as {
    additionalProperties: boolean;
    required: string[];
    properties: { spec: { properties: { interruption: { properties: { detachDelaySeconds: unknown } } } } };
  };
  t.false(schema.additionalProperties);
  t.deepEqual(schema.required.sort(), ['apiVersion', 'kind', 'metadata']);
  t.like(schema.properties.spec.properties.interruption.properties.detachDelaySeconds, {
    type: 'integer',
    minimum: 0,
    maximum: 119,
  });
});

test('every example policy points editors at the schema', async (t) => {
  for (const f of ['k8s-workers.yaml', 'web-fleet.yaml', 'stateful.yaml']) {
    const text = await readFile(new URL(`../../policies/${f}`, import.meta.url), 'utf8');
    t.true(text.startsWith('# yaml-language-server: $schema=./schema.json\n'), f);
  }
});
