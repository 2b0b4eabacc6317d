//! Benchmark: `ankideck build` against genanki (and `zip -0 -r` for media) on synthetic
//! card sources. See docs/PERFORMANCE.md.
//!
//! ```sh
//! cargo run --release --example bench                          # every case of the table
//! cargo run --release --example bench -- --case 10000 --runs 3 # one case
//! cargo run --release --example bench -- --case 1000,2000,1G   # 1k notes, 2000 media files, 1 GiB
//! cargo run --release --example bench -- --case plain:100000   # 100k plain notes
//! cargo run --release --example bench -- generate --notes 50 --dir /tmp/cards
//! ```
//!
//! Everything lives under `target/bench/`: the generated sources (deleted after each case
//! unless `--keep`), the packages, and genanki's virtualenv (`target/bench/genanki-venv`,
//! pinned by `bench/requirements-genanki.txt`, made on first use).

use ankideck::source::Sources;
use ankideck::{Format, Kind};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// Notes per generated card file of the rich decks.
const NOTES_PER_FILE: usize = 50;
/// Notes per generated card file of the plain decks (issue 16's deck: 100 files of 1,000).
const PLAIN_NOTES_PER_FILE: usize = 1000;

#[derive(Parser)]
#[command(about = "Benchmark ankideck against genanki and zip on synthetic cards")]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// A case: NOTES (rich notes), plain:NOTES (short plain notes), or
    /// NOTES,MEDIA_FILES,TOTAL_SIZE (like 1000,2000,1G). Repeatable; default: 1000, 10000,
    /// 100000, plain:100000 and 1000,2000,1G.
    #[arg(long = "case")]
    cases: Vec<String>,
    /// Runs per tool and case; the median time and the largest peak memory are reported.
    #[arg(long, default_value_t = 1)]
    runs: usize,
    /// Skip genanki.
    #[arg(long)]
    no_genanki: bool,
    /// Keep the generated sources and packages.
    #[arg(long)]
    keep: bool,
    /// Where to work [default: target/bench].
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Only generate card sources (and media) into DIR.
    Generate {
        #[arg(long)]
        notes: usize,
        /// Short plain notes (the plain case) instead of rich ones.
        #[arg(long)]
        plain: bool,
        #[arg(long, default_value_t = 0)]
        media: usize,
        /// Total media size, like 50M or 1G.
        #[arg(long, default_value = "0")]
        media_size: String,
        #[arg(long)]
        dir: PathBuf,
    },
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    if let Some(Cmd::Generate {
        notes,
        plain,
        media,
        media_size,
        dir,
    }) = cli.command
    {
        let spec = Spec {
            notes,
            plain,
            media,
            media_bytes: parse_size(&media_size)?,
        };
        generate(&spec, &dir)?;
        println!(
            "generated {} notes and {} media files in {}",
            notes,
            media,
            dir.display()
        );
        return Ok(());
    }

    let root = cli
        .dir
        .clone()
        .unwrap_or_else(|| workspace().join("target").join("bench"));
    fs::create_dir_all(&root)?;
    let cases = if cli.cases.is_empty() {
        vec![
            "1000".into(),
            "10000".into(),
            "100000".into(),
            "plain:100000".into(),
            "1000,2000,1G".into(),
        ]
    } else {
        cli.cases.clone()
    };
    let specs = cases
        .iter()
        .map(|c| Spec::parse(c))
        .collect::<Result<Vec<_>, _>>()?;

    let ankideck = build_release_binary()?;
    let python = if cli.no_genanki {
        None
    } else {
        Some(genanki_venv(&root)?)
    };
    let zip_available = Command::new("zip")
        .arg("-v")
        .stdout(Stdio::null())
        .status()
        .is_ok();
    if !zip_available {
        eprintln!("note: `zip` not found (apt-get install zip); media cases run without it");
    }

    println!("{}", machine_info());
    let mut table = String::from(
        "| case | tool | time (s) | CPU (s) | peak RSS (MB) | package (MB) | time vs genanki | RSS vs genanki | size vs genanki |\n|---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for spec in &specs {
        let case_dir = root.join(format!("case-{}", spec.label()));
        let _ = fs::remove_dir_all(&case_dir);
        let sources = case_dir.join("cards");
        eprintln!("[bench] generating {}", spec.label());
        generate(spec, &sources)?;
        let notes_json = case_dir.join("notes.json");
        if python.is_some() {
            // Reading every note into JSON takes time and memory: only for genanki.
            export_for_genanki(&sources, &notes_json, &case_dir.join("genanki-media"))?;
        }

        let mut rows: Vec<(String, Measure)> = Vec::new();
        for format in [Format::Legacy1, Format::Latest] {
            let name = match format {
                Format::Legacy1 => "ankideck (legacy)",
                Format::Latest => "ankideck (latest)",
            };
            let out = case_dir.join(format!("ankideck-{format:?}.apkg"));
            let mut cmd = Command::new(&ankideck);
            cmd.arg("build").arg(&sources).arg("-o").arg(&out);
            if format == Format::Latest {
                cmd.args(["--format", "latest"]);
            }
            eprintln!("[bench] {} {name}", spec.label());
            rows.push((name.into(), measure(&mut cmd, &out, cli.runs)?));
        }
        if let Some(python) = &python {
            let out = case_dir.join("genanki.apkg");
            let mut cmd = Command::new(python);
            cmd.arg(workspace().join("bench").join("genanki_build.py"))
                .arg(&notes_json)
                .arg(&out);
            eprintln!("[bench] {} genanki", spec.label());
            rows.push(("genanki".into(), measure(&mut cmd, &out, cli.runs)?));
        }
        if spec.media > 0 && zip_available {
            let out = case_dir.join("media.zip");
            let mut cmd = Command::new("zip");
            cmd.args(["-0", "-r", "-q"])
                .arg(&out)
                .arg("media")
                .current_dir(&sources);
            eprintln!("[bench] {} zip -0 -r", spec.label());
            rows.push((
                "zip -0 -r (media only)".into(),
                measure(&mut cmd, &out, cli.runs)?,
            ));
        }

        let legacy = case_dir.join(format!("ankideck-{:?}.apkg", Format::Legacy1));
        eprintln!("[bench] {} floor", spec.label());
        let floor = write_floor(&legacy, &case_dir, cli.runs)?;
        let genanki = rows.iter().find(|(n, _)| n == "genanki").map(|(_, m)| *m);
        for (name, m) in &rows {
            let ratio = |ours: f64, theirs: Option<f64>| match theirs {
                Some(t) if name != "genanki" && t > 0.0 && ours > 0.0 => {
                    if ours <= t {
                        format!("{:.1}× less", t / ours)
                    } else {
                        format!("{:.1}× more", ours / t)
                    }
                }
                _ => String::from("–"),
            };
            let _ = writeln!(
                table,
                "| {} | {} | {:.2} | {} | {} | {:.2} | {} | {} | {} |",
                spec.label(),
                name,
                m.seconds,
                m.cpu_seconds.map_or("n/a".into(), |v| format!("{v:.2}")),
                m.peak_mb.map_or("n/a".into(), |v| format!("{v:.0}")),
                m.bytes as f64 / 1e6,
                ratio(m.seconds, genanki.map(|g| g.seconds)),
                ratio(m.peak_mb.unwrap_or(0.0), genanki.and_then(|g| g.peak_mb)),
                ratio(m.bytes as f64, genanki.map(|g| g.bytes as f64)),
            );
        }
        // No build of this package can take less (see `write_floor`).
        let _ = writeln!(
            table,
            "| {} | floor: rows only into SQLite and zip | {floor:.2} | | | | {} | | |",
            spec.label(),
            genanki.map_or("–".into(), |g| format!("{:.1}× less", g.seconds / floor)),
        );
        if let Some(zip) = rows.iter().find(|(n, _)| n.starts_with("zip")) {
            for (name, m) in rows.iter().filter(|(n, _)| n.starts_with("ankideck")) {
                let _ = writeln!(
                    table,
                    "| {} | {name} / zip time | {:.2}× | | | | | | |",
                    spec.label(),
                    m.seconds / zip.1.seconds
                );
            }
        }
        println!("{table}");
        if !cli.keep {
            fs::remove_dir_all(&case_dir)?;
        }
    }
    println!("\n{table}");
    Ok(())
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `cargo build --release --bin ankideck`, then the binary's path.
fn build_release_binary() -> Result<PathBuf, Box<dyn std::error::Error>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "--release", "--quiet", "--bin", "ankideck"])
        .current_dir(workspace())
        .status()?;
    if !status.success() {
        return Err("cargo build --release failed".into());
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"));
    Ok(target.join("release").join("ankideck"))
}

/// genanki's virtualenv, made once from the pinned requirements.
fn genanki_venv(root: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let requirements = workspace().join("bench").join("requirements-genanki.txt");
    let pins = fs::read_to_string(&requirements)?;
    let venv = root.join("genanki-venv");
    let python = venv.join("bin").join("python");
    let marker = venv.join("ankideck-bench-ready");
    if fs::read_to_string(&marker).ok().as_deref() == Some(pins.as_str()) {
        return Ok(python);
    }
    eprintln!("[bench] creating {} (pip install genanki)", venv.display());
    let _ = fs::remove_dir_all(&venv);
    let base = std::env::var("ANKIDECK_PYTHON").unwrap_or_else(|_| "python3".into());
    let ok = Command::new(&base)
        .args(["-m", "venv"])
        .arg(&venv)
        .status()?
        .success()
        && Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "-q",
                "--disable-pip-version-check",
                "-r",
            ])
            .arg(&requirements)
            .status()?
            .success();
    if !ok {
        return Err("could not create the genanki venv (needs python3 and PyPI)".into());
    }
    fs::write(&marker, pins)?;
    Ok(python)
}

#[derive(Clone, Copy)]
struct Measure {
    seconds: f64,
    /// User + system CPU time: steadier than wall time on a busy machine.
    cpu_seconds: Option<f64>,
    peak_mb: Option<f64>,
    bytes: u64,
}

/// Runs `cmd` `runs` times under `/usr/bin/time -v` (when there is one): median wall
/// time, largest peak RSS, size of `output`.
fn measure(
    cmd: &mut Command,
    output: &Path,
    runs: usize,
) -> Result<Measure, Box<dyn std::error::Error>> {
    let time_v = Path::new("/usr/bin/time").exists();
    let mut times = Vec::new();
    let mut peak: Option<f64> = None;
    let mut cpu = Vec::new();
    for _ in 0..runs.max(1) {
        let _ = fs::remove_file(output);
        let report =
            std::env::temp_dir().join(format!("ankideck-bench-time-{}", std::process::id()));
        let mut run = if time_v {
            let mut c = Command::new("/usr/bin/time");
            c.arg("-v")
                .arg("-o")
                .arg(&report)
                .arg(cmd.get_program())
                .args(cmd.get_args());
            if let Some(dir) = cmd.get_current_dir() {
                c.current_dir(dir);
            }
            c
        } else {
            let mut c = Command::new(cmd.get_program());
            c.args(cmd.get_args());
            if let Some(dir) = cmd.get_current_dir() {
                c.current_dir(dir);
            }
            c
        };
        let started = Instant::now();
        let out = run.stdout(Stdio::null()).stderr(Stdio::piped()).output()?;
        times.push(started.elapsed().as_secs_f64());
        if !out.status.success() {
            return Err(format!(
                "{:?} failed: {}",
                cmd.get_program(),
                String::from_utf8_lossy(&out.stderr)
            )
            .into());
        }
        if time_v {
            let text = fs::read_to_string(&report)?;
            let kb = text
                .lines()
                .find_map(|l| l.trim().strip_prefix("Maximum resident set size (kbytes):"))
                .and_then(|v| v.trim().parse::<f64>().ok());
            let seconds = |label: &str| {
                text.lines()
                    .find_map(|l| l.trim().strip_prefix(label))
                    .and_then(|v| v.trim().parse::<f64>().ok())
            };
            if let (Some(user), Some(system)) = (
                seconds("User time (seconds):"),
                seconds("System time (seconds):"),
            ) {
                cpu.push(user + system);
            }
            if let Some(kb) = kb {
                peak = Some(peak.map_or(kb / 1024.0, |p: f64| p.max(kb / 1024.0)));
            }
            let _ = fs::remove_file(&report);
        }
    }
    times.sort_by(f64::total_cmp);
    cpu.sort_by(f64::total_cmp);
    Ok(Measure {
        seconds: times[times.len() / 2],
        cpu_seconds: cpu.get(cpu.len() / 2).copied(),
        peak_mb: peak,
        bytes: fs::metadata(output)?.len(),
    })
}

/// The least time any build of `package` can take: its collection's rows, already in
/// memory, written into a new SQLite file as ankideck writes one (same schema and page
/// size, one transaction, no journal), indexed, and deflated into a zip at ankideck's
/// level for a large collection. No sources are read and nothing is checked; only
/// these steps, which run one after the other on one core. Median of `runs`.
fn write_floor(
    package: &Path,
    work: &Path,
    runs: usize,
) -> Result<f64, Box<dyn std::error::Error>> {
    use rusqlite::{types::Value as Sql, Connection};
    let source = work.join("floor-source.anki2");
    let mut archive = zip::ZipArchive::new(fs::File::open(package)?)?;
    std::io::copy(
        &mut archive.by_name("collection.anki2")?,
        &mut fs::File::create(&source)?,
    )?;
    let db = Connection::open(&source)?;
    let page_size: i64 = db.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let schema = |kind: &str| -> rusqlite::Result<Vec<(String, String)>> {
        let mut st = db.prepare(
            "SELECT name, sql FROM sqlite_master WHERE type = ?1 AND sql IS NOT NULL ORDER BY rowid",
        )?;
        let rows = st.query_map([kind], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect()
    };
    let (tables, indexes) = (schema("table")?, schema("index")?);
    let mut rows: Vec<(String, Vec<Vec<Sql>>)> = Vec::new();
    for (name, _) in &tables {
        let mut st = db.prepare(&format!("SELECT * FROM {name} ORDER BY rowid"))?;
        let width = st.column_count();
        let table = st.query_map([], |r| (0..width).map(|i| r.get::<_, Sql>(i)).collect())?;
        rows.push((name.clone(), table.collect::<rusqlite::Result<_>>()?));
    }
    drop(db);
    let (target, zipped) = (work.join("floor.anki2"), work.join("floor.zip"));
    let mut times = Vec::new();
    for _ in 0..runs.max(1) {
        let _ = fs::remove_file(&target);
        let started = Instant::now();
        let mut db = Connection::open(&target)?;
        db.execute_batch(&format!(
            "PRAGMA page_size = {page_size}; PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
        ))?;
        let tx = db.transaction()?;
        for ((_, sql), (name, table)) in tables.iter().zip(&rows) {
            tx.execute_batch(sql)?;
            let Some(width) = table.first().map(Vec::len) else {
                continue;
            };
            let marks = vec!["?"; width].join(", ");
            let mut insert = tx.prepare(&format!("INSERT INTO {name} VALUES ({marks})"))?;
            for row in table {
                insert.execute(rusqlite::params_from_iter(row))?;
            }
        }
        for (_, sql) in &indexes {
            tx.execute_batch(sql)?;
        }
        tx.commit()?;
        drop(db);
        let mut zip = zip::ZipWriter::new(std::io::BufWriter::new(fs::File::create(&zipped)?));
        let options = zip::write::SimpleFileOptions::default().compression_level(Some(1));
        zip.start_file("collection.anki2", options)?;
        std::io::copy(&mut fs::File::open(&target)?, &mut zip)?;
        zip.finish()?.flush()?;
        times.push(started.elapsed().as_secs_f64());
    }
    for file in [&source, &target, &zipped] {
        let _ = fs::remove_file(file);
    }
    times.sort_by(f64::total_cmp);
    Ok(times[times.len() / 2])
}

fn machine_info() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("model name")
                    .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
            })
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let memory = fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines().find_map(|l| {
                l.strip_prefix("MemTotal:")
                    .and_then(|v| v.trim().trim_end_matches(" kB").parse::<f64>().ok())
            })
        })
        .map_or("unknown memory".into(), |kb| {
            format!("{:.1} GiB RAM", kb / 1024.0 / 1024.0)
        });
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("machine: {cpu}, {cores} cores (nproc), {memory}")
}

// ---------------------------------------------------------------------------
// The synthetic sources

struct Spec {
    notes: usize,
    /// Short plain notes (see [`write_plain_note`]) instead of rich ones.
    plain: bool,
    media: usize,
    media_bytes: u64,
}

impl Spec {
    fn parse(text: &str) -> Result<Spec, String> {
        if let Some(notes) = text.strip_prefix("plain:") {
            let notes = notes.trim().parse().map_err(|e| format!("{text}: {e}"))?;
            return Ok(Spec {
                notes,
                plain: true,
                media: 0,
                media_bytes: 0,
            });
        }
        let parts: Vec<&str> = text.split(',').collect();
        let number = |s: &str| {
            s.trim()
                .parse::<usize>()
                .map_err(|e| format!("{text}: {e}"))
        };
        match parts.as_slice() {
            [n] => Ok(Spec {
                notes: number(n)?,
                plain: false,
                media: 0,
                media_bytes: 0,
            }),
            [n, m, s] => Ok(Spec {
                notes: number(n)?,
                plain: false,
                media: number(m)?,
                media_bytes: parse_size(s)?,
            }),
            _ => Err(format!("case `{text}`: NOTES or NOTES,MEDIA,SIZE")),
        }
    }

    fn label(&self) -> String {
        let notes = short(self.notes as u64, 1000, ["", "k", "M"]);
        if self.plain {
            format!("{notes} plain notes")
        } else if self.media == 0 {
            format!("{notes} notes")
        } else {
            let size = short(self.media_bytes, 1024, ["B", "KiB", "MiB", "GiB"]);
            format!("{notes} notes + {} media ({size})", self.media)
        }
    }
}

fn short<const N: usize>(mut value: u64, base: u64, units: [&str; N]) -> String {
    let mut unit = 0;
    while value >= base && value.is_multiple_of(base) && unit + 1 < N {
        value /= base;
        unit += 1;
    }
    format!("{value}{}", units[unit])
}

fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, factor) = match text.char_indices().last() {
        Some((i, 'K' | 'k')) => (&text[..i], 1 << 10),
        Some((i, 'M' | 'm')) => (&text[..i], 1 << 20),
        Some((i, 'G' | 'g')) => (&text[..i], 1 << 30),
        _ => (text, 1),
    };
    number
        .parse::<u64>()
        .map(|n| n * factor)
        .map_err(|e| format!("size `{text}`: {e}"))
}

/// A small deterministic generator (splitmix64), so every run benchmarks the same cards.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }
}

const ZH: &[&str] = &[
    "模型",
    "梯度",
    "学习率",
    "正则化",
    "损失函数",
    "注意力",
    "词向量",
    "过拟合",
    "训练集",
    "验证集",
    "批量",
    "卷积",
    "循环神经网络",
    "编码器",
    "解码器",
    "参数",
    "优化器",
    "收敛",
    "特征",
    "样本",
    "分类",
    "回归",
    "概率",
    "分布",
    "期望",
    "方差",
    "矩阵",
    "向量",
    "导数",
    "反向传播",
    "为什么",
    "如何",
    "什么是",
    "比较",
    "解释",
    "一下",
    "的",
    "和",
    "在",
    "中",
];
const EN: &[&str] = &[
    "model",
    "gradient",
    "learning",
    "rate",
    "regularization",
    "loss",
    "attention",
    "embedding",
    "overfitting",
    "training",
    "validation",
    "batch",
    "convolution",
    "recurrent",
    "network",
    "encoder",
    "decoder",
    "parameter",
    "optimizer",
    "converge",
    "feature",
    "sample",
    "the",
    "a",
    "of",
    "in",
    "with",
    "why",
    "how",
    "does",
    "is",
    "what",
    "between",
    "and",
    "Adam",
    "SGD",
    "Transformer",
    "BERT",
    "softmax",
    "dropout",
    "layer",
    "norm",
    "token",
    "sequence",
];
const MATH: &[&str] = &[
    r"$\frac{\partial L}{\partial w}$",
    r"$\sigma(x) = \frac{1}{1 + e^{-x}}$",
    r"$\lVert w \rVert_2^2$",
    r"$\sum_{i=1}^{n} x_i$",
    r"$\mathbb{E}[X]$",
];
const TAGS: &[&str] = &[
    "nlp",
    "ml",
    "面试题",
    "math",
    "dl::basics",
    "dl::advanced",
    "高频",
];
const MEDIA_EXTENSIONS: &[&str] = &["jpg", "png", "mp3", "ogg", "gif", "m4a"];

fn phrase(rng: &mut Rng, words: usize) -> String {
    let mut out = String::new();
    for _ in 0..words {
        if rng.chance(50) {
            out.push_str(rng.pick(ZH));
        } else {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(rng.pick(EN));
        }
    }
    out
}

/// Generates `spec.notes` notes in nested folders (`topic-i/sub-j/file-k.md`, 50 notes a
/// file) and `spec.media` media files in `media/`, each referenced by one note.
fn generate(spec: &Spec, dir: &Path) -> std::io::Result<()> {
    if spec.plain {
        return generate_plain(spec.notes, dir);
    }
    let _ = fs::remove_dir_all(dir);
    fs::create_dir_all(dir.join("media"))?;
    let mut rng = Rng(42);

    // Media: sizes vary ±50% around the mean; random bytes do not compress, like real media.
    let mut media_names = Vec::with_capacity(spec.media);
    let mean = if spec.media == 0 {
        0
    } else {
        spec.media_bytes / spec.media as u64
    };
    let mut left = spec.media_bytes;
    let mut block = vec![0u8; 1 << 16];
    for i in 0..spec.media {
        let ext = MEDIA_EXTENSIONS[i % MEDIA_EXTENSIONS.len()];
        let name = format!("media-{i:05}.{ext}");
        let size = if i + 1 == spec.media {
            left
        } else {
            (mean / 2 + rng.next() % (mean + 1)).min(left)
        };
        left -= size;
        let mut file = std::io::BufWriter::new(fs::File::create(dir.join("media").join(&name))?);
        let mut written = 0;
        while written < size {
            for chunk in block.chunks_mut(8) {
                chunk.copy_from_slice(&rng.next().to_le_bytes()[..chunk.len()]);
            }
            let n = (size - written).min(block.len() as u64) as usize;
            file.write_all(&block[..n])?;
            written += n as u64;
        }
        file.flush()?;
        media_names.push(name);
    }

    let files = spec.notes.div_ceil(NOTES_PER_FILE);
    let mut note = 0;
    for f in 0..files {
        let (topic, sub) = (f % 7, (f / 7) % 5);
        let folder = dir
            .join(format!("topic-{topic}"))
            .join(format!("sub-{sub}"));
        fs::create_dir_all(&folder)?;
        let mut text = String::new();
        if f % 3 == 0 {
            let _ = writeln!(
                text,
                "---\ndeck: 面试题::Topic {topic}::Sub {sub}\ntags: [{}, {}]\n---\n",
                rng.pick(TAGS),
                rng.pick(TAGS)
            );
        } else if f % 3 == 1 {
            let _ = writeln!(text, "---\ntags: [{}]\n---\n", rng.pick(TAGS));
        }
        let end = (note + NOTES_PER_FILE).min(spec.notes);
        while note < end {
            write_note(&mut text, &mut rng, note, spec, &media_names);
            note += 1;
        }
        fs::write(folder.join(format!("cards-{f:05}.md")), text)?;
    }
    Ok(())
}

/// Generates `notes` short plain notes, 1,000 a file, each file its own deck three levels
/// deep (`part-i/group-j/file-k.md`) with file tags: questions of about 8 words, answers
/// of about 20, mixed Chinese and English; 10% cloze notes; every seventh answer has one
/// bold word and one inline formula.
fn generate_plain(notes: usize, dir: &Path) -> std::io::Result<()> {
    let _ = fs::remove_dir_all(dir);
    let mut rng = Rng(42);
    let mut note = 0;
    for f in 0..notes.div_ceil(PLAIN_NOTES_PER_FILE) {
        let folder = dir
            .join(format!("part-{}", f / 20))
            .join(format!("group-{}", f / 5 % 4));
        fs::create_dir_all(&folder)?;
        let mut text = format!("---\ntags: [{}, file-{f}]\n---\n\n", rng.pick(TAGS));
        let end = (note + PLAIN_NOTES_PER_FILE).min(notes);
        while note < end {
            write_plain_note(&mut text, &mut rng, note);
            note += 1;
        }
        fs::write(folder.join(format!("file-{f:04}.md")), text)?;
    }
    Ok(())
}

/// One plain note: a question of 6–10 words (or a cloze sentence), an answer of 16–24.
fn write_plain_note(text: &mut String, rng: &mut Rng, index: usize) {
    let words = 6 + rng.below(5);
    if rng.chance(10) {
        let _ = writeln!(
            text,
            "## {} {{{{c1::{}}}}} {} #{index}\n",
            phrase(rng, words / 2),
            phrase(rng, 1),
            phrase(rng, words / 2),
        );
    } else {
        let _ = writeln!(text, "## {}? #{index}\n", phrase(rng, words));
    }
    let words = 16 + rng.below(9);
    if index.is_multiple_of(7) {
        let _ = writeln!(
            text,
            "{} **{}** {} {}。\n",
            phrase(rng, words / 2),
            rng.pick(EN),
            rng.pick(MATH),
            phrase(rng, words / 2)
        );
    } else {
        let _ = writeln!(text, "{}。\n", phrase(rng, words));
    }
}

fn write_note(text: &mut String, rng: &mut Rng, index: usize, spec: &Spec, media: &[String]) {
    let cloze = rng.chance(8);
    let words = 6 + rng.below(12);
    if cloze {
        let _ = writeln!(
            text,
            "## {} {{{{c1::{}}}}} {} {{{{c2::{}::hint}}}} #{index}\n",
            phrase(rng, words / 2),
            phrase(rng, 2),
            phrase(rng, words / 2),
            phrase(rng, 1)
        );
    } else {
        let _ = writeln!(text, "## {}? #{index}", phrase(rng, words));
        if rng.chance(30) {
            let _ = writeln!(text, "id: note-{index}");
        }
        if rng.chance(20) {
            let _ = writeln!(text, "tags: {} {}", rng.pick(TAGS), rng.pick(TAGS));
        }
        text.push('\n');
    }
    let answer_words = 10 + rng.below(30);
    let _ = writeln!(
        text,
        "{} **{}** {}。\n",
        phrase(rng, answer_words),
        phrase(rng, 2),
        phrase(rng, 8)
    );
    if rng.chance(40) {
        for _ in 0..2 + rng.below(3) {
            let _ = writeln!(text, "- {} `{}`", phrase(rng, 6), rng.pick(EN));
        }
        text.push('\n');
    }
    if rng.chance(25) {
        let _ = writeln!(
            text,
            "{} {} {}\n",
            phrase(rng, 5),
            rng.pick(MATH),
            phrase(rng, 3)
        );
    }
    if rng.chance(5) {
        let _ = writeln!(
            text,
            "$$\n\\mathcal{{L}} = -\\sum_i y_i \\log \\hat y_i\n$$\n"
        );
    }
    if rng.chance(10) {
        let _ = writeln!(
            text,
            "```python\ndef step(w, g, lr={}):\n    # {}\n    return w - lr * g\n```\n",
            rng.below(100),
            phrase(rng, 4)
        );
    }
    // Media j belongs to note j * notes / media.
    if !media.is_empty() {
        let first = (index * media.len()).div_ceil(spec.notes);
        let last = ((index + 1) * media.len()).div_ceil(spec.notes);
        for name in &media[first..last.min(media.len())] {
            if name.ends_with(".mp3") || name.ends_with(".ogg") || name.ends_with(".m4a") {
                let _ = writeln!(text, "[sound:../../media/{name}]\n");
            } else {
                let _ = writeln!(text, "![{}](../../media/{name})\n", phrase(rng, 2));
            }
        }
    }
}

/// Reads the sources with ankideck (untimed) and writes what genanki needs: note types,
/// notes with their rendered fields, guids, tags and decks, and the media files, linked
/// under their packaged names so genanki packages the same names.
fn export_for_genanki(sources: &Path, json_path: &Path, media_dir: &Path) -> ankideck::Result<()> {
    let io = |e| ankideck::Error::Io {
        path: json_path.to_path_buf(),
        source: e,
    };
    let read = Sources::read(sources)?;
    let mut notetypes = std::collections::BTreeMap::new();
    let mut notes = Vec::with_capacity(read.notes.len());
    for source in &read.notes {
        let nt = &source.notetype;
        notetypes.entry(nt.id).or_insert_with(|| {
            json!({
                "id": nt.id,
                "name": nt.name,
                "cloze": nt.kind == Kind::Cloze,
                "fields": nt.fields.iter().map(|f| f.name.clone()).collect::<Vec<_>>(),
                "templates": nt.templates.iter().map(|t| json!({"name": t.name, "qfmt": t.front, "afmt": t.back})).collect::<Vec<_>>(),
                "css": nt.css,
                "sortf": nt.sort_field,
            })
        });
        let n = &source.note;
        notes.push(json!({
            "notetype": n.notetype_id,
            "guid": n.guid,
            "fields": n.fields,
            "tags": n.tags,
            "deck": n.deck,
            "deck_id": ankideck::ids::deck_id(&n.deck),
        }));
    }
    let _ = fs::remove_dir_all(media_dir);
    fs::create_dir_all(media_dir).map_err(io)?;
    let mut media = Vec::new();
    for (name, path) in &read.media {
        let link = media_dir.join(name);
        #[cfg(unix)]
        std::os::unix::fs::symlink(path, &link).map_err(io)?;
        #[cfg(not(unix))]
        fs::copy(path, &link).map_err(io)?;
        media.push(Value::String(link.to_string_lossy().into_owned()));
    }
    let data = json!({
        "notetypes": notetypes.into_values().collect::<Vec<_>>(),
        "notes": notes,
        "media": media,
    });
    fs::write(json_path, serde_json::to_vec(&data).expect("json")).map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The generator makes what it promises, and ankideck builds it (the bench itself is
    /// too slow for the test suite).
    #[test]
    fn generator_smoke_test() {
        let dir = workspace()
            .join("target")
            .join("test-tmp")
            .join(format!("bench-smoke-{}", std::process::id()));
        let spec = Spec::parse("50,6,60K").unwrap();
        assert_eq!(spec.label(), "50 notes + 6 media (60KiB)");
        generate(&spec, &dir.join("cards")).unwrap();
        let media: u64 = fs::read_dir(dir.join("cards").join("media"))
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert_eq!(media, 60 * 1024);

        let sources = Sources::read(&dir.join("cards")).unwrap();
        assert_eq!(sources.notes.len(), 50);
        assert_eq!(sources.media.len(), 6);
        assert!(sources.notes.iter().any(|n| n.notetype.kind == Kind::Cloze));
        assert!(sources.notes.iter().any(|n| n.note.deck.contains("::")));
        assert!(sources
            .notes
            .iter()
            .any(|n| n.note.fields[1].contains("<code>")));
        let package = ankideck::build::assemble(sources, 1_700_000_000).unwrap();
        for format in [Format::Legacy1, Format::Latest] {
            let summary = package.write_with(dir.join("out.apkg"), format).unwrap();
            assert_eq!((summary.notes, summary.media), (50, 6));
        }

        export_for_genanki(&dir.join("cards"), &dir.join("notes.json"), &dir.join("gm")).unwrap();
        let json: Value =
            serde_json::from_slice(&fs::read(dir.join("notes.json")).unwrap()).unwrap();
        assert_eq!(json["notes"].as_array().unwrap().len(), 50);
        assert_eq!(json["media"].as_array().unwrap().len(), 6);
        fs::remove_dir_all(&dir).unwrap();
    }

    /// The plain case: 1,000 notes a file, a deck three levels deep per file, file tags,
    /// about 10% cloze notes, every seventh answer with bold and a formula.
    #[test]
    fn plain_generator_smoke_test() {
        let dir = workspace()
            .join("target")
            .join("test-tmp")
            .join(format!("bench-plain-smoke-{}", std::process::id()));
        let spec = Spec::parse("plain:1100").unwrap();
        assert_eq!(spec.label(), "1100 plain notes");
        generate(&spec, &dir).unwrap();
        let sources = Sources::read(&dir).unwrap();
        assert_eq!((sources.notes.len(), sources.files), (1100, 2));
        let notes = || sources.notes.iter().map(|n| &n.note);
        let decks: std::collections::BTreeSet<&str> = notes().map(|n| n.deck.as_str()).collect();
        assert_eq!(
            decks.into_iter().collect::<Vec<_>>(),
            ["part-0::group-0::file-0000", "part-0::group-0::file-0001"]
        );
        assert!(notes().all(|n| n.tags.iter().any(|t| t.starts_with("file-"))));
        let cloze = sources
            .notes
            .iter()
            .filter(|n| n.notetype.kind == Kind::Cloze);
        assert!((80..=140).contains(&cloze.count()));
        let rich =
            notes().filter(|n| n.fields[1].contains("<strong>") && n.fields[1].contains(r"\("));
        assert_eq!(rich.count(), 1100_usize.div_ceil(7));
        fs::remove_dir_all(&dir).unwrap();
    }
}
