//! Helpers shared by the integration tests (`use crate::common;` in a test module).
//!
//! - this file: run the official Anki backend (PyPI `anki`) as a judge ([`judge`]);
//! - [`anki`]: import into and sync through the judge, read and assert on its reports;
//! - [`run`]: run the `ankideck` binary (`build`, repository decks with `--locked`);
//! - [`chromium`]: a headless Chromium driven over the DevTools protocol;
//! - [`watching`]: a `--watch` command in the background, its output line by line;
//! - [`files`]: scratch directories under `target/test-tmp/`, writing, copying and
//!   listing files, reading a package's zip entries.
//!
//! The Python side of the judge lives in `tests/anki/` (`judge.py` for the current Anki,
//! `judge_legacy.py` for the old 2.1.49 importer). Each backend gets its own virtualenv
//! under `target/anki-venv/`, built once (pip install from the pinned requirement files)
//! and then reused by every test process and thread.
//!
//! These helpers never skip: if Python or PyPI is unusable they panic with the
//! reason, so a broken judge fails CI instead of passing silently.

pub mod anki;
pub mod chromium;
pub mod files;
pub mod run;
pub mod watching;

use std::fs;
use std::io::{BufRead, BufReader, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant, SystemTime};

/// Which Anki judges a package.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Backend {
    /// Current Anki (`tests/anki/requirements-current.txt`, `judge.py`).
    Current,
    /// Anki 2.1.49 and its old Python importer (`requirements-legacy.txt`, `judge_legacy.py`).
    Legacy,
}

impl Backend {
    fn label(self) -> &'static str {
        match self {
            Backend::Current => "current",
            Backend::Legacy => "legacy",
        }
    }

    /// The requirement file that pins this backend's venv.
    pub fn requirements(self) -> PathBuf {
        anki_dir().join(format!("requirements-{}.txt", self.label()))
    }

    /// The judge script run by [`judge`].
    pub fn script(self) -> PathBuf {
        anki_dir().join(match self {
            Backend::Current => "judge.py",
            Backend::Legacy => "judge_legacy.py",
        })
    }

    /// A Python statement that must succeed in a usable venv.
    fn smoke_test(self) -> &'static str {
        match self {
            Backend::Current => "from anki.collection import Collection, ImportAnkiPackageRequest",
            Backend::Legacy => "from anki.importing.apkg import AnkiPackageImporter",
        }
    }
}

/// The crate root (where Cargo.toml is).
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tests/anki/`, home of the judge scripts and requirement files.
pub fn anki_dir() -> PathBuf {
    workspace().join("tests").join("anki")
}

/// `target/` of the crate (scratch directories and the judge venvs live below it).
fn target_dir() -> PathBuf {
    workspace().join("target")
}

/// The Python interpreter of `kind`'s venv, creating the venv on first use.
///
/// The venv is `target/anki-venv/<current|legacy>-<pinned anki version>`. It counts
/// as ready only when its marker file holds the exact requirement file it was
/// built from, so a half-built venv or a changed pin is rebuilt. Creation is
/// serialized across processes with a lock directory and within a process by
/// a `OnceLock`. Panics with the reason if the venv cannot be made; a failure is kept,
/// so the other tests of the process fail with it at once instead of each trying again.
pub fn python(kind: Backend) -> PathBuf {
    static CURRENT: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    static LEGACY: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let cell = match kind {
        Backend::Current => &CURRENT,
        Backend::Legacy => &LEGACY,
    };
    let venv = cell.get_or_init(|| {
        std::panic::catch_unwind(|| ensure_venv(kind)).map_err(|panic| {
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
    });
    match venv {
        Ok(python) => python.clone(),
        Err(reason) => panic!(
            "the {} judge's venv could not be made: {reason}",
            kind.label()
        ),
    }
}

/// Run the judge of `kind` with `args` (e.g. `["import", "--collection", dir, pkg]`)
/// and return the JSON object it prints. Panics, showing stderr and stdout, if the
/// script exits non-zero or prints something that is not JSON.
pub fn judge(kind: Backend, args: &[&str]) -> serde_json::Value {
    let out = judge_output(kind, args);
    let (stdout, stderr) = (&out.stdout, &out.stderr);
    if out.status != 0 {
        panic!(
            "{} judge failed (exit status {}) for args {:?}\n--- stderr ---\n{}\n--- stdout ---\n{}",
            kind.label(),
            out.status,
            args,
            stderr,
            truncate(stdout, 4000)
        );
    }
    serde_json::from_str(stdout).unwrap_or_else(|e| {
        panic!(
            "{} judge printed invalid JSON for args {:?}: {e}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            kind.label(),
            args,
            truncate(stdout, 4000),
            stderr
        )
    })
}

/// What a judge command answered: what running the script with its arguments would
/// have exited with and printed.
#[derive(serde::Deserialize)]
pub struct JudgeOutput {
    pub status: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Run the judge of `kind` and return its raw output, whatever the exit status.
/// For tests that expect the judge itself to fail.
///
/// The command runs in a judge process that stays to answer later commands
/// (`judge.py serve`): starting Python and importing anki is most of a short command's
/// time. Each process answers one test at a time; a test takes an idle one of its
/// backend or starts another, so there are as many as tests ask at once.
pub fn judge_output(kind: Backend, args: &[&str]) -> JudgeOutput {
    static IDLE: Mutex<Vec<(Backend, JudgeServer)>> = Mutex::new(Vec::new());
    let idle = {
        let mut idle = IDLE.lock().unwrap_or_else(PoisonError::into_inner);
        let found = idle.iter().position(|(k, _)| *k == kind);
        found.map(|i| idle.swap_remove(i).1)
    };
    let mut server = idle.unwrap_or_else(|| JudgeServer::start(kind));
    let out = server.ask(args);
    IDLE.lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push((kind, server));
    out
}

/// A judge process run as `judge.py serve`: it reads a JSON list of arguments per line
/// and answers each with a line of [`JudgeOutput`].
struct JudgeServer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// Where the process's own stderr goes (the backend's logs, a crash).
    log: PathBuf,
}

impl JudgeServer {
    fn start(kind: Backend) -> JudgeServer {
        let py = python(kind);
        let script = kind.script();
        let log = files::temp_dir("judge-server").join("stderr.log");
        let log_file = fs::File::create(&log)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
        let mut child = Command::new(&py)
            .arg(&script)
            .arg("serve")
            .current_dir(workspace())
            // keep tests/anki/ free of __pycache__ and the judge free of outside Python settings
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONIOENCODING", "utf-8")
            .env_remove("PYTHONPATH")
            .env_remove("PYTHONHOME")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {} {}: {e}", py.display(), script.display()));
        JudgeServer {
            stdin: child.stdin.take().unwrap(),
            stdout: BufReader::new(child.stdout.take().unwrap()),
            child,
            log,
        }
    }

    /// Runs one command; panics with the process's stderr if it does not answer.
    fn ask(&mut self, args: &[&str]) -> JudgeOutput {
        let mut request = serde_json::to_string(args).unwrap();
        request.push('\n');
        let mut answer = String::new();
        let asked = self
            .stdin
            .write_all(request.as_bytes())
            .and_then(|()| self.stdin.flush())
            .and_then(|()| self.stdout.read_line(&mut answer));
        match asked {
            Ok(n) if n > 0 => serde_json::from_str(&answer)
                .unwrap_or_else(|e| panic!("judge answered {answer:?} for {args:?}: {e}")),
            _ => panic!(
                "judge process ended without answering {args:?} ({:?}, {:?})\n--- stderr ---\n{}",
                asked,
                self.child.try_wait(),
                fs::read_to_string(&self.log).unwrap_or_default()
            ),
        }
    }
}

/// Convert a path to `&str` for [`judge`] and `ankideck` arguments (panics on non-UTF-8
/// paths).
pub fn path_str(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("path is not UTF-8: {}", path.display()))
}

// ---------------------------------------------------------------------------
// venv creation

const MARKER: &str = "ankideck-venv-ready";
/// How long to wait for another process that is building the same venv.
const LOCK_WAIT: Duration = Duration::from_secs(20 * 60);
/// A lock older than this is taken as left behind by a killed process.
const LOCK_STALE: Duration = Duration::from_secs(15 * 60);

fn venv_python(venv: &Path) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join("python.exe")
    } else {
        venv.join("bin").join("python")
    }
}

/// The `anki==X` pin of a requirement file.
fn pinned_anki(requirements: &str) -> Option<String> {
    requirements.lines().find_map(|line| {
        let line = line.split('#').next()?.trim();
        let version = line.strip_prefix("anki==")?;
        Some(version.trim().to_string())
    })
}

/// The system Python used to create venvs (`ANKIDECK_PYTHON` overrides `python3`).
fn base_python() -> String {
    std::env::var("ANKIDECK_PYTHON").unwrap_or_else(|_| "python3".to_string())
}

fn ensure_venv(kind: Backend) -> PathBuf {
    let req_path = kind.requirements();
    let requirements = fs::read_to_string(&req_path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", req_path.display()));
    let version = pinned_anki(&requirements)
        .unwrap_or_else(|| panic!("{} has no `anki==VERSION` line", req_path.display()));
    let root = target_dir().join("anki-venv");
    fs::create_dir_all(&root).unwrap_or_else(|e| panic!("cannot create {}: {e}", root.display()));
    let venv = root.join(format!("{}-{version}", kind.label()));
    let marker = venv.join(MARKER);
    let ready = || {
        fs::read_to_string(&marker)
            .map(|m| m == requirements)
            .unwrap_or(false)
    };

    if !ready() {
        let _lock = DirLock::acquire(&root.join(format!("{}-{version}.lock", kind.label())));
        // another process may have finished it while we waited
        if !ready() {
            build_venv(kind, &venv, &req_path);
            let tmp = venv.join(format!("{MARKER}.tmp"));
            fs::write(&tmp, &requirements)
                .and_then(|_| fs::rename(&tmp, &marker))
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", marker.display()));
        }
    }
    let py = venv_python(&venv);
    assert!(py.exists(), "venv python missing: {}", py.display());
    py
}

fn build_venv(kind: Backend, venv: &Path, req_path: &Path) {
    let started = Instant::now();
    eprintln!(
        "[anki judge] building {} venv at {}",
        kind.label(),
        venv.display()
    );
    if venv.exists() {
        fs::remove_dir_all(venv)
            .unwrap_or_else(|e| panic!("cannot remove half-built venv {}: {e}", venv.display()));
    }
    let base = base_python();
    run_checked(
        Command::new(&base).args(["-m", "venv"]).arg(venv),
        &format!(
            "`{base} -m venv {}` (is python3 with the venv module installed?)",
            venv.display()
        ),
    );
    let py = venv_python(venv);
    run_checked(
        Command::new(&py)
            .args([
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "--no-input",
                "-q",
                "-r",
            ])
            .arg(req_path)
            .env("PIP_NO_INPUT", "1"),
        &format!(
            "pip install -r {} (needs access to PyPI)",
            req_path.display()
        ),
    );
    run_checked(
        Command::new(&py).args(["-c", kind.smoke_test()]),
        &format!("importing anki in the {} venv", kind.label()),
    );
    eprintln!(
        "[anki judge] {} venv ready in {:.1}s",
        kind.label(),
        started.elapsed().as_secs_f64()
    );
}

fn run_checked(cmd: &mut Command, what: &str) {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("anki judge setup failed: cannot start {what}: {e}"));
    if !out.status.success() {
        panic!(
            "anki judge setup failed: {what} exited with {}\n--- stderr ---\n{}\n--- stdout ---\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr),
            truncate(&String::from_utf8_lossy(&out.stdout), 4000)
        );
    }
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A cross-process lock: a directory created atomically with `mkdir`, holding
/// an `owner` file with the pid. Removed on drop (also when a panic unwinds).
struct DirLock {
    dir: PathBuf,
}

impl DirLock {
    fn acquire(dir: &Path) -> DirLock {
        let started = Instant::now();
        loop {
            match fs::create_dir(dir) {
                Ok(()) => {
                    let _ = fs::write(dir.join("owner"), std::process::id().to_string());
                    return DirLock {
                        dir: dir.to_path_buf(),
                    };
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                    if lock_is_stale(dir) {
                        eprintln!("[anki judge] removing stale lock {}", dir.display());
                        let _ = fs::remove_dir_all(dir);
                        continue;
                    }
                    if started.elapsed() > LOCK_WAIT {
                        panic!(
                            "anki judge setup failed: lock {} still held after {:?}; \
                             remove it if no test is running",
                            dir.display(),
                            LOCK_WAIT
                        );
                    }
                    std::thread::sleep(Duration::from_millis(250));
                }
                Err(e) => panic!("cannot create lock {}: {e}", dir.display()),
            }
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A lock is stale when its owner process is gone (checked via /proc where it
/// exists) or when it is older than `LOCK_STALE`.
fn lock_is_stale(dir: &Path) -> bool {
    let owner = fs::read_to_string(dir.join("owner")).ok();
    if let Some(pid) = owner.as_deref().and_then(|s| s.trim().parse::<u32>().ok()) {
        let proc_root = Path::new("/proc");
        if proc_root.join("self").exists() && !proc_root.join(pid.to_string()).exists() {
            return true;
        }
    }
    // no owner file yet (just created) or owner alive: judge by age
    let age = fs::metadata(dir)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .unwrap_or_default();
    age > LOCK_STALE
}
