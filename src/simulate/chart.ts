// capacity.svg: InService capacity against time, one line per strategy, the desired capacity (the groups'
// DesiredCapacity as it moved, a step line; one per strategy where they differ) dashed on top, storms and outages marked as labelled bands, and below it one zoomed panel per storm or outage
// (where the strategies differ, which the full-run panel is too coarse to show). Plain SVG, no library:
// it must open in any browser and render with rsvg-convert (the test turns it into a PNG).

export interface ChartSeries {
  name: string;
  /** One value per equal slice of the run (the recorder's lowest InService within each slice). */
  values: number[];
  /**
   * The groups' DesiredCapacity summed, one value per slice like `values` (report.json's series.desired):
   * it moves when a strategy moves it (a standby attached, a detach with decrement, a launch-before-retire).
   */
  desired: number[];
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
  series: ChartSeries[];
  marks: ChartMark[];
}

const COLORS: Record<string, string> = { 'asg-only': '#d62728', 'drain-only': '#ff7f0e', spotmax: '#1f77b4' };
const FALLBACK = ['#2ca02c', '#9467bd', '#8c564b'];
const DESIRED = '#111111';
/** A strategy's own desired line (where it differs from the first strategy's): its colour, darkened, dotted. */
const OWN_DESIRED_DASH = '3 4';
const darken = (hex: string) =>
  `#${[1, 3, 5]
    .map((i) =>
      Math.round(Number.parseInt(hex.slice(i, i + 2), 16) * 0.55)
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;

/** One desired line: the strategies whose desired series are identical share it. */
export interface DesiredLine {
  strategies: string[];
  values: number[];
  color: string;
  dash: string;
}

/**
 * The desired lines to draw: one for all strategies when their desired never differs (the usual case:
 * the scenario's groups hold their size), else one per distinct series, the first strategy's in black.
 */
export function desiredLines(series: readonly ChartSeries[]): DesiredLine[] {
  const lines: DesiredLine[] = [];
  series.forEach((s, i) => {
    const same = lines.find(
      (l) => l.values.length === s.desired.length && l.values.every((v, k) => v === s.desired[k]),
    );
    if (same) same.strategies.push(s.name);
    else
      lines.push({
        strategies: [s.name],
        values: s.desired,
        color: lines.length === 0 ? DESIRED : darken(seriesColor(s.name, i)),
        dash: lines.length === 0 ? '8 5' : OWN_DESIRED_DASH,
      });
  });
  return lines;
}

/** What the legend says of a desired line: whose it is (when there are several) and its value or range. */
function desiredLabel(line: DesiredLine, several: boolean): string {
  const lo = Math.min(...line.values);
  const hi = Math.max(...line.values);
  const span = line.values.length === 0 ? '-' : lo === hi ? `${lo}` : `${lo}–${hi}`;
  return several ? `desired, ${line.strategies.join(', ')} (${span})` : `desired (${span})`;
}
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

/** The lowest and highest value any line (in service or desired) takes within [from, to). */
function range(input: ChartInput, from: number, to: number): [number, number] {
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const values of input.series.flatMap((s) => [s.values, s.desired])) {
    const n = values.length;
    values.forEach((v, k) => {
      const t0 = (k / n) * input.durationSeconds;
      const t1 = ((k + 1) / n) * input.durationSeconds;
      if (t1 <= from || t0 >= to) return;
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    });
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/** A step line's points: each slice's value held from its start to its end, the slices outside the window left out. */
function steps(
  input: ChartInput,
  values: readonly number[],
  win: Window,
  x: (t: number) => number,
  y: (v: number) => number,
): string {
  const pts: string[] = [];
  const count = values.length;
  values.forEach((v, k) => {
    const t0 = (k / count) * input.durationSeconds;
    const t1 = ((k + 1) / count) * input.durationSeconds;
    if (t1 < win.from || t0 > win.to) return;
    pts.push(`${x(t0).toFixed(1)},${y(v).toFixed(1)}`, `${x(t1).toFixed(1)},${y(v).toFixed(1)}`);
  });
  return pts.join(' ');
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
    out.push(
      `<polyline data-series="${esc(s.name)}" fill="none" stroke="${seriesColor(s.name, i)}" stroke-width="${seriesWidth(i, n)}" stroke-linejoin="round" points="${steps(input, s.values, win, x, y)}"/>`,
    );
  });
  // The desired capacity last, thin and dark, so no strategy line covers it (its levels on whole pixels:
  // crisp). A step line: desired moves when a strategy moves it.
  const yCrisp = (v: number) => Math.round(y(v));
  for (const d of desiredLines(input.series))
    out.push(
      `<polyline data-series="desired" data-strategies="${esc(d.strategies.join(','))}" fill="none" stroke="${d.color}" stroke-width="2" stroke-dasharray="${d.dash}" points="${steps(input, d.values, win, x, yCrisp)}"/>`,
    );
  out.push('</g>');
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
  const desired = desiredLines(input.series);
  for (const d of desired) {
    out.push(
      `<line x1="${lx}" x2="${lx + 30}" y1="${ly}" y2="${ly}" stroke="${d.color}" stroke-width="2" stroke-dasharray="${d.dash}"/>`,
      `<text x="${lx + 38}" y="${ly + 5}">${esc(desiredLabel(d, desired.length > 1))}</text>`,
    );
    ly += 26;
  }
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
