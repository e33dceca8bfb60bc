import test from 'ava';
import { desiredLines, renderCapacitySvg, seriesColor, timeLabel } from '../../src/simulate/chart.js';
import { countColour, decodePng, renderPng } from './png.js';

// 3 hours in 180 one-minute slices: every strategy holds 10 except in the storm at 1:00, where asg-only
// and drain-only fall to 7 (identical, so one would hide the other) and spotmax to 9 for a shorter time.
const slices = 180;
const line = (dip: number, length: number, from = 60) =>
  Array.from({ length: slices }, (_, k) => (k >= from && k < from + length ? dip : 10));
const flat = line(10, 0);
const input = {
  title: 'storm: capacity',
  durationSeconds: 3 * 3600,
  series: [
    {
      name: 'asg-only',
      values: line(7, 6),
      desired: flat,
      headline: ['gap 1,080 inst·s', 'handled none (no interruption)'],
    },
    { name: 'drain-only', values: line(7, 6), desired: flat, headline: ['gap 1,080 inst·s'] },
    {
      name: 'spotmax',
      values: line(9, 2),
      desired: flat,
      headline: ['gap 120 inst·s', 'cost 31.0 % of all On-Demand'],
    },
  ],
  marks: [
    { kind: 'storm' as const, label: 'a <storm>', from: 3600, to: 3780 },
    { kind: 'outage' as const, label: 'no Spot in us-east-1b', from: 7200, to: 7800 },
  ],
};

/** The plotting boxes, read from the chart's own clip paths. */
function boxes(svg: string): Record<string, { x: number; y: number; w: number; h: number }> {
  const out: Record<string, { x: number; y: number; w: number; h: number }> = {};
  for (const m of svg.matchAll(
    /<clipPath id="(\w+)"><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"\/>/g,
  ))
    out[m[1]!] = { x: Math.ceil(+m[2]!), y: Math.ceil(+m[3]!), w: Math.floor(+m[4]!), h: Math.floor(+m[5]!) };
  return out;
}

test('the chart as a reader sees it (PNG by rsvg-convert): every strategy line in its legend colour, the desired line, in the full run and in each zoomed panel', (t) => {
  const svg = renderCapacitySvg(input);
  const img = decodePng(renderPng(svg));
  t.is(img.width, 1200);
  const b = boxes(svg);
  t.deepEqual(Object.keys(b), ['full', 'zoom0', 'zoom1'], 'one zoomed panel per storm or outage');
  const colours = input.series.map((s, i) => [s.name, seriesColor(s.name, i)] as const);
  for (const [panel, box] of Object.entries(b)) {
    for (const [name, colour] of colours)
      t.true(countColour(img, colour, box) > 40, `${name} (${colour}) visible in ${panel}`);
    t.true(countColour(img, '#111111', box) > 40, `desired visible in ${panel}`);
  }
  // The legend swatches, right of the full panel, are drawn in the same colours.
  const legend = { x: b.full!.x + b.full!.w + 5, y: b.full!.y, w: 60, h: 300 };
  for (const [name, colour] of colours)
    t.true(countColour(img, colour, legend) > 20, `${name} in the legend`);
  // Inside the storm's zoom the identical pair and spotmax differ: blue alone where only spotmax dips.
  t.true(
    countColour(img, seriesColor('spotmax', 2), b.zoom0) >
      countColour(img, seriesColor('spotmax', 2), b.zoom1),
  );
});

test('the full run starts its y axis at 0; a zoomed panel that does not is marked as cut', (t) => {
  const svg = renderCapacitySvg(input);
  t.regex(svg, />0<\/text>/);
  t.regex(svg, /data-cut="\d+"[^>]*>y axis cut at \d+</);
  const cuts = [...svg.matchAll(/data-cut="(\d+)"/g)].map((m) => Number(m[1]));
  t.is(cuts.length, 2, 'both zoomed panels are cut');
  t.true(cuts[0]! > 0 && cuts[0]! < 7, `the storm's panel is cut below its lowest value, 7: at ${cuts[0]}`);
});

test('the legend carries the headline numbers; time ticks read h:mm; labels are escaped', (t) => {
  const svg = renderCapacitySvg(input);
  for (const text of [
    'gap 1,080 inst·s',
    'handled none (no interruption)',
    'cost 31.0 % of all On-Demand',
    'desired (10)',
  ])
    t.true(svg.includes(`>${text}</text>`), text);
  t.true(svg.includes('drain-only (same as asg-only)'));
  for (const tick of ['0:00', '1:00', '2:00', '3:00']) t.true(svg.includes(`>${tick}</text>`), tick);
  t.true(svg.includes('storm: a &lt;storm&gt;'));
  t.true(svg.includes('[A] storm: a &lt;storm&gt;, zoomed'));
  t.true(svg.includes('[B] outage: no Spot in us-east-1b, zoomed'));
  t.is(timeLabel(3900), '1:05');
  t.is(timeLabel(90), '0:01:30');
});

test('no storm, no outage: one panel and no zoom', (t) => {
  const svg = renderCapacitySvg({ ...input, marks: [] });
  t.deepEqual(Object.keys(boxes(svg)), ['full']);
  t.false(svg.includes('zoomed'));
});

/** The y of each level a desired polyline holds, by the strategies it is drawn for (full panel only). */
function desiredLevels(svg: string): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  const cut = svg.indexOf('<clipPath id="zoom0"');
  const full = cut < 0 ? svg : svg.slice(0, cut);
  for (const m of full.matchAll(
    /<polyline data-series="desired" data-strategies="([^"]+)"[^>]*points="([^"]*)"/g,
  ))
    out[m[1]!] = [...new Set(m[2]!.split(' ').map((p) => Number(p.split(',')[1])))];
  return out;
}

// The groups' desired moves when a strategy moves it: here spotmax attaches two standbys at 1:30 (desired
// 10 -> 12) and detaches with decrement half an hour later, while the others hold 10. The chart draws
// desired from the series, one step line per strategy where they differ, not one constant.
test('desired is drawn from the series as a step line, one per strategy where they differ (PNG)', (t) => {
  const moving = line(12, 30, 90);
  const svg = renderCapacitySvg({
    ...input,
    marks: [],
    series: input.series.map((s) => (s.name === 'spotmax' ? { ...s, values: moving, desired: moving } : s)),
  });
  const levels = desiredLevels(svg);
  t.deepEqual(Object.keys(levels), ['asg-only,drain-only', 'spotmax'], 'one line shared, one of its own');
  t.is(levels['asg-only,drain-only']!.length, 1, 'the others hold one level');
  t.is(levels.spotmax!.length, 2, 'spotmax steps between two levels');
  t.true(levels.spotmax![0]! > levels.spotmax![1]!, 'from 10 up to 12 (higher is a smaller y)');
  t.true(svg.includes('>desired, asg-only, drain-only (10)</text>'));
  t.true(svg.includes('>desired, spotmax (10–12)</text>'));
  // As a reader sees it: spotmax's own desired colour above the others' desired line, in the panel.
  const img = decodePng(renderPng(svg));
  const full = boxes(svg).full!;
  const own = desiredLines(
    input.series.map((s) => (s.name === 'spotmax' ? { ...s, desired: moving } : s)),
  )[1]!.color;
  const above = { x: full.x, y: full.y, w: full.w, h: levels['asg-only,drain-only']![0]! - 3 - full.y };
  t.true(countColour(img, own, above) > 40, `spotmax's desired (${own}) visible at 12`);
  t.true(countColour(img, '#111111', full) > 100, 'the shared desired line visible');
});

test('one desired line when every strategy has the same desired, even when it moves', (t) => {
  const moving = line(14, 20, 30);
  const svg = renderCapacitySvg({ ...input, series: input.series.map((s) => ({ ...s, desired: moving })) });
  t.deepEqual(Object.keys(desiredLevels(svg)), ['asg-only,drain-only,spotmax']);
  t.true(svg.includes('>desired (10–14)</text>'));
  t.is(desiredLevels(svg)['asg-only,drain-only,spotmax']!.length, 2, 'a step between 10 and 14');
});
