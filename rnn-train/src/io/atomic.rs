//! Atomic file writes: the data goes to a temporary file in the same directory, is flushed
//! to disk, and is then renamed over the target, so a reader (or a crash) sees either the
//! old file or the new one, never a half-written model or checkpoint. The temporary file's
//! name is fixed (`NAME.tmp`), so one left behind by a process killed mid-write is reused
//! by the next write of the same file rather than piling up.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

pub fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| Error::Config(format!("{}: not a file name", path.display())))?;
    let mut tmp_name = name.to_os_string();
    tmp_name.push(".tmp");
    let tmp = path.with_file_name(tmp_name);
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        // Leave no stray temporary file behind; the original error is the one to report.
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}

/// Removes what earlier versions left when killed mid-write: `NAME.PID.tmp` and
/// `NAME.ckpt.PID.tmp` beside `path` (the current temporary names are reused instead).
pub fn remove_stale(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let name = name.to_string_lossy();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let f = e.file_name();
        let f = f.to_string_lossy();
        let stale = [format!("{name}."), format!("{name}.ckpt.")]
            .iter()
            .any(|p| {
                f.strip_prefix(p.as_str())
                    .and_then(|rest| rest.strip_suffix(".tmp"))
                    .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
            });
        if stale {
            let _ = std::fs::remove_file(e.path());
        }
    }
}
