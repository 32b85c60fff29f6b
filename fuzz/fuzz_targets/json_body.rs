//! Every JSON body the API accepts, through its parsing and database-free checks.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| qudao::fuzzing::json_body(data));
