//! Generates the Kotlin, Swift and Python bindings from the built library:
//! `cargo run -p fiche-mobile --bin uniffi-bindgen -- generate --library PATH --language LANG --out-dir DIR`
//! (or `scripts/bindings.sh`).

fn main() {
    uniffi::uniffi_bindgen_main()
}
