// Keeps secrets (passwords, tokens, SASL answers) from leaving the server unless the
// user asked for them: event secret values become '•••', and the raw bytes that carried
// them are masked byte for byte ('*'), so offsets and sequence numbers stay valid.
import type { SessionEvent, Side } from '../../shared/schema.ts'
import { redactEvent, SECRET_MASK } from '../store/redact.ts'

export { redactEvent }
export const MASK = SECRET_MASK
/** Same length as what it hides, so raw offsets and pcapng seq numbers still line up. */
const MASK_BYTE = 0x2a // '*'

export function redactEvents(events: readonly SessionEvent[]): SessionEvent[] {
  return events.map((e) => redactEvent(e))
}

export interface SecretRange {
  side: Side
  /** [start, end) in that side's stream. */
  start: number
  end: number
}

/**
 * Where the secrets sit in the raw capture. Decoders list the wire form of a SASL answer
 * as a secret too, so most are found by value inside their event's bytes; when a value
 * is not there literally the whole line after the shown (masked) prefix is hidden.
 */
export function secretRanges(events: readonly SessionEvent[], raw: Record<Side, Buffer>): SecretRange[] {
  const out: SecretRange[] = []
  for (const ev of events) {
    if (!ev.secrets?.length || !ev.raw) continue
    const { side, offset, length } = ev.raw
    out.push(...secretRangesOfEvent(ev, raw[side].subarray(offset, Math.min(offset + length, raw[side].length))))
  }
  return out
}

/** The secret ranges of one event, given the bytes its raw reference points at. */
export function secretRangesOfEvent(ev: SessionEvent, slice: Buffer): SecretRange[] {
  const out: SecretRange[] = []
  if (!ev.secrets?.length || !ev.raw || slice.length === 0) return out
  const { side, offset } = ev.raw
  for (const s of ev.secrets) {
    if (!s.value || s.value === MASK) continue
    const needle = Buffer.from(s.value, 'utf8')
    for (let i = slice.indexOf(needle); i >= 0; i = slice.indexOf(needle, i + needle.length)) {
      out.push({ side, start: offset + i, end: offset + i + needle.length })
    }
  }
  if (out.length) return out
  let from = 0
  const item = ev.item
  if (item?.kind === 'command' && item.line.includes(MASK)) {
    const prefix = item.line.slice(0, item.line.indexOf(MASK))
    if (slice.subarray(0, Buffer.byteLength(prefix)).toString('utf8').toLowerCase() === prefix.toLowerCase()) {
      from = Buffer.byteLength(prefix)
    }
  }
  let to = slice.indexOf(0x0a, from)
  if (to < 0) to = slice.length
  if (to > from && slice[to - 1] === 0x0d) to--
  if (to > from) out.push({ side, start: offset + from, end: offset + to })
  return out
}

/** A copy of `bytes` (that side's stream from `base`) with the secret ranges masked. */
export function maskBytes(bytes: Buffer, side: Side, ranges: readonly SecretRange[], base = 0): Buffer {
  let copy: Buffer | undefined
  for (const r of ranges) {
    if (r.side !== side) continue
    const start = Math.max(r.start - base, 0)
    const end = Math.min(r.end - base, bytes.length)
    if (end <= start) continue
    copy ??= Buffer.from(bytes)
    copy.fill(MASK_BYTE, start, end)
  }
  return copy ?? bytes
}
