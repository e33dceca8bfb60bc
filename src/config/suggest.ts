// "Did you mean" for unknown fields, tag keys and legacy keys: the closest known name by edit
// distance, ignoring case and separators, so `detachDelaySecs` finds `detachDelaySeconds` and
// `spotmax:detach_delay_seconds` finds `spotmax:detaching_delay_seconds`.

const normalize = (s: string) => s.toLowerCase().replace(/[-_:.\s]/g, '');

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + cost);
    }
    prev = cur;
  }
  return prev[b.length]!;
}

/** The candidate closest to `word`, or undefined when none is close enough to be a plausible typo. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = normalize(word);
  let best: { name: string; d: number } | undefined;
  for (const name of candidates) {
    const n = normalize(name);
    // A shortened or lengthened form (Secs / Seconds) counts as close.
    const d = n.startsWith(w) || w.startsWith(n) ? Math.abs(n.length - w.length) / 2 : distance(w, n);
    if (!best || d < best.d) best = { name, d };
  }
  if (!best) return undefined;
  const limit = Math.max(2, Math.floor(Math.max(w.length, normalize(best.name).length) / 3));
  return best.d <= limit ? best.name : undefined;
}

const tokens = (s: string) =>
  s
    .toLowerCase()
    .split(/[-_:.\s]+|(?<=[a-z])(?=[A-Z])/)
    .filter(Boolean);

function byWords(word: string, candidates: readonly string[]) {
  const mine = tokens(word);
  let best: { name: string; shared: number; d: number } | undefined;
  for (const name of candidates) {
    const theirs = tokens(name);
    const shared = mine.filter((t) => theirs.some((u) => u.startsWith(t) || t.startsWith(u))).length;
    const d = distance(normalize(word), normalize(name));
    if (!best || shared > best.shared || (shared === best.shared && d < best.d)) best = { name, shared, d };
  }
  return best && { ...best, words: mine.length };
}

/**
 * The candidate sharing the most words with `word` (a word counts when one is a prefix of the
 * other: detach / detaching), ties broken by edit distance. Always answers when there are candidates.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  return byWords(word, candidates)?.name;
}

/** `; did you mean "x"?` or a list of what is known, for the end of an error message. */
export function suggestion(word: string, candidates: readonly string[]): string {
  let best = closest(word, candidates);
  if (!best) {
    // Not a typo but a different wording (max_messages / max_number_of_messages): every word of
    // it, or most of several, must appear in the candidate.
    const w = byWords(word, candidates);
    if (w && (w.shared === w.words || (w.shared >= 2 && w.shared * 3 >= w.words * 2))) best = w.name;
  }
  if (best) return `; did you mean "${best}"?`;
  return candidates.length > 0 ? `; known: ${candidates.join(', ')}` : '';
}
