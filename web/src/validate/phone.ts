// Phone numbers, stored in E.164 form (core/src/validate/phone.rs). The same rules over the
// same data: Google's libphonenumber metadata (here libphonenumber-js with its full
// metadata, there the `phonenumber` crate); the shared fixtures hold the two together.
import {
  type CountryCode,
  ParseError,
  isSupportedCountry,
  parsePhoneNumberWithError,
} from "libphonenumber-js/max"
import { type Checked, WHITESPACE, ok, quoted, refuse, trim } from "./field"

const MAX_DIGITS = 15
const MIN_DIGITS = 5
const MAX_INPUT = 64

/** Separators dropped between digits, a leading `00` read as `+`; null on anything else. */
function compact(text: string): string | null {
  let out = ""
  let i = 0
  for (const c of text) {
    if (c >= "0" && c <= "9") out += c
    else if (c === "+" && i === 0) out += c
    else if (!(".-/()".includes(c) || WHITESPACE.test(c))) return null
    i++
  }
  return out.startsWith("00") ? "+" + out.slice(2) : out
}

type Parsed = { e164: string; valid: boolean } | { error: string }

function parse(text: string, region?: CountryCode): Parsed {
  try {
    const n = parsePhoneNumberWithError(text, region ? { defaultCountry: region } : undefined)
    return { e164: n.number, valid: n.isValid() }
  } catch (e) {
    return { error: e instanceof ParseError ? e.message : "OTHER" }
  }
}

export function phone(field: string, input: string, defaultRegion: string): Checked {
  const regionCode = trim(defaultRegion).toUpperCase()
  if (!/^[A-Z]{2}$/.test(regionCode) || !isSupportedCountry(regionCode)) {
    return refuse(field, `default region ${quoted(defaultRegion)} is not a country known to the phone number rules`)
  }
  const trimmed = trim(input)
  if (trimmed === "") return refuse(field, "phone number is empty")
  const shown = quoted(trimmed)
  if ([...trimmed].length > MAX_INPUT) return refuse(field, `${shown} is too long for a phone number`)
  const c = compact(trimmed)
  if (c === null) {
    return refuse(field, `${shown} may only hold digits, a leading +, spaces, dots, dashes and parentheses`)
  }
  const digits = c.replace(/^\++/, "").length
  if (digits < MIN_DIGITS) return refuse(field, `${shown} is too short for a phone number`)
  if (digits > MAX_DIGITS + 1) return refuse(field, `${shown} is too long for a phone number`)

  const international = c.startsWith("+")
  const parsed = parse(c, international ? undefined : (regionCode as CountryCode))
  if ("error" in parsed) {
    switch (parsed.error) {
      case "INVALID_COUNTRY":
        return refuse(field, `${shown} does not start with a known country calling code`)
      case "TOO_LONG":
        return refuse(field, `${shown} is too long for a phone number`)
      case "TOO_SHORT":
      case "NOT_A_NUMBER":
        return refuse(field, `${shown} is too short for a phone number`)
      default:
        return refuse(field, `${shown} is not a phone number`)
    }
  }
  if (!parsed.valid) {
    return refuse(
      field,
      international
        ? `${shown} is not a valid phone number`
        : `${shown} is not a valid ${regionCode} phone number: for another country, start with + and its code`,
    )
  }
  const e164 = parsed.e164
  if (e164.length > MAX_DIGITS + 1) return refuse(field, `${shown} is too long for a phone number`)
  const again = parse(e164)
  if ("error" in again || !again.valid || again.e164 !== e164) {
    return refuse(field, `${shown} is not a valid phone number`)
  }
  return ok(e164)
}
