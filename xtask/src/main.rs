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

/// The boards' Rust targets (the board table, `firmware-example/boards.txt`).
fn targets() -> Vec<&'static str> {
    boards::all().iter().map(|b| b.target).collect()
}

const USAGE: &str = "usage: cargo xtask <demo|test>

  demo   train the dinosaur model if models/dinosaurs.rnn is missing, then run it on the
         emulated Cortex-M3 (QEMU lm3s6965evb) and print the names it generates
  test   run every check: fmt, clippy, workspace tests (with the QEMU tests), no_std builds
         of rnn-core for three targets, firmware builds for three boards
  sizes  only the firmware builds' code sizes against firmware-example/size-budget.txt
         (the figures to lower a budget with; `test` checks them too)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("demo") => demo(),
        Some("test") => test(),
        Some("sizes") => sizes(),
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
    let missing: Vec<&str> = targets()
        .into_iter()
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

    let board = boards::all()[0];
    eprintln!(
        "\n==> build the firmware for {} with the model embedded",
        board.name
    );
    let elf = root()
        .join("target")
        .join("xtask-demo")
        .join("firmware.elf");
    boards::build(
        &board,
        &model_path(),
        None,
        &firmware_dir().join("target"),
        &elf,
    )
    .map_err(anyhow::Error::msg)?;
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
    eprintln!(
        "\n==> run it on the emulated {} (qemu-system-arm -machine {})",
        board.cpu, board.name
    );
    let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let session = boards::run(
        &board,
        &elf,
        input.into_bytes(),
        true,
        std::time::Duration::from_secs(60),
    );
    let text = session.text();
    let mut output = text.lines();
    for line in output.by_ref() {
        println!("  mcu {line}");
        if line == "READY" {
            break;
        }
    }
    // Every line sent gets one answer line.
    let answers: Vec<&str> = output.collect();
    for (k, answer) in answers.iter().enumerate() {
        if let Some(line) = lines.get(k) {
            println!("  >   {line}");
        }
        println!("  mcu {answer}");
    }
    if !session.status.is_some_and(|s| s.success()) {
        bail!(
            "the firmware did not exit cleanly ({:?}): {}",
            session.status,
            session.stderr
        );
    }
    let mcu_names: Vec<&str> = answers
        .iter()
        .skip_while(|l| !l.starts_with("ok: seed"))
        .skip(1)
        .take(NAMES)
        .copied()
        .collect();
    println!();
    if mcu_names == host_names {
        println!("The microcontroller's {NAMES} names are byte-identical to the host's.");
        Ok(())
    } else {
        bail!("the microcontroller's names {mcu_names:?} differ from the host's {host_names:?}")
    }
}

fn sizes() -> Result<()> {
    ensure_targets()?;
    // `boards::build` checks the whole toolchain a board needs, QEMU included.
    ensure_qemu()?;
    ensure_model()?;
    let mut paths = fixture_models()?;
    paths.push(("dinosaurs", model_path()));
    check_size_budget(&paths)
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
    run(
        "cargo doc (rnn-core, rnn-train: broken links fail)",
        cargo()
            .args(["doc", "--no-deps", "-p", "rnn-core", "-p", "rnn-train"])
            .env("RUSTDOCFLAGS", "-D warnings"),
    )?;
    for target in targets() {
        run(
            &format!("no_std build of rnn-core for {target}"),
            cargo().args(["build", "-p", "rnn-core", "--release", "--target", target]),
        )?;
    }
    for board in boards::all() {
        let (board, target) = (board.name, board.target);
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
    let mut paths = fixture_models()?;
    for (name, path) in &paths {
        for board in boards::all() {
            let (board, target) = (board.name, board.target);
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
    paths.push(("dinosaurs", model_path()));
    check_size_budget(&paths)?;
    let (passed, failed) = cargo_test()?;
    // One closing line for the whole run, in the form CI reads.
    println!("\nxtask test: {passed} passed, {failed} failed");
    if failed > 0 {
        bail!("{failed} tests failed");
    }
    Ok(())
}

/// Writes the fixture models the firmware is linted and measured with (into
/// `target/xtask-fixtures`): their names and files.
fn fixture_models() -> Result<Vec<(&'static str, PathBuf)>> {
    // A one-layer Elman model compiles the firmware's fast path, any other next-symbol
    // model the `Network` path, a quantized one the `QNetwork` path, classifiers the classify mode (one-hot words or dense
    // vectors, with or without a convolutional front-end), and taggers and regression
    // models the stream mode: lint each of them, with models written for the purpose.
    let fixtures = root().join("target").join("xtask-fixtures");
    std::fs::create_dir_all(&fixtures).context("creating target/xtask-fixtures")?;
    let mut paths = Vec::new();
    for (name, example, args) in [
        ("gru", "write_model", &["16", "1", "gru", "2"][..]),
        // Quantized next-symbol models (int8): the integer path, and on the Cortex-M4F its
        // DSP kernel.
        (
            "qelman",
            "write_model",
            &["25", "1", "elman", "1", "int8"][..],
        ),
        ("qgru2", "write_model", &["16", "1", "gru", "2", "int8"][..]),
        ("words", "write_classifier", &["words"][..]),
        ("dense", "write_classifier", &["dense"][..]),
        ("conv", "write_classifier", &["conv"][..]),
        ("tag", "write_classifier", &["tag"][..]),
        ("regress", "write_classifier", &["regress"][..]),
        // Their int8 twins: classify mode through QClassifier, stream mode through
        // QNetwork, with the DSP kernel on the Cortex-M4F.
        ("qwords", "write_classifier", &["words", "int8"][..]),
        ("qdense", "write_classifier", &["dense", "int8"][..]),
        ("qconv", "write_classifier", &["conv", "int8"][..]),
        ("qtag", "write_classifier", &["tag", "int8"][..]),
        ("qregress", "write_classifier", &["regress", "int8"][..]),
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
    Ok(paths)
}

/// The code-size budget of the firmware builds, one definition: `board binary model bytes`
/// per line, `#` comments.
const BUDGET: &str = "firmware-example/size-budget.txt";

/// Builds the firmware for every board and model of the budget file (`models`: each
/// model's name and file), measures each binary's code (text, rodata and data, the model
/// file not counted) with the toolchain's `llvm-size`, prints every figure, and fails with
/// the builds that are over.
fn check_size_budget(models: &[(&str, PathBuf)]) -> Result<()> {
    eprintln!("\n==> firmware builds and their code size against {BUDGET}");
    let size = llvm_size()?;
    let text = std::fs::read_to_string(root().join(BUDGET))
        .with_context(|| format!("reading {BUDGET}"))?;
    let target_dir = firmware_dir().join("target");
    let mut over = Vec::new();
    let mut checked = 0;
    for (n, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [board, bin, model, budget] = fields[..] else {
            bail!(
                "{BUDGET} line {}: expected `board binary model bytes`, found {line:?}",
                n + 1
            );
        };
        let budget: u64 = budget
            .parse()
            .with_context(|| format!("{BUDGET} line {}: bytes {budget:?}", n + 1))?;
        let board = boards::all()
            .iter()
            .find(|b| b.name == board)
            .with_context(|| format!("{BUDGET} line {}: no board {board} in boards.txt", n + 1))?;
        let (_, path) = models
            .iter()
            .find(|(name, _)| *name == model)
            .with_context(|| format!("{BUDGET} line {}: no model {model}", n + 1))?;
        let copy = root()
            .join("target")
            .join("size-budget")
            .join(format!("{}-{model}.elf", board.name));
        // Builds every binary of the package; `copy` is the firmware's.
        boards::build(board, path, None, &target_dir, &copy).map_err(anyhow::Error::msg)?;
        let elf = target_dir.join(board.target).join("release").join(bin);
        let model_bytes = std::fs::metadata(path)
            .with_context(|| format!("reading {}", path.display()))?
            .len();
        let code = code_size(&size, &elf)?.saturating_sub(model_bytes);
        let verdict = if code > budget {
            over.push(format!(
                "{} {bin} with the {model} model: {code} bytes of code, {} over its budget \
                 of {budget}",
                board.name,
                code - budget
            ));
            "OVER"
        } else {
            "ok"
        };
        println!(
            "size  {:<12} {bin:<17} {model:<10} {code:>7} bytes of code (budget {budget:>7}) \
             {verdict}",
            board.name
        );
        checked += 1;
    }
    if checked == 0 {
        bail!("{BUDGET} lists no builds");
    }
    if !over.is_empty() {
        bail!("code size over budget ({BUDGET}):\n  {}", over.join("\n  "));
    }
    Ok(())
}

/// `text + data` of an ELF in `llvm-size`'s Berkeley format: what the image puts in
/// flash (vector table, code, read-only data, initialisers of `.data`).
fn code_size(size: &Path, elf: &Path) -> Result<u64> {
    let out = Command::new(size)
        .arg("-B")
        .arg(elf)
        .output()
        .with_context(|| format!("running {}", size.display()))?;
    if !out.status.success() {
        bail!(
            "{} -B {} failed ({})",
            size.display(),
            elf.display(),
            out.status
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let numbers: Vec<u64> = text
        .lines()
        .nth(1)
        .unwrap_or("")
        .split_whitespace()
        .take(2)
        .filter_map(|n| n.parse().ok())
        .collect();
    match numbers[..] {
        [text, data] => Ok(text + data),
        _ => bail!("cannot read llvm-size's output: {text}"),
    }
}

/// The toolchain's `llvm-size` (rustup's `llvm-tools` component, added when missing).
fn llvm_size() -> Result<PathBuf> {
    let find = || -> Result<Option<PathBuf>> {
        let out = Command::new("rustc")
            .args(["--print", "sysroot"])
            .current_dir(firmware_dir())
            .output()
            .context("running rustc --print sysroot")?;
        let sysroot = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        let rustlib = sysroot.join("lib").join("rustlib");
        let hosts = std::fs::read_dir(&rustlib)
            .with_context(|| format!("reading {}", rustlib.display()))?;
        for host in hosts.flatten() {
            let tool = host.path().join("bin").join("llvm-size");
            if tool.is_file() {
                return Ok(Some(tool));
            }
        }
        Ok(None)
    };
    if let Some(tool) = find()? {
        return Ok(tool);
    }
    run(
        "rustup component add llvm-tools",
        Command::new("rustup")
            .current_dir(firmware_dir())
            .args(["component", "add", "llvm-tools"]),
    )?;
    find()?.context("llvm-size not found after `rustup component add llvm-tools`")
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
