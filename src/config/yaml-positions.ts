import { type Document, isMap, isPair, isScalar, isSeq, type LineCounter, type Node, type Pair } from 'yaml';

// Maps a path in the parsed data (as zod reports it) back to where it was written, so every
// error points at a line and column and every policy value at its line.

export interface Position {
  line: number;
  col: number;
}

export interface Located {
  /** The node at the path, or the deepest enclosing one when the path is not written. */
  node: Node;
  /** The key of the deepest pair on the way: where a field "is" for a reader. */
  key?: Node;
  /** True when the whole path exists in the document. */
  exact: boolean;
}

export function locate(doc: Document, path: readonly PropertyKey[]): Located | undefined {
  let node = doc.contents as Node | null;
  if (!node) return undefined;
  let key: Node | undefined;
  for (const seg of path) {
    if (isMap(node)) {
      const pair: Pair | undefined = node.items.find(
        (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(seg),
      );
      if (!pair) return { node, ...(key ? { key } : {}), exact: false };
      key = pair.key as Node;
      // `field:` with nothing after it has no value node; the key stands in for it.
      node = (pair.value as Node | null) ?? key;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg]) {
      node = node.items[seg] as Node;
      key = node;
    } else {
      return { node, ...(key ? { key } : {}), exact: false };
    }
  }
  return { node, ...(key ? { key } : {}), exact: true };
}

export function positionOf(node: Node | undefined, lc: LineCounter): Position {
  const offset = node?.range?.[0] ?? 0;
  return lc.linePos(offset);
}

/** The key node of `path`'s last segment, for "unknown field" errors that should point at the key. */
export function keyNode(doc: Document, path: readonly PropertyKey[]): Node | undefined {
  const found = locate(doc, path);
  return found?.exact ? found.key : undefined;
}
