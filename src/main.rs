//! The `ankideck` command: a thin layer over the library.

use ankideck::{build, Diagnostic, Error};
use clap::{Parser, Subcommand};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Build { source, output } => {
            let output = output.unwrap_or_else(|| default_output(&source));
            match build::build(&source, &output, build::timestamp_from_env()) {
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
