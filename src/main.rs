//! The `ankideck` command: a thin layer over the library.

use ankideck::{build, Diagnostic, Error, Format, Progress};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Turn plain-text flashcards into Anki packages (.apkg).
///
/// Exit status: 0 on success, 1 when the card sources have problems (nothing is
/// written), 2 on usage or I/O errors.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example:\n  ankideck build                    # ./cards → ./cards.apkg\n  ankideck build notes -o my.apkg   # ./notes → ./my.apkg"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build a folder of Markdown cards into an .apkg package.
    ///
    /// Every `## ` heading in a .md file below SOURCE becomes a note. The package is
    /// written to a temporary file and renamed into place, so an error never leaves a
    /// half-written package behind. See docs/FORMAT.md for the card syntax.
    #[command(
        after_help = "Example:\n  ankideck build cards -o nlp.apkg\n\nThe package is reproducible: the same sources give the same bytes. Set SOURCE_DATE_EPOCH to choose the time written into it."
    )]
    Build {
        /// Folder of card sources.
        #[arg(default_value = "cards")]
        source: PathBuf,
        /// Package to write [default: <name of SOURCE>.apkg in the current folder].
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Package format: `legacy` imports everywhere; `latest` is smaller but needs
        /// Anki 2.1.50+ (AnkiDroid 2.16+), as Anki 23.10+ exports by default.
        #[arg(long, value_enum, default_value_t = FormatArg::Legacy)]
        format: FormatArg,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// Legacy 1 (`collection.anki2`): every Anki, AnkiDroid and AnkiMobile.
    Legacy,
    /// Latest (zstd, `collection.anki21b`): Anki 2.1.50+, AnkiDroid 2.16+.
    Latest,
}

impl From<FormatArg> for Format {
    fn from(arg: FormatArg) -> Format {
        match arg {
            FormatArg::Legacy => Format::Legacy1,
            FormatArg::Latest => Format::Latest,
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Build {
            source,
            output,
            format,
        } => {
            let output = output.unwrap_or_else(|| default_output(&source));
            let bar = ProgressReport::start();
            let result = build::build_with(
                &source,
                &output,
                build::timestamp_from_env(),
                format.into(),
                &mut |p| bar.update(p),
            );
            bar.finish();
            match result {
                Ok(summary) => {
                    println!(
                        "wrote {}: {} notes, {} cards, {} decks, {} media files",
                        output.display(),
                        summary.notes,
                        summary.cards,
                        summary.decks,
                        summary.media
                    );
                    ExitCode::SUCCESS
                }
                Err(e) => report(&e),
            }
        }
    }
}

/// A progress bar on stderr, drawn only when stderr is a terminal and the build has
/// taken longer than a moment.
struct ProgressReport {
    bar: ProgressBar,
    /// Set once the build is over; guards showing the bar late.
    done: Arc<Mutex<bool>>,
    phase: Mutex<Option<std::mem::Discriminant<Progress>>>,
}

impl ProgressReport {
    const DELAY: Duration = Duration::from_millis(400);

    fn start() -> ProgressReport {
        let bar = ProgressBar::hidden();
        let done = Arc::new(Mutex::new(false));
        if std::io::stderr().is_terminal() {
            let (bar, done) = (bar.clone(), done.clone());
            std::thread::spawn(move || {
                std::thread::sleep(Self::DELAY);
                let done = done.lock().unwrap_or_else(|e| e.into_inner());
                if !*done {
                    bar.set_draw_target(ProgressDrawTarget::stderr());
                    bar.enable_steady_tick(Duration::from_millis(120));
                }
            });
        }
        ProgressReport {
            bar,
            done,
            phase: Mutex::new(None),
        }
    }

    fn update(&self, progress: Progress) {
        // The style changes only when the phase does; the message comes first, so the
        // new style never shows the old phase's message.
        let phase = std::mem::discriminant(&progress);
        let mut current = self.phase.lock().unwrap_or_else(|e| e.into_inner());
        let new_phase = *current != Some(phase);
        *current = Some(phase);
        let spinner = |message: &'static str| {
            self.bar.set_message(message);
            self.bar
                .set_style(ProgressStyle::with_template("{spinner} {msg} {elapsed}").unwrap());
        };
        let bar = |template: &str, position: u64, length: u64| {
            if new_phase {
                self.bar.set_style(
                    ProgressStyle::with_template(template)
                        .unwrap()
                        .progress_chars("=> "),
                );
            }
            self.bar.set_length(length);
            self.bar.set_position(position);
        };
        match progress {
            Progress::Reading => spinner("reading cards"),
            Progress::Notes { done, total } => bar(
                "notes [{bar:20}] {pos}/{len} {elapsed}",
                done as u64,
                total as u64,
            ),
            Progress::Collection => spinner("compressing the collection"),
            Progress::Media {
                done,
                total,
                bytes,
                total_bytes,
            } => {
                self.bar.set_message(format!("{done}/{total}"));
                bar(
                    "media [{bar:20}] {bytes}/{total_bytes}, {msg} files {elapsed}",
                    bytes,
                    total_bytes,
                );
            }
        }
    }

    fn finish(self) {
        *self.done.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.bar.finish_and_clear();
    }
}

fn default_output(source: &Path) -> PathBuf {
    let name = source
        .canonicalize()
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "deck".into());
    PathBuf::from(format!("{name}.apkg"))
}

fn report(error: &Error) -> ExitCode {
    match error {
        Error::Input(diagnostics) => {
            for d in diagnostics {
                eprintln!("{}", render_diagnostic(d));
            }
            eprintln!("error: {error}; no package was written");
            ExitCode::from(1)
        }
        other => {
            eprintln!("error: {other}");
            ExitCode::from(2)
        }
    }
}

/// rustc-style: the message, the place, the source line and a hint.
fn render_diagnostic(d: &Diagnostic) -> String {
    let mut out = format!("error: {}\n", d.problem);
    let place = if d.line > 0 {
        format!("{}:{}", d.file.display(), d.line)
    } else {
        d.file.display().to_string()
    };
    out.push_str(&format!("  --> {place}\n"));
    let line_text = (d.line > 0)
        .then(|| std::fs::read_to_string(&d.file).ok())
        .flatten()
        .and_then(|text| text.lines().nth(d.line - 1).map(str::to_string));
    if let Some(line_text) = line_text {
        let width = d.line.to_string().len();
        out.push_str(&format!(
            "{:width$} |\n{} | {}\n{:width$} |\n",
            "", d.line, line_text, ""
        ));
    }
    if let Some(hint) = d.problem.hint() {
        out.push_str(&format!("  = help: {hint}\n"));
    }
    out
}
