//! `rnn_core::text` against `core::fmt` and `str::parse::<f32>`: the firmware prints and
//! parses through these, and the host's protocol reference through `std`, so they must
//! agree byte for byte and bit for bit.

use proptest::prelude::*;
use rnn_core::{parse_f32, Text};

/// Collects [`Text`] pieces into a `String`.
#[derive(Default)]
struct S(String);

impl Text for S {
    fn str(&mut self, s: &str) {
        self.0.push_str(s);
    }
}

fn text(f: impl FnOnce(&mut S)) -> String {
    let mut s = S::default();
    f(&mut s);
    s.0
}

/// `parse_f32` must give what `str::parse::<f32>` gives, bit for bit (NaN as any NaN).
fn check(s: &str) {
    let ours = parse_f32(s);
    let std = s.parse::<f32>().ok();
    match (ours, std) {
        (Some(a), Some(b)) if a.is_nan() && b.is_nan() => {}
        (Some(a), Some(b)) => assert_eq!(a.to_bits(), b.to_bits(), "{s:?}: {a:e} against {b:e}"),
        (a, b) => assert_eq!(a.is_some(), b.is_some(), "{s:?}: {a:?} against {b:?}"),
    }
}

#[test]
fn numbers_print_as_core_fmt_prints_them() {
    for n in [0u64, 1, 9, 10, 99, 12345, u32::MAX.into(), u64::MAX] {
        assert_eq!(text(|t| t.uint(n)), format!("{n}"));
        assert_eq!(text(|t| t.hex(n, 2, true)), format!("{n:02X}"));
        assert_eq!(text(|t| t.hex(n, 8, false)), format!("{n:08x}"));
    }
    assert_eq!(text(|t| t.fixed(9275, 4)), "0.9275");
    assert_eq!(text(|t| t.fixed(10_000, 4)), "1.0000");
    assert_eq!(text(|t| t.fixed(7, 4)), "0.0007");
    assert_eq!(text(|t| t.fixed(18593, 2)), "185.93");
    // Numbers of every size (the digits come from 32-bit divisions 16 bits at a time).
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..2000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = x >> (x % 64);
        assert_eq!(text(|t| t.uint(n)), format!("{n}"));
        assert_eq!(text(|t| t.hex(n, 4, false)), format!("{n:04x}"));
        let places = (x % 7) as u32;
        let scale = 10u64.pow(places);
        let fixed = format!(
            "{}.{:0w$}",
            n / scale,
            n % scale,
            w = places.max(1) as usize
        );
        assert_eq!(text(|t| t.fixed(n, places)), fixed);
    }
}

#[test]
fn ascii_characters_print_as_debug_prints_them_without_the_unicode_tables() {
    for c in (0..=0x7Fu8).map(char::from) {
        assert_eq!(text(|t| t.char_debug_ascii(c)), format!("{c:?}"), "{c:?}");
    }
    for c in ['é', '€', '\u{80}', '\u{10FFFF}'] {
        let escaped = format!("'{}'", c.escape_unicode());
        assert_eq!(text(|t| t.char_debug_ascii(c)), escaped);
    }
}

#[test]
fn characters_print_as_debug_and_escape_default_print_them() {
    for c in (0..=0x10FFFFu32).filter_map(char::from_u32) {
        let debug = text(|t| t.char_debug(c));
        assert_eq!(debug, format!("{c:?}"), "U+{:04X}", c as u32);
        let s = c.to_string();
        assert_eq!(
            text(|t| t.escape_default(&s)),
            s.escape_default().to_string()
        );
    }
}

#[test]
fn errors_print_as_display_prints_them() {
    use rnn_core::{CellKind, Dim, Error, Task};
    let errors = [
        Error::BadMagic {
            found: [0, 0xab, 7, 0xff],
        },
        Error::UnknownSymbol { symbol: '\u{301}' },
        Error::UnknownSymbol { symbol: '"' },
        Error::UnknownSymbol { symbol: '\'' },
        Error::VocabNotASet { symbol: '\n' },
        Error::ChecksumMismatch {
            stored: 0xdead_beef,
            computed: 1,
        },
        Error::UnknownFlags { found: 0xa },
        Error::WrongCellKind {
            expected: CellKind::Gru,
            found: CellKind::Lstm,
        },
        Error::WrongTask {
            expected: Task::Classify,
            found: Task::Next,
        },
        Error::SizeMismatch {
            dim: Dim::Hidden,
            expected: 25,
            found: 24,
        },
        Error::SequenceTooLong { capacity: 32 },
    ];
    for e in errors {
        assert_eq!(text(|t| e.write_to(t)), e.to_string());
    }
}

#[test]
fn parses_as_std_parses_chosen_spellings() {
    for s in [
        "",
        "+",
        "-",
        ".",
        "e",
        "1e",
        "1e+",
        "e5",
        "1.2.3",
        " 1",
        "1 ",
        "0x10",
        "1_0",
        "++1",
        "0",
        "-0",
        "+0",
        "0.",
        ".0",
        "-.5",
        "1.",
        "1e5",
        "1E-5",
        "1e+5",
        "007",
        "inf",
        "-INF",
        "Infinity",
        "+infinity",
        "nan",
        "NaN",
        "-nan",
        "in",
        "infx",
        "1e-45",
        "1.4e-45",
        "7e-46",
        "7.006e-46",
        "7.0065e-46",
        "1e-46",
        "1.17549435e-38",
        "1.1754942e-38",
        "3.4028235e38",
        "3.4028236e38",
        "3.40282357e38",
        "3.4028234664e38",
        "3.4028235677973366e38",
        "3.4028235677973367e38",
        "1e39",
        "1e38",
        "1e-38",
        "16777216",
        "16777217",
        "16777218",
        "16777219",
        "33554433",
        "0.1",
        "0.2",
        "0.3",
        "1e10",
        "1e11",
        "1e-10",
        "1e-11",
        "123456789",
        "1234567.8",
        "9999999999",
        "1e99999999999999999999",
        "1e-99999999999999999999",
        "0e99999999999999",
        "0.000000000000000000000000000000000000000000000000000000001e57",
        // Halfway between 1 and the next f32, and one digit either side, at 40 digits.
        "1.000000059604644775390625",
        "1.0000000596046447753906250000000000000001",
        "1.0000000596046447753906249999999999999999",
        // Halfway between two subnormals: 2^-149 · 1.5.
        "2.101872466027574036404098024536319375e-45",
        "2.1018724660275740364040980245363193750000001e-45",
    ] {
        check(s);
    }
    // Every f32 midpoint's exact decimal expansion (the hardest inputs), and one ulp of the
    // last digit either side, over a spread of exponents.
    for bits in (0u32..0x7F80_0000).step_by(0x0001_2345) {
        let lo = f32::from_bits(bits) as f64;
        let hi = f32::from_bits(bits + 1) as f64;
        let mid = (lo + hi) / 2.0; // exact in f64: 25 significant bits
                                   // 161 significant digits: exact (a midpoint has at most 113), past the parser's
                                   // 128 kept digits; then a nonzero digit after them (just above the midpoint).
        let exact = format!("{mid:.160e}");
        check(&exact);
        check(&exact.replacen('e', "1e", 1));
        check(&format!("{mid:e}"));
        check(&format!("{lo:e}"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn parses_as_std_parses_random_spellings(
        sign in "[+-]?",
        whole in "[0-9]{0,30}",
        point in prop::bool::ANY,
        fraction in "[0-9]{0,30}",
        exp in prop::option::of((prop::sample::select(vec!["e", "E"]), "[+-]?", 0i32..60)),
    ) {
        let mut s = format!("{sign}{whole}");
        if point {
            s.push('.');
            s.push_str(&fraction);
        }
        if let Some((e, esign, n)) = exp {
            s.push_str(&format!("{e}{esign}{n}"));
        }
        check(&s);
    }

    #[test]
    fn parses_as_std_parses_every_f32_printed(bits in any::<u32>(), digits in 1usize..12) {
        let v = f32::from_bits(bits);
        check(&format!("{v:e}"));
        check(&format!("{v}"));
        check(&format!("{v:.*e}", digits));
    }
}
