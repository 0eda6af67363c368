//! CRC-32 (IEEE 802.3, the one zlib, PNG and Ethernet use): reflected polynomial
//! `0xEDB88320`, initial value and final XOR `0xFFFFFFFF`. Written out here because the
//! crate's dependencies are limited to four. Bit by bit, without the usual 1 KiB table:
//! on a Cortex-M0 the table was 3 % of the firmware's flash, and the check runs once, at
//! boot (about 8 instructions a bit).

/// CRC-32 of `bytes`; `crc32(b"123456789") == 0xCBF43926`.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c ^= u32::from(b);
        for _ in 0..8 {
            // Shift one bit out; XOR the polynomial in when it was set (no branch).
            c = (c >> 1) ^ (0xEDB8_8320 & (c & 1).wrapping_neg());
        }
    }
    c ^ 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::crc32;

    #[test]
    fn check_value_of_the_standard() {
        // The "check" value that every CRC-32/ISO-HDLC catalogue lists.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }
}
