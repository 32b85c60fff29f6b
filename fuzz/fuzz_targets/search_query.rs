//! The search endpoint's query string: parameters, checks and query analysis.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qudao::fuzzing::search_query(data));
