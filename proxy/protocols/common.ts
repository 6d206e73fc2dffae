// Small pieces every line-based decoder shares: notes, raw references, the per-decoder
// ref counter, the pending-command queue used for reply pairing, and the opaque tail.
import type { Decoded, Item, Note, NoteLevel, RawRef, Secret, Side } from '../../shared/schema.ts'
import type { Line } from './lines.ts'

export function mkNote(level: NoteLevel, code: string, text: string, hint?: string, ref?: string): Note {
  const n: Note = { level, code, text }
  if (hint) n.hint = hint
  if (ref) n.ref = ref
  return n
}

export function rawOf(side: Side, line: { offset: number; length: number }): RawRef {
  return { side, offset: line.offset, length: line.length }
}

/** A raw ref spanning from the first to the last of several lines. */
export function rawSpan(side: Side, first: { offset: number }, last: { offset: number; length: number }): RawRef {
  return { side, offset: first.offset, length: last.offset + last.length - first.offset }
}

/** Builds a Decoded, leaving out empty fields so goldens stay small. */
export function decoded(
  from: Decoded['from'],
  at: number,
  item: Item | undefined,
  extra: { raw?: RawRef; notes?: Note[]; secrets?: Secret[]; ref?: number; replyToRef?: number; attemptRef?: number } = {},
): Decoded {
  const d: Decoded = { from, at }
  if (extra.ref !== undefined) d.ref = extra.ref
  if (extra.replyToRef !== undefined) d.replyToRef = extra.replyToRef
  if (extra.attemptRef !== undefined) d.attemptRef = extra.attemptRef
  if (extra.raw) d.raw = extra.raw
  if (item) d.item = item
  if (extra.notes?.length) d.notes = extra.notes
  if (extra.secrets?.length) d.secrets = extra.secrets
  return d
}

/** Counts bytes a side sent while the decoder was not decoding it (opaque). */
export class OpaqueTail {
  offset = -1
  length = 0
  add(offset: number, length: number): void {
    if (this.offset < 0) this.offset = offset
    this.length += length
  }
  /** One OpaqueItem for everything counted (emitted once, so splits don't matter). */
  flush(side: Side, at: number, reason: string): Decoded[] {
    if (this.length === 0) return []
    const d = decoded(side, at, { kind: 'opaque', length: this.length, reason }, {
      raw: { side, offset: this.offset, length: this.length },
    })
    this.offset = -1
    this.length = 0
    return [d]
  }
}

/** The RFC line-limit note (a note, not a cut: real servers vary). */
export function lineTooLongNote(code: string, line: Line, limit: number, what: string, ref: string): Note {
  return mkNote('warn', code, `${what} is ${line.length} bytes, over the limit of ${limit}`, 'Strict servers reject or truncate such lines.', ref)
}
