//! `__consumer_offsets` records as the group store reads them back at startup: a key, and a
//! value decoded as what the key says (an offset commit or group metadata). The input is
//! `key_len: u16` (big-endian), the key, then the value.
#![no_main]

use broker::group::records::{self, RecordKey};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((len, rest)) = input.split_first_chunk::<2>() else {
        return;
    };
    let (key, value) = rest.split_at(usize::from(u16::from_be_bytes(*len)).min(rest.len()));
    match records::decode_key(key) {
        Ok(RecordKey::Offset { .. }) => {
            if let Ok(v) = records::decode_offset_value(value) {
                // What is decoded encodes to bytes that decode to the same.
                let again = records::decode_offset_value(&records::encode_offset_value(&v));
                assert_eq!(again.ok(), Some(v));
            }
        }
        Ok(RecordKey::Group { .. }) => {
            let _ = records::decode_group_value(value);
        }
        _ => {
            let _ = records::decode_offset_value(value);
            let _ = records::decode_group_value(value);
        }
    }
});
