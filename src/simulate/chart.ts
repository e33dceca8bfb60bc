// capacity.svg: InService capacity against time, one line per strategy, the desired capacity dashed on
// top, storms and outages marked as labelled bands, and below it one zoomed panel per storm or outage
// (where the strategies differ, which the full-run panel is too coarse to show). Plain SVG, no library:
// it must open in any browser and render with rsvg-convert (the test turns it into a PNG).

export interface ChartSeries {
  name: string;
  /** One value per equal slice of the run (the recorder's lowest InService within each slice). */
  values: number[];
  /** The table's headline numbers for this strategy, shown under its name in the legend (one per line). */
  headline?: string[];
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
const DESIRED = '#111111';
/** More marks than this get no zoomed panel of their own (the chart says how many were left out). */
const MAX_ZOOMS = 4;

const esc = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export const seriesColor = (name: string, i: number) => COLORS[name] ?? FALLBACK[i % FALLBACK.length]!;

/**
 * Lines drawn in order, each narrower than the one before: where strategies hold the same capacity they
 * nest (a wide red, an orange inside it, a thin blue in the middle) instead of the last hiding the rest.
 */
export const seriesWidth = (i: number, n: number) => 2 + (n - 1 - i) * 4;

function niceStep(range: number, target: number): number {
  const raw = Math.max(range, 1e-9) / target;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

const TIME_STEPS = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 14_400, 21_600, 43_200, 86_400];

/** h:mm from the scenario start (h:mm:ss when a tick falls inside a minute). */
export function timeLabel(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  return `${h}:${String(m).padStart(2, '0')}${sec ? `:${String(sec).padStart(2, '0')}` : ''}`;
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

interface Window {
  from: number;
  to: number;
  yMin: number;
  yMax: number;
}

/** The lowest and highest value any line (or the desired) takes within [from, to). */
function range(input: ChartInput, from: number, to: number): [number, number] {
  let lo = input.desired;
  let hi = input.desired;
  for (const s of input.series) {
    const n = s.values.length;
    s.values.forEach((v, k) => {
      const t0 = (k / n) * input.durationSeconds;
      const t1 = ((k + 1) / n) * input.durationSeconds;
      if (t1 <= from || t0 >= to) return;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    });
  }
  return [lo, hi];
}

function panel(input: ChartInput, box: Box, win: Window, id: string, small: boolean): string[] {
  const out: string[] = [];
  const span = Math.max(1, win.to - win.from);
  const x = (t: number) => box.x + ((t - win.from) / span) * box.w;
  const y = (v: number) => box.y + box.h - ((v - win.yMin) / Math.max(1e-9, win.yMax - win.yMin)) * box.h;
  out.push(
    `<clipPath id="${id}"><rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}"/></clipPath>`,
    `<g clip-path="url(#${id})">`,
  );
  for (const mark of input.marks) {
    if (mark.to <= win.from || mark.from >= win.to) continue;
    const x0 = x(Math.max(mark.from, win.from));
    const x1 = Math.max(x(Math.min(mark.to, win.to)), x0 + 3);
    const fill = mark.kind === 'storm' ? '#f4a3a3' : '#c9c9c9';
    out.push(
      `<rect x="${x0.toFixed(1)}" y="${box.y}" width="${(x1 - x0).toFixed(1)}" height="${box.h}" fill="${fill}" fill-opacity="0.5"/>`,
    );
  }
  const yStep = Math.max(1, niceStep(win.yMax - win.yMin, small ? 4 : 6));
  for (let v = Math.ceil(win.yMin / yStep) * yStep; v <= win.yMax + 1e-9; v += yStep) {
    out.push(
      `<line x1="${box.x}" x2="${box.x + box.w}" y1="${y(v).toFixed(1)}" y2="${y(v).toFixed(1)}" stroke="#e3e3e3"/>`,
    );
  }
  const n = input.series.length;
  input.series.forEach((s, i) => {
    const pts: string[] = [];
    const count = s.values.length;
    s.values.forEach((v, k) => {
      const t0 = (k / count) * input.durationSeconds;
      const t1 = ((k + 1) / count) * input.durationSeconds;
      if (t1 < win.from || t0 > win.to) return;
      pts.push(`${x(t0).toFixed(1)},${y(v).toFixed(1)}`, `${x(t1).toFixed(1)},${y(v).toFixed(1)}`);
    });
    out.push(
      `<polyline data-series="${esc(s.name)}" fill="none" stroke="${seriesColor(s.name, i)}" stroke-width="${seriesWidth(i, n)}" stroke-linejoin="round" points="${pts.join(' ')}"/>`,
    );
  });
  // The desired capacity last, thin and dark, so no strategy line covers it (on whole pixels: crisp).
  out.push(
    `<line data-series="desired" x1="${box.x}" x2="${box.x + box.w}" y1="${Math.round(y(input.desired))}" y2="${Math.round(y(input.desired))}" stroke="${DESIRED}" stroke-width="2" stroke-dasharray="8 5"/>`,
    '</g>',
  );
  for (let v = Math.ceil(win.yMin / yStep) * yStep; v <= win.yMax + 1e-9; v += yStep) {
    out.push(
      `<text x="${box.x - 6}" y="${(y(v) + 4).toFixed(1)}" text-anchor="end"${small ? ' font-size="11"' : ''}>${v}</text>`,
    );
  }
  const xStep = TIME_STEPS.find((st) => span / st <= (small ? 4 : 10)) ?? 172_800;
  for (let t = Math.ceil(win.from / xStep) * xStep; t <= win.to + 1e-6; t += xStep) {
    out.push(
      `<line x1="${x(t).toFixed(1)}" x2="${x(t).toFixed(1)}" y1="${box.y + box.h}" y2="${box.y + box.h + 5}" stroke="#333"/>`,
      `<text x="${x(t).toFixed(1)}" y="${box.y + box.h + 19}" text-anchor="middle"${small ? ' font-size="11"' : ''}>${timeLabel(t)}</text>`,
    );
  }
  out.push(`<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="none" stroke="#333"/>`);
  if (win.yMin > 0) {
    // The axis does not start at 0: a break mark on it and a word, so a dip is not read as a collapse.
    const bx = box.x;
    const by = box.y + box.h - 10;
    out.push(
      `<path d="M${bx - 7},${by + 4} l14,-5 M${bx - 7},${by + 9} l14,-5" stroke="#333" stroke-width="1.5"/>`,
      `<text data-cut="${win.yMin}" x="${box.x + 4}" y="${box.y + box.h - 4}" font-size="10" fill="#555">y axis cut at ${win.yMin}</text>`,
    );
  }
  return out;
}

function zoomWindow(input: ChartInput, mark: ChartMark): Window {
  // From a little before the mark to long enough after it for replacements to boot and go InService.
  const len = Math.max(60, mark.to - mark.from);
  const from = Math.max(0, mark.from - Math.max(120, len * 0.25));
  const to = Math.min(input.durationSeconds, mark.to + Math.max(600, len * 0.5));
  const [lo, hi] = range(input, from, to);
  const pad = Math.max(1, (hi - lo) * 0.15);
  const yMin = Math.max(0, Math.floor(lo - pad));
  return { from, to, yMin, yMax: Math.ceil(hi + pad) };
}

export function renderCapacitySvg(input: ChartInput): string {
  const zooms = input.marks.slice(0, MAX_ZOOMS);
  const W = 1200;
  const legendW = 330;
  const m = { left: 70, top: 56 };
  const main: Box = { x: m.left, y: m.top, w: W - m.left - legendW - 20, h: 340 };
  const zoomTop = main.y + main.h + 80;
  const zoomH = zooms.length > 0 ? 200 : 0;
  const H = zooms.length > 0 ? zoomTop + zoomH + 56 : main.y + main.h + 64;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${m.left}" y="30" font-size="18" font-weight="bold">${esc(input.title)}</text>`,
  );
  const [, hi] = range(input, 0, input.durationSeconds);
  // The full run always starts at 0: the zoomed panels below are where small dips are read.
  out.push(
    ...panel(
      input,
      main,
      { from: 0, to: input.durationSeconds, yMin: 0, yMax: Math.ceil(hi * 1.08 + 1) },
      'full',
      false,
    ),
  );
  const x = (t: number) => main.x + (t / Math.max(1, input.durationSeconds)) * main.w;
  input.marks.forEach((mark, i) => {
    const zoomed = i < MAX_ZOOMS ? ` [${String.fromCharCode(65 + i)}]` : '';
    out.push(
      `<text x="${(x(mark.from) + 4).toFixed(1)}" y="${main.y + 16 + (i % 4) * 16}" font-size="12" fill="#7a1f1f">${esc(`${mark.kind === 'storm' ? 'storm' : 'outage'}: ${mark.label}${zoomed}`)}</text>`,
    );
  });
  out.push(
    `<text x="${main.x + main.w / 2}" y="${main.y + main.h + 40}" text-anchor="middle">time since the scenario start (h:mm)</text>`,
    `<text transform="translate(20 ${main.y + main.h / 2}) rotate(-90)" text-anchor="middle">instances InService (all groups)</text>`,
  );
  if (zooms.length > 0) {
    const gap = 50;
    const zw = (W - m.left - 20 - gap * (zooms.length - 1)) / zooms.length;
    zooms.forEach((mark, i) => {
      const box: Box = { x: m.left + i * (zw + gap), y: zoomTop, w: zw, h: zoomH };
      out.push(
        `<text x="${box.x}" y="${box.y - 10}" font-weight="bold">${esc(`[${String.fromCharCode(65 + i)}] ${mark.kind === 'storm' ? 'storm' : 'outage'}: ${mark.label}, zoomed`)}</text>`,
        ...panel(input, box, zoomWindow(input, mark), `zoom${i}`, true),
      );
    });
    if (input.marks.length > MAX_ZOOMS)
      out.push(
        `<text x="${m.left}" y="${H - 12}" font-size="12" fill="#555">${input.marks.length - MAX_ZOOMS} more storm(s)/outage(s) marked above, not zoomed</text>`,
      );
  }
  // Legend: each swatch drawn exactly as its line (colour and width), the headline numbers under it.
  const lx = main.x + main.w + 24;
  let ly = main.y + 8;
  const n = input.series.length;
  const same = input.series.map((s, i) =>
    input.series.findIndex((o, j) => j < i && o.values.every((v, k) => v === s.values[k])),
  );
  input.series.forEach((s, i) => {
    const name = same[i]! >= 0 ? `${s.name} (same as ${input.series[same[i]!]!.name})` : s.name;
    out.push(
      `<line x1="${lx}" x2="${lx + 30}" y1="${ly}" y2="${ly}" stroke="${seriesColor(s.name, i)}" stroke-width="${seriesWidth(i, n)}"/>`,
      `<text x="${lx + 38}" y="${ly + 5}" font-weight="bold">${esc(name)}</text>`,
    );
    const lines = s.headline ?? [];
    lines.forEach((line, k) => {
      out.push(`<text x="${lx + 38}" y="${ly + 22 + k * 16}" font-size="12">${esc(line)}</text>`);
    });
    ly += 28 + lines.length * 16;
  });
  out.push(
    `<line x1="${lx}" x2="${lx + 30}" y1="${ly}" y2="${ly}" stroke="${DESIRED}" stroke-width="2" stroke-dasharray="8 5"/>`,
    `<text x="${lx + 38}" y="${ly + 5}">desired (${input.desired})</text>`,
  );
  ly += 26;
  for (const [kind, label, color] of [
    ['storm', 'Spot storm (warnings)', '#f4a3a3'],
    ['outage', 'Spot outage', '#c9c9c9'],
  ] as const) {
    if (!input.marks.some((k) => k.kind === kind)) continue;
    out.push(
      `<rect x="${lx}" y="${ly - 7}" width="30" height="14" fill="${color}" fill-opacity="0.5"/>`,
      `<text x="${lx + 38}" y="${ly + 5}">${label}</text>`,
    );
    ly += 26;
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
