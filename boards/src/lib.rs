//! The firmware's boards and the code that drives them, written once for
//! `firmware-example/build.rs`, the tests (`tests/`) and `cargo xtask`:
//!
//! - [`all`], [`board`]: the board table, `firmware-example/boards.txt` (board = QEMU
//!   machine = cargo feature, Rust target, core, clock; the memory map is
//!   `firmware-example/memory/BOARD.x`), parsed by [`parse`];
//! - [`build`]: building `firmware-example` for a board with a model embedded;
//! - [`run`]: running it under `qemu-system-arm`, feeding UART0 and collecting its output.
//!
//! The firmware reads UART0 from QEMU's standard input and writes its answers to standard
//! output. A writer thread feeds the input while the calling thread collects the output
//! (one thread doing both deadlocks once a pipe fills). QEMU does not stop at the end of
//! its input: a session ends when the firmware exits through semihosting (`/exit`, or a
//! failed boot), or at the timeout, when QEMU is killed.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

/// The board table's text (`firmware-example/boards.txt`).
pub const TABLE: &str = include_str!("../../firmware-example/boards.txt");

/// A QEMU machine that the firmware supports: one line of [`TABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Board {
    /// QEMU's `-machine` name, also the firmware's cargo feature.
    pub name: &'static str,
    /// The Rust target the firmware is built for on this board.
    pub target: &'static str,
    /// The core, as the firmware's banner names it.
    pub cpu: &'static str,
    /// The processor clock, in Hz.
    pub clock_hz: u32,
}

impl Board {
    /// The board's memory map (`MEMORY` for cortex-m-rt's `link.x`), relative to the
    /// firmware's directory.
    pub fn memory_x(&self) -> PathBuf {
        Path::new("memory").join(format!("{}.x", self.name))
    }
}

/// Parses a board table: one board per line, `board rust_target cpu clock_hz` separated
/// by spaces; `#` starts a comment.
pub fn parse(table: &'static str) -> Result<Vec<Board>, String> {
    let mut boards = Vec::new();
    for (n, line) in table.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&'static str> = line.split_whitespace().collect();
        let [name, target, cpu, clock] = fields[..] else {
            return Err(format!(
                "boards.txt line {}: expected `board rust_target cpu clock_hz`, found {line:?}",
                n + 1
            ));
        };
        let clock_hz = clock
            .parse()
            .map_err(|e| format!("boards.txt line {}: clock {clock:?}: {e}", n + 1))?;
        boards.push(Board {
            name,
            target,
            cpu,
            clock_hz,
        });
    }
    Ok(boards)
}

/// Every board of [`TABLE`], in its order.
pub fn all() -> &'static [Board] {
    static BOARDS: OnceLock<Vec<Board>> = OnceLock::new();
    BOARDS.get_or_init(|| parse(TABLE).unwrap_or_else(|e| panic!("{e}")))
}

/// The board called `name`.
pub fn board(name: &str) -> Board {
    *all()
        .iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| panic!("no board {name} in boards.txt"))
}

/// The firmware's source directory.
pub fn firmware_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("firmware-example")
}

/// Checks that `qemu-system-arm` runs and that the board's Rust target is installed;
/// the error says how to install what is missing.
pub fn check_tools(board: &Board) -> Result<(), String> {
    match Command::new("qemu-system-arm").arg("--version").output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => {
            return Err(format!(
                "`qemu-system-arm --version` failed ({}): reinstall it with \
                 `apt-get install -y qemu-system-arm`",
                out.status
            ))
        }
        Err(e) => {
            return Err(format!(
                "qemu-system-arm is needed to run the firmware tests and was not found ({e}): \
                 install it with `apt-get install -y qemu-system-arm` (as root on Debian or \
                 Ubuntu)"
            ))
        }
    }
    // rustc as the firmware's build sees it (rust-toolchain.toml applies by directory).
    let sysroot = Command::new("rustc")
        .args(["--print", "sysroot"])
        .current_dir(firmware_dir())
        .output()
        .map_err(|e| format!("cannot run rustc: {e}"))?;
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    let lib = Path::new(&sysroot)
        .join("lib")
        .join("rustlib")
        .join(board.target)
        .join("lib");
    if !lib.is_dir() {
        return Err(format!(
            "the Rust target {} (board {}) is not installed: run `rustup target add {}`",
            board.target, board.name, board.target
        ));
    }
    Ok(())
}

/// Builds the firmware for `board` in release mode with the model file `model` embedded,
/// and copies the ELF to `elf`. The firmware is built for the architecture (cell kind,
/// layers, sizes) of `size_model` when given (`RNN_SIZE_MODEL`), else of `model`.
/// `target_dir` is cargo's target directory for the build (share it between builds: only
/// the firmware crate is rebuilt for another model). Returns cargo's standard error (where
/// build-script warnings appear).
pub fn build(
    board: &Board,
    model: &Path,
    size_model: Option<&Path>,
    target_dir: &Path,
    elf: &Path,
) -> Result<String, String> {
    build_with(board, model, size_model, &[], target_dir, elf)
}

/// [`build`] with more environment variables for the firmware's build script (such as
/// `RNN_MAX_STEPS`), without changing this process's environment.
pub fn build_with(
    board: &Board,
    model: &Path,
    size_model: Option<&Path>,
    env: &[(&str, &str)],
    target_dir: &Path,
    elf: &Path,
) -> Result<String, String> {
    check_tools(board)?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(firmware_dir())
        .args(["build", "--release", "--no-default-features", "--features"])
        .arg(board.name)
        .args(["--target", board.target])
        .env("RNN_MODEL", model)
        .env("RNN_SIZE_MODEL", size_model.unwrap_or(Path::new("")))
        .env("CARGO_TARGET_DIR", target_dir)
        .envs(env.iter().copied());
    // What the outer `cargo test` exports must not steer the firmware's build.
    for var in [
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_PRIMARY_PACKAGE",
        "CARGO_MANIFEST_DIR",
        "CARGO_MANIFEST_PATH",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if !out.status.success() {
        return Err(format!(
            "building the firmware for {} failed ({}):\n{stderr}",
            board.name, out.status
        ));
    }
    let built = target_dir
        .join(board.target)
        .join("release")
        .join("firmware-example");
    if let Some(dir) = elf.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    }
    std::fs::copy(&built, elf)
        .map_err(|e| format!("copy {} to {}: {e}", built.display(), elf.display()))?;
    Ok(stderr)
}

/// What one QEMU session printed, and how it ended.
#[derive(Debug)]
pub struct Session {
    /// Everything the firmware wrote to UART0.
    pub stdout: Vec<u8>,
    /// QEMU's own messages.
    pub stderr: String,
    /// QEMU's exit status, `None` when it was killed at the timeout.
    pub status: Option<ExitStatus>,
}

impl Session {
    /// The output as text (the firmware writes ASCII; anything else shows as U+FFFD).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }
}

/// The command line that runs `elf` on `board` (with `-icount shift=0` when `icount`).
pub fn command(board: &Board, elf: &Path, icount: bool) -> Command {
    let mut cmd = Command::new("qemu-system-arm");
    cmd.args(["-machine", board.name, "-nographic", "-monitor", "none"])
        .args(["-semihosting-config", "enable=on,target=native"]);
    if icount {
        cmd.args(["-icount", "shift=0"]);
    }
    cmd.arg("-kernel").arg(elf);
    cmd
}

/// Runs `elf` on `board`, feeding `input` to UART0 from a writer thread once the firmware
/// has printed `READY`, until QEMU exits or `timeout` passes (then QEMU is killed and
/// `status` is `None`).
pub fn run(board: &Board, elf: &Path, input: Vec<u8>, icount: bool, timeout: Duration) -> Session {
    let mut child = command(board, elf, icount)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start qemu-system-arm: {e}"));
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");

    // The writer starts once the firmware has said READY. The firmware may stop reading
    // (it exits): a failed write only means that, so the writer ignores it.
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let writer = thread::spawn(move || {
        if ready_rx.recv().is_ok() {
            let _ = stdin.write_all(&input);
            let _ = stdin.flush();
        }
        // Keep the pipe open: QEMU ends when the firmware says so.
        stdin
    });
    let (tx, rx) = mpsc::channel();
    let reader = thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        let mut ready = Some(ready_tx);
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
            if ready.is_some() && out.windows(6).any(|w| w == b"READY\n") {
                let _ = ready.take().map(|tx| tx.send(()));
            }
        }
        let _ = tx.send(());
        out
    });
    let err_reader = thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });

    let deadline = Instant::now() + timeout;
    let mut status = None;
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            status = Some(s);
            break;
        }
        let now = Instant::now();
        if now >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break;
        }
        // Wakes early when QEMU closes its output (it is exiting).
        let _ = rx.recv_timeout((deadline - now).min(Duration::from_millis(20)));
    }
    let stdout = reader.join().expect("reader thread");
    let stderr = err_reader.join().expect("stderr thread");
    drop(writer.join().expect("writer thread"));
    Session {
        stdout,
        stderr,
        status,
    }
}
