//! Fuzzes the CSV reader (`fiche import`, spreadsheets users export from elsewhere): no input
//! may panic it, and every row it reads names a line of the input.
#![no_main]

use fiche_core::exchange::csv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(rows) = csv::parse(data) {
        let lines = data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() + 1;
        for row in rows {
            assert!(row.line >= 2 && row.line <= lines, "line {} of {lines}", row.line);
        }
    }
});
