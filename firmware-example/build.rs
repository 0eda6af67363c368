//! Build script: picks the board's memory map, passes the linker script, and sizes the
//! firmware for the model it embeds.
//!
//! - Exactly one board feature must be set, and the target must be that board's target.
//! - `memory.x` for the board is written to `OUT_DIR`, which is put on the linker's search
//!   path, and `-Tlink.x` (cortex-m-rt's script, which includes `memory.x`) is passed here
//!   rather than in `.cargo/config.toml`, so that building from any directory links a
//!   real image.
//! - The model file is `../models/dinosaurs.rnn` (what `cargo xtask demo` trains), or the
//!   file named by the environment variable `RNN_MODEL` (a relative path is taken from
//!   this crate's directory). It is read through `rnn-core`'s loader, and its sizes are
//!   written to `OUT_DIR/model.rs` as the constants `I`, `H`, `O` together with
//!   `include_bytes!` of the same file, so a bigger model needs no edit here.
//! - A model file that exists but does not load (a corrupt file, say) still builds, with a
//!   warning: the firmware then reports the loader's error at boot and exits non-zero.

use std::env;
use std::fs;
use std::path::{Path, PathBuf};

struct Board {
    feature: &'static str,
    target: &'static str,
    memory_x: &'static str,
}

const BOARDS: [Board; 3] = [
    Board {
        feature: "lm3s6965evb",
        target: "thumbv7m-none-eabi",
        memory_x: "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM   : ORIGIN = 0x20000000, LENGTH = 64K\n}\n",
    },
    Board {
        feature: "mps2-an386",
        target: "thumbv7em-none-eabihf",
        // QEMU's AN386: 4 MiB of SSRAM1 for code at 0, 4 MiB of SSRAM2/3 at 0x2000_0000.
        memory_x: "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 4096K\n  RAM   : ORIGIN = 0x20000000, LENGTH = 4096K\n}\n",
    },
    Board {
        feature: "microbit",
        target: "thumbv6m-none-eabi",
        // nRF51822 (QFAA) as on the BBC micro:bit v1: 256 KiB flash, 16 KiB RAM.
        memory_x: "MEMORY\n{\n  FLASH : ORIGIN = 0x00000000, LENGTH = 256K\n  RAM   : ORIGIN = 0x20000000, LENGTH = 16K\n}\n",
    },
];

fn feature_enabled(feature: &str) -> bool {
    let var = format!("CARGO_FEATURE_{}", feature.to_uppercase().replace('-', "_"));
    env::var_os(var).is_some()
}

fn main() {
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let target = env::var("TARGET").expect("cargo sets TARGET");

    let selected: Vec<&Board> = BOARDS
        .iter()
        .filter(|b| feature_enabled(b.feature))
        .collect();
    let board = match selected.as_slice() {
        [board] => *board,
        [] => {
            fail("no board selected: enable one of the features lm3s6965evb, mps2-an386, microbit")
        }
        _ => fail(&format!(
            "several boards selected ({}): use --no-default-features --features BOARD",
            selected
                .iter()
                .map(|b| b.feature)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    };
    if target != board.target {
        fail(&format!(
            "board {} needs --target {} (building for {target}); e.g. \
             cargo build --release --no-default-features --features {} --target {}",
            board.feature, board.target, board.feature, board.target
        ));
    }

    fs::write(out.join("memory.x"), board.memory_x).expect("write memory.x");
    write_model_consts(&out);
    println!("cargo:rustc-link-search={}", out.display());
    println!("cargo:rustc-link-arg-bins=-Tlink.x");
    println!("cargo:rerun-if-changed=build.rs");
}

/// The model file the firmware embeds.
fn model_path() -> PathBuf {
    println!("cargo:rerun-if-env-changed=RNN_MODEL");
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets it"));
    match env::var_os("RNN_MODEL") {
        Some(p) if !p.is_empty() => manifest.join(p),
        _ => manifest.join("..").join("models").join("dinosaurs.rnn"),
    }
}

fn write_model_consts(out: &Path) {
    let path = model_path();
    println!("cargo:rerun-if-changed={}", path.display());
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) => fail(&format!(
            "cannot read the model {}: {e}\n  \
             Train one with `cargo xtask demo` (it writes models/dinosaurs.rnn), or point \
             RNN_MODEL at a .rnn file (RNN_MODEL=/path/to/model.rnn cargo build --release).",
            path.display()
        )),
    };
    let path = path.canonicalize().unwrap_or(path);
    let (i, h, o) = match rnn_core::ModelView::parse(&bytes) {
        Ok(view) => {
            let header = view.header();
            if header.cell != rnn_core::CellKind::Elman {
                println!(
                    "cargo:warning=the model {} holds a {} cell; this firmware runs Elman \
                     cells and will report the mismatch at boot",
                    path.display(),
                    header.cell.name()
                );
            }
            (header.input, header.hidden, header.output)
        }
        Err(e) => {
            // Sizes of 1 keep the build going; the loader at boot rejects the file (it
            // checks the whole file before the sizes) and prints this same error.
            println!(
                "cargo:warning=the model {} does not load ({e}); the firmware will report \
                 this at boot and exit with failure",
                path.display()
            );
            (1, 1, 1)
        }
    };
    let path_literal = format!("{:?}", path.display().to_string());
    let consts = format!(
        "/// The model embedded at build time (from `build.rs`).\n\
         pub static MODEL: &crate::Aligned<[u8]> = &crate::Aligned(*include_bytes!({path_literal}));\n\
         /// Where [`MODEL`] was read from at build time.\n\
         pub const MODEL_PATH: &str = {path_literal};\n\
         /// Input size of the model.\n\
         pub const I: usize = {i};\n\
         /// Hidden size of the model.\n\
         pub const H: usize = {h};\n\
         /// Output size of the model.\n\
         pub const O: usize = {o};\n"
    );
    fs::write(out.join("model.rs"), consts).expect("write model.rs");
}

fn fail(message: &str) -> ! {
    eprintln!("error: {message}");
    std::process::exit(1);
}
