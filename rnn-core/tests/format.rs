//! The model file: one test per load error, the round trip, and every single-bit flip.

mod common;

use common::{valid_model, Raw, Tensors, H, I, O, VOCAB};
use rnn_core::{
    encoded_len, write_model, CellKind, Dim, Elman, ElmanWeights, Error, Header, ModelView, Task,
};

type Model<'a> = Elman<'a, I, H, O>;

fn load(bytes: &[u8]) -> Result<Model<'_>, Error> {
    Model::from_bytes(bytes)
}

#[test]
fn hand_encoder_and_library_writer_agree() {
    // Two independent encoders of FORMAT.md give the same bytes.
    let (bytes, t) = valid_model();
    assert_eq!(Raw::elman(t.all()).encode(), bytes);
    assert!(load(&bytes).is_ok());
}

#[test]
fn round_trip_keeps_every_weight_bit() {
    let (bytes, t) = valid_model();
    let view = ModelView::parse(&bytes).unwrap();
    assert_eq!(view.header(), Header::elman(I as u32, H as u32, O as u32));
    assert_eq!(view.vocab().as_str(), VOCAB);
    let w = ElmanWeights::from_view(&view).unwrap();
    let bits = |it: &mut dyn Iterator<Item = f32>| it.map(f32::to_bits).collect::<Vec<_>>();
    let want = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&mut w.w_ax()), want(&t.w_ax));
    assert_eq!(bits(&mut w.w_aa()), want(&t.w_aa));
    assert_eq!(bits(&mut w.b_a()), want(&t.b_a));
    assert_eq!(bits(&mut w.w_ya()), want(&t.w_ya));
    assert_eq!(bits(&mut w.b_y()), want(&t.b_y));
    assert_eq!(bits(&mut view.weights()), want(&t.all()));
}

#[test]
fn round_trip_keeps_special_values() {
    // Subnormals, negative zero and extremes survive bit for bit.
    let mut t = Tensors::new(I, H, O, 3);
    t.w_ax[0] = -0.0;
    t.w_ax[1] = f32::MIN_POSITIVE / 8.0;
    t.w_aa[0] = f32::MAX;
    t.b_y[0] = f32::MIN;
    let header = Header::elman(I as u32, H as u32, O as u32);
    let tensors: [&[f32]; 5] = [&t.w_ax, &t.w_aa, &t.b_a, &t.w_ya, &t.b_y];
    let mut buf = vec![0u8; encoded_len(&header, VOCAB, &tensors).unwrap()];
    write_model(&mut buf, &header, VOCAB, &tensors).unwrap();
    let view = ModelView::parse(&buf).unwrap();
    let got: Vec<u32> = view.weights().map(f32::to_bits).collect();
    let want: Vec<u32> = t.all().iter().map(|x| x.to_bits()).collect();
    assert_eq!(got, want);
}

#[test]
fn every_single_bit_flip_is_rejected() {
    let files = [
        valid_model().0,
        common::valid_per_step_model(Task::Regress),
        common::valid_per_step_model(Task::Tag),
        common::valid_per_step_model(Task::Classify),
    ];
    for bytes in files {
        common::every_flip_and_prefix_is_rejected(&bytes);
    }
}

#[test]
fn bad_magic() {
    let (mut bytes, _) = valid_model();
    bytes[..4].copy_from_slice(b"GIF8");
    assert_eq!(
        load(&bytes).unwrap_err(),
        Error::BadMagic { found: *b"GIF8" }
    );
    assert!(matches!(load(b"x"), Err(Error::BadMagic { .. })));
}

#[test]
fn unsupported_version() {
    let (_, t) = valid_model();
    for version in [0, 5, 300] {
        let raw = Raw {
            version,
            ..Raw::elman(t.all())
        };
        assert_eq!(
            load(&raw.encode()).unwrap_err(),
            Error::UnsupportedVersion {
                found: version as u16,
                supported: rnn_core::format::VERSION
            }
        );
    }
    assert_eq!(rnn_core::format::VERSION, 4);
    // A version-3 or 4 file without its quantization field is truncated, not misread.
    for version in [3, 4] {
        let raw = Raw {
            version,
            ..Raw::elman(t.all())
        };
        assert!(load(&raw.encode()).is_err());
    }
    // Version 2 reads version 1's tasks too.
    let raw = Raw {
        version: 2,
        ..Raw::elman(t.all())
    };
    assert!(load(&raw.encode()).is_ok());
}

#[test]
fn per_step_tasks_need_version_2() {
    let (_, t) = valid_model();
    // A tagger over the 5 symbols with 5 classes: the same weights as the Elman model.
    let classes = b"a\nb\nc\nd\ne\n";
    for (version, expected) in [
        (1, Err(Error::UnknownTask { found: 2 })),
        (2, Ok(Task::Tag)),
    ] {
        let raw = Raw {
            version,
            task: 2,
            classes,
            ..Raw::elman(t.all())
        };
        let got = ModelView::parse(&raw.encode()).map(|v| v.header().task);
        assert_eq!(got, expected, "version {version}");
    }
    // What the writer writes: version 1 unless the task needs 2.
    for task in Task::ALL {
        assert_eq!(
            Header::elman(5, 6, 5).with_task(task).version(),
            task.since_version()
        );
    }
}

#[test]
fn unknown_cell_kind() {
    let (_, t) = valid_model();
    let raw = Raw {
        cell: 7,
        ..Raw::elman(t.all())
    };
    assert_eq!(
        load(&raw.encode()).unwrap_err(),
        Error::UnknownCellKind { found: 7 }
    );
}

#[test]
fn wrong_cell_kind() {
    // A well-formed GRU file: 3 gate blocks and two recurrent biases.
    let n = 3 * H * I + 3 * H * H + 2 * 3 * H + O * H + O;
    let raw = Raw {
        cell: 1,
        ..Raw::elman(common::weights(5, n))
    };
    let bytes = raw.encode();
    assert_eq!(
        ModelView::parse(&bytes).unwrap().header().cell,
        CellKind::Gru
    );
    assert_eq!(
        load(&bytes).unwrap_err(),
        Error::WrongCellKind {
            expected: CellKind::Elman,
            found: CellKind::Gru
        }
    );
}

#[test]
fn size_mismatch_names_each_dimension() {
    let (bytes, _) = valid_model();
    let i = u32::try_from(I).unwrap();
    let h = u32::try_from(H).unwrap();
    let o = u32::try_from(O).unwrap();
    assert_eq!(
        Elman::<4, H, O>::from_bytes(&bytes).unwrap_err(),
        Error::SizeMismatch {
            dim: Dim::Input,
            expected: 4,
            found: i
        }
    );
    assert_eq!(
        Elman::<I, 7, O>::from_bytes(&bytes).unwrap_err(),
        Error::SizeMismatch {
            dim: Dim::Hidden,
            expected: 7,
            found: h
        }
    );
    assert_eq!(
        Elman::<I, H, 9>::from_bytes(&bytes).unwrap_err(),
        Error::SizeMismatch {
            dim: Dim::Output,
            expected: 9,
            found: o
        }
    );
    let msg = Elman::<I, 7, O>::from_bytes(&bytes)
        .unwrap_err()
        .to_string();
    assert_eq!(
        msg,
        "size mismatch: hidden size H expected 7, the model has 6"
    );
}

#[test]
fn invalid_size() {
    let raw = Raw {
        sizes: (I as u64, 0, O as u64),
        ..Raw::elman(vec![0.0; I + O])
    };
    assert_eq!(
        load(&raw.encode()).unwrap_err(),
        Error::InvalidSize {
            dim: Dim::Hidden,
            found: 0
        }
    );
    let raw = Raw {
        sizes: (I as u64, u64::from(u32::MAX), O as u64),
        ..Raw::elman(vec![])
    };
    assert!(matches!(
        load(&raw.encode()).unwrap_err(),
        Error::InvalidSize {
            dim: Dim::Hidden,
            ..
        }
    ));
}

#[test]
fn truncated_at_every_length() {
    let (bytes, _) = valid_model();
    for len in 0..bytes.len() {
        assert_eq!(
            load(&bytes[..len]).unwrap_err(),
            Error::Truncated,
            "prefix of {len} bytes"
        );
    }
}

#[test]
fn malformed_structure() {
    let (_, t) = valid_model();
    // Invalid UTF-8 in the vocabulary.
    let raw = Raw {
        vocab: b"\nab\xffd",
        ..Raw::elman(t.all())
    };
    assert_eq!(load(&raw.encode()).unwrap_err(), Error::Malformed);
    // A varint with too many continuation bytes for a u32.
    let mut bytes = b"RNN\x1a\x01\x00".to_vec();
    bytes.extend_from_slice(&[0xFF; 8]);
    bytes.extend_from_slice(&[0; 8]);
    assert_eq!(load(&bytes).unwrap_err(), Error::Malformed);
}

#[test]
fn only_the_canonical_padding_is_accepted() {
    let (bytes, t) = valid_model();
    let view = ModelView::parse(&bytes).unwrap();
    let offset = view.weight_bytes().as_ptr() as usize - bytes.as_ptr() as usize;
    assert_eq!(offset % 4, 0, "the writer aligns the weights");
    // Of 0..=7 zero bytes of padding exactly one count aligns the weights and is at most 3.
    let mut accepted = vec![];
    for n in 0..8 {
        let raw = Raw {
            pad: Some(vec![0; n]),
            ..Raw::elman(t.all())
        };
        let encoded = raw.encode();
        match load(&encoded) {
            Ok(_) => accepted.push((n, encoded)),
            Err(e) => assert_eq!(e, Error::Malformed, "{n} bytes of padding"),
        }
    }
    assert_eq!(accepted.len(), 1);
    let (n, encoded) = &accepted[0];
    assert_eq!(encoded, &bytes);
    if *n > 0 {
        let mut pad = vec![0u8; *n];
        pad[0] = 1;
        let raw = Raw {
            pad: Some(pad),
            ..Raw::elman(t.all())
        };
        assert_eq!(load(&raw.encode()).unwrap_err(), Error::Malformed);
    }
}

#[test]
fn checksum_mismatch() {
    let (mut bytes, _) = valid_model();
    let n = bytes.len();
    bytes[n - 1] ^= 0x80;
    assert!(matches!(
        load(&bytes).unwrap_err(),
        Error::ChecksumMismatch { .. }
    ));
    let (mut bytes, _) = valid_model();
    bytes[n / 2] ^= 0x01; // inside the weights
    assert!(matches!(
        load(&bytes).unwrap_err(),
        Error::ChecksumMismatch { .. }
    ));
}

#[test]
fn weight_count_mismatch() {
    let (_, t) = valid_model();
    let mut w = t.all();
    w.pop();
    let expected = w.len() + 1;
    assert_eq!(
        load(&Raw::elman(w).encode()).unwrap_err(),
        Error::WeightCountMismatch {
            expected,
            found_bytes: (expected - 1) * 4
        }
    );
}

#[test]
fn non_finite_weight() {
    for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
        let (_, t) = valid_model();
        let mut w = t.all();
        w[17] = bad;
        assert_eq!(
            load(&Raw::elman(w).encode()).unwrap_err(),
            Error::NonFiniteWeight { index: 17 }
        );
    }
}

#[test]
fn trailing_bytes() {
    let (mut bytes, _) = valid_model();
    bytes.extend_from_slice(&[0, 0]);
    assert_eq!(load(&bytes).unwrap_err(), Error::TrailingBytes { count: 2 });
}

#[test]
fn vocab_not_a_set() {
    let (_, t) = valid_model();
    let raw = Raw {
        vocab: b"\nabca",
        ..Raw::elman(t.all())
    };
    assert_eq!(
        load(&raw.encode()).unwrap_err(),
        Error::VocabNotASet { symbol: 'a' }
    );
}

#[test]
fn vocab_size_mismatch() {
    let (_, t) = valid_model();
    let raw = Raw {
        vocab: b"\nabc",
        ..Raw::elman(t.all())
    };
    assert_eq!(
        load(&raw.encode()).unwrap_err(),
        Error::VocabSizeMismatch {
            vocab: 4,
            input: I as u32,
            output: O as u32
        }
    );
}

#[test]
fn empty_vocab_is_a_dense_model() {
    let (_, t) = valid_model();
    let raw = Raw {
        vocab: b"",
        ..Raw::elman(t.all())
    };
    let bytes = raw.encode();
    let model = load(&bytes).unwrap();
    assert!(model.vocab().is_empty());
    let mut a = [0.0; H];
    let mut logits = [0.0; O];
    assert_eq!(
        model.step_char(&mut a, 'a', &mut logits),
        Err(Error::UnknownSymbol { symbol: 'a' })
    );
}

#[test]
fn writer_refuses_what_the_reader_refuses() {
    let (_, t) = valid_model();
    let header = Header::elman(I as u32, H as u32, O as u32);
    let tensors: [&[f32]; 5] = [&t.w_ax, &t.w_aa, &t.b_a, &t.w_ya, &t.b_y];
    let mut small = [0u8; 16];
    assert!(matches!(
        write_model(&mut small, &header, VOCAB, &tensors),
        Err(Error::BufferTooSmall { available: 16, .. })
    ));
    let mut buf = vec![0u8; 4096];
    assert!(matches!(
        write_model(&mut buf, &header, VOCAB, &tensors[..4]),
        Err(Error::WeightCountMismatch { .. })
    ));
    assert!(matches!(
        write_model(&mut buf, &header, "\nab", &tensors),
        Err(Error::VocabSizeMismatch { .. })
    ));
    let nan = vec![f32::NAN; O];
    assert_eq!(
        write_model(
            &mut buf,
            &header,
            VOCAB,
            &[&t.w_ax, &t.w_aa, &t.b_a, &t.w_ya, &nan]
        ),
        Err(Error::NonFiniteWeight {
            index: t.all().len() - O
        })
    );
}

#[test]
fn every_error_displays_on_one_line() {
    let (bytes, _) = valid_model();
    let mut cases = vec![load(b"nope").unwrap_err(), load(&bytes[..9]).unwrap_err()];
    cases.push(Elman::<I, 2, O>::from_bytes(&bytes).unwrap_err());
    cases.push(Error::WrongCellKind {
        expected: CellKind::Elman,
        found: CellKind::Lstm,
    });
    for e in cases {
        let s = e.to_string();
        assert!(!s.is_empty() && !s.contains('\n'), "{s:?}");
    }
}
