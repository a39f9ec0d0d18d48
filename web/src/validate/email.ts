// E-mail addresses: the RFC 5322 addr-spec with an Internet domain (core/src/validate/email.rs).
import { type Checked, byteLength, isAscii, ok, quoted, refuse, trim } from "./field"

const MAX_ADDRESS = 254
const MAX_LOCAL = 64
const MAX_DOMAIN = 255
const MAX_LABEL = 63

const ATEXT = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]$/

export function email(field: string, input: string): Checked {
  const address = trim(input)
  if (address === "") return refuse(field, "email address is empty")
  const shown = quoted(address)
  if (byteLength(address) > MAX_ADDRESS) {
    return refuse(field, `${shown} is too long for an email address (at most ${MAX_ADDRESS} characters)`)
  }
  const at = address.lastIndexOf("@")
  if (at < 0) return refuse(field, `${shown} has no "@": an email address looks like name@example.com`)
  const local = address.slice(0, at)
  const domain = address.slice(at + 1)
  if (local === "") return refuse(field, `${shown} has nothing before the "@"`)
  if (domain === "") return refuse(field, `${shown} has no domain after the "@"`)
  if (byteLength(local) > MAX_LOCAL) {
    return refuse(field, `${shown} has more than ${MAX_LOCAL} characters before the "@"`)
  }
  const localProblem = checkLocal(local)
  if (localProblem) return refuse(field, `${shown} is not a valid email address: ${localProblem}`)
  if (byteLength(domain) > MAX_DOMAIN) return refuse(field, `${shown} has a domain that is too long`)
  const domainProblem = checkDomain(domain)
  if (domainProblem) return refuse(field, `${shown} is not a valid email address: ${domainProblem}`)
  return ok(`${local}@${domain.toLowerCase()}`)
}

function checkLocal(local: string): string | undefined {
  if (!isAscii(local)) return 'accented or non-Latin letters are not allowed before the "@"'
  if (local.startsWith('"')) return checkQuoted(local)
  if (local.startsWith(".") || local.endsWith(".")) {
    return 'the part before the "@" cannot start or end with a dot'
  }
  if (local.includes("..")) return 'the part before the "@" has two dots in a row'
  for (const c of local) {
    if (c !== "." && !ATEXT.test(c)) return 'the part before the "@" holds a character that needs quoting'
  }
  return undefined
}

const graphic = (c: string) => c > " " && c < "\x7f"

function checkQuoted(local: string): string | undefined {
  const unclosed = 'the quoted part before the "@" is not closed'
  const rest = [...local].slice(1)
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i]
    if (c === '"') {
      return i + 1 === rest.length ? undefined : 'the part before the "@" has text after its closing quote'
    }
    if (c === "\\") {
      const escaped = rest[++i]
      if (escaped === undefined) return unclosed
      if (!(escaped === " " || escaped === "\t" || graphic(escaped))) {
        return 'the part before the "@" escapes a control character'
      }
      continue
    }
    if (c === " " || c === "\t" || graphic(c)) continue
    return 'the part before the "@" holds a control character'
  }
  return unclosed
}

function checkDomain(domain: string): string | undefined {
  if (domain.startsWith("[")) return "an IP address in brackets is not accepted as a domain"
  if (!isAscii(domain)) return "the domain holds accented or non-Latin letters: write it in its xn-- form"
  if (!domain.includes(".")) return "the domain needs a dot, as in example.com"
  const labels = domain.split(".")
  for (const label of labels) {
    if (label === "") return "the domain has an empty part (two dots in a row, or a dot at an end)"
    if (label.length > MAX_LABEL) return "a part of the domain is longer than 63 characters"
    if (!/^[A-Za-z0-9-]+$/.test(label)) return "the domain may only hold letters, digits, hyphens and dots"
    if (label.startsWith("-") || label.endsWith("-")) return "a part of the domain starts or ends with a hyphen"
  }
  if (/^[0-9]+$/.test(labels[labels.length - 1])) {
    return "the domain ends in digits, not a name such as .com or .fr"
  }
  return undefined
}
