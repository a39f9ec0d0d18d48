// What every validator shares: the error type, and the input as Rust's `{:?}` shows it, so
// messages are the same words, character for character, as fiche-core's (core/src/validate).

/** A value that was refused, with the field it was meant for and the reason. */
export class FieldError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`)
  }
}

/** The normalised value, or the reason it was refused. */
export type Checked = { ok: true; value: string } | { ok: false; error: FieldError }

export const ok = (value: string): Checked => ({ ok: true, value })
export const refuse = (field: string, reason: string): Checked => ({
  ok: false,
  error: new FieldError(field, reason),
})

// Rust's `char::escape_debug` for strings: quotes, backslashes and the usual controls by
// name; characters Rust deems unprintable (controls, format, private use, unassigned, line
// and paragraph separators, spaces other than U+0020) and grapheme extenders as `\u{hex}`.
const UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u
const EXTENDER = /\p{Grapheme_Extend}/u

/** `s` as Rust's `format!("{s:?}")` writes it. */
export function debug(s: string): string {
  let out = '"'
  for (const c of s) {
    switch (c) {
      case "\0":
        out += "\\0"
        continue
      case "\t":
        out += "\\t"
        continue
      case "\r":
        out += "\\r"
        continue
      case "\n":
        out += "\\n"
        continue
      case '"':
        out += '\\"'
        continue
      case "\\":
        out += "\\\\"
        continue
    }
    if (c !== " " && (UNPRINTABLE.test(c) || EXTENDER.test(c))) {
      out += `\\u{${c.codePointAt(0)!.toString(16)}}`
    } else {
      out += c
    }
  }
  return out + '"'
}

/** The input as shown in an error: quoted, escaped, and cut after 40 characters. */
export function quoted(input: string): string {
  const chars = [...input]
  return chars.length <= 40 ? debug(input) : debug(chars.slice(0, 40).join("")) + "…"
}

/** Unicode White_Space, as Rust's `char::is_whitespace` (JavaScript's `\s` differs). */
export const WHITESPACE = /[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/u

/** Rust's `str::trim`: White_Space at both ends. */
export function trim(s: string): string {
  return s.replace(/^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+|[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+$/gu, "")
}

/** Length in UTF-8 bytes, as Rust's `str::len`. */
export function byteLength(s: string): number {
  return new TextEncoder().encode(s).length
}

export const isAsciiDigit = (c: string) => c >= "0" && c <= "9"
export const isAsciiUpper = (c: string) => c >= "A" && c <= "Z"
export const isAsciiAlnum = (c: string) => /^[A-Za-z0-9]$/.test(c)
export const isAscii = (s: string) => /^[\x00-\x7f]*$/.test(s)
