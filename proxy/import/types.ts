// What an import parser hands to recordImport: the bytes of each side in the order they
// were exchanged, plus the notes and TLS switches that belong between them.
import type { Note, Peer, Protocol, Session, Side, TlsLeg } from '../../shared/schema.ts'

export interface ImportChunk {
  side: Side
  bytes: Buffer
  /** Epoch milliseconds. */
  at: number
  /** Published as proxy notes just before this chunk (what the transcript left out here). */
  notesBefore?: Note[]
  /** Published right after this chunk: fix-ups the parser made to its (single) line. */
  notesAfter?: Note[]
  /** TLS handshakes that finished just before this chunk (decoding goes on in the clear). */
  tlsBefore?: TlsLeg[]
  /** From here on the original was TLS passthrough (encrypted bytes, not decoded). */
  passthroughBefore?: boolean
}

export interface ParsedImport {
  protocol: Protocol
  chunks: ImportChunk[]
  /** Notes about the import as a whole, published first. */
  notes: Note[]
  /** Notes and TLS facts after the last chunk. */
  trailingNotes?: Note[]
  /** Known when the source says it (json export, txt export header). */
  session?: {
    id?: string
    route?: Session['route']
    client?: Peer
    server?: Peer & { host?: string }
    startedAt?: number
    endedAt?: number
    closeReason?: Session['closeReason']
  }
}

export class ImportError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'ImportError'
  }
}
