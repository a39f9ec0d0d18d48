// IBAN (ISO 13616) and BIC (ISO 9362) (core/src/validate/iban.rs).
import { isCountry } from "./country"
import { type Checked, WHITESPACE, ok, quoted, refuse, trim } from "./field"

/** Length of a full IBAN per country (SWIFT IBAN registry, release 101). */
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BI: 27, BR: 29,
  BY: 28, CH: 21, CR: 22, CY: 28, CZ: 24, DE: 22, DJ: 27, DK: 18, DO: 28, EE: 20, EG: 29,
  ES: 24, FI: 18, FK: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28,
  HN: 28, HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20,
  LB: 28, LC: 32, LI: 21, LT: 20, LU: 20, LV: 21, LY: 25, MC: 27, MD: 24, ME: 22, MK: 19,
  MN: 20, MR: 27, MT: 31, MU: 30, NI: 28, NL: 18, NO: 15, OM: 23, PK: 24, PL: 28, PS: 29,
  PT: 25, QA: 29, RO: 24, RS: 22, RU: 33, SA: 24, SC: 31, SD: 18, SE: 24, SI: 19, SK: 24,
  SM: 27, SO: 23, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22, VG: 24, XK: 20,
  YE: 30,
}

/** Without White_Space, ASCII letters uppercased (Rust's `to_ascii_uppercase`). */
function compact(input: string): string {
  let out = ""
  for (const c of input) {
    if (WHITESPACE.test(c)) continue
    out += c >= "a" && c <= "z" ? c.toUpperCase() : c
  }
  return out
}

export function iban(field: string, input: string): Checked {
  const c = compact(input)
  if (c === "") return refuse(field, "IBAN is empty")
  const shown = quoted(trim(input))
  if (!/^[A-Za-z0-9]+$/.test(c)) return refuse(field, `${shown} may only hold letters, digits and spaces`)
  if (c.length < 4) return refuse(field, `${shown} is too short for an IBAN`)
  const country = c.slice(0, 2)
  if (!/^[A-Z]{2}$/.test(country)) return refuse(field, `${shown} does not start with a country code, as in FR76…`)
  const expected = IBAN_LENGTHS[country]
  if (expected === undefined) {
    return refuse(
      field,
      isCountry(country)
        ? `${shown}: ${country} does not use IBAN`
        : `${shown} does not start with a known IBAN country code`,
    )
  }
  const check = c.slice(2, 4)
  if (!/^[0-9]{2}$/.test(check)) return refuse(field, `${shown} must have two check digits after ${country}`)
  if (c.length !== expected) {
    return refuse(field, `${shown} has ${c.length} characters but a ${country} IBAN has ${expected}`)
  }
  if (["00", "01", "99"].includes(check) || mod97(c) !== 1) {
    return refuse(field, `${shown}: checksum does not match: check the digits`)
  }
  return ok(c)
}

function mod97(c: string): number {
  let rest = 0
  for (const ch of c.slice(4) + c.slice(0, 4)) {
    rest = ch >= "0" && ch <= "9" ? (rest * 10 + Number(ch)) % 97 : (rest * 100 + ch.charCodeAt(0) - 55) % 97
  }
  return rest
}

export function bic(field: string, input: string): Checked {
  const c = compact(input)
  if (c === "") return refuse(field, "BIC is empty")
  const shown = quoted(trim(input))
  if (!/^[A-Za-z0-9]+$/.test(c)) return refuse(field, `${shown} may only hold letters and digits`)
  if (c.length !== 8 && c.length !== 11) {
    return refuse(field, `${shown} has ${[...c].length} characters but a BIC has 8 or 11`)
  }
  if (!/^[A-Z]{4}$/.test(c.slice(0, 4))) return refuse(field, `${shown} must start with 4 letters for the bank`)
  const country = c.slice(4, 6)
  if (!isCountry(country)) {
    return refuse(field, `${shown}: "${country}" (5th and 6th characters) is not an ISO 3166 country code`)
  }
  return ok(c)
}
