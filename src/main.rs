//! The `ankideck` command: a thin layer over the library.

use ankideck::build::{self, Options};
use ankideck::{source, Diagnostic, Error, Severity};
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
    after_help = "Example:\n  ankideck build                    # ./cards → ./cards.apkg\n  ankideck build notes -o my.apkg   # ./notes → ./my.apkg\n  ankideck ids                      # pin every note's identity with an `id:` line"
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
    /// half-written package behind. SOURCE/ankideck.lock records what was built, so that
    /// the next build raises the modification time of exactly the notes you changed and
    /// Anki updates them on import; commit it with your cards. See docs/FORMAT.md.
    #[command(
        after_help = "Example:\n  ankideck build cards -o nlp.apkg\n\nThe same sources and lock give the same bytes. SOURCE_DATE_EPOCH, if set, is used as the build time."
    )]
    Build {
        /// Folder of card sources.
        #[arg(default_value = "cards")]
        source: PathBuf,
        /// Package to write [default: <name of SOURCE>.apkg in the current folder].
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// Fail instead of updating ankideck.lock (for CI: the lock must be committed).
        #[arg(long)]
        locked: bool,
    },
    /// Write each note's identity into its source as an `id:` line.
    ///
    /// Without `id:`, a note's identity comes from its first field, so editing the
    /// question makes Anki see a new note. After `ankideck ids`, edits keep the identity.
    /// Only `id:` lines are added; nothing else in the files changes.
    #[command(after_help = "Example:\n  ankideck ids cards && git diff cards")]
    Ids {
        /// Folder of card sources.
        #[arg(default_value = "cards")]
        source: PathBuf,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Build {
            source,
            output,
            locked,
        } => {
            let output = output.unwrap_or_else(|| default_output(&source));
            let options = Options {
                locked,
                ..Options::from_env()
            };
            build::build(&source, &output, options).map(|outcome| {
                for warning in &outcome.warnings {
                    eprintln!("{}", render_diagnostic(warning));
                }
                if !outcome.removed.is_empty() {
                    eprintln!(
                        "note: {} notes are gone from the sources since the last build; Anki keeps them:",
                        outcome.removed.len()
                    );
                    for removed in &outcome.removed {
                        eprintln!("  - {}", removed.label);
                    }
                    let nids: Vec<String> = outcome.removed.iter().map(|r| r.nid.to_string()).collect();
                    eprintln!("  to find them in Anki's browser, search for: nid:{}", nids.join(","));
                }
                let s = outcome.summary;
                println!(
                    "wrote {}: {} notes, {} cards, {} decks, {} media files{}",
                    output.display(),
                    s.notes,
                    s.cards,
                    s.decks,
                    s.media,
                    if outcome.lock_updated { "; updated ankideck.lock" } else { "" }
                );
            })
        }
        Command::Ids { source } => source::write_ids(&source).map(|changed| {
            for (file, added) in &changed {
                println!("{}: added {added} id lines", file.display());
            }
            if changed.is_empty() {
                println!("every note already has an id");
            }
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => report(&e),
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
            eprintln!("error: {error}; nothing was written");
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
    let severity = match d.problem.severity() {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut out = format!("{severity}: {}\n", d.problem);
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
