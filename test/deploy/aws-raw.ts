// Calls to services whose SDK clients are not installed (IAM, ECS, CloudWatch Logs), made directly
// over moto's HTTP endpoint. moto routes by the service named in the Authorization header's credential
// scope and does not verify signatures, so a well-formed unsigned header is enough.

// moto tells accounts apart by the access key (a key from STS AssumeRole acts in the role's account).
const auth = (service: string, region: string, accessKey = 'testing') =>
  `AWS4-HMAC-SHA256 Credential=${accessKey}/20260101/${region}/${service}/aws4_request, SignedHeaders=host, Signature=0`;

/** Query protocol (IAM): returns the XML text. */
export async function queryApi(
  endpoint: string,
  service: string,
  region: string,
  params: Record<string, string>,
  accessKey?: string,
): Promise<string> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: auth(service, region, accessKey),
    },
    body: new URLSearchParams(params).toString(),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${service} ${params.Action}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return text;
}

/** JSON protocol (ECS, CloudWatch Logs). */
export async function jsonApi(
  endpoint: string,
  service: string,
  region: string,
  target: string,
  body: object,
  accessKey?: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': target,
      authorization: auth(service, region, accessKey),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${service} ${target}: HTTP ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as Record<string, unknown>;
}

/** The text of the first <tag>...</tag> in an XML answer. */
export function xmlValue(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  return m?.[1]
    ?.replace(/&quot;/g, '"')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&');
}

/**
 * An inline role policy as moto returns it. Policies created through moto's CloudFormation come back as
 * a Python dict repr ({'Version': ...}) instead of JSON (a moto quirk); our documents hold no quotes
 * or booleans inside strings, so swapping the quote characters is exact for them.
 */
export function policyDocument(xml: string): { Statement: Record<string, unknown>[] } {
  const raw = decodeURIComponent(xmlValue(xml, 'PolicyDocument') ?? '');
  if (raw.startsWith('{"')) return JSON.parse(raw);
  if (raw.includes('"')) throw new Error(`cannot read moto's policy document: ${raw.slice(0, 200)}`);
  return JSON.parse(
    raw
      .replace(/'/g, '"')
      .replace(/\bTrue\b/g, 'true')
      .replace(/\bFalse\b/g, 'false')
      .replace(/\bNone\b/g, 'null'),
  );
}
