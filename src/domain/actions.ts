import type { Tags } from './types.js';

// Actions are plain data produced by pure planners and carried out by the executor. Every action says
// why (`reason`), so `plan` explains itself. Later capabilities add kinds here.

interface ActionBase {
  /** The group the action is for. */
  group: string;
  /** What it acts on: an instance id, a volume id, the group name. */
  target: string;
  reason: string;
}

export interface TagInstanceAction extends ActionBase {
  kind: 'tag-instance';
  tags: Tags;
}

export interface TagGroupAction extends ActionBase {
  kind: 'tag-group';
  tags: { key: string; value: string; propagateAtLaunch: boolean }[];
}

export type Action = TagInstanceAction | TagGroupAction;
export type ActionKind = Action['kind'];
export type ActionOf<K extends ActionKind> = Extract<Action, { kind: K }>;
