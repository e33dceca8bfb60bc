import test from 'ava';
import { renderCapacitySvg } from '../../src/simulate/chart.js';

const input = {
  title: 'storm: capacity',
  durationSeconds: 3 * 3600,
  desired: 10,
  series: [
    { name: 'asg-only', values: [10, 7, 10] },
    { name: 'drain-only', values: [10, 7, 10] },
    { name: 'spotmax', values: [10, 9, 10] },
  ],
  marks: [
    { kind: 'storm' as const, label: 'a <storm>', from: 3600, to: 3780 },
    { kind: 'outage' as const, label: 'no Spot in us-east-1b', from: 3600, to: 5400 },
  ],
};

test('the chart has axes, a legend, marked storms and outages, and escapes labels', (t) => {
  const svg = renderCapacitySvg(input);
  t.regex(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.true(svg.includes('time since the scenario start'));
  t.true(svg.includes('instances InService (all groups)'));
  t.true(svg.includes('⚡ a &lt;storm&gt;'));
  t.true(svg.includes('no Spot in us-east-1b'));
  for (const tick of ['0 h', '1 h', '2 h', '3 h']) t.true(svg.includes(`>${tick}</text>`), tick);
  t.is((svg.match(/<polyline/g) ?? []).length, 3);
});

test('a line identical to an earlier one stays visible: the earlier is drawn wide, the later dashed, and the legend says so', (t) => {
  const svg = renderCapacitySvg(input);
  t.regex(svg, /stroke="#d62728" stroke-width="6" stroke-opacity="0\.45"/);
  t.regex(svg, /stroke="#ff7f0e" stroke-width="2" stroke-dasharray="7 4"/);
  t.true(svg.includes('drain-only (= asg-only)'));
  t.false(svg.includes('spotmax (='));
});
