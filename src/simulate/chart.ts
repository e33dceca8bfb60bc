// capacity.svg: InService capacity against time, one line per strategy, the desired capacity dashed,
// storms and outages marked as labelled bands. Plain SVG, no library: it must open in any browser.

export interface ChartSeries {
  name: string;
  values: number[];
}

export interface ChartMark {
  kind: 'storm' | 'outage';
  label: string;
  /** Seconds from the start. */
  from: number;
  to: number;
}

export interface ChartInput {
  title: string;
  durationSeconds: number;
  desired: number;
  series: ChartSeries[];
  marks: ChartMark[];
}

const COLORS: Record<string, string> = { 'asg-only': '#d62728', 'drain-only': '#ff7f0e', spotmax: '#1f77b4' };
const FALLBACK = ['#2ca02c', '#9467bd', '#8c564b'];

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

function niceStep(range: number, target: number): number {
  const raw = range / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

const TIME_STEPS = [60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 14_400, 21_600, 43_200];

function timeLabel(seconds: number, total: number): string {
  if (total <= 2 * 3600) return `${Math.round(seconds / 60)} min`;
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return m === 0 ? `${h} h` : `${h} h ${String(m).padStart(2, '0')}`;
}

export function renderCapacitySvg(input: ChartInput): string {
  const W = 1000;
  const H = 520;
  const m = { left: 80, right: 220, top: 56, bottom: 64 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const all = input.series.flatMap((s) => s.values);
  const lowest = Math.min(input.desired, ...all);
  const highest = Math.max(input.desired, ...all);
  // Zoom on the band where capacity moves, but keep 0 when the dips are deep.
  let yMin = lowest > input.desired * 0.5 ? Math.floor(lowest - (highest - lowest) * 0.15 - 1) : 0;
  yMin = Math.max(0, yMin);
  const yMax = Math.ceil(highest + Math.max(1, (highest - yMin) * 0.08));
  const x = (t: number) => m.left + (t / Math.max(1, input.durationSeconds)) * pw;
  const y = (v: number) => m.top + ph - ((v - yMin) / Math.max(1, yMax - yMin)) * ph;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${m.left}" y="28" font-size="18" font-weight="bold">${esc(input.title)}</text>`,
  );
  // Bands first, then their labels (stacked), so a later band never covers an earlier label.
  const labels: string[] = [];
  input.marks.forEach((mark, i) => {
    const x0 = x(mark.from);
    const x1 = Math.max(x(mark.to), x0 + 3);
    const fill = mark.kind === 'storm' ? '#f4a3a3' : '#c9c9c9';
    out.push(
      `<rect x="${x0.toFixed(1)}" y="${m.top}" width="${(x1 - x0).toFixed(1)}" height="${ph}" fill="${fill}" fill-opacity="0.55"/>`,
    );
    labels.push(
      `<text x="${(x0 + 4).toFixed(1)}" y="${m.top + 16 + (i % 4) * 16}" font-size="12" fill="#7a1f1f">${esc(mark.kind === 'storm' ? `⚡ ${mark.label}` : mark.label)}</text>`,
    );
  });
  out.push(...labels);
  const yStep = Math.max(1, niceStep(yMax - yMin, 6));
  for (let v = Math.ceil(yMin / yStep) * yStep; v <= yMax; v += yStep) {
    out.push(
      `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e5e5e5"/>`,
      `<text x="${m.left - 8}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end">${v}</text>`,
    );
  }
  const xStep = TIME_STEPS.find((st) => input.durationSeconds / st <= 10) ?? 86_400;
  for (let t = 0; t <= input.durationSeconds + 1e-6; t += xStep) {
    out.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${m.top + ph}" y2="${m.top + ph + 5}" stroke="#333"/>`,
      `<text x="${x(t).toFixed(1)}" y="${m.top + ph + 20}" text-anchor="middle">${timeLabel(t, input.durationSeconds)}</text>`,
    );
  }
  out.push(
    `<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`,
    `<text x="${m.left + pw / 2}" y="${H - 16}" text-anchor="middle">time since the scenario start</text>`,
    `<text transform="translate(22 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">instances InService (all groups)</text>`,
    `<line x1="${m.left}" x2="${m.left + pw}" y1="${y(input.desired).toFixed(1)}" y2="${y(input.desired).toFixed(1)}" stroke="#555" stroke-dasharray="6 4"/>`,
  );
  // A series identical to an earlier one would hide it: draw the earlier wide and pale, the later dashed on top.
  const sameAs = input.series.map((s, i) =>
    input.series.findIndex((o, j) => j < i && o.values.every((v, k) => v === s.values[k])),
  );
  const hidden = new Set(sameAs.filter((j) => j >= 0));
  input.series.forEach((s, i) => {
    const color = COLORS[s.name] ?? FALLBACK[i % FALLBACK.length]!;
    const style = hidden.has(i)
      ? 'stroke-width="6" stroke-opacity="0.45"'
      : sameAs[i]! >= 0
        ? 'stroke-width="2" stroke-dasharray="7 4"'
        : 'stroke-width="2"';
    const n = s.values.length;
    const pts: string[] = [];
    s.values.forEach((v, k) => {
      const t0 = (k / n) * input.durationSeconds;
      const t1 = ((k + 1) / n) * input.durationSeconds;
      pts.push(`${x(t0).toFixed(1)},${y(v).toFixed(1)}`, `${x(t1).toFixed(1)},${y(v).toFixed(1)}`);
    });
    out.push(
      `<polyline fill="none" stroke="${color}" ${style} stroke-linejoin="round" points="${pts.join(' ')}"/>`,
    );
  });
  const lx = m.left + pw + 16;
  const legend: [string, string, string?][] = [
    ...input.series.map((s, i): [string, string] => [
      sameAs[i]! >= 0 ? `${s.name} (= ${input.series[sameAs[i]!]!.name})` : s.name,
      COLORS[s.name] ?? FALLBACK[i % FALLBACK.length]!,
    ]),
    ['desired', '#555', '6 4'],
  ];
  if (input.marks.some((k) => k.kind === 'storm')) legend.push(['storm', '#f4a3a3']);
  if (input.marks.some((k) => k.kind === 'outage')) legend.push(['Spot outage', '#c9c9c9']);
  legend.forEach(([name, color, dash], i) => {
    const ly = m.top + 10 + i * 24;
    const band = name === 'storm' || name === 'Spot outage';
    out.push(
      band
        ? `<rect x="${lx}" y="${ly - 8}" width="26" height="14" fill="${color}" fill-opacity="0.55"/>`
        : `<line x1="${lx}" x2="${lx + 26}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="${dash ? 1.5 : 3}"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
      `<text x="${lx + 34}" y="${ly + 4}">${esc(name)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
