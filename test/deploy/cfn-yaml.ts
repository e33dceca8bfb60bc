import { readFileSync } from 'node:fs';
import { isMap, isScalar, isSeq, type Node, parseDocument } from 'yaml';

// CloudFormation YAML uses short-form intrinsic tags (!Ref, !Sub, !GetAtt, ...). This reads a template
// into the long JSON form (`{"Ref": ...}`, `{"Fn::Sub": ...}`) so tests can inspect it and send it to
// moto as JSON without depending on how moto reads short forms.

const toJs = (node: Node | null | undefined): unknown => {
  if (!node) return null;
  let value: unknown;
  if (isMap(node)) {
    const obj: Record<string, unknown> = {};
    for (const pair of node.items)
      obj[String(isScalar(pair.key) ? pair.key.value : pair.key)] = toJs(pair.value as Node);
    value = obj;
  } else if (isSeq(node)) {
    value = node.items.map((n) => toJs(n as Node));
  } else if (isScalar(node)) {
    value = node.value;
  }
  const tag = node.tag;
  if (!tag || tag.startsWith('tag:yaml.org') || tag.startsWith('!!')) return value;
  const fn = tag.slice(1);
  if (fn === 'Ref' || fn === 'Condition') return { [fn]: value };
  if (fn === 'GetAtt' && typeof value === 'string') {
    const dot = value.indexOf('.');
    return { 'Fn::GetAtt': [value.slice(0, dot), value.slice(dot + 1)] };
  }
  return { [`Fn::${fn}`]: value };
};

export interface Template {
  Parameters: Record<
    string,
    {
      Type: string;
      Default?: unknown;
      Description?: string;
      AllowedValues?: unknown[];
      AllowedPattern?: string;
      ConstraintDescription?: string;
    }
  >;
  Conditions?: Record<string, unknown>;
  Resources: Record<
    string,
    {
      Type: string;
      Condition?: string;
      Properties?: Record<string, unknown>;
      DependsOn?: unknown;
      DeletionPolicy?: string;
    }
  >;
  Outputs?: Record<string, { Value: unknown; Description?: string; Condition?: string }>;
  [key: string]: unknown;
}

export function readTemplate(path: string): Template {
  const doc = parseDocument(readFileSync(path, 'utf8'));
  const fatal = doc.errors;
  if (fatal.length) throw new Error(`${path}: ${fatal.map((e) => e.message).join('; ')}`);
  return toJs(doc.contents as Node) as Template;
}
