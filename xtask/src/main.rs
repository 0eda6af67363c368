//! The project's two commands, so that a fresh machine with only rustup and cargo can run
//! them:
//!
//! - `cargo xtask demo`: train the dinosaur model if it is missing, then run it on the
//!   emulated microcontroller (QEMU) and show the names it generates;
//! - `cargo xtask test`: every check CI runs: fmt, clippy, the workspace tests (including
//!   the QEMU tests), the `no_std` builds of `rnn-core` and the firmware builds.
//!
//! Both install what is missing: the rustup targets, and `qemu-system-arm` through apt when
//! run as root (otherwise they print the command to run).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context, Result};

const TARGETS: [&str; 3] = [
    "thumbv6m-none-eabi",
    "thumbv7m-none-eabi",
    "thumbv7em-none-eabihf",
];

/// Board feature, its target and QEMU machine: one source tree, three boards.
const BOARDS: [(&str, &str); 3] = [
    ("lm3s6965evb", "thumbv7m-none-eabi"),
    ("mps2-an386", "thumbv7em-none-eabihf"),
    ("microbit", "thumbv6m-none-eabi"),
];

const USAGE: &str = "usage: cargo xtask <demo|test>

  demo   train the dinosaur model if models/dinosaurs.rnn is missing, then run it on the
         emulated Cortex-M3 (QEMU lm3s6965evb) and print the names it generates
  test   run every check: fmt, clippy, workspace tests (with the QEMU tests), no_std builds
         of rnn-core for three targets, firmware builds for three boards";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("test") => test(),
        Some("-h" | "--help" | "help") => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    // xtask/ sits in the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Runs a command, echoing it first, and fails with its name when it fails.
fn run(step: &str, cmd: &mut Command) -> Result<()> {
    eprintln!("\n==> {step}");
    let status = cmd
        .status()
        .with_context(|| format!("{step}: could not start {:?}", cmd.get_program()))?;
    if !status.success() {
        bail!("{step} failed ({status})");
    }
    Ok(())
}

fn ensure_targets() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .current_dir(root())
        .output()
        .context("rustup not found: install Rust with rustup (https://rustup.rs)")?;
    let installed = String::from_utf8_lossy(&out.stdout);
    let missing: Vec<&str> = TARGETS
        .iter()
        .copied()
        .filter(|t| !installed.lines().any(|l| l.trim() == *t))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    run(
        "rustup target add (Cortex-M targets)",
        Command::new("rustup")
            .current_dir(root())
            .args(["target", "add"])
            .args(&missing),
    )
}

fn have(program: &str) -> bool {
    Command::new(program)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn ensure_qemu() -> Result<()> {
    if have("qemu-system-arm") {
        return Ok(());
    }
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if !is_root || !have("apt-get") {
        bail!(
            "qemu-system-arm is not installed; install it with: sudo apt-get install -y qemu-system-arm"
        );
    }
    run(
        "apt-get update",
        Command::new("apt-get").args(["update", "-qq"]),
    )?;
    run(
        "apt-get install qemu-system-arm",
        Command::new("apt-get")
            .args(["install", "-y", "-qq", "qemu-system-arm"])
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}

fn firmware_dir() -> PathBuf {
    root().join("firmware-example")
}

fn model_path() -> PathBuf {
    root().join("models").join("dinosaurs.rnn")
}

/// Trains the dinosaur model with the default settings unless it is already there: the demo
/// runs it, and the firmware builds embed it.
fn ensure_model() -> Result<()> {
    let model = model_path();
    if model.exists() {
        // A model left by an older build may not load any more: train it again then.
        let check = cargo()
            .args([
                "run",
                "--release",
                "--quiet",
                "-p",
                "rnn-train",
                "--",
                "inspect",
            ])
            .arg("--model")
            .arg(&model)
            .stdout(Stdio::null())
            .status()
            .context("could not run rnn-train inspect")?;
        if check.success() {
            eprintln!("using the trained model {}", model.display());
            return Ok(());
        }
        eprintln!("{} does not load; training it again", model.display());
    }
    if let Some(dir) = model.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    run(
        "train the dinosaur model (rnn-train train, default settings)",
        cargo().args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "rnn-train",
            "--",
            "train",
            "--data",
            "data/dinosaurs.txt",
            "--out",
            "models/dinosaurs.rnn",
            "--plot",
            "models/dinosaurs-loss.svg",
        ]),
    )
}

fn demo() -> Result<()> {
    ensure_targets()?;
    ensure_qemu()?;
    ensure_model()?;
    const SEED: &str = "1";
    const NAMES: usize = 5;
    eprintln!("\n==> the host's names (rnn-train sample --count {NAMES} --seed {SEED})");
    let host = cargo()
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "rnn-train",
            "--",
            "sample",
        ])
        .args([
            "--model",
            "models/dinosaurs.rnn",
            "--count",
            &NAMES.to_string(),
        ])
        .args(["--seed", SEED])
        .stderr(Stdio::inherit())
        .output()
        .context("could not run rnn-train sample")?;
    if !host.status.success() {
        bail!("rnn-train sample failed ({})", host.status);
    }
    let host_names: Vec<String> = String::from_utf8_lossy(&host.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    for name in &host_names {
        println!("host  {name}");
    }

    let (board, target) = BOARDS[0];
    run(
        &format!("build the firmware for {board} with the model embedded"),
        cargo()
            .current_dir(firmware_dir())
            .args(["build", "--release", "--quiet", "--target", target])
            .env("RNN_MODEL", model_path()),
    )?;
    let elf = firmware_dir()
        .join("target")
        .join(target)
        .join("release")
        .join("firmware-example");
    let mut lines: Vec<String> = vec![format!("/seed {SEED}")];
    lines.extend(std::iter::repeat_n(String::new(), NAMES));
    lines.extend(
        [
            "/greedy",
            "tyranno",
            "veloci",
            "/sample 0.5",
            "a",
            "/bench",
            "/exit",
        ]
        .map(String::from),
    );
    eprintln!("\n==> run it on the emulated Cortex-M3 (qemu-system-arm -machine {board})");
    let transcript = qemu_session(board, &elf, &lines)?;
    let mcu_names: Vec<&str> = transcript
        .iter()
        .skip_while(|l| !l.starts_with("ok: seed"))
        .skip(1)
        .take(NAMES)
        .map(String::as_str)
        .collect();
    println!();
    if mcu_names == host_names {
        println!("The microcontroller's {NAMES} names are byte-identical to the host's.");
        Ok(())
    } else {
        bail!("the microcontroller's names {mcu_names:?} differ from the host's {host_names:?}")
    }
}

/// Runs the firmware in QEMU, writes `lines` from a thread once it says READY (reading and
/// writing in one thread can deadlock once a pipe fills), echoes the conversation, and
/// returns what the firmware printed after READY. A 60-second watchdog ends a hung run.
fn qemu_session(board: &str, elf: &Path, lines: &[String]) -> Result<Vec<String>> {
    use std::io::{BufRead, BufReader, Write};
    use std::sync::mpsc;
    use std::time::Duration;

    let mut child = Command::new("qemu-system-arm")
        .args([
            "-machine",
            board,
            "-nographic",
            "-monitor",
            "none",
            "-icount",
            "shift=0",
        ])
        .args(["-semihosting-config", "enable=on,target=native", "-kernel"])
        .arg(elf)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("could not start qemu-system-arm")?;
    let mut stdin = child.stdin.take().context("no stdin for QEMU")?;
    let stdout = child.stdout.take().context("no stdout from QEMU")?;
    let (ready_tx, ready_rx) = mpsc::channel::<()>();
    let to_send = lines.to_vec();
    let writer = std::thread::spawn(move || {
        if ready_rx.recv().is_err() {
            return;
        }
        for line in to_send {
            println!("  >   {line}");
            if writeln!(stdin, "{line}").is_err() {
                return;
            }
            let _ = stdin.flush();
            // Pace the input so the echo above stays next to its answer.
            std::thread::sleep(Duration::from_millis(150));
        }
    });
    let pid = child.id();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    std::thread::spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = Command::new("kill").arg(pid.to_string()).status();
        }
    });
    let mut transcript = Vec::new();
    let mut ready = Some(ready_tx);
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading QEMU's output")?;
        println!("  mcu {line}");
        if line == "READY" {
            if let Some(tx) = ready.take() {
                let _ = tx.send(());
            }
        } else if ready.is_none() {
            transcript.push(line);
        }
    }
    let _ = done_tx.send(());
    let _ = writer.join();
    let status = child.wait().context("waiting for QEMU")?;
    if !status.success() {
        bail!("the firmware did not exit cleanly ({status})");
    }
    Ok(transcript)
}

fn test() -> Result<()> {
    ensure_targets()?;
    ensure_qemu()?;
    ensure_model()?;
    run(
        "cargo fmt --check",
        cargo().args(["fmt", "--all", "--check"]),
    )?;
    run(
        "cargo fmt --check (firmware)",
        cargo()
            .current_dir(firmware_dir())
            .args(["fmt", "--all", "--check"]),
    )?;
    run(
        "cargo clippy (workspace)",
        cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]),
    )?;
    for target in TARGETS {
        run(
            &format!("no_std build of rnn-core for {target}"),
            cargo().args(["build", "-p", "rnn-core", "--release", "--target", target]),
        )?;
    }
    for (board, target) in BOARDS {
        run(
            &format!("firmware clippy for {board} ({target})"),
            cargo().current_dir(firmware_dir()).args([
                "clippy",
                "--release",
                "--no-default-features",
                "--features",
                board,
                "--target",
                target,
                "--",
                "-D",
                "warnings",
            ]),
        )?;
    }
    // A one-layer Elman model compiles the firmware's fast path, any other next-symbol
    // model the `Network` path, and classifiers the classify mode (one-hot words or dense
    // vectors): lint each of them, with models written for the purpose.
    let fixtures = root().join("target").join("xtask-fixtures");
    std::fs::create_dir_all(&fixtures).context("creating target/xtask-fixtures")?;
    let mut paths = Vec::new();
    for (name, example, args) in [
        ("gru", "write_model", &["16", "1", "gru", "2"][..]),
        ("words", "write_classifier", &["words"][..]),
        ("dense", "write_classifier", &["dense"][..]),
    ] {
        let path = fixtures.join(format!("{name}.rnn"));
        run(
            &format!("write a {name} model for the firmware's lint"),
            cargo()
                .args(["run", "--quiet", "-p", "tests", "--example", example, "--"])
                .arg(&path)
                .args(args),
        )?;
        paths.push((name, path));
    }
    for (name, path) in &paths {
        for (board, target) in BOARDS {
            run(
                &format!("firmware clippy for {board} ({target}), {name} model"),
                cargo()
                    .current_dir(firmware_dir())
                    .args([
                        "clippy",
                        "--release",
                        "--no-default-features",
                        "--features",
                        board,
                    ])
                    .args(["--target", target, "--", "-D", "warnings"])
                    .env("RNN_MODEL", path),
            )?;
        }
    }
    for (board, target) in BOARDS {
        run(
            &format!("firmware build for {board} with the dinosaur model"),
            cargo()
                .current_dir(firmware_dir())
                .args([
                    "build",
                    "--release",
                    "--no-default-features",
                    "--features",
                    board,
                ])
                .args(["--target", target])
                .env("RNN_MODEL", model_path()),
        )?;
    }
    let (passed, failed) = cargo_test()?;
    // One closing line for the whole run, in the form CI reads.
    println!("\nxtask test: {passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} tests failed");
    }
    Ok(())
}

/// Runs the workspace tests, echoing their output, and adds up the `test result:` lines.
fn cargo_test() -> Result<(u64, u64)> {
    use std::io::{BufRead, BufReader};
    eprintln!("\n==> cargo test (workspace, with the QEMU tests)");
    let mut child = cargo()
        .args(["test", "--workspace"])
        .stdout(Stdio::piped())
        .spawn()
        .context("could not start cargo test")?;
    let stdout = child.stdout.take().context("no stdout from cargo test")?;
    let (mut passed, mut failed) = (0u64, 0u64);
    for line in BufReader::new(stdout).lines() {
        let line = line.context("reading cargo test's output")?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            let count = |word: &str| -> u64 {
                rest.split(';')
                    .find_map(|part| part.trim().strip_suffix(word))
                    .and_then(|n| n.trim().rsplit(' ').next()?.parse().ok())
                    .unwrap_or(0)
            };
            passed += count(" passed");
            failed += count(" failed");
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    if !status.success() {
        bail!("cargo test failed ({status}; {failed} tests failed)");
    }
    Ok((passed, failed))
}
