// Parse results shared by every wire format in protocol/.
// Parsers never throw on the data path: they return Ok or one of a closed set of errors,
// and the caller drops the input and counts the reason (see ../shared/style.md, "What we take" 2).

/** The closed set of reasons a parser rejects its input. */
export type ParseErrorKind =
  /** Malformed: truncated, bad length, bad version, option overrun, ... */
  | 'format'
  /** A checksum did not verify. */
  | 'checksum'
  /** Well-formed but uses something this stack does not implement. */
  | 'unsupported'
  /** Well-formed but not what the caller expected here (wrong type for this parser, ...). */
  | 'unexpected';

export interface ParseError {
  readonly ok: false;
  readonly kind: ParseErrorKind;
  /** Short, stable description for counters and debugging; never contains packet bytes. */
  readonly reason: string;
}

export interface ParseOk<T> {
  readonly ok: true;
  readonly value: T;
}

export type ParseResult<T> = ParseOk<T> | ParseError;

export function ok<T>(value: T): ParseOk<T> {
  return { ok: true, value };
}

/** Errors are frozen singletons per (kind, reason) site, so rejecting costs no allocation
 *  when callers pass a module-level constant made with `err`. */
export function err(kind: ParseErrorKind, reason: string): ParseError {
  return Object.freeze({ ok: false as const, kind, reason });
}
