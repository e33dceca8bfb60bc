import { z } from 'zod';
import { groupPolicySchema } from './schema.js';

// The policy schema for editors (yaml-language-server, VS Code): generated from the zod schema,
// written to policies/schema.json by `npm run schema`, checked for staleness by a test.

/** JSON Schema of one GroupPolicy document, as a user writes it (defaults optional). */
export function policyJsonSchema(): Record<string, unknown> {
  // draft-7: the draft editors' YAML plugins understand best. Input shape: fields with defaults are optional.
  const generated = z.toJSONSchema(groupPolicySchema, { target: 'draft-7', io: 'input' }) as Record<
    string,
    unknown
  >;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    title: 'spotmax GroupPolicy',
    description:
      'One policy for EC2 Auto Scaling groups managed by spotmax. Several documents per file (---). Generated from src/config/schema.ts by `npm run schema`; do not edit.',
    ...rest,
  };
}

/** The exact text of policies/schema.json. */
export function policyJsonSchemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}
