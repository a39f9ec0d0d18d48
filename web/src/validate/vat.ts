// EU VAT numbers as VIES knows them (core/src/validate/vat.rs).
import { type Checked, WHITESPACE, ok, quoted, refuse, trim } from "./field"

type Rule = {
  prefix: string
  /** `#` a digit, `@` an uppercase letter, `?` either; anything else stands for itself. */
  shapes: string[]
  expected: string
  checksum?: (n: string) => boolean
}

const digit = (c: string) => c.charCodeAt(0) - 48
const number = (s: string) => [...s].reduce((acc, c) => acc * 10 + digit(c), 0)

const belgium = (n: string) => 97 - (number(n.slice(0, 8)) % 97) === number(n.slice(8))

function mod1110(n: string): boolean {
  let product = 10
  for (const c of n.slice(0, -1)) {
    let sum = (digit(c) + product) % 10
    if (sum === 0) sum = 10
    product = (2 * sum) % 11
  }
  return (11 - product) % 10 === digit(n[n.length - 1])
}

function france(n: string): boolean {
  const key = n.slice(0, 2)
  if (!/^[0-9]{2}$/.test(key)) return true
  return (12 + 3 * (number(n.slice(2)) % 97)) % 97 === number(key)
}

function luhn(n: string): boolean {
  let sum = 0
  ;[...n].reverse().forEach((c, i) => {
    const d = digit(c)
    sum += i % 2 === 1 ? (d * 2 > 9 ? d * 2 - 9 : d * 2) : d
  })
  return sum % 10 === 0
}

function poland(n: string): boolean {
  const weights = [6, 5, 7, 2, 3, 4, 5, 6, 7]
  const sum = weights.reduce((acc, w, i) => acc + digit(n[i]) * w, 0)
  return sum % 11 === digit(n[9])
}

const RULES: Rule[] = [
  { prefix: "AT", shapes: ["U########"], expected: "U followed by 8 digits" },
  { prefix: "BE", shapes: ["0#########", "1#########"], expected: "10 digits starting with 0 or 1", checksum: belgium },
  { prefix: "BG", shapes: ["#########", "##########"], expected: "9 or 10 digits" },
  { prefix: "CY", shapes: ["########@"], expected: "8 digits and a letter" },
  { prefix: "CZ", shapes: ["########", "#########", "##########"], expected: "8, 9 or 10 digits" },
  { prefix: "DE", shapes: ["#########"], expected: "9 digits", checksum: mod1110 },
  { prefix: "DK", shapes: ["########"], expected: "8 digits" },
  { prefix: "EE", shapes: ["#########"], expected: "9 digits" },
  { prefix: "EL", shapes: ["#########"], expected: "9 digits" },
  {
    prefix: "ES",
    shapes: ["@#######@", "@########", "########@"],
    expected: "a letter or digit, 7 digits, a letter or digit (not both ends digits)",
  },
  { prefix: "FI", shapes: ["########"], expected: "8 digits" },
  { prefix: "FR", shapes: ["??#########"], expected: "a 2-character key then the 9-digit SIREN", checksum: france },
  { prefix: "HR", shapes: ["###########"], expected: "11 digits", checksum: mod1110 },
  { prefix: "HU", shapes: ["########"], expected: "8 digits" },
  {
    prefix: "IE",
    shapes: ["#######@", "#######@@", "#@#####@", "#+#####@", "#*#####@"],
    expected: "7 digits and 1 or 2 letters (old style: digit, letter/+/*, 5 digits, letter)",
  },
  { prefix: "IT", shapes: ["###########"], expected: "11 digits", checksum: luhn },
  { prefix: "LT", shapes: ["#########", "############"], expected: "9 or 12 digits" },
  { prefix: "LU", shapes: ["########"], expected: "8 digits" },
  { prefix: "LV", shapes: ["###########"], expected: "11 digits" },
  { prefix: "MT", shapes: ["########"], expected: "8 digits" },
  { prefix: "NL", shapes: ["#########B##"], expected: "9 digits, the letter B and 2 digits" },
  { prefix: "PL", shapes: ["##########"], expected: "10 digits", checksum: poland },
  { prefix: "PT", shapes: ["#########"], expected: "9 digits" },
  {
    prefix: "RO",
    shapes: ["##", "###", "####", "#####", "######", "#######", "########", "#########", "##########"],
    expected: "2 to 10 digits",
  },
  { prefix: "SE", shapes: ["##########01"], expected: "12 digits ending in 01" },
  { prefix: "SI", shapes: ["########"], expected: "8 digits" },
  { prefix: "SK", shapes: ["##########"], expected: "10 digits" },
  { prefix: "XI", shapes: ["#########", "############", "GD###", "HA###"], expected: "9 or 12 digits, or GD or HA and 3 digits" },
]

function fits(shape: string, text: string): boolean {
  if (shape.length !== text.length) return false
  for (let i = 0; i < shape.length; i++) {
    const want = shape[i]
    const got = text[i]
    const good =
      want === "#" ? /[0-9]/.test(got)
      : want === "@" ? /[A-Z]/.test(got)
      : want === "?" ? /[0-9A-Z]/.test(got)
      : got === want
    if (!good) return false
  }
  return true
}

export function vatNumber(field: string, input: string): Checked {
  const trimmed = trim(input)
  if (trimmed === "") return refuse(field, "VAT number is empty")
  const shown = quoted(trimmed)
  if ([...trimmed].length > 40) return refuse(field, `${shown} is too long for a VAT number`)
  let compact = ""
  for (const c of trimmed) {
    if (WHITESPACE.test(c) || c === "." || c === "-") continue
    compact += c >= "a" && c <= "z" ? c.toUpperCase() : c
  }
  if (!/^[A-Za-z0-9+*]*$/.test(compact)) {
    return refuse(field, `${shown} may only hold letters, digits, spaces, dots and dashes`)
  }
  let prefix = compact.slice(0, 2)
  if (prefix === "GR") prefix = "EL"
  const rule = RULES.find(r => r.prefix === prefix)
  if (!rule) {
    const hint = prefix === "GB" ? " (British numbers are not EU VAT numbers, except XI for Northern Ireland)" : ""
    return refuse(field, `${shown} must start with an EU country prefix: ${RULES.map(r => r.prefix).join(", ")}${hint}`)
  }
  const national = compact.slice(2)
  if (!rule.shapes.some(shape => fits(shape, national))) {
    return refuse(field, `${shown} is not a valid ${rule.prefix} VAT number: expected ${prefix} and ${rule.expected}`)
  }
  if (rule.checksum && !rule.checksum(national)) {
    return refuse(field, `${shown}: checksum does not match: check the digits`)
  }
  return ok(rule.prefix + national)
}
