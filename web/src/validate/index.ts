// Input validation, the same rules and messages as fiche-core's `validate` module; the
// shared fixtures (fixtures/validation.json) are checked against both.
export { FieldError, type Checked, quoted } from "./field"
export { country, isCountry } from "./country"
export { date } from "./date"
export { email } from "./email"
export { bic, iban } from "./iban"
export { phone } from "./phone"
export { vatNumber } from "./vat"
