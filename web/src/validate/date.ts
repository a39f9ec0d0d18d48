// Calendar dates, ISO 8601 `YYYY-MM-DD` only (core/src/validate/date.rs).
import { type Checked, ok, quoted, refuse, trim } from "./field"

const MONTHS = [
  "January", "February", "March", "April", "May", "June",
  "July", "August", "September", "October", "November", "December",
]

const leap = (y: number) => (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0
const length = (m: number, y: number) =>
  m === 2 ? (leap(y) ? 29 : 28) : [4, 6, 9, 11].includes(m) ? 30 : 31

export function date(field: string, input: string): Checked {
  const trimmed = trim(input)
  if (trimmed === "") return refuse(field, "date is empty: expected YYYY-MM-DD")
  const m = /^([0-9]{4})-([0-9]{2})-([0-9]{2})$/.exec(trimmed)
  if (!m) {
    return refuse(field, `${quoted(trimmed)} is not a date in the form YYYY-MM-DD (e.g. 2024-03-31)`)
  }
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])]
  if (year < 1000) return refuse(field, `${quoted(trimmed)} has a year before 1000: expected YYYY-MM-DD`)
  if (month < 1 || month > 12) {
    return refuse(field, `${quoted(trimmed)} has no month ${m[2]}: months go from 01 to 12`)
  }
  const last = length(month, year)
  if (day === 0 || day > last) {
    return refuse(field, `${quoted(trimmed)} is not a real date: ${MONTHS[month - 1]} ${year} has ${last} days`)
  }
  return ok(`${m[1]}-${m[2]}-${m[3]}`)
}
