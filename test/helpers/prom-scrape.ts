import parsePrometheusTextFormat from 'parse-prometheus-text-format';

// /metrics read back the way a scraper reads it. The families (names, HELP, TYPE, counter and gauge
// samples) come from parse-prometheus-text-format, a parser of the text exposition format (prom-client
// ships none); it throws on a malformed line, so every scrape is also a syntax check. Its one gap:
// for a histogram with labels it merges the series and drops their _sum and _count, so histogram
// series are read by histogram() below from the lines the parser has already accepted.

export type Scrape = ReturnType<typeof parsePrometheusTextFormat> & { text: string };

export function parseScrape(text: string): Scrape {
  return Object.assign(parsePrometheusTextFormat(text), { text });
}

export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`GET ${url}: ${res.status}`);
  return parseScrape(await res.text());
}

export function family(s: Scrape, name: string) {
  const f = s.find((x) => x.name === name);
  if (!f) throw new Error(`no family ${name} in the scrape; families: ${s.map((x) => x.name).join(', ')}`);
  return f;
}

const same = (a: Record<string, string> = {}, b: Record<string, string>) =>
  Object.keys(b).every((k) => a[k] === b[k]) && Object.keys(a).length === Object.keys(b).length;

/** The value of a counter or gauge series with exactly these labels; undefined when absent. */
export function value(s: Scrape, name: string, labels: Record<string, string> = {}): number | undefined {
  const sample = family(s, name).metrics.find((m) => same(m.labels, labels));
  return sample?.value === undefined ? undefined : Number(sample.value);
}

/** A histogram series: its cumulative buckets, sum and count. */
export function histogram(s: Scrape, name: string, labels: Record<string, string> = {}) {
  if (family(s, name).type !== 'HISTOGRAM') throw new Error(`${name} is not a histogram`);
  const buckets: Record<string, number> = {};
  let sum: number | undefined;
  let count: number | undefined;
  for (const line of s.text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m?.[1]?.startsWith(name)) continue;
    const ls: Record<string, string> = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:\\.|[^"\\])*)"/g))
      ls[k as string] = v as string;
    const { le, ...rest } = ls;
    if (!same(rest, labels)) continue;
    const v = Number(m[3]);
    if (m[1] === `${name}_bucket` && le !== undefined) buckets[le] = v;
    else if (m[1] === `${name}_sum`) sum = v;
    else if (m[1] === `${name}_count`) count = v;
  }
  if (count === undefined) return undefined;
  return { buckets, sum: sum ?? Number.NaN, count };
}
